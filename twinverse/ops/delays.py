"""On-delay and off-delay (ISA-18.2): an alarm raises only after its condition held, clears only after it stayed gone.

The compiled checks (:mod:`twinverse.ops.compiled`) find the *raw* condition changes of every
rule; :class:`Delays` turns them into the alarm's changes. Between two raw changes of a rule
the raw condition is constant: a *run*. A run that is active and lasts ``on_delay`` seconds
raises the alarm at *run start + on_delay*; a run that is inactive and lasts ``off_delay``
seconds clears it at *run start + off_delay*; shorter runs change nothing. A run still open
at the end of a batch is confirmed by a later sample of the rule's signals (the condition is
carried forward from the last sample, so a sample at or after the due time proves it held)
or by the timer (:meth:`Delays.tick`, the clock's time), whichever comes first.

All of it is vectorised over the transitions of one evaluation: the open run carried from
the previous batch is put in front of each rule's new changes, each run's length is the gap
to the next one, and the alarm's changes are the confirmed runs whose value differs from the
confirmed run before them. Rules without delays pass straight through.

>>> import numpy as np
>>> from twinverse.ops.compiled import Transitions
>>> d = Delays(np.array([10.0]), np.array([0.0]))
>>> S = 1_000_000
>>> raw = Transitions(np.array([0, 0, 0]), np.array([0, 5 * S, 20 * S]), np.array([1.0, 0.0, 1.0]),
...                   np.array([True, False, True]))
>>> out = d.apply(raw, np.array([0]), np.array([40 * S]))   # the last sample came at 40 s
>>> [(int(t // S), bool(a)) for t, a in zip(out.ts, out.active)]   # 0-5 s is too short; 20 s held to 30 s
[(30, True)]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..core.clock import NEVER
from .pairs import Transitions, run_ends, run_starts

__all__ = ["Delays"]

_I = npt.NDArray[np.intp]
_F = npt.NDArray[np.float64]
_B = npt.NDArray[np.bool_]
_T = npt.NDArray[np.int64]


class Delays:
    """The on/off delays of every rule (seconds; 0 for none) and the open run each delayed rule carries."""

    def __init__(self, on_s: _F, off_s: _F) -> None:
        self.on = np.round(np.asarray(on_s, dtype=np.float64) * 1e6).astype(np.int64)
        self.off = np.round(np.asarray(off_s, dtype=np.float64) * 1e6).astype(np.int64)
        n = len(self.on)
        self.delayed = (self.on > 0) | (self.off > 0)
        self.ids = np.flatnonzero(self.delayed).astype(np.intp)
        self.raw = np.zeros(n, dtype=bool)  # the raw condition of the open run
        self.raw_t = np.full(n, NEVER, dtype=np.int64)  # when it began (NEVER: unknown, and equal to out)
        self.raw_v = np.full(n, np.nan)  # the value that began it
        self.out = np.zeros(n, dtype=bool)  # the alarm's (delayed) condition

    def __len__(self) -> int:
        return len(self.ids)

    def set(self, rule: int, active: bool) -> None:
        """Set a rule's raw and delayed condition (a restart, a recompiled rule): nothing pending."""
        self.raw[rule] = self.out[rule] = active
        self.raw_t[rule] = NEVER

    def apply(self, tr: Transitions, seen_rule: _I, seen_ts: _T) -> Transitions:
        """The alarm changes of raw changes ``tr``; ``seen_ts``: the newest sample time of each ``seen_rule``."""
        if not len(self.ids):
            return tr
        d = self.delayed[tr.rule]
        if not d.any():
            return Transitions.concat([tr, self._confirm(seen_rule, seen_ts)])
        keep = np.flatnonzero(~d)
        passed = Transitions(tr.rule[keep], tr.ts[keep], tr.value[keep], tr.active[keep])
        sel = np.flatnonzero(d)
        sel = sel[np.lexsort((tr.ts[sel], tr.rule[sel]))]
        runs = self._runs(tr.rule[sel], tr.ts[sel], tr.value[sel], tr.active[sel])
        return Transitions.concat([passed, runs, self._confirm(seen_rule, seen_ts)])

    def _runs(self, rule: _I, ts: _T, value: _F, active: _B) -> Transitions:
        first = np.flatnonzero(run_starts(rule))
        ur = rule[first]
        # The open run carried from before goes in front of each rule's changes.
        rr = np.insert(rule, first, ur)
        t0 = np.insert(ts, first, self.raw_t[ur])
        val = np.insert(active, first, self.raw[ur])
        v = np.insert(value, first, self.raw_v[ur])
        last = run_ends(rr)
        nxt = np.empty_like(t0)
        nxt[:-1] = t0[1:]
        nxt[-1] = t0[-1]
        delay = np.where(val, self.on[rr], self.off[rr])
        known = t0 != NEVER
        held = nxt - np.where(known, t0, nxt)
        confirmed = ~last & (~known | (held >= delay))
        ci = np.flatnonzero(confirmed)
        if len(ci):
            cr, cv = rr[ci], val[ci]
            cstart, cend = run_starts(cr), run_ends(cr)
            prev = np.empty_like(cv)
            prev[1:] = cv[:-1]
            prev[cstart] = self.out[cr[cstart]]
            chg = ci[cv != prev]
            self.out[cr[cend]] = cv[cend]
            out = Transitions(rr[chg], t0[chg] + delay[chg], v[chg], val[chg])
        else:
            out = Transitions.empty()
        li = np.flatnonzero(last)
        lr = rr[li]
        self.raw[lr], self.raw_t[lr], self.raw_v[lr] = val[li], t0[li], v[li]
        return out

    def _confirm(self, rule: _I, at: _T) -> Transitions:
        """Confirm the open runs of ``rule`` (unique) that have lasted their delay by time ``at``."""
        if not len(rule):
            return Transitions.empty()
        keep = self.delayed[rule] & (self.raw[rule] != self.out[rule])
        r, a = rule[keep], at[keep]
        delay = np.where(self.raw[r], self.on[r], self.off[r])
        due = (delay == 0) | (a - self.raw_t[r] >= delay)
        r, delay = r[due], delay[due]
        self.out[r] = self.raw[r]
        return Transitions(r, self.raw_t[r] + delay, self.raw_v[r], self.raw[r].copy())

    def tick(self, now_us: int) -> Transitions:
        """The open runs that have lasted their delay by ``now_us`` (the timer)."""
        return self._confirm(self.ids, np.full(len(self.ids), now_us, dtype=np.int64))
