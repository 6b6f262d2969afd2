"""Alarm rules compiled once into NumPy arrays over sids and evaluated on whole batches.

Each rule kind is a group of parallel arrays (the rule's sid, limit, deadband, …) plus the
per-rule state the evaluation carries from batch to batch (the condition, the previous
sample of a rate rule, when a state run began, when a signal last reported). A batch of
rows sorted by (sid, ts), as the engine publishes it, is paired with the rules of its
sids by two gathers; every check is then a handful of vectorised passes over the pairs,
whatever the number of rules: no Python per point. Python runs once per *transition*
(a condition raising or clearing), which is an event anyway.

Hysteresis (limit and rate rules): a sample above ``limit`` raises, one at or below
``limit - deadband`` clears (mirrored for lo and lolo), one in between keeps the previous
condition. Within a batch the condition is carried forward with ``maximum.accumulate``
over the positions of deciding samples.

Timers (:meth:`CompiledRules.tick`): a ``state`` rule raises ``for`` seconds after its
state began, a ``stale`` rule ``for`` seconds after its signal last arrived (arrival is
the evaluation clock's time, so replayed history is not stale).

Expression rules (``kind: expr``) are evaluated per distinct expression over all the twins
sharing it (:mod:`twinverse.ops.exprs`); on-delays and off-delays of any kind turn the raw
condition changes into the alarm's (:mod:`twinverse.ops.delays`), fed the newest sample time
of every rule a batch touched.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..core.clock import NEVER
from ..model import Plant
from ..model.alarmdoc import expression_signals
from ..model.expr import parse_expression
from ..model.rules import AlarmRule, RuleKind
from .delays import Delays
from .exprs import ExprGroup, compile_expression
from .pairs import RuleGroup, Transitions, group_start_pos, run_ends, run_starts, shift

__all__ = ["CompiledRules", "Transitions"]

_I = npt.NDArray[np.intp]
_F = npt.NDArray[np.float64]
_B = npt.NDArray[np.bool_]
_T = npt.NDArray[np.int64]


class CompiledRules:
    """Every enabled alarm rule of a plant, compiled; :meth:`evaluate` a batch, :meth:`tick` the timers."""

    def __init__(self, plant: Plant, rules: Sequence[tuple[str, str, AlarmRule]], *, now_us: int,
                 value: _F | None = None, ts: _T | None = None) -> None:  # fmt: skip
        idx = plant.signals
        nsig = len(idx)
        self.rules = list(rules)
        n = len(self.rules)
        parsed = {}
        for t, _, r in self.rules:
            if r.kind is RuleKind.EXPR and (plant.type_of(t).name, r.expr) not in parsed:
                ty = plant.type_of(t)
                parsed[ty.name, r.expr] = parse_expression(r.expr or "", expression_signals(ty))
        self.sid = np.array([idx.sid(t, r.signal if r.kind is not RuleKind.EXPR
                                     else parsed[plant.type_of(t).name, r.expr].names[0])
                             for t, _, r in self.rules], dtype=np.int64).reshape(n)  # fmt: skip
        kinds = [r.kind for _, _, r in self.rules]
        members: dict[str, list[int]] = {"limit": [], "rate": [], "state": [], "stale": []}
        by_expr: dict[tuple[str, str | None], list[int]] = {}
        for i, k in enumerate(kinds):
            if k is RuleKind.EXPR:
                by_expr.setdefault((plant.type_of(self.rules[i][0]).name, self.rules[i][2].expr), []).append(i)
            else:
                members["limit" if k.is_limit else k.value].append(i)
        self.groups = {g: RuleGroup(ids, [int(self.sid[i]) for i in ids], nsig) for g, ids in members.items()}
        sign = np.array([1.0 if k.is_high else -1.0 for k in kinds]).reshape(n)
        limit = np.array([r.limit if r.limit is not None else np.nan for _, _, r in self.rules]).reshape(n)
        # Low rules become high rules on -value: one comparison for all four kinds.
        self.limit = sign * limit
        self.deadband = np.array([r.deadband for _, _, r in self.rules]).reshape(n)
        self.sign = sign
        self.duration_us = np.array([int((r.seconds or 0) * 1e6) for _, _, r in self.rules], dtype=np.int64).reshape(n)
        self.code = np.full(n, -1.0)
        for i, (t, _, r) in enumerate(self.rules):
            if r.kind is RuleKind.STATE:
                states = plant.signal(t, r.signal).states or ()
                self.code[i] = float(states.index(r.state or ""))
        # Carried state.
        self.cond = np.zeros(n, dtype=bool)
        live_v = value if value is not None else np.full(nsig, np.nan)
        live_t = ts if ts is not None else np.full(nsig, NEVER, dtype=np.int64)
        self.prev_v = live_v[self.sid].astype(np.float64) if n else np.empty(0)
        self.prev_t = live_t[self.sid].astype(np.int64) if n else np.empty(0, np.int64)
        in_state = self.prev_v == self.code
        self.since = np.where(in_state & (self.prev_t != NEVER), self.prev_t, -1).astype(np.int64)
        self.seen = np.full(n, now_us, dtype=np.int64)  # stale rules count from the start
        self.exprs: list[ExprGroup] = []
        for key, ids in by_expr.items():
            pe = parsed[key]
            fn = compile_expression(pe.tree, pe.names, expression_signals(plant.types[key[0]]))
            sids = np.array([[idx.sid(self.rules[i][0], name) for name in pe.names] for i in ids], dtype=np.int64)
            self.exprs.append(ExprGroup(ids, sids, fn, nsig, live_v))
        self.delays = Delays(np.array([r.on_delay for _, _, r in self.rules]).reshape(n),
                             np.array([r.off_delay for _, _, r in self.rules]).reshape(n))  # fmt: skip
        self._seen: list[tuple[_I, _T]] = []  # (rules, newest sample time) of the batch being evaluated

    def set_condition(self, rule: int, active: bool) -> None:
        """Set a rule's condition (raw and delayed) from outside: a restart, a recompiled rule."""
        self.cond[rule] = active
        self.delays.set(rule, active)

    def __len__(self) -> int:
        return len(self.rules)

    # -- evaluation -------------------------------------------------------------------------
    def evaluate(self, sid: npt.NDArray[np.int32], ts: _T, value: _F, now_us: int) -> Transitions:
        """The transitions a batch causes (rows sorted by (sid, ts)); updates the carried state."""
        if not len(self.rules) or not len(sid):
            return Transitions.empty()
        self._seen = []
        exprs = [x.evaluate(self.cond, self._seen, sid, ts, value) for x in self.exprs]
        raw = Transitions.concat([self._limits(sid, ts, value), self._rates(sid, ts, value),
                                  self._states(sid, ts, value), self._stale(sid, now_us), *exprs])  # fmt: skip
        if not len(self.delays):
            return raw
        seen_rule = np.concatenate([r for r, _ in self._seen]) if self._seen else np.empty(0, np.intp)
        seen_ts = np.concatenate([t for _, t in self._seen]) if self._seen else np.empty(0, np.int64)
        return self.delays.apply(raw, seen_rule.astype(np.intp), seen_ts.astype(np.int64))

    def _hysteresis(self, member: _I, x: _F, ts: _T, value: _F) -> Transitions:
        g = member
        lim, db = self.limit[g], self.deadband[g]
        ev = np.where(x > lim, 1, np.where(x <= lim - db, 0, -1)).astype(np.int8)
        start = run_starts(g)
        gs = group_start_pos(start)
        pos = np.arange(len(g))
        last = np.maximum.accumulate(np.where(ev >= 0, pos, -1))
        prev = self.cond[g]
        state = np.where(last >= gs, ev[np.maximum(last, 0)] == 1, prev)
        before = shift(state, start, prev[start])
        changed = np.flatnonzero(state != before)
        end = run_ends(g)
        self.cond[g[end]] = state[end]
        self._seen.append((g[end], ts[end]))
        return Transitions(g[changed], ts[changed], value[changed], state[changed])

    def _limits(self, sid: npt.NDArray[np.int32], ts: _T, value: _F) -> Transitions:
        grp = self.groups["limit"]
        if not len(grp):
            return Transitions.empty()
        member, row = grp.pairs(sid)
        if not len(row):
            return Transitions.empty()
        g = grp.ids[member]
        v = value[row]
        return self._hysteresis(g, self.sign[g] * v, ts[row], v)

    def _rates(self, sid: npt.NDArray[np.int32], ts: _T, value: _F) -> Transitions:
        grp = self.groups["rate"]
        if not len(grp):
            return Transitions.empty()
        member, row = grp.pairs(sid)
        if not len(row):
            return Transitions.empty()
        g = grp.ids[member]
        v, t = value[row], ts[row]
        start = run_starts(g)
        pv = shift(v, start, self.prev_v[g[start]])
        pt = shift(t, start, self.prev_t[g[start]])
        dt = (t - pt).astype(np.float64) / 1e6
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where((pt != NEVER) & (dt > 0), np.abs(v - pv) / dt, np.nan)
        end = run_ends(g)
        self.prev_v[g[end]], self.prev_t[g[end]] = v[end], t[end]
        return self._hysteresis(g, rate, t, v)

    def _states(self, sid: npt.NDArray[np.int32], ts: _T, value: _F) -> Transitions:
        grp = self.groups["state"]
        if not len(grp):
            return Transitions.empty()
        member, row = grp.pairs(sid)
        if not len(row):
            return Transitions.empty()
        g = grp.ids[member]
        v, t = value[row], ts[row]
        dur = self.duration_us[g]
        start = run_starts(g)
        gs = group_start_pos(start)
        ins = v == self.code[g]
        prev_in = shift(ins, start, self.since[g[start]] >= 0)
        entry = ins & ~prev_in
        pos = np.arange(len(g))
        last = np.maximum.accumulate(np.where(entry, pos, -1))
        run_start = np.where(last >= gs, t[np.maximum(last, 0)], self.since[g])
        cond = ins & (t - run_start >= dur)
        prev_cond = shift(cond, start, self.cond[g[start]])
        # A run that lasted long enough with no sample after its due time: raise at the due time, clear on leaving.
        prior_start = shift(run_start, start, self.since[g[start]])
        missed = np.flatnonzero(~ins & prev_in & ~prev_cond & (t - prior_start >= dur))
        changed = np.flatnonzero(cond != prev_cond)
        raised = cond[changed]
        at = np.where(raised, run_start[changed] + dur[changed], t[changed])
        end = run_ends(g)
        self.cond[g[end]] = cond[end]
        self.since[g[end]] = np.where(ins[end], run_start[end], -1)
        self._seen.append((g[end], t[end]))
        parts = [Transitions(g[changed], at, v[changed], raised)]
        if len(missed):
            up = Transitions(g[missed], prior_start[missed] + dur[missed], np.full(len(missed), self.code[g[missed]]),
                             np.ones(len(missed), bool))  # fmt: skip
            down = Transitions(g[missed], t[missed], v[missed], np.zeros(len(missed), bool))
            parts = [up, down, *parts]
        return _in_time_order(Transitions.concat(parts))

    def _stale(self, sid: npt.NDArray[np.int32], now_us: int) -> Transitions:
        grp = self.groups["stale"]
        if not len(grp):
            return Transitions.empty()
        member, _row = grp.pairs(sid)
        if not len(member):
            return Transitions.empty()
        hit = np.unique(grp.ids[member])
        self.seen[hit] = now_us
        self._seen.append((hit, np.full(len(hit), now_us, np.int64)))
        cleared = hit[self.cond[hit]]
        self.cond[cleared] = False
        return Transitions(cleared, np.full(len(cleared), now_us, np.int64), np.full(len(cleared), np.nan),
                           np.zeros(len(cleared), bool))  # fmt: skip

    # -- timers -----------------------------------------------------------------------------
    def tick(self, now_us: int) -> Transitions:
        """Raise the state rules whose state has lasted long enough and the stale rules now due; run the delays."""
        parts = []
        st = self.groups["state"].ids
        if len(st):
            due = st[(self.since[st] >= 0) & ~self.cond[st] & (now_us - self.since[st] >= self.duration_us[st])]
            self.cond[due] = True
            parts.append(Transitions(due, self.since[due] + self.duration_us[due], self.code[due],
                                     np.ones(len(due), bool)))  # fmt: skip
        sl = self.groups["stale"].ids
        if len(sl):
            due = sl[~self.cond[sl] & (now_us - self.seen[sl] >= self.duration_us[sl])]
            self.cond[due] = True
            parts.append(Transitions(due, self.seen[due] + self.duration_us[due], np.full(len(due), np.nan),
                                     np.ones(len(due), bool)))  # fmt: skip
        raw = Transitions.concat(parts)
        if not len(self.delays):
            return raw
        ids = self.delays.ids
        return self.delays.apply(raw, ids, np.full(len(ids), now_us, dtype=np.int64))


def _in_time_order(tr: Transitions) -> Transitions:
    if len(tr) < 2:
        return tr
    order = np.lexsort((tr.ts, tr.rule))
    return Transitions(tr.rule[order], tr.ts[order], tr.value[order], tr.active[order])
