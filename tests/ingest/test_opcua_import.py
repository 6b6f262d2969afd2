"""`twinverse opcua import`: a pattern turns every matching object into a twin of a type, with its
OPC 40001 Machinery identification as properties — against an asyncua server loaded with the DI,
Machinery and Machinery example NodeSet2 files (../shared/data/opcua-nodesets), in that order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from asyncua import Server, ua

from tests.ingest.field import engines, start_source, wait_until
from tests.ingest.opcua_server import OpcuaServer
from twinverse.ingest.opcua import OpcuaSource
from twinverse.live.engine import Engine
from twinverse.model import Plant, loads_plant

DI, MACHINERY, EXAMPLE = ("http://opcfoundation.org/UA/DI/", "http://opcfoundation.org/UA/Machinery/",
                          "http://opcfoundation.org/UA/Machinery_Example/")  # fmt: skip


class MachineryServer(OpcuaServer):
    """The test server plus DI → Machinery → Machinery examples, a second machine, and a process value each."""

    nodesets: Path = Path()

    async def _build(self) -> Server:
        server = await super()._build()
        for f in ("Opc.Ua.Di.NodeSet2.xml", "Opc.Ua.Machinery.NodeSet2.xml", "Opc.Ua.Machinery.Examples.NodeSet2.xml"):
            await server.import_xml(str(self.nodesets / f))
        di, mach, ex = [await server.get_namespace_index(u) for u in (DI, MACHINERY, EXAMPLE)]
        self.ns_of = {"di": di, "machinery": mach, "example": ex}
        machines = await server.nodes.objects.get_child([f"{mach}:Machines"])
        second = await machines.add_object(ua.NodeId("Press02", ex), ua.QualifiedName("Press02", ex))
        ident = await second.add_object(ua.NodeId("Press02.Identification", ex), ua.QualifiedName("Identification", di))
        for name, ns, value in (("Manufacturer", di, ua.LocalizedText("Schuler")), ("SerialNumber", di, "P-0002"),
                                ("YearOfConstruction", mach, ua.Variant(2019, ua.VariantType.UInt16))):  # fmt: skip
            await ident.add_variable(ua.NodeId(f"Press02.{name}", ex), ua.QualifiedName(name, ns), value)
        for obj, key in ((await machines.get_child([f"{ex}:ExampleMachine01"]), "Engel"), (second, "Press02")):
            await obj.add_variable(ua.NodeId(f"{key}.Temperature", ex), ua.QualifiedName("Temperature", ex),
                                   ua.Variant(40.5 if key == "Engel" else 55.0, ua.VariantType.Double))
            await obj.add_variable(ua.NodeId(f"{key}.CycleCount", ex), ua.QualifiedName("CycleCount", ex),
                                   ua.Variant(17 if key == "Engel" else 3, ua.VariantType.UInt32))
        return server


S = TypeVar("S", bound=OpcuaServer)


def serving(kind: type[S], shared_data: Path) -> Iterator[S]:
    """Run a test server of ``kind`` that loads NodeSet2 files from ``../shared/data/opcua-nodesets``."""
    s = kind()
    s.nodesets = shared_data / "opcua-nodesets"  # type: ignore[attr-defined]
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def server(shared_data: Path) -> Iterator[MachineryServer]:
    yield from serving(MachineryServer, shared_data)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Callable[[Plant], Engine]]:
    yield from engines(tmp_path)


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from twinverse.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(args)
    out = capsys.readouterr()
    return int(exit_.value.code or 0), out.out, out.err


def test_every_matching_machine_becomes_a_twin_with_its_identification_and_is_fed(
    server: MachineryServer, engine: Callable[[Plant], Engine], capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    mach, ex = server.ns_of["machinery"], server.ns_of["example"]
    pattern = f"0:Objects/{mach}:Machines/{ex}:*"
    code, out, err = run_cli(["opcua", "import", server.url, "--pattern", pattern, "--type", "moulder",
                              "--parent", "hall"], capsys)  # fmt: skip
    assert code == 0, err
    plant = loads_plant("plant: m\n" + out)
    assert sorted(plant.twins) == ["m", "m/hall", "m/hall/ExampleMachine01", "m/hall/Press02"]
    engel = plant.twins["m/hall/ExampleMachine01"].properties
    assert engel["Manufacturer"] == "ENGEL AUSTRIA GMBH" and engel["SerialNumber"] == "235223"
    assert engel["Model"] == "Viper 6" and engel["YearOfConstruction"] == 2020
    assert engel["ProductInstanceUri"] == "http://www.engelglobal.com/Viper06/235223"
    assert plant.twins["m/hall/Press02"].properties == {"Manufacturer": "Schuler", "SerialNumber": "P-0002",
                                                        "YearOfConstruction": 2019}  # fmt: skip
    assert {"temperature", "cycle_count"} <= set(plant.types["moulder"].signals)
    assert plant.types["moulder"].signals["cycle_count"].kind.value == "int"

    source = start_source(plant, e := engine(plant), OpcuaSource)
    try:
        def value(twin: str, signal: str) -> Any:
            return e.value[plant.signals.sid(f"m/hall/{twin}", signal)]

        wait_until(lambda: value("Press02", "temperature") == 55.0 and value("ExampleMachine01", "cycle_count") == 17,
                   "values through the pattern")  # fmt: skip
        assert source.health()["unmatched"] == 0
        assert server._server is not None
        server._call(server._server.write_attribute_value(ua.NodeId("Engel.Temperature", ex),
                                                          ua.DataValue(ua.Variant(41.25, ua.VariantType.Double))))
        wait_until(lambda: value("ExampleMachine01", "temperature") == 41.25, "a change through the pattern")
    finally:
        source.stop()


def test_import_errors_are_one_line(server: MachineryServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["opcua", "import", server.url, "--pattern", "Objects/Machines/*", "--type", "m"], capsys)
    assert code == 1 and "--pattern must be namespace:BrowseName elements" in err
    code, _, err = run_cli(["opcua", "import", server.url, "--pattern", "0:Objects/9:Nothing/9:*", "--type", "m"],
                           capsys)  # fmt: skip
    assert code == 1 and err.startswith(f"error: cannot import from {server.url}") and "Traceback" not in err
