"""Expression rules: the safe language (located errors), and vectorised evaluation with last value carried forward."""

from __future__ import annotations

import numpy as np
import pytest

from twinverse.errors import ModelLoadError
from twinverse.model import loads_plant
from twinverse.model.expr import ExpressionError, parse_expression
from twinverse.ops import CompiledRules

S = 1_000_000
T0 = 1_700_000_000 * S

PLANT = """\
plant: p
types:
  m:
    signals:
      state: {kind: state, states: [running, idle, down, off]}
      temp: {unit: degC}
      speed: {unit: bottle/min}
    alarms:
      hot_slow: {kind: expr, expr: "temp > 70 and speed < 100", priority: high}
      odd: {kind: expr, expr: "state == 'running' and (abs(temp - 50) >= 20 or max(speed, temp) > 500)"}
twins:
  - {id: a, type: m}
  - {id: b, type: m}
  - id: c
    type: m
    alarms:
      hot_slow: {expr: "temp > 60 and speed < 100", on_delay: 5}
"""

SIGNALS = {"temp": None, "speed": None, "state": ("running", "idle", "down", "off")}


@pytest.mark.parametrize(("text", "column", "message"), [
    ("temp >", 7, "the expression ends too early"),
    ("temp > > 3", 8, "invalid syntax"),
    ("tmp > 3", 1, "unknown signal 'tmp' (signals: speed, state, temp)"),
    ("temp > 3 and __import__('os')", 14, "only abs, max, min may be called"),
    ("temp.real > 3", 1, "attribute access '.' is not allowed"),
    ("temp[0] > 3", 1, "indexing '[…]' is not allowed"),
    ("temp > 3 if speed else 1", 1, "'… if … else …' is not allowed"),
    ("temp & speed", 1, "'&' (use 'and') is not allowed"),
    ("state == 'runing'", 10, "state 'runing' is not one of 'state''s states (running, idle, down, off)"),
    ("temp == 'running'", 9, "a quoted state name only compares (== or !=) with a state signal"),
    ("'down' < state", 1, "a quoted state name only compares (== or !=) with a state signal"),
    ("abs(temp, speed) > 1", 1, "abs() takes exactly one expression"),
    ("max(temp, key=speed) > 1", 1, "max() takes one or more expressions, no keywords"),
    ("temp in speed", 1, "'in' is not allowed"),
    ("True and temp > 1", 1, "True is not a number"),
    ("", 1, "an expression is needed"),
    ("lambda: 1", 1, "lambda is not allowed"),
    ("1 > 0", 1, "an expression reads at least one signal"),
])  # fmt: skip
def test_bad_expressions_are_located(text: str, column: int, message: str) -> None:
    with pytest.raises(ExpressionError) as exc:
        parse_expression(text, SIGNALS)
    assert exc.value.column == column
    assert exc.value.message.startswith(message), exc.value.message


def test_names_in_order_of_first_use() -> None:
    pe = parse_expression("min(speed, temp) < 3 or not speed > -temp ** 2 % 7", SIGNALS)
    assert pe.names == ("speed", "temp")


def test_a_bad_expression_in_the_plant_file_is_a_located_error() -> None:
    bad = PLANT.replace('"temp > 60 and speed < 100"', '"temp > 60 and sped < 100"')
    with pytest.raises(ModelLoadError) as exc:
        loads_plant(bad, "plant.yaml")
    assert str(exc.value).splitlines() == [
        "plant.yaml:17: twins[2].alarms.hot_slow.expr: column 15: unknown signal 'sped' (signals: speed, state, temp)"
    ]


@pytest.mark.parametrize(("doc", "message"), [
    ("{kind: expr, signal: temp, expr: 'temp > 1'}", "'signal' does not apply to an 'expr' rule"),
    ("{kind: expr}", "an 'expr' rule needs 'expr'"),
    ("{kind: expr, expr: 'temp > 1', limit: 3}", "'limit', 'deadband', 'for' and 'state' do not apply"),
    ("{kind: hi, signal: temp, limit: 3, expr: 'temp > 1'}", "'expr' does not apply to a 'hi' rule"),
    ("{kind: hi, limit: 3}", "a 'hi' rule needs a 'signal'"),
])  # fmt: skip
def test_fields_of_an_expr_rule(doc: str, message: str) -> None:
    text = PLANT.split("twins:")[0] + f"      bad: {doc}\ntwins:\n  - {{id: a, type: m}}\n"
    with pytest.raises(ModelLoadError) as exc:
        loads_plant(text)
    assert message in str(exc.value)


def _rules(only: str) -> tuple[CompiledRules, dict[tuple[str, str], int]]:
    plant = loads_plant(PLANT)
    rules = [r for r in plant.alarm_rules() if r[1] == only]
    sids = {(t, s): plant.signals.sid(f"p/{t}", s) for t in "abc" for s in ("temp", "speed", "state")}
    return CompiledRules(plant, rules, now_us=T0), sids


def _batch(sids: dict[tuple[str, str], int], rows: list[tuple[str, str, float, float]]) -> tuple[np.ndarray, ...]:
    """Rows (twin, signal, seconds, value), sorted by (sid, ts) as the engine publishes them."""
    sid = np.array([sids[t, s] for t, s, _, _ in rows], np.int32)
    ts = np.array([T0 + int(x * S) for _, _, x, _ in rows], np.int64)
    v = np.array([v for *_, v in rows], np.float64)
    order = np.lexsort((ts, sid))
    return sid[order], ts[order], v[order]


def _changes(c: CompiledRules, tr: object) -> list[tuple[str, float, bool]]:
    out = [(c.rules[int(r)][0].removeprefix("p/"), (int(t) - T0) / S, bool(a))
           for r, t, a in zip(tr.rule, tr.ts, tr.active, strict=True)]  # type: ignore[attr-defined]  # fmt: skip
    return sorted(out, key=lambda x: (x[0], x[1]))


def test_last_value_carried_forward_over_several_signals_and_twins() -> None:
    c, sids = _rules("hot_slow")
    rows = [
        # a: temp 80 at 0 s but speed unknown until 2 s (false until then); speed 50 at 2 s: raised at 2 s;
        # temp 65 at 5 s: cleared; temp 75 and speed 150 at the same time 7 s: applied together, stays clear
        ("a", "temp", 0, 80), ("a", "speed", 2, 50), ("a", "temp", 5, 65), ("a", "temp", 7, 75), ("a", "speed", 7, 150),
        # b: speed first, temp later; raised at 3 s, cleared when speed rises at 9 s
        ("b", "speed", 1, 10), ("b", "temp", 3, 90), ("b", "speed", 9, 300),
        # c overrides the limit (60) and adds on_delay 5 s: true from 1 s, held at the 8 s sample: raised at 6 s
        ("c", "temp", 1, 65), ("c", "speed", 0, 20), ("c", "temp", 8, 66),
    ]  # fmt: skip
    tr = c.evaluate(*_batch(sids, rows), T0)
    assert _changes(c, tr) == [("a", 2, True), ("a", 5, False), ("b", 3, True), ("b", 9, False), ("c", 6, True)]
    # the next batch carries every signal's last value: a's speed is still 150, so temp alone does not raise
    tr = c.evaluate(*_batch(sids, [("a", "temp", 20, 99), ("a", "speed", 21, 99)]), T0)
    assert _changes(c, tr) == [("a", 21, True)]


def test_state_names_functions_and_arithmetic() -> None:
    c, sids = _rules("odd")
    rows = [("a", "state", 0, 0), ("a", "temp", 0, 50), ("a", "speed", 0, 10),  # running, |0| < 20, max 50
            ("a", "temp", 1, 71),   # |21| >= 20: raised
            ("a", "state", 2, 2),   # down: cleared
            ("a", "state", 3, 0), ("a", "temp", 3, 40), ("a", "speed", 4, 501)]  # max 501 > 500: at 4 s  # fmt: skip
    tr = c.evaluate(*_batch(sids, rows), T0)
    assert _changes(c, tr) == [("a", 1, True), ("a", 2, False), ("a", 4, True)]


def test_live_values_seed_the_carried_values() -> None:
    plant = loads_plant(PLANT)
    rules = [r for r in plant.alarm_rules() if r[1] == "hot_slow" and r[0] == "p/a"]
    live = np.full(len(plant.signals), np.nan)
    live[plant.signals.sid("p/a", "speed")] = 30.0
    c = CompiledRules(plant, rules, now_us=T0, value=live)
    sid = plant.signals.sid("p/a", "temp")
    tr = c.evaluate(np.array([sid], np.int32), np.array([T0], np.int64), np.array([90.0]), T0)
    assert [bool(a) for a in tr.active] == [True]


def test_many_twins_one_compiled_expression() -> None:
    n = 300
    text = PLANT.split("twins:")[0] + f"twins:\n  - {{id: m, type: m, count: {n}}}\n"
    plant = loads_plant(text)
    rules = [r for r in plant.alarm_rules() if r[1] == "hot_slow"]
    c = CompiledRules(plant, rules, now_us=T0)
    assert len(c.exprs) == 1 and c.exprs[0].sids.shape == (n, 2)
    rng = np.random.default_rng(7)
    temp = rng.uniform(0, 100, (n, 20))
    speed = rng.uniform(0, 200, (n, 20))
    sid_t = np.array([plant.signals.sid(f"p/m{i + 1}", "temp") for i in range(n)])
    sid_s = np.array([plant.signals.sid(f"p/m{i + 1}", "speed") for i in range(n)])
    sid = np.concatenate([np.repeat(sid_t, 20), np.repeat(sid_s, 20)]).astype(np.int32)
    ts = np.tile(T0 + np.arange(20, dtype=np.int64) * S, 2 * n)
    v = np.concatenate([temp.ravel(), speed.ravel()])
    order = np.lexsort((ts, sid))
    tr = c.evaluate(sid[order], ts[order], v[order], T0)
    # the reference: per twin, the condition at each second, changes against the previous second
    cond = (temp > 70) & (speed < 100)
    want = []
    for i in range(n):
        prev = False
        for k in range(20):
            if cond[i, k] != prev:
                want.append((i, k, bool(cond[i, k])))
                prev = bool(cond[i, k])
    got = sorted((int(r), int((t - T0) // S), bool(a)) for r, t, a in zip(tr.rule, tr.ts, tr.active, strict=True))
    assert got == sorted((c.rules.index(rules[i]), k, a) for i, k, a in want)
