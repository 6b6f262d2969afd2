"""Turn named points (JSON, Arrow, CSV columns) into engine batches plus quarantine rows.

Shared by every connector so that HTTP, MQTT and replay accept the same shapes and give
the same reasons. Names map to sids once per distinct (twin, signal) pair; numeric value
columns convert in one Arrow cast; only odd values (state names, booleans, garbage) take
a per-row path.

Timestamps may be ISO 8601 strings (``Z`` or an offset; naive means UTC) or numbers of
**milliseconds** since the Unix epoch; a missing timestamp means "now" (receive time).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ..core.batch import BATCH_SCHEMA, QUARANTINE_SCHEMA, TS_TYPE, ts_array
from ..core.clock import NEVER
from ..core.clock import now_us as _now_us
from ..core.values import KindCode
from ..errors import InputError
from ..model import Plant

__all__ = [
    "SMALL_POINTS",
    "Decoded",
    "SmallColumns",
    "decode_columns",
    "decode_points",
    "parse_timestamps",
    "quarantine_rows",
    "small_columns",
]

_BAD_TS = NEVER


@dataclass
class Decoded:
    """A batch for the engine and the rows rejected before reaching it."""

    batch: pa.RecordBatch
    rejects: pa.Table

    @property
    def rejected(self) -> int:
        return int(self.rejects.num_rows)


def quarantine_rows(
    twins: Sequence[Any],
    signals: Sequence[Any],
    values: Sequence[Any],
    reasons: Sequence[str],
    source: str,
    ts: Sequence[datetime | None] | None = None,
) -> pa.Table:
    """Quarantine rows for observations rejected by a connector."""
    n = len(reasons)
    now = datetime.now(UTC)
    return pa.table(
        {
            "received": pa.array([now] * n, type=TS_TYPE),
            "ts": pa.array(list(ts) if ts is not None else [None] * n, type=TS_TYPE),
            "twin": pa.array([None if t is None else str(t) for t in twins], type=pa.string()),
            "signal": pa.array([None if s is None else str(s) for s in signals], type=pa.string()),
            "value": pa.array([_short(v) for v in values], type=pa.string()),
            "reason": pa.array(list(reasons), type=pa.string()),
            "source": pa.array([source] * n, type=pa.string()),
        },
        schema=QUARANTINE_SCHEMA,
    )


def _short(v: Any, limit: int = 200) -> str | None:
    if v is None:
        return None
    try:
        text = v if isinstance(v, str) else repr(v)
    except RecursionError:  # a value nested thousands of levels deep
        return "(nested too deeply to show)"
    return text if len(text) <= limit else text[:limit] + "…"


def parse_timestamps(ts: Sequence[Any] | pa.Array, now_us: int | None = None) -> npt.NDArray[np.int64]:
    """Timestamps (ISO strings, epoch milliseconds, datetimes, None) as µs; unparsable → int64 min."""
    n = len(ts)
    now = _now_us() if now_us is None else now_us
    if isinstance(ts, pa.Array):
        arr = ts
    else:
        try:
            arr = pa.array(ts)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            return np.array([_one_ts(v, now) for v in ts], dtype=np.int64)
    t = arr.type
    if pa.types.is_null(t):
        return np.full(n, now, dtype=np.int64)
    if pa.types.is_timestamp(t):
        return _timestamps_us(arr, now)
    elif pa.types.is_integer(t) or pa.types.is_floating(t):
        # Unsafe: integers beyond 2^53 lose their last digits as floats, and are out of range anyway.
        f = np.asarray(arr.cast(pa.float64(), safe=False).fill_null(np.nan).to_numpy(zero_copy_only=False))
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(f) & (np.abs(f) < 9.2e15)
        res = np.where(ok, np.round(np.where(ok, f, 0) * 1000.0), 0).astype(np.int64)
        res[~ok] = _BAD_TS
        if arr.null_count:
            res[np.asarray(arr.is_null().to_numpy(zero_copy_only=False))] = now
        return res
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        try:
            out = pc.cast(arr, TS_TYPE).cast(pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return np.array([_one_ts(v, now) for v in arr.to_pylist()], dtype=np.int64)
    else:
        return np.array([_one_ts(v, now) for v in arr.to_pylist()], dtype=np.int64)
    return np.asarray(out.fill_null(now).to_numpy(zero_copy_only=False), dtype=np.int64)


#: µs per unit of an Arrow timestamp type (ns divides).
_PER_UNIT = {"s": 1_000_000, "ms": 1_000, "us": 1}


def _timestamps_us(arr: pa.Array, now: int) -> npt.NDArray[np.int64]:
    """An Arrow timestamp array of any unit as µs; values µs cannot hold become unparsable."""
    raw = np.asarray(arr.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    unit = arr.type.unit
    if unit == "ns":
        out = raw // 1000
    else:
        factor = _PER_UNIT[unit]
        limit = np.iinfo(np.int64).max // factor
        bad = (raw > limit) | (raw < -limit)
        out = np.where(bad, 0, raw) * factor
        out[bad] = _BAD_TS
    if arr.null_count:
        out[np.asarray(arr.is_null().to_numpy(zero_copy_only=False))] = now
    return out


def _one_ts(v: Any, now: int) -> int:
    if v is None:
        return now
    if isinstance(v, bool):
        return _BAD_TS
    if isinstance(v, (int, float)):
        return round(v * 1000) if math.isfinite(v) and abs(v) < 9.2e15 else _BAD_TS
    if isinstance(v, datetime):
        return round((v if v.tzinfo else v.replace(tzinfo=UTC)).timestamp() * 1e6)
    if isinstance(v, str):
        try:
            d = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return _BAD_TS
        return round((d if d.tzinfo else d.replace(tzinfo=UTC)).timestamp() * 1e6)
    return _BAD_TS


def _missing(values: pa.Array) -> list[str | None]:
    """Per-row "missing value" for nulls (a null is not a NaN); empty when there are none."""
    if not values.null_count:
        return []
    return ["missing value" if x else None for x in values.is_null().to_numpy(zero_copy_only=False).tolist()]


def _values(
    plant: Plant, sid: npt.NDArray[np.int32], values: Sequence[Any] | pa.Array
) -> tuple[npt.NDArray[np.float64], list[str | None]]:
    """Values as floats; state names become codes, booleans 0/1. Second item: reason per row or None."""
    n = len(sid)
    reasons: list[str | None] = []
    if isinstance(values, pa.Array) and (
        pa.types.is_integer(values.type) or pa.types.is_floating(values.type) or pa.types.is_boolean(values.type)
    ):
        out = np.asarray(values.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
        return out, _missing(values)
    seq = values.to_pylist() if isinstance(values, pa.Array) else values
    if not isinstance(values, pa.Array):
        try:
            arr = pa.array(seq, type=pa.float64())
            out = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)
            if not any(isinstance(v, (bool, str)) for v in seq[:1]):
                return out, _missing(arr)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            pass
    out = np.full(n, np.nan)
    reasons = [None] * n
    idx = plant.signals
    for i, v in enumerate(seq):
        if isinstance(v, bool):
            out[i] = 1.0 if v else 0.0
        elif isinstance(v, (int, float)):
            try:
                out[i] = float(v)
            except OverflowError:
                reasons[i] = "value is too large"
        elif isinstance(v, str) and sid[i] >= 0 and idx.kind[sid[i]] == KindCode.STATE:
            states = idx.signal[sid[i]].states or ()
            if v in states:
                out[i] = float(states.index(v))
            else:
                reasons[i] = f"state {v!r} not in the enumeration ({', '.join(states)})"
        elif isinstance(v, str):
            try:
                out[i] = float(v)
            except ValueError:
                reasons[i] = f"unparsable value {_short(v, 40)!r}"
        elif v is None:
            reasons[i] = "missing value"
        else:
            reasons[i] = f"unparsable value of type {type(v).__name__}"
    return out, reasons


def decode_columns(
    plant: Plant,
    twins: Sequence[Any] | pa.Array,
    signals: Sequence[Any] | pa.Array,
    ts: Sequence[Any] | pa.Array,
    values: Sequence[Any] | pa.Array,
    *,
    quality: Sequence[Any] | pa.Array | None = None,
    units: Sequence[Any] | pa.Array | None = None,
    source: str = "api",
    now_us: int | None = None,
) -> Decoded:
    """Columns of names, timestamps and values → engine batch + quarantine rows."""
    n = len(ts)
    if not (len(twins) == len(signals) == len(values) == n):
        raise InputError(
            f"columns differ in length: twin {len(twins)}, signal {len(signals)}, ts {n}, value {len(values)}"
        )
    tw = (
        twins
        if isinstance(twins, pa.Array)
        else pa.array([None if t is None else str(t) for t in twins], type=pa.string())
    )
    sg = (
        signals
        if isinstance(signals, pa.Array)
        else pa.array([None if s is None else str(s) for s in signals], type=pa.string())
    )
    sid = plant.signals.lookup(tw, sg)
    us = parse_timestamps(ts, now_us)
    val, vreasons = _values(plant, sid, values)
    bad = (sid < 0) | (us == _BAD_TS)
    if vreasons:
        bad |= np.array([r is not None for r in vreasons], dtype=bool)
    q = np.zeros(n, np.uint8)
    if quality is not None:
        qa = quality if isinstance(quality, pa.Array) else pa.array(quality)
        try:
            q = np.asarray(qa.cast(pa.uint8()).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.uint8)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise InputError("quality must be an integer 0 (good), 1 (uncertain) or 2 (bad)") from exc
        if len(q) and int(q.max()) > 2:
            raise InputError(f"quality must be 0 (good), 1 (uncertain) or 2 (bad), got {int(q.max())}")
    ok = ~bad
    cols: list[pa.Array] = [
        ts_array(us[ok]),
        pa.array(sid[ok]),
        pa.array(val[ok]),
        pa.array(q[ok]),
    ]
    schema = BATCH_SCHEMA
    if units is not None:
        ua = (
            units
            if isinstance(units, pa.Array)
            else pa.array([None if u is None else str(u) for u in units], type=pa.string())
        )
        cols.append(ua.filter(pa.array(ok)))
        schema = schema.append(pa.field("unit", ua.type))
    batch = pa.RecordBatch.from_arrays(cols, schema=schema)
    if not bad.any():
        return Decoded(batch, QUARANTINE_SCHEMA.empty_table())
    rows = np.flatnonzero(bad)
    twl, sgl = tw.to_pylist(), sg.to_pylist()
    vals = values.to_pylist() if isinstance(values, pa.Array) else values
    if isinstance(ts, pa.Array):
        # Out-of-range timestamps cannot become datetimes: show them as the numbers they are.
        tsl = ts.cast(pa.int64()).to_pylist() if pa.types.is_timestamp(ts.type) else ts.to_pylist()
    else:
        tsl = ts
    reasons = []
    for r in rows.tolist():
        if sid[r] < 0:
            t, s = twl[r], sgl[r]
            if t is None or s is None:
                reasons.append("missing twin or signal name")
            elif t not in plant.twins:
                reasons.append(f"unknown twin {t!r}")
            else:
                reasons.append(f"twin {t!r} has no signal {s!r}")
        elif us[r] == _BAD_TS:
            reasons.append(f"unparsable timestamp {_short(tsl[r], 60)!r}")
        else:
            reasons.append(vreasons[r] or "invalid value")
    picked = rows.tolist()
    rej = quarantine_rows(
        [twl[r] for r in picked],
        [sgl[r] for r in picked],
        [vals[r] for r in picked],
        reasons,
        source,
        ts=[None if us[r] == _BAD_TS else datetime.fromtimestamp(us[r] / 1e6, UTC) for r in picked],
    )
    return Decoded(batch, rej)


def decode_points(
    plant: Plant,
    points: Sequence[Any],
    *,
    source: str = "api",
    default_twin: str | None = None,
    default_signal: str | None = None,
    now_us: int | None = None,
) -> Decoded:
    """A list of point objects ``{twin, signal, ts, value[, quality, unit]}`` → :class:`Decoded`.

    Non-object items and objects without a value are quarantined, not fatal.
    """
    if len(points) <= _SMALL:
        fast = _small_points(plant, points, default_twin, default_signal, now_us)
        if fast is not None:
            return fast
    good = [p for p in points if isinstance(p, dict) and "value" in p]
    bad = [p for p in points if not (isinstance(p, dict) and "value" in p)]
    has_q = any("quality" in p for p in good)
    has_u = any("unit" in p for p in good)
    dec = decode_columns(
        plant,
        [p.get("twin", default_twin) for p in good],
        [p.get("signal", default_signal) for p in good],
        [p.get("ts") for p in good],
        [p["value"] for p in good],
        quality=[p.get("quality", 0) for p in good] if has_q else None,
        units=[p.get("unit") for p in good] if has_u else None,
        source=source,
        now_us=now_us,
    )
    if bad:
        extra = quarantine_rows(
            [default_twin] * len(bad),
            [default_signal] * len(bad),
            bad,
            ["point must be an object with a 'value'" for _ in bad],
            source,
        )
        dec.rejects = pa.concat_tables([dec.rejects, extra])
    return dec


#: Point lists up to this long try :func:`small_columns` first.
SMALL_POINTS = _SMALL = 256
_NUMBER = (int, float)


#: Plain point columns: (sid int32, ts µs int64, value float64).
SmallColumns = tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.float64]]


def small_columns(
    plant: Plant,
    points: Sequence[Any],
    default_twin: str | None = None,
    default_signal: str | None = None,
    now_us: int | None = None,
) -> SmallColumns | None:
    """A short list of plain points (known names, numeric ts and value, no quality or unit) as columns.

    Devices send many small bodies: for them a few dict lookups beat a dozen Arrow kernel
    calls. Anything unusual returns None and takes the general path, which gives the reasons.
    The engine still validates the columns (ranges, kinds, time bounds).
    """
    by_key = plant.signals.key_index
    sids, uss, vals = [], [], []
    now = -1
    # Plain Python per point, NumPy once per column: for ten points, each NumPy call costs
    # more than the checks themselves (py-spy under benchmarks/bench_small.py).
    for p in points:
        if type(p) is not dict or len(p) > 4:
            return None
        v, t = p.get("value"), p.get("ts")
        if type(v) not in _NUMBER or (t is not None and type(t) not in _NUMBER):
            return None
        sid = by_key.get((p.get("twin", default_twin), p.get("signal", default_signal)))  # type: ignore[arg-type]
        if sid is None or len(p) != 1 + ("twin" in p) + ("signal" in p) + ("ts" in p):
            return None
        if t is None:
            if now < 0:
                now = _now_us() if now_us is None else now_us
            t = now / 1000.0
        # Far-off timestamps, NaN, infinities (v - v is NaN for them): the general path words the reason.
        if not -9.2e12 < t < 9.2e12 or v - v != 0:  # type: ignore[operator]  # v is a number (checked above)
            return None
        sids.append(sid)
        uss.append(round(float(t) * 1000.0))  # ms → µs exactly as the general path rounds (half to even)
        vals.append(v)
    try:
        val = np.array(vals, dtype=np.float64)
    except OverflowError:  # an integer beyond float range
        return None
    return np.array(sids, dtype=np.int32), np.array(uss, dtype=np.int64), val


def _small_points(
    plant: Plant,
    points: Sequence[Any],
    default_twin: str | None,
    default_signal: str | None,
    now_us: int | None,
) -> Decoded | None:
    """:func:`small_columns` as a batch with no rejects, or None for the general path."""
    cols = small_columns(plant, points, default_twin, default_signal, now_us)
    if cols is None:
        return None
    sid, us, val = cols
    batch = pa.RecordBatch.from_arrays(
        [ts_array(us), pa.array(sid), pa.array(val), pa.array(np.zeros(len(sid), np.uint8))],
        schema=BATCH_SCHEMA,
    )
    return Decoded(batch, QUARANTINE_SCHEMA.empty_table())
