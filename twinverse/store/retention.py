"""Retention per signal class, and the job that moves old days to Parquet and drops expired history.

A plant names how long each signal's raw rows and rollups are kept (``retention`` on a
signal, on its type, or a class of the plant's ``retention`` section; docs/plant-yaml.md);
signals that name none keep the deployment's defaults (``retention_raw_days``,
``retention_rollup_days``; 0 keeps for ever). :class:`RetentionPolicy` turns that into one
array per class of history, indexed by sid, so that the store applies it with a join, not a
statement per signal.

:class:`HistoryKeeper` runs every ``history_every`` seconds on the DuckDB store: it moves
whole UTC days older than ``cold_after_days`` into Parquet files (:meth:`DuckDBStore.archive`)
and drops what retention no longer keeps (:meth:`DuckDBStore.expire`): raw rows in the
database, and whole day files (or the expired signals' rows of a day file) in the cold
folder; rollups by their own, longer retention.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ..model import Plant
from ..model.types import Retention

__all__ = ["KEEP_ALL", "HistoryKeeper", "RetentionPolicy"]

log = logging.getLogger("twinverse.store.retention")

#: A cutoff that keeps every row (for ever).
KEEP_ALL = int(np.iinfo(np.int64).min)
_DAY_S = 86_400.0


@dataclass(frozen=True)
class RetentionPolicy:
    """Seconds each sid's raw rows and rollups are kept (0: for ever), and the defaults past the arrays."""

    raw_s: npt.NDArray[np.float64]
    rollup_s: npt.NDArray[np.float64]
    default_raw_s: float = 0.0
    default_rollup_s: float = 0.0

    @classmethod
    def uniform(cls, raw_days: float = 0.0, rollup_days: float = 0.0) -> RetentionPolicy:
        """The same retention for every signal."""
        empty = np.zeros(0)
        return cls(empty, empty, raw_days * _DAY_S, rollup_days * _DAY_S)

    @classmethod
    def from_plant(cls, plant: Plant, raw_days: float = 0.0, rollup_days: float = 0.0) -> RetentionPolicy:
        """Each signal's own retention, the defaults for those that name none.

        Signals of one type share their :class:`Signal` objects, so this is one lookup per
        distinct signal definition plus a gather, not a Python call per sid.
        """
        d_raw, d_roll = raw_days * _DAY_S, rollup_days * _DAY_S
        sigs = plant.signals.signal
        cache: dict[int, tuple[float, float]] = {}
        raw = np.empty(len(sigs))
        roll = np.empty(len(sigs))
        for i, s in enumerate(sigs):
            got = cache.get(id(s))
            if got is None:
                r = s.retention if isinstance(s.retention, Retention) else None
                got = (d_raw if r is None or r.raw is None else r.raw,
                       d_roll if r is None or r.rollups is None else r.rollups)  # fmt: skip
                cache[id(s)] = got
            raw[i], roll[i] = got
        return cls(raw, roll, d_raw, d_roll)

    @property
    def keeps_everything(self) -> bool:
        return not (self.default_raw_s or self.default_rollup_s or self.raw_s.any() or self.rollup_s.any())

    def cutoffs(self, rollups: bool, now_us: int) -> tuple[npt.NDArray[np.int64], int]:
        """Per sid, the time (µs) before which rows go; the same for sids past the array (:data:`KEEP_ALL`: none)."""
        keep = self.rollup_s if rollups else self.raw_s
        default = self.default_rollup_s if rollups else self.default_raw_s
        cut = np.where(keep > 0, now_us - (keep * 1e6).astype(np.int64), KEEP_ALL).astype(np.int64)
        return cut, (now_us - int(default * 1e6)) if default > 0 else KEEP_ALL


class _Keepable(Protocol):
    def archive(self, before_us: int) -> list[Any]: ...

    def expire(self, policy: RetentionPolicy, now_us: int) -> dict[str, int]: ...


class HistoryKeeper:
    """A daemon thread: every ``every`` seconds, move old days to Parquet and apply retention.

    ``policy`` is asked each round (the plant may have changed version); ``cold_after_s`` 0
    moves nothing.
    """

    def __init__(self, store: _Keepable, policy: Any, *, cold_after_s: float, every: float, clock: Any) -> None:
        self.store = store
        self.policy = policy
        self.cold_after_s = cold_after_s
        self.every = every
        self.clock = clock
        self.rounds = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> dict[str, int]:
        """One round: the move, then retention; returns what each did."""
        now = int(self.clock())
        out: dict[str, int] = {"days_moved": 0}
        if self.cold_after_s > 0:
            out["days_moved"] = len(self.store.archive(now - int(self.cold_after_s * 1e6)))
        policy: RetentionPolicy = self.policy()
        if not policy.keeps_everything:
            out.update(self.store.expire(policy, now))
        self.rounds += 1
        return out

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="history-keeper", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                done = self.run_once()
                if any(done.values()):
                    log.info("history kept: %s", done)
            except Exception:  # a failed round is retried at the next; the store keeps working
                self.failures += 1
                log.exception("history maintenance failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60)
            self._thread = None
