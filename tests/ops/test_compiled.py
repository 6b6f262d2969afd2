"""Compiled rules on known series: transitions at exactly the expected samples and times."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinverse.model import Plant, loads_plant
from twinverse.ops import CompiledRules

S = 1_000_000
T0 = 1_700_000_000 * S

PLANT = """
plant: p
types:
  m:
    signals:
      state: {kind: state, states: [running, idle, down, off]}
      temp: {unit: degC}
      level: {unit: m}
    alarms:
      temp_hi: {kind: hi, signal: temp, limit: 80, deadband: 2}
      temp_hihi: {kind: hihi, signal: temp, limit: 85}
      level_lo: {kind: lo, signal: level, limit: 10, deadband: 1}
      level_rate: {kind: rate, signal: level, limit: 2, deadband: 0.5}
      down_long: {kind: state, signal: state, state: down, for: 300}
      temp_stale: {kind: stale, signal: temp, for: 10}
twins:
  - {id: a, type: m}
"""


@pytest.fixture
def plant() -> Plant:
    return loads_plant(PLANT)


def compiled(plant: Plant, only: str, now: int = T0) -> tuple[CompiledRules, int]:
    rules = [r for r in plant.alarm_rules() if r[1] == only]
    return CompiledRules(plant, rules, now_us=now), plant.signals.sid("p/a", rules[0][2].signal)


def feed(c: CompiledRules, sid: int, values: list[float], times: list[int], now: int = T0) -> list[tuple[int, bool]]:
    """Transitions as (index of the sample, raised) — time given back as the sample index."""
    ts = np.array(times, dtype=np.int64)
    tr = c.evaluate(np.full(len(values), sid, np.int32), ts, np.array(values, dtype=np.float64), now)
    return [(int(np.searchsorted(ts, t)), bool(up)) for t, up in zip(tr.ts, tr.active, strict=True)]


SERIES = [70, 79, 81, 80, 79, 78.5, 78, 77, 82, 90, 60]


def test_hi_limit_with_deadband_raises_and_clears_at_the_expected_samples(plant: Plant) -> None:
    c, sid = compiled(plant, "temp_hi")
    times = [T0 + i * S for i in range(len(SERIES))]
    # raise above 80 (sample 2), hold in the deadband, clear at <= 78 (sample 6), raise at 82, clear at 60
    assert feed(c, sid, SERIES, times) == [(2, True), (6, False), (8, True), (10, False)]


@pytest.mark.parametrize("cut", [1, 3, 5, 7, 9])
def test_split_batches_carry_the_condition(plant: Plant, cut: int) -> None:
    c, sid = compiled(plant, "temp_hi")
    times = [T0 + i * S for i in range(len(SERIES))]
    first = feed(c, sid, SERIES[:cut], times[:cut])
    second = [(i + cut, up) for i, up in feed(c, sid, SERIES[cut:], times[cut:])]
    assert first + second == [(2, True), (6, False), (8, True), (10, False)]


def test_lo_limit_with_deadband(plant: Plant) -> None:
    c, sid = compiled(plant, "level_lo")
    assert feed(c, sid, [12, 9.9, 10.5, 11, 9], [T0 + i * S for i in range(5)]) == [
        (1, True), (3, False), (4, True)]  # fmt: skip


def test_two_rules_on_one_signal_each_keep_their_own_condition(plant: Plant) -> None:
    rules = [r for r in plant.alarm_rules() if r[1] in ("temp_hi", "temp_hihi")]
    c = CompiledRules(plant, rules, now_us=T0)
    sid = plant.signals.sid("p/a", "temp")
    values = [81, 86, 84, 70]
    ts = np.array([T0 + i * S for i in range(4)], dtype=np.int64)
    tr = c.evaluate(np.full(4, sid, np.int32), ts, np.array(values, float), T0)
    got = sorted((c.rules[r][1], int((t - T0) // S), bool(up)) for r, t, up in zip(tr.rule, tr.ts, tr.active,
                                                                                  strict=True))  # fmt: skip
    assert got == [("temp_hi", 0, True), ("temp_hi", 3, False), ("temp_hihi", 1, True), ("temp_hihi", 2, False)]


def test_rate_of_change(plant: Plant) -> None:
    c, sid = compiled(plant, "level_rate")
    # rates 1, 3, 1, 0.5 per second: above 2 at sample 2, at or below 1.5 again at sample 3
    assert feed(c, sid, [0, 1, 4, 5, 5.5], [T0 + i * S for i in range(5)]) == [(2, True), (3, False)]
    # across batches: the previous sample is remembered (5.5 → 9 in 1 s is 3.5/s)
    assert feed(c, sid, [9], [T0 + 5 * S]) == [(0, True)]


def test_state_for_n_seconds(plant: Plant) -> None:
    c, sid = compiled(plant, "down_long")
    down, running = 2.0, 0.0
    values = [running, down, down, down, running]
    times = [T0, T0 + 100 * S, T0 + 200 * S, T0 + 450 * S, T0 + 500 * S]
    ts = np.array(times, dtype=np.int64)
    tr = c.evaluate(np.full(5, sid, np.int32), ts, np.array(values), T0)
    # down since 100 s: due at 400 s (raised at that time, found at the 450 s sample); cleared at 500 s
    assert [((t - T0) // S, bool(u)) for t, u in zip(tr.ts, tr.active, strict=True)] == [(400, True), (500, False)]
    # down from 600 s to 1000 s with no sample in between: raised at 900 s and cleared at 1000 s
    tr = c.evaluate(np.full(2, sid, np.int32), np.array([T0 + 600 * S, T0 + 1000 * S]), np.array([down, running]), T0)
    assert [((t - T0) // S, bool(u)) for t, u in zip(tr.ts, tr.active, strict=True)] == [(900, True), (1000, False)]
    # down at 1100 s, no more data: the timer raises it at 1400 s, not before
    c.evaluate(np.array([sid], np.int32), np.array([T0 + 1100 * S]), np.array([down]), T0)
    assert len(c.tick(T0 + 1399 * S)) == 0
    tr = c.tick(T0 + 1500 * S)
    assert [((t - T0) // S, bool(u)) for t, u in zip(tr.ts, tr.active, strict=True)] == [(1400, True)]
    assert len(c.tick(T0 + 1600 * S)) == 0  # raised once


def test_staleness_counts_from_arrival(plant: Plant) -> None:
    c, sid = compiled(plant, "temp_stale", now=T0)
    assert len(c.tick(T0 + 9 * S)) == 0
    tr = c.tick(T0 + 10 * S)
    assert [(int(t - T0) // S, bool(u)) for t, u in zip(tr.ts, tr.active, strict=True)] == [(10, True)]
    # data arrives at 12 s (its own timestamp is old: replayed history is not stale)
    tr = c.evaluate(np.array([sid], np.int32), np.array([T0 - 3600 * S]), np.array([20.0]), T0 + 12 * S)
    assert [(int(t - T0) // S, bool(u)) for t, u in zip(tr.ts, tr.active, strict=True)] == [(12, False)]
    assert len(c.tick(T0 + 21 * S)) == 0
    assert [int(t - T0) // S for t in c.tick(T0 + 22 * S).ts] == [22]


def test_rows_of_signals_without_rules_cost_nothing_and_change_nothing(plant: Plant) -> None:
    c = CompiledRules(plant, plant.alarm_rules(), now_us=T0)
    other = plant.signals.sid("p/a", "level")
    lo_only = CompiledRules(plant, [r for r in plant.alarm_rules() if r[1] == "temp_hi"], now_us=T0)
    assert len(lo_only.evaluate(np.full(3, other, np.int32), np.arange(3) + T0, np.full(3, 99.0), T0)) == 0
    assert len(c) == 6


def _reference(values: list[float], limit: float, deadband: float, high: bool) -> list[tuple[int, bool]]:
    """A plain loop: the definition of a limit alarm with deadband, sample by sample."""
    active, out = False, []
    for i, v in enumerate(values):
        x, lim = (v, limit) if high else (-v, -limit)
        if x > lim and not active:
            active = True
            out.append((i, True))
        elif x <= lim - deadband and active:
            active = False
            out.append((i, False))
    return out


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=60),
    limit=st.floats(10, 90),
    deadband=st.floats(0, 20),
    high=st.booleans(),
    cuts=st.lists(st.integers(1, 59), max_size=4),
)
def test_vectorised_limits_match_the_sample_by_sample_definition(
    values: list[float], limit: float, deadband: float, high: bool, cuts: list[int]
) -> None:
    kind = "hi" if high else "lo"
    plant = loads_plant(f"plant: p\ntypes:\n  m:\n    signals:\n      x: {{unit: m}}\n    alarms:\n"
                        f"      r: {{kind: {kind}, signal: x, limit: {limit!r}, deadband: {deadband!r}}}\n"
                        "twins:\n  - {id: a, type: m}\n")  # fmt: skip
    c = CompiledRules(plant, plant.alarm_rules(), now_us=T0)
    times = [T0 + i * S for i in range(len(values))]
    got: list[tuple[int, bool]] = []
    bounds = [0, *sorted({k for k in cuts if k < len(values)}), len(values)]
    for a, b in itertools.pairwise(bounds):
        got += [(i + a, up) for i, up in feed(c, 0, values[a:b], times[a:b])]
    assert got == _reference(values, limit, deadband, high)


def _state_reference(samples: list[tuple[int, bool]], n: int) -> list[tuple[int, bool]]:
    """(time, raised) of a 'state for n' rule by its definition: a run of the state from its first
    sample to the next sample out of it raises at start + n if it lasted n (or a sample inside it
    came at or after start + n) and clears at its end."""
    out: list[tuple[int, bool]] = []
    start: int | None = None
    raised = False
    for t, ins in samples:
        if ins and start is None:
            start, raised = t, False
        if start is not None and not raised and t - start >= n:  # a sample in the run, or the one ending it
            out.append((start + n, True))
            raised = True
        if not ins and start is not None:
            if raised:
                out.append((t, False))
            start, raised = None, False
    return out


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(1, 400), st.booleans()), min_size=1, max_size=40),
    cuts=st.lists(st.integers(1, 39), max_size=4),
)
def test_vectorised_state_durations_match_their_definition(steps: list[tuple[int, bool]], cuts: list[int]) -> None:
    plant = loads_plant(PLANT)
    c, sid = compiled(plant, "down_long")  # down for 300 s
    t, samples = 0, []
    for gap, down in steps:
        t += gap
        samples.append((t, down))
    ts = [T0 + s * S for s, _ in samples]
    values = [2.0 if down else 0.0 for _, down in samples]
    got: list[tuple[int, bool]] = []
    bounds = [0, *sorted({k for k in cuts if k < len(samples)}), len(samples)]
    for a, b in itertools.pairwise(bounds):
        tr = c.evaluate(np.full(b - a, sid, np.int32), np.array(ts[a:b], dtype=np.int64), np.array(values[a:b]), T0)
        got += [(int((x - T0) // S), bool(u)) for x, u in zip(tr.ts, tr.active, strict=True)]
    assert got == _state_reference(samples, 300)
