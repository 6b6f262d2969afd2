"""HTTP batch ingest: decode a request body (JSON or Arrow IPC stream) into a batch.

JSON bodies may be
  * a list of points ``[{"twin": …, "signal": …, "ts": …, "value": …}, …]``,
  * an object ``{"points": [...]}``, or
  * columns ``{"twin": […] | "…", "signal": […] | "…", "ts": […], "value": […]}``
    (a scalar twin/signal applies to every row).

Arrow IPC stream bodies (``application/vnd.apache.arrow.stream``) carry either named
columns ``twin, signal, ts, value[, quality, unit]`` or the engine's own
``ts, sid, value[, quality]``.

Both are bounded twice: at most ``max_points`` rows per request (setting ``max_points``)
and, for Arrow, at most ``max_arrow_bytes`` once decoded (setting ``max_arrow_bytes``).
A compressed Arrow stream can be tiny on the wire yet decode to gigabytes, so its
batches are counted one by one as they are read, and reading stops at the first batch
that passes a limit (:class:`~twinverse.errors.PayloadTooLarge`, 413).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..config import Settings
from ..core.batch import BATCH_SCHEMA, QUARANTINE_SCHEMA, TS_TYPE
from ..errors import InputError, PayloadTooLarge, Problem
from ..model import Plant
from .decode import Decoded, decode_columns, decode_points, parse_timestamps

__all__ = ["ARROW_STREAM", "MAX_ARROW_BYTES", "MAX_POINTS", "decode_arrow", "decode_body", "decode_json"]

ARROW_STREAM = "application/vnd.apache.arrow.stream"
#: Most points per request unless the caller says otherwise (the default of setting ``max_points``).
MAX_POINTS: int = Settings.model_fields["max_points"].default
#: Largest decoded Arrow body unless the caller says otherwise (the default of ``max_arrow_bytes``).
MAX_ARROW_BYTES: int = Settings.model_fields["max_arrow_bytes"].default


def decode_body(plant: Plant, body: bytes, content_type: str, *, source: str = "http", max_points: int = MAX_POINTS,
                max_arrow_bytes: int = MAX_ARROW_BYTES) -> Decoded:
    """Decode a request body by content type; :class:`InputError` says what is wrong."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype in (ARROW_STREAM, "application/vnd.apache.arrow.file", "application/x-arrow"):
        return decode_arrow(plant, body, source=source, max_points=max_points, max_bytes=max_arrow_bytes)
    if ctype in ("application/json", "", "text/json") or ctype.endswith("+json"):
        return decode_json(plant, body, source=source, max_points=max_points)
    raise InputError(f"unsupported content type {content_type!r}: send application/json or {ARROW_STREAM}")


def decode_json(plant: Plant, body: bytes, *, source: str = "http", max_points: int = MAX_POINTS) -> Decoded:
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
        _check_points(len(doc), max_points)
        return decode_points(plant, doc, source=source)
    if isinstance(doc, dict):
        return _decode_columnar(plant, doc, source, max_points)
    raise InputError(f"body must be a JSON list of points or an object of columns, not {type(doc).__name__}")


def _check_points(n: int, limit: int) -> None:
    if n > limit:
        raise PayloadTooLarge(f"too many points in one request ({n} > {limit}, the limit max_points)")


def _decode_columnar(plant: Plant, doc: dict[str, Any], source: str, max_points: int) -> Decoded:
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
    _check_points(n, max_points)
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


def _read_arrow(body: bytes, max_points: int, max_bytes: int) -> pa.Table:
    """The table of an Arrow IPC stream (or file), read batch by batch within the limits."""
    batches: Iterator[pa.RecordBatch]
    try:
        stream = pa.ipc.open_stream(pa.BufferReader(body))
        schema, batches = stream.schema, iter(stream)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        try:
            file = pa.ipc.open_file(pa.BufferReader(body))
        except (pa.ArrowInvalid, pa.ArrowIOError, OSError):
            raise InputError(f"body is not an Arrow IPC stream: {exc}") from None
        schema, batches = file.schema, (file.get_batch(i) for i in range(file.num_record_batches))
    kept: list[pa.RecordBatch] = []
    rows = size = 0
    try:
        for batch in batches:  # each batch is decompressed as it is read: count before reading on
            rows += batch.num_rows
            size += batch.nbytes
            _check_points(rows, max_points)
            if size > max_bytes:
                raise PayloadTooLarge(f"Arrow body decodes to more than {max_bytes} bytes "
                                      f"(the limit max_arrow_bytes; {len(body)} bytes were sent)")
            kept.append(batch)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        raise InputError(f"body is not a valid Arrow IPC stream: {exc}") from None
    return pa.Table.from_batches(kept, schema=schema)


def decode_arrow(plant: Plant, body: bytes, *, source: str = "http", max_points: int = MAX_POINTS,
                 max_bytes: int = MAX_ARROW_BYTES) -> Decoded:
    """An Arrow IPC stream (columns twin, signal, ts, value[, quality, unit]) as a batch plus its rejects.

    More than ``max_points`` rows, or more than ``max_bytes`` bytes once decoded, is
    :class:`~twinverse.errors.PayloadTooLarge`.
    """
    table = _read_arrow(body, max_points, max_bytes)
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
        # pandas 3 and polars write large_string; the name lookup joins plain strings.
        twin = twin.cast(pa.string()) if pa.types.is_large_string(twin.type) else twin
        signal = signal.cast(pa.string()) if pa.types.is_large_string(signal.type) else signal
        return decode_columns(plant, twin, signal, ts, value, quality=col("quality"), units=col("unit"), source=source)
    raise InputError(
        "Arrow body needs columns (twin, signal, ts, value) or (ts, sid, value); got " + ", ".join(table.column_names)
    )
