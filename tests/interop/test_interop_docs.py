"""docs/interop.md: its Python example runs, and its CLI examples print what it shows."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "interop.md").read_text()


def test_python_example_runs() -> None:
    aas = DOC.split("## DTDL v2 and v3")[0]  # the AAS section (the others are run by test_docs.py)
    (block,) = re.findall(r"```python\n(.*?)```", aas, re.S)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "docs/interop.md", "exec"), {})
    assert out.getvalue().strip() == "True 19"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "twinverse", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                                         "COLUMNS": "300", "NO_COLOR": "1"})


@pytest.mark.parametrize(("name", "data"), [
    ("broken.aasx", b"not a zip"),
    ("page.xml", b"<?xml version='1.0'?>\n<html><body/></html>"),
    ("cut.json", b'{"x": '),
])
def test_error_examples_are_what_the_cli_prints(tmp_path: Path, name: str, data: bytes) -> None:
    (tmp_path / name).write_bytes(data)
    r = _cli("import-aas", name, cwd=tmp_path)
    assert r.returncode == 1
    shown = re.search(rf"\$ twinverse import-aas {re.escape(name)}\n(error: .*?\n.*?)\n", DOC)
    assert shown is not None, name
    assert r.stderr.strip() == shown.group(1)


def test_export_then_import_example(tmp_path: Path) -> None:
    r = _cli("export-aas", "--plant", str(ROOT / "examples" / "bottling.yaml"), "--out", "bottling.aasx", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "19 shells, 233 objects" in r.stdout
    assert zipfile.is_zipfile(tmp_path / "bottling.aasx")
    r = _cli("import-aas", "bottling.aasx", "--out", "plant.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = _cli("validate", "plant.yaml", cwd=tmp_path)
    assert r.returncode == 0 and "19 twins" in r.stdout, r.stdout + r.stderr
