"""Simulated field devices for the demo: the synthetic line served over OPC UA or Modbus TCP.

``twinverse demo --protocol opcua`` starts, in-process, an asyncua server whose address
space holds one object per twin (``Objects/2:<plant>/2:<twin>``) with one variable per
signal (``ns=2;s=<twin>.<signal>``: Double, Boolean or Int32 by the signal's kind); the
synthetic plant writes its values there, with their source timestamps. ``--protocol modbus``
starts a pymodbus server whose unit 1 holds every signal as a float32 (big-endian, ABCD) in
two holding registers, signal *n* at address 2 *n* — a rack of meters. twinverse then reads
them back the way it reads a real plant: an :class:`~twinverse.ingest.opcua.OpcuaSource`
subscribed to every variable, or a :class:`~twinverse.ingest.modbus.ModbusSource` polling
the registers, over the loopback. Nothing of the synthetic plant reaches the engine but
through the protocol.

Each simulated device is a source of its own (``start``/``stop``/``health``), so the
platform starts it before the connector that reads it and stops it after. ``--protocol
sparkplug`` (:mod:`.sparkplug_demo`) runs an edge node publishing to the demo's broker. A
further protocol registers its own factory in :data:`FIELD_DEMOS`; ``twinverse demo
--protocol NAME`` lists what is there.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ..core.values import KindCode
from ..errors import ConfigError
from ..live.engine import Engine
from ..model import Plant
from .base import Health, Source
from .modbus import ModbusSource
from .modbus_map import ModbusConfig, Point
from .opcua import OpcuaSource
from .opcua_map import NodeMap, OpcuaConfig
from .synthetic import SyntheticPlant

__all__ = ["FIELD_DEMOS", "FieldDemo", "SimulatedMeters", "SimulatedPlc", "field_demo", "free_or"]

log = logging.getLogger("twinverse.ingest.fielddemo")

#: A factory of the demo over one protocol: ``f(plant, rate, seed, broker) -> (simulated device, connector)``;
#: ``broker`` is the demo's MQTT broker URL, for protocols that go through one (Sparkplug B).
FieldDemo = Callable[[Plant, float, int, str | None], tuple[Source, Source]]


def free_or(port: int) -> int:
    """``port`` when nothing listens there on 127.0.0.1, else a free port."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])


def _relative(plant: Plant, twin: str) -> str:
    return twin.removeprefix(plant.id + "/")


class _Simulated:
    """A device in its own thread and event loop, fed by a synthetic plant through :meth:`publish`."""

    kind = "simulated"

    def __init__(self, plant: Plant, rate: float, seed: int, port: int) -> None:
        self._server: Any = None
        self.plant = plant
        self.port = port
        self.synthetic = SyntheticPlant(plant, rate=rate, seed=seed, sink=self.publish)
        self.published = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._done: asyncio.Event | None = None

    async def _serve(self) -> None:  # pragma: no cover - every subclass has one
        raise NotImplementedError

    async def _write(self, ts_us: int, sids: npt.NDArray[np.int32], values: npt.NDArray[np.float64]) -> None:
        raise NotImplementedError  # pragma: no cover

    def start(self, engine: Engine) -> None:
        """Start the device, wait until it listens, then start the synthetic plant feeding it (not ``engine``)."""
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._serve())

        self._thread = threading.Thread(target=run, name=f"{self.kind}-{self.port}", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise ConfigError(f"the simulated {self.kind} on port {self.port} did not start")
        self.synthetic.start(engine)

    def publish(self, batch: pa.RecordBatch) -> None:
        """Put a synthetic batch on the device (called by the synthetic plant's thread)."""
        loop = self._loop
        if loop is None:
            return
        ts = int(batch.column("ts").cast(pa.int64()).to_numpy()[0]) if batch.num_rows else 0
        sids = batch.column("sid").to_numpy()
        values = batch.column("value").to_numpy()
        asyncio.run_coroutine_threadsafe(self._write(ts, sids, values), loop).result(30)
        self.published += len(sids)

    def stop(self) -> None:
        self.synthetic.stop()
        if self._loop is not None and self._done is not None:
            self._loop.call_soon_threadsafe(self._done.set)
        if self._thread is not None:
            self._thread.join(30)
        if self._loop is not None and not self._loop.is_running():
            self._loop.close()
        self._thread = self._loop = None

    def health(self) -> Health:
        return {"kind": self.kind, "running": self._thread is not None and self._thread.is_alive(),
                "connected": self._ready.is_set(), "port": self.port, "published": self.published}  # fmt: skip


_VTYPE: dict[int, str] = {int(KindCode.BOOL): "Boolean", int(KindCode.INT): "Int32", int(KindCode.STATE): "Int32"}


class SimulatedPlc(_Simulated):
    """An OPC UA server holding every signal of the plant as a variable, fed by the synthetic line."""

    kind = "simulated-opcua"

    def __init__(self, plant: Plant, rate: float = 1.0, seed: int = 42, port: int = 4840) -> None:
        super().__init__(plant, rate, seed, port)
        self.ns = 2
        self._nodes: list[Any] = []
        self._vtypes: list[Any] = []

    @property
    def url(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}"

    def describe(self) -> str:
        return f"simulated OPC UA server {self.url} ({len(self.plant.signals)} variables)"

    def nodeid(self, sid: int) -> str:
        idx = self.plant.signals
        return f"ns={self.ns};s={_relative(self.plant, str(idx.twin[sid]))}.{idx.name[sid]}"

    async def _serve(self) -> None:
        import asyncua
        from asyncua.server.server import Server

        ua: Any = asyncua.ua
        server: Any = Server()
        await server.init()
        server.set_endpoint(self.url)
        server.set_server_name(f"twinverse demo PLC ({self.plant.name})")
        self.ns = await server.register_namespace(f"urn:twinverse:demo:{self.plant.id}")
        root = await server.nodes.objects.add_folder(ua.NodeId(self.plant.id, self.ns),
                                                     ua.QualifiedName(self.plant.id, self.ns))  # fmt: skip
        idx = self.plant.signals
        objects: dict[str, Any] = {}
        for sid in range(len(idx)):
            twin = _relative(self.plant, str(idx.twin[sid]))
            obj = objects.get(twin)
            if obj is None:
                obj = objects[twin] = await root.add_object(ua.NodeId(twin, self.ns), ua.QualifiedName(twin, self.ns))
            vtype = getattr(ua.VariantType, _VTYPE.get(int(idx.kind[sid]), "Double"))
            initial = False if vtype == ua.VariantType.Boolean else 0 if vtype == ua.VariantType.Int32 else 0.0
            var = await obj.add_variable(ua.NodeId(f"{twin}.{idx.name[sid]}", self.ns),
                                         ua.QualifiedName(str(idx.name[sid]), self.ns), ua.Variant(initial, vtype))
            if idx.signal[sid].writable:
                await var.set_writable()
            self._nodes.append(var.nodeid)
            self._vtypes.append(vtype)
        self._server = server
        self._done = asyncio.Event()
        async with server:
            self._ready.set()
            await self._done.wait()

    async def _write(self, ts_us: int, sids: npt.NDArray[np.int32], values: npt.NDArray[np.float64]) -> None:
        import asyncua

        ua: Any = asyncua.ua
        at = datetime.fromtimestamp(ts_us / 1e6, UTC)
        for sid, v in zip(sids.tolist(), values.tolist(), strict=True):
            vtype = self._vtypes[sid]
            py = bool(v) if vtype == ua.VariantType.Boolean else round(v) if vtype == ua.VariantType.Int32 else v
            dv = ua.DataValue(ua.Variant(py, vtype), SourceTimestamp=at, ServerTimestamp=at)
            await self._server.write_attribute_value(self._nodes[sid], dv)

    def connector(self, name: str = "demo") -> OpcuaSource:
        """The OPC UA source reading every variable of this server."""
        writable = [s.writable for s in self.plant.signals.signal]
        nodes = tuple(NodeMap(sid, self.nodeid(sid), None, 1.0, 0.0, 0.0, 1, 0.0, writable[sid])
                      for sid in range(len(self.plant.signals)))  # fmt: skip
        config = OpcuaConfig(self.url, 2.0, 100.0, 5000, 1.0, None, None, nodes, ())
        return OpcuaSource(name, self.plant, config, reconnect=(0.2, 5.0))


class SimulatedMeters(_Simulated):
    """A Modbus TCP server holding every signal as a float32 in two holding registers (unit 1)."""

    kind = "simulated-modbus"

    def __init__(self, plant: Plant, rate: float = 1.0, seed: int = 42, port: int = 5020) -> None:
        super().__init__(plant, rate, seed, port)
        if 2 * len(plant.signals) > 65_536:
            raise ConfigError(f"the Modbus demo holds at most 32768 signals; plant {plant.id!r} has "
                              f"{len(plant.signals)}")  # fmt: skip
        self.rate = rate

    def describe(self) -> str:
        return f"simulated Modbus meters modbus://127.0.0.1:{self.port} ({len(self.plant.signals)} float32 values)"

    async def _serve(self) -> None:
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        n = max(2 * len(self.plant.signals), 1)
        device = SimDevice(id=1, simdata=(
            [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
            [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
            [SimData(0, values=[0] * n, datatype=DataType.REGISTERS)],
            [SimData(0, values=[0] * 16, datatype=DataType.REGISTERS)],
        ))  # fmt: skip
        self._server = ModbusTcpServer([device], address=("127.0.0.1", self.port))
        self._done = asyncio.Event()
        task = asyncio.create_task(self._server.serve_forever())
        await asyncio.sleep(0)
        for _ in range(300):  # listening?
            try:
                _, w = await asyncio.open_connection("127.0.0.1", self.port)
                w.close()
                break
            except OSError:
                await asyncio.sleep(0.02)
        self._ready.set()
        await self._done.wait()
        await self._server.shutdown()
        await asyncio.sleep(0.1)  # the closed connections' transports finish before the loop closes
        task.cancel()

    async def _write(self, ts_us: int, sids: npt.NDArray[np.int32], values: npt.NDArray[np.float64]) -> None:
        order = np.argsort(sids)
        s, v = sids[order], values[order].astype(">f4")
        regs = np.frombuffer(v.tobytes(), dtype=">u2").astype(np.int64)
        if len(s) and (s == np.arange(s[0], s[0] + len(s))).all():  # one run (the synthetic plant sends all)
            await self._server.context.async_setValues(1, 16, int(2 * s[0]), regs.tolist())
            return
        for k, sid in enumerate(s.tolist()):
            await self._server.context.async_setValues(1, 16, 2 * sid, regs[2 * k:2 * k + 2].tolist())

    def connector(self, name: str = "demo") -> ModbusSource:
        """The Modbus source polling every register pair of this device, as often as the line changes."""
        poll = max(0.05, 1.0 / max(self.rate, 1e-3) / 2)
        writable = [s.writable for s in self.plant.signals.signal]
        points = tuple(Point(sid, 1, "holding", 2 * sid, "float32", None, False, False, 1.0, 0.0, poll, writable[sid])
                       for sid in range(len(self.plant.signals)))  # fmt: skip
        config = ModbusConfig("127.0.0.1", self.port, 2.0, 1, 8, points)
        return ModbusSource(name, self.plant, config, reconnect=(0.2, 5.0))


def _opcua(plant: Plant, rate: float, seed: int, broker: str | None) -> tuple[Source, Source]:
    device = SimulatedPlc(plant, rate, seed, free_or(4840))
    return device, device.connector()


def _modbus(plant: Plant, rate: float, seed: int, broker: str | None) -> tuple[Source, Source]:
    device = SimulatedMeters(plant, rate, seed, free_or(5020))
    return device, device.connector()


def _sparkplug(plant: Plant, rate: float, seed: int, broker: str | None) -> tuple[Source, Source]:
    from .sparkplug_demo import sparkplug_demo  # paho and protobuf only when asked for

    return sparkplug_demo(plant, rate, seed, broker)


#: The demo over each protocol; a plugin's protocol may register here (``FIELD_DEMOS["name"] = …``).
FIELD_DEMOS: dict[str, FieldDemo] = {"opcua": _opcua, "modbus": _modbus, "sparkplug": _sparkplug}


def field_demo(protocol: str, plant: Plant, rate: float, seed: int, broker: str | None = None) -> tuple[Source, Source]:
    """The simulated device and the connector reading it, for ``protocol``; ConfigError if there is none."""
    if protocol not in FIELD_DEMOS and protocol.isidentifier():
        # The hook: a connector module named like the protocol (twinverse.ingest.sparkplug) may register
        # its demo in FIELD_DEMOS when imported.
        with contextlib.suppress(ImportError):
            importlib.import_module(f"{__package__}.{protocol}")
    factory = FIELD_DEMOS.get(protocol)
    if factory is None:
        raise ConfigError(f"no demo over {protocol!r} (available: {', '.join(sorted(FIELD_DEMOS))})")
    return factory(plant, rate, seed, broker)
