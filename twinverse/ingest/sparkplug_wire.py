"""Columnar decoding of Sparkplug B data payloads: one compiled pass, no object per metric.

An NDATA or DDATA payload is mostly a list of scalar metrics by alias. Decoding it with the
``protobuf`` runtime makes a Python object per metric, then one per field read; here a
numba-compiled scan of the protobuf wire format (varints, fixed32/64, length-delimited
fields; unknown fields skipped as the format requires) writes each metric straight into
columns: alias, timestamp, datatype, is_null, value kind and value. Whatever is not a
scalar (strings, bytes, data sets, templates, extensions) is marked :data:`OTHER`, and the
caller decodes that payload with the schema (:mod:`.sparkplug_pb`) instead. Births always
go through the schema: they carry names and properties and are rare.

The scan is checked against the schema's decoder by the tests (known payloads and
Hypothesis-generated ones); a malformed payload yields ``status < 0``, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from .sparkplug_pb import DataType

__all__ = ["BOOL", "DOUBLE", "FLOAT", "INT", "LONG", "NONE", "OTHER", "Columns", "scan", "values"]

#: Value kinds of a scanned metric (the member of the ``value`` oneof it carried).
NONE, INT, LONG, FLOAT, DOUBLE, BOOL, OTHER = 0, 1, 2, 3, 4, 5, 6

_njit = numba.njit(cache=True, nogil=True)


@_njit
def _varint(buf: npt.NDArray[np.uint8], pos: int, end: int) -> tuple[Any, int]:
    result = np.uint64(0)
    shift = 0
    while pos < end:
        b = buf[pos]
        pos += 1
        if shift < 64:
            result |= np.uint64(b & 0x7F) << np.uint64(shift)
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            return result, -1
    return result, -1


@_njit
def _skip(buf: npt.NDArray[np.uint8], pos: int, end: int, wire: int) -> int:
    if wire == 0:
        _, pos = _varint(buf, pos, end)
        return pos
    if wire == 1:
        return pos + 8 if pos + 8 <= end else -1
    if wire == 5:
        return pos + 4 if pos + 4 <= end else -1
    if wire == 2:
        n, pos = _varint(buf, pos, end)
        if pos < 0 or pos + n > end:
            return -1
        return pos + int(n)
    return -1  # groups (3, 4) are not used by Sparkplug; anything else is malformed


@_njit
def _scan(buf, alias, ts, dtype, null, kind, raw, fval, name_at, name_len):  # type: ignore[no-untyped-def]
    """Fill the columns; returns (metrics, payload timestamp or -1, seq or -1, status)."""
    end = len(buf)
    pos = 0
    n = 0
    p_ts = np.int64(-1)
    p_seq = np.int64(-1)
    f4 = np.empty(1, dtype=np.uint32)
    f8 = np.empty(1, dtype=np.uint64)
    while pos < end:
        key, pos = _varint(buf, pos, end)
        if pos < 0:
            return n, p_ts, p_seq, -1
        field = int(key >> np.uint64(3))
        wire = int(key & np.uint64(7))
        if field == 1 and wire == 0:
            v, pos = _varint(buf, pos, end)
            if pos < 0:
                return n, p_ts, p_seq, -1
            p_ts = np.int64(v)
        elif field == 3 and wire == 0:
            v, pos = _varint(buf, pos, end)
            if pos < 0:
                return n, p_ts, p_seq, -1
            p_seq = np.int64(v)
        elif field == 2 and wire == 2:
            ln, pos = _varint(buf, pos, end)
            if pos < 0 or pos + ln > end:
                return n, p_ts, p_seq, -2
            mend = pos + int(ln)
            if n >= len(alias):
                return n, p_ts, p_seq, -3
            alias[n] = -1
            ts[n] = -1
            dtype[n] = 0
            null[n] = False
            kind[n] = NONE
            raw[n] = 0
            fval[n] = 0.0
            name_at[n] = -1
            name_len[n] = 0
            while pos < mend:
                mkey, pos = _varint(buf, pos, mend)
                if pos < 0:
                    return n, p_ts, p_seq, -4
                mf = int(mkey >> np.uint64(3))
                mw = int(mkey & np.uint64(7))
                if mw == 0 and (mf == 2 or mf == 3 or mf == 4 or mf == 7 or mf == 10 or mf == 11 or mf == 14):
                    v, pos = _varint(buf, pos, mend)
                    if pos < 0:
                        return n, p_ts, p_seq, -4
                    if mf == 2:
                        alias[n] = np.int64(v)
                    elif mf == 3:
                        ts[n] = np.int64(v)
                    elif mf == 4:
                        dtype[n] = np.int32(v & np.uint64(0xFFFFFFFF))
                    elif mf == 7:
                        null[n] = v != 0
                    elif mf == 10:
                        kind[n] = INT
                        raw[n] = v & np.uint64(0xFFFFFFFF)
                    elif mf == 11:
                        kind[n] = LONG
                        raw[n] = v
                    else:
                        kind[n] = BOOL
                        raw[n] = np.uint64(1) if v != 0 else np.uint64(0)
                elif mf == 1 and mw == 2:
                    ln2, pos = _varint(buf, pos, mend)
                    if pos < 0 or pos + ln2 > mend:
                        return n, p_ts, p_seq, -5
                    name_at[n] = pos
                    name_len[n] = int(ln2)
                    pos += int(ln2)
                elif mf == 12 and mw == 5:
                    if pos + 4 > mend:
                        return n, p_ts, p_seq, -6
                    b4 = np.uint32(0)
                    for i in range(4):
                        b4 |= np.uint32(buf[pos + i]) << np.uint32(8 * i)
                    f4[0] = b4
                    fval[n] = np.float64(f4.view(np.float32)[0])
                    kind[n] = FLOAT
                    pos += 4
                elif mf == 13 and mw == 1:
                    if pos + 8 > mend:
                        return n, p_ts, p_seq, -6
                    b8 = np.uint64(0)
                    for i in range(8):
                        b8 |= np.uint64(buf[pos + i]) << np.uint64(8 * i)
                    f8[0] = b8
                    fval[n] = f8.view(np.float64)[0]
                    kind[n] = DOUBLE
                    pos += 8
                else:
                    if 15 <= mf <= 19:
                        kind[n] = OTHER
                    pos = _skip(buf, pos, mend, mw)
                    if pos < 0:
                        return n, p_ts, p_seq, -7
            if pos != mend:
                return n, p_ts, p_seq, -8
            n += 1
        else:
            pos = _skip(buf, pos, end, wire)
            if pos < 0:
                return n, p_ts, p_seq, -9
    return n, p_ts, p_seq, 0


@dataclass
class Columns:
    """One payload's metrics as columns (``alias`` -1 and ``ts`` -1 where absent)."""

    alias: npt.NDArray[np.int64]
    ts: npt.NDArray[np.int64]  # ms
    datatype: npt.NDArray[np.int32]
    is_null: npt.NDArray[np.bool_]
    kind: npt.NDArray[np.uint8]
    raw: npt.NDArray[np.uint64]  # int/long/bool members as they travel
    fval: npt.NDArray[np.float64]  # float/double members
    name_at: npt.NDArray[np.int64]  # offset of the name in the payload, -1 without one
    name_len: npt.NDArray[np.int64]
    timestamp: int  # the payload's, -1 without one
    seq: int  # -1 without one
    status: int  # 0, or < 0 for a malformed payload

    def names(self, payload: bytes, rows: npt.NDArray[np.intp]) -> list[str]:
        """The names of ``rows`` (metrics sent by name, not alias: the uncommon case)."""
        at, ln = self.name_at, self.name_len
        return [payload[at[i] : at[i] + ln[i]].decode("utf-8", "replace") for i in rows.tolist()]


def scan(payload: bytes) -> Columns:
    """Scan a Sparkplug payload into :class:`Columns` (``status < 0`` when it is malformed).

    >>> from twinverse.ingest.sparkplug_pb import Payload
    >>> p = Payload(timestamp=5, seq=7)
    >>> _ = p.metrics.add(alias=3, timestamp=6, datatype=DataType.DOUBLE, double_value=1.5)
    >>> c = scan(p.SerializeToString())
    >>> (c.seq, c.alias.tolist(), c.fval.tolist(), c.status)
    (7, [3], [1.5], 0)
    """
    buf = np.frombuffer(payload, dtype=np.uint8)
    cap = len(payload) // 2 + 1  # a metric takes at least two bytes (its key and length)
    alias = np.empty(cap, np.int64)
    ts = np.empty(cap, np.int64)
    dtype = np.empty(cap, np.int32)
    null = np.empty(cap, np.bool_)
    kind = np.empty(cap, np.uint8)
    raw = np.empty(cap, np.uint64)
    fval = np.empty(cap, np.float64)
    name_at = np.empty(cap, np.int64)
    name_len = np.empty(cap, np.int64)
    n, p_ts, p_seq, status = _scan(buf, alias, ts, dtype, null, kind, raw, fval, name_at, name_len)
    return Columns(alias[:n], ts[:n], dtype[:n], null[:n], kind[:n], raw[:n], fval[:n], name_at[:n], name_len[:n],
                   int(p_ts), int(p_seq), int(status))  # fmt: skip


_SIGNED = {int(DataType.INT8): 8, int(DataType.INT16): 16, int(DataType.INT32): 32}


def values(c: Columns, datatype: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]:
    """Each metric's value as float64, given its datatype from the birth (NaN where not a scalar).

    Signed types travel as the low bits of ``int_value`` (an Int8 of -1 as 0xFF or as
    0xFFFFFFFF, depending on the peer); Int64 as two's complement in ``long_value``.
    """
    out = np.full(len(c.kind), np.nan)
    ints = (c.kind == INT) | (c.kind == LONG) | (c.kind == BOOL)
    if ints.any():
        raw = c.raw[ints]
        dt = datatype[ints]
        v = raw.astype(np.float64)
        for code, bits in _SIGNED.items():
            m = dt == code
            if m.any():
                low = raw[m] & np.uint64((1 << bits) - 1)
                neg = (low >> np.uint64(bits - 1)) != 0
                v[m] = np.where(neg, low.astype(np.float64) - float(1 << bits), low.astype(np.float64))
        m = dt == int(DataType.INT64)
        if m.any():
            v[m] = raw[m].view(np.int64).astype(np.float64)
        out[ints] = v
    floats = (c.kind == FLOAT) | (c.kind == DOUBLE)
    out[floats] = c.fval[floats]
    return out
