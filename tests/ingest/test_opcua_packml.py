"""`twinverse opcua import` on PackML machines: an asyncua server loaded with the PackML NodeSet2 file
(../shared/data/opcua-nodesets) and two objects of its ``PackMLBaseObjectType``; the import turns
each into a twin whose signals are the numeric and boolean variables of its ``Status``, and the
source then reads them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asyncua import Server, ua

from tests.ingest.field import engines, start_source, wait_until
from tests.ingest.opcua_server import OpcuaServer
from tests.ingest.test_opcua_import import run_cli, serving
from twinverse.ingest.opcua import OpcuaSource
from twinverse.live.engine import Engine
from twinverse.model import Plant, loads_plant

PACKML = "http://opcfoundation.org/UA/PackML/"
LINE = "urn:twinverse:test:packml-line"
#: Machine → (CurMachSpeed, MachSpeed, EquipmentStarved) written before the import.
STATUS = {"Filler": (598.5, 600.0, False), "Capper": (0.0, 600.0, True)}


class PackMLServer(OpcuaServer):
    """The test server plus the PackML nodeset and ``Line/Filler``, ``Line/Capper`` of its base object type."""

    nodesets: Path = Path()

    async def _build(self) -> Server:
        server = await super()._build()
        await server.import_xml(str(self.nodesets / "Opc.Ua.PackML.NodeSet2.xml"))
        pk = await server.get_namespace_index(PACKML)
        idx = await server.register_namespace(LINE)
        self.ns_of = {"packml": pk, "line": idx}
        line = await server.nodes.objects.add_folder(ua.NodeId("Line", idx), ua.QualifiedName("Line", idx))
        for name, (cur, speed, starved) in STATUS.items():
            machine = await line.add_object(ua.NodeId(name, idx), ua.QualifiedName(name, idx),
                                            objecttype=ua.NodeId(6, pk))  # PackMLBaseObjectType  # fmt: skip
            status = await machine.get_child([f"{pk}:Status"])
            writes = (("CurMachSpeed", cur, ua.VariantType.Float), ("MachSpeed", speed, ua.VariantType.Float),
                      ("EquipmentStarved", starved, ua.VariantType.Boolean))  # fmt: skip
            for var, value, vt in writes:
                node = await status.get_child([f"{pk}:{var}"])
                await node.write_value(ua.DataValue(ua.Variant(value, vt)))
        return server

    def status(self, machine: str, var: str) -> Any:
        assert self._server is not None
        pk, idx = self.ns_of["packml"], self.ns_of["line"]
        path = [f"{idx}:Line", f"{idx}:{machine}", f"{pk}:Status", f"{pk}:{var}"]
        return self._call(self._server.nodes.objects.get_child(path))


@pytest.fixture(scope="module")
def server(shared_data: Path) -> Iterator[PackMLServer]:
    yield from serving(PackMLServer, shared_data)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Callable[[Plant], Engine]]:
    yield from engines(tmp_path)


def test_packml_machines_become_twins_fed_by_their_status(
    server: PackMLServer, engine: Callable[[Plant], Engine], capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    idx = server.ns_of["line"]
    code, out, err = run_cli(["opcua", "import", server.url, "--pattern", f"0:Objects/{idx}:Line/{idx}:*",
                              "--type", "packml_machine", "--parent", "line"], capsys)  # fmt: skip
    assert code == 0, err
    plant = loads_plant("plant: p\n" + out)
    assert sorted(plant.twins) == ["p", "p/line", "p/line/Capper", "p/line/Filler"]
    signals = plant.types["packml_machine"].signals
    assert {"status_cur_mach_speed", "status_mach_speed", "status_equipment_starved",
            "status_equipment_blocked"} <= set(signals)  # fmt: skip
    assert signals["status_equipment_starved"].kind.value == "bool"
    source = start_source(plant, e := engine(plant), OpcuaSource)
    try:
        def value(twin: str, signal: str) -> Any:
            return e.value[plant.signals.sid(f"p/line/{twin}", signal)]

        wait_until(lambda: value("Filler", "status_cur_mach_speed") == 598.5
                   and value("Capper", "status_equipment_starved") == 1.0, "PackML status values")  # fmt: skip
        assert value("Capper", "status_mach_speed") == 600.0 and value("Filler", "status_equipment_starved") == 0.0
        node = server.status("Filler", "CurMachSpeed")
        server._call(node.write_value(ua.DataValue(ua.Variant(450.0, ua.VariantType.Float))))
        wait_until(lambda: value("Filler", "status_cur_mach_speed") == 450.0, "a change of a PackML status")
        assert source.health()["unmatched"] == 0
    finally:
        source.stop()
