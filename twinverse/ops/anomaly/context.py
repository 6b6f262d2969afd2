"""The ``context`` detector: surprise of a value in the context of the values before it.

Three parts, all per signal and in one compiled pass over a batch:

1. **Quantised contexts.** After ``warmup`` values a signal's range so far fixes a grid of
   ``bins`` steps (values outside it get further bin numbers). Each value becomes a bin; the
   last ``order`` bins are the *context*. Hashed tables of ``2^bits`` counters keep how often
   each context was seen and how often each (context, next bin) followed. The raw surprise
   of a value is ``1 - count(context, bin) / count(context)`` (1 for a context never seen).
2. **Anomaly likelihood** (as Numenta's HTM detector post-processes its raw scores): the mean
   raw surprise of the last ``short`` values, compared with the long-run mean and spread of
   that average (exponentially weighted over ``long`` values); the score is the normal
   probability below that z, so a signal that is always surprising is not always anomalous.
3. **Spatial novelty**: a value more than ``tolerance`` × the range seen so far beyond the
   range scores 1.

After a score at or above ``refractory_level`` the next ``refractory`` scores are damped
(multiplied by ``1 - refractory_level``): one anomaly, one alarm, not a run of them.

The defaults are one parameter set for every signal, chosen by a small random search over
the whole NAB corpus (docs/anomaly.md); state per signal is two tables of ``2^bits`` int32
counters (32 KiB at the default 12 bits) and a few numbers. NAB: 71.74 standard, 65.80
reward-low-FP, 75.70 reward-low-FN.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from .base import Detector

__all__ = ["CONTEXT", "ContextDetector", "ContextKind", "ContextParams"]

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]


class ContextParams(BaseModel):
    """Parameters of the ``context`` detector (defaults: one set for the whole NAB corpus)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bins: int = Field(9, ge=2, le=10_000, description="grid steps over the warm-up range")
    order: int = Field(3, ge=1, le=8, description="previous values that make a context")
    warmup: int = Field(300, ge=2, le=1_000_000, description="values before any score (grid fixed then)")
    bits: int = Field(12, ge=8, le=24, description="log2 of the counter table size per signal")
    short: int = Field(40, ge=1, le=1_000, description="values averaged for the likelihood")
    long: int = Field(2000, ge=10, le=10_000_000, description="values of the long-run statistics")
    tolerance: float = Field(0.03, ge=0.0, le=10.0, description="spatial novelty beyond the seen range")
    refractory: int = Field(90, ge=0, le=1_000_000, description="values damped after a high score")
    refractory_level: float = Field(0.99, gt=0.0, le=1.0, description="score that starts the damping")


@numba.njit(cache=True, nogil=True)
def _context(slot: _I, x: _F, out: _F, istate: _I, fstate: _F, hist: _I, pair: npt.NDArray[np.int32],
             ctxc: npt.NDArray[np.int32], rawbuf: _F, p: _F) -> None:  # fmt: skip
    bins, order, warmup, mask, short = int(p[0]), int(p[1]), int(p[2]), int(p[3]), int(p[4])
    alpha, tol, refr, rlevel = p[5], p[6], int(p[7]), p[8]
    for r in range(len(x)):
        s = slot[r]
        v = x[r]
        if v != v:
            out[r] = np.nan
            continue
        n = istate[s, 0]
        lo, hi = fstate[s, 0], fstate[s, 1]
        if n == 0:
            lo = v
            hi = v
        score = 0.0
        if n >= warmup:
            if fstate[s, 3] <= 0.0:  # fix the grid at the end of the warm-up
                width = (hi - lo) / bins
                if width <= 0.0:
                    width = max(abs(lo) * 1e-3, 1e-9)
                fstate[s, 2] = lo
                fstate[s, 3] = width
            b = math.floor((v - fstate[s, 2]) / fstate[s, 3])
            b = min(max(b, -1_000_000), 1_000_000)
            h = np.uint64(14695981039346656037)
            for k in range(order):
                h = (h ^ np.uint64(hist[s, k] + 2_000_000)) * np.uint64(1099511628211)
            hc = int(h & np.uint64(mask))
            hp = int(((h ^ np.uint64(b + 2_000_000)) * np.uint64(1099511628211)) & np.uint64(mask))
            cc = ctxc[s, hc]
            raw = 1.0 if cc == 0 else 1.0 - min(pair[s, hp], cc) / cc
            ctxc[s, hc] = cc + 1
            pair[s, hp] += 1
            for k in range(order - 1):
                hist[s, k] = hist[s, k + 1]
            hist[s, order - 1] = b
            # likelihood of the short-run mean raw surprise against its long-run distribution
            j = istate[s, 1]
            fstate[s, 4] += raw - rawbuf[s, j]
            rawbuf[s, j] = raw
            istate[s, 1] = (j + 1) % short
            avg = fstate[s, 4] / short
            m = fstate[s, 5]
            var = fstate[s, 6]
            seen = n - warmup
            if seen > short:
                sd = math.sqrt(var) if var > 1e-12 else 1e-6
                z = (avg - m) / sd
                # Phi(z), continued past 5 sigma so that far tails keep their order in floats
                score = 0.5 * math.erfc(-z / math.sqrt(2.0)) if z < 5.0 else 1.0 - 2.866e-7 * math.exp(5.0 - z)
            d = avg - m
            a = max(alpha, 1.0 / (seen + 1))
            fstate[s, 5] = m + a * d
            fstate[s, 6] = (1.0 - a) * (var + a * d * d)
            span = hi - lo
            if span > 0.0 and (v > hi + tol * span or v < lo - tol * span):
                score = 1.0
        # damping after a high score: one event, one detection
        if istate[s, 2] > 0:
            istate[s, 2] -= 1
            score *= 1.0 - rlevel
        elif refr > 0 and score >= rlevel:
            istate[s, 2] = refr
        out[r] = score
        fstate[s, 0] = min(lo, v)
        fstate[s, 1] = max(hi, v)
        istate[s, 0] = n + 1


class ContextDetector:
    """``context`` scores for ``slots`` signals."""

    def __init__(self, params: ContextParams, slots: int) -> None:
        self.params = params
        n = max(slots, 1)
        size = 1 << params.bits
        self.istate = np.zeros((n, 3), np.int64)
        self.fstate = np.zeros((n, 7))
        self.hist = np.zeros((n, params.order), np.int64)
        self.pair = np.zeros((n, size), np.int32)
        self.ctxc = np.zeros((n, size), np.int32)
        self.rawbuf = np.zeros((n, params.short))
        pr = params
        self.p = np.array([pr.bins, pr.order, pr.warmup, size - 1, pr.short, 1.0 / pr.long, pr.tolerance,
                           pr.refractory, pr.refractory_level], dtype=np.float64)  # fmt: skip

    def update(self, slot: npt.NDArray[np.intp], values: _F, ts_us: npt.NDArray[np.int64]) -> _F:
        out = np.empty(len(values))
        _context(np.asarray(slot, np.int64), np.asarray(values, np.float64), out, self.istate, self.fstate,
                 self.hist, self.pair, self.ctxc, self.rawbuf, self.p)  # fmt: skip
        return out


class ContextKind:
    """The ``context`` detector kind (entry point ``twinverse.detectors: context``)."""

    name = "context"
    params = ContextParams

    def create(self, params: BaseModel, slots: int) -> Detector:
        assert isinstance(params, ContextParams)
        return ContextDetector(params, slots)


CONTEXT = ContextKind()
