"""The scrape-time histogram: exact buckets for known values, invariants for any values."""

from __future__ import annotations

import math
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twinverse.core import LATENCY_BUCKETS, SIZE_BUCKETS, Histogram


def test_known_values_fall_in_known_buckets() -> None:
    h = Histogram((1.0, 10.0, 100.0))
    for v in (0.0, 1.0, 1.5, 10.0, 99.0, 100.0, 1e6):
        h.observe(v)
    counts, total, n = h.snapshot()
    assert counts == (2, 2, 2, 1)  # a value equal to a bound is in that bound's bucket (le)
    assert (total, n) == (0.0 + 1.0 + 1.5 + 10.0 + 99.0 + 100.0 + 1e6, 7)
    assert h.snapshot().cumulative(h.bounds) == [(1.0, 2), (10.0, 4), (100.0, 6), (math.inf, 7)]


def test_empty_histogram() -> None:
    snap = Histogram().snapshot()
    assert (sum(snap.counts), snap.sum, snap.count) == (0, 0.0, 0)
    assert len(snap.counts) == len(LATENCY_BUCKETS) + 1
    assert len(Histogram(SIZE_BUCKETS).snapshot().counts) == len(SIZE_BUCKETS) + 1


@pytest.mark.parametrize("bounds", [(), (1.0, 1.0), (2.0, 1.0), (1.0, math.inf)])
def test_bad_bounds_are_refused(bounds: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="strictly ascending"):
        Histogram(bounds)


def test_observations_from_many_threads_are_all_counted() -> None:
    h = Histogram((0.5,))

    def work() -> None:
        for _ in range(10_000):
            h.observe(1.0)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tuple(h.snapshot()) == ((0, 80_000), 80_000.0, 80_000)


@given(st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False), max_size=200))
def test_counts_add_up_and_cumulative_counts_never_fall(values: list[float]) -> None:
    h = Histogram(SIZE_BUCKETS)
    for v in values:
        h.observe(v)
    snap = h.snapshot()
    assert snap.count == sum(snap.counts) == len(values)
    cumulative = [n for _, n in snap.cumulative(h.bounds)]
    assert cumulative == sorted(cumulative) and cumulative[-1] == len(values)
    for (le, n), v in zip(snap.cumulative(h.bounds), [*h.bounds, math.inf], strict=True):
        assert le == v and n == sum(1 for x in values if x <= le)
