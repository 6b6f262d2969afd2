"""OEE per ISO 22400-2 on a hand-computed state history, from arrays and through a real store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from twinverse.core import make_batch
from twinverse.core.clock import from_us
from twinverse.errors import InputError
from twinverse.live import Engine
from twinverse.model import loads_plant
from twinverse.ops.kpis import KpiService, Production, counter_increase, production_from_series
from twinverse.store import DuckDBStore

S = 1_000_000
T0 = 1_700_000_000 * S
STATES = ("running", "idle", "starved", "blocked", "down", "setup", "off")
C = {s: float(i) for i, s in enumerate(STATES)}
# (seconds from the window start, state): running from before the window, down 600–900, starved 1200–1500,
# setup 1800–2100, off 3000–
TIMELINE = [(-100, "running"), (600, "down"), (900, "running"), (1200, "starved"), (1500, "running"),
            (1800, "setup"), (2100, "running"), (3000, "off")]
GOOD = [1000.0, 12000.0, 20000.0]  # the first sample before the window: 19,000 good in it
REJECT = [10.0, 500.0, 1010.0]  # 1,000 rejects
PRU = 0.1  # rated 600 per minute

# By hand: running 600 + 300 + 300 + 900 = 2100 s, starved 300, down 300, setup 300, off 600 of 3600 s.
# POT = 3600 (no shifts: the whole window), PDOT = 600, PBT = 3000, APT = 2100, ADET = 300, ASUT = 300,
# ADOT = 300, AUPT = 2400, AUBT = 2700; PQ = 20,000; GQ = 19,000.
EXPECTED = {
    "availability": 0.7,
    "effectiveness": 0.1 * 20000 / 2100,
    "quality_ratio": 0.95,
    "oee": 0.1 * 19000 / 3000,
    "technical_efficiency": 2100 / 2400,
    "setup_rate": 300 / 2400,
    "scrap_ratio": 0.05,
    "throughput_per_h": 24000.0,
    "mttr_s": 300.0,
    "mtbf_s": 2700.0,
}


def timeline() -> tuple[np.ndarray, np.ndarray]:
    return (np.array([T0 + t * S for t, _ in TIMELINE], dtype=np.int64), np.array([C[s] for _, s in TIMELINE]))


def test_oee_from_a_hand_made_state_history_equals_the_iso_22400_formula() -> None:
    ts, code = timeline()
    p = production_from_series(STATES, ts, code, T0, T0 + 3600 * S, good=np.array(GOOD), reject=np.array(REJECT),
                               pru_s=PRU, power_kw={"running": 10.0, "down": 1.0, "setup": 2.0})  # fmt: skip
    assert (p.pot_s, p.pbt_s, p.apt_s, p.adet_s, p.adot_s, p.asut_s, p.off_s, p.no_data_s, p.failures) == (
        3600, 3000, 2100, 300, 300, 300, 600, 0, 1)  # fmt: skip
    assert (p.aupt_s, p.aubt_s) == (2400, 2700)
    assert p.state_s["running"] == 2100 and p.state_s["starved"] == 300
    assert p.kpis() == pytest.approx(EXPECTED)
    k = p.kpis()
    assert k["availability"] * k["effectiveness"] * k["quality_ratio"] == pytest.approx(k["oee"])
    # energy by state: 2100 s × 10 kW + 300 s × 1 kW + 300 s × 2 kW (starved draws nothing here)
    assert p.energy_kwh == pytest.approx((2100 * 10 + 300 * 1 + 300 * 2) / 3600)
    assert p.energy_source == "power_table"


def test_no_data_before_the_first_sample_is_not_planned_time() -> None:
    p = production_from_series(STATES, np.array([T0 + 600 * S]), np.array([0.0]), T0, T0 + 3600 * S)
    assert (p.no_data_s, p.pbt_s, p.apt_s) == (600, 3000, 3000)
    assert p.kpis()["availability"] == 1.0 and p.kpis()["effectiveness"] is None and p.kpis()["oee"] is None  # no PRU
    assert p.kpis()["quality_ratio"] == 1.0  # nothing produced: as the simulator reports it


def test_a_machine_down_at_the_start_failed_before_the_window() -> None:
    p = production_from_series(STATES, np.array([T0 - S, T0 + 100 * S]), np.array([C["down"], C["running"]]),
                               T0, T0 + 200 * S)  # fmt: skip
    assert (p.adot_s, p.failures) == (100, 0)


def test_counter_resets() -> None:
    assert counter_increase(np.array([100.0, 150.0, 20.0, 50.0])) == 50 + 20 + 30
    assert counter_increase(np.array([5.0])) == 0


def test_line_totals_sum_the_machines() -> None:
    ts, code = timeline()
    one = production_from_series(STATES, ts, code, T0, T0 + 3600 * S, good=np.array(GOOD), reject=np.array(REJECT),
                                 pru_s=PRU)  # fmt: skip
    other = production_from_series(STATES, np.array([T0]), np.array([0.0]), T0, T0 + 3600 * S,
                                   good=np.array([0.0, 30000.0]), pru_s=0.1)  # fmt: skip
    line = Production.total([one, other]).kpis()
    assert line["availability"] == pytest.approx((2100 + 3600) / (3000 + 3600))
    assert line["effectiveness"] == pytest.approx(0.1 * (20000 + 30000) / (2100 + 3600))
    assert line["technical_efficiency"] == pytest.approx((2100 + 3600) / (2400 + 3600))
    assert line["quality_ratio"] == pytest.approx((19000 + 30000) / (20000 + 30000))


PLANT = """
plant: p
types:
  machine:
    signals:
      state: {kind: state, states: [running, idle, starved, blocked, down, setup, off]}
      good_count: {kind: int, range: [0, 1.0e12]}
      reject_count: {kind: int, range: [0, 1.0e12]}
    properties: {rated_speed: 600}
    power: {running: 10, down: 1, setup: 2}
twins:
  - id: line
    type: line
    children:
      - {id: filler, type: machine}
      - {id: capper, type: machine}
"""


def test_kpis_from_the_store_equal_the_hand_computed_values(tmp_path: Path) -> None:
    plant = loads_plant(PLANT)
    store = DuckDBStore(tmp_path / "k.duckdb")
    engine = Engine(plant, store)
    idx = plant.signals
    ts, code = timeline()
    f = "p/line/filler"
    engine.ingest(make_batch(ts, np.full(len(ts), idx.sid(f, "state"), np.int32), code))
    counts_ts = np.array([T0 - 50 * S, T0 + 1000 * S, T0 + 3500 * S])
    for name, values in (("good_count", GOOD), ("reject_count", REJECT)):
        engine.ingest(make_batch(counts_ts, np.full(3, idx.sid(f, name), np.int32), np.array(values)))
    svc = KpiService(plant, store)
    start = from_us(T0)
    report = svc.report("p/line", start, start + timedelta(hours=1))
    assert report["machines"]["p/line/filler"]["kpis"] == pytest.approx(EXPECTED)
    capper = report["machines"]["p/line/capper"]
    assert capper["no_data_s"] == 3600 and capper["kpis"]["availability"] is None
    assert report["total"]["kpis"]["availability"] == pytest.approx(0.7)
    with pytest.raises(InputError):
        svc.report("p/line", start, start)
    engine.close()
    store.close()


def test_carbon_uses_the_grid_factor_the_plant_names(tmp_path: Path) -> None:
    plant = loads_plant(PLANT + "energy: {grid: east, year: 2023}\n")
    assert plant.grid == ("east", 2023)
    store = DuckDBStore(tmp_path / "c.duckdb")
    engine = Engine(plant, store)
    sid = plant.signals.sid("p/line/filler", "state")
    engine.ingest(make_batch(np.array([T0 - S]), np.array([sid], np.int32), np.array([0.0])))  # running all hour
    report = KpiService(plant, store).report("p/line/filler", from_us(T0), from_us(T0 + 3600 * S))
    assert report["grid_factor"]["kg_per_kwh"] == 0.55 and "Ecology and Environment" in report["grid_factor"]["source"]
    m = report["machines"]["p/line/filler"]
    assert m["energy_kwh"] == pytest.approx(10.0)  # 1 h running at 10 kW
    assert m["co2e_kg"] == pytest.approx(5.5)
    assert loads_plant(PLANT).grid == ("national", 2022)  # the default, as the simulator's
    engine.close()
    store.close()


def test_an_unpublished_grid_factor_is_a_located_error() -> None:
    from twinverse.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match=r"p.yaml:\d+: energy.grid: no published grid factor for 'mars' in 2022"):
        loads_plant(PLANT + "energy: {grid: mars, year: 2022}\n", "p.yaml")


def test_the_simulators_definitions_differ_by_the_delay_time_and_give_the_same_oee() -> None:
    """The same state fractions and counts give the simulator's OEE and quality; its availability and
    performance count idle, starved and blocked time (ADET) as production time."""
    from twinverse.sim.results import station_stats
    from twinverse.sim.states import STATE_NAMES

    ts, code = timeline()
    p = production_from_series(STATES, ts, code, T0, T0 + 3600 * S, good=np.array(GOOD), reject=np.array(REJECT),
                               pru_s=PRU)  # fmt: skip
    fractions = [p.state_s[s] / 3600 for s in STATE_NAMES]
    sim = station_stats("filler", fractions, int(p.pq), int(p.pq - p.gq), 1, 3600.0, PRU, 0.0, 0.0, 0.0)
    k = p.kpis()
    assert (k["oee"], k["quality_ratio"]) == pytest.approx((sim.oee, sim.quality))
    assert sim.availability == pytest.approx((p.apt_s + p.adet_s) / p.pbt_s)
    assert sim.performance == pytest.approx(PRU * p.pq / (p.apt_s + p.adet_s))
