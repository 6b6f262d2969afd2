"""Engine features: routing, scrap and rework, assembly, setups, calendars, failures, energy,
deadlocks, starting states, and the fast path giving the engine's numbers."""

from __future__ import annotations

import math

import pytest

from twinverse.sim import DeadlockError, InitialState, RunConfig, simulate
from twinverse.sim import engine as engine_mod
from twinverse.sim.energy import CHINA_GRID_FACTOR
from twinverse.sim.errors import RunConfigError
from twinverse.sim.scenario import run_scenario

from .conftest import check, check_all, line, model, near


def same(a: object, b: object, *, ties: bool = False) -> None:
    """Two replications agree on every measured figure (to rounding).

    With ``ties`` (deterministic times, so simultaneous events) a part may enter a buffer
    and leave it at the same instant in one engine and pass straight through in the other:
    zero-time visits change the queued count and the maximum level, nothing else.
    """
    for f in ("exits", "throughput", "wip", "lead_time", "lead_time_max", "created", "wip_start", "wip_end", "end"):
        x, y = getattr(a, f), getattr(b, f)
        assert x == pytest.approx(y, rel=1e-9, abs=1e-9), f
    for s, t in zip(a.stations, b.stations, strict=True):  # type: ignore[attr-defined]
        for k in ("running", "blocked", "starved", "idle", "down", "processed"):
            assert getattr(s, k) == pytest.approx(getattr(t, k), rel=1e-9, abs=1e-9), (s.id, k)
    for p, q in zip(a.buffers, b.buffers, strict=True):  # type: ignore[attr-defined]
        assert (p.mean_level, p.entered) == pytest.approx((q.mean_level, q.entered), rel=1e-9, abs=1e-9)
        if not ties:
            assert (p.max_level, p.queued) == (q.max_level, q.queued)


@pytest.mark.parametrize("cfg", [RunConfig(parts=30_000, warmup=50, seed=3),
                                 RunConfig(until=20_000, warmup=500, seed=4)])
def test_fast_path_equals_engine_on_a_serial_line(cfg: RunConfig) -> None:
    net = line([1.0, 1.2, 0.9, 1.1], [2, 0, 5], extra="""
""")
    same(check(simulate(net, RunConfig(**{**cfg.__dict__, "method": "engine"}))),
         check(simulate(net, RunConfig(**{**cfg.__dict__, "method": "fast"}))))


def test_fast_path_equals_engine_with_failures_and_arrivals() -> None:
    net = model("""
sources: {a: {interarrival: {dist: exponential, mean: 1.1}, to: q}}
buffers: {q: {capacity: 4}, b: {capacity: 2}}
stations:
  m1: {from: q, process: {dist: gamma, mean: 1, shape: 2}, failures: [{mtbf: 40, mttr: 4}, {mtbf: 90, mttr: 12}], to: b}
  m2: {from: b, process: {dist: uniform, low: 0.5, high: 1.3}, to: out}
sinks: [out]
""")
    cfg = RunConfig(parts=20_000, warmup=100, seed=5)
    same(check(simulate(net, RunConfig(**{**cfg.__dict__, "method": "engine"}))),
         check(simulate(net, RunConfig(**{**cfg.__dict__, "method": "fast"}))))


def test_fused_completion_path_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    net = line([1.0, 1.1, 0.9], [1, 3])
    cfg = RunConfig(until=10_000, warmup=100, seed=6)
    fused = check(simulate(net, cfg))
    monkeypatch.setattr(engine_mod, "FUSED_PATH", False)
    same(fused, check(simulate(net, cfg)))


def test_fast_method_refuses_other_models() -> None:
    net = model(mm := """
sources: {a: {interarrival: 1.0, to: s}}
stations: {s: {servers: 2, process: {dist: exponential, mean: 1}, to: out}}
sinks: [out]
""")
    assert mm
    with pytest.raises(RunConfigError, match="serial lines only"):
        simulate(net, RunConfig(parts=100, method="fast"))
    assert simulate(net, RunConfig(parts=100, method="auto")).method == "engine"


def test_loss_system_mm1k() -> None:
    """M/M/1/K with arrivals lost when full: P(loss) = ρ^K (1−ρ) / (1−ρ^(K+1)), K = 3."""
    net = model("""
sources: {a: {interarrival: {dist: exponential, mean: 1.25}, to: q, when_full: lose}}
buffers: {q: {capacity: 2}}
stations: {s: {from: q, process: {dist: exponential, mean: 1}, to: out}}
sinks: [out]
""")
    res = check_all(run_scenario(net, RunConfig(until=100_000, warmup=100, reps=6, seed=7)))
    rho, k = 0.8, 3
    assert near(res.est(lambda r: r.lost / r.created), rho**k * (1 - rho) / (1 - rho ** (k + 1)))


def test_probabilistic_split() -> None:
    net = model("""
sources: {a: {interarrival: {dist: exponential, mean: 1}, to: s}}
stations: {s: {process: {dist: exponential, mean: 0.5}, to: {left: 0.3, right: 0.7}}}
sinks: [left, right]
""")
    r = check(simulate(net, RunConfig(until=50_000, seed=8)))
    by = dict(r.exits_by_sink)
    assert by["left"] / r.exits == pytest.approx(0.3, abs=0.01)


def test_routing_by_product_and_product_mix() -> None:
    net = model("""
products: [small, large]
sources: {a: {interarrival: {dist: exponential, mean: 1}, to: s, mix: {small: 0.25, large: 0.75}}}
stations: {s: {process: {small: 0.2, large: 0.4}, route: {by_product: {small: out_s, large: out_l}}}}
sinks: [out_s, out_l]
""")
    r = check(simulate(net, RunConfig(until=40_000, seed=9)))
    by, prod = dict(r.exits_by_sink), dict(r.exits_by_product)
    assert by["out_s"] == prod["small"] and by["out_l"] == prod["large"]
    assert prod["small"] / r.exits == pytest.approx(0.25, abs=0.01)
    # busy = λ·E[S] = 0.25·0.2 + 0.75·0.4
    assert r.station("s").running == pytest.approx(0.35, abs=0.01)


def test_shortest_queue_balances_parallel_stations() -> None:
    def net(route: str) -> object:
        return model(f"""
sources: {{a: {{interarrival: {{dist: exponential, mean: 0.55}}, to: d}}}}
buffers: {{q1: {{capacity: inf}}, q2: {{capacity: inf}}}}
stations:
  d: {{process: {{dist: constant, mean: 0.001}}, {route}}}
  p1: {{from: q1, process: {{dist: exponential, mean: 1}}, to: out}}
  p2: {{from: q2, process: {{dist: exponential, mean: 1}}, to: out}}
sinks: [out]
""")
    jsq = check(simulate(net("route: {shortest_queue: [q1, q2]}"), RunConfig(until=50_000, seed=10)))
    rnd = check(simulate(net("to: {q1: 0.5, q2: 0.5}"), RunConfig(until=50_000, seed=10)))
    # both work (ties go to the first queue, so p1 a little more), and together carry the load
    assert jsq.station("p1").running + jsq.station("p2").running == pytest.approx(2 * 0.909, abs=0.02)
    assert abs(jsq.station("p1").running - jsq.station("p2").running) < 0.06
    assert jsq.lead_time < 0.6 * rnd.lead_time  # joining the shorter queue beats a coin toss


def test_scrap_and_rework() -> None:
    """Rework p back into the queue: the station sees λ/(1−p); scrap q: λ(1−q) leaves as good parts."""
    net = model("""
sources: {a: {interarrival: {dist: exponential, mean: 2}, to: q}}
buffers: {q: {capacity: inf}}
stations: {s: {from: q, process: {dist: exponential, mean: 1}, scrap: 0.1, rework: {probability: 0.2, to: q}, to: out}}
sinks: [out]
""")
    res = check_all(run_scenario(net, RunConfig(until=100_000, warmup=500, reps=5, seed=11)))
    # every pass: scrap 0.1, rework 0.2, good 0.7 → visits 1/(1−0.2); good share 0.7/0.8
    assert near(res.station("s", "running"), 0.5 / 0.8)
    assert near(res.throughput, 0.5 * 0.7 / 0.8)
    assert near(res.est(lambda r: r.scrapped / r.created), 0.1 / 0.8, factor=1.5)
    assert near(res.station("s", "quality"), 0.7)


def test_assembly_takes_parts_from_each_input() -> None:
    net = model("""
sources:
  bodies: {interarrival: {dist: exponential, mean: 2}, to: qa}
  screws: {interarrival: {dist: exponential, mean: 0.8}, to: qb}
buffers: {qa: {capacity: inf}, qb: {capacity: 20}}
stations:
  asm: {inputs: {qa: 1, qb: 2}, process: {dist: exponential, mean: 1}, to: out}
sinks: [out]
""")
    r = check(simulate(net, RunConfig(until=50_000, warmup=500, seed=12)))
    assert r.consumed == pytest.approx(2 * r.exits, abs=4)  # two screws per body assembled
    assert r.throughput == pytest.approx(0.5, rel=0.03)  # bodies are the scarce input


def test_setup_times_between_products() -> None:
    """Constant process time 1, setup 1 on every change, random 50/50 mix: cycle 1.5."""
    net = model("""
products: [a, b]
sources: {s: {saturated: true, to: m, mix: {a: 0.5, b: 0.5}}}
stations: {m: {process: {dist: constant, mean: 1}, setup: {a: {b: 1}, b: {a: 1}}, to: out}}
sinks: [out]
""")
    r = check(simulate(net, RunConfig(parts=40_000, seed=13)))
    assert r.throughput == pytest.approx(1 / 1.5, rel=0.01)
    assert r.station("m").setup == pytest.approx(1 / 3, abs=0.01)
    assert r.station("m").availability == pytest.approx(2 / 3, abs=0.01)


def test_calendar_breaks() -> None:
    """Off 2 of every 10 time units: the station is off 20 % of the time and works 80 %."""
    net = model("""
calendars: {shift: {period: 10, off: [[8, 10]]}}
sources: {s: {saturated: true, to: m}}
stations: {m: {process: {dist: constant, mean: 0.5}, calendar: shift, to: out}}
sinks: [out]
""")
    r = check(simulate(net, RunConfig(until=1000, seed=14)))
    assert r.station("m").off == pytest.approx(0.2, abs=1e-9)
    assert r.exits == 1600  # 8 time units of work per period at 2 parts per unit
    # the same run started half-way through a break: the first period loses 1 unit less
    r2 = check(simulate(net, RunConfig(until=1000, seed=14, start_offset=9)))
    assert r2.station("m").off == pytest.approx(0.2, abs=1e-9) and r2.exits == 1600


def test_energy_and_co2e() -> None:
    net = model("""
time_unit: s
sources: {s: {saturated: true, to: m}}
stations: {m: {process: {dist: constant, mean: 1}, power: {busy: 10, idle: 2}, to: out}}
sinks: [out]
""")
    r = check(simulate(net, RunConfig(until=3600, seed=15)))
    assert r.energy_kwh == pytest.approx(10.0)  # an hour busy at 10 kW
    assert r.co2e_kg == pytest.approx(10.0 * CHINA_GRID_FACTOR)
    net2 = model("""
time_unit: h
grid_factor: 0.25
sources: {a: {interarrival: {dist: constant, mean: 2}, to: m}}
stations: {m: {process: {dist: constant, mean: 1}, power: {busy: 10, idle: 2}, to: out}}
sinks: [out]
""")
    r2 = check(simulate(net2, RunConfig(until=1000, seed=15)))
    # arrivals at 2, 4, …, 1000 each take 1 h: 499 h busy (the last ends after the horizon), 501 idle
    assert r2.energy_kwh == pytest.approx(499 * 10 + 501 * 2)
    assert r2.co2e_kg == pytest.approx(r2.energy_kwh * 0.25)


def test_bottleneck_is_the_slow_station() -> None:
    r = check(simulate(line([0.8, 1.2, 0.8], [2, 2]), RunConfig(parts=20_000, seed=16)))
    assert r.bottleneck == "m2"
    shares = {s.id: s.bottleneck_sole + s.bottleneck_shifting for s in r.stations}
    assert shares["m2"] == max(shares.values()) and r.bottleneck_share == pytest.approx(shares["m2"])


def test_deadlock_names_the_cycle_and_stops() -> None:
    """A rework loop with finite buffers locks up; the run stops and says where."""
    net = model("""
sources: {s: {saturated: true, to: m1}}
buffers: {b1: {capacity: 1}}
stations:
  m1: {process: {dist: exponential, mean: 1}, to: b1}
  m2: {from: b1, process: {dist: exponential, mean: 1}, rework: {probability: 0.6, to: m1}, to: out}
sinks: [out]
""")
    with pytest.raises(DeadlockError) as info:
        simulate(net, RunConfig(parts=1_000_000, seed=17))
    err = info.value
    assert set(err.cycle) == {"b1", "m2", "m1.in", "m1"}
    assert "deadlock at t=" in str(err) and "→" in str(err) and err.time > 0
    assert err.status == 422


def test_starting_state_levels_repairs_and_busy_servers() -> None:
    net = model("""
sources: {a: {interarrival: {dist: exponential, mean: 1000}, to: q}}
buffers: {q: {capacity: 10}}
stations:
  m: {from: q, process: {dist: constant, mean: 1}, failures: [{mtbf: 1.0e9, ttr: {dist: constant, mean: 10}}], to: out}
sinks: [out]
""")
    init = InitialState(levels={"q": 5}, down={"m": 4.0}, busy={})
    r = check(simulate(net, RunConfig(until=30, seed=18), initial=init))
    m = r.station("m")
    assert m.down == pytest.approx(6 / 30)  # 10 − 4 still to repair
    assert r.exits == 5 and r.wip_start == 5  # the five waiting parts, after the repair
    r2 = check(simulate(net, RunConfig(until=30, seed=18), initial=InitialState(busy={"m": 1})))
    assert r2.exits == 1 and r2.station("m").running == pytest.approx(1 / 30)


def test_progress_reports_rise_to_one() -> None:
    seen: list[float] = []
    simulate(line([1, 1], [2]), RunConfig(parts=3_000_000, seed=19), progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen) and len(seen) >= 2


@pytest.mark.parametrize(("kwargs", "msg"), [
    ({}, "give a stop time"),
    ({"until": -1}, "until must be"),
    ({"parts": 0}, "parts must be"),
    ({"until": 10, "warmup": 20}, "warmup"),
    ({"parts": 10, "reps": 0}, "reps"),
    ({"parts": 10, "method": "quick"}, "method"),
])
def test_bad_run_options(kwargs: dict[str, object], msg: str) -> None:
    with pytest.raises(RunConfigError, match=msg):
        RunConfig(**kwargs)  # type: ignore[arg-type]


def test_no_more_events_ends_the_run() -> None:
    """A source with a part limit: once it is spent the rest of the horizon passes idle."""
    net = model("""
sources: {a: {interarrival: {dist: constant, mean: 1}, to: m, limit: 10}}
stations: {m: {process: {dist: constant, mean: 0.5}, to: out}}
sinks: [out]
""")
    r = check(simulate(net, RunConfig(until=100, seed=20)))
    assert r.exits == 10 and r.end == 100 and not math.isnan(r.throughput)
