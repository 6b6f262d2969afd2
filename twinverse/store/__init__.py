"""Durable history: the store protocols (writer, reader, quarantine, segments, export), their
union :class:`Store`, the DuckDB and PostgreSQL implementations and the export service.

``PostgresStore`` needs the ``postgres`` extra (psycopg); it is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import (
    Aggregate,
    Exporter,
    ExportFormat,
    HistoryQuery,
    HistoryReader,
    HistoryWriter,
    QuarantineStore,
    SegmentSource,
    Store,
)
from .duckdb import DuckDBStore
from .export import ExportResult, export_history, format_for
from .factory import open_store

if TYPE_CHECKING:
    from .postgres import PostgresStore

__all__ = [
    "Aggregate",
    "DuckDBStore",
    "ExportFormat",
    "ExportResult",
    "Exporter",
    "HistoryQuery",
    "HistoryReader",
    "HistoryWriter",
    "PostgresStore",
    "QuarantineStore",
    "SegmentSource",
    "Store",
    "export_history",
    "format_for",
    "open_store",
]


def __getattr__(name: str) -> Any:
    if name == "PostgresStore":
        from .postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
