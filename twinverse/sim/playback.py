"""A run's state over model time, sampled on a regular grid, for playing it back in 3D.

The event engine's books are time integrals; a playback needs the states themselves. The
recorder samples them between kernel calls, *exactly*: the kernel is resumable, so the run
is advanced in steps sized to stop at the last event at or before each tick ``k * every``
(half the events the rate so far predicts, then one at a time); the state then is the state
at the tick, since nothing changes until the next event, which lies after it. Should the
event rate jump within one step, the tick gets the state just after it. Stepping never
changes a result, only how often Python looks.

Each sample holds every station's state (the most telling state of its servers: down, off,
setup, running, blocked, starved, idle, in that order) and every buffer's level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from . import kernel as K

__all__ = ["MAX_SAMPLES", "Playback", "PlaybackRecorder"]

#: At most this many samples per run (``until / every``), checked when the run is configured.
MAX_SAMPLES = 10_000

# Which server state a station shows when its servers differ: lower rank wins.
_RANK = np.array([6, 5, 3, 4, 0, 2, 1], dtype=np.int8)  # by ACC_STATES index: idle, starved, running, …
_BY_RANK = np.argsort(_RANK).astype(np.int8)  # rank -> ACC_STATES index


@dataclass(frozen=True, eq=False)
class Playback:
    """States on a grid of model times: ``t[k]``, ``state[k, station]`` (into ``states``), ``level[k, buffer]``."""

    every: float
    t: npt.NDArray[np.float64]
    state: npt.NDArray[np.int8]
    level: npt.NDArray[np.int64]
    states: tuple[str, ...] = K.ACC_STATES

    def to_dict(self, stations: tuple[str, ...] | list[str], buffers: tuple[str, ...] | list[str]) -> dict[str, Any]:
        """Column-wise JSON: one list of state names per station, one list of levels per buffer."""
        names = np.array(self.states, dtype=object)
        return {
            "every": self.every,
            "t": self.t.tolist(),
            "stations": {sid: names[self.state[:, i]].tolist() for i, sid in enumerate(stations)},
            "buffers": {bid: self.level[:, j].tolist() for j, bid in enumerate(buffers)},
        }


class PlaybackRecorder:
    """Samples a kernel run every ``every`` model time units from 0 to ``until``."""

    def __init__(self, run: Any, every: float, until: float) -> None:
        self.run = run  # the engine's _Run: its I, F and field views (they move when the part pool grows)
        self.every = every
        self.until = until
        self.next = 0.0
        self._t: list[float] = []
        self._state: list[npt.NDArray[np.int8]] = []
        self._level: list[npt.NDArray[np.int64]] = []
        self.nserv = int(run.I[K.NSERV])
        self.ns = len(run.c.station_ids)

    def _next_event(self) -> float:
        ia, fa = self.run.I, self.run.F
        if ia[K.HN] == 0:
            return math.inf
        return float(fa[int(ia[K.HTIME]) + int(ia[int(ia[K.HEAP])])])

    def _sample(self, t: float) -> None:
        r = self.run
        acc = r.v("ag_acc")[: self.nserv]
        station = r.v("ag_station")[: self.nserv]
        paused = r.v("st_paused")[station]
        eff = np.where(paused & K.P_OFF, K.OFF, np.where(paused & K.P_DOWN, K.DOWN, acc))
        rank = np.full(self.ns, 127, dtype=np.int8)
        np.minimum.at(rank, station, _RANK[eff])
        self._t.append(t)
        self._state.append(_BY_RANK[np.minimum(rank, 6)])
        self._level.append(r.v("buf_count").astype(np.int64).copy())

    def observe(self) -> None:
        """Record every tick the run has reached: ticks before the next event see the current state."""
        nxt = self._next_event()
        # A tick already passed (the event rate jumped within one step) gets the state just after it.
        while self.next <= self.until and self.next < nxt:
            self._sample(self.next)
            self.next += self.every

    def step(self, default: int) -> int:
        """How many events to run so as not to pass the next tick (estimated from the event rate so far)."""
        ia, fa = self.run.I, self.run.F
        now = float(fa[K.NOW])
        if self.next > self.until:
            return default
        events = int(ia[K.EVENTS])
        if now <= 0 or events == 0:
            return 1
        need = (self.next - now) * events / now
        return 1 if need < 8 else int(min(default, 0.5 * need))

    def finish(self) -> Playback:
        """The samples; ticks after the run stopped early (a part target, a stall) hold its last state."""
        end = min(self.until, float(self.run.F[K.NOW]))
        while self.next <= self.until:
            if self.next > end and not self._state:
                self._sample(self.next)
            elif self.next > end:
                self._t.append(self.next)
                self._state.append(self._state[-1])
                self._level.append(self._level[-1])
            else:
                self._sample(self.next)
            self.next += self.every
        ns, nb = self.ns, len(self.run.c.buffer_ids)
        return Playback(
            self.every,
            np.array(self._t, dtype=np.float64),
            np.array(self._state, dtype=np.int8).reshape(len(self._t), ns),
            np.array(self._level, dtype=np.int64).reshape(len(self._t), nb),
        )
