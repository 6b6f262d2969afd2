"""On-delay and off-delay on known series: the alarm changes at exactly the expected times."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinverse.errors import ModelLoadError
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
    alarms:
      on5: {kind: hi, signal: temp, limit: 80, on_delay: 5}
      off10: {kind: hi, signal: temp, limit: 80, off_delay: 10}
      both: {kind: hi, signal: temp, limit: 80, on_delay: 5, off_delay: 10}
      down: {kind: state, signal: state, state: down, for: 60, off_delay: 30}
      stale: {kind: stale, signal: temp, for: 10, on_delay: 5}
twins:
  - {id: a, type: m}
"""


@pytest.fixture
def plant() -> Plant:
    return loads_plant(PLANT)


def compiled(plant: Plant, only: str) -> tuple[CompiledRules, int]:
    rules = [r for r in plant.alarm_rules() if r[1] == only]
    return CompiledRules(plant, rules, now_us=T0), plant.signals.sid("p/a", rules[0][2].signal)


def feed(c: CompiledRules, sid: int, series: list[tuple[float, float]], now: int = T0) -> list[tuple[float, bool]]:
    """(seconds, value) samples in; (seconds, raised) alarm changes out."""
    ts = np.array([T0 + int(t * S) for t, _ in series], dtype=np.int64)
    vs = np.array([v for _, v in series], dtype=np.float64)
    tr = c.evaluate(np.full(len(ts), sid, np.int32), ts, vs, now)
    return changes(tr)


def changes(tr: object) -> list[tuple[float, bool]]:
    order = np.argsort(tr.ts, kind="stable")  # type: ignore[attr-defined]
    return [((int(t) - T0) / S, bool(a)) for t, a in zip(tr.ts[order], tr.active[order], strict=True)]  # type: ignore[attr-defined]


SERIES = [(0, 81), (3, 79), (10, 85), (12, 86), (16, 90), (20, 70), (22, 85), (24, 70), (40, 71)]


def test_on_delay_raises_only_after_the_condition_held(plant: Plant) -> None:
    c, sid = compiled(plant, "on5")
    # 0-3 s above 80 is too short; above from 10 s, held 5 s at the 16 s sample: raised at 15 s;
    # no off-delay: cleared at 20 s; 22-24 s too short again
    assert feed(c, sid, SERIES) == [(15, True), (20, False)]


def test_off_delay_clears_only_after_the_condition_stayed_gone(plant: Plant) -> None:
    c, sid = compiled(plant, "off10")
    # raised at once (0 s); gone at 3 s but back at 10 s (7 s < 10): stays; gone at 20 s, back at 22 s:
    # stays; gone from 24 s, still gone at the 40 s sample: cleared at 34 s
    assert feed(c, sid, SERIES) == [(0, True), (34, False)]


def test_both_delays(plant: Plant) -> None:
    c, sid = compiled(plant, "both")
    # raised at 15 s; gone at 20 s (2 s), 24 s onwards (16 s at the last sample): cleared at 34 s
    assert feed(c, sid, SERIES) == [(15, True), (34, False)]


@pytest.mark.parametrize("cut", range(1, len(SERIES)))
def test_split_batches_give_the_same_changes(plant: Plant, cut: int) -> None:
    c, sid = compiled(plant, "both")
    assert feed(c, sid, SERIES[:cut]) + feed(c, sid, SERIES[cut:]) == [(15, True), (34, False)]


def test_the_timer_confirms_an_open_run(plant: Plant) -> None:
    c, sid = compiled(plant, "both")
    assert feed(c, sid, [(0, 90)]) == []
    assert changes(c.tick(T0 + 4 * S)) == []
    assert changes(c.tick(T0 + 5 * S)) == [(5, True)]
    assert changes(c.tick(T0 + 6 * S)) == []  # once
    assert feed(c, sid, [(7, 50)]) == []
    assert changes(c.tick(T0 + 16 * S)) == []
    assert changes(c.tick(T0 + 17 * S)) == [(17, False)]


def test_delays_on_state_and_stale_rules(plant: Plant) -> None:
    c, sid = compiled(plant, "down")
    down, running = 2.0, 0.0
    # down from 0 s: raw raise at 60 s; running at 100 s, down again at 120 s: the raw condition is back only at
    # 180 s (60 s down), 80 s > off_delay 30 after it went: cleared at 130 s, raised at 180 s; running from 200 s,
    # still at 260 s: cleared at 230 s. A 'for' of its own makes a state rule's raw condition come back late.
    got = feed(c, sid, [(0, down), (70, down), (100, running), (120, down), (200, running), (260, running)])
    assert got == [(60, True), (130, False), (180, True), (230, False)]
    c, sid = compiled(plant, "down")
    # raw: up 60, down 100, up 161, down 400 (its clear due at 430 s: the 410 s sample is too early)
    got = feed(c, sid, [(0, down), (100, running), (101, down), (400, running), (410, down)])
    assert got == [(60, True), (130, False), (161, True)]
    c, sid = compiled(plant, "stale")
    # no data: stale at 10 s (raw), alarm after on_delay 5 s, found by the timer at 15 s
    assert changes(c.tick(T0 + 12 * S)) == []
    assert changes(c.tick(T0 + 15 * S)) == [(15, True)]
    assert feed(c, sid, [(16, 20)], now=T0 + 16 * S) == [(16, False)]


def test_a_negative_delay_is_a_located_error() -> None:
    bad = PLANT.replace("on_delay: 5}", "on_delay: -5}", 1)
    with pytest.raises(ModelLoadError) as exc:
        loads_plant(bad)
    assert "types.m.alarms.on5.on_delay" in str(exc.value)


def _reference(samples: list[tuple[int, bool]], on: int, off: int) -> list[tuple[int, bool]]:
    """The definition, sample by sample: a run of the raw condition (from the sample that began it to the
    sample that ended it) changes the alarm at start + delay when the run lasted the delay, or when a
    sample inside it came at or after start + delay."""
    out: list[tuple[int, bool]] = []
    alarm = raw = False
    start = 0
    for t, cond in samples:
        if cond != raw:
            if raw != alarm and t - start >= (on if raw else off):  # the run that ends now had lasted
                alarm = raw
                out.append((start + (on if raw else off), alarm))
            raw, start = cond, t
        if raw != alarm and t - start >= (on if raw else off):
            alarm = raw
            out.append((start + (on if raw else off), alarm))
    return out


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(1, 20), st.booleans()), min_size=1, max_size=50),
    on=st.integers(0, 30),
    off=st.integers(0, 30),
    cuts=st.lists(st.integers(1, 49), max_size=4),
)
def test_vectorised_delays_match_the_sample_by_sample_definition(
    steps: list[tuple[int, bool]], on: int, off: int, cuts: list[int]
) -> None:
    plant = loads_plant("plant: p\ntypes:\n  m:\n    signals:\n      x: {unit: m}\n    alarms:\n"
                        f"      r: {{kind: hi, signal: x, limit: 0, on_delay: {on}, off_delay: {off}}}\n"
                        "twins:\n  - {id: a, type: m}\n")  # fmt: skip
    c = CompiledRules(plant, plant.alarm_rules(), now_us=T0)
    times = list(itertools.accumulate(d for d, _ in steps))
    series = [(float(t), 1.0 if up else -1.0) for t, (_, up) in zip(times, steps, strict=True)]
    got: list[tuple[float, bool]] = []
    bounds = [0, *sorted({k for k in cuts if k < len(series)}), len(series)]
    for a, b in itertools.pairwise(bounds):
        got += feed(c, 0, series[a:b])
    want = _reference([(t, up) for t, (_, up) in zip(times, steps, strict=True)], on, off)
    assert got == [(float(t), up) for t, up in want]
