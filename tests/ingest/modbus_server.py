"""A real pymodbus TCP server on 127.0.0.1 with a known register image, and a fault proxy.

The image is encoded here with :mod:`struct` (independently of twinverse's NumPy decoder):
every register type in every byte/word order, bit fields, scaled values, coils and
discrete inputs, a far block and a second unit id. :class:`FaultProxy` sits between a
client and the server on its own port and can pass traffic, swallow requests (a device
that stops answering) or close connections (a device that hangs up).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from ..conftest import free_port


def words(fmt: str, value: float, byte_order: str = "big", word_order: str = "big") -> list[int]:
    """``value`` packed big-endian as ``fmt`` and split into registers in the given orders."""
    raw = struct.pack(">" + fmt, value)
    regs = [raw[i:i + 2] for i in range(0, len(raw), 2)]
    if word_order == "little":
        regs.reverse()
    if byte_order == "little":
        regs = [r[::-1] for r in regs]
    return [int.from_bytes(r, "big") for r in regs]


#: (signal, table, address, type, byte order, word order, expected value, extra point fields)
EXPECTED: list[tuple[str, str, int, str, str, str, float, dict[str, object]]] = [
    ("i16", "holding", 0, "int16", "big", "big", -1234, {}),
    ("u16", "holding", 1, "uint16", "big", "big", 54321, {}),
    ("i32", "holding", 2, "int32", "big", "big", -123456789, {}),
    ("u32_cdab", "holding", 4, "uint32", "big", "little", 3_000_000_000, {}),
    ("f32", "holding", 6, "float32", "big", "big", 21.5, {}),
    ("f32_dcba", "holding", 8, "float32", "little", "little", -3.25, {}),
    ("i64", "holding", 10, "int64", "big", "big", -1234567890123, {}),
    ("u64_badc", "holding", 14, "uint64", "little", "big", 12345678901234, {}),
    ("f64", "holding", 18, "float64", "big", "big", 3.141592653589793, {}),
    ("bit3", "holding", 22, "uint16", "big", "big", 1, {"bit": 3}),
    ("bit4", "holding", 22, "uint16", "big", "big", 0, {"bit": 4}),
    ("scaled", "holding", 23, "uint16", "big", "big", 11.5, {"scale": 0.1, "offset": -10}),
    ("far", "holding", 200, "uint16", "big", "big", 777, {}),
    ("in_f32_cdab", "input", 0, "float32", "big", "little", 98.25, {}),
    ("in_i16_ba", "input", 2, "int16", "little", "big", -2, {}),
    ("coil0", "coil", 0, "bool", "big", "big", 1, {}),
    ("coil1", "coil", 1, "bool", "big", "big", 0, {}),
    ("coil9", "coil", 9, "bool", "big", "big", 1, {}),
    ("di0", "discrete", 0, "bool", "big", "big", 0, {}),
    ("di5", "discrete", 5, "bool", "big", "big", 1, {}),
]
_FMT = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "int64": "q", "uint64": "Q",
        "float32": "f", "float64": "d"}


def image() -> dict[str, list[int]]:
    """The holding and input registers of unit 1 (300 each) encoding :data:`EXPECTED`."""
    hr, ir = [0] * 300, [0] * 300
    for _sig, table, addr, typ, bo, wo, value, extra in EXPECTED:
        if table not in ("holding", "input") or "bit" in extra:
            continue
        raw = 215 if "scale" in extra else value
        regs = words(_FMT[typ], raw, bo, wo)
        target = hr if table == "holding" else ir
        target[addr:addr + len(regs)] = regs
    hr[22] = 0b0000_0000_0010_1000  # bit 3 and bit 5 set, bit 4 clear
    return {"holding": hr, "input": ir}


COILS = [True, False, True, True, False, False, False, False, False, True] + [False] * 22
DISCRETE = [False, False, False, False, False, True] + [False] * 26


@dataclass
class ModbusServer:
    """A pymodbus server in its own thread and event loop; ``stop``/``start`` for restarts."""

    port: int = field(default_factory=free_port)
    _loop: asyncio.AbstractEventLoop | None = None
    _server: ModbusTcpServer | None = None
    _thread: threading.Thread | None = None

    def devices(self) -> list[SimDevice]:
        img = image()
        unit1 = SimDevice(id=1, simdata=(
            [SimData(0, values=COILS, datatype=DataType.BITS)],
            [SimData(0, values=DISCRETE, datatype=DataType.BITS)],
            [SimData(0, values=img["holding"], datatype=DataType.REGISTERS)],
            [SimData(0, values=img["input"], datatype=DataType.REGISTERS)],
        ))
        unit2 = SimDevice(id=2, simdata=(
            [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
            [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
            [SimData(0, values=[42] + [0] * 2999, datatype=DataType.REGISTERS)],
            [SimData(0, values=[0] * 16, datatype=DataType.REGISTERS)],
        ))
        return [unit1, unit2]

    def start(self) -> ModbusServer:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)

            async def main() -> None:
                self._server = ModbusTcpServer(self.devices(), address=("127.0.0.1", self.port))
                ready.set()
                await self._server.serve_forever()
                await asyncio.sleep(0.1)  # the closed connections' transports finish (no unclosed-transport warnings)

            self._loop.run_until_complete(main())

        self._thread = threading.Thread(target=run, name=f"modbus-server-{self.port}", daemon=True)
        self._thread.start()
        ready.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.02)
        return self

    def set_holding(self, unit: int, address: int, values: list[int]) -> None:
        assert self._loop is not None and self._server is not None
        fut = asyncio.run_coroutine_threadsafe(self._server.context.async_setValues(unit, 16, address, values),
                                               self._loop)
        fut.result(10)

    def get(self, unit: int, function: int, address: int, count: int) -> list[int]:
        """The server's own image (function 1 coils, 3 holding registers), read without Modbus."""
        assert self._loop is not None and self._server is not None
        fut = asyncio.run_coroutine_threadsafe(self._server.context.async_getValues(unit, function, address, count),
                                               self._loop)
        return [int(v) for v in fut.result(10)]

    def stop(self) -> None:
        if self._loop is None or self._server is None:
            return
        asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop).result(10)
        if self._thread is not None:
            self._thread.join(10)
        self._loop.close()
        self._loop = self._server = self._thread = None


class FaultProxy:
    """A TCP proxy to ``port`` with a switchable fault: ``pass``, ``blackhole`` or ``close``."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.port = free_port()
        self.mode = "pass"
        self._sock = socket.create_server(("127.0.0.1", self.port))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def set(self, mode: str) -> None:
        self.mode = mode
        if mode == "close":
            with self._lock:
                for c in self._conns:
                    with contextlib.suppress(OSError):
                        c.shutdown(socket.SHUT_RDWR)
                    c.close()
                self._conns.clear()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.mode == "close":
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=2)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b, requests in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pipe, args=(a, b, requests), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, requests: bool) -> None:
        try:
            while not self._stop.is_set():
                data = src.recv(65536)
                if not data:
                    break
                if requests and self.mode == "blackhole":
                    continue  # the device stops answering: requests vanish, the connection stays open
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        self.set("close")
