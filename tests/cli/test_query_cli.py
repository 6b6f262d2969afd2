"""``twinverse query``: the local store and a server, as a table, CSV, JSON and Parquet; refusals as one line."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from twinverse.cli import main
from twinverse.platform import example_path

from ..query.conftest import build


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """A DuckDB store with the known history of tests/query (closed again, so the CLI can open it)."""
    for k in list(os.environ):
        if k.startswith("TWINVERSE_"):
            monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "h.duckdb"
    build(tmp_path / "data", str(db)).platform.stop()
    return ["--plant", str(example_path()), "--store", str(db), "--data-dir", str(tmp_path / "data")]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_formats(capsys: pytest.CaptureFixture[str], store: list[str], tmp_path: Path) -> None:
    sql = "SELECT id, depth FROM ancestors('bottling/line1/filler') ORDER BY depth"
    code, out, _ = run(capsys, "query", sql, *store)
    assert code == 0 and "bottling/line1" in out and "2 row(s)" in out
    code, out, _ = run(capsys, "query", sql, "--format", "csv", *store)
    assert out.splitlines() == ['"id","depth"', '"bottling/line1",1', '"bottling",2']
    code, out, _ = run(capsys, "query", sql, "--format", "json", *store)
    assert out.splitlines() == ['{"id":"bottling/line1","depth":1}', '{"id":"bottling","depth":2}']
    target = tmp_path / "hist.parquet"
    code, out, _ = run(capsys, "query", "SELECT * FROM history", "--format", "parquet", "--out", str(target), *store)
    assert code == 0 and pq.read_table(target).num_rows == 1920 and "wrote 1920 rows" in out


def test_refusal_is_one_line(capsys: pytest.CaptureFixture[str], store: list[str]) -> None:
    code, _, err = run(capsys, "query", "SELECT * FROM twins; DROP TABLE twins", *store)
    assert code == 1 and err.strip() == "error: line 1, column 21: one statement per query, not 2"
    code, _, err = run(capsys, "query", "SELECT 1", "--format", "parquet", *store)
    assert code == 1 and "needs --out" in err
