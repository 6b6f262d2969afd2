"""The plant's shift calendar: declared once in the plant YAML, read by KPIs and the simulator.

::

    shifts:
      timezone: Asia/Shanghai          # an IANA zone, UTC, or a fixed offset like +08:00
      night:   {start: "00:00", end: "08:00", breaks: [["04:00", "04:30"]]}
      day:     {start: "08:00", end: "16:00", breaks: [["12:00", "12:30"]]}
      evening: {start: "16:00", end: "24:00", breaks: [["20:00", "20:30"]]}

Every shift repeats every day, in local time; a shift whose end is before its start ends the
next day. Breaks are planned non-working time inside a shift. The **planned operation time**
(POT) of a window is the time it spends inside shifts and outside their breaks
(:meth:`ShiftCalendar.planned`); the simulator's calendar ``shift`` is the complement,
reduced to its shortest period and anchored at 00:00 UTC (:meth:`ShiftCalendar.sim_calendar`).

>>> cal = shift_calendar({"timezone": "UTC", "a": {"start": "06:00", "end": "18:00"},
...                       "b": {"start": "18:00", "end": "06:00", "breaks": [["00:00", "01:00"]]}})
>>> cal.sim_calendar(1.0)
(86400.0, ((0.0, 3600.0),))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from ..core.clock import from_us
from .yamlsource import PathKey

__all__ = ["DAY_MIN", "Shift", "ShiftCalendar", "ShiftOccurrence", "parse_shifts", "shift_calendar"]

DAY_MIN = 1440
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_SHIFT_KEYS = {"start", "end", "breaks"}


@dataclass(frozen=True)
class Shift:
    """One daily shift: minutes after local midnight; ``end`` may pass 1440 (ends the next day)."""

    name: str
    start: int
    end: int
    breaks: tuple[tuple[int, int], ...] = ()

    @property
    def planned_min(self) -> int:
        return self.end - self.start - sum(b - a for a, b in self.breaks)


@dataclass(frozen=True)
class ShiftOccurrence:
    """One shift on one day: its local start date, its bounds and breaks (aware datetimes)."""

    shift: str
    day: date
    start: datetime
    end: datetime
    breaks: tuple[tuple[datetime, datetime], ...]

    @property
    def label(self) -> str:
        return f"{self.day.isoformat()} {self.shift}"

    def to_dict(self) -> dict[str, Any]:
        return {"shift": self.shift, "date": self.day.isoformat(), "label": self.label,
                "start": self.start.isoformat(), "end": self.end.isoformat(),
                "breaks": [[a.isoformat(), b.isoformat()] for a, b in self.breaks]}  # fmt: skip


def _us(t: datetime) -> int:
    return round(t.timestamp() * 1_000_000)


@dataclass(frozen=True)
class ShiftCalendar:
    """The plant's shifts (each repeats daily in ``timezone``)."""

    timezone: str
    shifts: tuple[Shift, ...]

    @property
    def tz(self) -> tzinfo:
        return _zone(self.timezone) or UTC

    def shift(self, name: str) -> Shift:
        for s in self.shifts:
            if s.name == name:
                return s
        raise KeyError(f"no shift {name!r} (shifts: {', '.join(s.name for s in self.shifts)})")

    def occurrence(self, name: str, day: date) -> ShiftOccurrence:
        """Shift ``name`` starting on local date ``day``."""
        s = self.shift(name)
        tz = self.tz

        def at(minute: int) -> datetime:
            d = day + timedelta(days=minute // DAY_MIN)
            m = minute % DAY_MIN
            return datetime(d.year, d.month, d.day, m // 60, m % 60, tzinfo=tz)

        return ShiftOccurrence(name, day, at(s.start), at(s.end), tuple((at(a), at(b)) for a, b in s.breaks))

    def occurrences(self, start: datetime, end: datetime) -> list[ShiftOccurrence]:
        """Every shift overlapping ``[start, end)``, in time order."""
        first = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date()
        out = []
        d = first
        while d <= last:
            for s in self.shifts:
                o = self.occurrence(s.name, d)
                if o.start < end and o.end > start:
                    out.append(o)
            d += timedelta(days=1)
        return sorted(out, key=lambda o: o.start)

    def at(self, t: datetime) -> ShiftOccurrence | None:
        """The shift in force at ``t`` (None between shifts)."""
        for o in self.occurrences(t, t + timedelta(microseconds=1)):
            if o.start <= t < o.end:
                return o
        return None

    def previous(self, o: ShiftOccurrence) -> ShiftOccurrence:
        """The shift before ``o``."""
        before = self.occurrences(o.start - timedelta(days=2), o.start)
        return [x for x in before if x.start < o.start][-1]

    def latest(self, t: datetime) -> ShiftOccurrence:
        """The shift in force at ``t``, else the last one that ended before it."""
        cur = self.at(t)
        if cur is not None:
            return cur
        return [o for o in self.occurrences(t - timedelta(days=2), t) if o.start <= t][-1]

    def planned(self, start_us: int, end_us: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The planned operation time in ``[start_us, end_us)``: sorted disjoint intervals (µs)."""
        a, b = from_us(start_us), from_us(end_us)
        starts: list[int] = []
        ends: list[int] = []
        for o in self.occurrences(a, b):
            edges = [_us(o.start)]
            for x, y in o.breaks:
                edges += [_us(x), _us(y)]
            edges.append(_us(o.end))
            for i in range(0, len(edges), 2):
                lo, hi = max(edges[i], start_us), min(edges[i + 1], end_us)
                if lo < hi:
                    starts.append(lo)
                    ends.append(hi)
        return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)

    def sim_calendar(self, seconds_per_unit: float) -> tuple[float, tuple[tuple[float, float], ...]]:
        """The simulator's calendar: (period, off intervals) in model units, anchored at 00:00 UTC.

        Time off shift and in breaks is off; the day is reduced to its shortest period
        (three identical 8-hour shifts repeat every 8 hours). A zone with daylight saving
        time is taken at its January offset.
        """
        off_min = round((self.tz.utcoffset(datetime(2025, 1, 1)) or timedelta()).total_seconds() / 60)
        work = np.zeros(DAY_MIN, dtype=bool)
        for s in self.shifts:
            work[np.arange(s.start, s.end) % DAY_MIN] = True
            for x, y in s.breaks:
                work[np.arange(x, y) % DAY_MIN] = False
        utc = np.roll(work, -off_min)  # minute m of the UTC day is local minute m + offset
        period = DAY_MIN
        for k in (24, 12, 8, 6, 4, 3, 2):
            p = DAY_MIN // k
            if np.array_equal(utc, np.roll(utc, p)):
                period = p
                break
        off = ~utc[:period]
        edges = np.flatnonzero(np.diff(np.concatenate([[0], off.astype(np.int8), [0]])))
        scale = 60.0 / seconds_per_unit
        pairs = tuple((float(a * scale), float(b * scale)) for a, b in zip(edges[::2], edges[1::2], strict=True))
        return float(period * scale), pairs

    def to_dict(self) -> dict[str, Any]:
        def hm(m: int) -> str:
            return f"{m // 60:02d}:{m % 60:02d}" if m < DAY_MIN else f"{m // 60 - 24:02d}:{m % 60:02d}+1"

        return {"timezone": self.timezone, "shifts": [
            {"name": s.name, "start": hm(s.start), "end": hm(s.end),
             "breaks": [[hm(a), hm(b)] for a, b in s.breaks], "planned_min": s.planned_min}
            for s in self.shifts]}  # fmt: skip


def _zone(name: str) -> tzinfo | None:
    if name.upper() == "UTC":
        return UTC
    m = _OFFSET.match(name)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _minute(v: Any) -> int | None:
    """``"HH:MM"`` (or YAML 1.1's sexagesimal integer for an unquoted 08:00) → minutes; None if neither."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v if 0 <= v <= DAY_MIN else None
    if isinstance(v, str) and (m := _HHMM.match(v.strip())):
        h, mi = int(m.group(1)), int(m.group(2))
        if mi < 60 and (h < 24 or (h == 24 and mi == 0)):
            return h * 60 + mi
    return None


def parse_shifts(data: Any, path: PathKey, fail: Callable[[PathKey, str], None]) -> ShiftCalendar | None:
    """Validate a ``shifts:`` section, reporting each problem at its field; None if it is unusable."""
    if not isinstance(data, Mapping):
        fail(path, "shifts must be a mapping: timezone and shifts by name")
        return None
    tzname = str(data.get("timezone", "UTC"))
    if _zone(tzname) is None:
        fail((*path, "timezone"), f"unknown time zone {tzname!r} (an IANA name like Asia/Shanghai, UTC, or +08:00)")
    shifts: list[Shift] = []
    for name, s in data.items():
        if name == "timezone":
            continue
        sp = (*path, str(name))
        if not isinstance(s, Mapping):
            fail(sp, 'a shift needs {start: "HH:MM", end: "HH:MM"} and optional breaks')
            continue
        bad = sorted(set(s) - _SHIFT_KEYS)
        if bad:
            fail((*sp, bad[0]), f"unknown field {bad[0]!r} (fields: start, end, breaks)")
        a, b = _minute(s.get("start")), _minute(s.get("end"))
        for key, v in (("start", a), ("end", b)):
            if v is None:
                fail((*sp, key), f'expected a time of day "HH:MM", got {s.get(key)!r}')
        if a is None or b is None:
            continue
        if b <= a:
            b += DAY_MIN  # ends the next day
        if b - a > DAY_MIN or a == DAY_MIN:
            fail((*sp, "end"), "a shift lasts at most 24 hours")
            continue
        breaks: list[tuple[int, int]] = []
        raw = s.get("breaks", [])
        if not isinstance(raw, Sequence) or isinstance(raw, str):
            fail((*sp, "breaks"), 'breaks must be a list of ["HH:MM", "HH:MM"] pairs')
            raw = []
        for i, iv in enumerate(raw):
            ip = (*sp, "breaks", i)
            pair = isinstance(iv, Sequence) and not isinstance(iv, str) and len(iv) == 2
            x, y = (_minute(iv[0]), _minute(iv[1])) if pair else (None, None)
            if x is None or y is None:
                fail(ip, f'expected ["HH:MM", "HH:MM"], got {iv!r}')
                continue
            if x < a:  # a break after midnight in a shift that started the day before
                x, y = x + DAY_MIN, y + DAY_MIN
            if y <= x:
                y += DAY_MIN
            if not a <= x < y <= b:
                fail(ip, f"a break must lie inside its shift ({_hm(a)}–{_hm(b)})")
                continue
            if breaks and x < breaks[-1][1]:
                fail(ip, "breaks must be in time order and must not overlap")
                continue
            breaks.append((x, y))
        shifts.append(Shift(str(name), a, b, tuple(breaks)))
    if not shifts:
        fail(path, 'declare at least one shift, e.g. day: {start: "08:00", end: "16:00"}')
        return None
    cover = np.zeros(DAY_MIN, dtype=np.int8)
    for s in shifts:
        np.add.at(cover, np.arange(s.start, s.end) % DAY_MIN, 1)
    if cover.max() > 1:
        m = int(np.flatnonzero(cover > 1)[0])
        names = [s.name for s in shifts if m in set(np.arange(s.start, s.end) % DAY_MIN)]
        fail(path, f"shifts {' and '.join(repr(n) for n in names)} overlap at {_hm(m)}")
        return None
    return ShiftCalendar(tzname, tuple(sorted(shifts, key=lambda s: s.start)))


def _hm(m: int) -> str:
    return f"{(m // 60) % 24:02d}:{m % 60:02d}"


def shift_calendar(data: Mapping[str, Any]) -> ShiftCalendar:
    """A calendar from a ``shifts:`` mapping; ValueError listing the problems."""
    problems: list[str] = []
    cal = parse_shifts(data, ("shifts",), lambda p, m: problems.append(f"{'.'.join(map(str, p))}: {m}"))
    if problems or cal is None:
        raise ValueError("; ".join(problems) or "no shifts")
    return cal
