"""Live state: the engine that validates and stores batches and holds the newest values, and the hub."""

from __future__ import annotations

from .engine import Engine, IngestResult
from .hub import Hub, Subscription
from .seal import HistoryProblem, HistoryReport, HistorySealer, check_history, verify_history

__all__ = [
    "Engine",
    "HistoryProblem",
    "HistoryReport",
    "HistorySealer",
    "Hub",
    "IngestResult",
    "Subscription",
    "check_history",
    "verify_history",
]
