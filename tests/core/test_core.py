"""The ground floor: clock conversions, states, reasons and the value formatter, against known answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from twinverse.core import (
    DEFAULT_STATES,
    NEVER,
    KindCode,
    MachineState,
    RejectReason,
    ValueFormatter,
    from_us,
    iso,
    ms,
    parse_iso,
    to_us,
    vocabulary,
)


def test_clock_round_trips_exactly() -> None:
    t = datetime(2026, 12, 2, 11, 14, 10, 123456, tzinfo=UTC)
    assert to_us(t) == 1_796_210_050_123_456
    assert from_us(to_us(t)) == t
    assert to_us(t.replace(tzinfo=None)) == to_us(t)  # naive means UTC
    assert to_us(t.astimezone(timezone(timedelta(hours=8)))) == to_us(t)
    assert iso(0) == "1970-01-01T00:00:00Z"
    assert iso(1_500_000) == "1970-01-01T00:00:01.500000Z"
    assert parse_iso("2026-12-02T11:14:10.123456Z") == t
    assert parse_iso("2026-12-02T19:14:10.123456+08:00") == t


def test_ms_floors_and_maps_never_to_none() -> None:
    assert ms(np.array([0, 999, 1000, -1, NEVER], dtype=np.int64)) == [0, 0, 1, -1, None]


def test_states_vocabulary_is_one_list() -> None:
    assert DEFAULT_STATES == ("running", "idle", "starved", "blocked", "down", "setup", "off")
    assert [s.code for s in MachineState] == list(range(7))
    assert MachineState.parse("BUSY") is MachineState.RUNNING
    assert MachineState.parse("offline") is MachineState.OFF
    assert MachineState.parse("teleporting") is None
    v = vocabulary()
    assert [s["name"] for s in v["states"]] == list(DEFAULT_STATES)
    assert [s["name"] for s in v["states"] if s["alarm"]] == ["down"]
    assert all(a in v["aliases"] and MachineState.parse(a) is not None for a in ("busy", "fault", "stopped"))


def test_reject_reasons_have_distinct_codes_and_text() -> None:
    assert [int(r) for r in RejectReason] == list(range(13))
    texts = [r.text for r in RejectReason if r]
    assert len(set(texts)) == len(texts) and all(texts)
    assert RejectReason(12) is RejectReason.UNIT_MISMATCH


@pytest.fixture()
def fmt() -> ValueFormatter:
    kinds = np.array([KindCode.FLOAT, KindCode.INT, KindCode.BOOL, KindCode.STATE], dtype=np.uint8)
    return ValueFormatter(kinds, [None, None, None, ("running", "down")])


def test_formatter_by_kind(fmt: ValueFormatter) -> None:
    sids = np.array([0, 1, 2, 3, 3, 0])
    vals = np.array([6.5, 12.0, 1.0, 1.0, 7.0, np.nan])
    assert fmt.values(sids, vals) == [6.5, 12, True, "down", 7, None]
    assert [fmt.value(int(s), float(v)) for s, v in zip(sids, vals, strict=True)] == [6.5, 12, True, "down", 7, None]


def test_formatter_columns(fmt: ValueFormatter) -> None:
    out = fmt.columns(np.array([3, 0]), np.array([0.0, 2.0]), np.array([1_700_000_000_123_456, NEVER]))
    assert out == {"sid": [3, 0], "value": ["running", 2.0], "ts": [1_700_000_000_123, None]}
