"""Production-line discrete-event simulation: validated, fast, driven by the plant model.

    >>> from twinverse.sim import RunConfig, loads_network, simulate
    >>> net = loads_network('''
    ... simulation:
    ...   sources: {supply: {saturated: true, to: m1}}
    ...   buffers: {b: {capacity: 0}}
    ...   stations:
    ...     m1: {process: {dist: exponential, mean: 1}, to: b}
    ...     m2: {from: b, process: {dist: exponential, mean: 1}, to: out}
    ...   sinks: [out]
    ... ''')
    >>> round(simulate(net, RunConfig(parts=200_000, seed=1)).throughput, 2)   # (B+2)/(B+3) = 2/3
    0.67

See docs/simulation.md for the model format, conventions and result schema.
"""

from __future__ import annotations

from .distributions import Distribution, DistributionError, parse_distribution, register_distribution
from .energy import CHINA_GRID_FACTOR, DEFAULT_GRID_FACTOR
from .engine import simulate
from .errors import DeadlockError, RunConfigError
from .live import LiveSnapshot, snapshot_from_live
from .network import (
    INF,
    Blocking,
    Buffer,
    Calendar,
    FailureBasis,
    FailureMode,
    Network,
    Route,
    RouteKind,
    Sink,
    Source,
    Station,
)
from .optimise import BufferPlan, optimise_buffers
from .results import BufferStats, Estimate, Replication, ScenarioResult, StationStats
from .runconfig import InitialState, RunConfig
from .runner import JobStatus, SimJob, SimRunner
from .scenario import run_scenario
from .spec import load_network, loads_network, network_from_plant
from .states import STATE_NAMES, STATION_STATES
from .sweep import Param, SweepResult, apply_params, parse_param, run_sweep

__all__ = [
    "CHINA_GRID_FACTOR",
    "DEFAULT_GRID_FACTOR",
    "INF",
    "STATE_NAMES",
    "STATION_STATES",
    "Blocking",
    "Buffer",
    "BufferPlan",
    "BufferStats",
    "Calendar",
    "DeadlockError",
    "Distribution",
    "DistributionError",
    "Estimate",
    "FailureBasis",
    "FailureMode",
    "InitialState",
    "JobStatus",
    "LiveSnapshot",
    "Network",
    "Param",
    "Replication",
    "Route",
    "RouteKind",
    "RunConfig",
    "RunConfigError",
    "ScenarioResult",
    "SimJob",
    "SimRunner",
    "Sink",
    "Source",
    "Station",
    "StationStats",
    "SweepResult",
    "apply_params",
    "load_network",
    "loads_network",
    "network_from_plant",
    "optimise_buffers",
    "parse_distribution",
    "parse_param",
    "register_distribution",
    "run_scenario",
    "run_sweep",
    "simulate",
    "snapshot_from_live",
]
