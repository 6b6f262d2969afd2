"""The plant as it was at a past moment: the last value of each signal at or before it.

One downsampled history query per call (aggregate ``last`` over a look-back window, in
buckets as wide as the window), so the cost does not grow with the number of points in
the window beyond one scan, and a 10,000-machine plant answers with one query.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core.clock import NEVER, to_us
from ..errors import InputError
from ..model import Plant
from ..store import Aggregate, HistoryQuery, HistoryReader

__all__ = ["SignalSet", "state_at"]


class SignalSet(StrEnum):
    """Which signals of the objects a time-travel query returns."""

    STATE = "state"
    ALL = "all"


def _sids(plant: Plant, within: str | None, signals: SignalSet) -> npt.NDArray[np.int32]:
    twins = plant.subtree(within) if within is not None else list(plant.twins)
    if signals is SignalSet.ALL:
        return plant.signals.of_twins(twins)
    found = [plant.signals.get(t, "state") for t in twins]
    return np.array(sorted(s for s in found if s is not None), dtype=np.int32)


def state_at(
    plant: Plant,
    store: HistoryReader,
    at: datetime,
    *,
    within: str | None = None,
    signals: SignalSet = SignalSet.STATE,
    lookback: timedelta = timedelta(hours=1),
) -> dict[str, Any]:
    """Last values at or before ``at`` (within ``lookback``) of a subtree's signals.

    Answers like a websocket snapshot — ``sid``, ``value`` (display form) and ``ts``
    (epoch ms of the bucket holding the value, or None) — for every requested signal,
    so a viewer applies it the way it applies live data. A signal with no value in the
    window has ``value`` None.
    """
    sids = _sids(plant, within, signals)
    try:
        start = at - lookback
    except OverflowError:
        raise InputError(f"at: {at.isoformat()} is too early to look {lookback} back from") from None
    end = at + timedelta(microseconds=1)  # the store's end is exclusive; include ``at``
    query = HistoryQuery(tuple(int(s) for s in sids), start, end, lookback, Aggregate.LAST, 10 * len(sids) + 10)
    table = store.history(query)
    value = np.full(len(sids), np.nan)
    ts = np.full(len(sids), NEVER, dtype=np.int64)
    if table.num_rows:
        t_sid = np.asarray(table.column("sid").to_numpy(zero_copy_only=False), dtype=np.int64)
        t_ts = np.asarray(table.column("ts").cast("int64").to_numpy(zero_copy_only=False), dtype=np.int64)
        t_val = np.asarray(table.column("value").to_numpy(zero_copy_only=False), dtype=np.float64)
        # Rows come ordered by (sid, bucket): the last row of each sid holds its newest value.
        last = np.flatnonzero(np.append(t_sid[1:] != t_sid[:-1], True))
        pos = np.searchsorted(sids, t_sid[last])
        value[pos] = t_val[last]
        ts[pos] = t_ts[last]
    return {
        "at": to_us(at) // 1000,
        **plant.signals.format.columns(sids, value, ts),
    }
