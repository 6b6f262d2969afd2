"""Checking sealed history: recompute every sealed segment from the store, compare with the log.

The other half of :mod:`~twinverse.trust.seal`: :func:`check_history` reads back every
seal entry of a plant (each hashed against its stored leaf, so an entry rewritten in the
database is caught too), recomputes each segment's ``twinverse-seg-v1`` digest through the
:class:`~twinverse.store.Store` protocol, and reports, naming the log entry, rows
inserted, deleted or changed since, rows no seal covers, and altered or malformed seal
entries. Late data is flagged, never hidden (docs/trust.md, "Sealed history").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from ..core.clock import EPOCH, iso_dt
from ..store.base import SegmentSource
from .seal import SEAL_ACTION, SealedSegment, parse_seal, seal_prefix

if TYPE_CHECKING:
    from .service import TrustService

__all__ = [
    "HistoryProblem",
    "HistoryReport",
    "ProblemKind",
    "check_history",
    "sealed_segments",
    "verify_history",
]


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
            inner.append(f"[{iso_dt(self.start)}, {iso_dt(self.end)})")
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
        span = f"{self.segments} sealed segments ({self.rows:,} rows) up to {iso_dt(self.sealed_until or EPOCH)}"
        if self.ok:
            return f"history:{self.plant_id}: {span}: every segment matches its log entry"
        return f"history:{self.plant_id}: {span}: {len(self.problems)} problem(s)"


# -- reading seal entries back from the log ----------------------------------------------------
def _scan(trust: TrustService, plant_id: str) -> tuple[list[SealedSegment], list[HistoryProblem]]:
    """Every seal entry of ``plant_id``, each checked against its stored leaf hash."""
    segments: list[SealedSegment] = []
    problems: list[HistoryProblem] = []
    for entry in trust.ledger.entries_by_action(SEAL_ACTION, seal_prefix(plant_id), check_leaves=True):
        if not entry.intact:
            problems.append(
                HistoryProblem(
                    ProblemKind.ENTRY,
                    "the stored entry does not hash to its leaf: it was altered after logging "
                    "(`twinverse log export` + `twinverse verify` locate it in the signed tree)",
                    index=entry.index,
                )
            )
            continue
        try:
            segments.append(parse_seal(entry, plant_id))
        except ValueError as exc:
            problems.append(HistoryProblem(ProblemKind.ENTRY, f"malformed seal entry: {exc}", index=entry.index))
    return segments, problems


def sealed_segments(trust: TrustService, *, plant_id: str) -> list[SealedSegment]:
    """The well-formed seal entries of ``plant_id`` in log order."""
    return _scan(trust, plant_id)[0]


# -- verification ------------------------------------------------------------------------------
def check_history(store: SegmentSource, trust: TrustService, *, plant_id: str) -> HistoryReport:
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
    problems.sort(key=lambda p: (p.start or EPOCH, -1 if p.index is None else p.index))
    until = max((s.end for s in segments), default=None)
    return HistoryReport(plant_id, len(segments), total, problems, until)


def _coverage(store: SegmentSource, segments: list[SealedSegment], plant_id: str) -> Iterator[HistoryProblem]:
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
            f"{iso_dt(first.start)}: inserted after sealing began (late data or forged rows)",
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
                    f"starts at {iso_dt(seg.start)})",
                    target=name,
                    start=reach,
                    end=seg.start,
                    rows=rows,
                    sha256=sha,
                )
        reach = max(reach, seg.end)


def verify_history(store: SegmentSource, trust: TrustService, *, plant_id: str) -> list[HistoryProblem]:
    """Every sealed segment of ``plant_id`` whose rows or digest differ now; empty when intact."""
    return check_history(store, trust, plant_id=plant_id).problems
