"""Live state: the engine that validates and stores batches and holds the newest values, and the hub.

History sealing, which used to live here, is trust's: :mod:`twinverse.trust.seal`.
"""

from __future__ import annotations

from .engine import Engine, IngestResult, PreparedBatch
from .hub import Hub, Subscription
from .writer import GroupWriter, WriterStats

__all__ = [
    "Engine",
    "GroupWriter",
    "Hub",
    "IngestResult",
    "PreparedBatch",
    "Subscription",
    "WriterStats",
]
