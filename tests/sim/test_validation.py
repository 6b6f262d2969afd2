"""The simulator reproduces known analytic results.

Each figure is estimated over independent replications with fixed seeds; the test asserts
that the analytic value lies inside the 95 % confidence interval of the estimate and that
the interval is narrow enough for the test to mean something. Every replication also
passes the invariants of :func:`check` (Little's law exactly, conservation of parts,
state fractions summing to one).
"""

from __future__ import annotations

import math

import pytest

from twinverse.sim import RunConfig, simulate
from twinverse.sim.scenario import run_scenario

from .conftest import check, check_all, line, model, near


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c with offered load a = λ/μ (Erlang's C formula)."""
    head = sum(a**k / math.factorial(k) for k in range(c))
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (head + top)


def mmc(c: int, lam: float, mu: float = 1.0) -> str:
    return f"""
sources: {{arrivals: {{interarrival: {{dist: exponential, mean: {1 / lam}}}, to: q}}}}
buffers: {{q: {{capacity: inf}}}}
stations: {{s: {{from: q, servers: {c}, process: {{dist: exponential, mean: {1 / mu}}}, to: out}}}}
sinks: [out]
"""


def test_mm1_waiting_and_sojourn_times() -> None:
    """M/M/1 with λ = 0.8, μ = 1: Wq = 4, W = 5, and Lq = λ·Wq."""
    res = check_all(run_scenario(model(mmc(1, 0.8)), RunConfig(until=250_000, warmup=2_000, reps=8, seed=11)))
    assert near(res.lead_time, 5.0) and res.lead_time.half_width < 0.15
    wq = res.est(lambda r: r.lead_time - r.stations[0].running / r.throughput)  # W − 1/μ, μ from the run
    assert near(wq, 4.0, factor=1.5)
    assert near(res.est(lambda r: r.buffer("q").mean_level), 0.8 * 4.0)
    assert near(res.est(lambda r: r.stations[0].running), 0.8)


def test_mm2_erlang_c() -> None:
    """M/M/2 with λ = 1.6, μ = 1: P(wait) = 0.711111, Wq = 1.777778."""
    assert erlang_c(2, 1.6) == pytest.approx(0.711111, abs=1e-6)
    res = check_all(run_scenario(model(mmc(2, 1.6)), RunConfig(until=150_000, warmup=2_000, reps=8, seed=12)))
    p_wait = res.est(lambda r: r.buffer("q").wait_probability)
    assert near(p_wait, 0.711111) and p_wait.half_width < 0.01
    assert near(res.est(lambda r: r.lead_time - 1.0), 1.777778, factor=1.5)


@pytest.mark.parametrize(("c", "rho"), [(3, 0.8), (5, 0.7)])
def test_erlang_c_for_more_servers(c: int, rho: float) -> None:
    """M/M/c for other c: P(wait) by Erlang C, Wq = C / (cμ − λ)."""
    lam = c * rho
    res = check_all(run_scenario(model(mmc(c, lam)), RunConfig(until=60_000, warmup=1_000, reps=6, seed=13)))
    pw = erlang_c(c, lam)
    assert near(res.est(lambda r: r.buffer("q").wait_probability), pw, factor=1.5)
    assert near(res.est(lambda r: r.lead_time - 1.0), pw / (c - lam), factor=1.5)
    assert near(res.est(lambda r: r.stations[0].running), rho)


def test_jackson_tandem() -> None:
    """Three M/M/1 in tandem, λ = 0.8, μ = (1, 1.2, 1.5), unlimited buffers: W = 8.928571."""
    net = model("""
sources: {arrivals: {interarrival: {dist: exponential, mean: 1.25}, to: s1}}
buffers: {q2: {capacity: inf}, q3: {capacity: inf}}
stations:
  s1: {process: {dist: exponential, mean: 1}, to: q2}
  s2: {from: q2, process: {dist: exponential, mean: 0.833333333333}, to: q3}
  s3: {from: q3, process: {dist: exponential, mean: 0.666666666667}, to: out}
sinks: [out]
""")
    expected = 1 / (1 - 0.8) + 1 / (1.2 - 0.8) + 1 / (1.5 - 0.8)
    assert expected == pytest.approx(8.928571, abs=1e-6)
    res = check_all(run_scenario(net, RunConfig(until=200_000, warmup=2_000, reps=8, seed=14)))
    assert near(res.lead_time, expected) and res.lead_time.half_width < 0.25


@pytest.mark.parametrize("b", [0, 1, 5])
@pytest.mark.parametrize("method", ["engine", "fast"])
def test_two_machines_blocking_after_service(b: int, method: str) -> None:
    """Two exponential machines (μ = 1), saturated, B places between them: throughput (B+2)/(B+3)."""
    res = check_all(run_scenario(line([1, 1], [b]), RunConfig(parts=100_000, reps=6, seed=15, method=method)))
    assert near(res.throughput, (b + 2) / (b + 3)) and res.throughput.half_width < 0.004


@pytest.mark.parametrize("b", [1, 3])
def test_two_machines_blocking_before_service(b: int) -> None:
    """Blocking before service: the upstream machine starts only with a place reserved, (B+1)/(B+2)."""
    net = line([1, 1], [b], extra="blocking: before_service\n")
    res = check_all(run_scenario(net, RunConfig(parts=100_000, reps=6, seed=16)))
    assert near(res.throughput, (b + 1) / (b + 2)) and res.throughput.half_width < 0.004


@pytest.mark.parametrize(("caps", "expected"), [([0, 0], 0.564103), ([1, 1], 0.670466)])
def test_three_balanced_machines(caps: list[int], expected: float) -> None:
    """Three balanced exponential machines, BAS, saturated: 0.564103 without buffers, 0.670466 with one place each."""
    res = check_all(run_scenario(line([1, 1, 1], caps), RunConfig(parts=200_000, reps=10, seed=17)))
    assert near(res.throughput, expected) and res.throughput.half_width < 0.004


@pytest.mark.parametrize("basis", ["operation", "time"])
def test_unreliable_machine_isolated_efficiency(basis: str) -> None:
    """A saturated machine with failures runs at μ·MTBF/(MTBF + MTTR) (always busy, so both bases agree)."""
    net = model(f"""
sources: {{supply: {{saturated: true, to: m}}}}
stations:
  m:
    process: {{dist: exponential, mean: 1}}
    failures: [{{basis: {basis}, mtbf: 100, mttr: 10}}]
    to: out
sinks: [out]
""")
    res = check_all(run_scenario(net, RunConfig(until=200_000, reps=6, seed=18)))
    assert near(res.throughput, 100 / 110) and res.throughput.half_width < 0.01
    assert near(res.station("m", "down"), 10 / 110)


def test_time_based_failures_count_idle_time() -> None:
    """An underloaded station with time-based failures is down MTTR/(MTBF + MTTR) of the time."""
    net = model("""
sources: {arrivals: {interarrival: {dist: exponential, mean: 2}, to: m}}
stations:
  m:
    process: {dist: exponential, mean: 1}
    failures: [{basis: time, mtbf: 50, mttr: 5}]
    to: out
sinks: [out]
""")
    res = check_all(run_scenario(net, RunConfig(until=200_000, reps=6, seed=19)))
    assert near(res.station("m", "down"), 5 / 55)
    assert near(res.throughput, 0.5)  # stable: every arrival is served eventually


def test_operation_based_failures_scale_with_work() -> None:
    """Operation-based failures in an underloaded station: down = ρ·MTTR/MTBF of the time."""
    net = model("""
sources: {arrivals: {interarrival: {dist: exponential, mean: 2}, to: m}}
stations:
  m:
    process: {dist: exponential, mean: 1}
    failures: [{basis: operation, mtbf: 50, mttr: 5}]
    to: out
sinks: [out]
""")
    res = check_all(run_scenario(net, RunConfig(until=200_000, reps=6, seed=20)))
    assert near(res.station("m", "down"), 0.5 * 5 / 50)
    assert near(res.station("m", "running"), 0.5)


def test_line_with_unreliable_bottleneck_and_unlimited_buffer() -> None:
    """With an unlimited buffer the line runs at the slowest isolated efficiency (Buzacott)."""
    net = model("""
sources: {supply: {saturated: true, to: m1}}
buffers: {b: {capacity: inf}}
stations:
  m1: {process: {dist: exponential, mean: 0.8}, to: b}
  m2: {from: b, process: {dist: exponential, mean: 1}, failures: [{mtbf: 50, mttr: 5}], to: out}
sinks: [out]
""")
    res = check_all(run_scenario(net, RunConfig(until=100_000, warmup=1_000, reps=6, seed=21)))
    assert near(res.throughput, 1 / 1.1)


def test_littles_law_holds_statistically() -> None:
    """L = λW with λ the departure rate and W the mean lead time (no scrap here)."""
    r = check(simulate(line([1, 1.1, 0.9], [2, 3]), RunConfig(parts=200_000, warmup=100, seed=22)))
    assert r.wip == pytest.approx(r.throughput * r.lead_time, rel=0.01)
