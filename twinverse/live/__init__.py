"""Live state: the engine that validates and stores batches and holds the newest values, and the hub.

History sealing, which used to live here, is trust's: :mod:`twinverse.trust.seal`.
"""

from __future__ import annotations

from .engine import Engine, IngestResult
from .hub import Hub, Subscription

__all__ = [
    "Engine",
    "Hub",
    "IngestResult",
    "Subscription",
]
