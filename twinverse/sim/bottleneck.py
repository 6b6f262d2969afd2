"""Bottleneck detection by the active-period method (Roser, Nakano & Tanaka).

A station is *active* while it processes, sets up or is repaired, and inactive while it
waits (starved, blocked, idle) or is off shift. At each instant the station whose current
active period is the longest is the momentary bottleneck; where the periods of two
successive bottlenecks overlap the bottleneck is *shifting*, elsewhere it is *sole*.
The station with the largest share of sole + shifting time is the bottleneck of the run.

Reference: C. Roser, M. Nakano, M. Tanaka, "Shifting bottleneck detection", Proceedings
of the 2002 Winter Simulation Conference, pp. 1079–1086.

Periods arrive from the engine in batches; :class:`ActivePeriods` settles everything
before the *frontier* (the earliest start of a still-running period) with one compiled
sweep over the period boundaries, and keeps only the periods that may still matter, so
memory stays bounded on long runs.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt

__all__ = ["ActivePeriods"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@numba.njit(cache=True, nogil=True)
def _transition(sa: int, aa: float, ba: float, sb: int, ab: float, bb: float, t: float, shift: Any,
                in_ovl: Any) -> None:
    """The bottleneck moves from period A to period B at ``t``: their overlap is shifting time."""
    o0 = max(aa, ab)
    o1 = min(ba, bb)
    length = o1 - o0
    if length <= 0.0:
        return
    shift[sa] += length
    shift[sb] += length
    # the parts of the overlap during which each was the momentary bottleneck
    in_ovl[sa] += min(max(t - o0, 0.0), length)
    in_ovl[sb] += min(max(o1 - t, 0.0), length)


def _boundaries(a: F64, b: F64) -> tuple[F64, I64, I64]:
    """Start and end times of the periods, ordered; at equal times ends come first ([a, b))."""
    n = len(a)
    times = np.empty(2 * n)
    kind = np.empty(2 * n, dtype=np.int64)
    times[0::2], times[1::2] = a, b
    kind[0::2] = 2 * np.arange(n) + 1  # start of period i: odd codes sort after the end
    kind[1::2] = 2 * np.arange(n)  # end of period i
    return times, kind, np.lexsort((kind, times)).astype(np.int64)


@numba.njit(cache=True, nogil=True)
def _sweep(st: Any, a: Any, b: Any, times: Any, kind: Any, order: Any, lo: float, hi: float, ns: int,
           bneck: Any, shift: Any, in_ovl: Any, carry: Any) -> None:
    """Momentary bottlenecks over [lo, hi] from periods (st, a, b); accumulate time per station.

    ``carry`` = (station, period start, period end, segment end) of the last bottleneck
    segment so far (station −1 if none); updated in place.
    """
    n = st.shape[0]
    cur = np.full(ns, -1, dtype=np.int64)
    c_st = int(carry[0])
    c_a, c_b, c_end = carry[1], carry[2], carry[3]
    t_prev = lo
    k = 0
    while k < 2 * n:
        t = times[order[k]]
        seg_lo = max(t_prev, lo)
        seg_hi = min(t, hi)
        if seg_hi > seg_lo:
            best = -1
            bd = 0.0
            for s in range(ns):
                p = cur[s]
                if p >= 0:
                    d = b[p] - a[p]
                    if d > bd:
                        bd = d
                        best = s
            if best >= 0:
                p = cur[best]
                same = c_st == best and c_a == a[p] and c_end == seg_lo
                if not same:
                    if c_st >= 0 and c_end == seg_lo:
                        _transition(c_st, c_a, c_b, best, a[p], b[p], seg_lo, shift, in_ovl)
                    c_st = best
                    c_a = a[p]
                    c_b = b[p]
                c_end = seg_hi
                bneck[best] += seg_hi - seg_lo
        # apply every boundary at time t
        while k < 2 * n and times[order[k]] == t:
            e = kind[order[k]]
            i = e >> 1
            if e & 1:
                cur[st[i]] = i
            elif cur[st[i]] == i:
                cur[st[i]] = -1
            k += 1
        t_prev = t
    carry[0] = c_st
    carry[1] = c_a
    carry[2] = c_b
    carry[3] = c_end


class ActivePeriods:
    """Accumulates active periods of ``n`` stations and computes sole/shifting shares."""

    def __init__(self, n: int, t0: float) -> None:
        self.n = n
        self.done = t0  # everything before this is settled
        self.start = t0
        self.st: I64 = np.empty(0, np.int64)
        self.a: F64 = np.empty(0)
        self.b: F64 = np.empty(0)
        self.shift = np.zeros(n)
        self.bneck = np.zeros(n)
        self.in_overlap = np.zeros(n)  # bottleneck time that lies inside a shifting overlap
        self.carry = np.array([-1.0, 0.0, 0.0, -np.inf])

    def add(self, st: I64, a: F64, b: F64, frontier: float, running: list[tuple[int, float]], now: float) -> None:
        """Take a batch of finished periods; settle time before ``frontier``.

        ``running`` lists (station, start) of periods still running at ``now``.
        """
        keep = b > self.done
        self.st = np.concatenate([self.st, st[keep]])
        self.a = np.concatenate([self.a, a[keep]])  # true starts: durations rank the periods
        self.b = np.concatenate([self.b, b[keep]])
        if frontier > self.done:
            self._settle(frontier)
        # A finished period lying inside a running one that is already longer can never be
        # the momentary bottleneck: drop it (this bounds memory behind a long active period).
        for s, t in running:
            inside = (self.a >= t) & (self.b - self.a < now - t) & (self.st != s)
            if inside.any():
                self.st, self.a, self.b = self.st[~inside], self.a[~inside], self.b[~inside]

    def finish(self, end: float) -> dict[str, Any]:
        """Settle up to ``end`` and return shares (fractions of the observed time)."""
        if end > self.done:
            self._settle(end)
        span = max(end - self.start, 1e-300)
        sole = np.maximum(self.bneck - self.in_overlap, 0.0)
        total = sole + self.shift
        best = int(np.argmax(total)) if self.n else -1
        return {
            "station": best,
            "share": float(total[best] / span) if best >= 0 else 0.0,
            "sole": sole / span,
            "shifting": self.shift / span,
        }

    def _settle(self, upto: float) -> None:
        if len(self.st):
            times, kind, order = _boundaries(self.a, self.b)
            _sweep(self.st, self.a, self.b, times, kind, order, self.done, upto, self.n, self.bneck, self.shift,
                   self.in_overlap, self.carry)
        self.done = upto
        live = self.b > upto
        self.st, self.a, self.b = self.st[live], self.a[live], self.b[live]
