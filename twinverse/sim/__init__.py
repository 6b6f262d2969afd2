"""Production-line discrete-event simulation: validated, fast, driven by the plant model."""

from __future__ import annotations

from .distributions import Distribution, parse_distribution
from .engine import InitialState, RunConfig, simulate
from .errors import DeadlockError
from .network import Network
from .spec import load_network, loads_network, network_from_plant

__all__ = [
    "DeadlockError",
    "Distribution",
    "InitialState",
    "Network",
    "RunConfig",
    "load_network",
    "loads_network",
    "network_from_plant",
    "parse_distribution",
    "simulate",
]
