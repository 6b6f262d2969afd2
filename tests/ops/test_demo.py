"""The demo line raises real alarms from its synthetic failures, and its KPIs are those failures'."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from twinverse.core.clock import from_us, now_us
from twinverse.ingest.synthetic import SyntheticPlant
from twinverse.live import Engine
from twinverse.model import Plant
from twinverse.ops import AlarmService, AlarmState, KpiService
from twinverse.store import DuckDBStore

S = 1_000_000


def test_synthetic_failures_raise_down_alarms_and_show_in_mttr(plant: Plant, tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "demo.duckdb")
    engine = Engine(plant, store)
    t0 = now_us() - 3 * 3600 * S
    clock = [t0]
    alarms = AlarmService(plant, engine, clock=lambda: clock[0])
    synthetic = SyntheticPlant(plant, rate=1.0, speedup=10.0, seed=3, mtbf_s=600.0, mttr_s=90.0)
    steps = 2 * 360  # two hours in 10 s steps
    for i in range(steps):
        clock[0] = t0 + i * 10 * S
        engine.ingest(synthetic.step(now_us=clock[0]))
        alarms.tick()
    events = alarms.journal.query(limit=100_000)
    raised = [e for e in events if e.rule == "down_long" and e.event == "raise"]
    assert len(raised) >= 5  # machines down for more than a minute
    assert {e.state for e in raised} == {AlarmState.UNACKNOWLEDGED.value}  # nobody acknowledges in this test
    report = KpiService(plant, store).report("bottling/line1", from_us(t0), from_us(clock[0]))
    total = report["total"]
    assert total["failures"] >= len({e.twin for e in raised})
    assert 45 <= total["kpis"]["mttr_s"] <= 180  # repairs are exponential, mean 90 s, seen in 10 s steps
    assert 0 < total["kpis"]["availability"] < 1 and 0 < total["kpis"]["oee"] < 1
    assert total["co2e_kg"] == total["energy_kwh"] * report["grid_factor"]["kg_per_kwh"]
    # per shift (the plant's three shifts tile the day): each shift's energy, and together the window's
    svc = KpiService(plant, store)
    shifts = svc.shifts("bottling/line1", from_us(t0), from_us(clock[0]), now=from_us(clock[0]))
    assert 1 <= len(shifts) <= 2 and all(s["total"]["energy_kwh"] > 0 for s in shifts)
    cut = [svc.report("bottling/line1", max(from_us(t0), datetime.fromisoformat(s["shift"]["start"])),
                      min(from_us(clock[0]), datetime.fromisoformat(s["shift"]["end"])))["total"]["energy_kwh"]
           for s in shifts]  # fmt: skip
    assert sum(cut) == pytest.approx(total["energy_kwh"], rel=1e-9)
    assert total["co2e_market_kg"] == pytest.approx(total["co2e_kg"] * 0.75)  # a quarter under the solar PPA
    alarms.close()
    engine.close()
    store.close()
