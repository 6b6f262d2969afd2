"""Rows of a batch in store order: sorted by (sid, ts), one row per key.

The duplicate rule within a batch lives here: of rows with the same (sid, ts) the last
received wins; across batches the store keeps the first stored (see the store suite).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ..core.batch import BATCH_SCHEMA, ts_array

__all__ = ["Rows", "sort_order", "sorted_unique"]

#: A batch and its columns as NumPy arrays: (batch, sid, ts, value, quality).
Rows = tuple[
    pa.RecordBatch, npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.uint8]
]


def sorted_unique(
    ts: npt.NDArray[np.int64],
    sid: npt.NDArray[np.int32],
    value: npt.NDArray[np.float64],
    quality: npt.NDArray[np.uint8],
    nsig: int = 1 << 31,
) -> Rows:
    """Sort by (sid, ts); of rows with equal (sid, ts) keep the last one received."""
    s, t, v, q = sid, ts, value, quality
    if len(s) > 1:
        order = sort_order(s, t, nsig)
        if order is not None:
            s, t, v, q = np.take(s, order), np.take(t, order), np.take(v, order), np.take(q, order)
        keep = np.ones(len(s), dtype=bool)
        keep[:-1] = (s[1:] != s[:-1]) | (t[1:] != t[:-1])
        if not keep.all():
            s, t, v, q = s[keep], t[keep], v[keep], q[keep]
    batch = pa.RecordBatch.from_arrays(
        [ts_array(t), pa.array(s), pa.array(v), pa.array(q)],
        schema=BATCH_SCHEMA,
    )
    return batch, s, t, v, q


def sort_order(sid: npt.NDArray[np.int32], ts: npt.NDArray[np.int64], nsig: int) -> npt.NDArray[np.intp] | None:
    """A stable permutation sorting rows by (sid, ts), or None if they already are.

    Connectors deliver rows in time order (every signal at one tick, then the next tick), so
    a stable sort by sid alone — a radix sort when sids fit 16 bits — usually suffices.
    """
    step = sid[1:] - sid[:-1]
    ts_up = ts[1:] >= ts[:-1]
    if bool(np.all(step >= 0)) and bool(np.all((step > 0) | ts_up)):
        return None
    if bool(ts_up.all()):
        key = sid.astype(np.uint16) if nsig <= 1 << 16 else sid
        return np.argsort(key, kind="stable")
    return np.lexsort((ts, sid))

