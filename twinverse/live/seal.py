"""Sealed history: commit every completed segment of history to the transparency log.

Telemetry is not logged point by point. Instead time is cut into segments aligned to the
Unix epoch (``[k·segment, (k+1)·segment)``); once a segment has ended and a further
``lag`` has passed, :class:`HistorySealer` hashes its rows (:meth:`Store.segment_digest`,
encoding ``twinverse-seg-v1``) and appends one log entry::

    action  history.segment.sealed
    target  history:<plant id>:<start, ISO 8601 UTC>
    details {"from": start, "to": end, "rows": n, "sha256": hex, "encoding": "twinverse-seg-v1"}

:func:`verify_history` recomputes every sealed segment from the store and reports each one
whose rows changed, were deleted or were inserted afterwards, naming the log entry.

Coverage starts at the segment holding the store's earliest row, so existing history is
sealed too, and stays contiguous: each new entry starts where the newest one ended (read
back from the log, so a restarted sealer continues where it stopped). A run of *empty*
segments met while catching up is sealed as one entry with ``rows`` 0, so a plant that
was off for a month costs one entry, not 4,000.

>>> import tempfile, pathlib
>>> from datetime import UTC, datetime
>>> from twinverse.core import make_batch
>>> from twinverse.store import DuckDBStore
>>> from twinverse.trust import TrustService
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import ConfigError
from ..store.base import SEGMENT_ENCODING, Store

if TYPE_CHECKING:
    from ..trust import TrustService

__all__ = [
    "SEAL_ACTION",
    "HistoryProblem",
    "HistoryReport",
    "HistorySealer",
    "ProblemKind",
    "SealedSegment",
    "check_history",
    "sealed_segments",
    "verify_history",
]

log = logging.getLogger("twinverse.seal")

#: The log action of a sealed segment.
SEAL_ACTION = "history.segment.sealed"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
# Entries are canonical JSON with sorted keys, so these bytes pick candidates out of the
# log without parsing every entry.
_ACTION_BYTES = b'"action":"' + SEAL_ACTION.encode() + b'"'
_SCAN_CHUNK = 4096


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _us(t: datetime) -> int:
    """A datetime (naive means UTC) as whole µs since the epoch, exactly."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return (t - _EPOCH) // _US


def _at(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def iso(t: datetime) -> str:
    """ISO 8601 in UTC with ``Z``; microseconds only when there are any."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _target(plant_id: str, start: datetime) -> str:
    return f"history:{plant_id}:{iso(start)}"


def _target_bytes(plant_id: str) -> bytes:
    # The JSON-encoded target prefix, without its closing quote.
    return b'"target":' + orjson.dumps(f"history:{plant_id}:")[:-1]


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
        return _target(self.plant_id, self.start)

    def describe(self) -> str:
        """``log entry #N (target [from, to))`` for messages."""
        return f"log entry #{self.index} ({self.target}, [{iso(self.start)}, {iso(self.end)}))"


class ProblemKind(StrEnum):
    """What :func:`verify_history` found wrong."""

    INSERTED = "inserted"  # more rows than sealed: late data or forged rows
    DELETED = "deleted"  # fewer rows than sealed
    CHANGED = "changed"  # as many rows as sealed, other contents
    UNSEALED = "unsealed"  # rows before the first sealed segment or in a gap between segments
    ENTRY = "entry"  # a seal entry that is altered or malformed


@dataclass(frozen=True)
class HistoryProblem:
    """One segment whose stored rows no longer match its log entry (or a broken entry)."""

    kind: ProblemKind
    message: str
    index: int | None = None
    target: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    sealed_rows: int | None = None
    sealed_sha256: str | None = None
    rows: int | None = None
    sha256: str | None = None

    def __str__(self) -> str:
        parts = [] if self.index is None else [f"log entry #{self.index}"]
        inner = [] if self.target is None else [self.target]
        if self.start is not None and self.end is not None:
            inner.append(f"[{iso(self.start)}, {iso(self.end)})")
        if inner:
            parts.append(f"({', '.join(inner)})")
        where = " ".join(parts)
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True)
class HistoryReport:
    """What :func:`check_history` checked and what differs."""

    plant_id: str
    segments: int
    rows: int
    problems: list[HistoryProblem]
    sealed_until: datetime | None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line: how much was checked and whether it matched."""
        if self.segments == 0:
            return f"history:{self.plant_id}: no sealed segments in the log"
        span = f"{self.segments} sealed segments ({self.rows:,} rows) up to {iso(self.sealed_until or _EPOCH)}"
        if self.ok:
            return f"history:{self.plant_id}: {span}: every segment matches its log entry"
        return f"history:{self.plant_id}: {span}: {len(self.problems)} problem(s)"


# -- reading seal entries back from the log ----------------------------------------------------
def _parse(index: int, data: bytes, plant_id: str) -> SealedSegment | HistoryProblem:
    try:
        record = orjson.loads(data)
        d = record["details"]
        start, end = datetime.fromisoformat(d["from"]), datetime.fromisoformat(d["to"])
        rows, sha = d["rows"], d["sha256"]
        if record["target"] != _target(plant_id, start):
            raise ValueError(f"target {record['target']!r} does not match from {d['from']!r}")
        if d.get("encoding") != SEGMENT_ENCODING:
            raise ValueError(f"unknown encoding {d.get('encoding')!r}")
        if not (isinstance(rows, int) and rows >= 0 and isinstance(sha, str) and len(sha) == 64 and start < end):
            raise ValueError("rows, sha256 or the range are invalid")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        return HistoryProblem(ProblemKind.ENTRY, f"malformed seal entry: {exc}", index=index)
    return SealedSegment(plant_id, start.astimezone(UTC), end.astimezone(UTC), rows, sha, index)


def _candidates(entries: Iterator[tuple[int, bytes]], plant_id: str) -> Iterator[tuple[int, bytes]]:
    target = _target_bytes(plant_id)
    for i, data in entries:
        if _ACTION_BYTES in data and target in data:
            yield i, data


def _scan(trust: TrustService, plant_id: str) -> tuple[list[SealedSegment], list[HistoryProblem]]:
    """Every seal entry of ``plant_id``, each checked against its stored leaf hash."""
    from ..trust.merkle import leaf_hash

    trust.ledger.sync()
    size = trust.ledger.size
    segments: list[SealedSegment] = []
    problems: list[HistoryProblem] = []

    def pairs() -> Iterator[tuple[int, bytes]]:
        i = 0
        for chunk in trust.store.iter_log(0, size):
            for leaf, data in chunk:
                if _ACTION_BYTES in data and leaf_hash(data) != leaf:
                    problems.append(
                        HistoryProblem(
                            ProblemKind.ENTRY,
                            "the stored entry does not hash to its leaf: it was altered after logging "
                            "(`twinverse log export` + `twinverse verify` locate it in the signed tree)",
                            index=i,
                        )
                    )
                else:
                    yield i, data
                i += 1

    for i, data in _candidates(pairs(), plant_id):
        parsed = _parse(i, data, plant_id)
        if isinstance(parsed, SealedSegment):
            segments.append(parsed)
        else:
            problems.append(parsed)
    return segments, problems


def sealed_segments(trust: TrustService, *, plant_id: str) -> list[SealedSegment]:
    """The well-formed seal entries of ``plant_id`` in log order."""
    return _scan(trust, plant_id)[0]


# -- verification ------------------------------------------------------------------------------
def check_history(store: Store, trust: TrustService, *, plant_id: str) -> HistoryReport:
    """Recompute every sealed segment of ``plant_id`` from ``store`` and compare with the log.

    Reports, per segment and naming its log entry: rows inserted after sealing (late data
    or forgery), rows deleted, rows changed (same count, other digest); rows stored before
    the first sealed segment or in a gap between segments; seal entries that are altered or
    malformed. Late data is flagged, never hidden (see docs/trust.md, "Sealed history").
    """
    segments, problems = _scan(trust, plant_id)
    total = 0
    for seg in segments:
        rows, sha = store.segment_digest(seg.start, seg.end)
        total += rows
        if rows == seg.rows and sha == seg.sha256:
            continue
        if rows > seg.rows:
            kind, what = ProblemKind.INSERTED, (
                f"{rows - seg.rows} more row(s) than sealed: inserted after sealing (late data or forged rows)"
            )
        elif rows < seg.rows:
            kind, what = ProblemKind.DELETED, f"{seg.rows - rows} row(s) fewer than sealed: deleted after sealing"
        else:
            kind, what = ProblemKind.CHANGED, "rows changed after sealing (values, qualities, times or signals)"
        problems.append(
            HistoryProblem(
                kind,
                f"{what}; sealed {seg.rows} rows sha256 {seg.sha256}, now {rows} rows sha256 {sha}",
                index=seg.index,
                target=seg.target,
                start=seg.start,
                end=seg.end,
                sealed_rows=seg.rows,
                sealed_sha256=seg.sha256,
                rows=rows,
                sha256=sha,
            )
        )
    problems.extend(_coverage(store, segments, plant_id))
    problems.sort(key=lambda p: (p.start or _EPOCH, -1 if p.index is None else p.index))
    until = max((s.end for s in segments), default=None)
    return HistoryReport(plant_id, len(segments), total, problems, until)


def _coverage(store: Store, segments: list[SealedSegment], plant_id: str) -> Iterator[HistoryProblem]:
    """Rows outside every sealed segment but before the newest sealed end."""
    if not segments:
        return
    name = f"history:{plant_id}"
    ordered = sorted(segments, key=lambda s: (s.start, s.end))
    first = ordered[0]
    earliest = store.earliest()
    if earliest is not None and earliest < first.start:
        rows, sha = store.segment_digest(earliest, first.start)
        yield HistoryProblem(
            ProblemKind.UNSEALED,
            f"{rows} row(s) lie before the first sealed segment, which log entry #{first.index} seals from "
            f"{iso(first.start)}: inserted after sealing began (late data or forged rows)",
            target=name,
            start=earliest,
            end=first.start,
            rows=rows,
            sha256=sha,
        )
    reach = first.end
    for seg in ordered[1:]:
        if seg.start > reach:
            rows, sha = store.segment_digest(reach, seg.start)
            if rows:
                yield HistoryProblem(
                    ProblemKind.UNSEALED,
                    f"{rows} row(s) lie in a gap no seal entry covers (the next one, log entry #{seg.index}, "
                    f"starts at {iso(seg.start)})",
                    target=name,
                    start=reach,
                    end=seg.start,
                    rows=rows,
                    sha256=sha,
                )
        reach = max(reach, seg.end)


def verify_history(store: Store, trust: TrustService, *, plant_id: str) -> list[HistoryProblem]:
    """Every sealed segment of ``plant_id`` whose rows or digest differ now; empty when intact."""
    return check_history(store, trust, plant_id=plant_id).problems


# -- sealing -----------------------------------------------------------------------------------
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
        store: Store,
        trust: TrustService,
        *,
        plant_id: str,
        tenant: str | None = None,
        segment: timedelta = timedelta(minutes=10),
        lag: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = _utcnow,
        batch: int = 64,
        on_sealed: Callable[[list[SealedSegment]], None] | None = None,
    ) -> None:
        if segment // _US < 1:
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
        self._seg_us = segment // _US
        self._lag_us = lag // _US
        self._target = _target_bytes(plant_id)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._scanned: int | None = None  # log entries already searched for our seals
        self._until: datetime | None = None  # end of the newest sealed segment

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
        end = self._boundary_after(_us(start))
        return start, _at(end), _at(end + self._lag_us)

    def _boundary_after(self, us: int) -> int:
        return (us // self._seg_us + 1) * self._seg_us

    def _start(self) -> datetime | None:
        if self._until is not None:
            return self._until
        earliest = self.store.earliest()
        if earliest is None:
            return None
        return _at(_us(earliest) // self._seg_us * self._seg_us)

    def _refresh(self) -> None:
        """Bring ``_until`` up to date with seal entries appended since the last look."""
        ledger = self.trust.ledger
        ledger.sync()
        size = ledger.size
        if self._scanned is None:
            # First look: newest first, stopping at the first seal of this plant found, so a
            # restart reads only the entries logged since the last seal.
            hi = size
            while hi > 0 and self._until is None:
                lo = max(0, hi - _SCAN_CHUNK)
                chunk = self.trust.store.log_entries(lo, hi)
                newest_first = zip(range(hi - 1, lo - 1, -1), reversed(chunk), strict=True)
                for i, data in _candidates(newest_first, self.plant_id):
                    parsed = _parse(i, data, self.plant_id)
                    if isinstance(parsed, SealedSegment):
                        self._until = parsed.end
                        break
                hi = lo
        elif size > self._scanned:
            entries = self.trust.store.log_entries(self._scanned, size)
            for i, data in _candidates(zip(range(self._scanned, size), entries, strict=True), self.plant_id):
                parsed = _parse(i, data, self.plant_id)
                if isinstance(parsed, SealedSegment) and (self._until is None or parsed.end > self._until):
                    self._until = parsed.end
        self._scanned = size

    # -- sealing ---------------------------------------------------------------------------
    def seal_due(self, now: datetime | None = None) -> list[SealedSegment]:
        """Seal every complete segment ending at or before ``now - lag`` not sealed yet.

        Idempotent: a second call with the same ``now`` seals nothing. Returns the new
        segments in order (empty runs coalesced into one entry each).
        """
        return self._seal_due(self.clock() if now is None else now, None)

    def _seal_due(self, now: datetime, stop: threading.Event | None) -> list[SealedSegment]:
        # ``stop`` (the background thread's) ends a long catch-up between batches.
        horizon = (_us(now) - self._lag_us) // self._seg_us * self._seg_us
        sealed: list[SealedSegment] = []
        with self._lock:
            while True:
                self._refresh()
                based_on = self._until
                start = self._start()
                if start is None or _us(start) >= horizon:
                    break
                plan = self._plan(_us(start), horizon, stop)
                logged = self._log(plan, based_on)
                if logged is None:
                    continue  # another sealer logged first: start again from its end
                sealed.extend(logged)
                if stop is not None and stop.is_set():
                    break
        if sealed:
            log.info(
                "sealed %d history segment(s) of %s up to %s", len(sealed), self.plant_id, iso(sealed[-1].end)
            )
        return sealed

    def _plan(self, start: int, horizon: int, stop: threading.Event | None) -> list[tuple[int, int, int, str]]:
        """Digests of up to ``batch`` consecutive segments from ``start`` (µs), outside the log lock."""
        plan: list[tuple[int, int, int, str]] = []
        cur = start
        while cur < horizon and len(plan) < self.batch:
            end = self._boundary_after(cur)
            rows, sha = self.store.segment_digest(_at(cur), _at(end))
            if rows == 0 and end < horizon:
                # Nothing until the segment of the next row (or the horizon): one entry.
                nxt = self.store.earliest(_at(end))
                gap_end = horizon if nxt is None else min(horizon, _us(nxt) // self._seg_us * self._seg_us)
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
                start, end = _at(s), _at(e)
                details: dict[str, Any] = {
                    "from": iso(start),
                    "to": iso(end),
                    "rows": rows,
                    "sha256": sha,
                    "encoding": SEGMENT_ENCODING,
                }
                index = ledger.record(SEAL_ACTION, _target(self.plant_id, start), actor=actor,
                                      tenant=self.tenant, details=details)
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
