"""The windowed-Gaussian baseline: NAB's reference detector, as a compiled bank over many signals.

A point's score is ``1 - Q(|z|)`` (Q the normal tail) where ``z`` is its distance from the
mean of the window of previous values in standard deviations. The window fills up to
``window`` values (mean and standard deviation updated with every value meanwhile), then
slides ``step`` values at a time. The first value of a signal scores 0, and so do the first
``warmup`` ones (default 0, as NAB's). NAB tuned ``window = 6400, step = 100``.

Per signal the bank keeps a ring buffer of ``window`` floats; one call scores a batch of rows
grouped by signal (:meth:`WindowedGaussian.update`), in a single compiled pass.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from .base import Detector

__all__ = ["GAUSSIAN", "GaussianKind", "GaussianParams", "WindowedGaussian"]

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]


class GaussianParams(BaseModel):
    """Parameters of the windowed-Gaussian detector."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: int = Field(6400, ge=2, le=1_000_000, description="values in the sliding window")
    step: int = Field(100, ge=1, le=1_000_000, description="values the window slides by at once")
    warmup: int = Field(0, ge=0, le=1_000_000, description="values that score 0 while the window learns")


@numba.njit(cache=True, nogil=True)
def _gauss(slot: _I, x: _F, out: _F, buf: _F, count: _I, pending: _I, head: _I,
           mean: _F, m2: _F, std: _F, step: int, warmup: int) -> None:  # fmt: skip
    w = buf.shape[1]
    for r in range(len(x)):
        s = slot[r]
        v = x[r]
        if v != v:  # NaN: no score, no update
            out[r] = np.nan
            continue
        c = count[s]
        if c == 0 or c < warmup:
            out[r] = 0.0
        else:
            z = abs(v - mean[s]) / std[s]
            out[r] = 1.0 - 0.5 * math.erfc(z / math.sqrt(2.0))
        if c < w:  # filling: Welford's update
            buf[s, c] = v
            c += 1
            count[s] = c
            d = v - mean[s]
            mean[s] += d / c
            m2[s] += d * (v - mean[s])
            sd = math.sqrt(max(m2[s], 0.0) / c)
            std[s] = sd if sd > 0.0 else 1e-6
        else:
            buf[s, (head[s] + pending[s]) % w] = v
            pending[s] += 1
            if pending[s] == step:  # slide: the oldest `step` values leave
                head[s] = (head[s] + step) % w
                pending[s] = 0
                mu = 0.0
                for j in range(w):
                    mu += buf[s, j]
                mu /= w
                acc = 0.0
                for j in range(w):
                    d = buf[s, j] - mu
                    acc += d * d
                mean[s] = mu
                sd = math.sqrt(acc / w)
                std[s] = sd if sd > 0.0 else 1e-6


class WindowedGaussian:
    """Windowed-Gaussian scores for ``slots`` signals."""

    def __init__(self, params: GaussianParams, slots: int) -> None:
        if params.step > params.window:
            raise ValueError("step must not exceed window")
        self.params = params
        n = max(slots, 1)
        self.buf = np.zeros((n, params.window))
        self.count = np.zeros(n, np.int64)
        self.pending = np.zeros(n, np.int64)
        self.head = np.zeros(n, np.int64)
        self.mean = np.zeros(n)
        self.m2 = np.zeros(n)
        self.std = np.ones(n)

    def update(self, slot: npt.NDArray[np.intp], values: _F, ts_us: npt.NDArray[np.int64]) -> _F:
        out = np.empty(len(values))
        _gauss(np.asarray(slot, np.int64), np.asarray(values, np.float64), out, self.buf, self.count,
               self.pending, self.head, self.mean, self.m2, self.std, self.params.step,
               self.params.warmup)  # fmt: skip
        return out


class GaussianKind:
    """The ``gaussian`` detector kind (entry point ``twinverse.detectors: gaussian``)."""

    name = "gaussian"
    params = GaussianParams

    def create(self, params: BaseModel, slots: int) -> Detector:
        assert isinstance(params, GaussianParams)
        return WindowedGaussian(params, slots)


GAUSSIAN = GaussianKind()
