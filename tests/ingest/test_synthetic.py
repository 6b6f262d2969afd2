"""The synthetic plant: seeded, plausible (states, counters, buffers, power) and accepted whole."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from twinverse.ingest import SyntheticPlant
from twinverse.ingest.synthetic import STATES
from twinverse.live import Engine
from twinverse.model import Plant
from twinverse.store import DuckDBStore

STEP_S = 5.0
Hour = tuple[SyntheticPlant, list[pa.RecordBatch], np.ndarray, np.ndarray]
HOUR_STEPS = int(3600 / STEP_S)


def run(sp: SyntheticPlant, steps: int, start_us: int) -> Iterator[pa.RecordBatch]:
    for i in range(steps):
        yield sp.step(now_us=start_us + int(i * STEP_S * 1e6))


def test_same_seed_same_batches(plant: Plant) -> None:
    a = SyntheticPlant(plant, seed=3, speedup=STEP_S)
    b = SyntheticPlant(plant, seed=3, speedup=STEP_S)
    for x, y in zip(run(a, 50, 0), run(b, 50, 0), strict=True):
        assert x.equals(y)


def test_different_seeds_differ(plant: Plant) -> None:
    a = list(run(SyntheticPlant(plant, seed=1, speedup=STEP_S), 20, 0))
    b = list(run(SyntheticPlant(plant, seed=2, speedup=STEP_S), 20, 0))
    assert any(not x.equals(y) for x, y in zip(a, b, strict=True))


def test_batch_shape(plant: Plant) -> None:
    batch = SyntheticPlant(plant, seed=1).step(now_us=1_700_000_000_000_000)
    assert batch.num_rows == len(plant.signals)
    assert batch.column("sid").to_pylist() == list(range(len(plant.signals)))
    assert set(batch.column("ts").cast(pa.int64()).to_pylist()) == {1_700_000_000_000_000}
    assert set(batch.column("quality").to_pylist()) == {0}


@pytest.fixture(scope="module")
def hour(plant: Plant) -> Hour:
    """One simulated hour in 5 s ticks: the batches plus each tick's machine and buffer states."""
    sp = SyntheticPlant(plant, seed=11, speedup=STEP_S)
    start = int(time.time() * 1e6) - 3_700_000_000
    batches, mstates, bstates = [], [], []
    for b in run(sp, HOUR_STEPS, start):
        batches.append(b)
        mstates.append(sp.state.copy())
        bstates.append(sp.bstate.copy())
    return sp, batches, np.array(mstates), np.array(bstates)


def values(batches: list[pa.RecordBatch], sid: int) -> np.ndarray:
    return np.array([b.column("value")[sid].as_py() for b in batches])


def test_every_machine_runs_and_stops(
    hour: Hour,
) -> None:
    sp, _, mstates, bstates = hour
    assert sp.machines == [t for t in sp.plant.of_type("machine")]
    for j, machine in enumerate(sp.machines):
        seen = {STATES[s] for s in mstates[:, j]}
        assert "running" in seen, machine
        assert seen & {"starved", "blocked", "down"}, machine
    seen_all = {STATES[s] for s in mstates.ravel()}
    assert {"running", "starved", "blocked", "down", "setup"} <= seen_all
    # the first machine has no buffer before it, the last none after it
    assert STATES.index("starved") not in mstates[:, 0]
    assert STATES.index("blocked") not in mstates[:, -1]
    assert {STATES[s] for s in bstates.ravel()} == {"running", "starved", "blocked"}


def test_states_in_the_batches(hour: Hour) -> None:
    sp, batches, mstates, _ = hour
    idx = sp.plant.signals
    for j, machine in enumerate(sp.machines):
        sid = idx.sid(machine, "state")
        names = idx.signal[sid].states or ()
        assert [names[int(v)] for v in values(batches, sid)] == [STATES[s] for s in mstates[:, j]]


def test_counters_never_decrease(hour: Hour) -> None:
    sp, batches, _, _ = hour
    for machine in sp.machines:
        for name in ("good_count", "reject_count"):
            v = values(batches, sp.plant.signals.sid(machine, name))
            assert (np.diff(v) >= 0).all(), (machine, name)
            assert (v == np.round(v)).all()
        good = values(batches, sp.plant.signals.sid(machine, "good_count"))
        assert good[-1] > good[0]


def test_buffers_within_capacity(hour: Hour) -> None:
    sp, batches, _, _ = hour
    for conveyor in sp.buffers:
        cap = sp.plant.twins[conveyor].properties["capacity"]
        level = values(batches, sp.plant.signals.sid(conveyor, "level"))
        assert level.min() >= 0 and level.max() <= cap, conveyor
        assert level.max() > level.min()  # it moves


def test_speed_zero_unless_running(hour: Hour) -> None:
    sp, batches, mstates, _ = hour
    for j, machine in enumerate(sp.machines):
        speed = values(batches, sp.plant.signals.sid(machine, "speed"))
        stopped = mstates[:, j] != STATES.index("running")
        assert (speed[stopped] == 0).all()
        assert speed[~stopped].mean() > 0


def test_power_follows_state_table(hour: Hour) -> None:
    sp, batches, mstates, _ = hour
    for j, machine in enumerate(sp.machines):
        table = sp.plant.type_of(machine).power
        expected = np.array([table.get(STATES[s], 0.0) for s in mstates[:, j]])
        got = values(batches, sp.plant.signals.sid(machine, "power"))
        # 3 % multiplicative noise: 20 % is more than six standard deviations
        np.testing.assert_allclose(got, expected, rtol=0.2, atol=0.0)
        zero = expected == 0
        assert (got[zero] == 0).all()
    filler = sp.machines.index("bottling/line1/filler")
    got = values(batches, sp.plant.signals.sid("bottling/line1/filler", "power"))
    running = mstates[:, filler] == STATES.index("running")
    assert got[running].mean() == pytest.approx(22.0, rel=0.01)  # the filler's running power


def test_all_values_in_range(hour: Hour) -> None:
    sp, batches, _, _ = hour
    idx = sp.plant.signals
    v = np.stack([b.column("value").to_numpy() for b in batches])
    assert np.isfinite(v).all()
    assert ((v >= idx.lo) & (v <= idx.hi)).all()
    temp = v[:, idx.sid("bottling/line1/filler", "temperature")]
    assert abs(temp.mean() - 6.0) < 1.0  # drifts around its set point
    assert temp.std() > 0


def test_engine_rejects_none(hour: Hour, tmp_path: Path) -> None:
    sp, batches, _, _ = hour
    store = DuckDBStore(tmp_path / "synthetic.duckdb")
    try:
        engine = Engine(sp.plant, store)
        for b in batches:
            r = engine.ingest(b, source="synthetic")
            assert r.rejected == 0, r
        n = len(batches) * len(sp.plant.signals)
        assert engine.stats()["accepted"] == n
        assert store.count() == n
        assert store.quarantine_count() == 0
        assert engine.live(range(1))[0]["ts"] is not None
    finally:
        store.close()


def test_runs_as_a_connector(plant: Plant, tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "c.duckdb")
    try:
        engine = Engine(plant, store)
        sp = SyntheticPlant(plant, rate=50.0, seed=5)
        assert sp.describe() == "synthetic plant: 8 machines, 7 buffers, 71 signals at 50 Hz"
        sp.start(engine)
        try:
            deadline = time.monotonic() + 30
            while engine.sequence < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            sp.stop()
        assert engine.sequence >= 3
        assert engine.stats()["rejected"] == 0
        assert store.count() == engine.stats()["accepted"] == sp.ticks * len(plant.signals)
    finally:
        store.close()
