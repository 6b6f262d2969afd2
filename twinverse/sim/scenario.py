"""Scenarios: replications with seeds, confidence intervals and common random numbers.

A scenario is a network plus a run configuration; its replications use seeds
``(config.seed, rep)`` for ``rep = 0 … reps-1``. Every random stream is keyed by the
element and purpose it serves (see :func:`twinverse.sim.compiled.stream_rng`), so two
scenarios run with the same seed see the same process times, failures and arrivals for
every element they share: differences between them are not noise from the dice.

    >>> from twinverse.sim import loads_network, RunConfig
    >>> net = loads_network('''
    ... simulation:
    ...   sources: {supply: {saturated: true, to: m1}}
    ...   buffers: {b: {capacity: 0}}
    ...   stations:
    ...     m1: {process: {dist: exponential, mean: 1}, to: b}
    ...     m2: {from: b, process: {dist: exponential, mean: 1}, to: out}
    ...   sinks: [out]
    ... ''')
    >>> res = run_scenario(net, RunConfig(parts=20_000, reps=5, seed=1))
    >>> abs(res.throughput.mean - 2 / 3) < res.throughput.half_width * 2   # (B+2)/(B+3), B = 0
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import EventLimitError
from .energy import DEFAULT_GRID_FACTOR
from .engine import InitialState, RunConfig, simulate
from .network import Network
from .results import ScenarioResult

__all__ = ["run_scenario"]


def run_scenario(
    net: Network,
    config: RunConfig,
    *,
    name: str = "base",
    params: Mapping[str, Any] | None = None,
    initial: InitialState | None = None,
    progress: Callable[[float], None] | None = None,
    max_events: int | None = None,
) -> ScenarioResult:
    """Run ``config.reps`` replications of ``net`` and collect them with estimates.

    ``max_events`` bounds the events of all replications together: the replication that
    passes it is stopped, with :class:`~twinverse.errors.EventLimitError`.
    """
    reps = []
    used = 0
    for r in range(config.reps):
        def sub(fr: float, r: int = r) -> None:
            if progress is not None:
                progress((r + fr) / config.reps)

        left = None if max_events is None else max_events - used
        try:
            rep = simulate(net, config, r, initial=initial, progress=sub if progress else None, max_events=left)
        except EventLimitError as exc:
            raise EventLimitError(max_events or 0, used + exc.events) from None
        used += rep.events
        reps.append(rep)
    grid = net.grid_factor if net.grid_factor is not None else DEFAULT_GRID_FACTOR
    cfg = {k: v for k, v in config.__dict__.items() if v is not None}
    return ScenarioResult(name, dict(params or {}), tuple(reps), net.time_unit, grid, cfg, net.market_factor)

