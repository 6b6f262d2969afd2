"""A synthetic plant: makes any plant model behave like a running production line.

Machines (twins with a ``state`` signal) along ``feeds`` relationships exchange parts
through buffers (twins with a ``level`` signal and a ``capacity`` property). Each tick,
machines fail at random (exponential time to failure and repair), go into setups now and
then, starve when their input buffer is empty and block when their output buffer is full;
buffers fill and drain with the difference of the flows. Counters count, temperatures
drift around set points (Ornstein–Uhlenbeck), power follows the state through the type's
power table. Everything is vectorised over machines and seeded: the same seed gives the
same data.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ..config import Settings
from ..core.batch import make_batch
from ..core.clock import now_us as _now_us
from ..core.values import KindCode
from ..live.engine import Engine
from ..model import Plant
from .base import Health

__all__ = ["SyntheticPlant", "synthetic_source"]

log = logging.getLogger("twinverse.synthetic")

# State codes in the default enumeration; a type with its own list is mapped by name.
STATES = ("running", "idle", "starved", "blocked", "down", "setup", "off")
RUNNING, IDLE, STARVED, BLOCKED, DOWN, SETUP = 0, 1, 2, 3, 4, 5

#: (name pattern, set point as fraction of range or absolute, noise) for drifting signals.
_SETPOINTS: list[tuple[re.Pattern[str], float]] = [
    (re.compile(r"^temperature$"), 6.0),
    (re.compile(r"glue_temperature"), 160.0),
    (re.compile(r"film_temperature"), 190.0),
    (re.compile(r"water_pressure"), 2.5),
    (re.compile(r"^pressure$"), 3.5),
    (re.compile(r"fill_level"), 502.0),
    (re.compile(r"torque"), 2.2),
]


class SyntheticPlant:
    """A seeded, reproducible data source for a whole plant (a :class:`Connector`).

    ``step()`` advances simulated time by ``1/rate * speedup`` seconds and returns one
    batch with every signal's new value.
    """

    def __init__(
        self,
        plant: Plant,
        *,
        rate: float = 1.0,
        seed: int = 42,
        speedup: float = 1.0,
        mtbf_s: float = 600.0,
        mttr_s: float = 45.0,
        sink: Callable[[pa.RecordBatch], object] | None = None,
    ) -> None:
        self.plant = plant
        self.rate = rate
        self.dt = speedup / rate
        self.mtbf, self.mttr = mtbf_s, mttr_s
        self.rng = np.random.default_rng(seed)
        self.sink = sink
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.ticks = 0
        self._build()

    # -- model ------------------------------------------------------------------------------
    def _build(self) -> None:
        p = self.plant
        self.buffers = [t for t in p.twins if "level" in p.type_of(t).signals]
        bset = set(self.buffers)
        self.machines = [t for t in p.machines() if t not in bset]
        mi = {t: i for i, t in enumerate(self.machines)}
        bi = {t: i for i, t in enumerate(self.buffers)}
        nm, nb = len(self.machines), len(self.buffers)
        self.rated = np.array([float(p.twins[t].properties.get("rated_speed", 600)) for t in self.machines]) / 60.0
        self.up = np.full(nm, -1, dtype=np.int64)
        self.down = np.full(nm, -1, dtype=np.int64)
        for t in self.machines:
            ups = [u for u in p.related(t, "feeds", reverse=True) if u in bi]
            downs = [d for d in p.related(t, "feeds") if d in bi]
            self.up[mi[t]] = bi[ups[0]] if ups else -1
            self.down[mi[t]] = bi[downs[0]] if downs else -1
        self.cap = np.array([float(p.twins[b].properties.get("capacity", 400)) for b in self.buffers])
        self.level = self.cap * 0.5 if nb else np.zeros(0)
        self.state = np.full(nm, RUNNING, dtype=np.int64)
        self.repair = np.zeros(nm)
        self.setup = np.zeros(nm)
        self.speed = np.zeros(nm)
        self.good = np.zeros(nm)
        self.reject = np.zeros(nm)
        self.reject_rate = self.rng.uniform(0.001, 0.006, nm)
        self.bstate = np.full(nb, RUNNING, dtype=np.int64)
        # Every signal of every twin, and how to produce it.
        idx = p.signals
        self.sids = np.arange(len(idx), dtype=np.int32)
        self.values = np.zeros(len(idx))
        lo, hi = idx.lo.copy(), idx.hi.copy()
        finite = np.isfinite(lo) & np.isfinite(hi)
        self.lo = np.where(finite, lo, -1e3)
        self.hi = np.where(finite, hi, 1e3)
        self.center = np.where(finite, lo + 0.5 * (hi - lo), 0.0)
        self.scale = np.where(finite, (hi - lo) * 0.01, 1.0)
        for s in range(len(idx)):
            name = str(idx.name[s])
            for pat, sp in _SETPOINTS:
                if pat.search(name):
                    self.center[s] = sp
                    self.scale[s] = max(0.02 * abs(sp), 0.05)
                    break
        self.values[:] = self.center
        self.kind = idx.kind
        self._state_map: dict[int, npt.NDArray[np.int64]] = {}
        self._roles: list[tuple[str, npt.NDArray[np.int32], npt.NDArray[np.int64]]] = []
        for role, owners, owner_index in (("m", self.machines, mi), ("b", self.buffers, bi)):
            for name in ("state", "speed", "good_count", "reject_count", "power", "level", "motor_current"):
                s_list, o_list = [], []
                for t in owners:
                    sid = idx.get(t, name)
                    if sid is not None:
                        s_list.append(sid)
                        o_list.append(owner_index[t])
                        if name == "state":
                            states = idx.signal[sid].states or STATES
                            self._state_map[sid] = np.array(
                                [states.index(n) if n in states else 0 for n in STATES], dtype=np.int64
                            )
                self._roles.append(
                    (role + ":" + name, np.array(s_list, dtype=np.int32), np.array(o_list, dtype=np.int64))
                )
        special = np.concatenate([s for _, s, _ in self._roles]) if self._roles else np.empty(0, np.int32)
        self.drift = np.setdiff1d(self.sids, special)
        self.power_table = np.zeros((len(self.machines) + len(self.buffers), len(STATES)))
        for i, t in enumerate([*self.machines, *self.buffers]):
            table = p.type_of(t).power
            self.power_table[i] = [table.get(n, 0.0) for n in STATES]

    # -- dynamics ---------------------------------------------------------------------------
    def _advance(self) -> None:
        dt, rng = self.dt, self.rng
        nm = len(self.machines)
        # Failures and repairs (exponential), setups now and then.
        self.repair = np.maximum(self.repair - dt, 0.0)
        self.setup = np.maximum(self.setup - dt, 0.0)
        working = (self.repair == 0) & (self.setup == 0)
        fails = working & (rng.random(nm) < dt / self.mtbf)
        self.repair[fails] = rng.exponential(self.mttr, int(fails.sum())) + dt
        setups = working & ~fails & (rng.random(nm) < dt / (self.mtbf * 4))
        self.setup[setups] = rng.uniform(30, 120, int(setups.sum()))
        has_up, has_down = self.up >= 0, self.down >= 0
        up_level = np.where(has_up, self.level[np.maximum(self.up, 0)] if len(self.level) else 0.0, np.inf)
        down_space = np.where(
            has_down, (self.cap - self.level)[np.maximum(self.down, 0)] if len(self.level) else 0.0, np.inf
        )
        state = np.full(nm, RUNNING, dtype=np.int64)
        state[self.setup > 0] = SETUP
        state[self.repair > 0] = DOWN
        free = state == RUNNING
        state[free & (up_level < 1.0)] = STARVED
        state[free & (up_level >= 1.0) & (down_space < 1.0)] = BLOCKED
        self.state = state
        # Flow: a running machine moves up to its (noisy) speed, limited by parts and space.
        speed = self.rated * (1.0 + 0.02 * rng.standard_normal(nm))
        q = np.where(state == RUNNING, speed * dt, 0.0)
        q = np.minimum(np.minimum(q, up_level), down_space)
        if len(self.level):
            np.subtract.at(self.level, self.up[has_up], q[has_up])
            np.add.at(self.level, self.down[has_down], q[has_down])
            self.level = np.clip(self.level, 0.0, self.cap)
        self.speed = q / dt * 60.0
        rejects = rng.binomial(np.floor(q).astype(np.int64), self.reject_rate)
        self.reject += rejects
        self.good += np.floor(q) - rejects
        # Buffers: starved when empty, blocked when full, else running.
        if len(self.level):
            b = np.full(len(self.level), RUNNING, dtype=np.int64)
            b[self.level < 1.0] = STARVED
            b[self.level > self.cap - 1.0] = BLOCKED
            self.bstate = b

    def _emit(self) -> npt.NDArray[np.float64]:
        v = self.values
        # Drifting signals: Ornstein–Uhlenbeck around their set point, inside their range.
        d = self.drift
        theta = min(1.0, 0.05 * self.dt)
        v[d] += theta * (self.center[d] - v[d]) + self.scale[d] * np.sqrt(self.dt) * self.rng.standard_normal(len(d))
        v[d] = np.clip(v[d], self.lo[d], self.hi[d])
        nm = len(self.machines)
        all_state = np.concatenate([self.state, self.bstate])
        power = self.power_table[np.arange(len(all_state)), all_state]
        for role, sids, owners in self._roles:
            if not len(sids):
                continue
            if role == "m:state":
                v[sids] = [self._state_map[int(s)][self.state[o]] for s, o in zip(sids, owners, strict=True)]
            elif role == "b:state":
                v[sids] = [self._state_map[int(s)][self.bstate[o]] for s, o in zip(sids, owners, strict=True)]
            elif role == "m:speed":
                v[sids] = np.round(self.speed[owners], 1)
            elif role == "m:good_count":
                v[sids] = self.good[owners]
            elif role == "m:reject_count":
                v[sids] = self.reject[owners]
            elif role == "m:power":
                v[sids] = np.round(power[owners] * (1 + 0.03 * self.rng.standard_normal(len(sids))), 3)
            elif role == "b:level":
                v[sids] = np.round(self.level[owners])
            elif role == "b:motor_current":
                running = self.bstate[owners] == RUNNING
                v[sids] = np.round(np.where(running, 6.0, 0.4) + 0.2 * self.rng.standard_normal(len(sids)), 2)
            elif role == "b:power":
                v[sids] = power[nm + owners]
        # Booleans (e.g. a compressor's 'running') mostly on; ints whole; all inside range.
        kinds = self.kind
        bools = kinds == KindCode.BOOL
        if bools.any():
            v[bools] = (self.rng.random(int(bools.sum())) > 0.02).astype(float)
        ints = kinds == KindCode.INT
        v[ints] = np.round(v[ints])
        np.clip(v, self.plant.signals.lo, self.plant.signals.hi, out=v)
        return v

    def step(self, now_us: int | None = None) -> pa.RecordBatch:
        """Advance one tick and return a batch of every signal at ``now_us``."""
        self._advance()
        values = self._emit()
        self.ticks += 1
        ts = _now_us() if now_us is None else now_us
        return make_batch(np.full(len(values), ts, dtype=np.int64), self.sids, values.copy())

    # -- connector --------------------------------------------------------------------------
    def start(self, engine: Engine) -> None:
        sink = self.sink or (lambda b: engine.ingest(b, source="synthetic"))
        self._stop.clear()

        def run() -> None:
            period = 1.0 / self.rate
            next_t = time.monotonic()
            while not self._stop.is_set():
                try:
                    sink(self.step())
                except Exception:  # a failing sink (broker down) must not end the demo
                    log.exception("synthetic plant: delivering a batch failed")
                next_t += period
                self._stop.wait(max(0.0, next_t - time.monotonic()))

        self._thread = threading.Thread(target=run, name="twinverse-synthetic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def health(self) -> Health:
        """``kind``, ``running`` (its thread) and ``ticks`` delivered; there is no far side to connect to."""
        return {"kind": "synthetic", "running": self._thread is not None and self._thread.is_alive(),
                "ticks": self.ticks}  # fmt: skip

    def describe(self) -> str:
        return (
            f"synthetic plant: {len(self.machines)} machines, {len(self.buffers)} buffers, "
            f"{len(self.sids)} signals at {self.rate:g} Hz"
        )


def synthetic_source(plant: Plant, settings: Settings) -> SyntheticPlant:
    """The ``synthetic`` source plugin: the whole plant at ``synthetic_rate`` with ``seed``."""
    return SyntheticPlant(plant, rate=settings.synthetic_rate, seed=settings.seed)
