"""Alarm rules in the plant YAML: inheritance, per-twin overrides, located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from twinverse.cli import main
from twinverse.errors import ModelLoadError
from twinverse.model import loads_plant
from twinverse.model.rules import AlarmPriority, RuleKind

GOOD = """\
plant: p
types:
  m:
    signals:
      state: {kind: state, states: [running, idle, down, off]}
      temp: {unit: degC}
    alarms:
      temp_hi: {kind: hi, signal: temp, limit: 80, deadband: 1, priority: high, suppress_in: [off]}
      down_long: {kind: state, signal: state, state: down, for: 300}
  m2:
    extends: m
    alarms:
      temp_hi: {limit: 70}
twins:
  - {id: a, type: m}
  - id: b
    type: m2
    count: 2
    alarms:
      down_long: {enabled: false}
      temp_stale: {kind: stale, signal: temp, for: 10}
"""


def test_rules_are_inherited_overridden_and_instantiated_per_twin() -> None:
    p = loads_plant(GOOD)
    rules = {(t, n): r for t, n, r in p.alarm_rules()}
    assert sorted(rules) == [("p/a", "down_long"), ("p/a", "temp_hi"), ("p/b1", "temp_hi"), ("p/b1", "temp_stale"),
                             ("p/b2", "temp_hi"), ("p/b2", "temp_stale")]  # fmt: skip
    a, b = rules[("p/a", "temp_hi")], rules[("p/b1", "temp_hi")]
    assert (a.kind, a.limit, a.deadband, a.priority, a.suppress_in) == (RuleKind.HI, 80, 1, AlarmPriority.HIGH,
                                                                        ("off",))  # fmt: skip
    # the override changes the limit and keeps every other field of the inherited rule
    assert (b.kind, b.limit, b.deadband, b.priority, b.suppress_in) == (RuleKind.HI, 70, 1, AlarmPriority.HIGH,
                                                                        ("off",))  # fmt: skip
    assert rules[("p/b2", "temp_stale")].seconds == 10


BAD = """\
plant: p
types:
  m:
    signals:
      state: {kind: state, states: [running, idle, down, off]}
      temp: {unit: degC}
    alarms:
      temp_hi: {kind: hi, signal: tmp, limit: 80}
      x: {kind: state, signal: state, state: broken, for: 3}
      y: {kind: hi, signal: temp}
      z: {kind: bogus, signal: temp}
      w: 3
      v: {kind: rate, signal: temp, limit: -1}
      u: {kind: stale, signal: temp, for: 5, limit: 3}
twins:
  - id: a
    type: m
    alarms:
      x: {for: 10}
      q: {kind: lo, signal: state, limit: 1, suppress_in: [nope]}
      temp_hi: {limit: 70}
"""


def test_every_rule_problem_is_located() -> None:
    with pytest.raises(ModelLoadError) as exc:
        loads_plant(BAD, "bad.yaml")
    assert str(exc.value).splitlines() == [
        "bad.yaml:8: types.m.alarms.temp_hi.signal: type 'm' has no signal 'tmp' (signals: state, temp)",
        "bad.yaml:9: types.m.alarms.x.state: state 'broken' is not one of 'state''s states "
        "(running, idle, down, off)",
        "bad.yaml:10: types.m.alarms.y: a 'hi' rule needs a 'limit'",
        "bad.yaml:11: types.m.alarms.z.kind: Input should be 'hihi', 'hi', 'lo', 'lolo', 'rate', 'state', 'stale' "
        "or 'expr'",
        "bad.yaml:12: types.m.alarms.w: an alarm rule must be a mapping, e.g. {kind: hi, signal: temperature, "
        "limit: 80}",
        "bad.yaml:13: types.m.alarms.v: the 'limit' of a rate rule is |change per second| and must be > 0",
        "bad.yaml:14: types.m.alarms.u: 'limit' and 'deadband' do not apply to a 'stale' rule",
        "bad.yaml:20: twins[0].alarms.q.kind: a 'lo' rule needs a float or int signal; 'state' is state",
        "bad.yaml:20: twins[0].alarms.q.suppress_in: 'nope' not in the type's states (running, idle, down, off)",
    ]


def test_validate_cli_reports_rule_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(BAD)
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(f)])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "bad.yaml:8: types.m.alarms.temp_hi.signal: type 'm' has no signal 'tmp'" in err
    assert "Traceback" not in err
