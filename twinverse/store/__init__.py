"""Durable history: the :class:`Store` protocol and its implementations."""

from __future__ import annotations

from .base import Aggregate, ExportFormat, HistoryQuery, Store
from .duckdb import DuckDBStore
from .factory import open_store

__all__ = ["Aggregate", "DuckDBStore", "ExportFormat", "HistoryQuery", "Store", "open_store"]
