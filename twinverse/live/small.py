"""Small requests validated together: one pass over a group of them, not one per request.

A gateway's request carries ten points; validating and sorting ten points costs a dozen
NumPy calls whose fixed overhead dwarfs the work, and that overhead was paid on the API's
event loop, once per request (py-spy under ``benchmarks/bench_small.py``). Instead the
event loop hands the decoded columns to the engine's writer as :class:`SmallPoints`; the
writer concatenates every such request of its group and checks, sorts and de-duplicates
the lot in one pass (:func:`prepare_smalls`). In the usual case — every point valid, none
repeating another or older than its signal's newest value — the group's small requests
are written as one batch and each caller learns its own counts.

Otherwise each request is checked on its own, atomically: a request with any row the
engine would reject is *refused* (``None``): nothing of it is stored or quarantined, and its
caller takes the general path, which stores, quarantines and words the reasons exactly as
for any other request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ..core.batch import BATCH_SCHEMA, ts_array
from ..core.clock import now_us as _now_us
from .prepared import PreparedBatch
from .rows import sorted_unique

__all__ = ["SmallPoints", "prepare_smalls"]


@dataclass(frozen=True, slots=True)
class SmallPoints:
    """A small request's points as columns, not yet validated (sid int32, ts µs, value)."""

    sid: npt.NDArray[np.int32]
    ts: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]

    def batch(self) -> pa.RecordBatch:
        """The points as an ingest batch (quality good)."""
        n = len(self.sid)
        return pa.RecordBatch.from_arrays(
            [ts_array(self.ts), pa.array(self.sid), pa.array(self.value), pa.array(np.zeros(n, np.uint8))],
            schema=BATCH_SCHEMA,
        )


class _Checks(Protocol):
    """What :func:`prepare_smalls` needs of the engine."""

    ts: npt.NDArray[np.int64]

    def known(self, sid: npt.NDArray[np.int32]) -> npt.NDArray[np.bool_]: ...

    def all_valid(
        self, ts: npt.NDArray[np.int64], sid: npt.NDArray[np.int32], value: npt.NDArray[np.float64], now_us: int
    ) -> bool: ...

    def prepare(self, batch: pa.RecordBatch, *, source: str = ..., atomic: bool = ...) -> PreparedBatch: ...


def prepare_smalls(
    engine: _Checks, smalls: list[SmallPoints], source: str
) -> tuple[PreparedBatch | None, list[PreparedBatch | None]]:
    """Validate a group's small requests: ``(whole, [])`` or ``(None, parts)``.

    ``whole`` is the lot as one prepared batch when every point is valid, no two share a
    (sid, ts) and all are newer than their signal's newest value; each request then stores
    all its points. Otherwise ``parts`` has one entry per request: its prepared batch, or
    None when the request has a row the engine would reject (nothing of it is stored).
    """
    sid = np.concatenate([s.sid for s in smalls]) if len(smalls) > 1 else smalls[0].sid
    ts = np.concatenate([s.ts for s in smalls]) if len(smalls) > 1 else smalls[0].ts
    value = np.concatenate([s.value for s in smalls]) if len(smalls) > 1 else smalls[0].value
    n = len(sid)
    nsig = len(engine.ts)
    if n and bool(engine.known(sid).all()) and engine.all_valid(ts, sid, value, _now_us()):
        rows = sorted_unique(ts, sid, value, np.zeros(n, np.uint8), nsig)
        if rows[0].num_rows == n and bool(np.all(rows[2] > np.take(engine.ts, rows[1]))):
            return PreparedBatch(n, n, 0, rows=rows), []
    parts: list[PreparedBatch | None] = []
    for s in smalls:
        p = engine.prepare(s.batch(), source=source, atomic=True)
        parts.append(None if p.rejected else p)
    return None, parts
