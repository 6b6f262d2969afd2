"""Anomaly scores on every stored batch: detectors as banks over sids, scores as signals.

:class:`AnomalyService` subscribes to the engine like the alarm service. The plant's
detectors (:func:`~twinverse.ops.anomaly.spec.load_detector_specs`) are grouped into banks,
one per detector kind and parameter set, each holding the state of all its signals. For a
stored batch (rows sorted by (sid, ts)) the rows of watched sids are picked with one gather
and each bank scores its rows in one call; the scores go back into the engine as the score
signals (``<signal>_anomaly``) with the same timestamps, source ``anomaly``, so they are
stored, pushed to viewers and evaluated by alarm rules like any measured signal (the engine's
writer runs a write made from its own thread at once: the scores are durable, and their
alarms raised, before the ingest that caused them returns).

Detector state lives in memory: after a restart a detector learns again (its warm-up).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ...core.batch import make_batch, ts_to_us
from ...live.engine import Engine
from ...model import Plant
from .base import Detector
from .spec import DetectorSpec, load_detector_specs

__all__ = ["AnomalyService"]

log = logging.getLogger("twinverse.ops.anomaly")


class _Bank:
    def __init__(self, specs: list[DetectorSpec]) -> None:
        self.specs = specs
        self.detector: Detector = specs[0].kind.create(specs[0].params, len(specs))
        self.score_sid = np.array([s.score_sid for s in specs], dtype=np.int32)


class AnomalyService:
    """The anomaly detectors of one plant, fed by an engine (or by :meth:`score` directly)."""

    def __init__(self, plant: Plant, engine: Engine | None = None) -> None:
        self.plant = plant
        self.specs = load_detector_specs(plant)
        groups: dict[tuple[str, str], list[DetectorSpec]] = {}
        for s in self.specs:
            groups.setdefault((s.kind.name, s.params.model_dump_json()), []).append(s)
        self.banks = [_Bank(g) for g in groups.values()]
        n = len(plant.signals)
        self.bank_of = np.full(n, -1, dtype=np.int32)
        self.slot_of = np.full(n, -1, dtype=np.intp)
        for b, bank in enumerate(self.banks):
            for j, s in enumerate(bank.specs):
                self.bank_of[s.sid] = b
                self.slot_of[s.sid] = j
        self.scored_total = 0
        self._lock = threading.Lock()
        self.engine = engine
        self._unsubscribe: Callable[[], None] | None = None
        if engine is not None and self.specs:
            self._unsubscribe = engine.subscribe(self.on_batch)

    def __len__(self) -> int:
        return len(self.specs)

    def score(self, sid: npt.NDArray[np.int32], ts: npt.NDArray[np.int64], value: npt.NDArray[np.float64]
              ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float64]]:  # fmt: skip
        """Scores of the watched rows of a batch sorted by (sid, ts): (ts, score sid, score), NaN dropped."""
        bank = self.bank_of[sid] if len(sid) else np.empty(0, np.int32)
        rows = np.flatnonzero(bank >= 0)
        if not len(rows):
            return np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0)
        parts: list[tuple[Any, Any, Any]] = []
        with self._lock:
            for b in np.unique(bank[rows]).tolist():
                r = rows[bank[rows] == b] if len(self.banks) > 1 else rows
                slot = self.slot_of[sid[r]]
                s = self.banks[b].detector.update(slot, value[r], ts[r])
                parts.append((ts[r], self.banks[b].score_sid[slot], s))
        out_ts, out_sid, out_v = (np.concatenate(c) for c in zip(*parts, strict=True))
        ok = np.isfinite(out_v)
        self.scored_total += int(ok.sum())
        return out_ts[ok], out_sid[ok], np.clip(out_v[ok], 0.0, 1.0)

    def on_batch(self, batch: pa.RecordBatch) -> None:
        """Score a stored batch and write the scores into the engine (failures are logged, never raised)."""
        if batch.num_rows == 0 or self.engine is None:
            return
        try:
            sid = np.asarray(batch.column("sid").to_numpy(), dtype=np.int32)
            ts = ts_to_us(batch.column("ts"))
            value = np.asarray(batch.column("value").to_numpy(zero_copy_only=False), dtype=np.float64)
            t, s, v = self.score(sid, ts, value)
            if len(t):
                self.engine.ingest(make_batch(t, s, v), source="anomaly")
        except Exception:
            log.exception("anomaly scoring failed on a batch of %d rows", batch.num_rows)

    def describe(self) -> list[dict[str, Any]]:
        """The detectors: twin, signal, score signal, detector and parameters."""
        return [{"twin": s.twin, "signal": s.signal, "score": s.score, "detector": s.kind.name,
                 "params": s.params.model_dump()} for s in self.specs]  # fmt: skip

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
