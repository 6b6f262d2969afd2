"""HTTP bodies: JSON points, {"points": …}, columns; Arrow IPC in both layouts; clear errors."""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pytest

from twinverse.config import Settings
from twinverse.core import make_batch
from twinverse.errors import InputError, PayloadTooLarge
from twinverse.ingest import ARROW_STREAM, decode_body
from twinverse.ingest.http import MAX_ARROW_BYTES, MAX_POINTS
from twinverse.model import Plant

F = "bottling/line1/filler"
T0 = 1_704_067_200_000


def ipc(table: pa.Table | pa.RecordBatch, file_format: bool = False) -> bytes:
    sink = pa.BufferOutputStream()
    opener = pa.ipc.new_file if file_format else pa.ipc.new_stream
    with opener(sink, table.schema) as w:
        w.write(table)
    return bytes(sink.getvalue().to_pybytes())


def js(doc: object) -> bytes:
    return orjson.dumps(doc)


def test_json_list_points_and_columns_agree(plant: Plant) -> None:
    points = [{"twin": F, "signal": "speed", "ts": T0 + i, "value": float(i)} for i in range(3)]
    a = decode_body(plant, js(points), "application/json")
    b = decode_body(plant, js({"points": points}), "application/json; charset=utf-8")
    c = decode_body(plant, js({"twin": F, "signal": "speed", "ts": [T0, T0 + 1, T0 + 2], "value": [0.0, 1.0, 2.0]}), "")
    d = decode_body(plant, js({"twin": [F] * 3, "signal": ["speed"] * 3, "ts": [T0, T0 + 1, T0 + 2],
                               "value": [0, 1, 2]}), "application/problem+json")  # fmt: skip
    for dec in (a, b, c, d):
        assert dec.rejected == 0
        assert dec.batch.select(["ts", "sid", "value", "quality"]).equals(a.batch)
    assert a.batch.column("value").to_pylist() == [0.0, 1.0, 2.0]


def test_columnar_with_units_and_quality(plant: Plant) -> None:
    body = {
        "twin": F,
        "signal": "temperature",
        "ts": [T0, T0 + 1],
        "value": [50, 60],
        "unit": "degF",
        "quality": [0, 2],
    }
    dec = decode_body(plant, js(body), "application/json")
    assert dec.batch.column("unit").to_pylist() == ["degF", "degF"]
    assert dec.batch.column("quality").to_pylist() == [0, 2]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"   ", "empty body"),
        (b"{not json", "malformed JSON: "),
        (b'[{"value": NaN}]', "malformed JSON: "),
        (b'[{"value": 1e999}]', "malformed JSON: "),
        (b"null", "body must be a JSON list of points or an object of columns, not NoneType"),
        (b"3", "not int"),
        (b'"x"', "not str"),
        (b'{"twin": "a", "signal": "b", "ts": [1]}', "missing column 'value'"),
        (b'{"twin": "a", "signal": "b", "ts": 1, "value": [1]}', "column 'ts' must be a list"),
        (b'{"twin": "a", "signal": "b", "ts": [1], "value": [1], "colour": 1}', "unknown column 'colour'"),
        (
            b'{"twin": "a", "signal": "b", "ts": [1, 2], "value": [1]}',
            "columns 'ts' (2) and 'value' (1) differ in length",
        ),
        (b'{"twin": ["a"], "signal": "b", "ts": [1, 2], "value": [1, 2]}', "column 'twin' has 1 rows, 'ts' has 2"),
        (b'{"ts": [1], "value": [1]}', "columns 'twin' and 'signal' are required"),
    ],
)
def test_bad_json(plant: Plant, body: bytes, message: str) -> None:
    with pytest.raises(InputError) as exc:
        decode_body(plant, body, "application/json")
    assert message in exc.value.message


def test_columnar_problems_are_all_listed(plant: Plant) -> None:
    with pytest.raises(InputError) as exc:
        decode_body(plant, b'{"twin": "a", "signal": "b", "colour": 1}', "application/json")
    assert [(p.location.path, p.message) for p in exc.value.details] == [
        ("ts", "missing column 'ts'"),
        ("value", "missing column 'value'"),
        ("colour", "unknown column 'colour'"),
    ]


def test_unsupported_content_type(plant: Plant) -> None:
    with pytest.raises(InputError, match="unsupported content type 'text/plain'"):
        decode_body(plant, b"x", "text/plain")


def test_arrow_named_layout(plant: Plant) -> None:
    table = pa.table({
        "twin": pa.array([F, F, "nope"]).dictionary_encode(),
        "signal": ["temperature", "state", "x"],
        "ts": pa.array([T0, T0, T0], pa.int64()),  # epoch ms, as in JSON
        "value": pa.array(["4.5", "running", "1"]),
    })  # fmt: skip
    dec = decode_body(plant, ipc(table), ARROW_STREAM)
    assert dec.batch.column("value").to_pylist() == [4.5, 0.0]
    assert dec.batch.column("ts").cast(pa.int64()).to_pylist() == [T0 * 1000] * 2
    assert dec.rejects.column("reason").to_pylist() == ["unknown twin 'nope'"]


def test_arrow_large_string_names(plant: Plant) -> None:
    """pandas 3 writes large_string columns: accepted like plain strings (was a 500)."""
    table = pa.table({
        "twin": pa.array([F, F], pa.large_string()),
        "signal": pa.array(["temperature", "speed"], pa.large_string()),
        "ts": pa.array([T0, T0 + 1], pa.int64()),
        "value": [4.5, 600.0],
    })  # fmt: skip
    dec = decode_body(plant, ipc(table), ARROW_STREAM)
    assert dec.batch.column("value").to_pylist() == [4.5, 600.0] and dec.rejects.num_rows == 0


def test_arrow_engine_layout(plant: Plant) -> None:
    batch = make_batch([T0 * 1000, T0 * 1000 + 1], [5, 6], [1.0, float("nan")], [0, 1])
    dec = decode_body(plant, ipc(batch), ARROW_STREAM)
    assert dec.rejected == 0  # the engine judges NaN, not the decoder
    assert dec.batch.schema == batch.schema
    assert dec.batch.select(["ts", "sid", "quality"]).equals(batch.select(["ts", "sid", "quality"]))
    np.testing.assert_array_equal(dec.batch.column("value").to_numpy(), [1.0, np.nan])
    # an Arrow file (not stream) body is read too
    ok = make_batch([T0 * 1000], [5], [2.0])
    assert decode_body(plant, ipc(ok, file_format=True), "application/vnd.apache.arrow.file").batch.equals(ok)


def test_arrow_engine_layout_numeric_ts_is_ms(plant: Plant) -> None:
    table = pa.table({"ts": pa.array([T0], pa.int64()), "sid": pa.array([3], pa.int32()), "value": [1.0]})
    dec = decode_body(plant, ipc(table), ARROW_STREAM)
    assert dec.batch.column("ts").cast(pa.int64()).to_pylist() == [T0 * 1000]


def test_arrow_empty_and_bad(plant: Plant) -> None:
    empty = pa.table(
        {"ts": pa.array([], pa.int64()), "sid": pa.array([], pa.int32()), "value": pa.array([], pa.float64())}
    )
    assert decode_body(plant, ipc(empty), ARROW_STREAM).batch.num_rows == 0
    with pytest.raises(InputError, match="body is not an Arrow IPC stream"):
        decode_body(plant, b"garbage", ARROW_STREAM)
    with pytest.raises(
        InputError, match=r"Arrow body needs columns \(twin, signal, ts, value\) or \(ts, sid, value\); got a, b"
    ):
        decode_body(plant, ipc(pa.table({"a": [1], "b": [2]})), ARROW_STREAM)
    wrong = pa.table({"ts": pa.array([T0 * 1000], pa.timestamp("us")), "sid": ["x"], "value": [1.0]})
    with pytest.raises(InputError, match="Arrow columns have the wrong types"):
        decode_body(plant, ipc(wrong), ARROW_STREAM)
    bad_q = make_batch([T0 * 1000], [1], [1.0], [9])
    with pytest.raises(InputError, match="quality must be"):
        decode_body(plant, ipc(bad_q), ARROW_STREAM)


def constant_stream(rows: int, batch_rows: int) -> bytes:
    """A zstd-compressed Arrow stream of ``rows`` identical (ts, sid, value) rows: tiny on the wire."""
    schema = pa.schema([("ts", pa.int64()), ("sid", pa.int32()), ("value", pa.float64())])
    batch = pa.record_batch([pa.array(np.full(batch_rows, T0)), pa.array(np.zeros(batch_rows, np.int32)),
                             pa.array(np.ones(batch_rows))], schema=schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as w:
        for _ in range(rows // batch_rows):
            w.write_batch(batch)
    return bytes(sink.getvalue().to_pybytes())


def test_a_compressed_arrow_stream_is_counted_batch_by_batch(plant: Plant) -> None:
    body = constant_stream(2_000_000, 65_536)  # 30 batches, 40 MB decoded
    assert len(body) < 200_000
    with pytest.raises(PayloadTooLarge) as exc:
        decode_body(plant, body, ARROW_STREAM, max_points=1_000_000)
    assert exc.value.status == 413
    assert exc.value.message == "too many points in one request (1048576 > 1000000, the limit max_points)"
    with pytest.raises(PayloadTooLarge) as exc:
        decode_body(plant, body, ARROW_STREAM, max_arrow_bytes=5_000_000)
    assert exc.value.message == (f"Arrow body decodes to more than 5000000 bytes (the limit max_arrow_bytes; "
                                 f"{len(body)} bytes were sent)")
    assert decode_body(plant, body, ARROW_STREAM).batch.num_rows == 1_966_080  # within the defaults


def test_the_default_limits_are_the_settings_defaults(plant: Plant) -> None:
    assert (MAX_POINTS, MAX_ARROW_BYTES) == (10_000_000, 512 * 1024 * 1024)
    assert (Settings().max_points, Settings().max_arrow_bytes) == (MAX_POINTS, MAX_ARROW_BYTES)


def test_the_arrow_file_format_is_counted_too(plant: Plant) -> None:
    table = pa.table({"ts": pa.array([T0] * 10), "sid": pa.array([0] * 10, pa.int32()), "value": [1.0] * 10})
    with pytest.raises(PayloadTooLarge, match=r"^too many points in one request \(10 > 9, the limit max_points\)$"):
        decode_body(plant, ipc(table, file_format=True), ARROW_STREAM, max_points=9)


def test_json_bodies_share_the_point_limit(plant: Plant) -> None:
    points = [{"twin": F, "signal": "speed", "ts": T0 + i, "value": 1.0} for i in range(3)]
    with pytest.raises(PayloadTooLarge) as exc:
        decode_body(plant, js(points), "application/json", max_points=2)
    assert exc.value.status == 413
    assert exc.value.message == "too many points in one request (3 > 2, the limit max_points)"
    columns = {"twin": F, "signal": "speed", "ts": [T0, T0 + 1, T0 + 2], "value": [1.0, 2.0, 3.0]}
    with pytest.raises(PayloadTooLarge, match=r"^too many points in one request \(3 > 2, the limit max_points\)$"):
        decode_body(plant, js(columns), "application/json", max_points=2)
    assert decode_body(plant, js(points), "application/json", max_points=3).batch.num_rows == 3
