"""Cold history: days moved to Parquet read back exactly as before, survive restarts, obey retention."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from twinverse.core import make_batch
from twinverse.store import Aggregate, DuckDBStore, ExportFormat, HistoryQuery
from twinverse.store.cold import DAY_US
from twinverse.store.retention import RetentionPolicy
from twinverse.store.rollup import MINUTE_US

T0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
NOW = T0 + 3 * DAY_US + 3_600_000_000  # 2026-01-04T01:00Z
STEP = 37_000_000  # a point every 37 s per signal
SIDS = 4


def rows_in(a: int, b: int, sids: range = range(SIDS)) -> int:
    """Rows that :func:`fill` writes with ``T0 + a <= ts < T0 + b`` for these signals (the known answer)."""
    t = np.arange(0, 3 * DAY_US, STEP)
    return int(sum(((t + s >= a) & (t + s < b)).sum() for s in sids))


def first_after(us: int, sids: range = range(SIDS)) -> datetime:
    """The first timestamp :func:`fill` writes at or after ``T0 + us`` for these signals."""
    return at(T0 + min(-(-(us - s) // STEP) * STEP + s for s in sids))


def day(k: int) -> tuple[int, int]:
    return k * DAY_US, (k + 1) * DAY_US


def at(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1e6, UTC)


def fill(store: DuckDBStore) -> None:
    """Four signals, three days (2026-01-01 … 03), a point every 37 s offset by the sid (µs)."""
    rng = np.random.default_rng(5)
    for sid in range(SIDS):
        ts = T0 + np.arange(0, 3 * DAY_US, STEP) + sid
        store.append(make_batch(ts, np.full(len(ts), sid, np.int32), np.round(rng.normal(50, 9, len(ts)), 3)))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path / "twinverse.duckdb")
    fill(s)
    s.refresh_rollups(NOW)
    yield s
    s.close()


QUERIES = [
    HistoryQuery(sids=(0, 1, 3)),
    HistoryQuery(sids=(0, 2), start=at(T0 + DAY_US // 2), end=at(T0 + 2 * DAY_US + 5)),
    HistoryQuery(sids=(0, 1, 3), start=at(T0 + DAY_US // 2), end=at(T0 + 2 * DAY_US + 5),
                 interval=timedelta(minutes=5)),
    HistoryQuery(sids=(0, 1, 3), start=at(T0 + DAY_US // 2), end=at(T0 + 2 * DAY_US + 5),
                 interval=timedelta(minutes=5), use_rollups=False),
    HistoryQuery(sids=(2,), interval=timedelta(hours=1), aggregate=Aggregate.LAST),
    HistoryQuery(sids=(1,), interval=timedelta(hours=6), aggregate=Aggregate.MAX, use_rollups=False),
]  # fmt: skip


def same(a: pa.Table, b: pa.Table) -> None:
    """Equal tables, averages up to the last bits (the sum runs in another order over two sources)."""
    assert a.column_names == b.column_names and a.num_rows == b.num_rows > 0
    for col in a.column_names:
        if col == "value":
            np.testing.assert_allclose(a.column(col).to_numpy(), b.column(col).to_numpy(), rtol=1e-12)
        else:
            assert a.column(col).equals(b.column(col)), col


def test_reads_are_the_same_after_the_move(store: DuckDBStore, tmp_path: Path) -> None:
    before = [store.history(q) for q in QUERIES]
    latest, count, first = store.latest(), store.count(), store.earliest()
    since = store.earliest(at(T0 + DAY_US + 5))
    digests = [store.segment_digest(at(T0 + k * DAY_US // 2), at(T0 + (k + 1) * DAY_US // 2)) for k in range(6)]
    store.export(tmp_path / "before.parquet", ExportFormat.PARQUET, _names())

    moved = store.archive(T0 + 2 * DAY_US + 12_345)  # two whole days end before it
    assert [(f.day.isoformat(), f.rows) for f in moved] == [("2026-01-01", rows_in(*day(0))),
                                                             ("2026-01-02", rows_in(*day(1)))]  # fmt: skip
    assert store._cursor().execute("SELECT count(*) FROM points").fetchone() == (rows_in(*day(2)),)

    for q, b in zip(QUERIES, before, strict=True):
        same(store.history(q), b)
    assert store.latest().equals(latest)
    assert (store.count(), store.earliest(), store.earliest(at(T0 + DAY_US + 5))) == (count, first, since)
    assert first == at(T0) and since == first_after(DAY_US + 5)
    assert [store.segment_digest(at(T0 + k * DAY_US // 2), at(T0 + (k + 1) * DAY_US // 2)) for k in range(6)] == digests
    store.export(tmp_path / "after.parquet", ExportFormat.PARQUET, _names())
    assert pq.read_table(tmp_path / "after.parquet").equals(pq.read_table(tmp_path / "before.parquet"))


def _names() -> pa.Table:
    return pa.table({"sid": pa.array(range(SIDS), pa.int32()), "twin": [f"m{i}" for i in range(SIDS)],
                     "signal": ["t"] * SIDS})  # fmt: skip


def test_the_files_are_parquet_partitioned_by_day(store: DuckDBStore, tmp_path: Path) -> None:
    store.archive(T0 + 2 * DAY_US)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "history").rglob("*.parquet"))
    assert [f.rsplit("/", 1)[0] for f in files] == ["history/day=2026-01-01", "history/day=2026-01-02"]
    day1 = pq.read_table(tmp_path / files[0])
    assert day1.schema.names == ["ts", "sid", "value", "quality"] and day1.num_rows == rows_in(*day(0))
    sid, ts = day1.column("sid").to_numpy(), day1.column("ts").cast(pa.int64()).to_numpy()
    assert np.all(np.diff(sid) >= 0) and ts.min() == T0 and ts.max() < T0 + DAY_US  # sorted by (sid, ts)


def test_nothing_moves_twice_and_a_restart_keeps_the_list(store: DuckDBStore, tmp_path: Path) -> None:
    assert len(store.archive(T0 + 2 * DAY_US)) == 2
    assert store.archive(T0 + 2 * DAY_US) == []
    count = store.count()
    store.close()
    again = DuckDBStore(tmp_path / "twinverse.duckdb")
    try:
        assert again.cold is not None and [f.day.isoformat() for f in again.cold.files] == ["2026-01-01", "2026-01-02"]
        assert again.count() == count
        # Redelivered rows of a moved day are still recognised as stored (also after the restart).
        ts = T0 + np.arange(0, 10 * STEP, STEP)
        assert again.append(make_batch(ts, np.zeros(10, np.int32), np.zeros(10))) == 0
        assert again.append(make_batch([T0 + 1_000], [0], [1.5])) == 1  # a late row that is new
        assert again.count() == count + 1
        got = again.history(HistoryQuery(sids=(0,), start=at(T0), end=at(T0 + 2_000)))
        assert got.column("value").to_pylist() == [pytest.approx(got.column("value")[0].as_py()), 1.5]
    finally:
        again.close()


def test_late_rows_in_a_moved_day_reach_the_rollups(store: DuckDBStore) -> None:
    store.archive(T0 + 2 * DAY_US)
    assert store.append(make_batch([T0 + DAY_US // 2 + 1], [1], [10_000.0])) == 1
    assert store.rollups.dirty_us is not None
    store.refresh_rollups(NOW)
    q = HistoryQuery(sids=(1,), start=at(T0), end=at(T0 + 2 * DAY_US), interval=timedelta(hours=1),
                     aggregate=Aggregate.MAX)  # fmt: skip
    rolled, raw = store.history(q), store.history(HistoryQuery(**{**q.__dict__, "use_rollups": False}))
    same(rolled, raw)
    assert max(rolled.column("value").to_pylist()) == 10_000.0


def test_unlisted_files_are_never_read_and_go_at_the_next_open(store: DuckDBStore, tmp_path: Path) -> None:
    store.archive(T0 + DAY_US)
    count = store.count()
    day = tmp_path / "history" / "day=2026-01-01"
    # What a move that crashed before its commit leaves, and a file some other program put there.
    stray = day / "0123abcd.parquet"
    pq.write_table(pa.table({"ts": pa.array([T0 + 5], pa.timestamp("us", tz="UTC")), "sid": pa.array([0], pa.int32()),
                             "value": [99.0], "quality": pa.array([0], pa.uint8())}), stray)  # fmt: skip
    (day / "0123abcd.parquet.tmp").write_bytes(b"partial")
    assert store.count() == count and 99.0 not in store.history(HistoryQuery(sids=(0,))).column("value").to_pylist()
    store.close()
    again = DuckDBStore(tmp_path / "twinverse.duckdb")
    try:
        assert sorted(p.name for p in day.iterdir()) == [again.cold.files[0].name.split("/")[1]]  # type: ignore[union-attr]
        assert again.count() == count
    finally:
        again.close()


def test_an_in_memory_store_has_no_cold_history() -> None:
    s = DuckDBStore(":memory:")
    s.append(make_batch([T0], [0], [1.0]))
    assert s.cold is None and s.archive(NOW) == [] and s.count() == 1
    s.close()


# -- retention -----------------------------------------------------------------------------------
def test_retention_per_signal_drops_rows_and_whole_days(store: DuckDBStore, tmp_path: Path) -> None:
    store.archive(T0 + 2 * DAY_US)  # days 1 and 2 cold, day 3 in the database
    # sid 0 keeps raw rows 1.5 days, sid 1 one day, the others for ever; rollups 2 days for sid 0.
    policy = RetentionPolicy(np.array([1.5 * 86_400, 86_400, 0, 0]), np.array([2 * 86_400, 0, 0, 0]))
    done = store.expire(policy, NOW)
    # sid 0: cutoff 2026-01-02T13:00 → day 1 goes from the cold files (a day goes whole, once it ended
    # before the cutoff); sid 1: cutoff 01-03T01:00 → days 1 and 2 go, and its rows before 01:00 of day 3.
    assert done["cold_files"] == 2
    assert done["cold_rows"] == rows_in(*day(0), range(2)) + rows_in(*day(1), range(1, 2))
    assert done["raw_rows"] == rows_in(2 * DAY_US, 2 * DAY_US + 3_600_000_000, range(1, 2))
    first = {s: store.history(HistoryQuery(sids=(s,), limit=1)).column("ts")[0].as_py() for s in range(SIDS)}
    assert first[0] == first_after(DAY_US, range(0, 1)) and first[2] == at(T0 + 2) and first[3] == at(T0 + 3)
    assert first[1] == first_after(2 * DAY_US + 3_600_000_000, range(1, 2))
    # Rollups outlive the raw rows: sid 1's 1-hour buckets of day 1 are still there.
    rolled = store.history(HistoryQuery(sids=(1,), start=at(T0), end=at(T0 + DAY_US), interval=timedelta(hours=1)))
    assert rolled.num_rows == 24 and sum(rolled.column("n").to_pylist()) == rows_in(*day(0), range(1, 2))
    # ... and a refresh does not recompute them from the rows retention dropped.
    store.append(make_batch([T0 + 600_000_000 + 1], [1], [0.0]))
    store.refresh_rollups(NOW)
    again = store.history(HistoryQuery(sids=(1,), start=at(T0), end=at(T0 + DAY_US), interval=timedelta(hours=1)))
    assert again.column("n").to_pylist()[1:] == rolled.column("n").to_pylist()[1:]
    assert store.expire(policy, NOW) == {"raw_rows": 1, "cold_files": 0, "cold_rows": 0, "rollup_rows": 0}


def test_default_retention_and_rollups_by_their_own_days(store: DuckDBStore, tmp_path: Path) -> None:
    store.archive(T0 + 2 * DAY_US)
    done = store.expire(RetentionPolicy.uniform(raw_days=1.0, rollup_days=2.0), NOW)
    assert done["cold_files"] == 2 and done["cold_rows"] == rows_in(0, 2 * DAY_US)
    minutes_gone = SIDS * ((T0 + DAY_US + 3_600_000_000 - T0) // MINUTE_US)
    hours_gone = SIDS * 25
    assert done["rollup_rows"] == minutes_gone + hours_gone
    assert store.earliest() is not None and store.earliest() >= at(T0 + 2 * DAY_US + 3_600_000_000)  # type: ignore[operator]
    store.expire(RetentionPolicy.uniform(raw_days=1.0, rollup_days=2.0), NOW)  # the next round deletes the files
    assert list((tmp_path / "history").rglob("*.parquet")) == []
