"""Run one replication of a network with the compiled event engine.

:func:`simulate` compiles the network, seeds one generator per random stream, and calls
the kernel in a loop, doing between calls what the kernel cannot: refill variate
blocks through the distribution objects, grow the part pool, settle active periods for
the bottleneck analysis, report progress, and turn a deadlock into a clear error.

    >>> from twinverse.sim import loads_network, simulate, RunConfig
    >>> net = loads_network('''
    ... simulation:
    ...   sources: {arrivals: {interarrival: {dist: exponential, mean: 1.25}, to: s1}}
    ...   stations: {s1: {process: {dist: exponential, mean: 1}, to: out}}
    ...   sinks: [out]
    ... ''')
    >>> r = simulate(net, RunConfig(until=200_000, warmup=1_000, seed=1))
    >>> 4.5 < r.lead_time < 5.5      # M/M/1 with ρ = 0.8: W = 5
    True
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from . import kernel as K
from .bottleneck import ActivePeriods
from .compiled import Compiled, compile_network, grow_pool, new_state, stream_rng
from .energy import DEFAULT_GRID_FACTOR, HOURS_PER_UNIT, state_energy_kwh
from .errors import DeadlockError, EventLimitError, RunConfigError
from .fastline import simulate_serial
from .network import INF, Network, serial_line
from .playback import PlaybackRecorder
from .results import BufferStats, Replication, station_stats
from .runconfig import InitialState, RunConfig
from .states import STATE_NAMES

__all__ = ["InitialState", "RunConfig", "simulate"]

Progress = Callable[[float], None]


_MAX_EVENTS_PER_CALL = 2_000_000
#: Use the kernel's fused completion path for simple stations (tests turn it off to
#: check that it changes nothing).
FUSED_PATH = True


def simulate(
    net: Network,
    config: RunConfig,
    rep: int = 0,
    *,
    initial: InitialState | None = None,
    progress: Progress | None = None,
    compiled: Compiled | None = None,
    max_events: int | None = None,
) -> Replication:
    """Run replication ``rep`` of ``net``; streams are seeded from ``(config.seed, rep)``.

    A run that would process more than ``max_events`` events is stopped with
    :class:`~twinverse.errors.EventLimitError`.
    """
    if config.playback_every is not None and config.method == "fast":
        raise RunConfigError("a playback needs the event engine (method engine or auto)")
    plain = initial is None or initial.is_empty()
    if config.method != "engine" and config.playback_every is None and plain and serial_line(net) is not None:
        fast = simulate_serial(net, config, rep, progress=progress, max_events=max_events)
        if fast is not None:
            return fast
        # An unbounded queue outgrew the fast path's rings: the event engine runs the line.
    elif config.method == "fast":
        raise RunConfigError("the fast path runs plain serial lines only (see docs/simulation.md); use method=engine")
    return _Run(net, config, rep, initial or InitialState(), progress, compiled).result(max_events)


class _Run:
    def __init__(self, net: Network, cfg: RunConfig, rep: int, initial: InitialState,
                 progress: Progress | None, compiled: Compiled | None) -> None:
        self.net, self.cfg, self.rep, self.progress = net, cfg, rep, progress
        c = compiled if compiled is not None else compile_network(net, track_bottleneck=cfg.track_bottleneck)
        self.c = c
        margin = c.n_agents + 16
        # Long runs take bigger variate blocks: fewer returns to Python for refills.
        expected = (cfg.parts or 0) * max(len(c.station_ids), 1)
        self.block = max(4096, 8 * margin, min(1 << 16, expected // max(len(c.streams), 1) // 8))
        levels = np.zeros(len(c.buffer_ids), dtype=np.int64)
        for bid, n in initial.levels.items():
            i = c.buffer_ids.index(bid)
            cap = net.buffers[i].capacity
            levels[i] = min(int(n), int(cap)) if cap != INF else int(n)
        busy = np.zeros(len(c.station_ids), dtype=np.int64)
        for sid, n in initial.busy.items():
            busy[c.station_ids.index(sid)] = int(n)
        pool = 1024 + int(levels.sum() + busy.sum())
        self.I, self.F, self.lay = new_state(
            c, block=self.block, pool=pool, ap_cap=1 << 16,
            t_end=cfg.until if cfg.until is not None else np.inf,
            target=cfg.parts or 0, cal_offset=cfg.start_offset, fast=FUSED_PATH)
        self.rngs = [stream_rng(cfg.seed, rep, s.key) for s in c.streams]
        self._refill(force=True)
        down = np.full(len(c.station_ids), -1.0)
        for sid, elapsed in initial.down.items():
            down[c.station_ids.index(sid)] = self._residual_repair(sid, float(elapsed))
        if cfg.warmup > 0:
            K.schedule(self.I, self.F, int(self.I[K.NSLOT]) - 1, cfg.warmup)
        K.init(self.I, self.F, levels, down, busy)
        # Parts placed by the initial state were in the system at the start, not created.
        placed = int(levels.sum()) + sum(min(int(busy[i]), st.servers) for i, st in enumerate(net.stations))
        self.I[K.CREATED] -= placed
        self.I[K.WIP0] = placed
        self.tracker = ActivePeriods(len(c.station_ids), 0.0)

    def _residual_repair(self, sid: str, elapsed: float) -> float:
        st = self.net.station(sid)
        if not st.failures:
            return 0.0
        rng = stream_rng(self.cfg.seed, self.rep, ("initial-repair", sid))
        draws = st.failures[0].ttr.sample(rng, 4096)
        longer = draws[draws > elapsed]
        return float(longer[0] - elapsed) if len(longer) else 0.0

    def v(self, name: str) -> np.ndarray[Any, Any]:
        """A view of one kernel field."""
        return self.lay.i(self.I, name) if name in K.I_FIELDS else self.lay.f(self.F, name)

    def _refill(self, force: bool = False) -> None:
        pos_all = self.v("rv_pos")
        rv = self.v("rv").reshape(-1, self.block) if self.c.streams else None
        half = self.block // 2
        for k, s in enumerate(self.c.streams):
            assert rv is not None
            pos = int(pos_all[k])
            if not force and pos < half:
                continue
            rest = self.block - pos
            if rest > 0:
                rv[k, :rest] = rv[k, pos:]
            n = self.block - rest
            rng = self.rngs[k]
            rv[k, rest:] = rng.random(n) if s.dist is None else s.dist.sample(rng, n)
            pos_all[k] = 0
        self.I[K.FLAG] &= ~K.F_REFILL

    def _grow(self) -> None:
        self.I, self.F, self.lay = grow_pool(self.I, self.F, self.lay, 2 * int(self.I[K.POOL]))

    def _flush_periods(self) -> None:
        ia, fa = self.I, self.F
        if fa[K.T_STAT] != self.tracker.start:
            self.tracker = ActivePeriods(len(self.c.station_ids), float(fa[K.T_STAT]))
        n = int(ia[K.AP_N])
        now = float(fa[K.NOW])
        active, astart = self.v("st_active"), self.v("st_astart")
        running = [(s, float(astart[s])) for s in range(len(self.c.station_ids)) if active[s]]
        frontier = min([now, *(t for _, t in running)])
        self.tracker.add(self.v("ap_st")[:n].copy(), self.v("ap_t0")[:n].copy(), self.v("ap_t1")[:n].copy(),
                         frontier, running, now)
        ia[K.AP_N] = 0

    def _report(self) -> None:
        if self.progress is None:
            return
        ia, fa, cfg = self.I, self.F, self.cfg
        fr = 0.0
        if cfg.until is not None:
            fr = float(fa[K.NOW]) / cfg.until
        if cfg.parts:
            fr = max(fr, float(ia[K.EXITS]) / cfg.parts if fa[K.NOW] >= cfg.warmup else 0.0)
        self.progress(min(fr, 1.0))

    def _deadlock(self) -> DeadlockError:
        c = self.c
        m = c.model
        state, dest = self.v("ag_state"), self.v("ag_dest")
        b = int(self.I[K.DEAD_B])
        names: list[str] = []
        seen: dict[int, int] = {}
        while b >= 0 and b not in seen:
            seen[b] = len(names)
            names.append(c.buffer_ids[b])
            nxt = -1
            for i in range(m["buf_c0"][b], m["buf_c1"][b]):
                st = int(m["cons"][i])
                a0 = int(m["st_srv0"][st])
                for a in range(a0, a0 + int(m["st_nsrv"][st])):
                    if state[a] in (K.A_BLOCKED, K.A_WAIT) and dest[a] >= 0:
                        names.append(c.station_ids[st])
                        nxt = int(dest[a])
                        break
                if nxt >= 0:
                    break
            b = nxt
        start = seen.get(b, 0)
        return DeadlockError(float(self.F[K.NOW]), names[start:])

    def result(self, max_events: int | None = None) -> Replication:
        last = time.monotonic()
        every, until = self.cfg.playback_every, self.cfg.until
        rec = None
        if every is not None and until is not None and self.rep == 0:
            rec = PlaybackRecorder(self, every, until)
        while True:
            step = _MAX_EVENTS_PER_CALL
            if max_events is not None:
                done = int(self.I[K.EVENTS])
                if done > max_events:
                    raise EventLimitError(max_events, done)
                step = min(step, max_events + 1 - done)  # pause just past the limit
            if rec is not None:
                rec.observe()
                step = rec.step(step)
            code = K.run(self.I, self.F, step)
            if self.progress is not None and code != K.DONE and time.monotonic() - last > 0.1:
                self._report()
                last = time.monotonic()
            if code == K.REFILL:
                self._refill()
            elif code == K.GROW:
                self._grow()
            elif code == K.FLUSH:
                self._flush_periods()
            elif code == K.PAUSE:
                pass  # a chance to report progress (above)
            elif code == K.DEADLOCK:
                raise self._deadlock()
            elif code == K.STALL:
                # Nothing left to happen. Blocked agents that can never move are a deadlock
                # (the check on blocking catches most; this catches the rest).
                wh = self.v("buf_wh")
                for b in range(len(self.c.buffer_ids)):
                    if wh[b] >= 0:
                        K.check_deadlock(self.I, b)
                        if self.I[K.FLAG] & K.F_DEADLOCK:
                            raise self._deadlock()
                # Otherwise the rest of the horizon passes in the current state.
                end = self.F[K.T_END] if np.isfinite(self.F[K.T_END]) else self.F[K.NOW]
                K.finalize(self.I, self.F, float(end))
                break
            elif code == K.DONE:
                break
            else:  # pragma: no cover - a kernel invariant broke
                raise RuntimeError(f"simulation kernel stopped with code {code}")
        self._flush_periods()
        if self.progress is not None:
            self.progress(1.0)
        out = self._collect()
        if rec is not None:
            out = dataclasses.replace(out, playback=rec.finish())
        return out

    def _collect(self) -> Replication:
        c, net, ia, fa = self.c, self.net, self.I, self.F
        t0, end = float(fa[K.T_STAT]), float(fa[K.NOW])
        span = end - t0
        safe = span if span > 0 else math.nan
        bn = self.tracker.finish(end)
        unit = net.time_unit
        grid = net.grid_factor if net.grid_factor is not None else DEFAULT_GRID_FACTOR
        st_t = self.v("st_t").reshape(-1, K.NSTATES)
        st_done, st_bad = self.v("st_done"), self.v("st_bad")
        stations = []
        for i, st in enumerate(net.stations):
            fr = st_t[i] / (safe * st.servers)
            stations.append(station_stats(st.id, fr, int(st_done[i]), int(st_bad[i]), st.servers, span,
                                           st.ideal_time or st.process_mean,
                                           state_energy_kwh(fr, STATE_NAMES, span, st.power, unit),
                                           float(bn["sole"][i]), float(bn["shifting"][i])))
        hours = span * HOURS_PER_UNIT[unit]
        buf_ne, buf_int, buf_max = self.v("buf_ne"), self.v("buf_int"), self.v("buf_max")
        buf_enq, buf_direct = self.v("buf_enq"), self.v("buf_direct")
        buffers = []
        for j, b in enumerate(net.buffers):
            ne = float(buf_ne[j]) / safe
            kwh = hours * (ne * b.power.get("running", 0.0) + (1 - ne) * b.power.get("idle", 0.0))
            q = int(buf_enq[j])
            buffers.append(BufferStats(b.id, float(buf_int[j]) / safe, int(buf_max[j]), kwh, q + int(buf_direct[j]), q))
        exits = int(ia[K.EXITS])
        lt = float(fa[K.LT_SUM]) / exits if exits else math.nan
        var = float(fa[K.LT_SQ]) / exits - lt * lt if exits > 1 else math.nan
        wip_int, soj = float(fa[K.WIP_INT]), float(fa[K.SOJ])
        energy = sum(s.energy_kwh for s in stations) + sum(b.energy_kwh for b in buffers)
        best = int(bn["station"])
        prod_n, prod_lt = self.v("prod_n"), self.v("prod_lt")
        return Replication(
            rep=self.rep, seed=self.cfg.seed, method="engine", warmup=t0, end=end, events=int(ia[K.EVENTS]),
            exits=exits, throughput=exits / safe, wip=wip_int / safe, lead_time=lt,
            lead_time_sd=math.sqrt(max(var, 0.0)) if exits > 1 else math.nan, lead_time_max=float(fa[K.LT_MAX]),
            scrapped=int(ia[K.SCRAP]), lost=int(ia[K.LOST]), consumed=int(ia[K.CONSUMED]),
            created=int(ia[K.CREATED]), wip_start=int(ia[K.WIP0]), wip_end=int(ia[K.WIP]),
            little_gap=abs(wip_int - soj) / max(abs(wip_int), 1e-300),
            energy_kwh=energy, co2e_kg=energy * grid, stations=tuple(stations), buffers=tuple(buffers),
            bottleneck=c.station_ids[best] if best >= 0 and bn["share"] > 0 else None,
            bottleneck_share=float(bn["share"]),
            exits_by_sink=tuple((k, int(n)) for k, n in zip(c.sink_ids, self.v("sink_n"), strict=True)),
            exits_by_product=tuple((p, int(n)) for p, n in zip(net.products, prod_n, strict=True)),
            lead_time_by_product=tuple((p, float(prod_lt[i]) / int(prod_n[i]) if prod_n[i] else math.nan)
                                       for i, p in enumerate(net.products)),
        )

