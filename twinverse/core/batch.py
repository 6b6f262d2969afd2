"""The Arrow batch every connector produces and the engine consumes.

Schema: ``ts timestamp[us, UTC] · sid int32 · value float64 · quality uint8`` and, optionally,
``unit`` (string or dictionary<string>) naming the unit the source measured in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = ["BATCH_SCHEMA", "QUARANTINE_SCHEMA", "TS_TYPE", "make_batch", "ts_to_us"]


TS_TYPE = pa.timestamp("us", tz="UTC")

BATCH_SCHEMA = pa.schema(
    [
        pa.field("ts", TS_TYPE, nullable=False),
        pa.field("sid", pa.int32(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
        pa.field("quality", pa.uint8(), nullable=False),
    ]
)

#: Rejected observations, with names rather than sids (an unknown name has no sid).
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("received", TS_TYPE),
        pa.field("ts", TS_TYPE),
        pa.field("twin", pa.string()),
        pa.field("signal", pa.string()),
        pa.field("value", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("source", pa.string()),
    ]
)


def ts_to_us(ts: Any) -> npt.NDArray[np.int64]:
    """Timestamps (datetime64, Arrow timestamp array, or int µs) as int64 µs since the epoch."""
    if isinstance(ts, (pa.Array, pa.ChunkedArray)):
        return np.asarray(ts.cast(TS_TYPE).cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    arr = np.asarray(ts)
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[us]").astype(np.int64)
    return arr.astype(np.int64, copy=False)


def make_batch(
    ts: Any,
    sid: Any,
    value: Any,
    quality: Any = None,
    *,
    unit: Any = None,
) -> pa.RecordBatch:
    """Build a batch from columns; ``ts`` as datetime64, Arrow timestamps or int µs.

    >>> import numpy as np
    >>> b = make_batch(np.array([0, 1_000_000]), [0, 1], [1.5, 2.5])
    >>> b.num_rows, b.schema.field("ts").type
    (2, TimestampType(timestamp[us, tz=UTC]))
    """
    us = ts_to_us(ts)
    n = len(us)
    q = np.zeros(n, dtype=np.uint8) if quality is None else np.asarray(quality, dtype=np.uint8)
    arrays = [
        pa.array(us, type=pa.int64()).cast(TS_TYPE),
        pa.array(np.asarray(sid, dtype=np.int32)),
        pa.array(np.asarray(value, dtype=np.float64)),
        pa.array(q),
    ]
    if unit is None:
        return pa.RecordBatch.from_arrays(arrays, schema=BATCH_SCHEMA)
    units = (
        unit
        if isinstance(unit, pa.Array)
        else pa.array(list(unit) if not isinstance(unit, str) else [unit] * n, type=pa.string())
    )
    return pa.RecordBatch.from_arrays([*arrays, units], schema=BATCH_SCHEMA.append(pa.field("unit", units.type)))
