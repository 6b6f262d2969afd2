"""Helpers for the simulation tests: models from YAML text, and invariants every run obeys."""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy.stats import t

from twinverse.sim import Network, loads_network
from twinverse.sim.results import Estimate, Replication, ScenarioResult
from twinverse.sim.states import STATE_NAMES


def model(text: str) -> Network:
    """A network from the body of a ``simulation:`` section (indented two spaces)."""
    body = "\n".join("  " + line if line.strip() else line for line in text.strip("\n").splitlines())
    return loads_network("simulation:\n" + body, name="test.yaml")


def line(means: Sequence[float], caps: Sequence[float], *, dist: str = "exponential", extra: str = "") -> Network:
    """A saturated serial line: stations m1…mN, buffers b1…b(N-1) of the given capacities."""
    n = len(means)
    assert len(caps) == n - 1
    bufs = ", ".join(f"b{i + 1}: {{capacity: {'inf' if c == math.inf else int(c)}}}" for i, c in enumerate(caps))
    st = []
    for i, m in enumerate(means):
        src = f"from: b{i}, " if i else ""
        dst = f"b{i + 1}" if i < n - 1 else "out"
        st.append(f"  m{i + 1}: {{{src}process: {{dist: {dist}, mean: {m}}}, to: {dst}}}")
    text = ("sources: {supply: {saturated: true, to: m1}}\n"
            + (f"buffers: {{{bufs}}}\n" if bufs else "")
            + "stations:\n" + "\n".join(st) + "\nsinks: [out]\n" + extra)
    return model(text)


def check(r: Replication) -> Replication:
    """Invariants of every replication: Little's law (exactly), conservation, state fractions."""
    # Little's law, L = λW over the observed window, as an identity between two books.
    assert r.little_gap < 1e-9, r.little_gap
    # Parts are conserved: in + created = out + scrapped + consumed + lost + left inside.
    assert r.wip_start + r.created == r.exits + r.scrapped + r.consumed + r.lost + r.wip_end
    for s in r.stations:
        fr = s.fractions()
        assert set(fr) == set(STATE_NAMES)
        assert all(-1e-12 <= v <= 1 + 1e-12 for v in fr.values()), fr
        assert math.isclose(sum(fr.values()), 1.0, abs_tol=1e-9), fr
        assert 0.0 <= s.availability <= 1.0 + 1e-12
    for b in r.buffers:
        assert b.mean_level >= 0 and b.queued <= b.entered
    return r


def check_all(res: ScenarioResult) -> ScenarioResult:
    for r in res.reps:
        check(r)
    return res


def near(est: Estimate, value: float, *, factor: float = 1.0) -> bool:
    """``value`` lies in the estimate's 99 % confidence interval (Student t; widened by ``factor``).

    The estimates carry 95 % half-widths; tests use 99 % so that a fixed seed is not
    tuned to pass: one test in a hundred would otherwise fail on honest noise.
    """
    assert est.half_width is not None and est.n > 1
    hw99 = est.half_width * float(t.ppf(0.995, est.n - 1) / t.ppf(0.975, est.n - 1))
    return abs(est.mean - value) <= factor * hw99
