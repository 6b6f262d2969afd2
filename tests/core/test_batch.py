"""The Arrow batch format: building batches and reading timestamps as µs."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from twinverse.core import BATCH_SCHEMA, QUARANTINE_SCHEMA, Quality, batch, make_batch
from twinverse.core.batch import TS_TYPE, ts_to_us

T0 = 1_700_000_000_123_456  # µs, not a whole second


def test_docstring_examples_run() -> None:
    result = doctest.testmod(batch, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0


def test_make_batch_has_the_batch_schema() -> None:
    b = make_batch(np.array([T0, T0 + 1]), [3, 4], [1.5, 2.5], [Quality.GOOD, Quality.BAD])
    assert b.schema == BATCH_SCHEMA
    assert b.column("ts").cast(pa.int64()).to_pylist() == [T0, T0 + 1]
    assert b.column("sid").to_pylist() == [3, 4]
    assert b.column("value").to_pylist() == [1.5, 2.5]
    assert b.column("quality").to_pylist() == [0, 2]


def test_quality_defaults_to_good() -> None:
    b = make_batch(np.array([T0]), [0], [1.0])
    assert b.column("quality").to_pylist() == [Quality.GOOD]


@pytest.mark.parametrize(
    "ts",
    [
        np.array([T0], dtype=np.int64),
        np.array([T0 * 1000], dtype="datetime64[ns]"),
        np.array([T0], dtype="datetime64[us]"),
        pa.array([T0], pa.int64()).cast(TS_TYPE),
        pa.array([T0 * 1000], pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
        pa.array([T0], pa.int64()).cast(pa.timestamp("us", tz="Europe/Berlin")),  # same instant
        pa.chunked_array([pa.array([T0], pa.int64()).cast(pa.timestamp("us"))]),  # naive means UTC
    ],
    ids=["int-us", "datetime64-ns", "datetime64-us", "arrow-us-utc", "arrow-ns", "arrow-berlin", "chunked-naive"],
)
def test_timestamps_in_every_form_mean_the_same_instant(ts: object) -> None:
    assert ts_to_us(ts).tolist() == [T0]
    assert make_batch(ts, [0], [1.0]).column("ts").cast(pa.int64()).to_pylist() == [T0]


def test_ts_to_us_matches_python_datetimes() -> None:
    when = datetime(2024, 2, 29, 12, 30, 15, 250_001, tzinfo=UTC)
    arr = pa.array([when], TS_TYPE)
    expect = (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert ts_to_us(arr).tolist() == [expect]


@pytest.mark.parametrize(
    ("unit", "expect"),
    [
        ("degF", ["degF", "degF"]),  # one unit broadcast over the batch
        (["degF", None], ["degF", None]),
        (pa.array(["bar", "kPa"]).dictionary_encode(), ["bar", "kPa"]),
    ],
)
def test_unit_column(unit: object, expect: list[str | None]) -> None:
    b = make_batch(np.array([T0, T0]), [0, 1], [1.0, 2.0], unit=unit)
    assert b.schema.names == [*BATCH_SCHEMA.names, "unit"]
    assert b.column("unit").to_pylist() == expect


def test_quarantine_schema_columns() -> None:
    assert QUARANTINE_SCHEMA.names == ["received", "ts", "twin", "signal", "value", "reason", "source"]
    assert QUARANTINE_SCHEMA.field("ts").type == TS_TYPE


@given(hnp.arrays(np.int64, st.integers(0, 50), elements=st.integers(946_684_800_000_000, 4_102_444_800_000_000)))
def test_make_batch_round_trips_microseconds(us: npt.NDArray[np.int64]) -> None:
    n = len(us)
    b = make_batch(us, np.arange(n), np.arange(n, dtype=np.float64))
    np.testing.assert_array_equal(ts_to_us(b.column("ts")), us)
    assert b.num_rows == n
