"""The arrays the compiled rules share: condition changes (:class:`Transitions`) and rows paired with rules.

A group of rules (:class:`RuleGroup`) keeps its members sorted by sid and where each sid's
members start, so a batch's rows (sorted by (sid, ts)) are paired with their rules by two
gathers; the helpers find the starts and ends of each member's run of pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["RuleGroup", "Transitions", "group_start_pos", "run_ends", "run_starts", "shift"]

_I = npt.NDArray[np.intp]
_F = npt.NDArray[np.float64]
_B = npt.NDArray[np.bool_]
_T = npt.NDArray[np.int64]
_A = TypeVar("_A", bound="np.ndarray[Any, Any]")


@dataclass(frozen=True)
class Transitions:
    """Condition changes found in one evaluation, in time order per rule: rule index, time, value, new condition."""

    rule: _I
    ts: _T
    value: _F
    active: _B

    @staticmethod
    def empty() -> Transitions:
        return Transitions(np.empty(0, np.intp), np.empty(0, np.int64), np.empty(0), np.empty(0, bool))

    @staticmethod
    def concat(parts: Sequence[Transitions]) -> Transitions:
        parts = [p for p in parts if len(p.rule)]
        if not parts:
            return Transitions.empty()
        if len(parts) == 1:
            return parts[0]
        return Transitions(*(np.concatenate([getattr(p, f) for p in parts])
                             for f in ("rule", "ts", "value", "active")))  # fmt: skip

    def __len__(self) -> int:
        return len(self.rule)


class RuleGroup:
    """The rules of one kind: their sids sorted, and where each sid's rules start."""

    def __init__(self, ids: list[int], sids: list[int], nsig: int) -> None:
        order = np.argsort(np.asarray(sids, dtype=np.int64), kind="stable")
        self.ids = np.asarray(ids, dtype=np.intp)[order]  # global rule index of each member
        self.sid = np.asarray(sids, dtype=np.int64)[order]
        self.count = np.bincount(self.sid, minlength=nsig).astype(np.int64) if len(ids) else np.zeros(nsig, np.int64)
        self.first = np.concatenate([[0], np.cumsum(self.count)[:-1]]).astype(np.int64)
        self.multi = bool(self.count.max(initial=0) > 1)

    def __len__(self) -> int:
        return len(self.ids)

    def pairs(self, sid: npt.NDArray[np.int32]) -> tuple[_I, _I]:
        """(member, row) pairs of a batch's rows with this group's rules, grouped by member, rows in order."""
        c = self.count[sid]
        rows = np.flatnonzero(c)
        if not len(rows):
            return rows, rows
        if not self.multi:
            return self.first[sid[rows]].astype(np.intp), rows
        reps = c[rows]
        row = np.repeat(rows, reps)
        start = np.repeat(np.cumsum(reps) - reps, reps)
        member = np.repeat(self.first[sid[rows]], reps) + (np.arange(len(row)) - start)
        order = np.argsort(member, kind="stable")
        return member[order].astype(np.intp), row[order]


def run_starts(member: _I) -> _B:
    start = np.ones(len(member), dtype=bool)
    start[1:] = member[1:] != member[:-1]
    return start


def run_ends(member: _I) -> _B:
    end = np.ones(len(member), dtype=bool)
    end[:-1] = member[1:] != member[:-1]
    return end


def group_start_pos(start: _B) -> _I:
    pos = np.arange(len(start))
    return np.maximum.accumulate(np.where(start, pos, 0))


def shift(x: _A, start: _B, first: Any) -> _A:
    """``x`` moved one place later within each group; a group's first element gets ``first``."""
    out: _A = x.copy()
    out[1:] = x[:-1]
    out[start] = first
    return out
