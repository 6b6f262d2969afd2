"""Fast path for serial flow lines: the departure-time recursion, compiled with numba.

For a line of single-server stations 1…M with blocking after service, buffers of
``B_i`` places between station ``i`` and ``i+1`` and parts in FIFO order, the times
obey (Dallery & Gershwin 1992)::

    start_i(n) = max(D_{i-1}(n), D_i(n-1))          # part arrived and station free
    C_i(n)     = start_i(n) + S_i(n) [+ repairs]    # completion
    D_i(n)     = max(C_i(n), D_{i+1}(n - B_i - 1))  # leaves once a place is free

so a part costs M small max-plus steps instead of a dozen events. Operation-dependent
failures fit exactly (they interrupt processing only); a saturated source or a source
with interarrival times (blocking when the first buffer is full) feeds the line.

Process and failure times come from the same named streams as the general engine, drawn
in the same order, so on such a line both give the same numbers (a test checks it); the
fast path just gets there one to two orders of magnitude sooner.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from . import kernel as K
from .compiled import stream_rng
from .energy import DEFAULT_GRID_FACTOR, HOURS_PER_UNIT, state_energy_kwh
from .errors import EventLimitError, RunConfigError
from .kernel import unsigned as _u
from .network import INF, Network, serial_line
from .results import BufferStats, Replication, station_stats
from .runconfig import RunConfig
from .states import STATE_NAMES

__all__ = ["simulate_serial"]

_CHUNK = 1 << 15
_BIG = 1 << 62

# scalar slots in the float state ``fs`` and the int state ``ist``
(T_PREV_A, T_PREV_R, END, LT_SUM, LT_SQ, LT_MAX, SOJ, SRC_BLOCK, TOP, NFS) = range(10)
(N, EXITS, TARGET, DONE_FLAG, NEED, BW, DW, DE, NIS) = range(9)


@numba.njit(cache=True, nogil=True)
def _clip(a: float, b: float, lo: float, hi: float) -> float:
    """Length of [a, b] ∩ [lo, hi]."""
    x = min(b, hi) - max(a, lo)
    return x if x > 0.0 else 0.0


@numba.njit(cache=True, nogil=True)
def _line_chunk(S: Any, X: Any, cap: Any, dring: Any, dhead: Any, sring: Any, shead: Any,
                sptr: Any, lvl_w: Any, prev_d: Any, fm0: Any, fm1: Any, rem: Any, ttf: Any, ttr: Any,
                fpos: Any, st: Any, bf: Any, fs: Any, ist: Any, saturated: bool, until: float, warm: float) -> int:
    """Advance the recursion over the parts of one chunk; returns how many were used.

    ``st[i, k]`` accumulates per-station figures (0 busy, 1 blocked, 2 down, 3 done);
    ``bf[j, k]`` per buffer (0 level integral, 1 non-empty time, 2 max level, 3 merged
    interval start, 4 merged interval end, 5 unused, 6 parts entered, 7 parts queued). Row 0 is the entry
    buffer of station 0, row j the buffer in front of station j.
    """
    m = S.shape[0]
    nfail = fpos.shape[0]
    dmask = dring.shape[1] - 1  # ring sizes are powers of two
    smask = sring.shape[1] - 1
    used = 0
    for k in range(S.shape[1]):
        # stop when a failure stream could run dry inside this part
        for f in range(nfail):
            if fpos[_u(f)] > ttf.shape[1] - 64:
                ist[NEED] = 1
                return used
        n = ist[N]
        top = fs[TOP]
        # -- the part enters: saturated supply, or an arrival that may block the source
        if saturated:
            birth = prev_d[0]
            release = birth
        else:
            arr = fs[T_PREV_R] + X[_u(k)]
            birth = arr
            release = arr
            b0 = cap[0]
            if b0 < _BIG and n - b0 - 1 >= 0:
                release = max(arr, dring[0, _u((dhead[0] - b0 - 1) & dmask)])
            fs[T_PREV_R] = release
        if until > 0.0 and birth > until:
            ist[DONE_FLAG] = 1
            return used
        if ist[TARGET] > 0 and ist[EXITS] >= ist[TARGET] and birth > fs[END]:
            ist[DONE_FLAG] = 1
            return used
        hi = until if until > 0.0 else top
        if not saturated:
            fs[SRC_BLOCK] += _clip(birth, release, warm, hi)  # held by a blocked source
        d_prev_station = release  # the time the part is available at station i
        for i in range(m):
            start = max(d_prev_station, prev_d[_u(i)])
            # time in the buffer in front of station i: [d_prev_station, start)
            if i > 0 or not saturated:
                if warm < d_prev_station <= hi:
                    bf[_u(i), 6] += 1.0  # entered the buffer (queued or straight through)
                    if start > d_prev_station:
                        bf[_u(i), 7] += 1.0
                bf[_u(i), 0] += _clip(d_prev_station, start, warm, hi)
                if start > d_prev_station:
                    if d_prev_station > bf[_u(i), 4]:
                        bf[_u(i), 1] += _clip(bf[_u(i), 3], bf[_u(i), 4], warm, hi)
                        bf[_u(i), 3] = d_prev_station
                    bf[_u(i), 4] = max(bf[_u(i), 4], start)
            # processing, interrupted by operation-dependent failures
            t = start
            left = S[_u(i), _u(k)]
            while True:
                best = np.inf
                which = -1
                for f in range(fm0[_u(i)], fm1[_u(i)]):
                    if rem[_u(f)] < best:
                        best = rem[_u(f)]
                        which = f
                if which >= 0 and best < left:
                    st[_u(i), 0] += _clip(t, t + best, warm, hi)
                    t += best
                    left -= best
                    for f in range(fm0[_u(i)], fm1[_u(i)]):
                        rem[_u(f)] -= best
                    rem[_u(which)] = ttf[_u(which), _u(fpos[_u(which)])]
                    r = ttr[_u(which), _u(fpos[_u(which)])]
                    fpos[_u(which)] += 1
                    st[_u(i), 2] += _clip(t, t + r, warm, hi)
                    t += r
                else:
                    st[_u(i), 0] += _clip(t, t + left, warm, hi)
                    for f in range(fm0[_u(i)], fm1[_u(i)]):
                        rem[_u(f)] -= left
                    t += left
                    break
            c = t
            if warm < c <= hi:
                st[_u(i), 3] += 1.0
            # leave once a place downstream is free (the next station's ring of departures)
            d = c
            if i + 1 < m:
                b = cap[_u(i + 1)]
                if b < _BIG and n - b - 1 >= 0:
                    d = max(c, dring[_u(i + 1), _u((dhead[_u(i + 1)] - b - 1) & dmask)])
            st[_u(i), 1] += _clip(c, d, warm, hi)
            # level of the buffer in front of station i at this arrival (for its maximum)
            # (once a finite buffer has been full after warm-up its maximum is known: skip)
            if (i > 0 or not saturated) and not (bf[_u(i), 2] >= cap[_u(i)] and d_prev_station > warm):
                h = shead[_u(i)]
                sring[_u(i), _u(h & smask)] = start
                shead[_u(i)] = h + 1
                p = sptr[_u(i)]
                while p <= n and sring[_u(i), _u(p & smask)] <= d_prev_station:
                    p += 1
                sptr[_u(i)] = p
                level = n + 1 - p
                if level >= sring.shape[1] - 2:
                    ist[DONE_FLAG] = 2  # an unbounded queue outgrew the ring: use the engine
                    return used
                if d_prev_station > warm and d_prev_station <= hi and level > bf[_u(i), 2]:
                    bf[_u(i), 2] = level
                if d_prev_station <= warm:
                    lvl_w[_u(i), 0] += 1.0  # arrivals by warm-up
                if start <= warm:
                    lvl_w[_u(i), 1] += 1.0  # departures by warm-up
            dring[_u(i), _u(dhead[_u(i)] & dmask)] = d
            dhead[_u(i)] += 1
            prev_d[_u(i)] = d
            d_prev_station = d
        death = d_prev_station
        # -- the part leaves the line
        if death > warm and (until <= 0.0 or death <= until) and not (
                ist[TARGET] > 0 and ist[EXITS] >= ist[TARGET]):
            lt = death - birth
            ist[EXITS] += 1
            fs[LT_SUM] += lt
            fs[LT_SQ] += lt * lt
            if lt > fs[LT_MAX]:
                fs[LT_MAX] = lt
            if ist[TARGET] > 0 and ist[EXITS] == ist[TARGET]:
                fs[END] = death
                fs[TOP] = death
                hi = death
        hi = until if until > 0.0 else fs[TOP]
        fs[SOJ] += _clip(birth, death, warm, hi)
        # counts for the parts in the system at warm-up and at the end
        if birth <= warm:
            ist[BW] += 1
        if death <= warm:
            ist[DW] += 1
        if death <= hi:
            ist[DE] += 1
        ist[N] = n + 1
        used += 1
    return used


def simulate_serial(net: Network, cfg: RunConfig, rep: int = 0, *, progress: Callable[[float], None] | None = None,
                    max_events: int | None = None) -> Replication | None:
    """Run replication ``rep`` of a serial line (see :func:`twinverse.sim.network.serial_line`).

    Returns None when an unbounded queue outgrows the recursion's rings: the caller
    (:func:`twinverse.sim.engine.simulate`) then runs the line with the event engine.
    ``progress`` is called between chunks of parts (it may raise to stop the run); more
    than ``max_events`` events (parts × stations, as reported) raise
    :class:`~twinverse.errors.EventLimitError`, checked between chunks.
    """
    order = serial_line(net)
    if order is None:
        raise RunConfigError("the fast path runs plain serial lines only")
    stations = [net.station(s) for s in order]
    m = len(stations)
    src = net.sources[0]
    saturated = src.saturated
    cap = np.array([_BIG if (b := net.buffer(next(iter(s.inputs)))).capacity == INF else int(b.capacity)
                    for s in stations], dtype=np.int64)
    ring = 1 << int(max([int(c) + 2 for c in cap if c < _BIG] + [2]) - 1).bit_length()
    sring_size = 1 << int(max([int(c) + 3 for c in cap if c < _BIG] + [1 << 16 if (cap >= _BIG).any() else 2])
                          - 1).bit_length()
    dring = np.zeros((m, ring))
    dhead = np.zeros(m, dtype=np.int64)
    sring = np.zeros((m, sring_size))
    shead = np.zeros(m, dtype=np.int64)
    sptr = np.zeros(m, dtype=np.int64)
    lvl_w = np.zeros((m, 2))
    prev_d = np.zeros(m)
    fm0 = np.zeros(m, dtype=np.int64)
    fm1 = np.zeros(m, dtype=np.int64)
    modes: list[tuple[str, int, Any]] = []
    for i, s in enumerate(stations):
        fm0[i] = len(modes)
        modes.extend((s.id, j, f) for j, f in enumerate(s.failures))
        fm1[i] = len(modes)
    fblock = 4096
    frng = [(stream_rng(cfg.seed, rep, ("ttf", sid, str(j))), stream_rng(cfg.seed, rep, ("ttr", sid, str(j))))
            for sid, j, _ in modes]
    ttf = np.zeros((max(len(modes), 1), fblock))
    ttr = np.zeros((max(len(modes), 1), fblock))
    fpos = np.zeros(len(modes), dtype=np.int64)
    rem = np.zeros(max(len(modes), 1))
    for f, (_, _, mode) in enumerate(modes):
        # the engine draws each mode's first time to failure at start, then (ttf, ttr) per failure
        rem[f] = mode.ttf.sample(frng[f][0], 1)[0]
        ttf[f] = mode.ttf.sample(frng[f][0], fblock)
        ttr[f] = mode.ttr.sample(frng[f][1], fblock)
    prng = [stream_rng(cfg.seed, rep, ("process", s.id)) for s in stations]
    arng = None if saturated else stream_rng(cfg.seed, rep, ("arrivals", src.id))
    st = np.zeros((m, 4))
    bf = np.zeros((m, 8))
    bf[:, 3] = bf[:, 4] = -np.inf
    fs = np.zeros(NFS)
    fs[TOP] = np.inf
    fs[END] = np.inf
    ist = np.zeros(NIS, dtype=np.int64)
    ist[TARGET] = cfg.parts or 0
    until = float(cfg.until) if cfg.until is not None else -1.0
    warm = float(cfg.warmup)
    S = np.empty((m, _CHUNK))
    X = np.zeros(_CHUNK)
    pending = 0  # parts of the current chunk not yet used
    last = time.monotonic()
    while True:
        events = int(ist[N]) * m
        if max_events is not None and events > max_events:
            raise EventLimitError(max_events, events)
        if progress is not None and time.monotonic() - last > 0.1:
            fr = float(prev_d[-1]) / until if until > 0 else 0.0  # the last departure so far
            if cfg.parts:
                fr = max(fr, float(ist[EXITS]) / cfg.parts)
            progress(min(max(fr, 0.0), 1.0))
            last = time.monotonic()
        if pending == 0:
            for i, s in enumerate(stations):
                S[i] = s.process["*"].sample(prng[i], _CHUNK)
            if arng is not None:
                assert src.interarrival is not None
                X[:] = src.interarrival.sample(arng, _CHUNK)
            pending = _CHUNK
        off = _CHUNK - pending
        used = _line_chunk(S[:, off:], X[off:], cap, dring, dhead, sring, shead, sptr, lvl_w, prev_d, fm0, fm1, rem,
                           ttf, ttr, fpos, st, bf, fs, ist, saturated, until, warm)
        pending -= used
        if ist[DONE_FLAG] == 2:
            return None
        if ist[DONE_FLAG]:
            break
        if ist[NEED]:
            ist[NEED] = 0
            for f, (_, _, mode) in enumerate(modes):
                left = fblock - int(fpos[f])
                ttf[f, :left] = ttf[f, fpos[f]:]
                ttr[f, :left] = ttr[f, fpos[f]:]
                ttf[f, left:] = mode.ttf.sample(frng[f][0], fblock - left)
                ttr[f, left:] = mode.ttr.sample(frng[f][1], fblock - left)
                fpos[f] = 0
    if max_events is not None and int(ist[N]) * m > max_events:
        raise EventLimitError(max_events, int(ist[N]) * m)
    end = until if until > 0 else float(fs[END])
    return _collect(net, cfg, rep, stations, saturated, st, bf, lvl_w, fs, ist, warm, end)


def _collect(net: Network, cfg: RunConfig, rep: int, stations: list[Any], saturated: bool, st: Any, bf: Any,
             lvl_w: Any, fs: Any, ist: Any, warm: float, end: float) -> Replication:
    span = end - warm
    safe = span if span > 0 else math.nan
    unit = net.time_unit
    grid = net.grid_factor if net.grid_factor is not None else DEFAULT_GRID_FACTOR
    out = []
    for i, s in enumerate(stations):
        busy, blocked, down = st[i, 0] / safe, st[i, 1] / safe, st[i, 2] / safe
        wait = max(1.0 - busy - blocked - down, 0.0)
        idle_kind = "idle" if (i == 0 and not saturated) else "starved"
        fr = np.array([wait if k == idle_kind else 0.0 for k in STATE_NAMES])
        fr[K.RUNNING] = busy
        fr[K.BLOCKED] = blocked
        fr[K.DOWN] = down
        out.append(station_stats(s.id, fr, int(st[i, 3]), 0, 1, span, s.ideal_time or s.process_mean,
                                  state_energy_kwh(list(fr), STATE_NAMES, span, s.power, unit), 0.0, 0.0))
    hours = span * HOURS_PER_UNIT[unit]
    buffers = []
    by_id = {next(iter(s.inputs)): i for i, s in enumerate(stations)}
    wip_int = 0.0
    for b in net.buffers:
        i = by_id[b.id]
        ne = (bf[i, 1] + _clip(bf[i, 3], bf[i, 4], warm, end)) / safe if np.isfinite(bf[i, 3]) else 0.0
        kwh = hours * (ne * b.power.get("running", 0.0) + (1 - ne) * b.power.get("idle", 0.0))
        level_w = lvl_w[i, 0] - lvl_w[i, 1]
        buffers.append(BufferStats(b.id, float(bf[i, 0]) / safe, int(max(bf[i, 2], level_w)), kwh,
                                   int(bf[i, 6]), int(bf[i, 7])))
        wip_int += float(bf[i, 0])
    # parts in the system: held by a blocked source, in buffers, or on a station
    wip_int += float(fs[SRC_BLOCK] + st[:, 0].sum() + st[:, 1].sum() + st[:, 2].sum())
    exits = int(ist[EXITS])
    lt = float(fs[LT_SUM]) / exits if exits else math.nan
    var = float(fs[LT_SQ]) / exits - lt * lt if exits > 1 else math.nan
    soj = float(fs[SOJ])
    energy = sum(s.energy_kwh for s in out) + sum(b.energy_kwh for b in buffers)
    return Replication(
        rep=rep, seed=cfg.seed, method="fast", warmup=warm, end=end, events=int(ist[N]) * len(stations),
        exits=exits, throughput=exits / safe, wip=wip_int / safe, lead_time=lt,
        lead_time_sd=math.sqrt(max(var, 0.0)) if exits > 1 else math.nan, lead_time_max=float(fs[LT_MAX]),
        scrapped=0, lost=0, consumed=0, created=int(ist[N] - ist[BW]), wip_start=int(ist[BW] - ist[DW]),
        wip_end=int(ist[N] - ist[DE]),
        little_gap=abs(wip_int - soj) / max(abs(wip_int), 1e-300), energy_kwh=energy, co2e_kg=energy * grid,
        stations=tuple(out), buffers=tuple(buffers), bottleneck=None, bottleneck_share=0.0,
        exits_by_sink=((net.sinks[0].id, exits),), exits_by_product=((net.products[0], exits),),
        lead_time_by_product=((net.products[0], lt),),
    )
