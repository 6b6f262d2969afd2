"""The reading helpers of the simulation-model parser: located problems, numbers, names.

:class:`SpecReader` holds what every part of reading a ``simulation:`` section shares:
the document, the plant (for plant files), the problems found so far, and checks of
single values that report ``file:line`` and the field path. The parser of
:mod:`twinverse.sim.spec` builds on it, and :mod:`twinverse.sim.graph` reports through it,
so neither of those two imports the other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import Problem
from ..model.yamlsource import LocatedDoc, PathKey
from .distributions import Distribution, DistributionError, parse_distribution
from .network import INF
from .states import STATE_NAMES, parse_state

__all__ = ["SpecReader", "is_num"]


def is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class SpecReader:
    """Problems of one document, and checks of single values that report where they are."""

    def __init__(self, doc: LocatedDoc, plant: Any) -> None:
        self.doc = doc
        self.plant = plant
        self.problems: list[Problem] = []
        self.base = Path(doc.file).parent if doc.file and not doc.file.startswith("<") else None
        self.root: PathKey = ("simulation",)
        self.twin_of: dict[str, str] = {}  # element id -> twin id

    # -- helpers -------------------------------------------------------------------------------
    def fail(self, path: PathKey, message: str) -> None:
        self.problems.append(self.doc.problem(path, message))

    def mapping(self, value: Any, path: PathKey, what: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(path, f"{what} must be a mapping, got {type(value).__name__}")
            return {}
        return value

    def unknown(self, data: Mapping[str, Any], allowed: set[str], path: PathKey) -> None:
        for k in data:
            if k not in allowed:
                self.fail((*path, k), f"unknown field {k!r} (allowed: {', '.join(sorted(allowed))})")

    def dist(self, spec: Any, path: PathKey) -> Distribution | None:
        try:
            return parse_distribution(spec, self.base)
        except DistributionError as exc:
            where = (*path, exc.field) if exc.field and isinstance(spec, Mapping) and exc.field in spec else path
            self.fail(where, str(exc))
            return None

    def number(self, v: Any, path: PathKey, *, lo: float = 0.0, lo_open: bool = False, hi: float | None = None,
               integer: bool = False, allow_inf: bool = False) -> float | None:
        if allow_inf and (v == "inf" or v == ".inf" or (isinstance(v, float) and v == math.inf)):
            return INF
        if not is_num(v) or (isinstance(v, float) and math.isnan(v)):
            self.fail(path, f"expected a number, got {v!r}")
            return None
        f = float(v)
        if integer and f != int(f):
            self.fail(path, f"expected an integer, got {v!r}")
            return None
        if (lo_open and f <= lo) or f < lo:
            self.fail(path, f"must be {'>' if lo_open else '>='} {lo:g}, got {v!r}")
            return None
        if hi is not None and f > hi:
            self.fail(path, f"must be <= {hi:g}, got {v!r}")
            return None
        if math.isinf(f) and not allow_inf:
            self.fail(path, f"must be finite, got {v!r}")
            return None
        return f

    def probability(self, v: Any, path: PathKey) -> float:
        p = self.number(v, path, hi=1.0)
        return 0.0 if p is None else p

    def sink_ids(self, v: Any, path: PathKey) -> dict[str, PathKey]:
        if v is None:
            return {}
        if isinstance(v, str):
            return {v: path}
        if isinstance(v, Mapping):
            return {str(k): (*path, k) for k in v}
        if isinstance(v, Sequence):
            out: dict[str, PathKey] = {}
            for i, s in enumerate(v):
                if not isinstance(s, str):
                    self.fail((*path, i), f"a sink is a name, got {s!r}")
                else:
                    out[s] = (*path, i)
            return out
        self.fail(path, "sinks must be a list of names")
        return {}

    def twin_ref(self, v: Any, path: PathKey) -> str | None:
        if v is None:
            return None
        if self.plant is None:
            self.fail(path, "'twin' needs a plant file (a top-level 'plant:')")
            return None
        if not isinstance(v, str):
            self.fail(path, f"twin must be a twin id, got {v!r}")
            return None
        for cand in (v, f"{self.plant.id}/{v}"):
            if cand in self.plant.twins:
                return str(cand)
        self.fail(path, f"no twin {v!r} in plant {self.plant.id!r}")
        return None

    def power(self, v: Any, path: PathKey, allowed: tuple[str, ...] = STATE_NAMES) -> dict[str, float]:
        """kW per state; keys are state names or their aliases (``busy`` for ``running``)."""
        out: dict[str, float] = {}
        for k, kw in self.mapping(v, path, "power").items():
            state = parse_state(str(k))
            if state is None or state.value not in allowed:
                names = ", ".join(allowed)
                self.fail((*path, k), f"unknown state {k!r} (states: {names}; aliases such as busy are accepted)")
                continue
            x = self.number(kw, (*path, k))
            if x is not None:
                out[state.value] = x
        return out
