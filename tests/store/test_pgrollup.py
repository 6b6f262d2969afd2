"""PostgreSQL rollups on a real server: answers equal the raw rows, late rows, several processes, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest

from twinverse.core import make_batch
from twinverse.store.base import Aggregate, HistoryQuery
from twinverse.store.pgrollup import enable_rollups
from twinverse.store.postgres import PostgresStore

pytestmark = pytest.mark.postgres

HOUR = 3_600_000_000
T0 = (int(datetime.now(UTC).timestamp()) // 3600 - 30) * HOUR  # an hour boundary 30 hours ago
NOW = T0 + 30 * HOUR


def dt(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def load(store: PostgresStore, hours: int = 5, every_s: int = 7, sids: int = 3) -> np.ndarray:
    """Points every ``every_s`` seconds from T0 for ``hours`` on sids 0.. ; returns their timestamps."""
    rng = np.random.default_rng(1)
    ts = T0 + np.arange(0, hours * 3600, every_s, dtype=np.int64) * 1_000_000 + 123_456
    for s in range(sids):
        store.append(make_batch(ts, np.full(len(ts), s), rng.normal(50, 10, len(ts)).round(3)))
    return ts


def same(store: PostgresStore, q: HistoryQuery) -> int:
    """Assert the rollup answer equals the raw one; returns the buckets compared."""
    rolled = store.history(q)
    raw = store.history(HistoryQuery(**{**q.__dict__, "use_rollups": False}))
    assert rolled.column("sid").to_pylist() == raw.column("sid").to_pylist()
    assert rolled.column("ts").to_pylist() == raw.column("ts").to_pylist()
    assert rolled.column("n").to_pylist() == raw.column("n").to_pylist()
    np.testing.assert_allclose(rolled.column("value").to_numpy(), raw.column("value").to_numpy(), rtol=1e-12)
    return rolled.num_rows


@pytest.fixture
def store(pg_url: str):  # type: ignore[no-untyped-def]
    s = PostgresStore(pg_url)
    yield s
    s.close()


def test_rollups_answer_as_the_raw_rows_do(store: PostgresStore) -> None:
    r = enable_rollups(store)
    load(store)
    assert store.rollups is r and r.history(HistoryQuery((0,), interval=timedelta(minutes=1))) is None  # none yet
    assert store.refresh_rollups(NOW) == 2  # from the first row, a day per step, up to two minutes ago
    assert r.state() == (NOW - 120_000_000, None)
    with psycopg.connect(store.url) as con:
        minutes = con.execute("SELECT count(*), sum(n) FROM rollup_1m").fetchone()
        hours = con.execute("SELECT count(*), sum(n) FROM rollup_1h").fetchone()
    assert minutes == (3 * 5 * 60, store.count()) and hours == (3 * 5, store.count())
    assert r.history(HistoryQuery((0,), interval=timedelta(minutes=5))) is not None  # the rollups answer
    compared = 0
    for agg in Aggregate:
        for minutes_ in (1, 5, 60, 120):
            iv = timedelta(minutes=minutes_)
            compared += same(store, HistoryQuery((0, 2), interval=iv, aggregate=agg))
            compared += same(store, HistoryQuery((1,), start=dt(T0 + 1_234_567_890), end=dt(T0 + 4 * HOUR + 7),
                                                 interval=iv, aggregate=agg))  # fmt: skip
    assert compared > 1000


def test_a_late_row_from_another_process_is_answered_then_rolled_up(store: PostgresStore, pg_url: str) -> None:
    enable_rollups(store)
    load(store, hours=2)
    store.refresh_rollups(NOW)
    worker = PostgresStore(pg_url)  # another writer: its late row is logged in the same transaction
    enable_rollups(worker)
    try:
        assert worker.append(make_batch(np.array([T0 + 600_000_000 + 1]), [0], [1e6])) == 1
    finally:
        worker.close()
    assert store.rollups.state()[1] == T0 + 600_000_000 + 1
    q = HistoryQuery((0,), interval=timedelta(minutes=10), aggregate=Aggregate.MAX)
    assert same(store, q) and store.history(q).column("value")[1].as_py() == 1e6  # raw rows from the late one on
    store.refresh_rollups(NOW)
    assert store.rollups.state()[1] is None
    with psycopg.connect(pg_url) as con:
        top = con.execute("SELECT max(vmax) FROM rollup_1m WHERE sid = 0").fetchone()
    assert top == (1e6,)
    assert same(store, q)


def test_one_refresher_at_a_time(store: PostgresStore, pg_url: str) -> None:
    enable_rollups(store)
    load(store, hours=1)
    with psycopg.connect(pg_url) as con, con.transaction():
        con.execute("SELECT pg_advisory_xact_lock(hashtext('twinverse.rollups'))")  # someone else refreshing
        assert store.refresh_rollups(NOW) == 0
    assert store.refresh_rollups(NOW) >= 1


def test_rollups_outlive_raw_retention(store: PostgresStore, pg_url: str) -> None:
    enable_rollups(store, raw_days=0.5, rollup_days=365)
    ts = load(store, hours=3)
    store.refresh_rollups(NOW)
    with psycopg.connect(pg_url) as con:  # what dropping the old partitions does to the raw rows
        con.execute("DELETE FROM points")
    q = HistoryQuery((0,), interval=timedelta(hours=1), aggregate=Aggregate.COUNT)
    per_hour = np.bincount((ts - T0) // HOUR).tolist()
    assert store.history(q).column("value").to_pylist() == per_hour and len(per_hour) == 3
    assert store.history(HistoryQuery(**{**q.__dict__, "use_rollups": False})).num_rows == 0
    # A late row in the dropped range: logged, but never a recompute from the (gone) raw rows.
    store.append(make_batch(np.array([T0 + 5]), [0], [1.0]))
    store.refresh_rollups(NOW)
    assert store.history(q).column("value").to_pylist() == per_hour
    short = PostgresStore(pg_url)
    try:
        enable_rollups(short, rollup_days=1)
        short.refresh_rollups(NOW + 3 * 86_400_000_000)
        with psycopg.connect(pg_url) as con:
            left = con.execute("SELECT count(*) FROM rollup_1m").fetchone()
        assert left == (0,)
    finally:
        short.close()


def test_settings_turn_them_on_in_the_platform(pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from twinverse.config import Settings
    from twinverse.platform import Platform, example_path

    p = Platform(Settings(data_dir=tmp_path, plant=example_path(), store=pg_url, pg_rollups=True,
                          retention_rollup_days=400))  # fmt: skip
    try:
        assert p.store.rollups is not None and p.store.rollups.rollup_days == 400  # type: ignore[attr-defined]
        assert p.rollups is not None  # the platform's refresher thread drives store.refresh_rollups()
        load(p.store, hours=2, sids=2)  # type: ignore[arg-type]
        assert p.store.refresh_rollups(NOW) >= 1  # type: ignore[attr-defined]
        assert same(p.store, HistoryQuery((0, 1), interval=timedelta(minutes=15)))  # type: ignore[arg-type]
    finally:
        p.stop()
