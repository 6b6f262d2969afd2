"""The storage extension point: small protocols and their union :class:`Store`.

Writer, reader, quarantine, segments and export are separate protocols so that a new
backend implements what it needs and each user asks for no more than it uses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = [
    "SEGMENT_ENCODING",
    "SEGMENT_RECORD",
    "Aggregate",
    "ExportFormat",
    "Exporter",
    "HistoryQuery",
    "HistoryReader",
    "HistoryWriter",
    "QuarantineStore",
    "SegmentHasher",
    "SegmentSource",
    "Store",
]

#: Name of the canonical encoding :meth:`Store.segment_digest` hashes (see :class:`SegmentHasher`).
SEGMENT_ENCODING = "twinverse-seg-v1"

#: One row of ``twinverse-seg-v1``: 21 packed bytes, little-endian, no padding.
SEGMENT_RECORD = np.dtype([("sid", "<i4"), ("ts", "<i8"), ("value", "<f8"), ("quality", "u1")])

# Every NaN hashes as this one quiet NaN: databases need not keep NaN payload bits.
_CANONICAL_NAN = np.array([0x7FF8_0000_0000_0000], dtype="<u8").view("<f8")[0]


class Aggregate(StrEnum):
    """How a downsampled interval summarises its points."""

    AVG = "avg"
    MIN = "min"
    MAX = "max"
    LAST = "last"
    FIRST = "first"
    COUNT = "count"


class ExportFormat(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"


@dataclass(frozen=True)
class HistoryQuery:
    """A range query over some signals; ``interval`` set means downsample into buckets."""

    sids: tuple[int, ...]
    start: datetime | None = None
    end: datetime | None = None
    interval: timedelta | None = None
    aggregate: Aggregate = Aggregate.AVG
    limit: int = 1_000_000
    #: Read whole minutes/hours from the rollups where the store keeps them (same answer).
    use_rollups: bool = True


@runtime_checkable
class HistoryWriter(Protocol):
    """Where the engine writes accepted observations.

    ``append`` receives batches already validated, sorted by (sid, ts) and free of
    duplicates within the batch. It must skip rows whose (sid, ts) it already holds
    (at-least-once sources redeliver), and return only once the rows are durable.

    Duplicate rule: within one batch the last row received for a (sid, ts) wins (the
    engine drops the others); across batches the first row stored wins.
    """

    def append(self, batch: pa.RecordBatch) -> int:
        """Write a batch durably; returns the number of new rows (duplicates are skipped)."""
        ...

    def close(self) -> None:
        """Release the store's files or connections."""
        ...


@runtime_checkable
class HistoryReader(Protocol):
    """Reading history back: newest values, ranges (raw or downsampled), counts, the oldest time."""

    def latest(self) -> pa.Table:
        """Newest ``(sid, ts, value, quality)`` of every signal with history."""
        ...

    def history(self, query: HistoryQuery) -> pa.Table:
        """``(sid, ts, value)`` rows, raw or downsampled (then also ``n``), ordered by sid, ts."""
        ...

    def count(self) -> int:
        """Rows of history held."""
        ...

    def earliest(self, since: datetime | None = None) -> datetime | None:
        """The oldest stored timestamp at or after ``since`` (all history when None); None if none."""
        ...


@runtime_checkable
class QuarantineStore(Protocol):
    """Rejected observations, kept with their reasons."""

    def append_quarantine(self, rows: pa.Table) -> None:
        """Keep rejected observations (``QUARANTINE_SCHEMA``) durably."""
        ...

    def quarantine(self, limit: int = 100, offset: int = 0) -> pa.Table:
        """Quarantined rows, newest first."""
        ...

    def quarantine_count(self) -> int:
        """Rows in quarantine."""
        ...


@runtime_checkable
class SegmentSource(Protocol):
    """History as canonical digests of time segments, for sealing and verification."""

    def segment_digest(self, start: datetime, end: datetime) -> tuple[int, str]:
        """Rows with ``start <= ts < end`` and the hex SHA-256 of their ``twinverse-seg-v1`` encoding.

        The rows are fetched as columns and fed to a :class:`SegmentHasher` in chunks, so
        every store gives the same digest for the same rows.
        """
        ...

    def earliest(self, since: datetime | None = None) -> datetime | None:
        """The oldest stored timestamp at or after ``since``; None if none."""
        ...


@runtime_checkable
class Exporter(Protocol):
    """Writing named history rows to a file."""

    def export(
        self,
        path: Path,
        fmt: ExportFormat,
        names: pa.Table,
        sids: tuple[int, ...] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> int:
        """Write history with twin/signal names (``names``: sid, twin, signal) to a file."""
        ...


@runtime_checkable
class Store(HistoryWriter, HistoryReader, QuarantineStore, SegmentSource, Exporter, Protocol):
    """A full history backend: every small protocol at once (DuckDB and PostgreSQL are ones).

    A new backend implements what it needs: a write-only archive is a
    :class:`HistoryWriter`; something the viewer can chart from is a :class:`HistoryReader`.
    """


class SegmentHasher:
    """SHA-256 over rows in the canonical ``twinverse-seg-v1`` encoding, fed column chunks.

    The encoding of a set of history rows is the concatenation, in ascending order of
    ``(sid, ts)``, of one 21-byte record per row (:data:`SEGMENT_RECORD`)::

        offset  size  field    encoding
        0       4     sid      int32, little-endian, two's complement
        4       8     ts       int64, little-endian: microseconds since 1970-01-01T00:00:00Z
        12      8     value    float64, little-endian IEEE 754 binary64 bits (-0.0 kept;
                               every NaN written as 0x7FF8000000000000)
        20      1     quality  uint8

    with no header, separator or padding; no rows encode as the empty string (SHA-256
    ``e3b0c442…b855``). Example: the single row sid 1, ts 1 s, value 1.0, quality 0 is
    ``01000000 40420f0000000000 000000000000f03f 00``.

    Feed chunks in order with :meth:`update` (chunk boundaries do not matter); a chunk that
    is out of order raises ``ValueError`` since it would give a digest no other store agrees
    with. Vectorised: one NumPy record array per chunk, never a Python object per row.

    >>> h = SegmentHasher()
    >>> h.update(np.array([1]), np.array([1_000_000]), np.array([1.0]), np.array([0]))
    >>> h.rows, h.hexdigest()[:16]
    (1, '4e6fe17b5f1dfbbd')
    """

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self.rows = 0
        self._last: tuple[int, int] | None = None

    def update(
        self,
        sid: npt.NDArray[np.integer[Any]],
        ts_us: npt.NDArray[np.integer[Any]],
        value: npt.NDArray[np.floating[Any]],
        quality: npt.NDArray[np.integer[Any]],
    ) -> None:
        """Append rows already sorted by (sid, ts), as four equally long columns."""
        n = len(sid)
        if n == 0:
            return
        rec = np.empty(n, dtype=SEGMENT_RECORD)
        rec["sid"] = sid
        rec["ts"] = ts_us
        rec["value"] = value
        rec["quality"] = quality
        nan = np.isnan(rec["value"])
        if nan.any():
            rec["value"][nan] = _CANONICAL_NAN
        s, t = rec["sid"], rec["ts"]
        # Non-strict order: equal keys only occur in a store whose uniqueness was broken
        # behind its back, and such a store should hash (and fail verification), not crash.
        ordered = (s[1:] > s[:-1]) | ((s[1:] == s[:-1]) & (t[1:] >= t[:-1]))
        if not ordered.all() or (self._last is not None and (int(s[0]), int(t[0])) < self._last):
            raise ValueError("segment rows must arrive ordered by (sid, ts)")
        self._last = (int(s[-1]), int(t[-1]))
        self._sha.update(rec.view(np.uint8).data)
        self.rows += n

    def hexdigest(self) -> str:
        """The hex SHA-256 of everything fed so far."""
        return self._sha.hexdigest()

    def result(self) -> tuple[int, str]:
        """``(rows, hex sha256)``: what :meth:`Store.segment_digest` returns."""
        return self.rows, self._sha.hexdigest()
