"""The ground floor: what every other package speaks.

The Arrow batch and quarantine schemas, observation :class:`Quality`, the one
:class:`MachineState` vocabulary, :class:`RejectReason` codes, time conversions (one
internal unit: int64 µs since the epoch), the value formatter and scrape-time
:class:`Histogram` counters. It imports nothing of twinverse above ``errors``; every other
package may import it.
"""

from __future__ import annotations

from .batch import BATCH_SCHEMA, QUARANTINE_SCHEMA, TS_TYPE, make_batch, ts_to_us
from .clock import EPOCH, NEVER, from_us, iso, iso_dt, ms, now_us, parse_iso, to_us
from .gridfactors import GRID_FACTORS, GridFactor, grid_factor
from .metrics import LATENCY_BUCKETS, SIZE_BUCKETS, Histogram, HistogramSnapshot
from .quality import Quality
from .reasons import RejectReason
from .states import DEFAULT_STATES, MachineState, vocabulary
from .timetext import parse_duration, parse_time
from .values import KindCode, ValueFormatter

__all__ = [
    "BATCH_SCHEMA",
    "DEFAULT_STATES",
    "EPOCH",
    "GRID_FACTORS",
    "LATENCY_BUCKETS",
    "NEVER",
    "QUARANTINE_SCHEMA",
    "SIZE_BUCKETS",
    "TS_TYPE",
    "GridFactor",
    "Histogram",
    "HistogramSnapshot",
    "KindCode",
    "MachineState",
    "Quality",
    "RejectReason",
    "ValueFormatter",
    "from_us",
    "grid_factor",
    "iso",
    "iso_dt",
    "make_batch",
    "ms",
    "now_us",
    "parse_duration",
    "parse_iso",
    "parse_time",
    "to_us",
    "ts_to_us",
    "vocabulary",
]
