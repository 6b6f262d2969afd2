"""One suite for every store: the same tests run against DuckDB (a file) and PostgreSQL.

The duplicate rule the engine and the stores implement together:

* within one batch, of rows with the same (sid, ts) the **last received** wins
  (``Engine._sorted_unique``), so a store only ever sees unique, sorted batches;
* across batches, the **first stored** row wins: a store skips every (sid, ts) it already
  holds, so a redelivered or overlapping batch never changes history.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinverse.core import make_batch
from twinverse.core.batch import QUARANTINE_SCHEMA, TS_TYPE
from twinverse.live import Engine
from twinverse.model import loads_plant
from twinverse.store import Aggregate, DuckDBStore, HistoryQuery, Store
from twinverse.store.common import history_schema

from ..conftest import free_port

T0 = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z in µs
S = 1_000_000  # one second in µs
LATEST_SCHEMA = pa.schema([("sid", pa.int32()), ("ts", TS_TYPE), ("value", pa.float64()), ("quality", pa.uint8())])
EXPORT_SCHEMA = pa.schema(
    [("ts", TS_TYPE), ("twin", pa.string()), ("signal", pa.string()), ("value", pa.float64()), ("quality", pa.uint8())]
)

Opener = Callable[[], Store]


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens (and, called again, reopens) one store: a DuckDB file or a fresh PG database."""
    if request.param == "duckdb":
        path = tmp_path / "history.duckdb"
        return lambda: DuckDBStore(path)
    from twinverse.store.postgres import PostgresStore

    url: str = request.getfixturevalue("pg_url")
    return lambda: PostgresStore(url)


@pytest.fixture
def store(open_store: Opener) -> Iterator[Store]:
    s = open_store()
    yield s
    s.close()


def at(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def sorted_batch(
    sid: npt.ArrayLike, ts: npt.ArrayLike, value: npt.ArrayLike, quality: npt.ArrayLike | None = None
) -> pa.RecordBatch:
    """A batch as the engine hands it to a store: sorted by (sid, ts), unique."""
    s, t, v = np.asarray(sid, np.int32), np.asarray(ts, np.int64), np.asarray(value, np.float64)
    q = np.zeros(len(s), np.uint8) if quality is None else np.asarray(quality, np.uint8)
    order = np.lexsort((t, s))
    return make_batch(t[order], s[order], v[order], q[order])


def rows(table: pa.Table) -> list[tuple[int, int, float]]:
    """(sid, ts µs, value) rows of a history table."""
    ts = table.column("ts").cast(pa.int64()).to_pylist()
    return list(zip(table.column("sid").to_pylist(), ts, table.column("value").to_pylist(), strict=True))


def grid(
    nsig: int, nts: int, step: int = S, seed: int = 1
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Every sid at every tick, with random values."""
    sid = np.repeat(np.arange(nsig, dtype=np.int32), nts)
    ts = np.tile(T0 + np.arange(nts, dtype=np.int64) * step, nsig)
    return sid, ts, np.random.default_rng(seed).normal(50, 20, len(sid))


# -- append and duplicates --------------------------------------------------------------
def test_append_then_count(store: Store) -> None:
    sid, ts, value = grid(3, 100)
    assert store.append(sorted_batch(sid, ts, value)) == 300
    assert store.count() == 300
    assert store.append(sorted_batch([], [], [])) == 0
    assert store.count() == 300


def test_same_batch_twice_is_stored_once(store: Store) -> None:
    sid, ts, value = grid(2, 50)
    batch = sorted_batch(sid, ts, value)
    assert store.append(batch) == 100
    assert store.append(batch) == 0
    assert store.count() == 100
    assert rows(store.history(HistoryQuery((0, 1)))) == sorted(
        zip(sid.tolist(), ts.tolist(), value.tolist(), strict=True)
    )


def test_overlapping_batches_keep_the_first_stored_value(store: Store) -> None:
    ts = T0 + np.arange(15) * S
    assert store.append(sorted_batch(np.zeros(10), ts[:10], np.arange(10))) == 10
    # ts[5:10] overlap with different values: the first stored ones stay.
    assert store.append(sorted_batch(np.zeros(10), ts[5:], 100 + np.arange(10))) == 5
    got = rows(store.history(HistoryQuery((0,))))
    assert [v for _, _, v in got] == [*range(10), *(100 + np.arange(5, 10)).tolist()]


def test_late_rows_are_inserted_and_duplicates_skipped(store: Store) -> None:
    ts = T0 + np.arange(30) * S
    store.append(sorted_batch(np.zeros(10), ts[10:20], np.arange(10, 20)))
    # One batch mixing rows older than the newest stored (late), duplicates, and new rows;
    # a second signal with no history at all rides along.
    late = np.r_[ts[0:5], ts[12:14], ts[25:30]]
    mixed = sorted_batch(np.r_[np.zeros(12), np.ones(3)], np.r_[late, ts[:3]], np.r_[-np.ones(12), [7, 8, 9]])
    assert store.append(mixed) == 5 + 5 + 3
    assert store.count() == 10 + 13
    got = dict(((s, t), v) for s, t, v in rows(store.history(HistoryQuery((0, 1)))))
    assert got[(0, int(ts[12]))] == 12.0  # the duplicate kept the stored value
    assert got[(0, int(ts[0]))] == -1.0 and got[(0, int(ts[29]))] == -1.0
    assert [got[(1, int(t))] for t in ts[:3]] == [7.0, 8.0, 9.0]
    # The late rows went in: a redelivery of the mixed batch is now entirely duplicate.
    assert store.append(mixed) == 0


# -- reading ---------------------------------------------------------------------------
def test_latest_is_the_newest_row_of_each_signal(store: Store) -> None:
    rng = np.random.default_rng(7)
    sid = rng.integers(0, 5, 400)
    ts = T0 + rng.permutation(10_000)[:400].astype(np.int64) * 1_000
    value, quality = rng.normal(size=400), rng.integers(0, 3, 400)
    for part in np.array_split(np.arange(400), 4):  # newest rows arrive in various batches
        store.append(sorted_batch(sid[part], ts[part], value[part], quality[part]))
    latest = store.latest()
    assert latest.schema == LATEST_SCHEMA
    expect = []
    for s in np.unique(sid):
        i = np.flatnonzero(sid == s)[np.argmax(ts[sid == s])]
        expect.append((int(s), int(ts[i]), float(value[i]), int(quality[i])))
    got = list(
        zip(
            latest.column("sid").to_pylist(),
            latest.column("ts").cast(pa.int64()).to_pylist(),
            latest.column("value").to_pylist(),
            latest.column("quality").to_pylist(),
            strict=True,
        )
    )
    assert got == expect


def test_empty_store_answers_with_empty_tables(store: Store) -> None:
    assert store.count() == 0
    assert store.latest().num_rows == 0
    assert store.history(HistoryQuery(())).schema == history_schema(False)
    assert store.history(HistoryQuery((0,))).num_rows == 0
    down = store.history(HistoryQuery((0,), interval=timedelta(seconds=1)))
    assert down.num_rows == 0 and down.schema == history_schema(True)
    assert store.quarantine_count() == 0 and store.quarantine().num_rows == 0


def test_history_raw_bounded_by_start_and_end(store: Store) -> None:
    sid, ts, value = grid(4, 60)
    store.append(sorted_batch(sid, ts, value))
    table = store.history(HistoryQuery((1, 3)))
    assert table.schema == history_schema(False)
    every = sorted(zip(sid.tolist(), ts.tolist(), value.tolist(), strict=True))
    assert rows(table) == [r for r in every if r[0] in (1, 3)]
    start, end = T0 + 10 * S, T0 + 20 * S  # start inclusive, end exclusive
    bounded = store.history(HistoryQuery((1, 3), start=at(start), end=at(end)))
    assert rows(bounded) == [r for r in every if r[0] in (1, 3) and start <= r[1] < end]
    naive = store.history(HistoryQuery((1,), start=at(start).replace(tzinfo=None)))  # naive means UTC
    assert rows(naive) == [r for r in every if r[0] == 1 and r[1] >= start]
    assert rows(store.history(HistoryQuery((0, 1), limit=7))) == every[:7]


def _expected_buckets(
    sid: npt.NDArray[np.int32], ts: npt.NDArray[np.int64], value: npt.NDArray[np.float64], iv: int, agg: Aggregate
) -> list[tuple[int, int, float, int]]:
    """Downsampling computed with NumPy: buckets start at multiples of ``iv`` µs since the epoch."""
    bucket = ts // iv * iv
    out = []
    for s, b in sorted(set(zip(sid.tolist(), bucket.tolist(), strict=True))):
        m = (sid == s) & (bucket == b)
        v, t = value[m], ts[m]
        result = {
            Aggregate.AVG: float(np.mean(v)),
            Aggregate.MIN: float(np.min(v)),
            Aggregate.MAX: float(np.max(v)),
            Aggregate.FIRST: float(v[np.argmin(t)]),
            Aggregate.LAST: float(v[np.argmax(t)]),
            Aggregate.COUNT: float(m.sum()),
        }[agg]
        out.append((s, b, result, int(m.sum())))
    return out


def close(values: list[float], agg: Aggregate) -> object:
    """Exact for every aggregate that picks a stored value; a mean may differ in the last bits
    because each engine sums in its own order."""
    return pytest.approx(values, rel=1e-12) if agg is Aggregate.AVG else values


@pytest.mark.parametrize("agg", list(Aggregate))
def test_downsampling_matches_numpy(store: Store, agg: Aggregate) -> None:
    rng = np.random.default_rng(11)
    n = 3_000
    sid = rng.integers(0, 3, n).astype(np.int32)
    ts = T0 + rng.choice(600 * S // 1_000, n, replace=False).astype(np.int64) * 1_000 + 123  # irregular, ms grid
    value = rng.normal(20, 5, n)
    store.append(sorted_batch(sid, ts, value))
    iv = 7 * S + 500_000  # 7.5 s: buckets not aligned to whole seconds
    table = store.history(HistoryQuery((0, 1, 2), interval=timedelta(microseconds=iv), aggregate=agg))
    assert table.schema == history_schema(True)
    expect = _expected_buckets(sid, ts, value, iv, agg)
    got = list(
        zip(
            table.column("sid").to_pylist(),
            table.column("ts").cast(pa.int64()).to_pylist(),
            table.column("value").to_pylist(),
            table.column("n").to_pylist(),
            strict=True,
        )
    )
    assert [(s, b, k) for s, b, _, k in got] == [(s, b, k) for s, b, _, k in expect]
    assert [v for _, _, v, _ in got] == close([v for _, _, v, _ in expect], agg)
    # Bounds apply to the points, before bucketing.
    start, end = T0 + 100 * S, T0 + 400 * S
    m = (ts >= start) & (ts < end) & (sid == 1)
    bounded = store.history(
        HistoryQuery((1,), start=at(start), end=at(end), interval=timedelta(microseconds=iv), aggregate=agg)
    )
    expect_b = _expected_buckets(sid[m], ts[m], value[m], iv, agg)
    assert bounded.column("ts").cast(pa.int64()).to_pylist() == [b for _, b, _, _ in expect_b]
    assert bounded.column("value").to_pylist() == close([v for _, _, v, _ in expect_b], agg)


# -- quarantine --------------------------------------------------------------------------
def _quarantine_rows(received: datetime, n: int, tag: str) -> pa.Table:
    return pa.table(
        {
            "received": [received] * n,
            "ts": [None if i == 0 else at(T0 + i * S) for i in range(n)],  # a missing timestamp survives
            "twin": [None if i == 1 else f"plant/{tag}{i}" for i in range(n)],
            "signal": [f"sig{i}" for i in range(n)],
            "value": [repr(float(i)) if i else "nan" for i in range(n)],
            "reason": [f"reason {tag} {i}" for i in range(n)],
            "source": ["mqtt"] * n,
        },
        schema=QUARANTINE_SCHEMA,
    )


def test_quarantine_round_trip_newest_first(store: Store) -> None:
    older = _quarantine_rows(at(T0), 3, "a")
    newer = _quarantine_rows(at(T0 + 60 * S), 4, "b")
    store.append_quarantine(older)
    store.append_quarantine(newer)
    assert store.quarantine_count() == 7
    got = store.quarantine(limit=100)
    assert got.schema == QUARANTINE_SCHEMA
    # Newest first: all of the later append before the earlier one; each append's rows as a set.
    key = "reason"
    assert got.slice(0, 4).sort_by(key).equals(newer.sort_by(key))
    assert got.slice(4).sort_by(key).equals(older.sort_by(key))
    page = store.quarantine(limit=2, offset=4)
    assert page.num_rows == 2 and set(page.column("reason").to_pylist()) <= set(older.column("reason").to_pylist())
    assert store.quarantine(limit=10, offset=7).num_rows == 0


# -- restart -----------------------------------------------------------------------------
def test_reopened_store_keeps_data_and_watermarks(open_store: Opener) -> None:
    sid, ts, value = grid(3, 20)
    first = open_store()
    batch = sorted_batch(sid, ts, value)
    first.append(batch)
    first.append_quarantine(_quarantine_rows(at(T0), 2, "q"))
    latest = first.latest()
    first.close()

    again = open_store()
    try:
        assert again.count() == 60 and again.quarantine_count() == 2
        assert again.latest().equals(latest)
        # A redelivery after the restart is recognised as already stored …
        assert again.append(batch) == 0
        # … while new and late rows still go in.
        more = sorted_batch([0, 0, 1], [T0 + 100 * S, T0 - S, T0 + 3 * S], [1.0, 2.0, 3.0])
        assert again.append(more) == 2
        assert again.count() == 62
    finally:
        again.close()


def test_reads_while_appending(store: Store) -> None:
    errors: list[BaseException] = []
    sid, ts, value = grid(4, 2_000, step=1_000)
    batches = [sorted_batch(sid[i::10], ts[i::10], value[i::10]) for i in range(10)]

    def write() -> None:
        try:
            for b in batches:
                store.append(b)
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    seen = []
    while writer.is_alive():
        seen.append(store.count())
        store.history(HistoryQuery((0, 1), limit=100))
    writer.join()
    assert not errors
    assert seen == sorted(seen)  # counts only grow; every read saw a committed state
    assert store.count() == len(sid)


# -- property: the duplicate rule -------------------------------------------------------
FLOAT_PLANT = """
plant: p
types:
  gauge:
    signals:
      x: {}
      y: {}
twins:
  - {id: g, type: gauge, count: 2}
"""

_windows = itertools.count()
ROW = st.tuples(st.integers(0, 3), st.integers(0, 30), st.integers(-1_000, 1_000))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(ROW, min_size=1, max_size=25), min_size=1, max_size=6))
def test_stored_set_follows_the_duplicate_rule(store: Store, batches: list[list[tuple[int, int, int]]]) -> None:
    """Within a batch the last row of a (sid, ts) wins, across batches the first stored."""
    # Each example gets its own time window, alternately after and before all earlier ones, so
    # examples share the store without sharing keys and exercise both append paths.
    k = next(_windows)
    base = T0 + (k if k % 2 else -k) * 100 * S
    engine = Engine(loads_plant(FLOAT_PLANT), store)
    expect: dict[tuple[int, int], float] = {}
    stored = 0
    for batch in batches:
        sid = np.array([r[0] for r in batch], np.int32)
        ts = base + np.array([r[1] for r in batch], np.int64) * S
        value = np.array([r[2] for r in batch], np.float64)
        last_in_batch = {(int(s), int(t)): float(v) for s, t, v in zip(sid, ts, value, strict=True)}
        for key, v in last_in_batch.items():
            expect.setdefault(key, v)
        stored += engine.ingest(make_batch(ts, sid, value)).stored
    got = store.history(HistoryQuery((0, 1, 2, 3), start=at(base), end=at(base + 100 * S)))
    assert rows(got) == sorted((s, t, v) for (s, t), v in expect.items())
    assert stored == len(expect)


# -- PostgreSQL only -------------------------------------------------------------------
@pytest.mark.postgres
def test_postgres_writers_in_two_processes_do_not_duplicate(pg_url: str) -> None:
    """A second writer whose watermark is stale falls back from COPY to the merge path."""
    from twinverse.store.postgres import PostgresStore

    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    try:
        sid, ts, value = grid(2, 30)
        assert a.append(sorted_batch(sid, ts, value)) == 60
        # b has never seen these rows: they look new to it, COPY hits the primary key.
        more_ts = np.r_[ts[:30], T0 + np.arange(30, 40) * S]
        assert b.append(sorted_batch(np.zeros(40), more_ts, np.full(40, -1.0))) == 10
        assert a.count() == 70
        got = dict(((s, t), v) for s, t, v in rows(a.history(HistoryQuery((0,)))))
        assert got[(0, int(ts[0]))] == value[0]  # first stored wins
        assert b.append(sorted_batch(np.zeros(40), more_ts, np.full(40, -1.0))) == 0
    finally:
        a.close()
        b.close()


def test_postgres_unreachable_server_is_a_clear_store_error() -> None:
    from twinverse.errors import StoreError
    from twinverse.store.postgres import PostgresStore

    port = free_port()  # nothing listens there
    with pytest.raises(StoreError, match=rf"cannot connect to PostgreSQL at 127\.0\.0\.1:{port}/nowhere") as info:
        PostgresStore(f"postgresql://someone:secret@127.0.0.1:{port}/nowhere", connect_timeout=2)
    assert "secret" not in str(info.value)


@pytest.mark.postgres
def test_open_store_url_selects_postgres(pg_url: str) -> None:
    from twinverse.store import open_store
    from twinverse.store.postgres import PostgresStore

    s = open_store(pg_url)
    try:
        assert isinstance(s, PostgresStore) and isinstance(s, Store)
    finally:
        s.close()


@pytest.mark.postgres
def test_postgres_store_reconnects_after_its_connections_are_killed(pg_url: str) -> None:
    """Terminated backends (a server restart looks the same) cost no data and no error."""
    import psycopg

    from twinverse.store.postgres import PostgresStore

    s = PostgresStore(pg_url)
    try:
        sid, ts, value = grid(2, 10)
        assert s.append(sorted_batch(sid, ts, value)) == 20
        assert s.count() == 20  # leaves a reader connection in the pool
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        assert s.count() == 20  # the dead pooled reader is replaced
        assert s.append(sorted_batch([0, 0], [T0 + 50 * S, T0], [1.0, 2.0])) == 1  # the dead writer too
        assert s.count() == 21
    finally:
        s.close()


def test_duckdb_memory_limit_from_the_url(tmp_path: Path) -> None:
    """A file store caps DuckDB's buffer pool (its default, 80% of RAM, lets RSS grow for hours)."""
    from twinverse.errors import ConfigError, StoreError
    from twinverse.store import open_store
    from twinverse.store.duckdb import DEFAULT_MEMORY_LIMIT

    def limit(s: Store) -> str:
        assert isinstance(s, DuckDBStore)
        return str(s._con.execute("SELECT current_setting('memory_limit')").fetchone()[0])  # type: ignore[index]

    assert DEFAULT_MEMORY_LIMIT == "256MB"
    assert limit(open_store("duckdb", tmp_path)) == "244.1 MiB"  # 256e6 bytes, as DuckDB prints it
    assert limit(open_store(f"duckdb://{tmp_path}/b.duckdb?memory_limit=1GB")) == "953.6 MiB"
    assert limit(open_store(f"{tmp_path}/c.duckdb?memory_limit=64MB")) == "61.0 MiB"
    with pytest.raises(ConfigError, match="memory_limt unknown to the DuckDB store; known: memory_limit"):
        open_store(f"{tmp_path}/d.duckdb?memory_limt=1GB")
    with pytest.raises(StoreError, match="Memory must have a number"):
        open_store(f"{tmp_path}/e.duckdb?memory_limit=lots")
