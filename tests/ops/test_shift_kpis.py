"""Shift calendar, KPIs per shift, energy from power and meter signals, Scope 2 both ways: known answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from twinverse.core import make_batch
from twinverse.core.clock import to_us
from twinverse.core.gridfactors import GridFactor, MarketInstrument, scope2
from twinverse.errors import ModelLoadError
from twinverse.live import Engine
from twinverse.model import load_plant, loads_plant
from twinverse.model.shifts import shift_calendar
from twinverse.ops.energy import meter_kwh_by_state, power_kwh_by_state
from twinverse.ops.kpis import KpiService, production_from_series
from twinverse.platform import example_path
from twinverse.store import DuckDBStore

S = 1_000_000
DAY = datetime(2026, 12, 3, tzinfo=UTC)
T0 = to_us(DAY)
STATES = ("running", "idle", "starved", "blocked", "down", "setup", "off")
C = {s: float(i) for i, s in enumerate(STATES)}
TIMELINE = [(-100, "running"), (600, "down"), (900, "running"), (1200, "starved"), (1500, "running"),
            (1800, "setup"), (2100, "running"), (3000, "off")]  # fmt: skip


def timeline() -> tuple[np.ndarray, np.ndarray]:
    return np.array([T0 + t * S for t, _ in TIMELINE], np.int64), np.array([C[s] for _, s in TIMELINE])


# -- the calendar ----------------------------------------------------------------------------
def test_three_shifts_with_breaks_become_the_simulators_eight_hour_calendar() -> None:
    cal = load_plant(example_path("bottling.yaml")).shifts
    assert cal is not None and [s.name for s in cal.shifts] == ["night", "day", "evening"]
    assert cal.sim_calendar(1.0) == (28800.0, ((14400.0, 16200.0),))  # seconds, anchored at 00:00 UTC
    assert cal.sim_calendar(60.0) == (480.0, ((240.0, 270.0),))  # minutes
    # local 08:00 in Shanghai is 00:00 UTC: the day shift of 3 December starts at midnight UTC
    o = cal.occurrence("day", date(2026, 12, 3))
    assert o.start == DAY and o.end == DAY + timedelta(hours=8)
    assert cal.at(DAY + timedelta(hours=1)) == o
    assert cal.previous(o).shift == "night" and cal.previous(o).day == date(2026, 12, 3)
    ps, pe = cal.planned(T0, T0 + 8 * 3600 * S)
    assert list(zip((ps - T0) // S, (pe - T0) // S, strict=True)) == [(0, 4 * 3600), (4 * 3600 + 1800, 8 * 3600)]


def test_a_shift_over_midnight_and_a_weekday_zone() -> None:
    cal = shift_calendar({"timezone": "+01:00", "late": {"start": "22:00", "end": "06:00",
                                                           "breaks": [["02:00", "02:30"]]}})  # fmt: skip
    s = cal.shift("late")
    assert (s.start, s.end, s.breaks, s.planned_min) == (22 * 60, 30 * 60, ((26 * 60, 26 * 60 + 30),), 450)
    # UTC: work 21:00–01:00 and 01:30–05:00; off 05:00–21:00 and 01:00–01:30
    assert cal.sim_calendar(3600.0) == (24.0, ((1.0, 1.5), (5.0, 21.0)))


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("shifts: {timezone: Mars/Olympus, a: {start: '06:00', end: '14:00'}}",
         r"p.yaml:\d+: shifts.timezone: unknown time zone 'Mars/Olympus'"),
        ("shifts: {a: {start: '06:00', end: '25:00'}}", r"p.yaml:\d+: shifts.a.end: expected a time of day"),
        ("shifts: {a: {start: '06:00', end: '14:00', breaks: [['15:00', '15:30']]}}",
         r"p.yaml:\d+: shifts.a.breaks\[0\]: a break must lie inside its shift \(06:00–14:00\)"),
        ("shifts: {a: {start: '06:00', end: '14:00'}, b: {start: '13:00', end: '21:00'}}",
         r"p.yaml:\d+: shifts: shifts 'a' and 'b' overlap at 13:00"),
        ("shifts: {a: {start: '06:00', end: '14:00', pause: 3}}", r"p.yaml:\d+: shifts.a.pause: unknown field"),
    ],
)  # fmt: skip
def test_shift_mistakes_are_located_errors(section: str, message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        loads_plant(PLANT + section + "\n", "p.yaml")


def test_unquoted_times_read_as_yaml_sexagesimal_still_mean_hours_and_minutes() -> None:
    plant = loads_plant(PLANT + "shifts: {a: {start: 06:00, end: 14:30}}\n")
    assert plant.shifts is not None and (plant.shifts.shift("a").start, plant.shifts.shift("a").end) == (360, 870)


def test_the_simulation_reuses_the_plants_calendar_and_may_not_redeclare_it(tmp_path: Path) -> None:
    from twinverse.sim import load_network

    text = example_path("bottling.yaml").read_text()
    net = load_network(example_path("bottling.yaml"))
    assert [(c.id, c.period, c.off) for c in net.calendars] == [("shift", 28800.0, ((14400.0, 16200.0),))]
    assert net.grid_factor == 0.55  # the plant's grid (east, 2023)
    bad = tmp_path / "b.yaml"
    bad.write_text(text.replace("  defaults:\n", "  calendars: {shift: {period: 10, off: [[1, 2]]}}\n  defaults:\n"))
    with pytest.raises(ModelLoadError, match=r"b.yaml:\d+: simulation.calendars.shift: calendar 'shift' is the "
                                             "plant's shift calendar"):  # fmt: skip
        load_network(bad)


# -- KPIs over planned time ------------------------------------------------------------------
def test_a_break_is_not_planned_time_and_its_output_is_not_counted() -> None:
    """The hand timeline in a shift with a break 1200–1500 (the machine starved then)."""
    ts, code = timeline()
    planned = (np.array([T0, T0 + 1500 * S]), np.array([T0 + 1200 * S, T0 + 3600 * S]))
    good_ts = np.array([T0 - 50 * S, T0 + 1000 * S, T0 + 1300 * S, T0 + 3500 * S])
    good = np.array([1000.0, 12000.0, 12500.0, 20000.0])  # 500 made in the break
    p = production_from_series(STATES, ts, code, T0, T0 + 3600 * S, good=good, good_ts=good_ts, pru_s=0.1,
                               planned=planned, power_kw={"running": 10.0, "starved": 4.0})  # fmt: skip
    # POT 3300, off 600 → PBT 2700; running 2100; the starved time was the break: ADET 0
    assert (p.pot_s, p.pbt_s, p.apt_s, p.adet_s, p.adot_s, p.asut_s) == (3300, 2700, 2100, 0, 300, 300)
    assert p.gq == 11000 + 7500
    k = p.kpis()
    assert k["availability"] == pytest.approx(2100 / 2700)
    assert k["oee"] == pytest.approx(0.1 * 18500 / 2700)
    assert k["technical_efficiency"] == 1.0
    # energy counts the whole window, the break too: 2100 s × 10 kW + 300 s starved × 4 kW
    assert p.energy_kwh == pytest.approx((2100 * 10 + 300 * 4) / 3600)


# -- energy from signals ---------------------------------------------------------------------
def test_power_is_integrated_per_state() -> None:
    ts, code = timeline()
    pts = np.array([T0 - 10 * S, T0 + 600 * S, T0 + 900 * S, T0 + 3000 * S], np.int64)
    kw = np.array([12.0, 1.0, 12.0, 0.0])
    total, per = power_kwh_by_state(pts, kw, ts, code, T0, T0 + 3600 * S, len(STATES))
    assert total == pytest.approx((600 * 12 + 300 * 1 + 2100 * 12) / 3600)
    assert per[int(C["down"])] == pytest.approx(300 / 3600)
    assert per[int(C["starved"])] == pytest.approx(300 * 12 / 3600) and per[int(C["off"])] == 0


def test_a_meter_rolls_over_at_its_range_and_resets_without_one() -> None:
    ts = np.array([0, 10, 20, 30], np.int64) * S
    state_ts, code = np.array([0, 15 * S], np.int64), np.array([0.0, 4.0])
    total, per = meter_kwh_by_state(ts, np.array([99990.0, 99998.0, 3.0, 5.0]), state_ts, code, 7, rollover=100000)
    assert total == pytest.approx(8 + 5 + 2)
    assert per[0] == pytest.approx(8 + 5) and per[4] == pytest.approx(2)
    assert meter_kwh_by_state(ts, np.array([50.0, 60.0, 3.0, 5.0]), state_ts, code, 7)[0] == pytest.approx(10 + 3 + 2)


METERED = """
plant: p
types:
  machine:
    signals:
      state: {kind: state, states: [running, idle, starved, blocked, down, setup, off]}
      good_count: {kind: int, range: [0, 1.0e12]}
      power: {unit: W, range: [0, 1.0e6]}
      energy: {unit: kWh, range: [0, 1000]}
    properties: {rated_speed: 600}
    power: {running: 10, down: 1}
twins:
  - id: line
    type: line
    children: [{id: m, type: machine}]
energy:
  grid: jiangsu
  year: 2022
  instruments:
    - {name: green certificates 2026, kind: certificate, share: 0.4}
    - {name: gas-fired supply contract, share: 0.1, kg_per_kwh: 0.4}
"""


def test_store_energy_from_meter_and_power_compared_with_the_table_and_scope2_both_ways(tmp_path: Path) -> None:
    plant = loads_plant(METERED)
    store = DuckDBStore(tmp_path / "m.duckdb")
    engine = Engine(plant, store)
    idx, m = plant.signals, "p/line/m"

    def put(name: str, pairs: list[tuple[int, float]]) -> None:
        ts = np.array([T0 + t * S for t, _ in pairs], np.int64)
        engine.ingest(make_batch(ts, np.full(len(ts), idx.sid(m, name), np.int32), np.array([v for _, v in pairs])))

    put("state", [(-5, C["running"]), (1800, C["down"]), (2700, C["running"])])
    put("power", [(-5, 11000.0), (1800, 900.0), (2700, 11000.0)])  # watts
    put("energy", [(-5, 990.0), (1800, 995.5), (2700, 995.725), (3599, 8.475)])  # rolls over at 1000 kWh
    put("good_count", [(-5, 0.0), (3599, 27000.0)])
    report = KpiService(plant, store).report("p/line", DAY, DAY + timedelta(hours=1))
    mm = report["machines"][m]
    assert mm["energy_source"] == "meter" and mm["energy_kwh"] == pytest.approx(5.5 + 0.225 + 12.75)
    assert mm["energy_compare"] == pytest.approx({"power_table": (2700 * 10 + 900 * 1) / 3600,
                                                  "power": (2700 * 11 + 900 * 0.9) / 3600,
                                                  "meter": 18.475})  # fmt: skip
    assert mm["energy_by_state_kwh"]["down"] == pytest.approx(0.225)
    e = 18.475
    assert report["grid_factor"]["kg_per_kwh"] == 0.5978
    assert mm["co2e_kg"] == pytest.approx(e * 0.5978)
    assert mm["co2e_market_kg"] == pytest.approx(e * (0.4 * 0 + 0.1 * 0.4 + 0.5 * 0.5978))
    assert mm["co2e_market_kg_per_good_unit"] * 1000 == pytest.approx(mm["co2e_market_kg"] / 27)
    assert report["scope2"]["market_kg_per_kwh"] == pytest.approx(0.04 + 0.5 * 0.5978)
    engine.close()
    store.close()


def test_scope2_with_a_residual_factor_and_shares_above_one_rejected() -> None:
    f = GridFactor("east", 2023, 0.55, "MEE")
    s = scope2(100.0, f, (MarketInstrument("PPA", "contract", 0.5, 0.0),), residual_kg_per_kwh=0.6)
    assert (s["location_kg"], s["market_kg"]) == pytest.approx((55.0, 30.0))
    with pytest.raises(ModelLoadError, match=r"p.yaml:\d+: energy.instruments: the instruments' shares add up to 1.2"):
        loads_plant(PLANT + "energy: {instruments: [{name: a, share: 0.7}, {name: b, share: 0.5}]}\n", "p.yaml")


# -- shifts from the store -------------------------------------------------------------------
def test_current_and_previous_shift_from_the_store(tmp_path: Path) -> None:
    plant = loads_plant(PLANT + "shifts: {timezone: UTC, early: {start: '00:00', end: '01:00'}, "
                                "late: {start: '01:00', end: '02:00', breaks: [['01:20', '01:30']]}}\n")  # fmt: skip
    store = DuckDBStore(tmp_path / "s.duckdb")
    engine = Engine(plant, store)
    sid = plant.signals.sid("p/line/filler", "state")
    ts, code = timeline()
    engine.ingest(make_batch(ts, np.full(len(ts), sid, np.int32), code))  # hour one as the hand timeline
    engine.ingest(make_batch(np.array([T0 + 3600 * S]), np.array([sid], np.int32), np.array([C["running"]])))
    svc = KpiService(plant, store)
    now = DAY + timedelta(hours=1, minutes=40)
    cur = svc.shift_report("p/line/filler", "current", now=now)
    assert cur["shift"]["label"] == "2026-12-03 late" and cur["shift"]["complete"] is False
    late = cur["machines"]["p/line/filler"]
    assert (late["pot_s"], late["apt_s"]) == (30 * 60, 30 * 60)  # 01:00–01:40 less the 10-minute break
    prev = svc.shift_report("p/line/filler", "previous", now=now)["machines"]["p/line/filler"]
    assert prev["kpis"]["availability"] == pytest.approx(0.7) and prev["kpis"]["mtbf_s"] == 2700
    listed = svc.shifts("p/line", DAY, DAY + timedelta(hours=3), now=now)
    assert [x["shift"]["shift"] for x in listed] == ["early", "late"]
    assert svc.shift("2026-12-02/early").start == DAY - timedelta(days=1)
    assert svc.day_report("p/line", date(2026, 12, 3))["total"]["pot_s"] == 110 * 60
    engine.close()
    store.close()


# -- a simulation run -------------------------------------------------------------------------
def test_kpis_from_a_simulation_runs_state_times_agree_with_its_oee() -> None:
    """The simulator keeps no state timeline, only each station's time per state and counts: a
    timeline made of those times gives, through this module, the simulator's own OEE."""
    from twinverse.sim import RunConfig, load_network, run_scenario
    from twinverse.sim.states import STATE_NAMES

    net = load_network(example_path("bottling.yaml"))
    res = run_scenario(net, RunConfig(until=7200, warmup=600, reps=1, seed=2))
    rep = res.reps[0]
    span_us = int(rep.span * S)
    pru = {s.id: s.ideal_time or s.process_mean for s in net.stations}
    for st in rep.stations:
        durations = np.array([getattr(st, s) for s in STATE_NAMES]) * span_us
        starts = T0 + np.concatenate([[0], np.cumsum(durations)[:-1]]).astype(np.int64)
        p = production_from_series(STATE_NAMES, starts, np.arange(len(STATE_NAMES), dtype=float), T0, T0 + span_us,
                                   good=np.array([0.0, st.processed - st.bad]), reject=np.array([0.0, st.bad]),
                                   pru_s=pru[st.id])  # fmt: skip
        k = p.kpis()
        assert k["oee"] == pytest.approx(st.oee, rel=1e-6), st.id
        assert k["quality_ratio"] == pytest.approx(st.quality, rel=1e-9)
        assert (p.apt_s + p.adet_s) / p.pbt_s == pytest.approx(st.availability, rel=1e-6)
    out = res.to_dict()
    assert out["co2e_kg_per_good_unit"]["mean"] == pytest.approx(rep.co2e_kg / rep.exits)
    assert out["kwh_per_good_unit"]["mean"] * 1000 == pytest.approx(rep.energy_kwh / rep.exits * 1000)
    # market-based beside it: a quarter of the power under the plant's zero-carbon PPA
    assert out["market_factor_kg_per_kwh"] == pytest.approx(0.75 * 0.55)
    assert out["co2e_market_kg"]["mean"] == pytest.approx(rep.energy_kwh * 0.75 * 0.55)
    assert out["co2e_market_kg_per_good_unit"]["mean"] == pytest.approx(rep.energy_kwh * 0.4125 / rep.exits)


PLANT = """
plant: p
types:
  machine:
    signals:
      state: {kind: state, states: [running, idle, starved, blocked, down, setup, off]}
      good_count: {kind: int, range: [0, 1.0e12]}
    properties: {rated_speed: 600}
twins:
  - id: line
    type: line
    children: [{id: filler, type: machine}]
"""


def test_availability_never_exceeds_one_by_rounding() -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        ts = np.sort(T0 + rng.integers(-10 * S, 3600 * S, 300)).astype(np.int64)
        code = rng.choice([0.0, 1.0, 4.0, 6.0], 300)
        cut = np.sort(T0 + rng.integers(0, 3600 * S, 4)).astype(np.int64)
        p = production_from_series(STATES, ts, code, T0, T0 + 3600 * S, planned=(cut[::2], cut[1::2]), pru_s=0.1)
        a = p.kpis()["availability"]
        assert a is None or 0 <= a <= 1
        assert p.apt_s + p.adet_s + p.adot_s + p.asut_s == pytest.approx(p.pbt_s, abs=1e-6)
