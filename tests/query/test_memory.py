"""``query_memory_limit``: the memory one query's sorts, hashes and windows may hold.

DuckDB's ``memory_limit`` is database-wide (``SET memory_limit`` on one connection sets it
for the store's writer too; DuckDB refuses it at connection scope), so the cap is DuckDB's
connection-local ``operator_memory_limit`` on each query connection: beyond it a sort or a
hash spills to disk. What a query cannot spill (a list or string aggregate) must fit in the
store's ``memory_limit``; past that the query is refused with a 422 ``memory``, never a 500.
On PostgreSQL the same setting is each query's ``work_mem``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sqlglot
from fastapi.testclient import TestClient
from pydantic import ValidationError

from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.errors import QueryError
from twinverse.query import CheckedQuery
from twinverse.query.duck import size_bytes

from .conftest import build

#: About 300 MB of list elements that DuckDB cannot spill.
HUGE_LIST = "SELECT max(len(l)) AS n FROM (SELECT list(repeat('x', 100) || i) AS l FROM range(3000000) t(i))"
#: A sort of about 120 MB of strings: spills past the cap, answers.
BIG_SORT = "SELECT count(*) AS n, min(s) AS first FROM (SELECT repeat('x', 50) || i AS s FROM range(2000000) t(i) ORDER BY s DESC)"  # noqa: E501


def test_sizes_and_bad_values() -> None:
    assert size_bytes("8MB") == 8_000_000 and size_bytes("2 GiB") == 2 << 30 and size_bytes("1.5KiB") == 1536
    assert Settings(query_memory_limit="1GiB").query_memory_limit == "1GiB"
    for bad in ("12", "lots", "1MB'; SET memory_limit='1TB", "-5MB"):
        with pytest.raises(ValidationError):
            Settings(query_memory_limit=bad)


def test_the_cap_is_set_on_query_connections_only(tmp_path: Path) -> None:
    k = build(tmp_path, str(tmp_path / "h.duckdb"), query_memory_limit="8MB")
    try:
        runner = k.platform.query._duck
        assert runner is not None
        con = runner._prepared()
        try:
            (cap,) = con.execute("SELECT current_setting('operator_memory_limit')").fetchone() or (None,)
        finally:
            runner._idle.append(con)
        assert cap == "7.6 MiB"  # 8,000,000 bytes
        writer = k.platform.store._con  # type: ignore[attr-defined]
        assert writer.execute("SELECT current_setting('operator_memory_limit')").fetchone() == (None,)
        with pytest.raises(duckdb.CatalogException, match="cannot be set locally"):
            con.execute("SET SESSION memory_limit = '8MB'")  # why the cap is not memory_limit
    finally:
        k.platform.stop()


def test_a_query_over_its_memory_is_a_422(tmp_path: Path) -> None:
    store = f"{tmp_path / 'h.duckdb'}?memory_limit=64MB"
    k = build(tmp_path, store, query_memory_limit="8MB")
    try:
        q = k.platform.query
        with pytest.raises(QueryError) as err:
            q.run(HUGE_LIST)
        e = err.value
        assert (e.reason, e.status) == ("memory", 422)
        assert "query_memory_limit (8MB)" in e.message and "Out of Memory" in e.message
        # Sorts past the cap spill and answer; the refused query's connection was not reused.
        assert q.run(BIG_SORT).to_pylist() == [{"n": 2_000_000, "first": "x" * 50 + "0"}]
        assert q.run("SELECT count(*) AS n FROM history").to_pylist() == [{"n": len(k.sid)}]
        with TestClient(create_app(platform=k.platform)) as c:
            r = c.post("/api/query", json={"sql": HUGE_LIST})
            assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
            body = r.json()
            assert body["reason"] == "memory" and "query_memory_limit" in body["detail"]
            ok = c.post("/api/query", json={"sql": "SELECT count(*) AS n FROM twins"})
            assert ok.status_code == 200
    finally:
        k.platform.stop()


def test_postgresql_work_mem(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    k = build(tmp_path, request.getfixturevalue("pg_url"), query_memory_limit="8MiB")
    try:
        runner = k.platform.query._pg
        assert runner is not None
        tree = sqlglot.parse_one("SELECT current_setting('work_mem') AS w", read="duckdb")
        out = runner.run(CheckedQuery(tree, frozenset()), {}, timeout=10, max_rows=10, max_bytes=1 << 20)
        assert out.to_pylist() == [{"w": "8MB"}]  # PostgreSQL's MB is 1024 kB
    finally:
        k.platform.stop()
