"""`twinverse demo --protocol opcua|modbus|sparkplug`: the synthetic line reaches the engine through the protocol.

The demo's simulated device is stopped feeding (its synthetic plant halted), the device's
values are then read with a bare client (asyncua / pymodbus, decoded here with struct; for
Sparkplug a bare paho client asks the edge for a Rebirth and reads the DBIRTHs' values), and
every signal of the engine must come to hold exactly those values — delivered by the
protocol connector, the only source that ingests.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import Broker, free_port
from tests.ingest.field import wait_until
from twinverse.demo import DemoFeed, build_demo
from twinverse.errors import ConfigError
from twinverse.ingest.fielddemo import SimulatedMeters, SimulatedPlc
from twinverse.ingest.modbus import ModbusSource
from twinverse.ingest.opcua import OpcuaSource
from twinverse.ingest.sparkplug import SparkplugHost, rebirth_payload
from twinverse.ingest.sparkplug_demo import SimulatedEdge
from twinverse.ingest.sparkplug_pb import Payload, metric_value


def _read_opcua(device: SimulatedPlc) -> list[float]:
    from asyncua import Client

    async def read() -> list[float]:
        async with Client(device.url) as client:
            nodes = [client.get_node(device.nodeid(s)) for s in range(len(device.plant.signals))]
            return [float(v) for v in await client.read_values(nodes)]

    with ThreadPoolExecutor(1) as pool:  # this process may run an event loop here (Playwright)
        return pool.submit(asyncio.run, read()).result()


def _read_modbus(device: SimulatedMeters) -> list[float]:
    from pymodbus.client import ModbusTcpClient

    n = len(device.plant.signals)
    regs: list[int] = []
    with ModbusTcpClient("127.0.0.1", port=device.port) as client:
        for start in range(0, 2 * n, 124):
            r = client.read_holding_registers(start, count=min(124, 2 * n - start), device_id=1)
            assert not r.isError()
            regs += r.registers
    return [struct.unpack(">f", struct.pack(">HH", regs[2 * i], regs[2 * i + 1]))[0] for i in range(n)]


@pytest.mark.parametrize("protocol", ["opcua", "modbus"])
def test_demo_values_arrive_through_the_protocol(protocol: str, tmp_path: Path) -> None:
    demo = build_demo(port=free_port(), data_dir=tmp_path / "d", rate=5, seed=7, auth="open", protocol=protocol)
    assert demo.feed is DemoFeed.FIELD and protocol in demo.message.lower().replace(" ua", "ua")
    platform = demo.platform
    device, connector = platform.sources
    assert isinstance(connector, OpcuaSource if protocol == "opcua" else ModbusSource)
    platform.start()
    try:
        engine = platform.engine
        wait_until(lambda: connector.health()["connected"] is True and not np.isnan(engine.value).any(),
                   "every signal of the line through the protocol")  # fmt: skip
        assert device.health()["published"] > 0
        assert isinstance(device, SimulatedPlc | SimulatedMeters)
        device.synthetic.stop()  # the device holds still: what it holds must end up in the engine
        wait_until(lambda: device.health()["published"] == device.synthetic.ticks * len(engine.value),
                   "the last batch on the device")  # fmt: skip
        held = np.array(_read_opcua(device) if isinstance(device, SimulatedPlc) else _read_modbus(device))
        wait_until(lambda: bool(np.array_equal(engine.value, held.astype(engine.value.dtype))),
                   f"the engine to hold the device's values over {protocol}")  # fmt: skip
        assert connector.health()["stored"] > 0 and connector.health()["errors"] == 0
        filler = platform.plant.signals.sid("bottling/line1/filler", "state")
        assert held[filler] in range(7)  # a state index, as the OPC UA Int32 / Modbus float32 carried it
    finally:
        platform.stop()


def test_an_unknown_protocol_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no demo over 'profinet' \(available: .*modbus, opcua"):
        build_demo(port=free_port(), data_dir=tmp_path / "d", auth="open", protocol="profinet")


def _read_births(device: SimulatedEdge, url: str) -> np.ndarray:
    """Every metric's current value, from the DBIRTHs the edge publishes when a bare client asks for a Rebirth."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    plant, group, node = device.plant, "twinverse", device.plant.id
    births: dict[str, bytes] = {}
    subscribed, done = threading.Event(), threading.Event()

    def on_message(c: object, u: object, msg: mqtt.MQTTMessage) -> None:
        births[msg.topic.rsplit("/", 1)[-1]] = msg.payload
        if len(births) == len(device.devices):
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-births-reader")
    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.set()
    client.connect("127.0.0.1", int(url.rsplit(":", 1)[1]))
    client.loop_start()
    try:
        client.subscribe(f"spBv1.0/{group}/DBIRTH/{node}/#")
        assert subscribed.wait(30)
        client.publish(f"spBv1.0/{group}/NCMD/{node}", rebirth_payload(0), qos=1).wait_for_publish(30)
        assert done.wait(60), f"DBIRTHs of {sorted(births)}"
    finally:
        client.loop_stop()
        client.disconnect()
    held = np.full(len(plant.signals), np.nan)
    twin_of = {d.id: t for d, t in zip(device.devices, device.twins, strict=True)}
    for dev, payload in births.items():
        for m in Payload.FromString(payload).metrics:
            held[plant.signals.sid(twin_of[dev], m.name)] = metric_value(m)
    return held


def test_demo_over_sparkplug_goes_through_the_broker(broker: Broker, tmp_path: Path) -> None:
    demo = build_demo(port=free_port(), data_dir=tmp_path / "d", rate=5, seed=7, auth="open", protocol="sparkplug",
                      broker=broker.url)  # fmt: skip
    assert demo.feed is DemoFeed.FIELD and "Sparkplug B edge node twinverse/bottling" in demo.message
    platform = demo.platform
    device, connector = platform.sources
    assert isinstance(device, SimulatedEdge) and isinstance(connector, SparkplugHost)
    platform.start()
    try:
        engine = platform.engine
        wait_until(lambda: connector.health()["connected"] is True and not np.isnan(engine.value).any(),
                   "every signal of the line through the broker")  # fmt: skip
        # The edge was born before the host came up: the host asked for the births (data before birth).
        assert connector.health()["births"] >= len(device.devices) + 1 and device.edge.rebirths >= 1
        device.synthetic.stop()
        wait_until(lambda: device.health()["published"] == device.synthetic.ticks * len(engine.value),
                   "the last batch on the broker")  # fmt: skip
        held = _read_births(device, broker.url)
        assert not np.isnan(held).any()
        wait_until(lambda: bool(np.array_equal(engine.value, held.astype(engine.value.dtype))),
                   "the engine to hold the edge's values over Sparkplug B")  # fmt: skip
        # The Rebirth asked for above replaces the session: its DBIRTHs may still be arriving.
        wait_until(lambda: connector.health()["devices"] == len(device.devices), "every device born again")
        h = connector.health()
        assert h["stored"] > 0 and h["errors"] == 0 and h["unmatched"] == 0
        filler = platform.plant.signals.sid("bottling/line1/filler", "state")
        assert held[filler] in range(7)  # a state index, carried as an Int32 metric
    finally:
        platform.stop()


def test_demo_over_sparkplug_without_a_broker_says_so(tmp_path: Path) -> None:
    url = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(ConfigError, match=r"needs an MQTT broker, and none is reachable at mqtt://127\.0\.0\.1:"):
        build_demo(port=free_port(), data_dir=tmp_path / "d", auth="open", protocol="sparkplug", broker=url)
