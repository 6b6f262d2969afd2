"""Stored floats as people see them: the one value formatter of REST, websocket and time travel.

Every observation is stored as a ``float64``; what it means depends on the signal's kind
(:class:`KindCode`): a state signal stores the index of a state name, a bool 0 or 1, an
int a whole number. :class:`ValueFormatter` turns stored values back, vectorised by kind
(only non-float values cost a Python step), and formats the ``{sid, value, ts}`` columns
that the websocket, ``/api/scene/state`` and the live endpoints answer with.

>>> import numpy as np
>>> f = ValueFormatter(np.array([KindCode.STATE, KindCode.FLOAT], np.uint8), [("running", "down"), None])
>>> f.values(np.array([0, 1]), np.array([1.0, 2.5]))
['down', 2.5]
>>> f.columns(np.array([0, 1]), np.array([0.0, np.nan]), np.array([2_000, NEVER]))
{'sid': [0, 1], 'value': ['running', None], 'ts': [2, None]}
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from .clock import NEVER, ms

__all__ = ["NEVER", "KindCode", "ValueFormatter"]


class KindCode(IntEnum):
    """Signal kinds as ``uint8`` codes in per-sid arrays."""

    FLOAT = 0
    INT = 1
    BOOL = 2
    STATE = 3


class ValueFormatter:
    """Display values for sids, from per-sid kind codes and state-name lists."""

    def __init__(self, kind: npt.NDArray[np.uint8], states: Sequence[tuple[str, ...] | None]) -> None:
        self.kind = kind
        self.states = list(states)

    def value(self, sid: int, v: float) -> object:
        """One stored float as users see it: state name, bool, int or float; None if NaN."""
        if v != v:  # NaN
            return None
        kind = self.kind[sid]
        if kind == KindCode.FLOAT:
            return v
        if kind == KindCode.STATE:
            names = self.states[sid] or ()
            i = int(v)
            return names[i] if 0 <= i < len(names) else i
        if kind == KindCode.BOOL:
            return bool(v)
        return int(v)

    def values(self, sids: npt.NDArray[np.integer[Any]], values: npt.NDArray[np.float64]) -> list[Any]:
        """Many stored floats at once (a state code outside the list stays an int)."""
        out: list[Any] = values.tolist()
        nan = np.isnan(values)
        kinds = self.kind[sids] if len(sids) else np.empty(0, np.uint8)
        for i in np.flatnonzero((kinds != KindCode.FLOAT) & ~nan).tolist():
            out[i] = self.value(int(sids[i]), out[i])
        for i in np.flatnonzero(nan).tolist():
            out[i] = None
        return out

    def columns(
        self,
        sids: npt.NDArray[np.integer[Any]],
        values: npt.NDArray[np.float64],
        ts_us: npt.NDArray[np.int64],
    ) -> dict[str, list[Any]]:
        """``{"sid", "value", "ts"}`` for JSON: display values, ts in epoch ms (None for :data:`NEVER`)."""
        return {"sid": np.asarray(sids).tolist(), "value": self.values(sids, values), "ts": ms(ts_us)}

