"""Live state: the Arrow batch format and the engine that ingests it."""

from __future__ import annotations

from .batch import BATCH_SCHEMA, QUARANTINE_SCHEMA, Quality, make_batch
from .engine import Engine, IngestResult

__all__ = ["BATCH_SCHEMA", "QUARANTINE_SCHEMA", "Engine", "IngestResult", "Quality", "make_batch"]
