"""The live engine on the bottling plant with a real DuckDB file store.

Every rejection reason ends in quarantine with its text and counters; units convert exactly;
the live arrays always hold the newest stored row of each signal.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinverse.core import QUARANTINE_SCHEMA, make_batch
from twinverse.live import Engine
from twinverse.live.engine import MIN_TS_US
from twinverse.model import Plant, loads_plant
from twinverse.store import DuckDBStore, HistoryQuery

T0 = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z in µs
S = 1_000_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path / "live.duckdb")
    yield s
    s.close()


@pytest.fixture
def engine(plant: Plant, store: DuckDBStore) -> Engine:
    return Engine(plant, store)


def sid(plant: Plant, twin: str, signal: str) -> int:
    return plant.signals.sid(f"bottling/{twin}", signal)


# -- rejections ----------------------------------------------------------------------------
# (twin, signal, value, ts offset from now in s or None for T0, unit, reason text it must contain)
REJECTS = [
    ("line1/filler", "speed", float("nan"), None, None, "value is not a number (NaN)"),
    ("line1/filler", "speed", float("inf"), None, None, "value is infinite"),
    ("line1/filler", "speed", float("-inf"), None, None, "value is infinite"),
    ("line1/filler", "speed", 1300.0, None, None, "value out of range: 1300.0 not in [0, 1200]"),
    ("line1/filler", "temperature", -10.5, None, None, "value out of range: -10.5 not in [-10, 90]"),
    ("line1/filler", "good_count", 12.5, None, None, "value is not an integer"),
    ("line1/filler", "state", 7.0, None, None, "state code not in the enumeration: 7.0 not in [0, 6]"),
    ("line1/filler", "state", -1.0, None, None, "state code not in the enumeration"),
    ("utilities/air", "running", 2.0, None, None, "value is not a boolean (0 or 1): 2.0 not in [0, 1]"),
    ("line1/filler", "speed", 10.0, "early", None, "timestamp before 2000-01-01"),
    ("line1/filler", "speed", 10.0, 3 * 86_400, None, "timestamp too far in the future"),
    ("line1/filler", "pressure", 2.0, None, "kg", "unit 'kg' cannot be converted to 'bar'"),
    ("line1/filler", "pressure", 2.0, None, "no_such_unit", "unit 'no_such_unit' cannot be converted to 'bar'"),
    ("line1/filler", "state", 2.0, None, "degC", "unit 'degC' cannot be converted to None"),
    ("line1/filler", "temperature", 200.0, None, "degF", "value out of range: 93.3"),  # checked after conversion
]


def _ts(offset: float | str | None) -> int:
    if offset is None:
        return T0
    if offset == "early":
        return MIN_TS_US - 1
    assert isinstance(offset, (int, float))
    return int(time.time() * 1e6 + offset * 1e6)


@pytest.mark.parametrize(("twin", "signal", "value", "offset", "unit", "reason"), REJECTS)
def test_every_rejection_is_quarantined_with_its_reason(
    plant: Plant,
    store: DuckDBStore,
    engine: Engine,
    twin: str,
    signal: str,
    value: float,
    offset: float | str | None,
    unit: str | None,
    reason: str,
) -> None:
    good = sid(plant, "line1/filler", "speed")
    s = sid(plant, twin, signal)
    units = None if unit is None else [unit, None]
    batch = make_batch(np.array([_ts(offset), T0]), [s, good], [value, 500.0], unit=units)
    result = engine.ingest(batch, source="test")
    assert (result.received, result.accepted, result.rejected, result.stored) == (2, 1, 1, 1)
    assert engine.stats() == {"received": 2, "accepted": 1, "rejected": 1, "stored": 1, "sequence": 1}
    assert store.count() == 1 and store.quarantine_count() == 1
    q = store.quarantine().to_pylist()[0]
    assert reason in q["reason"]
    assert (q["twin"], q["signal"], q["source"]) == (f"bottling/{twin}", signal, "test")
    assert engine.value[good] == 500.0
    if s != good:
        assert np.isnan(engine.value[s])


def test_unknown_sids_are_quarantined_without_names(engine: Engine, store: DuckDBStore) -> None:
    n = len(engine.plant.signals)
    batch = pa.record_batch(
        {
            "ts": pa.array([T0] * 3, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "sid": pa.array([n, -5, None], pa.int32()),
            "value": [1.0, 2.0, 3.0],
        }
    )
    result = engine.ingest(batch)
    assert (result.accepted, result.rejected, result.stored) == (0, 3, 0)
    q = store.quarantine().sort_by("value").to_pylist()
    assert [r["reason"] for r in q] == [f"unknown signal id {n}", "unknown signal id -5", "unknown signal id -1"]
    assert all(r["twin"] is None and r["signal"] is None for r in q)
    assert [r["value"] for r in q] == ["1.0", "2.0", "3.0"]


def test_missing_value_and_missing_timestamp(plant: Plant, engine: Engine, store: DuckDBStore) -> None:
    s = sid(plant, "line1/filler", "speed")
    batch = pa.record_batch(
        {
            "ts": pa.array([T0, None, T0 + S], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "sid": pa.array([s, s, s], pa.int32()),
            "value": pa.array([None, 1.0, 2.0], pa.float64()),
            "unit": pa.array(["kg", None, None]),  # a missing value is "missing", not a unit problem
        }
    )
    result = engine.ingest(batch)
    assert (result.accepted, result.rejected) == (1, 2)
    q = store.quarantine().to_pylist()
    by_reason = {r["reason"]: r for r in q}
    assert set(by_reason) == {"missing value", "missing timestamp"}
    assert by_reason["missing timestamp"]["ts"] is None
    assert engine.value[s] == 2.0


def test_rejections_accumulate_in_the_counters(plant: Plant, engine: Engine, store: DuckDBStore) -> None:
    s = sid(plant, "line1/filler", "speed")
    for k in range(3):
        engine.ingest(make_batch(np.array([T0 + k * S] * 4), [s] * 4, [1.0, -1.0, np.nan, 2000.0]))
    # Within a batch all four rows share (sid, ts); only the valid one is accepted.
    assert engine.stats()["received"] == 12 and engine.stats()["rejected"] == 9
    assert engine.stats()["accepted"] == 3 and store.quarantine_count() == 9
    assert store.count() == 3
    # -1 and 2000 are out of [0, 1200]; NaN is its own reason; every reason is listed, zeros too.
    reasons = engine.rejects_by_reason()
    assert {k: v for k, v in reasons.items() if v} == {"out_of_range": 6, "nan": 3}
    assert len(reasons) == 13 and reasons["source"] == 0


def test_rejects_by_reason_counts_every_reason_once(plant: Plant, engine: Engine) -> None:
    for twin, signal, value, offset, unit, _ in REJECTS:
        units = None if unit is None else [unit]
        engine.ingest(make_batch(np.array([_ts(offset)]), [sid(plant, twin, signal)], [value], unit=units))
    engine.ingest(make_batch(np.array([T0]), [len(plant.signals) + 5], [1.0]))  # unknown sid
    engine.reject(QUARANTINE_SCHEMA.empty_table())  # nothing: no count
    undecodable = pa.table(
        {"received": [T0, T0], "ts": [None, T0], "twin": ["bottling/nope", None], "signal": ["x", None],
         "value": ["1", "?"], "reason": ["unknown twin", "not JSON"], "source": ["mqtt", "mqtt"]},
    ).cast(QUARANTINE_SCHEMA)  # fmt: skip
    engine.reject(undecodable)
    expected = {"nan": 1, "infinite": 2, "out_of_range": 3, "not_integer": 1, "not_a_state": 2, "not_boolean": 1,
                "too_old": 1, "too_new": 1, "unit_mismatch": 3, "unknown_signal": 1, "source": 2}  # fmt: skip
    assert {k: v for k, v in engine.rejects_by_reason().items() if v} == expected
    assert sum(expected.values()) == engine.stats()["rejected"] == len(REJECTS) + 1 + 2


def test_commits_are_timed_and_sized(plant: Plant, engine: Engine) -> None:
    s = sid(plant, "line1/filler", "speed")
    engine.ingest(make_batch(np.array([T0, T0 + S, T0 + 2 * S]), [s] * 3, [1.0, 2.0, 3.0]))
    engine.ingest(make_batch(np.array([T0 + 3 * S]), [s], [4.0]))
    engine.ingest(make_batch(np.array([T0 + 4 * S]), [s], [5000.0]))  # all rejected: no commit
    engine.ingest(make_batch(np.array([T0 + 5 * S, T0 + 6 * S]), [s] * 2, [1.0, 9e9]), atomic=True)  # none either
    counts, total, n = engine.commit_rows.snapshot()
    assert (counts[:3], total, n) == ((1, 1, 0), 4.0, 2)  # 1 row (<= 1), 3 rows (<= 10)
    latency = engine.commit_seconds.snapshot()
    assert latency.count == 2 and 0 < latency.sum < 10
    assert engine.stats()["stored"] == 4


# -- units ---------------------------------------------------------------------------------
def test_units_convert_exactly(plant: Plant, engine: Engine, store: DuckDBStore) -> None:
    temp = sid(plant, "line1/filler", "temperature")
    pres = sid(plant, "line1/filler", "pressure")
    batch = make_batch(
        np.array([T0, T0 + S, T0 + 2 * S, T0, T0 + S, T0 + 2 * S]),
        [temp] * 3 + [pres] * 3,
        [32.0, 176.0, 98.6, 250.0, 0.5, 3.0],
        unit=["degF", "degF", "degF", "kPa", "MPa", "bar"],
    )
    assert engine.ingest(batch).stored == 6
    got = store.history(HistoryQuery((temp, pres))).column("value").to_pylist()
    assert got[:3] == pytest.approx([0.0, 80.0, 37.0], rel=1e-12, abs=1e-12)
    assert got[3:] == pytest.approx([2.5, 5.0, 3.0], rel=1e-15)
    assert engine.value[temp] == pytest.approx(37.0)


def test_bar_to_kpa_with_a_dictionary_unit_column(tmp_path: Path) -> None:
    plant = loads_plant(
        """
plant: p
types:
  tank:
    signals:
      pressure: {unit: kPa, range: [0, 1000]}
twins:
  - {id: t, type: tank}
"""
    )
    store = DuckDBStore(tmp_path / "kpa.duckdb")
    try:
        engine = Engine(plant, store)
        units = pa.array(["bar", "bar", "psi", None]).dictionary_encode()
        result = engine.ingest(
            make_batch(np.array([T0, T0 + S, T0 + 2 * S, T0 + 3 * S]), [0] * 4, [1.5, 2.0, 10.0, 7.0], unit=units)
        )
        assert result.stored == 4
        got = store.history(HistoryQuery((0,))).column("value").to_pylist()
        assert got == pytest.approx([150.0, 200.0, 68.9475729, 7.0], rel=1e-9)
    finally:
        store.close()


# -- live state ----------------------------------------------------------------------------
def test_an_older_batch_does_not_replace_the_newest_value(plant: Plant, engine: Engine, store: DuckDBStore) -> None:
    s = sid(plant, "line1/filler", "speed")
    engine.ingest(make_batch(np.array([T0 + 10 * S]), [s], [500.0], [0]))
    engine.ingest(make_batch(np.array([T0 + 5 * S]), [s], [300.0], [2]))
    assert (engine.value[s], engine.ts[s], engine.quality[s]) == (500.0, T0 + 10 * S, 0)
    assert store.count() == 2  # the late row is history all the same
    engine.ingest(make_batch(np.array([T0 + 10 * S]), [s], [111.0]))  # a redelivery keeps the first
    assert engine.value[s] == 500.0


def test_atomic_ingest_stores_nothing_when_one_row_is_bad(plant: Plant, engine: Engine, store: DuckDBStore) -> None:
    s = sid(plant, "line1/filler", "speed")
    got: list[pa.RecordBatch] = []
    engine.subscribe(got.append)
    batch = make_batch(np.array([T0, T0 + S, T0 + 2 * S]), [s] * 3, [1.0, 5000.0, 3.0])
    result = engine.ingest(batch, atomic=True)
    assert (result.received, result.accepted, result.rejected, result.stored) == (3, 0, 1, 0)
    assert [(e["row"], e["signal"]) for e in result.errors] == [(1, "speed")]
    assert "value out of range" in str(result.errors[0]["reason"])
    assert store.count() == 0 and store.quarantine_count() == 1
    assert np.isnan(engine.value[s]) and got == []
    assert engine.stats() == {"received": 3, "accepted": 0, "rejected": 1, "stored": 0, "sequence": 0}
    ok = engine.ingest(make_batch(np.array([T0, T0 + 2 * S]), [s] * 2, [1.0, 3.0]), atomic=True)
    assert ok.stored == 2 and ok.errors == ()


def test_restart_restores_live_values_from_the_store(plant: Plant, tmp_path: Path) -> None:
    path = tmp_path / "restart.duckdb"
    rng = np.random.default_rng(3)
    speed = [sid(plant, t, "speed") for t in ("line1/filler", "line1/capper", "line1/depal")]
    first_store = DuckDBStore(path)
    first = Engine(plant, first_store)
    ts = T0 + rng.permutation(50).astype(np.int64) * S
    first.ingest(make_batch(ts, np.resize(speed, 50), rng.uniform(0, 1200, 50), rng.integers(0, 3, 50)))
    first_store.close()
    second_store = DuckDBStore(path)
    try:
        second = Engine(plant, second_store)
        np.testing.assert_array_equal(second.value, first.value)
        np.testing.assert_array_equal(second.ts, first.ts)
        np.testing.assert_array_equal(second.quality, first.quality)
    finally:
        second_store.close()


def test_listeners_get_the_stored_batch(plant: Plant, engine: Engine) -> None:
    temp = sid(plant, "line1/filler", "temperature")
    speed = sid(plant, "line1/filler", "speed")
    got: list[pa.RecordBatch] = []
    unsubscribe = engine.subscribe(got.append)
    # Unsorted, a duplicate (last one wins), a unit to convert and a reject.
    batch = make_batch(
        np.array([T0 + S, T0, T0 + S, T0, T0]),
        [speed, speed, speed, temp, temp],
        [1.0, 2.0, 3.0, 176.0, 1e9],
        unit=[None, None, None, "degF", None],
    )
    engine.ingest(batch)
    assert len(got) == 1
    rows = list(
        zip(
            got[0].column("sid").to_pylist(),
            got[0].column("ts").cast(pa.int64()).to_pylist(),
            got[0].column("value").to_pylist(),
            strict=True,
        )
    )
    assert rows == sorted([(speed, T0, 2.0), (speed, T0 + S, 3.0), (temp, T0, pytest.approx(80.0))])
    unsubscribe()
    engine.ingest(make_batch(np.array([T0 + 9 * S]), [speed], [4.0]))
    assert len(got) == 1


# -- property: live value is the newest stored row -----------------------------------------
FLOAT_PLANT = """
plant: p
types:
  gauge:
    signals:
      x: {}
      y: {kind: int}
twins:
  - {id: g, type: gauge, count: 2}
"""
BATCH = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40), st.integers(-50, 50)), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(BATCH, min_size=1, max_size=8))
def test_live_value_is_the_newest_row_of_each_signal(tmp_path: Path, batches: list[list[tuple[int, int, int]]]) -> None:
    store = DuckDBStore(":memory:")
    try:
        engine = Engine(loads_plant(FLOAT_PLANT), store)
        first: dict[tuple[int, int], float] = {}  # the value stored for each (sid, ts)
        for batch in batches:
            in_batch = {(s, T0 + t * S): float(v) for s, t, v in batch}  # last in the batch wins
            for key, v in in_batch.items():
                first.setdefault(key, v)
            engine.ingest(
                make_batch(
                    np.array([T0 + t * S for _, t, _ in batch]), [s for s, _, _ in batch], [v for _, _, v in batch]
                )
            )
        for s in range(4):
            mine = [(t, v) for (ss, t), v in first.items() if ss == s]
            if not mine:
                assert np.isnan(engine.value[s])
                continue
            t, v = max(mine)
            assert (engine.ts[s], engine.value[s]) == (t, v)
        latest = store.latest()
        sids = latest.column("sid").to_numpy()
        np.testing.assert_array_equal(engine.value[sids], latest.column("value").to_numpy())
    finally:
        store.close()


def test_sids_beyond_int32_are_unknown_not_wrapped(engine: Engine, store: DuckDBStore) -> None:
    batch = pa.record_batch(
        {
            "ts": pa.array([T0, T0], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "sid": pa.array([2**32 + 3, 3], pa.int64()),  # would wrap to sid 3 as int32
            "value": [1.0, 2.0],
        }
    )
    result = engine.ingest(batch)
    assert (result.accepted, result.rejected) == (1, 1)
    assert store.quarantine().column("reason").to_pylist() == ["unknown signal id -1"]


ORDERING = st.sampled_from(["random", "time-major", "sorted"])


@given(
    rows=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 12), st.integers(-9, 9)), min_size=1, max_size=60),
    ordering=ORDERING,
)
def test_sorted_unique_keeps_the_last_row_of_each_key(rows: list[tuple[int, int, int]], ordering: str) -> None:
    """Whatever order rows come in (the engine has a fast path for each), the result is the
    rows sorted by (sid, ts) with the last received row of each (sid, ts)."""
    if ordering == "time-major":
        rows = sorted(rows, key=lambda r: r[1])  # stable: received order kept among equal ts
    elif ordering == "sorted":
        rows = sorted(rows, key=lambda r: (r[0], r[1]))
    sid = np.array([r[0] for r in rows], np.int32)
    ts = T0 + np.array([r[1] for r in rows], np.int64) * S
    value = np.array([r[2] for r in rows], np.float64)
    quality = (np.arange(len(rows)) % 3).astype(np.uint8)
    batch, s, t, v, q = Engine._sorted_unique(ts, sid, value, quality, 6)
    last = {(int(a), int(b)): (float(c), int(d)) for a, b, c, d in zip(sid, ts, value, quality, strict=True)}
    expect = sorted((k[0], k[1], *x) for k, x in last.items())
    assert list(zip(s.tolist(), t.tolist(), v.tolist(), q.tolist(), strict=True)) == expect
    assert batch.column("sid").to_pylist() == s.tolist()
    assert batch.column("ts").cast(pa.int64()).to_pylist() == t.tolist()
