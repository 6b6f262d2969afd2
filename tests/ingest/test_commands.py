"""Writes through field sources against real servers: Modbus (pymodbus) and OPC UA (asyncua).

Each write is checked on the server's own image (decoded here with struct / asyncua, not
twinverse's encoder) and in the live state, which must show the device's read-back.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from asyncua import ua

from tests.ingest.field import engines, start_source, wait_until
from tests.ingest.modbus_server import ModbusServer
from tests.ingest.opcua_server import OpcuaServer
from tests.ingest.test_opcua import BY_NODE, plant_yaml
from twinverse.errors import CommandRefused, ConflictError, InputError, ModelLoadError
from twinverse.ingest.command import send_command
from twinverse.ingest.modbus import ModbusSource
from twinverse.ingest.opcua import OpcuaSource
from twinverse.ingest.spec import load_source_specs
from twinverse.live.engine import Engine
from twinverse.model import Plant, loads_plant


def modbus_plant(port: int, extra_point: str = "") -> str:
    return f"""plant: p
types:
  press:
    signals:
      setpoint: {{unit: degC, writable: true}}
      strokes: {{kind: int}}
      scaled: {{}}
      door: {{kind: bool}}
      lamp: {{kind: bool}}
      readonly: {{}}
      far: {{}}
      limited: {{range: [0, 100], writable: true}}
twins:
  - {{id: press1, type: press}}
sources:
  plc:
    kind: modbus
    url: modbus://127.0.0.1:{port}
    timeout: 1
    retries: 0
    reconnect: [0.05, 0.2]
    poll: 0.05
    maps:
      - twin: press1
        points:
          - {{signal: setpoint, table: holding, address: 6, type: float32, unit: degF}}
          - {{signal: strokes, table: holding, address: 4, type: uint32, word_order: little, writable: true}}
          - {{signal: scaled, table: holding, address: 23, scale: 0.1, offset: -10, writable: true}}
          - {{signal: door, table: holding, address: 22, bit: 4, writable: true}}
          - {{signal: lamp, table: coil, address: 1, writable: true}}
          - {{signal: readonly, table: holding, address: 1}}
          - {{signal: far, table: holding, address: 400, writable: true}}
          - {{signal: limited, table: holding, address: 30}}
{extra_point}"""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Callable[[Plant], Engine]]:
    yield from engines(tmp_path)


def test_modbus_writes_encode_like_the_device_and_the_live_value_is_the_read_back(
    engine: Callable[[Plant], Engine],
) -> None:
    server = ModbusServer().start()
    plant = loads_plant(modbus_plant(server.port))
    e = engine(plant)
    source = start_source(plant, e, ModbusSource)
    sid = {n: plant.signals.sid("p/press1", n) for n in ("setpoint", "strokes", "scaled", "door", "lamp")}
    try:
        wait_until(lambda: source.connected and e.value[sid["setpoint"]] == pytest.approx((21.5 - 32) / 1.8),
                   "the first poll")  # fmt: skip

        def write(name: str, value: float) -> None:
            send_command([source], plant, "p/press1", name, value)

        write("setpoint", 20.0)  # °C in the signal, °F on the device
        assert struct.unpack(">f", struct.pack(">HH", *server.get(1, 3, 6, 2)))[0] == pytest.approx(68.0)
        write("strokes", 3_000_000_123)  # uint32, low word first (CDAB)
        lo, hi = server.get(1, 3, 4, 2)
        assert (hi << 16) | lo == 3_000_000_123
        write("scaled", 12.34)  # raw = (12.34 + 10) / 0.1 = 223.4 → 223; the read-back is 12.3, not 12.34
        assert server.get(1, 3, 23, 1) == [223]
        wait_until(lambda: e.value[sid["scaled"]] == pytest.approx(12.3), "the read-back of the scaled register")
        write("door", 1)  # bit 4 of a register holding bits 3 and 5: the others stay
        assert server.get(1, 3, 22, 1) == [0b111000]
        write("lamp", 1)
        assert server.get(1, 1, 1, 1) == [1]
        wait_until(lambda: e.value[sid["door"]] == 1 and e.value[sid["lamp"]] == 1 and e.value[sid["strokes"]] ==
                   3_000_000_123 and e.value[sid["setpoint"]] == pytest.approx(20.0), "the read-backs")  # fmt: skip
        write("door", 0)
        assert server.get(1, 3, 22, 1) == [0b101000]
        assert source.health()["writes"] == 6

        with pytest.raises(ConflictError, match=r"p/press1\.readonly is not writable"):
            write("readonly", 1)
        with pytest.raises(CommandRefused, match=r"exception 2 \(illegal data address\)"):
            write("far", 1)
        with pytest.raises(InputError, match="outside the range"):
            write("limited", 101)
        with pytest.raises(InputError, match="does not fit the point's uint32"):
            write("strokes", -1)
        assert source.health()["write_errors"] == 1
        server.stop()
        wait_until(lambda: not source.connected, "the lost connection")
        with pytest.raises(CommandRefused, match="not connected"):
            write("setpoint", 10)
    finally:
        source.stop()
        server.stop()


@pytest.mark.parametrize(("point", "message"), [
    ("{signal: far, table: input, address: 0, writable: true}",
     "sources.plc.maps[1].points[0].writable: input registers are read-only, but it is marked writable"),
    ("{signal: limited, table: discrete, address: 0}",
     "sources.plc.maps[1].points[0].table: discrete inputs are read-only, but its type declares it writable"),
    ("{signal: far, table: holding, address: 0, writable: yes please}",
     "sources.plc.maps[1].points[0].writable: writable must be true or false, got a string ('yes please')"),
])  # fmt: skip
def test_writable_mistakes_are_located(point: str, message: str) -> None:
    text = modbus_plant(502).replace("          - {signal: far, table: holding, address: 400, writable: true}\n", "")
    text = text.replace("          - {signal: limited, table: holding, address: 30}\n", "")
    text += f"      - twin: press1\n        unit_id: 3\n        points:\n          - {point}\n"
    with pytest.raises(ModelLoadError) as err:
        load_source_specs(loads_plant(text, "plant.yaml"))
    assert [str(p) for p in err.value.details if message in str(p)], [str(p) for p in err.value.details]


WRITABLE = BY_NODE.replace('signal: speed, node: "ns=2;s=Filler.Speed"}', 'signal: speed, node: "ns=2;s=Filler.Speed", '
                           "writable: true}").replace('signal: mode, node: "ns=2;s=Filler.Mode"}',
                           'signal: mode, node: "ns=2;s=Filler.Mode", writable: true}').replace(
                           'signal: count, node: "ns=2;s=Filler.Count"}',
                           'signal: count, node: "ns=2;s=Filler.Count", writable: true}').replace(
                           'signal: running, node: "ns=2;s=Filler.Running"}',
                           'signal: running, node: "ns=2;s=Filler.Running", writable: true}').replace(
                           "unit: degF}", "unit: degF, writable: true}")  # fmt: skip


def test_opcua_writes_the_nodes_value_in_its_type_and_refusals_name_the_status(
    engine: Callable[[Plant], Engine],
) -> None:
    server = OpcuaServer().start()
    plant = loads_plant(plant_yaml(server.url, WRITABLE))
    e = engine(plant)
    source = start_source(plant, e, OpcuaSource)
    sid = {n: plant.signals.sid("p/line1/Filler", n) for n in ("speed", "mode", "running", "temperature")}
    try:
        wait_until(lambda: source.connected and e.value[sid["speed"]] == 612.5, "the initial read")

        def write(name: str, value: float) -> None:
            send_command([source], plant, "p/line1/Filler", name, value)

        write("speed", 640.25)
        assert server.read("Filler.Speed") == 640.25
        write("temperature", 25.0)  # °C → 77 °F on the server, as its Float
        assert server.read("Filler.Temperature") == pytest.approx(77.0)
        write("mode", 7)
        assert server.read("Filler.Mode") == 7
        write("running", 0)
        assert server.read("Filler.Running") is False
        wait_until(lambda: e.value[sid["speed"]] == 640.25 and e.value[sid["mode"]] == 7 and e.value[sid["running"]]
                   == 0 and e.value[sid["temperature"]] == pytest.approx(25.0), "the read-backs")  # fmt: skip
        # The server changes the value itself: the live state follows the device, not the last request.
        server.write("Filler.Speed", 600.0, ua.VariantType.Double)
        wait_until(lambda: e.value[sid["speed"]] == 600.0, "the device's own value")
        with pytest.raises(CommandRefused, match=r"BadNotWritable|BadUserAccessDenied"):
            write("count", 5)  # read-only on the server
        with pytest.raises(InputError, match=r"does not fit ns=2;s=Filler.Mode's Int16"):
            write("mode", 40_000)
        with pytest.raises(ConflictError, match=r"p/motor\.current is not writable"):
            send_command([source], plant, "p/motor", "current", 1.0)
        assert (source.health()["writes"], source.health()["write_errors"]) == (4, 1)
    finally:
        source.stop()
        server.stop()
