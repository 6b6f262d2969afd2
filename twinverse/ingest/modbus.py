"""Modbus TCP source (pymodbus): polls planned blocks, decodes columns, marks faults BAD.

One thread per source polls its :class:`~twinverse.ingest.modbus_map.PollGroup` s at their
intervals with pymodbus' synchronous TCP client (one request in flight, as most devices
want). Faults, and what each does:

- an **exception response** (illegal address, device failure, …): the block's signals get
  their last value with quality BAD; the code is counted (``exception_codes`` in health) and
  named in ``last_error``; the connection stays up and the block is read again next time;
- **no answer** within ``timeout`` (after ``retries`` further attempts) or a **closed
  connection**: every signal of the source turns BAD, the connection is dropped and made
  again with exponential back-off (``reconnect``); the first good read makes them GOOD.

Modbus carries no timestamps: a value is stamped with the time its response arrived.

Writes (:meth:`ModbusSource.write`, a :class:`~twinverse.ingest.base.Writable`): a holding
register value is encoded with the point's type, byte and word order, scale and offset
inverted (function 6 for one register, 16 for more), a bit of a holding register is read,
changed and written back, a coil is written with function 5. The point is then read again
and that read-back, not the request, becomes the live value. Writes share the connection
with the poller (one request in flight).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core.clock import now_us as _now_us
from ..errors import InputError
from ..model import Plant
from .base import Health
from .field import FieldSource
from .modbus_map import BIT_TABLES, TYPES, Block, ModbusConfig, ModbusParser, Point, PollGroup, plan
from .spec import KindBase, SourceSpec

__all__ = ["EXCEPTION_NAMES", "MODBUS", "ModbusSource", "encode"]

log = logging.getLogger("twinverse.ingest.modbus")

#: Modbus exception codes (application protocol v1.1b3, section 7).
EXCEPTION_NAMES = {
    1: "illegal function", 2: "illegal data address", 3: "illegal data value", 4: "server device failure",
    5: "acknowledge", 6: "server device busy", 8: "memory parity error", 10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}  # fmt: skip

_READ = {"coil": "read_coils", "discrete": "read_discrete_inputs", "input": "read_input_registers",
         "holding": "read_holding_registers"}  # fmt: skip


class _Lost(Exception):
    """The connection is unusable: no answer, closed, or refused."""


class ModbusSource(FieldSource):
    """Poll one Modbus TCP endpoint (many unit ids and maps) into an engine."""

    kind = "modbus"

    def __init__(
        self, name: str, plant: Plant, config: ModbusConfig, *,
        buffer: int = 100_000, reconnect: tuple[float, float] = (0.5, 30.0),
    ) -> None:  # fmt: skip
        sids = np.array([p.sid for p in config.points], dtype=np.int32)
        super().__init__(name, f"modbus://{config.host}:{config.port}", plant, sids, buffer=buffer,
                         reconnect=reconnect)  # fmt: skip
        self.config = config
        self.groups: list[PollGroup] = plan(config.points, config.max_gap)
        self.requests = 0
        self.registers = 0  # registers and bits read
        self.polls = 0
        self.exceptions: Counter[int] = Counter()
        self._points: dict[int, Point] = {p.sid: p for p in config.points}
        self.writable_sids = frozenset(p.sid for p in config.points if p.writable)
        self._io = threading.Lock()  # one request in flight: the poller's and the writers'
        self._client_now: Any = None

    @classmethod
    def from_spec(cls, spec: SourceSpec, plant: Plant) -> ModbusSource:
        return cls(spec.common.name, plant, spec.config, buffer=spec.common.buffer, reconnect=spec.common.reconnect)

    @property
    def blocks(self) -> list[Block]:
        """Every planned read request."""
        return [b for g in self.groups for b in g.blocks]

    def describe(self) -> str:
        return (f"modbus {self.name} {self.url} ({len(self.sids)} signals in {len(self.blocks)} reads, "
                f"{len(self.groups)} intervals)")  # fmt: skip

    def _extra_health(self) -> Health:
        codes = ",".join(f"{c}:{n}" for c, n in sorted(self.exceptions.items()))
        return {"requests": self.requests, "registers": self.registers, "polls": self.polls,
                "exceptions": sum(self.exceptions.values()), "exception_codes": codes}  # fmt: skip

    # -- protocol thread ------------------------------------------------------------------------
    def _client(self) -> Any:
        from pymodbus.client import ModbusTcpClient  # imported here: validating a plant needs no pymodbus

        c = self.config
        return ModbusTcpClient(c.host, port=c.port, timeout=c.timeout, retries=c.retries,
                               reconnect_delay=0, reconnect_delay_max=0)  # fmt: skip

    def _run(self) -> None:
        backoff = self.backoff()
        due = [0.0] * len(self.groups)
        while not self.stopping:
            client = self._client()
            try:
                if not client.connect():
                    self._disconnected_now(f"cannot connect to {self.url}")
                    self.wait(backoff.delay())
                    continue
                self._client_now = client
                self._poll(client, due, backoff)
            except _Lost as exc:
                self._disconnected_now(str(exc))
                self.wait(backoff.delay())
            except Exception as exc:  # a bug must not end the thread silently: count it, reconnect
                log.exception("%s: polling failed", self.describe())
                self._disconnected_now(f"internal error: {exc!r}")
                self.wait(backoff.delay())
            finally:
                with self._io:
                    self._client_now = None
                    client.close()
        self.connected = False

    def _poll(self, client: Any, due: list[float], backoff: Any) -> None:
        """Poll until stopped; the source counts as connected from the first answer (a TCP
        connection that nothing answers on is not a device)."""
        while not self.stopping:
            if len(due) != len(self.groups):  # the plan was replaced (tests, tools): start its clock afresh
                due[:] = [0.0] * len(self.groups)
            now = time.monotonic()
            for i, group in enumerate(self.groups):
                if due[i] <= now:
                    self._read_group(client, group)
                    if not self.connected:
                        self._connected_now()
                        backoff.reset()
                    due[i] = due[i] + group.interval if due[i] + group.interval > now else now + group.interval
            if self.wait(max(0.0, min(due) - time.monotonic())):
                return

    def _read_group(self, client: Any, group: PollGroup) -> None:
        ts: list[npt.NDArray[np.int64]] = []
        sids: list[npt.NDArray[np.int32]] = []
        values: list[npt.NDArray[np.float64]] = []
        for block in group.blocks:
            response = self._read(client, block)
            at = _now_us()
            if response.isError():
                self._exception(block, response)
                continue
            data = response.bits if block.table in BIT_TABLES else response.registers
            s, v = block.decode(data)
            sids.append(s)
            values.append(v)
            ts.append(np.full(len(s), at, dtype=np.int64))
        self.polls += 1
        if sids:
            self.emit(np.concatenate(ts), np.concatenate(sids), np.concatenate(values))

    def _read(self, client: Any, block: Block) -> Any:
        from pymodbus.exceptions import ModbusException

        read = getattr(client, _READ[block.table])
        try:
            with self._io:
                response = read(block.start, count=block.count, device_id=block.unit_id)
        except ModbusException as exc:  # pymodbus' own: no answer, connection closed or refused
            raise _Lost(f"unit {block.unit_id} {block.table} {block.start}+{block.count}: {exc}") from exc
        except OSError as exc:
            raise _Lost(f"{self.url}: {exc}") from exc
        self.requests += 1
        if not response.isError():
            self.registers += block.count
        return response

    def _exception(self, block: Block, response: Any) -> None:
        code = int(getattr(response, "exception_code", 0) or 0)
        self.exceptions[code] += 1
        what = EXCEPTION_NAMES.get(code, "unknown exception")
        self._error("exception", f"unit {block.unit_id} {block.table} {block.start}..{block.start + block.count - 1}: "
                                 f"exception {code} ({what})")  # fmt: skip
        self.mark_bad(block.sids)


    # -- writes -------------------------------------------------------------------------------------
    def write(self, sid: int, value: float, *, timeout: float = 5.0) -> None:
        """Write ``value`` (the signal's unit) to the point feeding ``sid``, then read it back into the live state."""
        self._check_write(sid)
        point = self._points[sid]
        if not self._io.acquire(timeout=timeout):
            raise self._write_failed(f"{self.url}: the connection stayed busy for {timeout:g} s; not written")
        try:
            client = self._client_now
            if client is None or not self.connected:
                raise self._write_failed(f"{self.url} is not connected; not written")
            self._send(client, point, value)
            block = plan([point], 0)[0].blocks[0]
            response = self._call(client, point.unit_id, _READ[block.table], block.start, count=block.count)
        finally:
            self._io.release()
        self.writes += 1
        if response.isError():  # written, but the read-back failed: the next poll tells
            return
        s, v = block.decode(response.bits if block.table in BIT_TABLES else response.registers)
        self.emit(np.full(len(s), _now_us(), dtype=np.int64), s, v)

    def _call(self, client: Any, unit: int, method: str, *args: Any, **kw: Any) -> Any:
        from pymodbus.exceptions import ModbusException

        try:
            return getattr(client, method)(*args, device_id=unit, **kw)
        except (ModbusException, OSError) as exc:
            raise self._write_failed(f"{self.url}: {method} at {args[0]} of unit {unit}: {exc}") from exc

    def _send(self, client: Any, point: Point, value: float) -> None:
        u = point.unit_id
        raw = (value - point.offset) / point.scale
        if point.table == "coil":
            response = self._call(client, u, "write_coil", point.address, bool(round(raw)))
        elif point.bit is not None:
            current = self._call(client, u, "read_holding_registers", point.address, count=1)
            self._refused(point, current)
            reg = int(current.registers[0])
            reg = reg | (1 << point.bit) if round(raw) else reg & ~(1 << point.bit)
            response = self._call(client, u, "write_register", point.address, reg)
        else:
            regs = encode(point, raw)
            response = (self._call(client, u, "write_register", point.address, regs[0]) if len(regs) == 1
                        else self._call(client, u, "write_registers", point.address, regs))  # fmt: skip
        self._refused(point, response)

    def _refused(self, point: Point, response: Any) -> None:
        if not response.isError():
            return
        code = int(getattr(response, "exception_code", 0) or 0)
        self.exceptions[code] += 1
        name = EXCEPTION_NAMES.get(code, "unknown exception")
        raise self._write_failed(f"unit {point.unit_id} {point.table} {point.address}: the device refused the write "
                                 f"with exception {code} ({name})")  # fmt: skip


def encode(point: Point, raw: float) -> list[int]:
    """The registers holding ``raw`` as the point's type, in its byte and word order (the inverse of decoding).

    >>> from twinverse.ingest.modbus_map import Point
    >>> encode(Point(0, 1, "holding", 0, "float32", None, False, True, 1.0, 0.0, 1.0), 612.5)  # CDAB
    [8192, 17433]
    """
    dtype = TYPES[point.type][1]
    if dtype[1] in "iu":
        info = np.iinfo(np.dtype(dtype))
        r = round(raw)
        if not info.min <= r <= info.max:
            raise InputError(f"{raw:g} does not fit the point's {point.type} (register {point.address}); "
                             f"range {info.min}..{info.max} before scale and offset")  # fmt: skip
        arr = np.array([r], dtype=dtype)
    else:
        if point.type == "float32" and abs(raw) > float(np.finfo(np.float32).max):
            raise InputError(f"{raw:g} does not fit a float32 (register {point.address})")
        arr = np.array([raw], dtype=dtype)
    w = np.frombuffer(arr.tobytes(), dtype=">u2").astype(np.uint16)
    if point.byte_little:
        w = ((w >> 8) | (w << 8)).astype(np.uint16)
    if point.word_little:
        w = w[::-1]
    return [int(x) for x in w]


class _ModbusKind(ModbusParser, KindBase):
    """The ``modbus`` kind of ``sources:``: register maps in, :class:`ModbusSource` out."""

    name = "modbus"

    def build(self, spec: SourceSpec, plant: Plant) -> ModbusSource:
        return ModbusSource.from_spec(spec, plant)


#: The ``modbus`` entry of the source registry (twinverse.plugins.DEFAULT_SOURCES).
MODBUS = _ModbusKind()
