"""Helpers shared by the store implementations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ..core.batch import TS_TYPE, ts_to_us
from ..core.clock import NEVER, to_us
from .base import Aggregate

__all__ = ["Watermarks", "agg_sql", "history_schema", "interval_us", "sid_sql", "to_us", "ts_bounds", "url_schema"]

_NONE = NEVER


class Watermarks:
    """Newest stored timestamp (µs) per sid: rows after it are certainly new.

    This is what keeps appends of in-order data a plain bulk insert while (sid, ts) stays
    unique: only rows at or before the watermark need checking against the table.
    """

    def __init__(self) -> None:
        self._hw: npt.NDArray[np.int64] = np.full(1024, _NONE, dtype=np.int64)
        #: Rows at or before this time (µs) are never taken as certainly new, whatever their
        #: signal: the DuckDB store raises it over the rows it moved to cold files.
        self.floor = _NONE

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[int, int | None]]) -> Watermarks:
        w = cls()
        for sid, us in pairs:
            if us is not None:
                w._grow(int(sid))
                w._hw[int(sid)] = int(us)
        return w

    def _grow(self, max_sid: int) -> None:
        if max_sid >= len(self._hw):
            bigger = np.full(max(max_sid + 1, 2 * len(self._hw)), _NONE, dtype=np.int64)
            bigger[: len(self._hw)] = self._hw
            self._hw = bigger

    def is_new(self, batch: pa.RecordBatch) -> npt.NDArray[np.bool_]:
        """Which rows of a batch lie after their signal's watermark."""
        return self.is_new_us(batch.column("sid").to_numpy(), ts_to_us(batch.column("ts")))

    def is_new_us(self, sid: npt.NDArray[np.integer], ts: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Like :meth:`is_new` for columns already taken out of the batch (ts in µs)."""
        if len(sid) == 0:
            return np.zeros(0, dtype=bool)
        self._grow(int(sid.max()))
        new = ts > self._hw[sid]
        if self.floor != _NONE:
            new &= ts > self.floor
        return np.asarray(new)

    def update(self, batch: pa.RecordBatch) -> None:
        """Raise the watermarks to the newest timestamps of a stored batch."""
        self.update_us(batch.column("sid").to_numpy(), ts_to_us(batch.column("ts")))

    def update_us(self, sid: npt.NDArray[np.integer], ts: npt.NDArray[np.int64]) -> None:
        """Like :meth:`update` for columns already taken out of the batch (ts in µs)."""
        if len(sid) == 0:
            return
        self._grow(int(sid.max()))
        if len(sid) < 64:
            np.maximum.at(self._hw, sid, ts)
        else:
            _max_sorted(self._hw, sid, ts)

    def reset(self) -> None:
        self._hw[:] = _NONE


def _max_sorted(hw: npt.NDArray[np.int64], sid: npt.NDArray[np.integer], ts: npt.NDArray[np.int64]) -> None:
    # Engine batches are sorted by (sid, ts): the last row of each sid run is its maximum.
    same = sid[1:] == sid[:-1]
    if np.all((sid[1:] > sid[:-1]) | (same & (ts[1:] >= ts[:-1]))):
        last = np.ones(len(sid), dtype=bool)
        last[:-1] = ~same
        s, t = sid[last], ts[last]
        hw[s] = np.maximum(hw[s], t)
    else:
        np.maximum.at(hw, sid, ts)


def ts_bounds(batch: pa.RecordBatch) -> tuple[datetime, datetime]:
    lo, hi = pc.min_max(batch.column("ts")).values()
    return lo.as_py(), hi.as_py()


def interval_us(interval: timedelta) -> int:
    """A bucket width in whole µs (at least 1), computed exactly (no float seconds)."""
    return max(1, interval // timedelta(microseconds=1))


def sid_sql(sids: tuple[int, ...]) -> str:
    """The filter on ``sid`` for these signals: a range when they are consecutive (a plant's or a
    subtree's signals usually are), which DuckDB checks against each row group's min/max at once.

    >>> sid_sql((3, 4, 5)), sid_sql((1, 7)), sid_sql(())
    ('sid BETWEEN 3 AND 5', 'sid IN (1,7)', 'sid IN (NULL)')
    """
    if not sids:
        return "sid IN (NULL)"
    ordered = sorted({int(s) for s in sids})
    if len(ordered) > 2 and ordered[-1] - ordered[0] + 1 == len(ordered):
        return f"sid BETWEEN {ordered[0]} AND {ordered[-1]}"
    return f"sid IN ({','.join(map(str, ordered))})"


def agg_sql(agg: Aggregate) -> str:
    return {
        Aggregate.AVG: "avg(value)",
        Aggregate.MIN: "min(value)",
        Aggregate.MAX: "max(value)",
        Aggregate.LAST: "arg_max(value, ts)",
        Aggregate.FIRST: "arg_min(value, ts)",
        Aggregate.COUNT: "count(*)::DOUBLE",
    }[agg]


def history_schema(downsampled: bool) -> pa.Schema:
    fields = [pa.field("sid", pa.int32()), pa.field("ts", TS_TYPE), pa.field("value", pa.float64())]
    if downsampled:
        fields.append(pa.field("n", pa.int64()))
    return pa.schema(fields)


def url_schema(url: str) -> str | None:
    """The schema a PostgreSQL URL's ``options=-csearch_path=NAME`` puts first, else None.

    Such URLs come from ``store.factory.plant_store_url`` (a further plant of a park).

    >>> url_schema("postgresql://h/db?options=-csearch_path%3Dtwinverse_p2"), url_schema("postgresql://h/db")
    ('twinverse_p2', None)
    """
    from urllib.parse import parse_qsl, urlsplit

    options = dict(parse_qsl(urlsplit(url).query)).get("options", "")
    if not options.startswith("-csearch_path="):
        return None
    return options.removeprefix("-csearch_path=").split(",")[0].strip() or None
