"""The serial-line recursion against hand-computed departures, and against the event engine."""

from __future__ import annotations

import pytest

from twinverse.sim import RunConfig, simulate
from twinverse.sim.fastline import simulate_serial
from twinverse.sim.network import serial_line
from twinverse.sim.results import Replication

from .conftest import check, model

#: Saturated supply, m1 (1 time unit) hands over directly (no buffer) to m2 (2 units).
HANDOFF = model("""
sources: {supply: {saturated: true, to: m1}}
buffers: {b: {capacity: 0}}
stations:
  m1: {process: 1, to: b}
  m2: {from: b, process: 2, to: out}
sinks: [out]
""")


def handoff_known_answers(r: Replication) -> None:
    """Departures by hand: D1(n) = max(C1(n), D2(n-1)), D2(n) = max(D1(n), D2(n-1)) + 2.

    So D1 = 1, 3, 5, … and D2 = 3, 5, 7, …: part n enters at D1(n-1) = 2n-1 (part 0 at 0)
    and leaves at 2n+3. Until 100: parts 0…48 leave (49 exits); lead times 3, then 4.
    m1 processes 51 parts in [0, 100] (1 unit each) and is blocked 1 unit per part from
    part 1 to 49; m2 runs from 1 to 100.
    """
    assert r.exits == 49 and r.end == 100
    assert r.throughput == pytest.approx(0.49)
    assert r.lead_time == pytest.approx((3 + 48 * 4) / 49)
    assert r.lead_time_max == pytest.approx(4)
    m1, m2 = r.station("m1"), r.station("m2")
    assert (m1.running, m1.blocked, m1.starved) == pytest.approx((0.51, 0.49, 0.0))
    assert (m2.running, m2.blocked, m2.starved) == pytest.approx((0.99, 0.0, 0.01))


def test_departure_recursion_on_a_deterministic_hand_off() -> None:
    assert serial_line(HANDOFF) == ["m1", "m2"]
    r = simulate_serial(HANDOFF, RunConfig(until=100))
    assert r is not None and r.method == "fast"
    handoff_known_answers(check(r))


def test_the_event_engine_gives_the_same_known_answers() -> None:
    r = check(simulate(HANDOFF, RunConfig(until=100, method="engine")))
    assert r.method == "engine"
    handoff_known_answers(r)


def test_a_three_station_line_with_buffers_by_hand() -> None:
    """m1 = 1, m2 = 3 (the bottleneck), m3 = 1, buffers of 1: after the start m2 sets the pace.

    m2 starts parts at 1, 4, 7, …, so part n leaves m2 at 3n+4 and m3 at 3n+5; until 200,
    parts 0…65 leave (3·65+5 = 200). m2 runs from 1 to 200; m3 runs 1 unit per part.
    """
    net = model("""
sources: {supply: {saturated: true, to: m1}}
buffers: {b1: {capacity: 1}, b2: {capacity: 1}}
stations:
  m1: {process: 1, to: b1}
  m2: {from: b1, process: 3, to: b2}
  m3: {from: b2, process: 1, to: out}
sinks: [out]
""")
    for method in ("fast", "engine"):
        r = check(simulate(net, RunConfig(until=200, method=method)))
        assert r.method == method
        assert r.exits == 66 and r.throughput == pytest.approx(66 / 200)
        assert r.station("m2").running == pytest.approx(199 / 200)
        assert r.station("m3").running == pytest.approx(66 / 200)
        assert r.buffer("b2").max_level == 0  # m3 is always free when m2 finishes


@pytest.mark.parametrize("seed", [1, 2])
def test_fast_path_and_engine_agree_on_a_random_line_with_failures(seed: int) -> None:
    net = model("""
sources: {a: {interarrival: {dist: exponential, mean: 1.3}, to: m1}}
buffers: {b1: {capacity: 4}}
stations:
  m1: {process: {dist: exponential, mean: 1}, to: b1, failures: [{mtbf: 40, mttr: 3}]}
  m2: {from: b1, process: {dist: gamma, mean: 1.1, cv: 0.5}, to: out}
sinks: [out]
""")
    cfg = RunConfig(until=5_000, warmup=200, seed=seed)
    fast = check(simulate(net, RunConfig(**{**cfg.__dict__, "method": "fast"})))
    eng = check(simulate(net, cfg))
    assert (fast.method, eng.method) == ("fast", "engine")
    assert fast.exits == eng.exits
    for f in ("throughput", "wip", "lead_time", "lead_time_max"):
        assert getattr(fast, f) == pytest.approx(getattr(eng, f), rel=1e-9), f
    for s, t in zip(fast.stations, eng.stations, strict=True):
        for k in ("running", "blocked", "down", "idle", "starved", "processed"):
            assert getattr(s, k) == pytest.approx(getattr(t, k), rel=1e-9, abs=1e-12), (s.id, k)


def test_an_unbounded_queue_that_outgrows_the_rings_falls_back_to_the_engine() -> None:
    net = model("""
sources: {a: {interarrival: {dist: constant, mean: 1}, to: m}}
stations: {m: {process: 2, to: out}}
sinks: [out]
""")
    cfg = RunConfig(until=200_000, method="fast")
    assert simulate_serial(net, cfg) is None  # the queue passes 65,000 parts
    r = simulate(net, cfg)
    assert r.method == "engine" and r.exits == 99_999
