"""Anomaly detectors: declared in the plant YAML, scores as signals, alarms on the scores."""

from __future__ import annotations

from collections.abc import Iterator
from math import erf, sqrt
from pathlib import Path

import numpy as np
import pytest

from twinverse import plugins
from twinverse.core import make_batch
from twinverse.errors import ModelLoadError
from twinverse.live import Engine
from twinverse.model import Plant, loads_plant
from twinverse.ops import AlarmService, AlarmState, Journal
from twinverse.ops.anomaly import AnomalyService, Detector, DetectorKind, detector_kind, load_detector_specs
from twinverse.store import DuckDBStore
from twinverse.store.base import HistoryQuery

S = 1_000_000
T0 = 1_700_000_000 * S

PLANT = """
plant: p
types:
  m:
    signals:
      temperature: {unit: degC}
      speed: {unit: bottle/min}
      state: {kind: state, states: [running, down]}
    anomaly:
      temperature: {detector: gaussian, window: 200, step: 10, warmup: 100}
    alarms:
      hot_anomaly: {kind: hi, signal: temperature_anomaly, limit: 0.9999, deadband: 0.4}
  m_ctx:
    extends: m
    anomaly:
      speed: {warmup: 100}
twins:
  - {id: m1, type: m}
  - {id: m2, type: m, anomaly: {temperature: {window: 300}}}
  - {id: m3, type: m, anomaly: {temperature: {enabled: false}}}
  - {id: c1, type: m_ctx}
"""


@pytest.fixture
def plant() -> Plant:
    return loads_plant(PLANT)


def test_a_detector_adds_its_score_signal_and_twins_override_it(plant: Plant) -> None:
    assert plant.signals.get("p/m1", "temperature_anomaly") is not None
    sig = plant.signal("p/m1", "temperature_anomaly")
    assert (sig.kind.value, sig.range) == ("float", (0.0, 1.0))
    got = {(t, s.signal): (s.detector, dict(s.params)) for t, s in plant.anomaly_detectors()}
    assert got == {
        ("p/m1", "temperature"): ("gaussian", {"window": 200, "step": 10, "warmup": 100}),
        ("p/m2", "temperature"): ("gaussian", {"window": 300, "step": 10, "warmup": 100}),
        ("p/c1", "speed"): ("context", {"warmup": 100}),  # the default detector
        ("p/c1", "temperature"): ("gaussian", {"window": 200, "step": 10, "warmup": 100}),  # inherited
    }
    specs = load_detector_specs(plant)
    assert [(s.twin, s.signal, type(s.params).__name__) for s in specs][:2] == [
        ("p/m1", "temperature", "GaussianParams"), ("p/m2", "temperature", "GaussianParams")]  # fmt: skip
    assert specs[1].params.window == 300  # type: ignore[attr-defined]


def _problems(text: str, *, params: bool = False) -> list[str]:
    with pytest.raises(ModelLoadError) as exc:
        p = loads_plant(text)
        if params:
            load_detector_specs(p)
    return str(exc.value).splitlines()


BAD = """plant: p
types:
  m:
    signals:
      t: {}
      st: {kind: state, states: [a, b]}
      t_anomaly: {}
    anomaly:
      st: {}
      t: {detector: nope}
      x: {}
  n:
    signals: {t: {}}
    anomaly:
      t: {detector: gaussian, window: 1, colour: red}
twins:
  - {id: m1, type: m, anomaly: {t: {}}}
  - {id: n1, type: n, anomaly: {q: {}}}
"""


def test_mistakes_are_located() -> None:
    assert _problems(BAD) == [
        "<string>:9: types.m.anomaly.st: an anomaly detector needs a float or int signal; 'st' is state",
        "<string>:10: types.m.anomaly.t.detector: unknown detector 'nope' (detectors: context, gaussian)",
        "<string>:11: types.m.anomaly.x: no signal 'x' to watch (signals: st, t, t_anomaly)",
        "<string>:17: twins[0].anomaly.t: no detector on 't' in the twin's type to override; declare it on the "
        "type (it adds the score signal there)",
        "<string>:18: twins[1].anomaly.q: no detector on 'q' in the twin's type to override; declare it on the "
        "type (it adds the score signal there)",
    ]
    clash = "plant: p\ntypes:\n  m:\n    signals: {t: {}, t_anomaly: {}}\n    anomaly: {t: {}}\ntwins: []\n"
    assert _problems(clash) == ["<string>:5: types.m.anomaly.t: the score signal 't_anomaly' would replace a "
                                "signal of that name; name another with 'score:'"]  # fmt: skip
    params = (
        BAD.split("twins:")[0].replace(
            "      st: {}\n      t: {detector: nope}\n      x: {}\n", "      t: {score: t_score}\n"
        )
        + "twins:\n  - {id: n1, type: n}\n"
    )
    assert _problems(params, params=True) == [
        "<string>:13: types.n.anomaly.t.window: Input should be greater than or equal to 2",
        "<string>:13: types.n.anomaly.t.colour: unknown parameter 'colour' of detector 'gaussian'",
    ]


def test_detectors_are_plugins_of_one_protocol() -> None:
    found = plugins.available(plugins.DETECTORS)
    assert {"gaussian", "context"} <= set(found) and found["gaussian"].origin == "twinverse"
    for name in ("gaussian", "context"):
        kind = detector_kind(name)
        assert isinstance(kind, DetectorKind) and kind.name == name
        assert isinstance(kind.create(kind.params(), 3), Detector)


def test_windowed_gaussian_known_answers() -> None:
    kind = detector_kind("gaussian")
    det = kind.create(kind.params(window=4, step=2), 2)
    x = np.array([1.0, 3.0, 1.0, 3.0, 2.0, 2.0, 100.0])
    # slot 0 gets x, slot 1 a constant: its std is 0 (1e-6 in use), any change scores 1.
    slot = np.array([0] * 7 + [1] * 3, np.intp)
    vals = np.concatenate([x, [5.0, 5.0, 6.0]])
    got = det.update(slot, vals, np.arange(10, dtype=np.int64))

    def one(v: float, data: list[float]) -> float:  # 1 - Q(|z|) = 0.5 + 0.5 erf(|z| / sqrt 2)
        m, sd = float(np.mean(data)), float(np.std(data))
        return 0.5 + 0.5 * erf(abs(v - m) / sd / sqrt(2))

    # the first value scores 0; the second sees a window [1] of std 0 (1e-6 in use): 1. The
    # window fills to [1, 3, 1, 3], then slides by 2 after two more values: [1, 3, 2, 2].
    want = [0.0, 1.0, one(1, [1, 3]), one(3, [1, 3, 1]), one(2, [1, 3, 1, 3]), one(2, [1, 3, 1, 3]),
            one(100, [1, 3, 2, 2])]  # fmt: skip
    assert got[:7] == pytest.approx(want, abs=1e-12)
    assert got[7:].tolist() == [0.0, 0.5, 1.0]


def test_context_detector_scores_a_spike_and_stays_quiet_on_a_periodic_series() -> None:
    kind = detector_kind("context")
    det = kind.create(kind.params(warmup=200), 1)
    n = 3000
    x = np.sin(np.arange(n) * 2 * np.pi / 50)
    x[2500] = 3.0  # beyond the range seen: spatial novelty
    s = det.update(np.zeros(n, np.intp), x, np.arange(n, dtype=np.int64))
    assert s[:200].max() == 0.0  # warm-up
    assert s[2500] == 1.0
    assert s[1000:2500].max() < 0.999  # a series it has learnt is not anomalous


@pytest.fixture
def live(plant: Plant, tmp_path: Path) -> Iterator[tuple[Engine, AlarmService, AnomalyService, DuckDBStore]]:
    store = DuckDBStore(tmp_path / "a.duckdb")
    engine = Engine(plant, store, max_future_s=10 * 365 * 86400)
    alarms = AlarmService(plant, engine, journal=Journal(tmp_path / "alarms.sqlite"), clock=lambda: T0)
    anomaly = AnomalyService(plant, engine)
    yield engine, alarms, anomaly, store
    anomaly.close()
    alarms.close()
    engine.close()
    store.close()


def test_an_injected_anomaly_raises_an_alarm_through_the_score_signal(
    plant: Plant, live: tuple[Engine, AlarmService, AnomalyService, DuckDBStore]
) -> None:
    engine, alarms, anomaly, store = live
    sid = plant.signals.sid("p/m1", "temperature")
    rng = np.random.default_rng(7)
    n = 1000
    v = 20.0 + rng.normal(0.0, 0.5, n)
    v[800] = 35.0  # the injected anomaly: 30 standard deviations
    ts = T0 + np.arange(n, dtype=np.int64) * S
    for a in range(0, n, 250):  # four batches, the detector's state carried between them
        engine.ingest(make_batch(ts[a : a + 250], np.full(250, sid, np.int32), v[a : a + 250]))
    score_sid = plant.signals.sid("p/m1", "temperature_anomaly")
    hist = store.history(HistoryQuery((score_sid,)))
    scores = np.asarray(hist.column("value").to_numpy())
    assert len(scores) == n and anomaly.scored_total == n  # one score per accepted point, stored
    assert scores[800] > 0.9999 and scores[801:].max() < 0.9999
    assert int(np.argmax(scores[100:])) + 100 == 800
    assert engine.value[score_sid] == pytest.approx(scores[-1])
    a = alarms.get("p/m1:hot_anomaly")
    assert a.state is AlarmState.RTN_UNACKNOWLEDGED  # raised at the anomaly, cleared on the next point
    ev = alarms.journal.query(alarm=a.id)
    assert [(e.event, (e.ts - T0) // S) for e in ev] == [("raise", 800), ("clear", 801)]
    assert alarms.get("p/m2:hot_anomaly").state is AlarmState.NORMAL  # no data there


def test_validate_reports_bad_parameters_with_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from twinverse.cli import main

    path = tmp_path / "plant.yaml"
    good = PLANT
    path.write_text(good)

    def run() -> tuple[int, str, str]:
        code = 0
        try:
            main(["validate", str(path)])
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run()
    assert code == 0 and out.rstrip().endswith(", 4 anomaly detectors")  # m3 has its detector off
    path.write_text(good.replace("window: 200", "window: many"))
    code, out, err = run()
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"error: {path}:10: types.m.anomaly.temperature.window: Input should be a valid integer, unable to parse "
        "string as an integer",
        "1 problem(s) found",
    ]


def test_the_platform_scores_and_alarms(tmp_path: Path) -> None:
    from twinverse.config import load_settings
    from twinverse.platform import Platform

    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(PLANT)
    settings = load_settings(plant=plant_file, data_dir=tmp_path / "data", store=":memory:", seal_history=False)
    p = Platform(settings)
    try:
        assert len(p.anomaly) == 4
        sid = p.plant.signals.sid("p/m1", "temperature")
        v = 20.0 + np.random.default_rng(3).normal(0.0, 0.5, 400)
        v[300] = 40.0
        now = (np.datetime64("now", "us").astype(np.int64) - 400 * S) // S * S
        p.engine.ingest(make_batch(now + np.arange(400, dtype=np.int64) * S, np.full(400, sid, np.int32), v))
        assert p.alarms.get("p/m1:hot_anomaly").state is AlarmState.RTN_UNACKNOWLEDGED
        assert p.engine.ts[p.plant.signals.sid("p/m1", "temperature_anomaly")] == now + 399 * S
    finally:
        p.stop()
