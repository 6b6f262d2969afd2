"""SQL reads history moved to Parquet as before, and still reaches no file: not /etc/passwd, not the cold files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from twinverse.errors import QueryError
from twinverse.store import DuckDBStore

from .conftest import FILLER, T0_US, Known

DAY_US = 86_400_000_000

QUESTIONS = [
    "SELECT twin, signal, count(*) AS n, min(ts) AS first, max(ts) AS last, sum(value) AS total "
    "FROM history GROUP BY ALL ORDER BY ALL",
    f"SELECT time_bucket(INTERVAL 15 MINUTE, ts) AS t, avg(value) AS v FROM history "
    f"WHERE twin = '{FILLER}' AND signal = 'temperature' GROUP BY 1 ORDER BY 1",
    "SELECT h.twin, count(*) AS n FROM history h JOIN live l USING (twin, signal) GROUP BY 1 ORDER BY 1",
]


def rounded(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Sums and averages up to rounding: DuckDB adds in another order when the rows come from a file."""
    return [{k: round(v, 9) if isinstance(v, float) else v for k, v in r.items()} for r in rows]


def moved(duck: Known) -> DuckDBStore:
    store = duck.platform.store
    assert isinstance(store, DuckDBStore)
    assert [f.day.isoformat() for f in store.archive(T0_US + DAY_US)] == ["2026-11-23"]
    assert store._cursor().execute("SELECT count(*) FROM points").fetchone() == (0,)
    return store


def test_sql_answers_are_the_same_after_the_move(duck: Known) -> None:
    q = duck.platform.query
    before = [rounded(q.run(sql).to_pylist()) for sql in QUESTIONS]
    moved(duck)
    after = [rounded(q.run(sql).to_pylist()) for sql in QUESTIONS]
    assert after == before and before[0][0]["n"] == 120
    assert sum(r["n"] for r in after[0]) == len(duck.sid)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_parquet('{cold}')",
        "SELECT * FROM read_parquet('{root}/*/*.parquet')",
        "SELECT * FROM glob('{root}/*')",
        "COPY (SELECT 1 AS a) TO '{root}/day=2026-11-23/x.parquet' (FORMAT parquet)",
        "ATTACH '{root}/x.duckdb' AS x",
    ],
)
def test_the_query_connection_still_reaches_no_file(duck: Known, sql: str) -> None:
    """Straight to the connection queries run on (past the checker): DuckDB refuses, cold history or not."""
    store = moved(duck)
    assert store.cold is not None
    root, cold = store.cold.root, store.cold.root / store.cold.files[0].name
    runner = duck.platform.query._duck
    assert runner is not None
    con = runner._prepared()
    try:
        assert con.execute("SELECT count(*) FROM history").fetchone() == (len(duck.sid),)  # cold rows are there
        with pytest.raises(duckdb.Error) as err:
            con.execute(sql.format(root=root, cold=cold))
        assert "file system operations are disabled" in str(err.value) or "disabled" in str(err.value)
    finally:
        runner._discard(con)
    assert sorted(p.name for p in root.rglob("*")) == sorted(["day=2026-11-23", cold.name])


@pytest.mark.parametrize("table", ["cold_points", "points", "main.points", "cold_files"])
def test_the_checker_refuses_the_store_s_own_tables(duck: Known, table: str) -> None:
    moved(duck)
    with pytest.raises(QueryError) as err:
        duck.platform.query.run(f"SELECT * FROM {table}")
    assert err.value.status == 422


def test_moves_after_a_connection_was_prepared_are_seen(duck: Known, tmp_path: Path) -> None:
    q = duck.platform.query
    assert q.run("SELECT count(*) AS n FROM history").to_pylist() == [{"n": len(duck.sid)}]  # prepares a connection
    moved(duck)
    assert q.run("SELECT count(*) AS n FROM history").to_pylist() == [{"n": len(duck.sid)}]


def test_the_platform_s_history_job(tmp_path: Path) -> None:
    """cold_after_days moves whole days; retention_raw_days then drops them; SQL sees each step."""
    from .conftest import build

    k = build(tmp_path, str(tmp_path / "twinverse.duckdb"), cold_after_days=1.0, retention_raw_days=30.0)
    try:
        keeper, q = k.platform.keeper, k.platform.query
        assert keeper is not None and keeper.cold_after_s == 86_400
        keeper.clock = lambda: T0_US + DAY_US + 5  # the day is not a whole day old yet
        assert keeper.run_once()["days_moved"] == 0
        keeper.clock = lambda: T0_US + 2 * DAY_US
        assert keeper.run_once() == {"days_moved": 1, "raw_rows": 0, "cold_files": 0, "cold_rows": 0,
                                     "rollup_rows": 0}  # fmt: skip
        assert (tmp_path / "history" / "day=2026-11-23").is_dir()
        assert q.run("SELECT count(*) AS n FROM history").to_pylist() == [{"n": len(k.sid)}]
        keeper.clock = lambda: T0_US + 31 * DAY_US
        done = keeper.run_once()
        assert (done["cold_files"], done["cold_rows"]) == (1, len(k.sid))
        assert q.run("SELECT count(*) AS n FROM history").to_pylist() == [{"n": 0}]
    finally:
        k.platform.stop()
    assert list((tmp_path / "history").rglob("*.parquet")) == []


def test_cold_after_days_needs_the_duckdb_store(tmp_path: Path, pg_url: str) -> None:
    from twinverse.config import Settings
    from twinverse.errors import ConfigError
    from twinverse.platform import Platform, example_path

    with pytest.raises(ConfigError) as err:
        Platform(Settings(data_dir=tmp_path, plant=example_path(), store=pg_url, cold_after_days=1.0))
    assert [p.location.path for p in err.value.details] == ["cold_after_days"]
