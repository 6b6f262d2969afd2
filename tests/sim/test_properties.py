"""Invariants over generated models (Hypothesis): conservation of parts, state fractions,
utilisation ≤ 1, throughput monotone in buffer size, fast path = engine."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from twinverse.sim import RunConfig, simulate

from .conftest import check, model
from .test_engine import same

DISTS = {
    "exponential": "{{dist: exponential, mean: {m}}}",
    "uniform": "{{dist: uniform, low: {lo}, high: {hi}}}",
    "gamma": "{{dist: gamma, mean: {m}, shape: 3}}",
    "lognormal": "{{dist: lognormal, mean: {m}, cv: 0.5}}",
    "weibull": "{{dist: weibull, mean: {m}, shape: 1.5}}",
    "triangular": "{{dist: triangular, low: {lo}, mode: {m}, high: {hi}}}",
    "constant": "{{dist: constant, mean: {m}}}",
}


def dist(name: str, m: float) -> str:
    return DISTS[name].format(m=m, lo=round(m * 0.5, 4), hi=round(m * 1.5, 4))


stations = st.lists(st.tuples(st.floats(0.5, 1.5).map(lambda x: round(x, 3)), st.sampled_from(sorted(DISTS))),
                    min_size=2, max_size=4)


def serial(spec: list[tuple[float, str]], caps: list[int], failures: bool = False) -> str:
    lines = ["sources: {supply: {saturated: true, to: m0}}"]
    if len(spec) > 1:
        lines.append("buffers: {" + ", ".join(f"b{i + 1}: {{capacity: {c}}}" for i, c in enumerate(caps)) + "}")
    lines.append("stations:")
    for i, (m, d) in enumerate(spec):
        src = f"from: b{i}, " if i else ""
        dst = f"b{i + 1}" if i < len(spec) - 1 else "out"
        fail = ", failures: [{mtbf: 30, mttr: 3}]" if failures and i == 1 else ""
        lines.append(f"  m{i}: {{{src}process: {dist(d, m)}{fail}, to: {dst}}}")
    lines.append("sinks: [out]")
    return "\n".join(lines)


@settings(max_examples=25, deadline=None)
@given(spec=stations, caps=st.lists(st.integers(0, 4), min_size=3, max_size=3), seed=st.integers(0, 2**31),
       failures=st.booleans())
def test_fast_path_equals_engine(spec: list[tuple[float, str]], caps: list[int], seed: int, failures: bool) -> None:
    net = model(serial(spec, caps[: len(spec) - 1], failures))
    cfg = RunConfig(parts=1500, warmup=20, seed=seed)
    same(check(simulate(net, RunConfig(**{**cfg.__dict__, "method": "engine"}))),
         check(simulate(net, RunConfig(**{**cfg.__dict__, "method": "fast"}))),
         ties=any(d == "constant" for _, d in spec))


@settings(max_examples=40, deadline=None)
@given(spec=stations, caps=st.lists(st.integers(0, 4), min_size=3, max_size=3), which=st.integers(0, 2),
       more=st.integers(1, 3), seed=st.integers(0, 2**31))
def test_throughput_is_monotone_in_buffer_size(spec: list[tuple[float, str]], caps: list[int], which: int,
                                                more: int, seed: int) -> None:
    """With common random numbers, adding places never lowers throughput (a sample-path property)."""
    caps = caps[: len(spec) - 1]
    bigger = list(caps)
    bigger[which % len(caps)] += more
    cfg = RunConfig(parts=2000, seed=seed, method="fast")
    small = simulate(model(serial(spec, caps)), cfg)
    large = simulate(model(serial(spec, bigger)), cfg)
    assert large.throughput >= small.throughput * (1 - 1e-12)


@st.composite
def networks(draw: st.DrawFn) -> str:
    """A random open network: arrivals, 1–4 stations with queues, servers, scrap, rework, splits, failures."""
    n = draw(st.integers(1, 4))
    lam = draw(st.floats(0.2, 0.9))
    products = draw(st.sampled_from([["part"], ["a", "b"]]))
    lines = [f"products: [{', '.join(products)}]",
             f"sources: {{src: {{interarrival: {{dist: exponential, mean: {1 / lam:.4f}}}, to: q0}}}}",
             "buffers: {" + ", ".join(f"q{i}: {{capacity: inf}}" for i in range(n)) + "}", "stations:"]
    for i in range(n):
        servers = draw(st.integers(1, 3))
        mean = round(draw(st.floats(0.2, 0.9)) * servers, 3)
        scrap = draw(st.sampled_from([0, 0.05, 0.2]))
        rework = draw(st.sampled_from([0, 0.1, 0.3])) if i > 0 else 0
        nxt = [f"q{j}" for j in range(i + 1, n)] + ["out"]
        split = len(nxt) > 1 and draw(st.booleans())
        route = f"to: {{{nxt[0]}: 0.6, {nxt[-1]}: 0.4}}" if split else f"to: {nxt[0]}"
        extra = ""
        if rework:
            extra += f", rework: {{probability: {rework}, to: q{draw(st.integers(0, i))}}}"
        if draw(st.booleans()):
            basis = draw(st.sampled_from(["time", "operation"]))
            extra += f", failures: [{{basis: {basis}, mtbf: 40, mttr: 2}}]"
        if len(products) == 2 and draw(st.booleans()):
            extra += ", setup: {a: {b: 0.3}, b: {a: 0.2}}"
        proc = dist(draw(st.sampled_from(sorted(DISTS))), mean)
        lines.append(f"  s{i}: {{from: q{i}, servers: {servers}, process: {proc}, scrap: {scrap}{extra}, {route}}}")
    lines.append("sinks: [out]")
    if draw(st.booleans()):
        lines.append("calendars: {shift: {period: 50, off: [[40, 50]]}}")
        lines[4] = lines[4].replace("{from: q0,", "{from: q0, calendar: shift,")  # station s0
    return "\n".join(lines)


@settings(max_examples=40, deadline=None)
@given(text=networks(), seed=st.integers(0, 2**31), warm=st.sampled_from([0.0, 50.0]))
def test_invariants_on_random_networks(text: str, seed: int, warm: float) -> None:
    """Conservation of parts, Little's law, state fractions in [0, 1] summing to 1, utilisation ≤ 1."""
    r = check(simulate(model(text), RunConfig(until=400, warmup=warm, seed=seed)))
    for s in r.stations:
        assert s.running + s.setup <= 1 + 1e-9  # utilisation
        assert s.processed >= s.bad >= 0
    assert r.exits == sum(n for _, n in r.exits_by_product)
