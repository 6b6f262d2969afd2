"""Start a simulation from the live twin: machine states, buffer levels, repairs under way.

Stations and buffers that name a twin (``twin:``, or built from a plant line) read it:

* a station whose ``state`` signal says ``down`` starts under repair; the repair has
  already lasted since the state last changed (from the store's history when available,
  else since the last report), and the rest is drawn from the repair-time distribution
  conditioned on exceeding that;
* ``running``/``busy`` or ``setup``: the station starts with a part on every server;
* a buffer starts with its twin's ``level`` signal (rounded, capped at the capacity).

Calendars are anchored at the UNIX epoch (00:00 UTC for daily periods): time 0 of the run
falls at ``now`` within the period. Signals never reported leave the element empty and
idle, and every such choice is listed in :attr:`LiveSnapshot.notes`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from ..core.states import MachineState
from .energy import HOURS_PER_UNIT
from .network import INF, Network
from .runconfig import InitialState

__all__ = ["LiveSnapshot", "snapshot_from_live"]


@dataclass(frozen=True)
class LiveSnapshot:
    """The initial state read from the live twin, and how it was read."""

    taken_at: datetime
    initial: InitialState
    start_offset: float
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "taken_at": self.taken_at.isoformat(),
            "levels": dict(self.initial.levels),
            "down": dict(self.initial.down),
            "busy": dict(self.initial.busy),
            "start_offset": self.start_offset,
            "notes": list(self.notes),
        }


def _since(store: Any, sid: int, value: float, ts_us: int, now: datetime) -> int:
    """Microsecond timestamp at which ``sid`` last took ``value`` (falls back to ``ts_us``)."""
    if store is None:
        return ts_us
    try:
        from ..store.base import HistoryQuery

        rows = store.history(HistoryQuery(sids=(sid,), start=now - timedelta(days=1), end=now))
        vals = np.asarray(rows.column("value").to_numpy(zero_copy_only=False), dtype=np.float64)
        tss = rows.column("ts").cast("int64").to_numpy(zero_copy_only=False)
    except Exception:  # the snapshot must not fail because history is unavailable
        return ts_us
    if len(vals) == 0 or vals[-1] != value:
        return ts_us
    diff = np.flatnonzero(vals != value)
    first = diff[-1] + 1 if len(diff) else 0
    return int(tss[first])


def snapshot_from_live(net: Network, plant: Any, engine: Any, *, store: Any = None,
                       now: datetime | None = None) -> LiveSnapshot:
    """Read the initial state of ``net`` from the live ``engine`` of ``plant``."""
    now = now or datetime.now(UTC)
    now_us = int(now.timestamp() * 1e6)
    per_unit_s = HOURS_PER_UNIT[net.time_unit] * 3600
    notes: list[str] = []
    levels: dict[str, int] = {}
    down: dict[str, float] = {}
    busy: dict[str, int] = {}
    sigs = plant.signals
    for st in net.stations:
        if st.twin is None:
            continue
        sid = sigs.get(st.twin, "state")
        states = plant.state_names(st.twin)
        if sid is None or states is None:
            notes.append(f"{st.id}: twin {st.twin} reports no state; starts idle")
            continue
        v = float(engine.value[sid])
        if math.isnan(v):
            notes.append(f"{st.id}: no state reported yet; starts idle")
            continue
        name = states[int(v)] if 0 <= int(v) < len(states) else "?"
        state = MachineState.parse(name)
        if state is MachineState.DOWN:
            since = _since(store, sid, v, int(engine.ts[sid]), now)
            elapsed = max(now_us - since, 0) / 1e6 / per_unit_s
            down[st.id] = elapsed
            how = "repair time drawn given the time already spent" if st.failures else \
                "no failure model, restarts at once"
            notes.append(f"{st.id}: down for {elapsed:.4g} {net.time_unit} ({how})")
        elif state in (MachineState.RUNNING, MachineState.SETUP):
            busy[st.id] = st.servers
        elif state not in (MachineState.IDLE, MachineState.STARVED, MachineState.BLOCKED, MachineState.OFF):
            notes.append(f"{st.id}: state {name!r} read as idle")
    for b in net.buffers:
        if b.twin is None:
            continue
        sid = sigs.get(b.twin, "level")
        if sid is None:
            continue
        v = float(engine.value[sid])
        if math.isnan(v):
            notes.append(f"{b.id}: no level reported yet; starts empty")
            continue
        n = max(round(v), 0)
        if b.capacity != INF and n > b.capacity:
            notes.append(f"{b.id}: level {n} above the capacity {b.capacity:g}; capped")
            n = int(b.capacity)
        if n:
            levels[b.id] = n
    # Time 0 of the run is `now`; each calendar reduces this modulo its own period.
    offset = now.timestamp() / per_unit_s if net.calendars else 0.0
    return LiveSnapshot(now, InitialState(levels, down, busy), offset, tuple(notes))
