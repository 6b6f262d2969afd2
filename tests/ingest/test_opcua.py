"""OPC UA source against a real asyncua server: initial read, subscriptions, quality, faults."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from asyncua import ua

from tests.ingest.field import engines, start_source, wait_until
from tests.ingest.opcua_server import OpcuaServer
from twinverse.core.quality import Quality
from twinverse.errors import ModelLoadError
from twinverse.ingest.opcua import OpcuaSource, browse, candidate_yaml
from twinverse.ingest.spec import load_source_specs
from twinverse.live.engine import Engine
from twinverse.model import Plant, loads_plant
from twinverse.store import HistoryQuery

TYPES = """types:
  machine:
    signals:
      speed: {unit: 1/min}
      count: {kind: int}
      running: {kind: bool}
      temperature: {unit: degC}
      mode: {kind: int}
  drive:
    signals:
      current: {}
"""


def plant_yaml(url: str, mapping: str) -> str:
    return f"""plant: p
{TYPES}twins:
  - id: line1
    type: line
    children: [{{id: Filler, type: machine}}, {{id: Capper, type: machine}}]
  - {{id: motor, type: drive}}
sources:
  opc:
    kind: opcua
    url: {url}
    timeout: 2
    watchdog: 0.1
    reconnect: [0.05, 0.3]
    publishing: 20
{mapping}"""


BY_NODE = """    nodes:
      - {twin: line1/Filler, signal: speed, node: "ns=2;s=Filler.Speed"}
      - {twin: line1/Filler, signal: count, node: "ns=2;s=Filler.Count"}
      - {twin: line1/Filler, signal: running, node: "ns=2;s=Filler.Running"}
      - {twin: line1/Filler, signal: temperature, path: "0:Objects/2:Line1/2:Filler/2:Temperature", unit: degF}
      - {twin: line1/Filler, signal: mode, node: "ns=2;s=Filler.Mode"}
      - {twin: motor, signal: current, path: "/Objects/2:Plc/2:Motor/2:Current"}
""".replace("/Objects", "0:Objects")

BY_PATTERN = """    patterns:
      - path: "0:Objects/2:Line1/2:*er"
        twin: "line1/{name}"
        signals: {speed: "2:Speed", count: "2:Count", running: "2:Running", temperature: "2:Temperature",
                  mode: "2:Mode"}
"""


@pytest.fixture(scope="module")
def server() -> Iterator[OpcuaServer]:
    s = OpcuaServer().start()
    yield s
    s.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Callable[[Plant], Engine]]:
    yield from engines(tmp_path)


def run(plant: Plant, engine: Engine) -> OpcuaSource:
    return start_source(plant, engine, OpcuaSource)


def live(engine: Engine, twin: str) -> dict[str, object]:
    return {str(r["signal"]): r["value"] for r in engine.live(engine.plant.signals.of_twin(twin))}


def test_initial_read_and_changes_by_nodeid_and_browse_path(server: OpcuaServer,
                                                            engine: Callable[[Plant], Engine]) -> None:
    plant = loads_plant(plant_yaml(server.url, BY_NODE))
    e = engine(plant)
    source = run(plant, e)
    try:
        filler = list(plant.signals.of_twin("p/line1/Filler"))
        wait_until(lambda: source.connected and not np.isnan(e.value[filler]).any(), "the initial read")
        got = live(e, "p/line1/Filler")
        assert got == {"speed": 612.5, "count": 123456, "running": True, "temperature": pytest.approx(20.0),
                       "mode": -3}  # 68 °F in the signal's °C
        assert live(e, "p/motor") == {"current": 4.25}
        h = source.health()
        assert (h["monitored"], h["subscriptions"], h["failed_items"], h["unmatched"]) == (6, 1, 0, 0)
        server.write("Filler.Speed", 640.0, ua.VariantType.Double)
        wait_until(lambda: live(e, "p/line1/Filler")["speed"] == 640.0, "the change notification")
        # A node that goes Bad keeps its last value with BAD quality, then resumes.
        sid = plant.signals.sid("p/line1/Filler", "speed")
        server.write("Filler.Speed", 0.0, ua.VariantType.Double, ua.StatusCodes.BadSensorFailure)
        wait_until(lambda: e.quality[sid] == Quality.BAD, "BAD quality from the StatusCode")
        assert e.value[sid] == 640.0
        server.write("Filler.Speed", 650.0, ua.VariantType.Double, ua.StatusCodes.UncertainLastUsableValue)
        wait_until(lambda: e.quality[sid] == Quality.UNCERTAIN and e.value[sid] == 650.0, "UNCERTAIN quality")
        server.write("Filler.Speed", 612.5, ua.VariantType.Double)
        wait_until(lambda: e.quality[sid] == Quality.GOOD and e.value[sid] == 612.5, "GOOD again")
    finally:
        source.stop()


def test_pattern_maps_every_matching_object_to_its_twin(server: OpcuaServer,
                                                        engine: Callable[[Plant], Engine]) -> None:
    plant = loads_plant(plant_yaml(server.url, BY_PATTERN))
    e = engine(plant)
    source = run(plant, e)
    try:
        wait_until(lambda: source.health()["monitored"] == 10, "ten monitored items from the pattern")
        wait_until(lambda: live(e, "p/line1/Capper")["count"] == 99, "the Capper's initial values")
        assert live(e, "p/line1/Capper") == {"speed": 598.0, "count": 99, "running": False, "temperature": 50.0,
                                             "mode": 2}
        assert live(e, "p/line1/Filler")["speed"] == 612.5
    finally:
        source.stop()


def test_server_goes_away_then_comes_back(engine: Callable[[Plant], Engine]) -> None:
    server = OpcuaServer().start()
    plant = loads_plant(plant_yaml(server.url, BY_NODE))
    e = engine(plant)
    source = run(plant, e)
    sids = np.array(sorted({*plant.signals.of_twin("p/line1/Filler"), *plant.signals.of_twin("p/motor")}))
    try:
        wait_until(lambda: not np.isnan(e.value[sids]).any(), "the initial read")
        server.stop()
        wait_until(lambda: bool((e.quality[sids] == Quality.BAD).all()), "BAD quality when the server is gone")
        assert source.health()["connected"] is False and e.value[sids[0]] == 612.5
        server.start()  # same port, same NodeIds, a new session: the source must re-subscribe
        wait_until(lambda: bool((e.quality[sids] == Quality.GOOD).all()), "GOOD quality after the restart")
        server.write("Filler.Speed", 700.0, ua.VariantType.Double)
        wait_until(lambda: live(e, "p/line1/Filler")["speed"] == 700.0, "changes after re-subscribing")
        h = source.health()
        assert h["reconnects"] >= 1 and h["monitored"] == 6
    finally:
        source.stop()
        server.stop()


def test_unreachable_server_is_retried_not_fatal(engine: Callable[[Plant], Engine]) -> None:
    from tests.conftest import free_port

    plant = loads_plant(plant_yaml(f"opc.tcp://127.0.0.1:{free_port()}", BY_NODE))
    source = run(plant, engine(plant))
    try:
        wait_until(lambda: source.health()["errors"] >= 2, "two failed attempts")
        assert source.health()["connected"] is False and "cannot connect" in str(source.health()["last_error"])
    finally:
        source.stop()


def test_browse_works_where_an_event_loop_already_runs(server: OpcuaServer) -> None:
    """A notebook (or Playwright's sync API in the same test process) runs a loop in the thread."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    async def inside() -> int:
        return len(browse(server.url, depth=3))

    # On a thread of its own: this test process may already run a loop here (Playwright).
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, inside()).result() == 11


def test_browse_prints_a_sources_section_that_validates(server: OpcuaServer) -> None:
    entries = browse(server.url, depth=3)
    assert {(e.parent, e.name, e.nodeid, e.datatype) for e in entries} >= {
        (("0:Objects", "2:Line1", "2:Filler"), "2:Speed", "ns=2;s=Filler.Speed", "Double"),
        (("0:Objects", "2:Plc", "2:Motor"), "2:Current", "ns=2;s=Plc.Motor.Current", "Double"),
    }
    assert len(entries) == 11
    assert len(browse(server.url, depth=1)) == 0  # variables sit two object levels down
    text = candidate_yaml(server.url, entries)
    types = """types:
  m: {signals: {Speed: {}, Count: {}, Running: {kind: bool}, Temperature: {}, Mode: {}}}
  d: {signals: {Current: {}}}
twins:
  - {id: Line1, type: line, children: [{id: Filler, type: m}, {id: Capper, type: m}]}
  - {id: Plc, type: group, children: [{id: Motor, type: d}]}
"""
    [spec] = load_source_specs(loads_plant("plant: p\n" + types + text))
    assert len(spec.config.nodes) == 11


BAD = [
    ('node: "s2=Filler"', "sources.opc.nodes[0].node: node must be a NodeId like"),
    ('path: "Objects/Line1"', "sources.opc.nodes[0].path: browse path element 'Objects' must be namespace:BrowseName"),
    ('node: "ns=2;i=5", path: "0:Objects"', "sources.opc.nodes[0]: give exactly one of 'node'"),
    ('node: "ns=2;i=5", deadband: -1', "sources.opc.nodes[0].deadband: deadband must be within 0..inf, got -1"),
]


@pytest.mark.parametrize(("extra", "message"), BAD)
def test_bad_mapping_is_a_located_error(extra: str, message: str) -> None:
    text = plant_yaml("opc.tcp://127.0.0.1:4840", f"    nodes:\n      - {{twin: motor, signal: current, {extra}}}\n")
    with pytest.raises(ModelLoadError) as err:
        load_source_specs(loads_plant(text, "plant.yaml"))
    assert [str(p) for p in err.value.details if message in str(p)], [str(p) for p in err.value.details]
    assert all(str(p).startswith("plant.yaml:") for p in err.value.details)


def test_cli_browse(server: OpcuaServer, capsys: pytest.CaptureFixture[str]) -> None:
    from twinverse.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["opcua", "browse", server.url, "--depth", "3"])
    assert exit_.value.code in (0, None)
    out = capsys.readouterr().out
    assert out.startswith(f"sources:\n  opcua:\n    kind: opcua\n    url: {server.url}\n    nodes:\n")
    assert '- {twin: Line1/Filler, signal: Speed, node: "ns=2;s=Filler.Speed"}  # Double, path ' \
           "0:Objects/2:Line1/2:Filler/2:Speed" in out
    from tests.conftest import free_port

    with pytest.raises(SystemExit) as exit_:
        main(["opcua", "browse", f"opc.tcp://127.0.0.1:{free_port()}", "--timeout", "1"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot browse opc.tcp://127.0.0.1:") and "Traceback" not in err


def test_items_split_across_subscriptions_and_deadband(server: OpcuaServer, engine: Callable[[Plant], Engine]) -> None:
    mapping = BY_NODE.replace('{twin: line1/Filler, signal: speed, node: "ns=2;s=Filler.Speed"}',
                              '{twin: line1/Filler, signal: speed, node: "ns=2;s=Filler.Speed", deadband: 5}')
    plant = loads_plant(plant_yaml(server.url, "    max_items: 2\n" + mapping))
    e = engine(plant)
    source = run(plant, e)
    sid = plant.signals.sid("p/line1/Filler", "speed")
    try:
        wait_until(lambda: source.health()["monitored"] == 6 and not np.isnan(e.value[sid]), "the subscriptions")
        assert source.health()["subscriptions"] == 3
        server.write("Filler.Speed", 100.0, ua.VariantType.Double)
        wait_until(lambda: e.value[sid] == 100.0, "a change beyond the deadband")
        server.write("Filler.Speed", 102.0, ua.VariantType.Double)  # within 5 of 100: the server drops it
        server.write("Filler.Count", 7, ua.VariantType.UInt32)  # a later change on another item arrives
        count = plant.signals.sid("p/line1/Filler", "count")
        wait_until(lambda: e.value[count] == 7, "the other item's change")
        server.write("Filler.Speed", 120.0, ua.VariantType.Double)
        wait_until(lambda: e.value[sid] == 120.0, "the next change beyond the deadband")
        history = e.store.history(HistoryQuery((sid,)))
        assert 102.0 not in history.column("value").to_pylist()
    finally:
        server.write("Filler.Speed", 612.5, ua.VariantType.Double)
        server.write("Filler.Count", 123456, ua.VariantType.UInt32)
        source.stop()


def test_username_and_password_identity(engine: Callable[[Plant], Engine]) -> None:
    server = OpcuaServer(users={"operator": "s3cret"}).start()
    try:
        good = plant_yaml(server.url, "    username: operator\n    password: s3cret\n" + BY_NODE)
        plant = loads_plant(good)
        e = engine(plant)
        source = run(plant, e)
        try:
            wait_until(lambda: live(e, "p/motor") == {"current": 4.25}, "values with the right password")
        finally:
            source.stop()
        bad = loads_plant(good.replace("s3cret", "wrong"))
        source = run(bad, engine(bad))
        try:
            wait_until(lambda: source.health()["errors"] >= 1, "the refused session")
            assert source.health()["connected"] is False
            assert "cannot connect" in str(source.health()["last_error"])
        finally:
            source.stop()
    finally:
        server.stop()
