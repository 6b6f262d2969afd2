"""What every field connector shares: a bounded buffer, a flush thread, health, stale marking.

A protocol thread (a Modbus poller, an OPC UA client's event loop) calls :meth:`FieldSource.emit`
with columns — timestamps (µs), sids, values, qualities — never one object per point. The
flush thread concatenates what arrived into one batch and hands it to :meth:`Engine.ingest`,
retrying while the store fails. The buffer is bounded (``buffer`` points): when it is full,
``emit`` blocks, so the protocol thread reads more slowly instead of memory growing; a
poller simply polls later, an OPC UA client sends its next publish request later and the
server's queues hold (and, past their size, discard) the changes.

When the far side goes away the connector calls :meth:`FieldSource.mark_bad`: each of its
signals gets one more row, its last value with quality ``BAD`` at that time, so the live
state, the viewer and the history all say "not current" until the next good value.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ..core.batch import make_batch
from ..core.clock import iso
from ..core.clock import now_us as _now_us
from ..core.quality import Quality
from ..errors import CommandRefused, ConflictError, StoreError
from ..live.engine import Engine
from ..model import Plant
from .base import Health

__all__ = ["FieldSource"]

log = logging.getLogger("twinverse.ingest.field")


class FieldSource:
    """Base of the field connectors: subclasses run the protocol in :meth:`_run` on their own thread.

    ``sids`` are every signal the source feeds (they turn ``BAD`` together when it loses
    its connection). Subclasses call :meth:`emit`, :meth:`mark_bad`, :meth:`_connected_now`,
    :meth:`_disconnected_now` and :meth:`_error`, and check :attr:`stopping`.
    """

    kind: ClassVar[str] = "field"

    def __init__(
        self, name: str, url: str, plant: Plant, sids: npt.NDArray[np.int32], *,
        buffer: int = 100_000, reconnect: tuple[float, float] = (0.5, 30.0), interval: float = 0.02,
    ) -> None:  # fmt: skip
        self.name = name
        self.url = url
        self.plant = plant
        self.sids = np.unique(np.asarray(sids, dtype=np.int32))
        self.buffer = buffer
        self.reconnect = reconnect
        self.interval = interval
        self._engine: Engine | None = None
        self._cond = threading.Condition()
        self._parts: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float64],
                                npt.NDArray[np.uint8]]] = []  # fmt: skip
        self._backlog = 0  # points in _parts plus the batch being stored
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last = np.full(len(plant.signals), np.nan)  # newest value emitted per sid (for stale rows)
        self._bad = np.zeros(len(plant.signals), dtype=bool)  # sids currently marked BAD by the source
        self.connected = False
        self.connects = 0
        self.points = 0  # handed to the engine
        self.stored = 0
        self.errors = 0
        self.stalls = 0  # times emit waited for room in the buffer
        self.last_data_us = 0
        self.last_error = ""
        self.error_kinds: Counter[str] = Counter()
        #: Signals commands may write through this source (the mapping's or the type's ``writable``).
        self.writable_sids: frozenset[int] = frozenset()
        self.writes = 0
        self.write_errors = 0

    # -- Source protocol ----------------------------------------------------------------------
    def describe(self) -> str:
        return f"{self.kind} {self.name} {self.url} ({len(self.sids)} signals)"

    def start(self, engine: Engine) -> None:
        """Begin connecting and delivering; returns at once (a far side that is down is retried)."""
        if self._threads:
            raise RuntimeError(f"{self.describe()} is already running")
        self._engine = engine
        self._stop.clear()
        known = np.isfinite(engine.value[self.sids])
        self._last[self.sids[known]] = engine.value[self.sids[known]]
        for target, what in ((self._flush_loop, "flush"), (self._run, "io")):
            t = threading.Thread(target=target, name=f"{self.kind}-{what}-{self.name}", daemon=True)
            self._threads.append(t)
            t.start()

    def stop(self) -> None:
        """Stop reading, store what is buffered, release the connection."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for t in reversed(self._threads):  # the protocol thread first, then the last flush
            t.join(timeout=30)
        self._threads = []
        self.connected = False

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if the source is stopping."""
        return self._stop.wait(seconds)

    def health(self) -> Health:
        """Connected, last data, reconnects, errors and backlog, plus the kind's own counters."""
        with self._cond:
            backlog = self._backlog
        out: Health = {
            "kind": self.kind, "name": self.name, "url": self.url, "connected": self.connected,
            "running": any(t.is_alive() for t in self._threads), "signals": len(self.sids),
            "reconnects": max(self.connects - 1, 0), "errors": self.errors, "backlog": backlog,
            "buffer": self.buffer, "stalls": self.stalls, "points": self.points, "stored": self.stored,
            "last_data": iso(self.last_data_us) if self.last_data_us else "", "last_data_ts": self.last_data_us / 1e6,
            "last_error": self.last_error,
            "bad_signals": int(self._bad[self.sids].sum()),
            "writes": self.writes, "write_errors": self.write_errors,
        }  # fmt: skip
        out.update(self._extra_health())
        return out

    def _extra_health(self) -> Health:
        return {}

    # -- for the protocol thread ------------------------------------------------------------------
    def _run(self) -> None:  # pragma: no cover - every subclass has one
        raise NotImplementedError

    def emit(
        self, ts_us: npt.NDArray[np.int64], sid: npt.NDArray[np.int32], value: npt.NDArray[np.float64],
        quality: npt.NDArray[np.uint8] | int = Quality.GOOD,
    ) -> None:  # fmt: skip
        """Queue columns for the engine; blocks while the buffer is full (back-pressure)."""
        n = len(sid)
        if n == 0:
            return
        q = np.full(n, quality, dtype=np.uint8) if isinstance(quality, int) else quality
        ok = np.isfinite(value)
        if not ok.all():  # a NaN is no reading (a bad value without a last good one); nothing to store
            ts_us, sid, value, q = ts_us[ok], sid[ok], value[ok], q[ok]
            n = len(sid)
            if n == 0:
                return
        with self._cond:
            while self._backlog >= self.buffer and self._backlog and not self._stop.is_set():
                self.stalls += 1
                self._cond.wait(0.1)
            self._parts.append((ts_us, sid, value, q))
            self._backlog += n
            self._cond.notify_all()
        self._last[sid] = value
        self._bad[sid] = q == Quality.BAD
        self.last_data_us = int(ts_us[-1])

    def mark_bad(self, sids: npt.NDArray[np.int32] | None = None, ts_us: int | None = None) -> None:
        """Repeat the last value of ``sids`` (default: all) with quality BAD, now; skip unknown ones."""
        s = self.sids if sids is None else np.asarray(sids, dtype=np.int32)
        s = s[~self._bad[s] & np.isfinite(self._last[s])]
        if len(s) == 0:
            return
        at = _now_us() if ts_us is None else ts_us
        last = self.last_data_us
        self.emit(np.full(len(s), at, dtype=np.int64), s, self._last[s].copy(), Quality.BAD)
        self.last_data_us = last  # a stale mark is not data
        self._bad[s] = True

    def last_values(self, sids: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
        """The newest value emitted (or restored) per sid; NaN if none."""
        out: npt.NDArray[np.float64] = self._last[sids]
        return out

    def _check_write(self, sid: int) -> None:
        """Refuse a write of a signal this source does not feed, may not write, or cannot reach now."""
        sig = f"{self.plant.signals.twin[sid]}.{self.plant.signals.name[sid]}"
        if sid not in self.writable_sids:
            raise ConflictError(f"signal {sig} is not writable through {self.kind} source {self.name!r} "
                                "(declare it 'writable: true' in its type or in the source mapping)")  # fmt: skip
        if not self.connected:
            why = self.last_error or "starting"
            raise CommandRefused(f"{self.kind} source {self.name!r} is not connected ({why}); {sig} was not written")

    def _write_failed(self, text: str) -> CommandRefused:
        self.write_errors += 1
        self._error("write", text)
        return CommandRefused(text)

    def _connected_now(self) -> None:
        self.connected = True
        self.connects += 1
        log.info("%s connected", self.describe())

    def _disconnected_now(self, why: str) -> None:
        was = self.connected
        self.connected = False
        self._error("connection", why)
        if was:
            log.warning("%s lost its connection (%s); its signals are BAD until it is back", self.describe(), why)
        self.mark_bad()

    def _error(self, kind: str, text: str) -> None:
        self.errors += 1
        self.error_kinds[kind] += 1
        self.last_error = text

    def backoff(self) -> _Backoff:
        return _Backoff(*self.reconnect)

    # -- flush thread -------------------------------------------------------------------------------
    def _flush_loop(self) -> None:
        while True:
            with self._cond:
                while not self._parts and not self._stop.is_set():
                    self._cond.wait(0.5)
                if not self._parts:
                    return  # stopping, nothing left
                parts, self._parts = self._parts, []
            if len(parts) == 1:
                ts, sid, value, q = parts[0]
            else:
                ts, sid, value, q = (np.concatenate([p[i] for p in parts]) for i in range(4))
            try:
                self._store(make_batch(ts, sid, value, q))
            except Exception:  # keep the thread alive; the data of a broken batch is logged and counted
                log.exception("%s: a batch of %d points could not be stored", self.describe(), len(sid))
                self._error("store", "a batch could not be stored (see the log)")
            with self._cond:
                self._backlog -= len(sid)
                self._cond.notify_all()
            if not self._stop.is_set():
                self._stop.wait(self.interval)  # let the next batch grow a little

    def _store(self, batch: pa.RecordBatch) -> None:
        engine = self._engine
        assert engine is not None
        delay = 0.1
        while True:
            try:
                result = engine.ingest(batch, source=f"{self.kind}:{self.name}")
            except StoreError as exc:
                self._error("store", f"store failed: {exc}")
                if self._stop.is_set() and delay > 1.0:
                    log.error("%s: store failing at stop; a batch is lost", self.describe())
                    return
                log.error("%s: store failed (%s); retrying in %.1f s", self.describe(), exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.points += result.received
            self.stored += result.stored
            if result.rejected:
                self._error("rejected", f"{result.rejected} points rejected by the engine (see quarantine)")
            return


class _Backoff:
    """Exponential back-off between connection attempts: first, doubling, up to longest."""

    def __init__(self, first: float, longest: float) -> None:
        self.first, self.longest = first, longest
        self.next = first

    def delay(self) -> float:
        d = self.next
        self.next = min(self.next * 2, self.longest)
        return d

    def reset(self) -> None:
        self.next = self.first
