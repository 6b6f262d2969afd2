"""docs/interop.md, DTDL and OpenUSD sections: their examples run, and the agreement table is the measured one."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
from pathlib import Path

import pytest

from twinverse.cli import main
from twinverse.interop.dtdl.conformance import run_cases, score

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "interop.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text of one ``## title`` section (up to the next ``## ``), so each section stands alone."""
    start = DOC.index(f"\n## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end != -1 else len(DOC)]


def blocks(text: str, lang: str) -> list[str]:
    return [b for lg, b in re.findall(r"```(\w*)\n(.*?)```", text, re.S) if lg == lang]


def commands(text: str) -> list[list[str]]:
    out = []
    for block in blocks(text, "sh"):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("twinverse "):
                out.append(shlex.split(line)[1:])
    return out


@contextlib.contextmanager
def cwd(path: Path):  # type: ignore[no-untyped-def]
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@pytest.mark.parametrize("title", ["DTDL v2 and v3", "OpenUSD"])
def test_python_examples_run(title: str) -> None:
    code = blocks(section(title), "python")
    assert code
    for block in code:
        exec(compile(block, f"docs/interop.md ({title})", "exec"), {})


@pytest.mark.parametrize("title", ["DTDL v2 and v3", "OpenUSD"])
def test_shell_examples_run(title: str, tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    cmds = commands(section(title))
    assert cmds
    with cwd(tmp_path):
        for args in cmds:
            try:
                main(args)
            except SystemExit as exc:
                assert exc.code in (0, None), args


def test_agreement_table_is_the_measured_one(dtdl_cases: Path) -> None:
    text = section("DTDL v2 and v3")
    for s in score(run_cases(dtdl_cases)):
        row = f"| {s.folder} | {s.cases} | {s.same_verdict} ({100 * s.verdict_rate:.1f} %) | {s.with_id} |"
        assert row in text, row
