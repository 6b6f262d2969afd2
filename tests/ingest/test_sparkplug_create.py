"""Sparkplug B ``create``: births that name twins and metrics the model lacks grow it, as a new model version."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import Broker
from tests.ingest.field import engines, start_source, wait_until
from twinverse.config import Settings
from twinverse.core.quality import Quality
from twinverse.errors import ModelLoadError
from twinverse.ingest.sparkplug import SparkplugHost
from twinverse.ingest.sparkplug_edge import Device, EdgeNode
from twinverse.ingest.sparkplug_map import match_birth
from twinverse.ingest.sparkplug_pb import DataType
from twinverse.ingest.spec import load_source_specs
from twinverse.live.engine import Engine
from twinverse.model import Plant, SignalKind, loads_plant
from twinverse.model.grow import Growth, NewSignal, grow_text
from twinverse.platform import Platform

pytestmark = pytest.mark.mqtt


def plant_yaml(port: int, devices: str) -> str:
    return f"""plant: p
types:
  dev:
    signals:
      m0: {{}}
twins:
  - {{id: hall, type: area}}
  - {{id: d1, type: dev}}
  - {{ids: [r1, r2], type: area}}
sources:
  spb:
    kind: sparkplug
    url: mqtt://127.0.0.1:{port}
    host_id: tv
    rebirth_interval: 0.3
    reconnect: [0.05, 0.2]
    devices:
{devices}"""


CREATE = """      - {group: G, node: E1, device: d1, twin: d1, create: true}
      - {group: G, node: "*", device: "*", twin: "hall/{device}", create: true}
"""
PRESS = Device("press 1", (("Pressure", DataType.FLOAT, "bar"), ("Count", DataType.UINT32, None),
                           ("Running", DataType.BOOLEAN, None), ("Label", DataType.STRING, None),
                           ("Temp", DataType.DOUBLE, "flurbs")))  # fmt: skip
D1 = Device("d1", (("m0", DataType.DOUBLE, None), ("extra", DataType.INT16, "kW")))


# -- the sources: entry -------------------------------------------------------------------------
def test_create_mistakes_are_located() -> None:
    bad = """      - {group: G, node: E, device: A, twin: hall/a, create: maybe please}
      - {group: G, node: E, device: B, twin: nowhere/b, create: true}
      - {group: G, node: E, device: C, twin: "hall/c d", create: true}
      - {group: G, node: E, device: D, twin: hall/d9, metrics: {x: y}}
"""
    with pytest.raises(ModelLoadError) as err:
        load_source_specs(loads_plant(plant_yaml(1883, bad)))
    text = str(err.value)
    for want in ("devices[0].create: create must be true, false or the name of a twin type, got 'maybe please'",
                 "devices[1].twin: twin 'nowhere/b' is not in the plant, and create can add it only under a twin "
                 "that is ('nowhere' is not)", "devices[2].twin: twin id 'c d' may only hold",
                 "devices[3].twin: unknown twin 'hall/d9'"):  # fmt: skip
        assert want in text, (want, text)
    assert "<string>:18: sources.spb.devices[0].create" in text  # file:line: path: message


def test_create_entries_parse() -> None:
    good = CREATE + "      - {group: G, node: E2, device: X, twin: hall/x, create: press, metrics: {p: Pressure}}\n"
    [spec] = load_source_specs(loads_plant(plant_yaml(1883, good)))
    d = spec.config.devices
    assert [(m.twin, m.create, m.create_type) for m in d] == [
        ("p/d1", True, None), ("hall/{device}", True, None), ("p/hall/x", True, "press")]  # fmt: skip


# -- what a birth asks for ----------------------------------------------------------------------
def test_a_birth_asks_for_its_twin_and_typed_signals() -> None:
    plant = loads_plant(plant_yaml(1883, CREATE))
    [spec] = load_source_specs(plant)
    names = ["bdSeq", "Pressure", "Count", "Running", "Label", "Temp", "Device Control/Reboot"]
    units = [None, "bar", None, None, None, "flurbs", None]
    types = [DataType.INT64, DataType.FLOAT, DataType.UINT32, DataType.BOOLEAN, DataType.STRING, DataType.DOUBLE,
             DataType.BOOLEAN]  # fmt: skip
    m = match_birth(plant, spec.config.devices, "G", "E7", "press 1", names, units, [int(t) for t in types])
    assert m.twin is None and m.problem == "" and m.growth is not None
    g = m.growth
    assert (g.twin, g.type) == ("p/hall/press_1", "sparkplug.hall.press_1")  # ' ' is not in a twin id
    assert [(s.name, s.kind, s.unit) for s in g.signals] == [
        ("Pressure", "float", "bar"),
        ("Count", "int", None),
        ("Running", "bool", None),
        ("Temp", "float", None),
    ]
    # An existing twin: only the metrics its type lacks, on its own type.
    m = match_birth(plant, spec.config.devices, "G", "E1", "d1", ["m0", "extra"], [None, "kW"], [10, 2])
    assert m.twin == "p/d1" and m.sids[0] >= 0 and m.sids[1] == -1
    assert m.growth == Growth("p/d1", "dev", (NewSignal("extra", "int", "kW", "Sparkplug metric 'extra'"),),
                              "sparkplug birth G/E1/d1")  # fmt: skip
    # Without create, or without datatypes, nothing is asked.
    [plain] = load_source_specs(loads_plant(plant_yaml(1883, '      - {group: G, node: "*", device: "*", '
                                                             'twin: "hall/{device}"}\n')))  # fmt: skip
    m = match_birth(plant, plain.config.devices, "G", "E7", "press", ["Pressure"], ["bar"], [9])
    assert m.growth is None and "twin 'hall/press' is not in the plant" in m.problem


def test_grow_text_adds_under_parents_and_is_idempotent() -> None:
    text = plant_yaml(1883, CREATE)
    new, problems = grow_text(text, [
        Growth("p/hall/m1", "t", (NewSignal("a", "int", "kW"),), "o"),
        Growth("p/d1", "dev", (NewSignal("b", "bool"),), "o"),
        Growth("p/r1/m2", "t", (NewSignal("c"),), "o"),  # under a twin of 'ids': cannot be placed
        Growth("p/hall/m1", "other", (), "o"),  # exists now with another type
    ])  # fmt: skip
    assert problems == ["o: cannot add twin 'p/r1/m2': twin 'r1' is not declared with an 'id' of its own in the model",
                        "o: twin 'p/hall/m1' exists with type 't', not 'other'"]  # fmt: skip
    plant = loads_plant(new)
    assert plant.twins["p/hall/m1"].type == "t" and plant.types["t"].signals["a"].unit == "kW"
    assert plant.types["t"].signals["c"].kind is SignalKind.FLOAT  # the type grew even if the twin could not
    assert plant.types["dev"].signals["b"].kind is SignalKind.BOOL and "m0" in plant.types["dev"].signals
    assert len(load_source_specs(plant)[0].config.devices) == 2  # the sources: section is kept
    again, _ = grow_text(new, [Growth("p/hall/m1", "t", (NewSignal("a", "int", "kW"),), "o")])
    assert again is new


# -- on a platform, against an edge on mosquitto --------------------------------------------------
@pytest.fixture
def platform(broker: Broker, tmp_path: Path) -> Iterator[Platform]:
    path = tmp_path / "plant.yaml"
    path.write_text(plant_yaml(broker.port, CREATE))
    p = Platform(Settings(data_dir=tmp_path / "data", plant=path, auth="token"))
    p.start()
    yield p
    p.stop()


def _host(platform: Platform) -> SparkplugHost:
    [host] = [s for s in platform.sources if isinstance(s, SparkplugHost)]
    return host


def _value(platform: Platform, twin: str, signal: str) -> tuple[float, int]:
    [row] = platform.engine.live(np.array([platform.plant.signals.sid(twin, signal)]))
    return row["value"], row["quality"]


def test_births_grow_the_model_and_the_data_follows(broker: Broker, platform: Platform) -> None:
    first = _host(platform)
    wait_until(lambda: first.connected, "the host to connect")
    edge = EdgeNode(broker.url, "G", "E1", [D1, PRESS], client_id="edge-create").start()
    try:
        wait_until(lambda: "p/hall/press_1" in platform.plant.twins and "extra" in platform.plant.types["dev"].signals,
                   "the births to grow the model")  # fmt: skip
        sigs = platform.plant.type_of("p/hall/press_1").signals
        assert {n: (s.kind.value, s.unit) for n, s in sigs.items()} == {
            "Pressure": ("float", "bar"),
            "Count": ("int", None),
            "Running": ("bool", None),
            "Temp": ("float", None),
        }
        # The version: saved, authored by the source, logged; the plant file on disk is not touched.
        version = platform.versions.current
        assert version is not None and version.number >= 2 and version.author == "source:sparkplug:spb"
        assert "grown from sparkplug:spb sparkplug birth G/E1/" in version.message
        entries = [e.record() for e in platform.trust.ledger.entries_by_action("plant.model.version", "plant:p")]
        assert entries and all(e["actor"] == "source:sparkplug:spb" for e in entries)
        assert "press" not in (Path(str(platform.plant.source))).read_text()
        # The host of the new version asks the edge for its births (the edge sent no data), then stores data.
        wait_until(lambda: _host(platform).plant is platform.plant, "the sources of the new version")
        host = _host(platform)
        assert host is not first
        wait_until(lambda: host.health()["devices"] == 2 and edge.rebirths >= 1, "the births on the new host")
        edge.publish("press 1", {"Pressure": 2.5, "Count": 7, "Running": True})
        edge.publish("d1", {"m0": 1.25, "extra": -3})
        wait_until(lambda: _value(platform, "p/d1", "extra")[0] == -3, "data of the grown signals")
        wait_until(lambda: _value(platform, "p/hall/press_1", "Count")[0] == 7, "data of the grown twin")
        assert _value(platform, "p/hall/press_1", "Pressure") == (2.5, Quality.GOOD)
        assert _value(platform, "p/hall/press_1", "Running")[0] == 1.0
        assert _value(platform, "p/d1", "m0")[0] == 1.25
        h = host.health()
        assert h["growths"] == 0 and h["unmatched"] > 0  # Label (a String) has no signal, and asks for none
        assert h["errors"] == 0
        # The version keeps the sids it gave (a restart numbers them the same way).
        sid = platform.plant.signals.sid("p/hall/press_1", "Count")
        current = platform.versions.current
        assert current is not None and platform.versions.layout(current.number)[sid] == ("p/hall/press_1", "Count")
    finally:
        edge.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Callable[[Plant], Engine]]:
    yield from engines(tmp_path)


def test_a_host_without_a_platform_reports_what_it_cannot_create(
    broker: Broker, engine: Callable[[Plant], Engine]
) -> None:
    plant = loads_plant(plant_yaml(broker.port, CREATE))
    src = start_source(plant, engine(plant), SparkplugHost)
    try:
        wait_until(lambda: src.connected, "the host to connect")
        edge = EdgeNode(broker.url, "G", "E2", [PRESS], client_id="edge-create-2").start()
        wait_until(lambda: src.health()["growths"] == 1, "the growth asked for")
        assert "twin 'p/hall/press_1' needs a new model version, and this host has no platform to save one" in str(
            src.health()["last_error"]
        )
        edge.stop()
    finally:
        src.stop()


def test_sources_command_shows_what_sparkplug_maps(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Offline: the metrics of twins named outright, and what the birth-matched entries can name; served: what
    the live births map (after they grew the model)."""
    from tests.server import Server
    from twinverse.cli import main

    def sources(*argv: str) -> str:
        try:
            main(["sources", *argv])
        except SystemExit as exc:
            assert not exc.code
        return capsys.readouterr().out

    path = tmp_path / "plant.yaml"
    path.write_text(plant_yaml(broker.port, CREATE + '      - {group: H, node: "*", device: "*", twin: "{device}"}\n'))
    assert sources("--plant", str(path)).startswith(
        f"spb              sparkplug mqtt://127.0.0.1:{broker.port}  (1 metric mapped to 1 twin; matched at birth: "
        "G/*/* → hall/{device} (0 twins, 0 signals it can name; create), H/*/* → {device} (4 twins, 1 signal it "
        f"can name), {path}:12)\n"
    )
    served = Server(["serve", "--plant", str(path), "--data-dir", str(tmp_path / "d"), "--auth", "open"], tmp_path)
    served.start()
    try:
        edge = EdgeNode(broker.url, "G", "E1", [D1, PRESS], client_id="edge-create-3").start()
        try:
            # d1: m0 and the grown 'extra'; hall/press_1: its four grown signals.
            wait_until(lambda: "mapped=6  twins=2" in sources("--server", served.url), "the births mapped")
        finally:
            edge.stop()
    finally:
        served.stop()


def test_platform_saves_growths_as_versions_and_logs_a_refused_one(tmp_path: Path) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text("plant: p\ntypes: {dev: {signals: {m0: {}}}}\ntwins:\n  - {id: hall, type: area}\n")
    platform = Platform(Settings(data_dir=tmp_path / "data", plant=path, auth="token"))
    try:
        platform.request_growth(Growth("p/hall/a", "t", (NewSignal("x", "int", "kW"),), "test"), actor="source:t:1")
        platform.request_growth(Growth("p/hall/b", "t", (NewSignal("y"),), "test"), actor="source:t:1")
        wait_until(lambda: "p/hall/b" in platform.plant.twins, "the growths saved")
        assert [v.number for v in platform.versions.versions()] == [1, 2]  # the two together: one version
        assert platform.versions.current is not None and platform.versions.current.message == (
            "2 twin(s) grown from test: hall/a, hall/b"
        )
        assert platform.plant.types["t"].signals["x"].unit == "kW"
        platform.request_growth(Growth("p/hall/c", "t", (NewSignal("z", "weird"),), "test"), actor="source:t:1")
        ledger = platform.trust.ledger
        wait_until(lambda: bool(list(ledger.entries_by_action("plant.model.refused", "plant:p"))), "the refusal")
        [refused] = [e.record() for e in ledger.entries_by_action("plant.model.refused", "plant:p")]
        assert refused["actor"] == "source:t:1" and "kind" in refused["details"]["error"]
        assert "p/hall/c" not in platform.plant.twins and len(platform.versions.versions()) == 2
    finally:
        platform.stop()
