"""The second line of defence: DuckDB itself refuses files, network and extensions where queries run.

The checker (tests/query/test_safety.py) refuses all of these first. Here the statements go
straight to the connection the query service runs queries on (the DuckDB store's own
database, ``enable_external_access = false``), as if a future sqlglot let one through:
DuckDB answers each with a permission error. Then the per-query memory limit.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sqlglot

from twinverse.errors import QueryError
from twinverse.query import CheckedQuery

from .conftest import Known, build


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    f = tmp_path / "secret.csv"
    f.write_text("a,b\n1,2\n")
    return f


CASES = [
    ("read_csv", "SELECT * FROM read_csv('{f}')", "file system operations are disabled"),
    ("read_csv_auto", "SELECT * FROM read_csv_auto('{f}')", "file system operations are disabled"),
    ("read_text", "SELECT * FROM read_text('{f}')", "file system operations are disabled"),
    ("read_parquet", "SELECT * FROM read_parquet('{d}/x.parquet')", "file system operations are disabled"),
    ("file as table", "SELECT * FROM '{f}'", "file system operations are disabled"),
    ("glob", "SELECT * FROM glob('{d}/*')", "file system operations are disabled"),
    ("COPY TO", "COPY (SELECT 1) TO '{d}/out.csv'", "file system operations are disabled"),
    ("COPY FROM", "CREATE TEMP TABLE t (a INT, b INT); COPY t FROM '{f}'", "file system operations are disabled"),
    ("ATTACH", "ATTACH '{d}/other.duckdb' AS o", "file system operations are disabled"),
    ("INSTALL httpfs", "INSTALL httpfs", "disabled"),
    ("LOAD httpfs", "LOAD httpfs", "disabled"),
    ("httpfs URL", "SELECT * FROM read_parquet('https://example.org/x.parquet')", "disabled"),
    ("re-enable", "SET enable_external_access = true", "Cannot enable external access"),
]


@pytest.mark.parametrize(("case", "sql", "words"), CASES, ids=[c[0] for c in CASES])
def test_the_query_connection_refuses(duck: Known, secret: Path, case: str, sql: str, words: str) -> None:
    runner = duck.platform.query._duck
    assert runner is not None
    con = runner._prepared()  # the connection queries run on: the store's database
    try:
        with pytest.raises(duckdb.Error) as err:
            con.execute(sql.format(f=secret, d=secret.parent))
        assert words in str(err.value), str(err.value)
    finally:
        runner._discard(con)
    assert not (secret.parent / "out.csv").exists() and not (secret.parent / "other.duckdb").exists()


def test_unchecked_tree_through_the_runner_is_refused_by_duckdb(duck: Known, secret: Path) -> None:
    """A tree that never went through check_sql, run the way checked ones run: a 422 'failed', nothing read."""
    runner = duck.platform.query._duck
    assert runner is not None
    tree = sqlglot.parse_one(f"SELECT * FROM read_csv('{secret}')", read="duckdb")
    assert isinstance(tree, sqlglot.exp.Query)
    with pytest.raises(QueryError) as err:
        runner.run(CheckedQuery(tree, frozenset()), {}, timeout=10, max_rows=10, max_bytes=1 << 20)
    assert (err.value.reason, err.value.status) == ("failed", 422)
    assert "file system operations are disabled" in err.value.message


def test_python_objects_are_not_tables(duck: Known) -> None:
    runner = duck.platform.query._duck
    assert runner is not None
    con = runner._prepared()
    settings = duck.platform.settings  # noqa: F841 - a local name a replacement scan could find
    try:
        with pytest.raises(duckdb.CatalogException):
            con.execute("SELECT * FROM settings")
    finally:
        runner._discard(con)


def test_exports_still_work_with_external_access_off(duck: Known, tmp_path: Path) -> None:
    from twinverse.store.export import export_history

    out = export_history(duck.platform.store, duck.platform.plant, tmp_path / "all.parquet")  # type: ignore[arg-type]
    assert out.rows == len(duck.sid)


@pytest.mark.parametrize("store", ["duckdb", "postgresql"])
def test_memory_limit(request: pytest.FixtureRequest, tmp_path: Path, store: str) -> None:
    url = str(tmp_path / "h.duckdb") if store == "duckdb" else request.getfixturevalue("pg_url")
    k = build(tmp_path, url, query_memory_mb=1)
    try:
        small = k.platform.query.run("SELECT repeat('x', 100) AS s FROM range(1000)")
        assert small.num_rows == 1000
        with pytest.raises(QueryError) as err:
            k.platform.query.run("SELECT repeat('x', 1000) AS s FROM range(5000)")  # about 5 MB
        e = err.value
        assert (e.reason, e.status) == ("memory", 422)
        assert "more than 1 MiB (query_memory_mb)" in e.message
    finally:
        k.platform.stop()
