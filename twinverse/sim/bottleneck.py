"""Bottleneck detection by the active-period method (Roser, Nakano & Tanaka).

A station is *active* while it processes, sets up or is repaired, and inactive while it
waits (starved, blocked, idle) or is off shift. At each instant the station whose current
active period is the longest is the momentary bottleneck; where the periods of two
successive bottlenecks overlap the bottleneck is *shifting*, elsewhere it is *sole*.
The station with the largest share of sole + shifting time is the bottleneck of the run.

Reference: C. Roser, M. Nakano, M. Tanaka, "Shifting bottleneck detection", Proceedings
of the 2002 Winter Simulation Conference, pp. 1079–1086.

Periods arrive from the engine in batches; :class:`ActivePeriods` settles everything
before the *frontier* (the earliest start of a still-running period) and keeps only the
periods that may still matter, so memory stays bounded on long runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ActivePeriods"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
_CHUNK = 1 << 18


class ActivePeriods:
    """Accumulates active periods of ``n`` stations and computes sole/shifting shares."""

    def __init__(self, n: int, t0: float) -> None:
        self.n = n
        self.done = t0  # everything before this is settled
        self.start = t0
        self.st: I64 = np.empty(0, np.int64)
        self.a: F64 = np.empty(0)
        self.b: F64 = np.empty(0)
        self.sole = np.zeros(n)
        self.shift = np.zeros(n)
        self.bneck = np.zeros(n)
        self.in_overlap = np.zeros(n)  # bottleneck time that lies inside a shifting overlap
        # last settled bottleneck segment: station, its period (a, b), segment end
        self.carry: tuple[int, float, float, float] | None = None

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
        order = np.lexsort((self.a, self.st))
        st, a, b = self.st[order], self.a[order], self.b[order]
        x = np.unique(np.concatenate([a[(a > self.done) & (a < upto)], b[(b > self.done) & (b < upto)],
                                      [self.done, upto]]))
        x = x[(x >= self.done) & (x <= upto)]
        if len(x) >= 2:
            seg_st, seg_p, seg_lo, seg_hi = self._momentary(st, a, b, x)
            self._account(seg_st, seg_p, seg_lo, seg_hi, a, b)
        self.done = upto
        live = b > upto
        self.st, self.a, self.b = st[live], a[live], b[live]

    def _momentary(self, st: I64, a: F64, b: F64, x: F64) -> tuple[I64, I64, F64, F64]:
        """Momentary bottleneck of each elementary interval [x_j, x_j+1), merged into segments."""
        lo_all = x[:-1]
        win_st = np.full(len(lo_all), -1, np.int64)
        win_p = np.full(len(lo_all), -1, np.int64)
        starts = np.searchsorted(st, np.arange(self.n + 1))
        for c0 in range(0, len(lo_all), _CHUNK):
            lo = lo_all[c0:c0 + _CHUNK]
            best = np.zeros(len(lo))
            for s in range(self.n):
                i0, i1 = starts[s], starts[s + 1]
                if i0 == i1:
                    continue
                idx = np.searchsorted(a[i0:i1], lo, side="right") - 1
                ok = idx >= 0
                gi = i0 + np.where(ok, idx, 0)
                covers = ok & (b[gi] > lo)
                dur = np.where(covers, b[gi] - a[gi], 0.0)
                better = dur > best
                best = np.where(better, dur, best)
                win_st[c0:c0 + len(lo)] = np.where(better, s, win_st[c0:c0 + len(lo)])
                win_p[c0:c0 + len(lo)] = np.where(better, gi, win_p[c0:c0 + len(lo)])
        has = win_st >= 0
        lo, hi = x[:-1][has], x[1:][has]
        ws, wp = win_st[has], win_p[has]
        if len(ws) == 0:
            return ws, wp, lo, hi
        # merge consecutive intervals of the same period
        new = np.ones(len(ws), bool)
        new[1:] = (wp[1:] != wp[:-1]) | (lo[1:] != hi[:-1])
        ids = np.cumsum(new) - 1
        seg_lo = lo[new]
        seg_hi = np.zeros(len(seg_lo))
        np.maximum.at(seg_hi, ids, hi)
        return ws[new], wp[new], seg_lo, seg_hi

    def _account(self, ss: I64, sp: I64, lo: F64, hi: F64, a: F64, b: F64) -> None:
        np.add.at(self.bneck, ss, hi - lo)
        pa, pb = a[sp], b[sp]
        # transitions inside this batch
        if len(ss) > 1:
            adj = lo[1:] == hi[:-1]
            self._transitions(ss[:-1][adj], pa[:-1][adj], pb[:-1][adj], ss[1:][adj], pa[1:][adj], pb[1:][adj],
                              hi[:-1][adj])
        # the transition from the previous batch's last segment
        if self.carry is not None and len(ss):
            cs, ca, cb, cend = self.carry
            if cend == lo[0] and not (cs == ss[0] and ca == pa[0]):
                self._transitions(np.array([cs]), np.array([ca]), np.array([cb]), ss[:1], pa[:1], pb[:1],
                                  lo[:1])
        if len(ss):
            self.carry = (int(ss[-1]), float(pa[-1]), float(pb[-1]), float(hi[-1]))

    def _transitions(self, s1: I64, a1: F64, b1: F64, s2: I64, a2: F64, b2: F64, t: F64) -> None:
        o0 = np.maximum(a1, a2)
        o1 = np.minimum(b1, b2)
        length = np.maximum(o1 - o0, 0.0)
        np.add.at(self.shift, s1, length)
        np.add.at(self.shift, s2, length)
        # the parts of the overlap during which each was the momentary bottleneck
        np.add.at(self.in_overlap, s1, np.clip(t - o0, 0.0, length))
        np.add.at(self.in_overlap, s2, np.clip(o1 - t, 0.0, length))
