"""HTTP batch ingest: decode a request body (JSON or Arrow IPC stream) into a batch.

JSON bodies may be
  * a list of points ``[{"twin": …, "signal": …, "ts": …, "value": …}, …]``,
  * an object ``{"points": [...]}``, or
  * columns ``{"twin": […] | "…", "signal": […] | "…", "ts": […], "value": […]}``
    (a scalar twin/signal applies to every row).

Arrow IPC stream bodies (``application/vnd.apache.arrow.stream``) carry either named
columns ``twin, signal, ts, value[, quality, unit]`` or the engine's own
``ts, sid, value[, quality]``.
"""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..core.batch import BATCH_SCHEMA, QUARANTINE_SCHEMA, TS_TYPE
from ..errors import InputError, Problem
from ..model import Plant
from .decode import Decoded, decode_columns, decode_points, parse_timestamps

__all__ = ["ARROW_STREAM", "decode_arrow", "decode_body", "decode_json"]

ARROW_STREAM = "application/vnd.apache.arrow.stream"
_MAX_POINTS = 10_000_000


def decode_body(plant: Plant, body: bytes, content_type: str, *, source: str = "http") -> Decoded:
    """Decode a request body by content type; :class:`InputError` says what is wrong."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype in (ARROW_STREAM, "application/vnd.apache.arrow.file", "application/x-arrow"):
        return decode_arrow(plant, body, source=source)
    if ctype in ("application/json", "", "text/json") or ctype.endswith("+json"):
        return decode_json(plant, body, source=source)
    raise InputError(f"unsupported content type {content_type!r}: send application/json or {ARROW_STREAM}")


def decode_json(plant: Plant, body: bytes, *, source: str = "http") -> Decoded:
    """A JSON body (a list of points, or an object of columns) as a batch plus its rejects."""
    if not body.strip():
        raise InputError("empty body: send a JSON list of points or an object of columns")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        # orjson's message names line and column; NaN/Infinity literals are not JSON.
        raise InputError(f"malformed JSON: {exc}") from None
    if isinstance(doc, dict) and "points" in doc:
        doc = doc["points"]
    if isinstance(doc, list):
        if len(doc) > _MAX_POINTS:
            raise InputError(f"too many points in one request ({len(doc)} > {_MAX_POINTS})")
        return decode_points(plant, doc, source=source)
    if isinstance(doc, dict):
        return _decode_columnar(plant, doc, source)
    raise InputError(f"body must be a JSON list of points or an object of columns, not {type(doc).__name__}")


def _decode_columnar(plant: Plant, doc: dict[str, Any], source: str) -> Decoded:
    problems = []
    for key in ("ts", "value"):
        if key not in doc:
            problems.append(Problem(f"missing column {key!r}", _loc(key)))
        elif not isinstance(doc[key], list):
            problems.append(Problem(f"column {key!r} must be a list", _loc(key)))
    unknown = set(doc) - {"twin", "signal", "ts", "value", "quality", "unit"}
    problems += [Problem(f"unknown column {k!r}", _loc(k)) for k in sorted(unknown)]
    if problems:
        raise InputError(str(problems[0]), details=problems)
    n = len(doc["ts"])
    if len(doc["value"]) != n:
        raise InputError(f"columns 'ts' ({n}) and 'value' ({len(doc['value'])}) differ in length")

    def column(key: str) -> list[Any] | None:
        v = doc.get(key)
        if v is None:
            return None
        if isinstance(v, list):
            if len(v) != n:
                raise InputError(f"column {key!r} has {len(v)} rows, 'ts' has {n}")
            return v
        return [v] * n

    twins, signals = column("twin"), column("signal")
    if twins is None or signals is None:
        raise InputError("columns 'twin' and 'signal' are required (a list, or one string for all rows)")
    return decode_columns(
        plant, twins, signals, doc["ts"], doc["value"], quality=column("quality"), units=column("unit"), source=source
    )


def _loc(field: str) -> Any:
    from ..errors import Location

    return Location(path=field)


def decode_arrow(plant: Plant, body: bytes, *, source: str = "http") -> Decoded:
    """An Arrow IPC stream (columns twin, signal, ts, value[, quality, unit]) as a batch plus its rejects."""
    try:
        reader = pa.ipc.open_stream(pa.BufferReader(body))
        table = reader.read_all()
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        try:
            table = pa.ipc.open_file(pa.BufferReader(body)).read_all()
        except (pa.ArrowInvalid, pa.ArrowIOError, OSError):
            raise InputError(f"body is not an Arrow IPC stream: {exc}") from None
    names = set(table.column_names)
    if table.num_rows == 0:
        return Decoded(pa.RecordBatch.from_pylist([], schema=BATCH_SCHEMA), QUARANTINE_SCHEMA.empty_table())
    if {"ts", "sid", "value"} <= names:
        ts_col = table.column("ts")
        if not pa.types.is_timestamp(ts_col.type):
            # Numbers are epoch milliseconds here too (as in every other body shape).
            ts_col = pa.array(parse_timestamps(ts_col.combine_chunks()), pa.int64()).cast(TS_TYPE)
        try:
            cols = [
                ts_col.cast(TS_TYPE),
                table.column("sid").cast(pa.int32()),
                table.column("value").cast(pa.float64()),
                table.column("quality").cast(pa.uint8())
                if "quality" in names
                else pa.array([0] * table.num_rows, pa.uint8()),
            ]
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InputError(f"Arrow columns have the wrong types: {exc}") from None
        combined = pa.table(cols, schema=BATCH_SCHEMA).combine_chunks()
        quality = combined.column("quality")
        if len(quality) and (pc.max(quality).as_py() or 0) > 2:
            raise InputError("quality must be 0 (good), 1 (uncertain) or 2 (bad)")
        return Decoded(pa.concat_batches(combined.to_batches()), QUARANTINE_SCHEMA.empty_table())
    if {"twin", "signal", "ts", "value"} <= names:
        t = table.combine_chunks()

        def col(name: str) -> pa.Array | None:
            if name not in names:
                return None
            c = t.column(name)
            return c.chunk(0) if c.num_chunks else pa.array([], c.type)

        twin, signal, ts, value = col("twin"), col("signal"), col("ts"), col("value")
        assert twin is not None and signal is not None and ts is not None and value is not None
        if pa.types.is_dictionary(twin.type):
            twin = twin.cast(pa.string())
        if pa.types.is_dictionary(signal.type):
            signal = signal.cast(pa.string())
        for name, c in (("twin", twin), ("signal", signal)):
            if not (pa.types.is_string(c.type) or pa.types.is_large_string(c.type)):
                raise InputError(f"Arrow column {name!r} must hold strings (twin ids / signal names), got {c.type}")
        return decode_columns(plant, twin, signal, ts, value, quality=col("quality"), units=col("unit"), source=source)
    raise InputError(
        "Arrow body needs columns (twin, signal, ts, value) or (ts, sid, value); got " + ", ".join(table.column_names)
    )
