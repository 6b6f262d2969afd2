"""The alarm service: rules evaluated on every stored batch, the ISA-18.2 lifecycle, operator actions.

:class:`AlarmService` subscribes to the engine (:meth:`Engine.subscribe
<twinverse.live.Engine.subscribe>`: it runs on the writer thread after each stored batch,
in commit order) and hands the batch's columns to the compiled rules
(:mod:`twinverse.ops.compiled`). Each condition change moves its alarm through the
lifecycle (:mod:`twinverse.ops.lifecycle`) and becomes an event in the journal
(:mod:`twinverse.ops.journal`) and for the websocket sessions watching (:meth:`watch`).
A timer thread (:meth:`start`) raises duration and staleness alarms and ends timed shelves.

Suppression by design is read from the twin's ``state`` signal after each batch: a rule
with ``suppress_in: [off, setup]`` is suppressed while its twin is in one of those states.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..core.batch import TS_TYPE, ts_to_us
from ..core.clock import iso
from ..core.clock import now_us as _now_us
from ..errors import InputError, NotFoundError
from ..live.engine import Engine
from ..model import Plant
from ..model.rules import AlarmPriority, AlarmRule
from .compiled import CompiledRules, Transitions
from .journal import AlarmEvent, Journal
from .lifecycle import AlarmCondition, AlarmState, Event

__all__ = ["DEFAULT_MAX_SHELVE_S", "Alarm", "AlarmService", "AlarmWatch"]

log = logging.getLogger("twinverse.ops")

#: Longest an operator may shelve an alarm (ISA-18.2 asks for a maximum): 8 hours, one shift.
DEFAULT_MAX_SHELVE_S = 8 * 3600.0


@dataclass
class Alarm:
    """One alarm: a rule on one twin, its lifecycle and what it last saw."""

    id: str  # "<twin>:<rule>"
    twin: str
    name: str
    rule: AlarmRule
    condition: AlarmCondition
    value: float | None = None
    changed_us: int | None = None  # last transition of any kind
    raised_us: int | None = None  # the condition's last raise
    shelved_until_us: int | None = None

    @property
    def state(self) -> AlarmState:
        return self.condition.state

    def to_dict(self) -> dict[str, Any]:
        v = self.value
        return {
            "id": self.id, "twin": self.twin, "rule": self.name, "kind": self.rule.kind.value,
            "signal": self.rule.signal, "expr": self.rule.expr, "priority": self.rule.priority.value,
            "state": self.state.value,
            "active": self.condition.active, "acknowledged": self.condition.acked,
            "value": None if v is None or v != v else v, "limit": self.rule.limit,
            "message": self.rule.message,
            "changed": None if self.changed_us is None else iso(self.changed_us),
            "raised": None if self.raised_us is None else iso(self.raised_us),
            "shelved_until": None if self.shelved_until_us is None else iso(self.shelved_until_us),
        }  # fmt: skip


class AlarmWatch:
    """One asynchronous watcher's view of the event stream (a websocket session)."""

    def __init__(self, service: AlarmService, loop: asyncio.AbstractEventLoop) -> None:
        self.service = service
        self.loop = loop
        self.event = asyncio.Event()
        self.last = service.journal.last_seq

    def changed(self) -> list[AlarmEvent]:
        """Events since the last call (at most the service's recent window)."""
        with self.service.recent_lock:  # appended on the writer thread
            recent = list(self.service.recent)
        out = [e for e in recent if e.seq > self.last]
        if out:
            self.last = out[-1].seq
        return out

    async def wait(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            return False
        self.event.clear()
        return True

    def close(self) -> None:
        self.service._unwatch(self)


class AlarmService:
    """The alarms of one plant; thread-safe. ``clock`` gives µs since the epoch (tests pass their own)."""

    def __init__(
        self,
        plant: Plant,
        engine: Engine | None = None,
        *,
        journal: Journal | None = None,
        clock: Callable[[], int] = _now_us,
        max_shelve_s: float = DEFAULT_MAX_SHELVE_S,
        tick_s: float = 1.0,
        rules: Sequence[tuple[str, str, AlarmRule]] | None = None,
    ) -> None:
        self.plant = plant
        self.clock = clock
        self.max_shelve_s = max_shelve_s
        self.tick_s = tick_s
        self.journal = journal if journal is not None else Journal()
        rules = list(plant.alarm_rules() if rules is None else rules)
        value = engine.value if engine is not None else None
        ts = engine.ts if engine is not None else None
        self.compiled = CompiledRules(plant, rules, now_us=clock(), value=value, ts=ts)
        self.alarms = [Alarm(f"{t}:{n}", t, n, r, AlarmCondition()) for t, n, r in rules]
        self._by_id = {a.id: i for i, a in enumerate(self.alarms)}
        self.recent: deque[AlarmEvent] = deque(maxlen=10_000)
        self.recent_lock = threading.Lock()
        self._listeners: list[Callable[[Sequence[AlarmEvent]], None]] = []
        self._watches: list[AlarmWatch] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._suppression(plant, rules)
        self._restore()
        self.engine = engine
        self._unsubscribe: Callable[[], None] | None = None
        if engine is not None:
            self._unsubscribe = engine.subscribe(self.on_batch)
            self._apply_suppression()

    def reload(self, rules: Sequence[tuple[str, str, AlarmRule]]) -> list[AlarmEvent]:
        """Recompile with ``rules`` now (rules changed over the API); returns the events it caused.

        An alarm whose id stays keeps its lifecycle state (acknowledged, shelved, out of
        service…) and its condition, which the new rule re-decides from the next sample; a
        new alarm starts normal; an alarm whose rule is gone leaves the list (its events stay).
        """
        rules = list(rules)
        with self._lock:
            now = self.clock()
            old = {a.id: a for a in self.alarms}
            value = self.engine.value if self.engine is not None else None
            ts = self.engine.ts if self.engine is not None else None
            compiled = CompiledRules(self.plant, rules, now_us=now, value=value, ts=ts)
            alarms = []
            for i, (t, n, r) in enumerate(rules):
                a = old.get(f"{t}:{n}")
                if a is None:
                    a = Alarm(f"{t}:{n}", t, n, r, AlarmCondition())
                else:
                    a.rule = r
                    compiled.set_condition(i, a.condition.active)
                alarms.append(a)
            self.compiled, self.alarms = compiled, alarms
            self._by_id = {a.id: i for i, a in enumerate(alarms)}
            self._suppression(self.plant, rules)
            sup = set(self._sup_rule.tolist())
            for j, i in enumerate(self._sup_rule.tolist()):
                self._sup_now[j] = alarms[int(i)].condition.suppressed
            # A rule that lost its suppress_in: its alarm is suppressed no longer.
            events = [self._step(a, Event.UNSUPPRESS, now) for i, a in enumerate(alarms)
                      if a.condition.suppressed and i not in sup]  # fmt: skip
            return self._publish(events + self._apply_suppression(now))

    def _suppression(self, plant: Plant, rules: Sequence[tuple[str, str, AlarmRule]]) -> None:
        """Per rule: the sid of its twin's state signal and a bit mask of the states that suppress it."""
        sup = [(i, t, r) for i, (t, _, r) in enumerate(rules) if r.suppress_in]
        self._sup_rule = np.array([i for i, _, _ in sup], dtype=np.intp)
        self._sup_sid = np.array([plant.signals.sid(t, "state") for _, t, _ in sup], dtype=np.intp)
        masks = []
        for _, t, r in sup:
            states = plant.state_names(t) or ()
            masks.append(sum(1 << states.index(s) for s in r.suppress_in))
        self._sup_mask = np.array(masks, dtype=np.uint64)
        self._sup_now = np.zeros(len(sup), dtype=bool)

    def _restore(self) -> None:
        """Resume every alarm from its last stored event: a restart keeps acks, shelves and out of service.

        The condition of an annunciated alarm is taken from its state (so an active alarm is
        not raised a second time); a hidden limit alarm takes it from its signal's newest
        stored value, other hidden ones resume with it false and are re-evaluated from new data.
        """
        cp = self.compiled
        sup_index = {int(r): j for j, r in enumerate(self._sup_rule.tolist())}
        for e in self.journal.latest():
            i = self._by_id.get(e.alarm)
            if i is None:  # a rule since removed from the plant file
                continue
            a, c, st = self.alarms[i], self.alarms[i].condition, AlarmState(e.state)
            a.changed_us, a.value = e.ts, e.value
            c.active = st in (AlarmState.UNACKNOWLEDGED, AlarmState.ACKNOWLEDGED)
            c.acked = st not in (AlarmState.UNACKNOWLEDGED, AlarmState.RTN_UNACKNOWLEDGED)
            c.out_of_service = st is AlarmState.OUT_OF_SERVICE
            c.shelved = st is AlarmState.SHELVED
            c.suppressed = st is AlarmState.SUPPRESSED
            if c.shelved:
                shelves = [x for x in self.journal.query(alarm=a.id, limit=1_000_000) if x.event == Event.SHELVE.value]
                a.shelved_until_us = shelves[-1].until if shelves else None
            if c.suppressed and i in sup_index:
                self._sup_now[sup_index[i]] = True
            if c.hidden and a.rule.kind.is_limit:
                c.active = bool(cp.sign[i] * cp.prev_v[i] > cp.limit[i])
            cp.set_condition(i, c.active)

    # -- evaluation -------------------------------------------------------------------------
    def on_batch(self, batch: pa.RecordBatch) -> None:
        """Evaluate a stored batch (rows sorted by (sid, ts), as the engine publishes them).

        The batch is already durable: a failure here is logged and never fails the ingest.
        """
        if not len(self.alarms) or batch.num_rows == 0:
            return
        try:
            self._evaluate(batch)
        except Exception:
            log.exception("alarm evaluation failed on a batch of %d rows", batch.num_rows)

    def _evaluate(self, batch: pa.RecordBatch) -> None:
        sid = np.asarray(batch.column("sid").to_numpy(), dtype=np.int32)
        ts = ts_to_us(batch.column("ts"))
        value = np.asarray(batch.column("value").to_numpy(), dtype=np.float64)
        with self._lock:
            now = self.clock()
            events = self._apply_suppression(now)
            tr = self.compiled.evaluate(sid, ts, value, now)
            events += self._condition_events(tr)
            self._publish(events)

    def _apply_suppression(self, now: int | None = None) -> list[AlarmEvent]:
        if not len(self._sup_rule) or self.engine is None:
            return []
        code = self.engine.value[self._sup_sid]
        known = np.isfinite(code)
        bits = np.where(known, code, 0).astype(np.uint64)
        now_sup = known & (((self._sup_mask >> bits) & np.uint64(1)) == 1)
        changed = np.flatnonzero(now_sup != self._sup_now)
        self._sup_now = now_sup
        t = self.clock() if now is None else now
        out = []
        for j in changed.tolist():
            a = self.alarms[int(self._sup_rule[j])]
            out.append(self._step(a, Event.SUPPRESS if now_sup[j] else Event.UNSUPPRESS, t))
        return out

    def _condition_events(self, tr: Transitions) -> list[AlarmEvent]:
        out = []
        order = np.argsort(tr.ts, kind="stable")
        for i, t, v, up in zip(tr.rule[order].tolist(), tr.ts[order].tolist(), tr.value[order].tolist(),
                               tr.active[order].tolist(), strict=True):  # fmt: skip
            a = self.alarms[i]
            a.value = v
            if up:
                a.raised_us = t
            if a.shelved_until_us is not None and not up and a.condition.one_shot:
                a.shelved_until_us = None
            out.append(self._step(a, Event.RAISE if up else Event.CLEAR, t, value=v))
        return out

    def _step(self, a: Alarm, event: Event, ts: int, *, value: float | None = None, user: str | None = None,
              comment: str | None = None, one_shot: bool = False, until: int | None = None) -> AlarmEvent:  # fmt: skip
        before = a.state
        a.condition.apply(event, one_shot=one_shot)
        a.changed_us = ts
        return AlarmEvent(ts, a.id, a.twin, a.name, event.value, a.state.value, before.value,
                          a.rule.priority.value, value, user, comment, until)  # fmt: skip

    def _publish(self, events: list[AlarmEvent]) -> list[AlarmEvent]:
        if not events:
            return []
        stored = self.journal.append(events)
        with self.recent_lock:
            self.recent.extend(stored)
        for listener in list(self._listeners):
            try:
                listener(stored)
            except Exception:  # a notifier's failure is its own; the alarm is stored
                log.exception("alarm listener %r failed", listener)
        for w in list(self._watches):
            try:
                w.loop.call_soon_threadsafe(w.event.set)
            except RuntimeError:  # the watcher's loop has closed
                self._unwatch(w)
        return stored

    def tick(self, now: int | None = None) -> int:
        """Run the timers at ``now`` (µs; the clock's time by default); returns the events made."""
        with self._lock:
            t = self.clock() if now is None else now
            events = self._condition_events(self.compiled.tick(t))
            for a in self.alarms:
                if a.shelved_until_us is not None and a.shelved_until_us <= t:
                    a.shelved_until_us = None
                    events.append(self._step(a, Event.SHELVE_EXPIRED, t))
            self._publish(events)
            return len(events)

    # -- operator actions -------------------------------------------------------------------
    def get(self, alarm_id: str) -> Alarm:
        try:
            return self.alarms[self._by_id[alarm_id]]
        except KeyError:
            raise NotFoundError(f"no alarm {alarm_id!r} (ids are '<twin>:<rule>')") from None

    def act(self, alarm_id: str, event: Event, *, user: str | None = None, comment: str | None = None,
            seconds: float | None = None, one_shot: bool = False) -> AlarmEvent:  # fmt: skip
        """An operator action (ack, shelve, unshelve, comment, out_of_service, in_service); returns its event."""
        allowed = (Event.ACK, Event.SHELVE, Event.UNSHELVE, Event.COMMENT, Event.OUT_OF_SERVICE, Event.IN_SERVICE)
        if event not in allowed:
            raise InputError(f"{event.value!r} is not an operator action")
        with self._lock:
            a = self.get(alarm_id)
            now = self.clock()
            if event is Event.SHELVE and (seconds is None or not 0 < seconds <= self.max_shelve_s):
                raise InputError(f"shelve for more than 0 and at most {self.max_shelve_s:g} seconds "
                                 f"(the maximum shelve time), got {seconds}")  # fmt: skip
            if event is Event.COMMENT:
                if not comment:
                    raise InputError("a comment needs text")
                ev = AlarmEvent(now, a.id, a.twin, a.name, event.value, a.state.value, a.state.value,
                                a.rule.priority.value, None, user, comment)  # fmt: skip
            else:
                until = now + int(seconds * 1e6) if event is Event.SHELVE and seconds is not None else None
                ev = self._step(a, event, now, user=user, comment=comment, one_shot=one_shot, until=until)
            if event is Event.SHELVE:
                a.shelved_until_us = ev.until
            elif event in (Event.UNSHELVE, Event.OUT_OF_SERVICE):
                a.shelved_until_us = None
            return self._publish([ev])[0]

    # -- reading ----------------------------------------------------------------------------
    def list(
        self,
        *,
        states: Iterable[AlarmState] | None = None,
        priorities: Iterable[AlarmPriority] | None = None,
        within: str | None = None,
        start_us: int | None = None,
        end_us: int | None = None,
    ) -> list[Alarm]:
        """Alarms by state, priority, twin subtree and time of their last change ([start, end)).

        Without ``states`` every alarm not in ``normal`` is listed. Sorted by priority (most
        urgent first), then newest change first.
        """
        wanted = set(states) if states is not None else set(AlarmState) - {AlarmState.NORMAL}
        prios = set(priorities) if priorities is not None else None
        twins = set(self.plant.subtree(within)) if within is not None else None
        with self._lock:
            out = [
                a for a in self.alarms
                if a.state in wanted and (prios is None or a.rule.priority in prios)
                and (twins is None or a.twin in twins)
                and (start_us is None or (a.changed_us is not None and a.changed_us >= start_us))
                and (end_us is None or (a.changed_us is not None and a.changed_us < end_us))
            ]  # fmt: skip
        return sorted(out, key=lambda a: (-a.rule.priority.rank, -(a.changed_us or 0), a.id))

    def table(self) -> pa.Table:
        """Every alarm now, as the query service's ``alarms`` table (docs/query.md)."""
        with self._lock:
            rows = [(a.id, a.twin, a.name, a.rule.kind.value, a.rule.signal, a.rule.priority.value, a.state.value,
                     a.condition.active, a.condition.acked, a.value, a.rule.limit, a.rule.message, a.changed_us,
                     a.raised_us, a.shelved_until_us) for a in self.alarms]  # fmt: skip
        cols = list(zip(*rows, strict=True)) if rows else [()] * 15
        num = [None if v is None or v != v else float(v) for v in cols[9]]
        limit = [None if v is None else float(v) for v in cols[10]]
        return pa.table({
            "id": pa.array(cols[0], pa.string()), "twin": pa.array(cols[1], pa.string()),
            "rule": pa.array(cols[2], pa.string()), "kind": pa.array(cols[3], pa.string()),
            "signal": pa.array(cols[4], pa.string()), "priority": pa.array(cols[5], pa.string()),
            "state": pa.array(cols[6], pa.string()), "active": pa.array(cols[7], pa.bool_()),
            "acknowledged": pa.array(cols[8], pa.bool_()), "value": pa.array(num, pa.float64()),
            "limit_value": pa.array(limit, pa.float64()), "message": pa.array(cols[11], pa.string()),
            "changed": pa.array(cols[12], pa.int64()).cast(TS_TYPE),
            "raised": pa.array(cols[13], pa.int64()).cast(TS_TYPE),
            "shelved_until": pa.array(cols[14], pa.int64()).cast(TS_TYPE),
        })  # fmt: skip

    def counts(self) -> dict[str, int]:
        """Alarms per state (every state present)."""
        with self._lock:
            out = dict.fromkeys((s.value for s in AlarmState), 0)
            for a in self.alarms:
                out[a.state.value] += 1
        return out

    # -- watchers and the timer thread ------------------------------------------------------
    def on_events(self, listener: Callable[[Sequence[AlarmEvent]], None]) -> Callable[[], None]:
        """Call ``listener(events)`` with every group of stored events (under the service's lock: be quick)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def watch(self) -> AlarmWatch:
        """Follow new events from the running event loop (wakes on every stored event)."""
        w = AlarmWatch(self, asyncio.get_running_loop())
        with self._lock:
            self._watches.append(w)
        return w

    def _unwatch(self, w: AlarmWatch) -> None:
        with self._lock:
            if w in self._watches:
                self._watches.remove(w)

    def start(self) -> None:
        """Start the timer thread (durations, staleness, shelve expiry), every ``tick_s`` seconds."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="twinverse-alarms", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.tick()
            except Exception:  # the timer must outlive one bad tick
                log.exception("alarm timer tick failed")

    def close(self) -> None:
        """Stop the timer thread, leave the engine, close the journal."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.journal.close()
