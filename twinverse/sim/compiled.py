"""Compile a :class:`~twinverse.sim.network.Network` into the flat arrays of the kernel.

Also defines the random streams: one ``numpy.random.Generator`` per (element, purpose),
seeded from ``(seed, replication, crc32(key))``. Because the key names the element and
the purpose, two scenarios that share a seed draw the *same* variates for the same
element whatever else changed: common random numbers come for free.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import kernel as K
from .distributions import Distribution
from .network import INF, Blocking, FailureBasis, Network, RouteKind

__all__ = ["Compiled", "Stream", "compile_network", "stream_rng"]


@dataclass(frozen=True)
class Stream:
    """One random stream: its key and what it samples (``None``: uniforms on [0, 1))."""

    key: tuple[str, ...]
    dist: Distribution | None


def stream_rng(seed: int, rep: int, key: tuple[str, ...]) -> np.random.Generator:
    """The generator of stream ``key`` in replication ``rep`` of a run seeded ``seed``."""
    tag = zlib.crc32("\x1f".join(key).encode())
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=seed, spawn_key=(rep, tag))))


@dataclass(frozen=True)
class Compiled:
    """A network as kernel arrays plus the names and streams to interpret them."""

    model: dict[str, np.ndarray[Any, Any]]  # model fields of the kernel layout, by name
    counts: dict[str, int]  # NS, NSERV, … for the header
    streams: tuple[Stream, ...]
    network: Network
    station_ids: tuple[str, ...]
    buffer_ids: tuple[str, ...]
    sink_ids: tuple[str, ...]
    source_ids: tuple[str, ...]
    n_servers: int

    @property
    def n_agents(self) -> int:
        return self.n_servers + len(self.source_ids)


class Layout:
    """Where each named field sits in the kernel's ``I`` and ``F`` arrays."""

    def __init__(self, sizes: dict[str, int]) -> None:
        self.sizes = sizes
        self.offsets: dict[str, int] = {}
        pos = K.HEADER
        for name in K.I_FIELDS:
            self.offsets[name] = pos
            pos += sizes[name]
        self.isize = pos
        pos = K.FHEADER
        for name in K.F_FIELDS:
            self.offsets[name] = pos
            pos += sizes[name]
        self.fsize = pos

    def slot(self, name: str) -> int:
        """The header slot holding ``name``'s offset."""
        return K.HEADER - len(K.I_FIELDS) - len(K.F_FIELDS) + (K.I_FIELDS + K.F_FIELDS).index(name)

    def i(self, arr: np.ndarray[Any, Any], name: str) -> np.ndarray[Any, Any]:
        o = self.offsets[name]
        return arr[o:o + self.sizes[name]]

    f = i


def _i64(x: Any) -> np.ndarray[Any, np.dtype[np.int64]]:
    return np.asarray(x, dtype=np.int64)


def _f64(x: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.asarray(x, dtype=np.float64)


def _toggles(period: float, off: tuple[tuple[float, float], ...]) -> list[tuple[float, int]]:
    """(time within period, off-after) for each change of the on/off state in one period."""
    points = sorted({0.0, *(a % period for a, _ in off), *(b % period for _, b in off)})

    def is_off(t: float) -> int:
        return int(any(a <= t < b for a, b in off))

    out: list[tuple[float, int]] = []
    prev = is_off(points[-1])  # the state just before 0 is that at the period's last point
    for t in points:
        s = is_off(t)
        if s != prev:
            out.append((t, s))
        prev = s
    return out


def compile_network(net: Network, *, track_bottleneck: bool = True) -> Compiled:
    """Build the kernel's static arrays for ``net``."""
    st_ids = tuple(s.id for s in net.stations)
    buf_ids = tuple(b.id for b in net.buffers)
    sink_ids = tuple(k.id for k in net.sinks)
    src_ids = tuple(s.id for s in net.sources)
    bidx = {b: i for i, b in enumerate(buf_ids)}
    kidx = {k: i for i, k in enumerate(sink_ids)}
    pidx = {p: i for i, p in enumerate(net.products)}
    ns, nb, nsrc, npr = len(st_ids), len(buf_ids), len(src_ids), len(net.products)

    streams: list[Stream] = []
    sidx: dict[tuple[str, ...], int] = {}

    def stream(key: tuple[str, ...], dist: Distribution | None) -> int:
        if key not in sidx:
            sidx[key] = len(streams)
            streams.append(Stream(key, dist))
        return sidx[key]

    def dest(t: str) -> int:
        return bidx[t] if t in bidx else -(kidx[t] + 1)

    # stations
    st_nsrv = [s.servers for s in net.stations]
    st_srv0 = np.concatenate([[0], np.cumsum(st_nsrv)[:-1]]).astype(np.int64) if ns else _i64([])
    nserv = int(sum(st_nsrv))
    in_buf: list[int] = []
    in_qty: list[int] = []
    st_in0, st_in1 = [], []
    st_proc = np.zeros((ns, npr), dtype=np.int64)
    st_q, st_scrap, st_rework, st_rwd = [], [], [], []
    setups: list[np.ndarray[Any, np.dtype[np.float64]]] = []
    st_setup = []
    st_fm0: list[int] = []
    st_fm1: list[int] = []
    fm_basis: list[int] = []
    fm_ttf: list[int] = []
    fm_ttr: list[int] = []
    st_cal = []
    cal_index = {c.id: i for i, c in enumerate(c for c in net.calendars if c.off)}
    feeders: dict[str, set[str]] = {b: set() for b in buf_ids}  # buffer -> kinds feeding it
    for s in net.stations:
        for t in (*s.route.targets, *([s.rework_to] if s.rework_to else [])):
            if t in feeders:
                feeders[t].add("station")
    for src in net.sources:
        for t in src.route.targets:
            if t in feeders:
                feeders[t].add("saturated" if src.saturated else "arrivals")
    st_free = []
    for i, s in enumerate(net.stations):
        st_in0.append(len(in_buf))
        for b, q in s.inputs.items():
            in_buf.append(bidx[b])
            in_qty.append(q)
        st_in1.append(len(in_buf))
        first = next(iter(s.inputs))
        st_free.append(K.IDLE if feeders[first] == {"arrivals"} and not s.is_assembly else K.STARVED)
        for p, pname in enumerate(net.products):
            if "*" in s.process:
                st_proc[i, p] = stream(("process", s.id), s.process["*"])
            else:
                st_proc[i, p] = stream(("process", s.id, pname), s.process[pname])
        bad = s.scrap + s.rework
        st_q.append(stream(("quality", s.id), None) if bad > 0 else -1)
        st_scrap.append(s.scrap)
        st_rework.append(s.rework)
        st_rwd.append(dest(s.rework_to) if s.rework_to else 0)
        if s.setup:
            m = np.zeros((npr, npr))
            for a, row in s.setup.items():
                for b2, secs in row.items():
                    m[pidx[a], pidx[b2]] = secs
            st_setup.append(len(setups))
            setups.append(m)
        else:
            st_setup.append(-1)
        st_fm0.append(len(fm_basis))
        for j, f in enumerate(s.failures):
            fm_basis.append(0 if f.basis is FailureBasis.TIME else 1)
            fm_ttf.append(stream(("ttf", s.id, str(j)), f.ttf))
            fm_ttr.append(stream(("ttr", s.id, str(j)), f.ttr))
        st_fm1.append(len(fm_basis))
        st_cal.append(cal_index.get(s.calendar, -1) if s.calendar else -1)

    # routes: owners are stations then sources
    owners = [(s.id, s.route) for s in net.stations] + [(s.id, s.route) for s in net.sources]
    rt_kind: list[int] = []
    rt0: list[int] = []
    rt1: list[int] = []
    rt_dest: list[int] = []
    rt_cum: list[float] = []
    rt_stream: list[int] = []
    rt_prod = np.zeros((len(owners), npr), dtype=np.int64)
    kinds = {RouteKind.SINGLE: K.R_SINGLE, RouteKind.PROBABILITY: K.R_PROB,
             RouteKind.BY_PRODUCT: K.R_PRODUCT, RouteKind.SHORTEST_QUEUE: K.R_SHORTEST}
    for o, (oid, r) in enumerate(owners):
        rt_kind.append(kinds[r.kind])
        rt0.append(len(rt_dest))
        cum = 0.0
        for j, t in enumerate(r.targets):
            rt_dest.append(dest(t))
            cum += r.probabilities[j] if r.probabilities else 0.0
            rt_cum.append(cum)
        if r.kind is RouteKind.PROBABILITY:
            rt_cum[-1] = 1.0  # guard against rounding: the last target takes the rest
        rt1.append(len(rt_dest))
        rt_stream.append(stream(("route", oid), None) if r.kind is RouteKind.PROBABILITY else -1)
        if r.kind is RouteKind.BY_PRODUCT:
            for p, pname in enumerate(net.products):
                rt_prod[o, p] = dest(r.by_product[pname])

    # buffers
    cons: list[int] = []
    buf_c0: list[int] = []
    buf_c1: list[int] = []
    buf_cap: list[int] = []
    buf_supply: list[int] = []
    supply = {src.route.targets[0]: i for i, src in enumerate(net.sources) if src.saturated}
    for buf in net.buffers:
        buf_c0.append(len(cons))
        cons.extend(i for i, s in enumerate(net.stations) if buf.id in s.inputs)
        buf_c1.append(len(cons))
        buf_cap.append(K.INF_CAP if buf.capacity == INF else int(buf.capacity))
        buf_supply.append(supply.get(buf.id, -1))

    # sources
    src_stream, src_mix_stream, src_lose, src_limit = [], [], [], []
    src_mix_cum = np.ones((max(nsrc, 1), npr))
    for i, src in enumerate(net.sources):
        src_stream.append(stream(("arrivals", src.id), src.interarrival) if src.interarrival is not None else -1)
        probs = [src.mix.get(p, 0.0) for p in net.products]
        src_mix_cum[i] = np.cumsum(probs)
        src_mix_cum[i, -1] = 1.0
        nonzero = sum(1 for q in probs if q > 0)
        src_mix_stream.append(stream(("mix", src.id), None) if nonzero > 1 else -1)
        if nonzero == 1:
            # one product: make the cumulative table pick it without a draw
            src_mix_cum[i] = [1.0 if j >= probs.index(max(probs)) else 0.0 for j in range(npr)]
        src_lose.append(1 if src.when_full == "lose" else 0)
        src_limit.append(src.limit if src.limit is not None else -1)

    # calendars
    cal_period: list[float] = []
    cal_t0: list[int] = []
    cal_t1: list[int] = []
    cal_tt: list[float] = []
    cal_toff: list[int] = []
    for c in net.calendars:
        if c.id not in cal_index:
            continue
        cal_period.append(c.period)
        cal_t0.append(len(cal_tt))
        for at, off in _toggles(c.period, c.off):
            cal_tt.append(at)
            cal_toff.append(off)
        cal_t1.append(len(cal_tt))
    nc = len(cal_period)

    ag_station = np.repeat(np.arange(ns, dtype=np.int64), st_nsrv) if ns else _i64([])
    ag_station = np.concatenate([ag_station, np.full(nsrc, -1, dtype=np.int64)])
    nag = nserv + nsrc
    counts = {
        "NS": ns, "NSERV": nserv, "NSRC": nsrc, "NB": nb, "NK": len(sink_ids), "NP": npr, "NM": len(fm_basis),
        "NC": nc, "BBS": 1 if net.blocking is Blocking.BEFORE_SERVICE else 0, "NAG": nag,
        "NSLOT": nag + 2 * ns + nc + 1, "TRACK": 1 if track_bottleneck else 0, "NSTREAM": len(streams),
        "NOWN": len(owners),
    }
    setup_time = np.stack(setups) if setups else np.zeros((0, npr, npr))
    model: dict[str, np.ndarray[Any, Any]] = {
        "st_nsrv": _i64(st_nsrv), "st_srv0": _i64(st_srv0), "st_in0": _i64(st_in0), "st_in1": _i64(st_in1),
        "st_asm": _i64([1 if s.is_assembly else 0 for s in net.stations]), "st_free_acc": _i64(st_free),
        "st_simple": _i64([1 if _simple(s) else 0 for s in net.stations]),
        "in_buf": _i64(in_buf), "in_qty": _i64(in_qty), "st_proc": st_proc.ravel(), "st_qstream": _i64(st_q),
        "st_rework_dest": _i64(st_rwd), "st_setup": _i64(st_setup), "st_fm0": _i64(st_fm0),
        "st_fm1": _i64(st_fm1), "fm_basis": _i64(fm_basis), "fm_ttf": _i64(fm_ttf), "fm_ttr": _i64(fm_ttr),
        "st_cal": _i64(st_cal), "rt_kind": _i64(rt_kind), "rt0": _i64(rt0), "rt1": _i64(rt1),
        "rt_dest": _i64(rt_dest), "rt_stream": _i64(rt_stream), "rt_prod": rt_prod.ravel(),
        "ag_station": ag_station, "buf_cap": _i64(buf_cap), "buf_supply": _i64(buf_supply),
        "buf_c0": _i64(buf_c0), "buf_c1": _i64(buf_c1), "cons": _i64(cons),
        "buf_asm": _i64([int(any(net.stations[c].is_assembly for c in cons[buf_c0[j]:buf_c1[j]]))
                         for j in range(nb)]), "src_stream": _i64(src_stream),
        "src_mix_stream": _i64(src_mix_stream), "src_lose": _i64(src_lose), "src_limit": _i64(src_limit),
        "cal_t0": _i64(cal_t0), "cal_t1": _i64(cal_t1), "cal_toff": _i64(cal_toff),
        "st_scrap": _f64(st_scrap), "st_rework": _f64(st_rework), "setup_time": setup_time.ravel(),
        "rt_cum": _f64(rt_cum), "src_mix_cum": src_mix_cum[:nsrc].ravel(), "cal_period": _f64(cal_period),
        "cal_tt": _f64(cal_tt),
    }
    return Compiled(model, counts, tuple(streams), net, st_ids, buf_ids, sink_ids, src_ids, nserv)


def _state_sizes(c: Compiled, block: int, pool: int, ap_cap: int, wqn: int) -> dict[str, int]:
    n = c.counts
    ns, nb, nag = n["NS"], n["NB"], n["NAG"]
    sizes = {k: len(v) for k, v in c.model.items()}
    per = {
        "heap": n["NSLOT"], "hpos": n["NSLOT"], "htime": n["NSLOT"],
        **dict.fromkeys(("ag_state", "ag_acc", "ag_part", "ag_dest", "ag_next", "ag_last", "ag_res",
                         "ag_since", "ag_rem"), nag),
        **dict.fromkeys(("st_paused", "st_nproc", "st_nact", "st_nfree", "st_done", "st_bad", "st_active",
                         "st_astart", "st_flast"), ns),
        **dict.fromkeys(("buf_head", "buf_tail", "buf_count", "buf_prom", "buf_wh", "buf_wt", "buf_nbas",
                         "buf_max", "buf_enq", "buf_direct", "buf_int", "buf_ne", "buf_last"), nb),
        "st_t": ns * K.NSTATES, "fm_rem": n["NM"], "sink_n": n["NK"], "prod_n": n["NP"], "prod_lt": n["NP"],
        "rv_pos": n["NSTREAM"], "rv": n["NSTREAM"] * block, "wq": wqn, "ap_st": ap_cap, "ap_t0": ap_cap,
        "ap_t1": ap_cap, "cal_k": n["NC"], "cal_cyc": n["NC"], "mark": 2 * nb + 1, "src_made": n["NSRC"],
        **dict.fromkeys(("part_prod", "part_next", "free_stack", "part_birth"), pool),
    }
    sizes.update(per)
    return sizes


def _simple(s: Any) -> bool:
    """Stations the kernel's fused completion path handles (the general path does the rest)."""
    return (not s.is_assembly and s.route.kind is RouteKind.SINGLE and not s.scrap and not s.rework
            and not s.setup and not s.failures)


def new_state(c: Compiled, *, block: int, pool: int, ap_cap: int, t_end: float, target: int,
              cal_offset: float = 0.0, fast: bool = True) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], Layout]:
    """Allocate the kernel arrays of one replication (random blocks are filled by the caller)."""
    n = c.counts
    wqn = 1 << (8 * (n["NAG"] + n["NB"] + n["NS"]) + 64).bit_length()  # a power of two (masking)
    lay = Layout(_state_sizes(c, block, pool, ap_cap, wqn))
    ia = np.zeros(lay.isize, dtype=np.int64)
    fa = np.zeros(lay.fsize)
    for name in K.I_FIELDS + K.F_FIELDS:
        ia[lay.slot(name)] = lay.offsets[name]
    for key, val in n.items():
        ia[getattr(K, key)] = val
    ia[K.BLOCK] = block
    ia[K.POOL] = pool
    ia[K.WQN] = wqn
    ia[K.APCAP] = ap_cap
    ia[K.MARGIN] = n["NAG"] + 16
    ia[K.TARGET] = target
    ia[K.FREE_N] = pool
    ia[K.DEAD_B] = -1
    ia[K.CUR] = -1
    ia[K.FAST] = 1 if fast else 0
    fa[K.T_END] = t_end
    fa[K.CAL_OFF] = cal_offset
    for name, arr in c.model.items():
        (lay.i(ia, name) if name in K.I_FIELDS else lay.f(fa, name))[:] = arr
    for name in ("hpos", "ag_part", "ag_next", "ag_last", "buf_head", "buf_tail", "buf_wh", "buf_wt", "part_next"):
        lay.i(ia, name)[:] = -1
    lay.f(fa, "part_birth")[:] = -1.0
    lay.i(ia, "free_stack")[:] = np.arange(pool - 1, -1, -1)
    lay.i(ia, "rv_pos")[:] = block
    return ia, fa, lay


def grow_pool(ia: np.ndarray[Any, Any], fa: np.ndarray[Any, Any], lay: Layout,
              pool: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], Layout]:
    """The same state with a part pool of ``pool`` (the pool fields sit at the ends of ia and fa)."""
    old = int(ia[K.POOL])
    sizes = dict(lay.sizes)
    for name in ("part_prod", "part_next", "free_stack", "part_birth"):
        sizes[name] = pool
    new = Layout(sizes)
    ia2 = np.zeros(new.isize, dtype=np.int64)
    fa2 = np.zeros(new.fsize)
    cut_i, cut_f = lay.offsets["part_prod"], lay.offsets["part_birth"]
    ia2[:cut_i] = ia[:cut_i]
    fa2[:cut_f] = fa[:cut_f]
    for name in ("part_prod", "part_next"):
        new.i(ia2, name)[:old] = lay.i(ia, name)
        new.i(ia2, name)[old:] = -1 if name == "part_next" else 0
    new.f(fa2, "part_birth")[:old] = lay.f(fa, "part_birth")
    new.f(fa2, "part_birth")[old:] = -1.0
    free_n = int(ia[K.FREE_N])
    stack = new.i(ia2, "free_stack")
    stack[:free_n] = lay.i(ia, "free_stack")[:free_n]
    stack[free_n:free_n + pool - old] = np.arange(pool - 1, old - 1, -1)
    for name in ("part_prod", "part_next", "free_stack", "part_birth"):
        ia2[new.slot(name)] = new.offsets[name]
    ia2[K.POOL] = pool
    ia2[K.FREE_N] = free_n + pool - old
    return ia2, fa2, new

