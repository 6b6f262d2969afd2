"""Times and durations as people type them (twinverse/core/timetext.py), shared by API and CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from twinverse.core import parse_duration, parse_time
from twinverse.errors import InputError

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("10s", 10), ("10", 10), ("5m", 300), ("5min", 300), ("1h", 3600), ("7d", 604800),
     ("2w", 1209600), ("PT5M", 300), ("P1DT2H", 93600), ("PT0.5S", 0.5)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [("soon", "interval: cannot read duration 'soon' (use e.g. 10s, 5m, 1h, 7d or PT5M)"),
     ("0s", "interval: duration must be positive, got '0s'"), ("PT", "interval: cannot read duration 'PT'"),
     ("0.0000001s", "interval: duration must be at least 1 µs, got '0.0000001s'"),
     ("1e30", "interval: cannot read duration '1e30'")],
)  # fmt: skip
def test_bad_durations_name_the_field(text: str, message: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_duration(text)
    assert exc.value.message.startswith(message)


def test_times() -> None:
    assert parse_time(None, "start") is None and parse_time("", "start") is None
    assert parse_time("now", "end", NOW) == NOW
    assert parse_time("-1h", "start", NOW) == NOW - timedelta(hours=1)
    assert parse_time("2026-11-25T07:00:00Z", "start", NOW) == datetime(2026, 11, 25, 7, tzinfo=UTC)
    assert parse_time("2026-11-25T07:00:00", "start", NOW) == datetime(2026, 11, 25, 7, tzinfo=UTC)  # naive = UTC
    with pytest.raises(InputError, match=r"^start: cannot read time 'yesterday' \(use ISO 8601"):
        parse_time("yesterday", "start", NOW)
    with pytest.raises(InputError, match=r"^start: '-999999999d' reaches before year 1$"):
        parse_time("-999999999d", "start", NOW)
    with pytest.raises(InputError, match=r"^start: duration '9999999999999d' is too long$"):
        parse_time("-9999999999999d", "start", NOW)
