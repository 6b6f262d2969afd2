"""The last N values of each twin's signals from the store, for the Time Series internal segment.

The store reads ranges forward, so the window before each twin's newest value grows (×4
from one minute) until it holds ``n`` distinct timestamps or reaches the oldest row: a few
bounded queries, however long the history.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from ...core.clock import iso_dt
from ...model import Plant
from ...store import HistoryQuery, HistoryReader

__all__ = ["Records", "last_records"]

#: twin id → [(ISO time, {signal: value})], oldest first.
Records = dict[str, list[tuple[str, dict[str, Any]]]]

_MAX_ROWS = 1_000_000


def last_records(store: HistoryReader, plant: Plant, twins: Iterable[str], n: int) -> Records:
    """The newest ``n`` timestamps of each twin (all its signals' values at each), from ``store``."""
    if n < 1:
        return {}
    latest = store.latest()
    newest = dict(zip(latest.column("sid").to_pylist(), latest.column("ts").to_pylist(), strict=True))
    oldest = store.earliest()
    fmt = plant.signals.format
    out: Records = {}
    for twin in twins:
        sids = tuple(plant.signals.of_twin(twin))
        ends = [newest[s] for s in sids if s in newest]
        if not ends or oldest is None:
            continue
        end = max(ends) + timedelta(microseconds=1)
        window = timedelta(minutes=1)
        while True:
            start = end - window
            table = store.history(HistoryQuery(sids, start=start, end=end, limit=_MAX_ROWS))
            stamps = set(table.column("ts").to_pylist())
            if len(stamps) >= n or start <= oldest or table.num_rows >= _MAX_ROWS:
                break
            window *= 4
        rows: dict[Any, dict[str, Any]] = {}
        for sid, ts, value in zip(table.column("sid").to_pylist(), table.column("ts").to_pylist(),
                                  table.column("value").to_pylist(), strict=True):
            rows.setdefault(ts, {})[str(plant.signals.name[sid])] = fmt.value(int(sid), float(value))
        keep = sorted(rows)[-n:]
        out[twin] = [(iso_dt(ts), rows[ts]) for ts in keep]
    return out
