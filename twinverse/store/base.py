"""The storage extension point: a :class:`Store` keeps history, quarantine and exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

import pyarrow as pa

__all__ = ["Aggregate", "ExportFormat", "HistoryQuery", "Store"]


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


@runtime_checkable
class Store(Protocol):
    """Durable history of observations.

    ``append`` receives batches from the engine already validated, sorted by (sid, ts) and
    free of duplicates within the batch. It must skip rows whose (sid, ts) it already holds
    (at-least-once sources redeliver), and return only once the rows are durable.

    Duplicate rule: within one batch the last row received for a (sid, ts) wins (the
    engine drops the others); across batches the first row stored wins.
    """

    def append(self, batch: pa.RecordBatch) -> int:
        """Write a batch durably; returns the number of new rows (duplicates are skipped)."""
        ...

    def append_quarantine(self, rows: pa.Table) -> None:
        """Keep rejected observations (``QUARANTINE_SCHEMA``) durably."""
        ...

    def latest(self) -> pa.Table:
        """Newest ``(sid, ts, value, quality)`` of every signal with history."""
        ...

    def history(self, query: HistoryQuery) -> pa.Table:
        """``(sid, ts, value)`` rows, raw or downsampled (then also ``n``), ordered by sid, ts."""
        ...

    def quarantine(self, limit: int = 100, offset: int = 0) -> pa.Table:
        """Quarantined rows, newest first."""
        ...

    def quarantine_count(self) -> int:
        ...

    def count(self) -> int:
        """Rows of history held."""
        ...

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

    def close(self) -> None:
        ...
