"""The Arrow batch every connector produces and the engine consumes.

Schema: ``ts timestamp[us, UTC] · sid int32 · value float64 · quality uint8`` and, optionally,
``unit`` (string or dictionary<string>) naming the unit the source measured in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = ["BATCH_SCHEMA", "QUARANTINE_SCHEMA", "TS_TYPE", "make_batch", "ts_array", "ts_to_us"]


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


def ts_array(us: Any) -> pa.Array:
    """Int µs since the epoch as a ``timestamp[us, UTC]`` Arrow array, without a copy or a cast kernel.

    >>> ts_array(np.array([0, 1_500_000])).to_pylist()[1].isoformat()
    '1970-01-01T00:00:01.500000+00:00'
    """
    arr = np.ascontiguousarray(us, dtype=np.int64)
    return pa.Array.from_buffers(TS_TYPE, len(arr), [None, pa.py_buffer(arr)])


def ts_to_us(ts: Any) -> npt.NDArray[np.int64]:
    """Timestamps (datetime64, Arrow timestamp array, or int µs) as int64 µs since the epoch.

    A ``timestamp[us, UTC]`` array without nulls comes back as a read-only view of its buffer.
    """
    if isinstance(ts, pa.ChunkedArray) and ts.num_chunks == 1:
        ts = ts.chunk(0)
    if isinstance(ts, pa.Array) and ts.type == TS_TYPE and ts.null_count == 0 and len(ts):
        return np.frombuffer(ts.buffers()[1], dtype=np.int64, count=len(ts), offset=ts.offset * 8)
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
        ts_array(us),
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
