"""Time in twinverse: one unit inside (int64 µs since the Unix epoch, UTC), one set of conversions.

Inside the platform every timestamp is an ``int64`` count of microseconds since
1970-01-01T00:00:00Z: batches, the live arrays, the stores and the sealer all use it.
Only the edges convert: JSON for people says ISO 8601 with ``Z`` (:func:`iso`), JSON for
the viewer says epoch milliseconds (:func:`ms`), Python callers pass ``datetime``
(:func:`to_us`, :func:`from_us`). :data:`NEVER` marks "no timestamp" in an int64 array.

>>> to_us(datetime(2024, 1, 1, tzinfo=UTC))
1704067200000000
>>> iso(1704067200000000)
'2024-01-01T00:00:00Z'
>>> ms(np.array([1_500, NEVER]))
[1, None]
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["EPOCH", "NEVER", "US", "from_us", "iso", "iso_dt", "ms", "now_us", "parse_iso", "to_us"]

#: The Unix epoch as an aware datetime.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: "No timestamp" in an int64 µs array (the smallest int64; sorts before every real time).
NEVER = int(np.iinfo(np.int64).min)
#: One microsecond.
US = timedelta(microseconds=1)


def now_us() -> int:
    """The current time in µs since the epoch."""
    return time.time_ns() // 1000


def to_us(t: datetime) -> int:
    """A datetime (naive means UTC) as µs since the epoch, exactly (no float seconds)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return (t - EPOCH) // US


def from_us(us: int) -> datetime:
    """µs since the epoch as an aware UTC datetime (exact)."""
    return EPOCH + timedelta(microseconds=int(us))


def iso_dt(t: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with a ``Z`` suffix."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def iso(us: int) -> str:
    """µs since the epoch as ISO 8601 with ``Z`` (microseconds shown only when non-zero)."""
    return iso_dt(from_us(us))


def parse_iso(text: str) -> datetime:
    """ISO 8601 (``Z`` or an offset; naive means UTC) as an aware datetime; ValueError if not one."""
    d = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def ms(us: npt.NDArray[np.int64] | Any) -> list[int | None]:
    """µs timestamps as epoch milliseconds (floored) for JSON; :data:`NEVER` becomes None."""
    arr = np.asarray(us, dtype=np.int64)
    out: list[int | None] = (arr // 1000).tolist()
    if (arr == NEVER).any():
        for i in np.flatnonzero(arr == NEVER).tolist():
            out[i] = None
    return out
