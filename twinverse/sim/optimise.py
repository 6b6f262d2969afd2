"""Buffer allocation: spread K places over a line's buffers to maximise throughput.

Start from the even allocation and climb: at each step try moving one place from any
buffer to any other, keep the best move, stop when no move helps. Every candidate is
simulated with the same seed (common random numbers), so the comparison is between
allocations, not between random draws; the objective is the sample-average throughput
over the replications. Serial lines run on the fast path. The gain over the even
allocation is estimated from paired replications (same seed and replication index).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import InputError
from .engine import RunConfig, simulate
from .network import Network
from .results import Estimate, estimate

__all__ = ["BufferPlan", "even_allocation", "line_buffers", "optimise_buffers"]


@dataclass(frozen=True)
class BufferPlan:
    """The best allocation found, the even allocation, and the gain between them."""

    buffers: tuple[str, ...]
    total: int
    best: tuple[int, ...]
    best_throughput: Estimate
    even: tuple[int, ...]
    even_throughput: Estimate
    gain: Estimate  # best - even, paired by replication
    evaluations: int

    @property
    def gain_percent(self) -> float:
        return 100 * self.gain.mean / self.even_throughput.mean if self.even_throughput.mean else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "twinverse.sim.buffers/1",
            "buffers": list(self.buffers),
            "total": self.total,
            "best": dict(zip(self.buffers, self.best, strict=True)),
            "best_throughput": self.best_throughput.to_dict(),
            "even": dict(zip(self.buffers, self.even, strict=True)),
            "even_throughput": self.even_throughput.to_dict(),
            "gain": self.gain.to_dict(),
            "gain_percent": self.gain_percent,
            "evaluations": self.evaluations,
        }


def line_buffers(net: Network) -> list[str]:
    """Buffers between stations (fed by a station): the ones an allocation spreads over."""
    fed = {t for s in net.stations for t in s.route.targets} | {s.rework_to for s in net.stations if s.rework_to}
    return [b.id for b in net.buffers if b.id in fed]


def even_allocation(total: int, n: int) -> tuple[int, ...]:
    """``total`` places over ``n`` buffers as evenly as possible (extra places in the middle)."""
    base, extra = divmod(total, n)
    alloc = [base] * n
    order = sorted(range(n), key=lambda i: (abs(i - (n - 1) / 2), i))
    for i in order[:extra]:
        alloc[i] += 1
    return tuple(alloc)


def optimise_buffers(
    net: Network,
    total: int,
    config: RunConfig,
    *,
    buffers: Sequence[str] | None = None,
    progress: Callable[[int, float], None] | None = None,
    max_evaluations: int = 2000,
) -> BufferPlan:
    """Allocate ``total`` places over ``buffers`` (default: :func:`line_buffers`)."""
    ids = list(buffers) if buffers else line_buffers(net)
    known = {b.id for b in net.buffers}
    for b in ids:
        if b not in known:
            raise InputError(f"no buffer {b!r} (buffers: {', '.join(sorted(known))})")
    if not ids:
        raise InputError("the model has no buffers between stations to allocate")
    if total < 0:
        raise InputError(f"--total must be >= 0, got {total}")
    for b in ids:
        if net.buffer(b).initial:
            raise InputError(f"buffer {b!r} has an initial level: allocation needs empty buffers")
    cfg = replace(config, method="auto" if config.method == "engine" else config.method, track_bottleneck=False)
    cache: dict[tuple[int, ...], list[float]] = {}

    def evaluate(alloc: tuple[int, ...]) -> list[float]:
        if alloc not in cache:
            m = net
            for b, cap in zip(ids, alloc, strict=True):
                m = m.with_buffer(b, capacity=float(cap))
            cache[alloc] = [simulate(m, cfg, r).throughput for r in range(cfg.reps)]
            if progress is not None:
                progress(len(cache), sum(cache[alloc]) / len(cache[alloc]))
        return cache[alloc]

    def score(alloc: tuple[int, ...]) -> float:
        v = evaluate(alloc)
        return sum(v) / len(v)

    even = even_allocation(total, len(ids))
    best = even
    best_score = score(best)
    while len(cache) < max_evaluations:
        moves = [tuple(best[k] + (k == j) - (k == i) for k in range(len(ids)))
                 for i in range(len(ids)) for j in range(len(ids)) if i != j and best[i] > 0]
        scored = [(score(mv), mv) for mv in moves]
        if not scored:
            break
        top, cand = max(scored)
        if top <= best_score * (1 + 1e-12):
            break
        best, best_score = cand, top
    b_vals, e_vals = evaluate(best), evaluate(even)
    return BufferPlan(tuple(ids), total, best, estimate(b_vals), even, estimate(e_vals),
                      estimate([x - y for x, y in zip(b_vals, e_vals, strict=True)]), len(cache))

