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
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core.clock import now_us as _now_us
from ..model import Plant
from .base import Health
from .field import FieldSource
from .modbus_map import BIT_TABLES, Block, ModbusConfig, ModbusParser, PollGroup, plan
from .spec import KindBase, SourceSpec

__all__ = ["EXCEPTION_NAMES", "MODBUS", "ModbusSource"]

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
                self._poll(client, due, backoff)
            except _Lost as exc:
                self._disconnected_now(str(exc))
                self.wait(backoff.delay())
            except Exception as exc:  # a bug must not end the thread silently: count it, reconnect
                log.exception("%s: polling failed", self.describe())
                self._disconnected_now(f"internal error: {exc!r}")
                self.wait(backoff.delay())
            finally:
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


class _ModbusKind(ModbusParser, KindBase):
    """The ``modbus`` kind of ``sources:``: register maps in, :class:`ModbusSource` out."""

    name = "modbus"

    def build(self, spec: SourceSpec, plant: Plant) -> ModbusSource:
        return ModbusSource.from_spec(spec, plant)


#: The ``modbus`` entry of the source registry (twinverse.plugins.DEFAULT_SOURCES).
MODBUS = _ModbusKind()
