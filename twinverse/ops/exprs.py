"""``expr`` rules compiled into NumPy: one function per distinct expression, evaluated over all its twins at once.

An expression (:mod:`twinverse.model.expr`, already checked) becomes a tree of closures over
NumPy ufuncs, built once. The rules sharing an expression (every twin of a type, unless a
twin overrides it) form one :class:`ExprGroup`: a matrix of the sids each rule reads
(rules × signals). A batch's rows of those sids are paired with their rules and sorted by
(rule, time); each signal's value at every row is its **last value carried forward** —
the newest sample at or before that time, from this batch or carried from earlier ones
(the platform's live values at start). Rows with the same timestamp are applied together:
the condition is evaluated once per (rule, time), after all of them. A rule with a signal
that has no value yet is false. The alarm changes where the condition does.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .pairs import RuleGroup, Transitions, run_ends, run_starts

__all__ = ["ExprGroup", "compile_expression"]

_I = npt.NDArray[np.intp]
_F = npt.NDArray[np.float64]
_B = npt.NDArray[np.bool_]
_T = npt.NDArray[np.int64]
_Fn = Callable[[Sequence[_F]], Any]

_BIN: dict[type[ast.operator], Any] = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
                                       ast.Div: np.true_divide, ast.Mod: np.mod, ast.Pow: np.power}  # fmt: skip
_CMP: dict[type[ast.cmpop], Any] = {ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater,
                                    ast.GtE: np.greater_equal, ast.Eq: np.equal, ast.NotEq: np.not_equal}  # fmt: skip


def _truth(x: Any) -> Any:
    a = np.asarray(x)
    if a.dtype == np.bool_:
        return a
    return (a != 0) & ~np.isnan(a)


def _num(x: Any) -> Any:
    a = np.asarray(x)
    return a.astype(np.float64) if a.dtype == np.bool_ else a


def compile_expression(tree: ast.Expression, names: Sequence[str],
                       states: dict[str, tuple[str, ...] | None]) -> Callable[[Sequence[_F]], _B]:  # fmt: skip
    """A function of the signals' value columns (in ``names`` order) giving the condition per row."""
    index = {n: i for i, n in enumerate(names)}

    def build(node: ast.expr) -> _Fn:
        if isinstance(node, ast.BoolOp):
            parts = [build(v) for v in node.values]
            op = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            return lambda x: functools.reduce(op, (_truth(p(x)) for p in parts))
        if isinstance(node, ast.UnaryOp):
            f = build(node.operand)
            if isinstance(node.op, ast.Not):
                return lambda x: ~_truth(f(x))
            if isinstance(node.op, ast.USub):
                return lambda x: -_num(f(x))
            return lambda x: _num(f(x))
        if isinstance(node, ast.BinOp):
            left, right, ufunc = build(node.left), build(node.right), _BIN[type(node.op)]
            return lambda x: ufunc(_num(left(x)), _num(right(x)))
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            fns = [_operand(o, operands, i) for i, o in enumerate(operands)]
            cmps = [_CMP[type(op)] for op in node.ops]

            def compare(x: Sequence[_F]) -> Any:
                vals = [f(x) for f in fns]
                return functools.reduce(np.logical_and, (c(_num(vals[i]), _num(vals[i + 1]))
                                                         for i, c in enumerate(cmps)))  # fmt: skip

            return compare
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            args = [build(a) for a in node.args]
            if node.func.id == "abs":
                return lambda x: np.abs(_num(args[0](x)))
            red = np.minimum if node.func.id == "min" else np.maximum
            return lambda x: functools.reduce(red, (_num(a(x)) for a in args))
        if isinstance(node, ast.Name):
            i = index[node.id]
            return lambda x: x[i]
        if isinstance(node, ast.Constant):
            c = np.float64(float(node.value))  # type: ignore[arg-type]  # a number: checked by the model layer
            return lambda x: c
        raise AssertionError(f"unchecked expression node {ast.dump(node)}")  # the model layer checked it

    def _operand(o: ast.expr, operands: list[ast.expr], i: int) -> _Fn:
        if isinstance(o, ast.Constant) and isinstance(o.value, str):
            for j in (i - 1, i + 1):
                other = operands[j] if 0 <= j < len(operands) else None
                if isinstance(other, ast.Name) and states.get(other.id):
                    code = np.float64((states[other.id] or ()).index(o.value))
                    return lambda x: code
            raise AssertionError("a state name beside no state signal")  # checked by the model layer
        return build(o)

    top = build(tree.body)

    def evaluate(x: Sequence[_F]) -> _B:
        with np.errstate(all="ignore"):
            out: _B = np.broadcast_to(_truth(top(x)), x[0].shape).copy()
        return out

    return evaluate


class ExprGroup:
    """The rules of one expression: global rule index per member, the sids they read, their carried values."""

    def __init__(self, ids: Sequence[int], sids: npt.NDArray[np.int64], fn: Callable[[Sequence[_F]], _B],
                 nsig: int, live: _F) -> None:  # fmt: skip
        self.ids = np.asarray(ids, dtype=np.intp)
        self.sids = sids.reshape(len(self.ids), -1)
        self.k = self.sids.shape[1]
        self.fn = fn
        entries = list(range(self.sids.size))
        self.group = RuleGroup(entries, self.sids.ravel().tolist(), nsig)
        self.last = live[self.sids].astype(np.float64)  # rules × signals: the value carried forward

    def evaluate(self, cond: _B, seen: list[tuple[_I, _T]], sid: npt.NDArray[np.int32], ts: _T,
                 value: _F) -> Transitions:  # fmt: skip
        """The changes a batch causes; ``cond`` (every rule's condition) is updated, ``seen`` gets the newest times."""
        entry, row = self.group.pairs(sid)
        if not len(row):
            return Transitions.empty()
        e = self.group.ids[entry]
        mem, var = e // self.k, e % self.k
        t, v = ts[row], value[row]
        order = np.lexsort((var, t, mem))
        mem, var, t, v = mem[order], var[order], t[order], v[order]
        start = run_starts(mem)
        pos = np.arange(len(mem))
        gs = np.maximum.accumulate(np.where(start, pos, 0))
        cols = []
        for j in range(self.k):
            last = np.maximum.accumulate(np.where(var == j, pos, -1))
            cols.append(np.where(last >= gs, v[np.maximum(last, 0)], self.last[mem, j]))
        gend = run_ends(mem)
        for j in range(self.k):
            self.last[mem[gend], j] = cols[j][gend]
        # One evaluation per (rule, time), after all of that time's rows.
        at = np.ones(len(mem), dtype=bool)
        at[:-1] = (mem[1:] != mem[:-1]) | (t[1:] != t[:-1])
        sel = np.flatnonzero(at)
        x = [c[sel] for c in cols]
        known = np.logical_and.reduce([np.isfinite(c) for c in x])
        now = self.fn(x) & known
        ms, ts_sel, v_sel = mem[sel], t[sel], v[sel]
        g = self.ids[ms]
        sstart, send = run_starts(ms), run_ends(ms)
        prev = np.empty_like(now)
        prev[1:] = now[:-1]
        prev[sstart] = cond[g[sstart]]
        changed = np.flatnonzero(now != prev)
        cond[g[send]] = now[send]
        seen.append((g[send], ts_sel[send]))
        return Transitions(g[changed], ts_sel[changed], v_sel[changed], now[changed])
