"""OPC UA namespaces by URI (``nsu=<URI>;``) in browse paths, NodeIds and patterns, against asyncua servers.

The same mapping, written with URIs, must feed the same signals from a server whose
namespace sits at index 2 and from one that registered two namespaces before it (index 4);
a URI the server lacks is a mapping error in health, naming the URI, while the rest runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.ingest.field import engines, start_source, wait_until
from tests.ingest.opcua_server import NS_URI, OpcuaServer
from tests.ingest.test_opcua import live, plant_yaml
from twinverse.errors import ModelLoadError
from twinverse.ingest.opcua import OpcuaSource, browse, candidate_yaml
from twinverse.ingest.spec import load_source_specs
from twinverse.live.engine import Engine
from twinverse.model import Plant, loads_plant

U = f"nsu={NS_URI};"
BY_URI = f"""    nodes:
      - {{twin: line1/Filler, signal: speed, path: "0:Objects/{U}Line1/{U}Filler/{U}Speed"}}
      - {{twin: line1/Filler, signal: count, node: "{U}s=Filler.Count"}}
      - {{twin: line1/Filler, signal: running, node: "nsu=urn:nobody:here;s=Filler.Running"}}
      - {{twin: line1/Filler, signal: mode, path: "0:Objects/nsu=http://nobody.example/UA/;Line1/2:Filler/2:Mode"}}
      - {{twin: motor, signal: current, path: "/Objects/{U}Plc/{U}Motor/{U}Current"}}
    patterns:
      - path: "0:Objects/{U}Line1/{U}Cap*"
        twin: "line1/{{name}}"
        signals: {{speed: "{U}Speed", count: "{U}Count"}}
""".replace("/Objects", "0:Objects").replace("0:0:", "0:")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Callable[[Plant], Engine]]:
    yield from engines(tmp_path)


@pytest.mark.parametrize("extra", [(), ("urn:other:a", "urn:other:b")], ids=["index-2", "index-4"])
def test_a_mapping_by_uri_feeds_the_same_signals_whatever_the_index(
    extra: tuple[str, ...], engine: Callable[[Plant], Engine]
) -> None:
    server = OpcuaServer(extra_namespaces=extra).start()
    try:
        assert server.ns == 2 + len(extra)
        plant = loads_plant(plant_yaml(server.url, BY_URI))
        e = engine(plant)
        source = start_source(plant, e, OpcuaSource)
        try:
            wait_until(lambda: live(e, "p/line1/Capper")["count"] == 99, "the values by URI")
            filler = live(e, "p/line1/Filler")
            assert (filler["speed"], filler["count"]) == (612.5, 123456)
            assert filler["running"] is None and filler["mode"] is None  # their URIs are not on the server
            assert live(e, "p/motor") == {"current": 4.25}
            assert live(e, "p/line1/Capper")["speed"] == 598.0
            h = source.health()
            assert h["monitored"] == 5 and h["errors"] >= 2, h
            assert "namespace 'http://nobody.example/UA/' is not on the server (its namespaces: 0: " in str(
                h["last_error"]
            )
            assert f"{2 + len(extra)}: {NS_URI}" in str(h["last_error"])
            server.write("Filler.Speed", 640.0, __import__("asyncua").ua.VariantType.Double)
            wait_until(lambda: live(e, "p/line1/Filler")["speed"] == 640.0, "a change by URI path")
        finally:
            source.stop()
    finally:
        server.stop()


def test_nsu_paths_parse_and_bad_ones_are_located() -> None:
    [spec] = load_source_specs(loads_plant(plant_yaml("opc.tcp://127.0.0.1:4840", BY_URI)))
    speed = spec.config.nodes[0]
    assert speed.path == ("0:Objects", f"{U}Line1", f"{U}Filler", f"{U}Speed")
    assert spec.config.patterns[0].signals == (("speed", (f"{U}Speed",)), ("count", (f"{U}Count",)))
    bad = '    nodes:\n      - {twin: motor, signal: current, path: "0:Objects/nsu=;Plc"}\n'
    with pytest.raises(ModelLoadError) as err:
        load_source_specs(loads_plant(plant_yaml("opc.tcp://127.0.0.1:4840", bad), "plant.yaml"))
    [problem] = [str(p) for p in err.value.details]
    assert problem.startswith("plant.yaml:")
    assert "nodes[0].path: browse path element 'nsu=;Plc' must be namespace:BrowseName, like '2:Speed', or " \
           "nsu=<namespace URI>;BrowseName" in problem  # fmt: skip


def test_browse_names_namespaces_by_uri_and_maps_by_path() -> None:
    server = OpcuaServer(extra_namespaces=("urn:other:a",)).start()  # the test namespace at index 3
    try:
        entries = browse(server.url, depth=3)
        [speed] = [e for e in entries if e.nodeid == "ns=3;s=Filler.Speed"]
        assert speed.uri_parent == ("0:Objects", f"{U}Line1", f"{U}Filler") and speed.uri_name == f"{U}Speed"
        assert speed.uri_nodeid == f"{U}s=Filler.Speed"
        text = candidate_yaml(server.url, entries, uri=True, by="path")
        assert (f'- {{twin: Line1/Filler, signal: Speed, path: "0:Objects/{U}Line1/{U}Filler/{U}Speed"}}  '
                f"# Double, node {U}s=Filler.Speed") in text  # fmt: skip
        assert f'node: "{U}s=Filler.Speed"' in candidate_yaml(server.url, entries, uri=True)
        # What browse printed maps the plant: by URI paths, and by URI NodeIds.
        types = """types:
  m: {signals: {Speed: {}, Count: {}, Running: {kind: bool}, Temperature: {}, Mode: {}}}
  d: {signals: {Current: {}}}
twins:
  - {id: Line1, type: line, children: [{id: Filler, type: m}, {id: Capper, type: m}]}
  - {id: Plc, type: group, children: [{id: Motor, type: d}]}
"""
        for yaml_text in (text, candidate_yaml(server.url, entries, uri=True)):
            plant = loads_plant("plant: p\n" + types + yaml_text)
            [spec] = load_source_specs(plant)
            assert len(spec.config.nodes) == 11
    finally:
        server.stop()


def test_cli_browse_by_uri(capsys: pytest.CaptureFixture[str]) -> None:
    from twinverse.cli import main

    server = OpcuaServer().start()
    try:
        with pytest.raises(SystemExit) as exit_:
            main(["opcua", "browse", server.url, "--depth", "3", "--uri", "--by", "path"])
        assert exit_.value.code in (0, None)
        assert f'signal: Speed, path: "0:Objects/{U}Line1/{U}Filler/{U}Speed"}}' in capsys.readouterr().out
        with pytest.raises(SystemExit) as exit_:
            main(["opcua", "browse", server.url, "--by", "colour"])
        assert exit_.value.code == 1
        assert "error: --by must be 'nodeid' or 'path', got 'colour'" in capsys.readouterr().err
    finally:
        server.stop()
