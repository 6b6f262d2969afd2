"""Times and durations as people type them: ``-1h``, ``now``, ``2026-11-25T08:00Z``, ``5m``, ``PT5M``.

The API's query parameters and the CLI's options take the same forms, so both shells parse
them here (the conversions themselves are :mod:`twinverse.core.clock`'s). Errors are
:class:`~twinverse.errors.InputError` naming the field, so an HTTP route answers 422 and a
command prints one line.

>>> parse_duration("5m").total_seconds()
300.0
>>> parse_time("-1h", "start", now=datetime(2026, 1, 1, 12, tzinfo=UTC)).isoformat()
'2026-01-01T11:00:00+00:00'
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ..errors import InputError
from .clock import US, parse_iso

__all__ = ["parse_duration", "parse_time"]

_DUR = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|min|h|d|w)?$")
_UNITS = {"ms": 0.001, "s": 1, None: 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_ISO_DUR = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def parse_duration(text: str, field: str = "interval") -> timedelta:
    """``"500ms"``, ``"10s"``, ``"5m"``, ``"1h"``, ``"7d"``, a number of seconds, or ISO ``PT5M``."""
    t = text.strip()
    m = _DUR.match(t)
    if m:
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    elif (iso := _ISO_DUR.match(t)) and t not in ("P", "PT"):
        d, h, mi, s = (float(x) if x else 0.0 for x in iso.groups())
        seconds = d * 86400 + h * 3600 + mi * 60 + s
    else:
        raise InputError(f"{field}: cannot read duration {text!r} (use e.g. 10s, 5m, 1h, 7d or PT5M)")
    if seconds <= 0:
        raise InputError(f"{field}: duration must be positive, got {text!r}")
    try:
        delta = timedelta(seconds=seconds)
    except OverflowError:
        raise InputError(f"{field}: duration {text!r} is too long") from None
    if delta < US:  # rounds to zero: would silently mean "no interval"
        raise InputError(f"{field}: duration must be at least 1 µs, got {text!r}")
    return delta


def parse_time(text: str | None, field: str, now: datetime | None = None) -> datetime | None:
    """An ISO 8601 time (naive = UTC), ``now``, or ``-<duration>`` before ``now``; None if empty."""
    if text is None or text == "":
        return None
    now = now or datetime.now(UTC)
    t = text.strip()
    if t == "now":
        return now
    if t.startswith("-"):
        try:
            return now - parse_duration(t[1:], field)
        except OverflowError:
            raise InputError(f"{field}: {text!r} reaches before year 1") from None
    try:
        return parse_iso(t)
    except ValueError:
        raise InputError(f"{field}: cannot read time {text!r} (use ISO 8601, 'now' or e.g. -1h)") from None
