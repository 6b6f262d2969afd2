"""Alarm-system KPIs per ISA-18.2 / IEC 62682 and EEMUA 191, from the stored alarm events.

Definitions, over a window [start, end) and an *area* (a twin's subtree; the plant by default):

- **alarms** — annunciations: ``raise`` events whose new state is ``unacknowledged``
  (a raise while shelved, suppressed or out of service reaches no operator and is not counted).
- **per hour**, **per 10 minutes** — alarms divided by the window's hours (its 10-minute periods).
- **10-minute periods** — epoch-aligned 10-minute buckets covering the window with their
  counts; **peak 10-minute count** is the largest, **periods over 10** counts those above 10.
- **flood** — ISA-18.2's rate definition over a *sliding* 10-minute window: a flood begins
  the moment more than 10 alarms fall in the last 10 minutes and ends the moment fewer than
  5 do (between 5 and 10 the state carries on). **Time in flood** is the flood time inside
  the window, also as a percentage of it; each flood is listed with its start, end and peak.
- **chattering** — an alarm raised at least 3 times within 60 s (three raises whose first and
  third are less than 60 s apart), counting every raise of the condition, shelved or not.
- **stale** — alarms whose condition became active more than 24 h before ``end`` and has not
  cleared since (their last raise or clear before ``end`` is a raise).
- **top 10** — the ten alarms with the most annunciations and their share of all of them.

Only events inside the window count (a flood begun before ``start`` starts at the first
alarm of the window). :func:`alarm_kpis` is pure NumPy over the raise times; Python runs once
per flood and per chattering alarm, never per event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core.clock import iso
from ..model import Plant
from .journal import Journal

__all__ = ["FLOOD_ABOVE", "FLOOD_BELOW", "Raises", "alarm_kpis", "area_kpis"]

_T = npt.NDArray[np.int64]
_MIN_US = 60_000_000
_W_US = 10 * _MIN_US
_DAY_US = 24 * 60 * _MIN_US
#: A flood begins above this many alarms in 10 minutes …
FLOOD_ABOVE = 10
#: … and ends below this many.
FLOOD_BELOW = 5
CHATTER_RAISES = 3
CHATTER_WINDOW_US = _MIN_US
TOP = 10


@dataclass(frozen=True)
class Raises:
    """Raise events as columns: time (µs), alarm id, annunciated (the new state was ``unacknowledged``)."""

    ts: _T
    alarm: npt.NDArray[np.str_]
    annunciated: npt.NDArray[np.bool_]

    @staticmethod
    def of(rows: Sequence[tuple[int, str, bool]]) -> Raises:
        return Raises(np.array([r[0] for r in rows], dtype=np.int64),
                      np.array([r[1] for r in rows], dtype=np.str_),
                      np.array([r[2] for r in rows], dtype=bool))  # fmt: skip


def _floods(ts: _T, start: int, end: int) -> tuple[int, list[dict[str, Any]], int]:
    """(µs in flood within [start, end), the floods, the sliding 10-minute peak)."""
    if not len(ts):
        return 0, [], 0
    times = np.concatenate([ts, ts + _W_US])
    delta = np.concatenate([np.ones(len(ts), np.int64), -np.ones(len(ts), np.int64)])
    order = np.argsort(times, kind="stable")
    times, rate = times[order], np.cumsum(delta[order])
    last = np.ones(len(times), dtype=bool)
    last[:-1] = times[1:] != times[:-1]
    p, rate = times[last], rate[last]  # the rate from p[k] until p[k + 1]
    ev = np.where(rate > FLOOD_ABOVE, 1, np.where(rate < FLOOD_BELOW, 0, -1))
    pos = np.arange(len(p))
    lastdec = np.maximum.accumulate(np.where(ev >= 0, pos, -1))
    flood = np.where(lastdec >= 0, ev[np.maximum(lastdec, 0)] == 1, False)
    nxt = np.append(p[1:], p[-1])
    lo, hi = np.maximum(p, start), np.minimum(nxt, end)
    inside = int(np.where(flood, np.maximum(hi - lo, 0), 0).sum())
    before = np.concatenate([[False], flood[:-1]])
    begins, ends = np.flatnonzero(flood & ~before), np.flatnonzero(~flood & before)
    out = []
    for b in begins.tolist():
        e = ends[ends > b]
        stop = int(p[e[0]]) if len(e) else int(p[-1])
        out.append({"start": iso(int(p[b])), "end": iso(stop), "minutes": (stop - int(p[b])) / _MIN_US,
                    "peak_10min": int(rate[b:(int(e[0]) if len(e) else len(p))].max())})  # fmt: skip
    return inside, out, int(rate.max())


def _chattering(ts: _T, alarm: npt.NDArray[np.str_]) -> list[dict[str, Any]]:
    if len(ts) < CHATTER_RAISES:
        return []
    order = np.lexsort((ts, alarm))
    t, a = ts[order], alarm[order]
    k = CHATTER_RAISES - 1
    hit = (a[k:] == a[:-k]) & (t[k:] - t[:-k] < CHATTER_WINDOW_US)
    out = []
    for name in np.unique(a[:-k][hit]).tolist():
        mine = t[a == name]
        # the most raises in any 60 s: for each raise, those less than 60 s after it
        most = int((np.searchsorted(mine, mine + CHATTER_WINDOW_US, side="left") - np.arange(len(mine))).max())
        out.append({"alarm": name, "raises": len(mine), "max_per_minute": most})
    return sorted(out, key=lambda d: (-d["max_per_minute"], -d["raises"], d["alarm"]))


def alarm_kpis(raises: Raises, start_us: int, end_us: int,
               standing: Sequence[tuple[str, int, str]] = ()) -> dict[str, Any]:  # fmt: skip
    """The KPIs of raise events within [start_us, end_us); ``standing`` is (alarm, raised at, state) of
    the alarms whose condition is active at ``end_us`` (for the stale alarms)."""
    if end_us <= start_us:
        raise ValueError("the window's end must be after its start")
    inw = (raises.ts >= start_us) & (raises.ts < end_us)
    ann = inw & raises.annunciated
    ts, names = raises.ts[ann], raises.alarm[ann]
    n = len(ts)
    hours = (end_us - start_us) / 3.6e9
    first = start_us - start_us % _W_US
    nb = int(-(-(end_us - first) // _W_US))
    counts = np.bincount(((ts - first) // _W_US).astype(np.intp), minlength=nb)[:nb] if n else np.zeros(nb, int)
    flood_us, floods, peak_sliding = _floods(np.sort(ts), start_us, end_us)
    uniq, per = np.unique(names, return_counts=True) if n else (np.array([], str), np.array([], int))
    order = np.lexsort((uniq, -per))[:TOP]
    top = [{"alarm": str(uniq[i]), "count": int(per[i]), "share": float(per[i]) / n * 100} for i in order]
    stale = [{"alarm": a, "since": iso(t), "hours": (end_us - t) / 3.6e9, "state": s}
             for a, t, s in sorted(standing, key=lambda x: x[1]) if end_us - t > _DAY_US]  # fmt: skip
    return {
        "start": iso(start_us),
        "end": iso(end_us),
        "hours": hours,
        "alarms": n,
        "per_hour": n / hours,
        "per_10min": n / ((end_us - start_us) / _W_US),
        "peak_10min": int(counts.max(initial=0)),
        "peak_10min_sliding": peak_sliding,
        "periods_over_10": int((counts > FLOOD_ABOVE).sum()),
        "periods": [{"start": iso(first + i * _W_US), "count": int(c)} for i, c in enumerate(counts.tolist())],
        "flood_minutes": flood_us / _MIN_US,
        "flood_percent": flood_us / (end_us - start_us) * 100,
        "floods": floods,
        "chattering": _chattering(raises.ts[inw], raises.alarm[inw]),
        "stale": stale,
        "top10": top,
        "top10_share": sum(t["share"] for t in top),
    }


def area_kpis(journal: Journal, plant: Plant, start_us: int, end_us: int, area: str | None = None) -> dict[str, Any]:
    """:func:`alarm_kpis` of the stored events of ``area``'s subtree, with the alarms per hour of each child area."""
    root = area if area is not None else plant.id
    twins = plant.subtree(root)  # NotFoundError for an unknown twin
    rows = journal.raises(start_us, end_us, twins)
    raises = Raises.of([(t, a, s == "unacknowledged") for t, a, _, s in rows])
    out = {"area": root, **alarm_kpis(raises, start_us, end_us, journal.standing(end_us, twins))}
    child_of = {t: c for c in plant.children(root) for t in plant.subtree(c)}
    by_child: dict[str, int] = dict.fromkeys(plant.children(root), 0)
    for _t, _a, twin, s in rows:
        if s == "unacknowledged" and twin in child_of:
            by_child[child_of[twin]] += 1
    out["areas"] = [{"area": c, "alarms": k, "per_hour": k / out["hours"]} for c, k in by_child.items()]
    return out
