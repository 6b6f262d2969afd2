"""Counters that cost nothing to keep: fixed-bucket histograms read at scrape time.

The hot path (an ingest, a commit) only calls :meth:`Histogram.observe`: a lock, a bisect
and three additions. Whoever exports the numbers (the ``/metrics`` route in
:mod:`twinverse.api.metrics`) reads :meth:`Histogram.snapshot` when asked. Nothing here
imports an exporter: the ground floor stays dependency-free, and any layer may keep a
histogram.

    >>> h = Histogram((0.25, 1.0, 2.0))
    >>> for v in (0.25, 0.5, 0.5, 3.0):
    ...     h.observe(v)
    >>> h.snapshot()
    HistogramSnapshot(counts=(1, 2, 0, 1), sum=4.25, count=4)
    >>> h.snapshot().cumulative(h.bounds)
    [(0.25, 1), (1.0, 3), (2.0, 3), (inf, 4)]
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

__all__ = ["LATENCY_BUCKETS", "SIZE_BUCKETS", "Histogram", "HistogramSnapshot"]

#: Upper bounds (seconds) for commit and request latencies: 0.5 ms … 10 s.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Upper bounds (rows) for batch and commit sizes: 1 … 1,000,000 in decades.
SIZE_BUCKETS = (1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0)


@dataclass(frozen=True)
class HistogramSnapshot:
    """One consistent reading of a :class:`Histogram`; unpacks as ``counts, sum, count``.

    ``counts[i]`` counts observations in bucket ``i`` alone (``bounds[i-1] < v <= bounds[i]``);
    the last entry counts those above the largest bound. ``count == sum(counts)``.
    """

    counts: tuple[int, ...]
    sum: float
    count: int

    def __iter__(self) -> Iterator[object]:
        return iter((self.counts, self.sum, self.count))

    def cumulative(self, bounds: Sequence[float]) -> list[tuple[float, int]]:
        """``(upper bound, observations <= it)`` per bucket, ending with ``(inf, count)``: Prometheus' shape."""
        out, total = [], 0
        for le, n in zip([*bounds, math.inf], self.counts, strict=True):
            total += n
            out.append((le, total))
        return out


class Histogram:
    """A thread-safe accumulator of observations in fixed buckets (upper bounds, ascending).

    A value equal to a bound falls in that bound's bucket, as in Prometheus (``le``).
    """

    def __init__(self, bounds: Sequence[float] = LATENCY_BUCKETS) -> None:
        b = tuple(float(x) for x in bounds)
        if not b or any(hi <= lo for lo, hi in pairwise(b)) or math.isinf(b[-1]):
            raise ValueError("histogram bounds must be finite, non-empty and strictly ascending")
        self.bounds = b
        self._counts = [0] * (len(b) + 1)
        self._sum = 0.0
        self._count = 0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        """Count one observation."""
        i = bisect_left(self.bounds, value)
        with self._lock:
            self._counts[i] += 1
            self._sum += value
            self._count += 1

    def snapshot(self) -> HistogramSnapshot:
        """Bucket counts, sum and count as of now (one consistent reading)."""
        with self._lock:
            return HistogramSnapshot(tuple(self._counts), self._sum, self._count)
