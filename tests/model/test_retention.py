"""Retention in the plant YAML: per signal, per type, by class name; bad values are located errors."""

from __future__ import annotations

import numpy as np
import pytest

from twinverse.errors import ModelLoadError
from twinverse.model import loads_plant
from twinverse.model.types import Retention, parse_duration
from twinverse.store.retention import KEEP_ALL, RetentionPolicy

DAY = 86_400.0

PLANT = """plant: p
retention:
  telemetry: {raw: 30d, rollups: 2y}
  audit: {raw: forever}
types:
  machine:
    retention: telemetry
    signals:
      temperature: {unit: degC}
      vibration: {retention: {raw: 7d}}
      counter: {retention: audit}
  meter:
    signals:
      power: {unit: kW}
  fast_machine:
    extends: machine
    signals:
      speed: {}
twins:
  - {id: m1, type: machine}
  - {id: e1, type: meter}
  - {id: f1, type: fast_machine}
"""


def retention_of(text: str) -> dict[tuple[str, str], Retention | None]:
    plant = loads_plant(text)
    idx = plant.signals
    return {(str(idx.twin[i]).removeprefix("p/"), str(idx.name[i])): idx.signal[i].retention for i in range(len(idx))}  # type: ignore[misc]


def test_signal_type_and_class_resolve() -> None:
    got = retention_of(PLANT)
    assert got[("m1", "temperature")] == Retention(raw=30 * DAY, rollups=2 * 365 * DAY)
    assert got[("m1", "vibration")] == Retention(raw=7 * DAY)  # its own wins over the type's
    assert got[("m1", "counter")] == Retention(raw=0.0)  # forever
    assert got[("e1", "power")] is None  # the deployment's default
    assert got[("f1", "temperature")] == got[("m1", "temperature")]  # inherited with the type
    assert got[("f1", "speed")] is None  # a derived type's own signal: the base type's retention is not its


def test_the_policy_from_the_plant_and_the_defaults() -> None:
    plant = loads_plant(PLANT)
    policy = RetentionPolicy.from_plant(plant, raw_days=90, rollup_days=0)
    idx = plant.signals
    by_name = {(str(idx.twin[i]).removeprefix("p/"), str(idx.name[i])): i for i in range(len(idx))}
    raw = {k: policy.raw_s[i] / DAY for k, i in by_name.items()}
    assert raw[("m1", "temperature")] == 30 and raw[("m1", "vibration")] == 7 and raw[("m1", "counter")] == 0
    assert raw[("e1", "power")] == 90 and policy.rollup_s[by_name[("e1", "power")]] == 0
    now = 1_000 * 86_400_000_000
    cut, default = policy.cutoffs(False, now)
    assert cut[by_name[("m1", "counter")]] == KEEP_ALL and default == now - 90 * 86_400_000_000
    assert cut[by_name[("m1", "vibration")]] == now - 7 * 86_400_000_000
    assert not policy.keeps_everything and RetentionPolicy.uniform().keeps_everything
    assert np.array_equal(RetentionPolicy.uniform(1, 2).cutoffs(True, now)[0], np.zeros(0))


@pytest.mark.parametrize(
    ("yaml", "where", "words"),
    [
        ("retention: {x: {raw: 3x}}", "f.yaml:2: retention.x.raw", "a retention is a duration such as 30d"),
        ("retention: {x: {raw: 0d}}", "f.yaml:2: retention.x.raw", "must be longer than 0"),
        ("retention: {x: {raw: 30d, rollups: 1d}}", "f.yaml:2: retention.x", "at least as long as the raw rows"),
        ("retention: {x: {raw: 30d, keep: 1d}}", "f.yaml:2: retention.x.keep", "unknown field"),
        ("types:\n  m:\n    signals:\n      t: {retention: nope}", "f.yaml:5: types.m.signals.t.retention",
         "unknown retention class 'nope' (declared in 'retention': none)"),
        ("types:\n  m:\n    retention: {raw: 12}\n    signals:\n      t: {}", "f.yaml:4: types.m.retention.raw",
         "a retention is a duration"),
        ("types:\n  m:\n    signals:\n      t: {retention: {raw: -3d}}", "f.yaml:5: types.m.signals.t.retention.raw",
         "a retention is a duration"),
    ],
)  # fmt: skip
def test_bad_values_are_located(yaml: str, where: str, words: str) -> None:
    with pytest.raises(ModelLoadError) as exc:
        loads_plant(f"plant: p\n{yaml}\n", name="f.yaml")
    messages = [str(p) for p in exc.value.details]
    assert any(m.startswith(where + ":") and words in m for m in messages), messages


def test_durations() -> None:
    assert [parse_duration(v) for v in ("90s", "90min", "90m", "12h", "1.5d", "2w", "1y", "Forever")] == [
        90.0, 5400.0, 5400.0, 43200.0, 129600.0, 1209600.0, 31536000.0, 0.0]  # fmt: skip
