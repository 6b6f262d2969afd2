"""Live state: the Arrow batch format, the engine that ingests it, the hub, history sealing."""

from __future__ import annotations

from .batch import BATCH_SCHEMA, QUARANTINE_SCHEMA, Quality, make_batch
from .engine import Engine, IngestResult
from .hub import Hub, Subscription
from .seal import HistoryProblem, HistoryReport, HistorySealer, check_history, verify_history

__all__ = [
    "BATCH_SCHEMA",
    "QUARANTINE_SCHEMA",
    "Engine",
    "HistoryProblem",
    "HistoryReport",
    "HistorySealer",
    "Hub",
    "IngestResult",
    "Quality",
    "Subscription",
    "check_history",
    "make_batch",
    "verify_history",
]
