"""Rollups answer downsampled queries exactly as the raw rows do, and stay right after late data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from twinverse.core import make_batch
from twinverse.store import Aggregate, DuckDBStore, HistoryQuery
from twinverse.store.rollup import HOUR_US, MINUTE_US, STEP_US, RollupState

T0 = 1_700_000_000_000_000 // HOUR_US * HOUR_US  # an hour boundary (2023-11-14T22:00Z)
NOW = T0 + 6 * HOUR_US


def at(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1e6, UTC)


def fill(store: DuckDBStore, seed: int = 3) -> None:
    """Five signals, 5 hours, irregular timestamps (1–20 s apart), values with a trend and noise."""
    rng = np.random.default_rng(seed)
    for sid in range(5):
        gaps = rng.integers(1_000_000, 20_000_000, size=1200)
        ts = T0 + 7 * sid + np.cumsum(gaps)
        ts = ts[ts < T0 + 5 * HOUR_US]
        values = np.round(rng.normal(50 + sid, 10, size=len(ts)), 3)
        store.append(make_batch(ts, np.full(len(ts), sid, np.int32), values))


def both(store: DuckDBStore, **kw: object) -> tuple[pa.Table, pa.Table]:
    q = HistoryQuery(sids=(0, 1, 2, 4), **kw)  # type: ignore[arg-type]
    raw = store.history(HistoryQuery(**{**q.__dict__, "use_rollups": False}))
    return store.history(q), raw


def assert_same(rolled: pa.Table, raw: pa.Table, agg: Aggregate) -> None:
    assert rolled.num_rows == raw.num_rows > 0
    for col in ("sid", "ts", "n"):
        assert rolled.column(col).to_pylist() == raw.column(col).to_pylist(), col
    a, b = rolled.column("value").to_numpy(), raw.column("value").to_numpy()
    if agg is Aggregate.AVG:  # sum / n against DuckDB's avg: the same up to rounding
        np.testing.assert_allclose(a, b, rtol=1e-12)
    else:
        assert a.tolist() == b.tolist()


@pytest.fixture
def store(tmp_path: Path) -> DuckDBStore:
    s = DuckDBStore(tmp_path / "h.duckdb")
    fill(s)
    assert s.refresh_rollups(NOW) == 1 and s.rollups.done_us == NOW - MINUTE_US
    return s


@pytest.mark.parametrize("agg", list(Aggregate))
@pytest.mark.parametrize("minutes", [1, 5, 60, 120])
def test_rolled_up_answers_equal_raw_answers(store: DuckDBStore, agg: Aggregate, minutes: int) -> None:
    iv = timedelta(minutes=minutes)
    ranges = [
        (at(T0 + 37_123_456), at(T0 + 4 * HOUR_US + 17 * MINUTE_US + 5_000_000)),  # edges inside buckets
        (None, None),
        (at(T0 + HOUR_US), None),
        (None, at(T0 + 3 * HOUR_US + 1)),
    ]
    for start, end in ranges:
        q = HistoryQuery(sids=(0, 1, 2, 4), start=start, end=end, interval=iv, aggregate=agg)
        assert store._history_rolled(q, minutes * MINUTE_US) is not None  # the rollups were used
        rolled, raw = both(store, start=start, end=end, interval=iv, aggregate=agg)
        assert_same(rolled, raw, agg)


def test_intervals_that_are_not_whole_minutes_read_raw_rows(store: DuckDBStore) -> None:
    q = HistoryQuery(sids=(0,), interval=timedelta(seconds=90))
    assert store._history_rolled(q, 90_000_000) is None


def test_late_rows_make_buckets_stale_until_the_next_refresh(store: DuckDBStore, tmp_path: Path) -> None:
    late_ts = T0 + 2 * HOUR_US + 30 * MINUTE_US + 123  # inside rolled-up history
    store.append(make_batch(np.array([late_ts]), np.array([1], np.int32), np.array([1e6])))
    assert store.rollups.dirty_us == late_ts
    q = HistoryQuery(sids=(1,), interval=timedelta(hours=1), aggregate=Aggregate.MAX)
    assert store._history_rolled(q, HOUR_US) is None  # stale: answered from raw rows
    assert 1e6 in store.history(q).column("value").to_pylist()
    assert store.refresh_rollups(NOW) == 1 and store.rollups.dirty_us is None
    assert store._history_rolled(q, HOUR_US) is not None
    for agg in Aggregate:
        rolled, raw = both(store, interval=timedelta(minutes=30), aggregate=agg)
        assert_same(rolled, raw, agg)
    # The state survives a restart.
    done = store.rollups.done_us
    del store
    again = DuckDBStore(tmp_path / "h.duckdb")
    assert again.rollups.done_us == done and again.rollups.dirty_us is None
    assert again.refresh_rollups(NOW) == 0


def test_plan_grace_front_stale_and_steps() -> None:
    st = RollupState(grace_us=MINUTE_US)
    assert st.plan(NOW, None) is None  # nothing stored
    assert st.plan(T0 + 90_000_000, T0 + 5_000_000) is None  # the first minute has not ended a minute ago
    assert st.plan(T0 + 150_000_000, T0 + 5_000_000) == (T0, T0 + MINUTE_US)
    far = T0 + 3 * STEP_US
    a, b = st.plan(far, T0 + 5_000_000)  # type: ignore[misc]
    assert (a, b) == (T0, T0 + STEP_US)  # a backlog goes a day at a time
    st.finished(a, b)
    assert st.done_us == b and st.plan(far, None) == (b, b + STEP_US)
    st.note_append(b + 5)  # after the front: nothing stale
    assert st.dirty_us is None
    st.note_append(T0 + 61 * MINUTE_US + 7)
    assert st.plan(far, None) == (T0 + 61 * MINUTE_US, b)  # stale part first, up to the front
    st.finished(T0 + 61 * MINUTE_US, b)
    assert st.dirty_us is None and st.done_us == b


def test_the_refresher_thread_keeps_rollups_current(tmp_path: Path) -> None:
    import threading

    from twinverse.store.rollup import RollupRefresher

    s = DuckDBStore(tmp_path / "r.duckdb")
    fill(s)
    assert RollupRefresher.supported(s) and not RollupRefresher.supported(object())
    r = RollupRefresher(s, every=0.02)
    r.start()
    try:
        for _ in range(500):  # bounded wait for the first refresh
            if s.rollups.done_us is not None:
                break
            threading.Event().wait(0.01)
    finally:
        r.stop()
    assert s.rollups.done_us is not None and s.rollups.done_us >= T0 + 5 * HOUR_US - MINUTE_US
    assert r.refreshes >= 1 and r.failures == 0
