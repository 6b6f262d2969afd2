"""The plant model: types, twins, relationships, graph queries and the signal index."""

from __future__ import annotations

from .loader import check_rule, load_plant, loads_plant
from .plant import Plant, SignalIndex
from .types import DEFAULT_STATES, ModelRef, Placement, Relationship, Signal, SignalKind, Twin, TwinType

__all__ = [
    "DEFAULT_STATES",
    "ModelRef",
    "Placement",
    "Plant",
    "Relationship",
    "Signal",
    "SignalIndex",
    "SignalKind",
    "Twin",
    "TwinType",
    "check_rule",
    "load_plant",
    "loads_plant",
]
