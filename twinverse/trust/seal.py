"""Sealed history: commit every completed segment of history to the transparency log.

Telemetry is not logged point by point. Instead time is cut into segments aligned to the
Unix epoch (``[k·segment, (k+1)·segment)``); once a segment has ended and a further
``lag`` has passed, :class:`HistorySealer` hashes its rows (:meth:`SegmentSource.segment_digest`,
encoding ``twinverse-seg-v1``) and appends one log entry::

    action  history.segment.sealed
    target  history:<plant id>:<start, ISO 8601 UTC>
    details {"from": start, "to": end, "rows": n, "sha256": hex, "encoding": "twinverse-seg-v1"}

:func:`~twinverse.trust.seal_check.verify_history` recomputes every sealed segment from
the store and reports each one whose rows changed, were deleted or were inserted
afterwards, naming the log entry.

Coverage starts at the segment holding the store's earliest row, so existing history is
sealed too, and stays contiguous: each new entry starts where the newest one ended (read
back from the log, so a restarted sealer continues where it stopped). A run of *empty*
segments met while catching up is sealed as one entry with ``rows`` 0, so a plant that
was off for a month costs one entry, not 4,000.

The sealer reads history only through the :class:`~twinverse.store.Store` protocol and
the log only through :class:`~twinverse.trust.Ledger`'s public reader
(:meth:`~twinverse.trust.Ledger.entries_by_action`) and writer (``transaction`` +
``record``).

>>> import tempfile, pathlib
>>> from datetime import UTC, datetime
>>> from twinverse.core import make_batch
>>> from twinverse.store import DuckDBStore
>>> from twinverse.trust import TrustService, verify_history
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> store, trust = DuckDBStore(d / "h.duckdb"), TrustService(d)
>>> t0 = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z
>>> _ = store.append(make_batch([t0, t0 + 600_000_000], [0, 0], [1.0, 2.0], [0, 0]))
>>> sealer = HistorySealer(store, trust, plant_id="demo")
>>> [(s.target, s.rows) for s in sealer.seal_due(datetime(2023, 11, 14, 22, 40, tzinfo=UTC))]
[('history:demo:2023-11-14T22:10:00Z', 1), ('history:demo:2023-11-14T22:20:00Z', 1)]
>>> verify_history(store, trust, plant_id="demo")
[]
>>> store.close(); trust.close()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from ..config import Settings
from ..core.clock import US, from_us, iso_dt, to_us
from ..errors import ConfigError
from ..store.base import SEGMENT_ENCODING, SegmentSource
from .ledger import LogEntry, utcnow

if TYPE_CHECKING:
    from .service import TrustService

__all__ = ["SEAL_ACTION", "HistorySealer", "SealedSegment", "parse_seal", "seal_prefix", "seal_target"]

log = logging.getLogger("twinverse.seal")

#: The log action of a sealed segment.
SEAL_ACTION = "history.segment.sealed"


def seal_prefix(plant_id: str) -> str:
    """The target prefix every seal entry of ``plant_id`` shares, ``history:<plant id>:``."""
    return f"history:{plant_id}:"


def seal_target(plant_id: str, start: datetime) -> str:
    """The target of the seal entry of the segment starting at ``start``."""
    return f"{seal_prefix(plant_id)}{iso_dt(start)}"


@dataclass(frozen=True)
class SealedSegment:
    """A history segment committed to the log: ``[start, end)``, its rows and digest, the entry."""

    plant_id: str
    start: datetime
    end: datetime
    rows: int
    sha256: str
    index: int

    @property
    def target(self) -> str:
        """The log entry's target, ``history:<plant id>:<start>``."""
        return seal_target(self.plant_id, self.start)

    def describe(self) -> str:
        """``log entry #N (target [from, to))`` for messages."""
        return f"log entry #{self.index} ({self.target}, [{iso_dt(self.start)}, {iso_dt(self.end)}))"


def parse_seal(entry: LogEntry, plant_id: str) -> SealedSegment:
    """The segment a seal entry of ``plant_id`` vouches for; ValueError naming what is malformed."""
    try:
        record = entry.record()
        d = record["details"]
        start, end = datetime.fromisoformat(d["from"]), datetime.fromisoformat(d["to"])
        rows, sha = d["rows"], d["sha256"]
        if record["target"] != seal_target(plant_id, start):
            raise ValueError(f"target {record['target']!r} does not match from {d['from']!r}")
        if d.get("encoding") != SEGMENT_ENCODING:
            raise ValueError(f"unknown encoding {d.get('encoding')!r}")
        if not (isinstance(rows, int) and rows >= 0 and isinstance(sha, str) and len(sha) == 64 and start < end):
            raise ValueError("rows, sha256 or the range are invalid")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from exc
    return SealedSegment(plant_id, start.astimezone(UTC), end.astimezone(UTC), rows, sha, entry.index)


class HistorySealer:
    """Seals completed history segments into the log, now (:meth:`seal_due`) or periodically.

    ``segment`` is the segment length (segments are aligned to the Unix epoch); a segment
    ``[t, t + segment)`` is sealed once ``now - lag >= t + segment``: ``lag`` is how long
    late data may still arrive unflagged. Between :meth:`start` and :meth:`stop` a
    background thread calls :meth:`seal_due` every ``segment / 4`` (a connector-like
    lifecycle: ``start`` also accepts, and ignores, an engine, so the platform may treat
    it as a connector).

    Entries carry ``actor`` = the log key's DID (the platform itself) and ``tenant`` (the
    plant's owner, so its users can read them over the API). Several sealers of one plant
    (the server and ``twinverse history seal``) may run at once: each re-reads the log
    inside the log's write transaction and drops segments another one sealed first.
    """

    def __init__(
        self,
        store: SegmentSource,
        trust: TrustService,
        *,
        plant_id: str,
        tenant: str | None = None,
        segment: timedelta = timedelta(minutes=10),
        lag: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = utcnow,
        batch: int = 64,
        on_sealed: Callable[[list[SealedSegment]], None] | None = None,
    ) -> None:
        if segment // US < 1:
            raise ConfigError(f"seal_segment: the segment length must be positive, got {segment}")
        if lag < timedelta(0):
            raise ConfigError(f"seal_lag: the lag must not be negative, got {lag}")
        if batch < 1:
            raise ConfigError(f"batch: at least one segment per log transaction, got {batch}")
        self.store = store
        self.trust = trust
        self.plant_id = plant_id
        self.tenant = tenant
        self.segment = segment
        self.lag = lag
        self.clock = clock
        self.batch = batch
        self.on_sealed = on_sealed
        self._seg_us = segment // US
        self._lag_us = lag // US
        self._prefix = seal_prefix(plant_id)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._scanned: int | None = None  # log entries already searched for our seals
        self._until: datetime | None = None  # end of the newest sealed segment

    @classmethod
    def from_settings(
        cls,
        store: SegmentSource,
        trust: TrustService,
        settings: Settings,
        *,
        plant_id: str,
        lag: timedelta | None = None,
    ) -> HistorySealer:
        """The sealer the settings describe (``tenant``, ``seal_segment``, ``seal_lag``; ``lag`` overrides)."""
        return cls(
            store,
            trust,
            plant_id=plant_id,
            tenant=settings.tenant,
            segment=timedelta(seconds=settings.seal_segment),
            lag=timedelta(seconds=settings.seal_lag) if lag is None else lag,
        )

    # -- where sealing stands --------------------------------------------------------------
    @property
    def sealed_until(self) -> datetime | None:
        """End of the newest sealed segment (read from the log); None before the first seal."""
        with self._lock:
            self._refresh()
            return self._until

    def next_due(self) -> tuple[datetime, datetime, datetime] | None:
        """``(start, end, due)`` of the next segment to seal; None while the store is empty."""
        with self._lock:
            self._refresh()
            start = self._start()
        if start is None:
            return None
        end = self._boundary_after(to_us(start))
        return start, from_us(end), from_us(end + self._lag_us)

    def _boundary_after(self, us: int) -> int:
        return (us // self._seg_us + 1) * self._seg_us

    def _start(self) -> datetime | None:
        if self._until is not None:
            return self._until
        earliest = self.store.earliest()
        if earliest is None:
            return None
        return from_us(to_us(earliest) // self._seg_us * self._seg_us)

    def _refresh(self) -> None:
        """Bring ``_until`` up to date with seal entries appended since the last look."""
        ledger = self.trust.ledger
        ledger.sync()
        size = ledger.size
        if self._scanned is None:
            # First look: newest first, stopping at the first seal of this plant found, so a
            # restart reads only the entries logged since the last seal.
            for entry in ledger.entries_by_action(SEAL_ACTION, self._prefix, stop=size, newest_first=True):
                seg = self._parse(entry)
                if seg is not None:
                    self._until = seg.end
                    break
        elif size > self._scanned:
            for entry in ledger.entries_by_action(SEAL_ACTION, self._prefix, start=self._scanned, stop=size):
                seg = self._parse(entry)
                if seg is not None and (self._until is None or seg.end > self._until):
                    self._until = seg.end
        self._scanned = size

    def _parse(self, entry: LogEntry) -> SealedSegment | None:
        # A malformed entry vouches for nothing; verification reports it, sealing skips it.
        try:
            return parse_seal(entry, self.plant_id)
        except ValueError:
            return None

    # -- sealing ---------------------------------------------------------------------------
    def seal_due(self, now: datetime | None = None) -> list[SealedSegment]:
        """Seal every complete segment ending at or before ``now - lag`` not sealed yet.

        Idempotent: a second call with the same ``now`` seals nothing. Returns the new
        segments in order (empty runs coalesced into one entry each).
        """
        return self._seal_due(self.clock() if now is None else now, None)

    def _seal_due(self, now: datetime, stop: threading.Event | None) -> list[SealedSegment]:
        # ``stop`` (the background thread's) ends a long catch-up between batches.
        horizon = (to_us(now) - self._lag_us) // self._seg_us * self._seg_us
        sealed: list[SealedSegment] = []
        with self._lock:
            while True:
                self._refresh()
                based_on = self._until
                start = self._start()
                if start is None or to_us(start) >= horizon:
                    break
                plan = self._plan(to_us(start), horizon, stop)
                logged = self._log(plan, based_on)
                if logged is None:
                    continue  # another sealer logged first: start again from its end
                sealed.extend(logged)
                if stop is not None and stop.is_set():
                    break
        if sealed:
            log.info(
                "sealed %d history segment(s) of %s up to %s", len(sealed), self.plant_id, iso_dt(sealed[-1].end)
            )
        return sealed

    def _plan(self, start: int, horizon: int, stop: threading.Event | None) -> list[tuple[int, int, int, str]]:
        """Digests of up to ``batch`` consecutive segments from ``start`` (µs), outside the log lock."""
        plan: list[tuple[int, int, int, str]] = []
        cur = start
        while cur < horizon and len(plan) < self.batch:
            end = self._boundary_after(cur)
            rows, sha = self.store.segment_digest(from_us(cur), from_us(end))
            if rows == 0 and end < horizon:
                # Nothing until the segment of the next row (or the horizon): one entry.
                nxt = self.store.earliest(from_us(end))
                gap_end = horizon if nxt is None else min(horizon, to_us(nxt) // self._seg_us * self._seg_us)
                end = max(end, gap_end)
            plan.append((cur, end, rows, sha))
            cur = end
            if stop is not None and stop.is_set():
                break
        return plan

    def _log(self, plan: list[tuple[int, int, int, str]], based_on: datetime | None) -> list[SealedSegment] | None:
        ledger = self.trust.ledger
        actor = ledger.verifier.did
        out: list[SealedSegment] = []
        with ledger.transaction():
            # Under the log's write lock (across processes): has anyone sealed meanwhile?
            self._refresh()
            if self._until != based_on:
                return None
            for s, e, rows, sha in plan:
                start, end = from_us(s), from_us(e)
                details: dict[str, Any] = {
                    "from": iso_dt(start),
                    "to": iso_dt(end),
                    "rows": rows,
                    "sha256": sha,
                    "encoding": SEGMENT_ENCODING,
                }
                index = ledger.record(SEAL_ACTION, seal_target(self.plant_id, start), actor=actor,
                                      tenant=self.tenant, details=details)  # fmt: skip
                out.append(SealedSegment(self.plant_id, start, end, rows, sha, index))
        self._until = out[-1].end
        self._scanned = out[-1].index + 1
        return out

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, engine: object | None = None) -> None:
        """Seal on a background thread every ``segment / 4`` until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"history-sealer:{self.plant_id}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        interval = self.segment.total_seconds() / 4
        while not self._stop.is_set():
            try:
                sealed = self._seal_due(self.clock(), self._stop)
                if sealed and self.on_sealed is not None:
                    self.on_sealed(sealed)
            except Exception:  # the next round retries; sealing must not die silently
                log.exception("sealing history of %s failed; retrying in %.0f s", self.plant_id, interval)
            self._stop.wait(interval)

    def stop(self) -> None:
        """Stop the background thread (an in-progress round logs what it hashed, then ends)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def describe(self) -> str:
        """For start-up logs."""
        return (
            f"history sealer for {self.plant_id}: segments of {self.segment}, lag {self.lag}, "
            f"every {self.segment / 4} into the log"
        )
