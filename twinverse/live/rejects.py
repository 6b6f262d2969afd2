"""Rejected rows in words: the quarantine rows and the first errors an ingest answers with."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ..core.batch import QUARANTINE_SCHEMA, TS_TYPE, ts_array
from ..core.clock import now_us as _now_us
from ..core.reasons import RejectReason as R
from ..model.plant import SignalIndex

__all__ = ["first_errors", "reject_rows"]


def first_errors(rejects: pa.Table, rows: npt.NDArray[np.intp], limit: int = 50) -> tuple[dict[str, object], ...]:
    """The first rejected rows as ``{row, twin, signal, value, reason}`` records."""
    head = rejects.slice(0, limit).select(["twin", "signal", "value", "reason"]).to_pylist()
    return tuple({"row": int(r), **rec} for r, rec in zip(rows[:limit], head, strict=False))


def reject_rows(
idx: SignalIndex,
    batch: pa.RecordBatch,
    bad: npt.NDArray[np.bool_],
    reason: npt.NDArray[np.uint8],
    ts: npt.NDArray[np.int64],
    sid: npt.NDArray[np.int32],
    value: npt.NDArray[np.float64],
    source: str,
) -> pa.Table:
    """The rows of ``batch`` marked ``bad`` as quarantine rows, each with its reason in words."""
    rows = np.flatnonzero(bad)
    rsid = sid[rows]
    known = (rsid >= 0) & (rsid < len(idx))
    twin = [str(idx.twin[s]) if k else None for s, k in zip(rsid.tolist(), known.tolist(), strict=True)]
    name = [str(idx.name[s]) if k else None for s, k in zip(rsid.tolist(), known.tolist(), strict=True)]
    texts = []
    for r, code, s in zip(rows, reason[rows].tolist(), rsid, strict=True):
        why = R(code)
        text = why.text
        if why is R.UNKNOWN_SIGNAL:
            text = f"unknown signal id {s}"
        elif why in (R.OUT_OF_RANGE, R.NOT_A_STATE, R.NOT_BOOLEAN):
            text = f"{why.text}: {float(value[r])!r} not in [{idx.lo[s]:g}, {idx.hi[s]:g}]"
        elif why is R.UNIT_MISMATCH:
            unit = batch.column("unit")[int(r)].as_py()
            text = f"unit {unit!r} cannot be converted to {idx.unit[s]!r}"
        texts.append(text)
    ts_arr = ts_array(ts[rows])
    if batch.column("ts").null_count:
        ts_arr = pc.if_else(pa.array(reason[rows] == R.MISSING_TIMESTAMP), pa.nulls(len(rows), TS_TYPE), ts_arr)
    return pa.table(
        {
            "received": ts_array(np.full(len(rows), _now_us())),
            "ts": ts_arr,
            "twin": pa.array(twin, type=pa.string()),
            "signal": pa.array(name, type=pa.string()),
            "value": pa.array([repr(float(v)) for v in value[rows]], type=pa.string()),
            "reason": pa.array(texts, type=pa.string()),
            "source": pa.array([source] * len(rows), type=pa.string()),
        },
        schema=QUARANTINE_SCHEMA,
    )

