"""Named points → engine batch + quarantine rows: timestamps, values, states, units, quality."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twinverse.core import QUARANTINE_SCHEMA
from twinverse.errors import InputError
from twinverse.ingest.decode import decode_columns, decode_points, parse_timestamps, quarantine_rows
from twinverse.model import Plant

F = "bottling/line1/filler"
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z in ms
BAD = np.iinfo(np.int64).min


@pytest.mark.parametrize(
    ("value", "expected_us"),
    [
        ("2024-01-01T00:00:00Z", T0 * 1000),
        ("2024-01-01T01:00:00+01:00", T0 * 1000),
        ("2024-01-01T00:00:00", T0 * 1000),  # naive means UTC
        ("2024-01-01 00:00:00.5", T0 * 1000 + 500_000),
        (T0, T0 * 1000),  # numbers are epoch milliseconds
        (T0 + 0.5, T0 * 1000 + 500),
        (datetime(2024, 1, 1, tzinfo=UTC), T0 * 1000),
        (None, 42),  # missing: now
        ("garbage", BAD),
        ("2024-13-45", BAD),
        (True, BAD),
        (1e300, BAD),
        ([1], BAD),
    ],
)
def test_parse_timestamp(value: object, expected_us: int) -> None:
    assert parse_timestamps([value], now_us=42).tolist() == [expected_us]
    # the same value inside a mixed list (the slow path) gives the same answer
    assert parse_timestamps([value, "x", 1], now_us=42).tolist()[0] == expected_us


def test_parse_timestamp_columns() -> None:
    assert parse_timestamps(pa.array([T0, None]), now_us=7).tolist() == [T0 * 1000, 7]
    assert parse_timestamps(pa.array(["2024-01-01T00:00:00Z", None]), now_us=7).tolist() == [T0 * 1000, 7]
    stamps = pa.array([T0 * 1000], pa.timestamp("us", tz="UTC"))
    assert parse_timestamps(stamps).tolist() == [T0 * 1000]
    assert parse_timestamps([None, None], now_us=7).tolist() == [7, 7]
    assert parse_timestamps([float("nan"), float("inf")], now_us=7).tolist() == [BAD, BAD]


@given(st.lists(st.integers(946_684_800_000, 4_102_444_800_000), max_size=50))
def test_epoch_ms_round_trip(ms: list[int]) -> None:
    assert parse_timestamps(ms).tolist() == [m * 1000 for m in ms]
    iso = [datetime.fromtimestamp(m / 1000, UTC).isoformat() for m in ms]
    assert parse_timestamps(iso).tolist() == [m * 1000 for m in ms]


def test_decode_points_values(plant: Plant) -> None:
    idx = plant.signals
    points = [
        {"twin": F, "signal": "temperature", "ts": T0, "value": 4.5},
        {"twin": F, "signal": "state", "ts": T0, "value": "blocked"},
        {"twin": F, "signal": "speed", "ts": T0, "value": "601.5"},  # numeric text
        {"twin": "bottling/utilities/air", "signal": "running", "ts": T0, "value": True},
        {"twin": F, "signal": "good_count", "ts": T0, "value": 12},
    ]
    dec = decode_points(plant, points)
    assert dec.rejected == 0
    b = dec.batch
    assert b.column("sid").to_pylist() == [
        idx.sid(F, "temperature"), idx.sid(F, "state"), idx.sid(F, "speed"),
        idx.sid("bottling/utilities/air", "running"), idx.sid(F, "good_count"),
    ]  # fmt: skip
    assert b.column("value").to_pylist() == [4.5, 3.0, 601.5, 1.0, 12.0]  # 'blocked' is state code 3
    assert b.column("ts").cast(pa.int64()).to_pylist() == [T0 * 1000] * 5
    assert b.column("quality").to_pylist() == [0] * 5
    assert "unit" not in b.schema.names


def test_decode_points_rejects_with_reasons(plant: Plant) -> None:
    points = [
        {"twin": "nope", "signal": "temperature", "ts": T0, "value": 1},
        {"twin": F, "signal": "nope", "ts": T0, "value": 1},
        {"twin": F, "signal": "temperature", "ts": "garbage", "value": 1},
        {"twin": F, "signal": "temperature", "ts": T0, "value": {"a": 1}},
        {"twin": F, "signal": "temperature", "ts": T0, "value": "warm"},
        {"twin": F, "signal": "state", "ts": T0, "value": "flying"},
        {"twin": F, "signal": "temperature", "ts": T0, "value": None},
        {"signal": "temperature", "ts": T0, "value": 1},
        {"twin": F, "signal": "temperature", "ts": T0, "value": 7.0},  # the only good one
        "not an object",
        {"twin": F, "signal": "temperature", "ts": T0},
    ]
    dec = decode_points(plant, points, source="test")
    assert dec.batch.num_rows == 1 and dec.batch.column("value").to_pylist() == [7.0]
    rej = dec.rejects
    assert rej.schema == QUARANTINE_SCHEMA
    assert rej.column("reason").to_pylist() == [
        "unknown twin 'nope'",
        f"twin '{F}' has no signal 'nope'",
        "unparsable timestamp 'garbage'",
        "unparsable value of type dict",
        "unparsable value 'warm'",
        "state 'flying' not in the enumeration (running, idle, starved, blocked, down, setup, off)",
        "missing value",
        "missing twin or signal name",
        "point must be an object with a 'value'",
        "point must be an object with a 'value'",
    ]
    assert rej.column("twin").to_pylist()[:3] == ["nope", F, F]
    assert rej.column("value").to_pylist()[:5] == ["1", "1", "1", "{'a': 1}", "warm"]
    assert set(rej.column("source").to_pylist()) == {"test"}
    # the timestamp of a rejected row is kept when it could be read
    ts = rej.column("ts").to_pylist()
    assert ts[0] == datetime(2024, 1, 1, tzinfo=UTC) and ts[2] is None


def test_defaults_for_one_twin_signal(plant: Plant) -> None:
    dec = decode_points(plant, [{"ts": T0, "value": 1.5}, {"value": 2.5}], default_twin=F,
                        default_signal="pressure", now_us=T0 * 1000 + 1)  # fmt: skip
    assert dec.batch.column("sid").to_pylist() == [plant.signals.sid(F, "pressure")] * 2
    assert dec.batch.column("ts").cast(pa.int64()).to_pylist() == [T0 * 1000, T0 * 1000 + 1]


def test_units_and_quality_columns(plant: Plant) -> None:
    points = [
        {"twin": F, "signal": "temperature", "ts": T0, "value": 50, "unit": "degF", "quality": 1},
        {"twin": F, "signal": "pressure", "ts": T0, "value": 2},
    ]
    dec = decode_points(plant, points)
    assert dec.batch.column("unit").to_pylist() == ["degF", None]
    assert dec.batch.column("quality").to_pylist() == [1, 0]


@pytest.mark.parametrize("quality", ["bad", -1, 7, 2.5])
def test_bad_quality(plant: Plant, quality: object) -> None:
    with pytest.raises(InputError, match="quality must be"):
        decode_points(plant, [{"twin": F, "signal": "temperature", "ts": T0, "value": 1, "quality": quality}])


def test_decode_arrow_columns(plant: Plant) -> None:
    dec = decode_columns(
        plant,
        pa.array([F, F, "x"]),
        pa.array(["temperature", "state", "y"]),
        pa.array([T0, T0 + 1000, T0], pa.int64()),
        pa.array([1.0, 2.0, 3.0]),
        units=pa.array(["degC", None, None]),
    )
    assert dec.batch.num_rows == 2
    assert dec.batch.column("value").to_pylist() == [1.0, 2.0]
    assert dec.batch.column("unit").to_pylist() == ["degC", None]
    assert dec.rejects.column("reason").to_pylist() == ["unknown twin 'x'"]


def test_columns_must_have_equal_length(plant: Plant) -> None:
    with pytest.raises(InputError, match="columns differ in length: twin 2, signal 1, ts 1, value 1"):
        decode_columns(plant, [F, F], ["temperature"], [T0], [1.0])


def test_large_numbers(plant: Plant) -> None:
    dec = decode_points(plant, [{"twin": F, "signal": "temperature", "ts": T0, "value": 10**400}])
    assert dec.rejects.column("reason").to_pylist() == ["value is too large"]


def test_quarantine_rows() -> None:
    t = quarantine_rows(["a"], [None], [{"x": "y" * 500}], ["because"], "mqtt")
    assert t.schema == QUARANTINE_SCHEMA
    row = t.to_pylist()[0]
    assert (row["twin"], row["signal"], row["reason"], row["source"], row["ts"]) == ("a", None, "because", "mqtt", None)
    assert len(row["value"]) == 201 and row["value"].endswith("…")  # long values are cut


GOOD_POINTS = [
    {"twin": F, "signal": "temperature", "ts": T0, "value": 4.5},
    {"twin": F, "signal": "state", "ts": "2024-01-01T00:00:00Z", "value": "idle"},
    {"twin": F, "signal": "speed", "value": "12"},
]
BAD_POINTS = [
    {"twin": "x", "signal": "temperature", "ts": T0, "value": 1},
    {"twin": F, "signal": "temperature", "ts": "nope", "value": 1},
    {"twin": F, "signal": "state", "ts": T0, "value": "flying"},
    {"twin": F, "signal": "temperature", "ts": T0, "value": [1]},
    42,
]


@given(st.lists(st.sampled_from(range(len(GOOD_POINTS) + len(BAD_POINTS))), max_size=40))
def test_every_point_is_either_in_the_batch_or_quarantined(plant: Plant, picks: list[int]) -> None:
    points = [(GOOD_POINTS + BAD_POINTS)[i] for i in picks]
    dec = decode_points(plant, points)
    n_good = sum(i < len(GOOD_POINTS) for i in picks)
    assert dec.batch.num_rows == n_good
    assert dec.rejected == len(points) - n_good
    assert dec.rejects.column("reason").null_count == 0


def test_parse_timestamps_of_every_arrow_unit_and_out_of_range() -> None:
    """Known µs for each unit; values µs cannot hold, and huge integers, are unparsable (never a crash)."""
    from twinverse.core import NEVER
    from twinverse.ingest.decode import parse_timestamps

    now = 1_790_000_000_000_000
    assert parse_timestamps(pa.array([1, None], pa.timestamp("s")), now).tolist() == [1_000_000, now]
    assert parse_timestamps(pa.array([1], pa.timestamp("ms"))).tolist() == [1_000]
    assert parse_timestamps(pa.array([1_500, -1_500], pa.timestamp("ns"))).tolist() == [1, -2]
    assert parse_timestamps(pa.array([10**15], pa.timestamp("s"))).tolist() == [NEVER]
    assert parse_timestamps(pa.array([2**63 - 1], pa.timestamp("ns"))).tolist() == [(2**63 - 1) // 1000]
    assert parse_timestamps(pa.array([2**62, 1_790_000_000_000], pa.int64())).tolist() == [NEVER, now]
    assert parse_timestamps(pa.array([2**53 + 1], pa.int64())).tolist() == [2**53 * 1000]  # ms, float-rounded
