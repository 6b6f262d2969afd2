"""Rollups: per-signal 1-minute and 1-hour summaries that downsampled queries read instead of raw rows.

Each bucket keeps ``n, min, max, sum`` and the first and last (ts, value), so every
:class:`~twinverse.store.Aggregate` of any interval that is a whole number of minutes (or
hours) is computed from them exactly — the same answer as from the raw rows, except that
an average is ``sum / n`` (equal to the last bits of a float).

They are maintained the way continuous aggregates are (TimescaleDB's refresh policy):
:meth:`RollupState.plan` names the buckets to (re)compute — from where the last refresh
stopped, or from the oldest bucket a late row landed in — up to the last bucket that ended
a grace period ago. The store runs the SQL; a query reads rollups for the buckets they
cover and raw rows for the rest (the edges of the range and the newest minutes).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from ..errors import StoreError
from .base import Aggregate

__all__ = [
    "HOUR_US", "LEVELS", "MINUTE_US", "RollupLevel", "RollupRefresher", "RollupState", "ceil_us", "floor_us",
    "rollup_agg_sql", "rollup_one_sql", "split_range",
]

log = logging.getLogger("twinverse.store.rollup")

MINUTE_US = 60_000_000
HOUR_US = 3_600_000_000
#: Most of history one refresh step aggregates (the store lock is released between steps).
STEP_US = 24 * HOUR_US


@dataclass(frozen=True)
class RollupLevel:
    table: str
    width_us: int


LEVELS = (RollupLevel("rollup_1m", MINUTE_US), RollupLevel("rollup_1h", HOUR_US))

#: Columns of a rollup table, after (sid, bucket).
COLUMNS = "n BIGINT, vmin DOUBLE, vmax DOUBLE, vsum DOUBLE, first_ts TIMESTAMPTZ, first_value DOUBLE, " \
          "last_ts TIMESTAMPTZ, last_value DOUBLE"


def rollup_agg_sql(agg: Aggregate) -> str:
    """The SQL of ``agg`` over rollup rows (grouped into coarser buckets)."""
    return {
        Aggregate.AVG: "sum(vsum) / sum(n)",
        Aggregate.MIN: "min(vmin)",
        Aggregate.MAX: "max(vmax)",
        Aggregate.LAST: "arg_max(last_value, last_ts)",
        Aggregate.FIRST: "arg_min(first_value, first_ts)",
        Aggregate.COUNT: "sum(n)::DOUBLE",
    }[agg]


def rollup_one_sql(agg: Aggregate) -> str:
    """The SQL of ``agg`` over one rollup row (an output bucket as wide as the rollup's)."""
    return {
        Aggregate.AVG: "vsum / n",
        Aggregate.MIN: "vmin",
        Aggregate.MAX: "vmax",
        Aggregate.LAST: "last_value",
        Aggregate.FIRST: "first_value",
        Aggregate.COUNT: "n::DOUBLE",
    }[agg]


def floor_us(us: int, width: int) -> int:
    """``us`` down to a multiple of ``width`` (epoch-aligned bucket start)."""
    return (us // width) * width


def ceil_us(us: int, width: int) -> int:
    """``us`` up to a multiple of ``width``."""
    return -((-us) // width) * width


def split_range(
    start_us: int | None, end_us: int | None, interval_us: int, done_us: int | None
) -> tuple[int, int] | None:
    """The part ``[a, b)`` of a downsampled query that whole rolled-up buckets answer, if any.

    Output buckets are aligned to ``interval_us`` from the epoch; a bucket only partly inside
    ``[start, end)`` or not yet rolled up (at or after ``done_us``) comes from raw rows.

    >>> split_range(90_000_000, 1_000_000_000, 60_000_000, 600_000_000)
    (120000000, 600000000)
    >>> split_range(0, 100_000_000, 60_000_000, 600_000_000)
    (0, 60000000)
    >>> split_range(0, 10**9, 60_000_000, None) is None
    True
    """
    if done_us is None:
        return None
    a = ceil_us(start_us, interval_us) if start_us is not None else None
    stop = done_us if end_us is None else min(end_us, done_us)
    b = floor_us(stop, interval_us)
    if a is not None and a >= b:
        return None
    return (a if a is not None else -(1 << 62), b)


class RollupState:
    """How far the rollups are complete, and which rolled-up buckets late rows made stale.

    ``done_us``: every 1-minute bucket before it is rolled up (None: nothing yet).
    ``dirty_us``: the oldest timestamp appended since that lies before ``done_us``.
    Used under the store's write lock (appends and refresh steps never overlap).
    """

    def __init__(self, done_us: int | None = None, *, grace_us: int = MINUTE_US) -> None:
        self.done_us = done_us
        self.dirty_us: int | None = None
        self.grace_us = grace_us

    @property
    def hour_done_us(self) -> int | None:
        """Every 1-hour bucket before this is complete."""
        return None if self.done_us is None else floor_us(self.done_us, HOUR_US)

    def note_append(self, min_ts_us: int) -> None:
        """Record an appended batch's oldest timestamp (one comparison in the common case)."""
        if self.done_us is not None and min_ts_us < self.done_us:
            self.dirty_us = min_ts_us if self.dirty_us is None else min(self.dirty_us, min_ts_us)

    def plan(self, now_us: int, oldest_us: int | None) -> tuple[int, int] | None:
        """The 1-minute range ``[a, b)`` to (re)compute next, or None if up to date.

        Stale buckets first (from the oldest late row up to ``done_us``), then the front,
        up to the last minute that ended ``grace_us`` ago. One step covers at most
        :data:`STEP_US`, so that a large backlog is done in pieces.
        """
        if self.dirty_us is not None and self.done_us is not None:
            a = floor_us(self.dirty_us, MINUTE_US)
            return a, min(self.done_us, a + STEP_US)
        if self.done_us is not None:
            a = self.done_us
        elif oldest_us is not None:
            a = floor_us(oldest_us, MINUTE_US)
        else:
            return None
        b = min(floor_us(now_us - self.grace_us, MINUTE_US), a + STEP_US)
        return (a, b) if b > a else None

    def finished(self, a: int, b: int) -> None:
        """``[a, b)`` is rolled up: forget the staleness it covered, or move the front."""
        if self.dirty_us is not None and self.done_us is not None and a <= self.dirty_us:
            self.dirty_us = b if b < self.done_us else None
        else:
            self.done_us = b


class RollupRefresher:
    """A daemon thread that calls ``store.refresh_rollups()`` every ``every`` seconds."""

    def __init__(self, store: Any, every: float) -> None:
        self.store = store
        self.every = every
        self.refreshes = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def supported(store: Any) -> bool:
        return callable(getattr(store, "refresh_rollups", None))

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rollups", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.refreshes += self.store.refresh_rollups()
            except StoreError as exc:  # the store says why; raw rows still answer every query
                self.failures += 1
                log.warning("rollup refresh failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
