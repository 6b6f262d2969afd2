"""The compiled event engine: one numba loop over two flat arrays.

The whole model and the whole dynamic state of a replication live in two arrays:
``I`` (int64) and ``F`` (float64). ``I`` starts with a header of scalars (counts,
counters) followed by one slot per named field holding that field's offset; field
``ag_state`` of agent ``a`` is ``I[I[AG_STATE] + a]``, field ``htime`` of slot ``s`` is
``F[I[HTIME] + s]``. :mod:`twinverse.sim.compiled` builds the layout.

Why so flat: numba passes arrays as borrowed arguments, so a function taking ``(I, F)``
costs two pointers and no reference counting. Structures of ~50 arrays cost minutes of
compilation when passed by value and an atomic reference-count update per field access
when passed by reference; this layout compiles in seconds and runs several times faster.

The loop is *resumable*: it returns a status code whenever Python must act — refill
random-variate blocks, grow the part pool, take a batch of active periods, report
progress — and is called again with the same arrays to continue. So distributions stay
Python strategy objects sampling in bulk, and nothing in here allocates.

The kernel is one module on purpose, larger than our usual modules: numba's on-disk cache
is invalidated by changes to the file a function lives in, not by changes to the files it
calls into or takes constants from, so a kernel split over several files could run stale
compiled code after an edit.

Timers are slots of an indexed binary heap (one per server, source, station failure,
station repair, calendar, plus warm-up): rescheduling leaves no stale entries and the heap
never grows. Ties break by slot number: deterministic. Zero-time consequences of an event
(a freed server pulls a part, which frees a place, which unblocks an upstream server, …)
run from a FIFO work queue rather than by recursion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
from numba.core import types
from numba.extending import intrinsic

# ruff: noqa: E741, SIM108, SIM109  (I and F are the integer and float arrays; plain branches for numba)

# -- integer scalars at the head of I ------------------------------------------------------------
I_SCALARS = (
    "NS", "NSERV", "NSRC", "NB", "NK", "NP", "NM", "NC", "BBS", "NAG", "NSLOT", "TRACK", "BLOCK",
    "NSTREAM", "POOL", "WQN", "APCAP", "MARGIN", "NOWN", "FAST",
    "EXITS", "TARGET", "HN", "FLAG", "EVENTS", "FREE_N", "WIP", "SCRAP", "LOST", "CONSUMED", "CREATED",
    "DEAD_B", "QH", "QT", "AP_N", "CUR", "RESCHED", "WIP0",
)
(NS, NSERV, NSRC, NB, NK, NP, NM, NC, BBS, NAG, NSLOT, TRACK, BLOCK,
 NSTREAM, POOL, WQN, APCAP, MARGIN, NOWN, FAST,
 EXITS, TARGET, HN, FLAG, EVENTS, FREE_N, WIP, SCRAP, LOST, CONSUMED, CREATED,
 DEAD_B, QH, QT, AP_N, CUR, RESCHED, WIP0) = range(38)

# -- float scalars at the head of F ---------------------------------------------------------------
F_SCALARS = ("NOW", "T_END", "T_STAT", "WIP_INT", "WIP_LAST", "LT_SUM", "LT_SQ", "LT_MAX", "SOJ", "CAL_OFF")
NOW, T_END, T_STAT, WIP_INT, WIP_LAST, LT_SUM, LT_SQ, LT_MAX, SOJ, CAL_OFF = range(10)

# -- integer fields (offsets into I), then float fields (offsets into F) --------------------------
#: name -> size expression; sizes are evaluated by compiled.py from the network counts.
I_FIELDS = (
    # model
    "st_nsrv", "st_srv0", "st_in0", "st_in1", "st_asm", "st_simple", "st_free_acc", "in_buf", "in_qty", "st_proc",
    "st_qstream", "st_rework_dest", "st_setup", "st_fm0", "st_fm1", "fm_basis", "fm_ttf", "fm_ttr", "st_cal",
    "rt_kind", "rt0", "rt1", "rt_dest", "rt_stream", "rt_prod", "ag_station", "buf_cap", "buf_supply",
    "buf_c0", "buf_c1", "buf_asm", "cons", "src_stream", "src_mix_stream", "src_lose", "src_limit", "cal_t0", "cal_t1",
    "cal_toff",
    # state
    "heap", "hpos", "ag_state", "ag_acc", "ag_part", "ag_dest", "ag_next", "ag_last", "ag_res",
    "st_paused", "st_nproc", "st_nact", "st_nfree", "st_done", "st_bad", "st_active",
    "buf_head", "buf_tail", "buf_count", "buf_prom", "buf_wh", "buf_wt", "buf_nbas", "buf_max", "buf_enq",
    "buf_direct",
    "sink_n", "prod_n", "rv_pos", "wq", "ap_st", "cal_k", "cal_cyc", "mark", "src_made",
    # the part pool last: it grows
    "part_prod", "part_next", "free_stack",
)
F_FIELDS = (
    "st_scrap", "st_rework", "setup_time", "rt_cum", "src_mix_cum", "cal_period", "cal_tt",
    "htime", "ag_since", "ag_rem", "st_t", "st_astart", "st_flast", "fm_rem", "buf_int", "buf_ne",
    "buf_last", "prod_lt", "ap_t0", "ap_t1", "rv",
    "part_birth",
)
(ST_NSRV, ST_SRV0, ST_IN0, ST_IN1, ST_ASM, ST_SIMPLE, ST_FREE_ACC, IN_BUF, IN_QTY, ST_PROC,
 ST_QSTREAM, ST_REWORK_DEST, ST_SETUP, ST_FM0, ST_FM1, FM_BASIS, FM_TTF, FM_TTR, ST_CAL,
 RT_KIND, RT0, RT1, RT_DEST, RT_STREAM, RT_PROD, AG_STATION, BUF_CAP, BUF_SUPPLY,
 BUF_C0, BUF_C1, BUF_ASM, CONS, SRC_STREAM, SRC_MIX_STREAM, SRC_LOSE, SRC_LIMIT, CAL_T0, CAL_T1,
 CAL_TOFF,
 HEAP, HPOS, AG_STATE, AG_ACC, AG_PART, AG_DEST, AG_NEXT, AG_LAST, AG_RES,
 ST_PAUSED, ST_NPROC, ST_NACT, ST_NFREE, ST_DONE, ST_BAD, ST_ACTIVE,
 BUF_HEAD, BUF_TAIL, BUF_COUNT, BUF_PROM, BUF_WH, BUF_WT, BUF_NBAS, BUF_MAX, BUF_ENQ,
 BUF_DIRECT,
 SINK_N, PROD_N, RV_POS, WQ, AP_ST, CAL_K, CAL_CYC, MARK, SRC_MADE,
 PART_PROD, PART_NEXT, FREE_STACK,
 ST_SCRAP, ST_REWORK, SETUP_TIME, RT_CUM, SRC_MIX_CUM, CAL_PERIOD, CAL_TT,
 HTIME, AG_SINCE, AG_REM, ST_T, ST_ASTART, ST_FLAST, FM_REM, BUF_INT, BUF_NE,
 BUF_LAST, PROD_LT, AP_T0, AP_T1, RV,
 PART_BIRTH) = range(38, 38 + len(I_FIELDS) + len(F_FIELDS))
HEADER = 38 + len(I_FIELDS) + len(F_FIELDS)
FHEADER = len(F_SCALARS)

# Accounting states (index into STATES of network.py) and agent states.
IDLE, STARVED, BUSY, BLOCKED, DOWN, SETUP, OFF = range(7)
NSTATES = 7
A_FREE, A_SETUP, A_BUSY, A_BLOCKED, A_WAIT, A_ARRIVING, A_DONE = range(7)
# Route kinds.
R_SINGLE, R_PROB, R_PRODUCT, R_SHORTEST = range(4)
# Flags and return codes.
F_REFILL, F_DEADLOCK, F_QUEUE, F_GROW, F_FLUSH = 1, 2, 4, 8, 16
DONE, REFILL, GROW, FLUSH, DEADLOCK, PAUSE, STALL, QUEUE_OVERFLOW = range(8)
# Work-queue item kinds.
W_FREE, W_NOTIFY, W_CHECK = range(3)
# Pause bits.
P_DOWN, P_OFF = 1, 2
SCRAP_DEST = -(1 << 40)
INF_CAP = 1 << 60

__all__ = ["F_FIELDS", "F_SCALARS", "HEADER", "I_FIELDS", "I_SCALARS", "init", "run", "ui"]

_Fn = TypeVar("_Fn", bound=Callable[..., Any])
# No reference counting is needed (nothing allocates), and none is wanted (see above).
_njit = numba.njit(cache=True, nogil=True, _nrt=False)  # type: ignore[call-overload]


@intrinsic
def _unsigned(typingctx: Any, x: Any) -> Any:
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return args[0]

    return types.uint64(types.int64), codegen


#: ``x`` as an unsigned index (a no-op reinterpretation). numba then skips the negative-index
#: wrap-around it otherwise adds to every access: a third of the kernel's instructions. Every
#: index in the kernel is non-negative by construction.
ui = cast(Callable[[Any], Any], _unsigned)


def _jit(fn: _Fn) -> _Fn:
    """Compile ``fn`` with numba, keeping its signature for the type checker."""
    return cast(_Fn, _njit(fn))


_inline_njit = numba.njit(cache=True, nogil=True, _nrt=False, inline="always")  # type: ignore[call-overload]


def _inl(fn: _Fn) -> _Fn:
    """Like :func:`_jit`, inlined into callers by numba (hot, small, few call sites)."""
    return cast(_Fn, _inline_njit(fn))


# -- random variates ---------------------------------------------------------------------------
@_jit
def draw(I: Any, F: Any, k: int) -> float:
    o = I[RV_POS] + k
    block = I[BLOCK]
    base = I[RV] + k * block
    p = I[ui(o)]
    I[ui(o)] = p + 1
    if p + 1 >= block - I[MARGIN]:
        I[FLAG] |= F_REFILL
    return F[ui(base + p)]  # type: ignore[no-any-return]


# -- indexed heap ------------------------------------------------------------------------------
@_jit
def _sift_up(I: Any, F: Any, i: int) -> None:
    h = I[HEAP]
    hp = I[HPOS]
    ht = I[HTIME]
    x = I[ui(h + i)]
    tx = F[ui(ht + x)]
    while i > 0:
        parent = (i - 1) >> 1
        y = I[ui(h + parent)]
        ty = F[ui(ht + y)]
        if tx < ty or (tx == ty and x < y):
            I[ui(h + i)] = y
            I[ui(hp + y)] = i
            i = parent
        else:
            break
    I[ui(h + i)] = x
    I[ui(hp + x)] = i


@_jit
def _sift_down(I: Any, F: Any, i: int) -> None:
    h = I[HEAP]
    hp = I[HPOS]
    ht = I[HTIME]
    n = I[HN]
    x = I[ui(h + i)]
    tx = F[ui(ht + x)]
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        y = I[ui(h + c)]
        ty = F[ui(ht + y)]
        if c + 1 < n:
            z = I[ui(h + c + 1)]
            tz = F[ui(ht + z)]
            if tz < ty or (tz == ty and z < y):
                c += 1
                y = z
                ty = tz
        if ty < tx or (ty == tx and y < x):
            I[ui(h + i)] = y
            I[ui(hp + y)] = i
            i = c
        else:
            break
    I[ui(h + i)] = x
    I[ui(hp + x)] = i


@_inl
def schedule(I: Any, F: Any, slot: int, t: float) -> None:
    """Set timer ``slot`` to fire at ``t`` (insert or move it)."""
    ht = I[HTIME] + slot
    ohp = I[HPOS] + slot
    oh = I[HEAP]
    old = F[ui(ht)]
    F[ui(ht)] = t
    if slot == I[CUR]:
        I[RESCHED] = 1
    i = I[ui(ohp)]
    if i < 0:
        i = I[HN]
        I[HN] = i + 1
        I[ui(oh + i)] = slot
        I[ui(ohp)] = i
        _sift_up(I, F, i)
    elif t < old:
        _sift_up(I, F, i)
    else:
        _sift_down(I, F, i)


@_jit
def _remove_at(I: Any, F: Any, i: int) -> None:
    h = I[HEAP]
    hp = I[HPOS]
    slot = I[ui(h + i)]
    I[ui(hp + slot)] = -1
    n = I[HN] - 1
    I[HN] = n
    if i < n:
        last = I[ui(h + n)]
        I[ui(h + i)] = last
        I[ui(hp + last)] = i
        _sift_down(I, F, i)
        _sift_up(I, F, I[ui(hp + last)])


@_jit
def cancel(I: Any, F: Any, slot: int) -> None:
    i = I[ui(I[HPOS] + slot)]
    if i >= 0:
        _remove_at(I, F, i)


# -- work queue ----------------------------------------------------------------------------------
@_jit
def enqueue_work(I: Any, kind: int, ident: int) -> None:
    n = I[WQN]  # a power of two
    t = I[QT]
    if t - I[QH] >= n:
        I[FLAG] |= F_QUEUE
        return
    I[ui(I[WQ] + (t & (n - 1)))] = kind * (1 << 32) + ident
    I[QT] = t + 1


# -- statistics ---------------------------------------------------------------------------------
@_jit
def _eff(I: Any, s: int, acc: int) -> int:
    p = I[ui(I[ST_PAUSED] + s)]
    if p & P_OFF:
        return OFF
    if p & P_DOWN:
        return DOWN
    return acc


@_jit
def set_acc(I: Any, F: Any, a: int, acc: int) -> None:
    """Agent ``a`` (a server) enters accounting state ``acc``."""
    o = I[AG_ACC] + a
    so = I[AG_SINCE] + a
    st = I[ST_T]
    s = I[ui(I[AG_STATION] + a)]
    now = F[NOW]
    old = _eff(I, s, I[ui(o)])
    F[ui(st + s * NSTATES + old)] += now - F[ui(so)]
    F[ui(so)] = now
    I[ui(o)] = acc


@_jit
def flush_station(I: Any, F: Any, s: int) -> None:
    now = F[NOW]
    a0 = I[ui(I[ST_SRV0] + s)]
    for a in range(a0, a0 + I[ui(I[ST_NSRV] + s)]):
        so = I[AG_SINCE] + a
        F[ui(I[ST_T] + s * NSTATES + _eff(I, s, I[ui(I[AG_ACC] + a)]))] += now - F[ui(so)]
        F[ui(so)] = now


@_jit
def _record_period(I: Any, F: Any, s: int, t0: float, t1: float) -> None:
    n = I[AP_N]
    I[ui(I[AP_ST] + n)] = s
    F[ui(I[AP_T0] + n)] = t0
    F[ui(I[AP_T1] + n)] = t1
    I[AP_N] = n + 1
    if n + 1 >= I[APCAP] - 2 * I[NS] - 2:
        I[FLAG] |= F_FLUSH  # Python takes the batch before the buffer can overflow


@_jit
def upd_active(I: Any, F: Any, s: int) -> None:
    """Track active periods (busy, setup or down, not off) for the bottleneck analysis."""
    if I[TRACK] == 0:
        return
    p = I[ui(I[ST_PAUSED] + s)]
    act = 1 if ((p & P_OFF) == 0 and (I[ui(I[ST_NACT] + s)] > 0 or (p & P_DOWN) != 0)) else 0
    o = I[ST_ACTIVE] + s
    if act == I[ui(o)]:
        return
    now = F[NOW]
    I[ui(o)] = act
    if act:
        F[ui(I[ST_ASTART] + s)] = now
    else:
        t0 = F[ui(I[ST_ASTART] + s)]
        if now > t0:
            _record_period(I, F, s, t0, now)


@_jit
def wip_change(I: Any, F: Any, delta: int) -> None:
    now = F[NOW]
    F[WIP_INT] += I[WIP] * (now - F[WIP_LAST])
    F[WIP_LAST] = now
    I[WIP] += delta


@_jit
def buf_change(I: Any, F: Any, b: int, delta: int) -> None:
    oc = I[BUF_COUNT] + b
    ol = I[BUF_LAST] + b
    oi = I[BUF_INT] + b
    on = I[BUF_NE] + b
    om = I[BUF_MAX] + b
    now = F[NOW]
    c = I[ui(oc)]
    dt = now - F[ui(ol)]
    F[ui(oi)] += c * dt
    if c > 0:
        F[ui(on)] += dt
    F[ui(ol)] = now
    c += delta
    I[ui(oc)] = c
    if c > I[ui(om)]:
        I[ui(om)] = c


# -- parts ---------------------------------------------------------------------------------------
@_jit
def new_part(I: Any, F: Any, prod: int) -> int:
    n = I[FREE_N] - 1
    I[FREE_N] = n
    if n < I[MARGIN]:
        I[FLAG] |= F_GROW
    p = I[ui(I[FREE_STACK] + n)]
    F[ui(I[PART_BIRTH] + p)] = F[NOW]
    I[ui(I[PART_PROD] + p)] = prod
    I[ui(I[PART_NEXT] + p)] = -1
    I[CREATED] += 1
    wip_change(I, F, 1)
    return p  # type: ignore[no-any-return]


@_jit
def _release(I: Any, F: Any, p: int) -> None:
    now = F[NOW]
    ob = I[PART_BIRTH] + p
    F[SOJ] += now - max(F[ui(ob)], F[T_STAT])
    F[ui(ob)] = -1.0
    I[ui(I[FREE_STACK] + I[FREE_N])] = p
    I[FREE_N] += 1
    wip_change(I, F, -1)


@_jit
def part_exit(I: Any, F: Any, p: int, sink: int) -> None:
    lt = F[NOW] - F[ui(I[PART_BIRTH] + p)]
    I[EXITS] += 1
    I[ui(I[SINK_N] + sink)] += 1
    pr = I[ui(I[PART_PROD] + p)]
    I[ui(I[PROD_N] + pr)] += 1
    F[ui(I[PROD_LT] + pr)] += lt
    F[LT_SUM] += lt
    F[LT_SQ] += lt * lt
    if lt > F[LT_MAX]:
        F[LT_MAX] = lt
    _release(I, F, p)


@_jit
def _product(I: Any, F: Any, src: int) -> int:
    k = I[ui(I[SRC_MIX_STREAM] + src)]
    if k < 0:
        return 0
    u = draw(I, F, k)
    np_ = I[NP]
    base = I[SRC_MIX_CUM] + src * np_
    pr = 0
    while pr < np_ - 1 and u >= F[ui(base + pr)]:
        pr += 1
    return pr


# -- failures ------------------------------------------------------------------------------------
@_jit
def _clock_runs(I: Any, s: int, m: int) -> bool:
    if I[ui(I[ST_PAUSED] + s)] != 0:
        return False
    return I[ui(I[FM_BASIS] + m)] == 0 or I[ui(I[ST_NPROC] + s)] > 0  # type: ignore[no-any-return]


@_jit
def fail_update(I: Any, F: Any, s: int) -> None:
    now = F[NOW]
    ol = I[ST_FLAST] + s
    dt = now - F[ui(ol)]
    if dt > 0.0:
        for m in range(I[ui(I[ST_FM0] + s)], I[ui(I[ST_FM1] + s)]):
            if _clock_runs(I, s, m):
                F[ui(I[FM_REM] + m)] -= dt
    F[ui(ol)] = now


@_jit
def fail_resched(I: Any, F: Any, s: int) -> None:
    best = np.inf
    for m in range(I[ui(I[ST_FM0] + s)], I[ui(I[ST_FM1] + s)]):
        r = F[ui(I[FM_REM] + m)]
        if _clock_runs(I, s, m) and r < best:
            best = r
    slot = I[NAG] + s
    if best < np.inf:
        schedule(I, F, slot, F[NOW] + max(best, 0.0))
    else:
        cancel(I, F, slot)


# -- routing -------------------------------------------------------------------------------------
@_jit
def _queue_len(I: Any, d: int) -> int:
    if d < 0:
        return 0
    q = I[ui(I[BUF_COUNT] + d)] + I[ui(I[BUF_PROM] + d)] + I[ui(I[BUF_NBAS] + d)]
    for i in range(I[ui(I[BUF_C0] + d)], I[ui(I[BUF_C1] + d)]):
        c = I[ui(I[CONS] + i)]
        q += I[ui(I[ST_NSRV] + c)] - I[ui(I[ST_NFREE] + c)]
    return q  # type: ignore[no-any-return]


@_jit
def route(I: Any, F: Any, owner: int, p: int) -> int:
    """Next element for part ``p`` leaving ``owner`` (a station, or NS + a source)."""
    k = I[ui(I[RT_KIND] + owner)]
    i0 = I[ui(I[RT0] + owner)]
    rd = I[RT_DEST]
    if k == R_SINGLE:
        return I[ui(rd + i0)]  # type: ignore[no-any-return]
    if k == R_PROB:
        u = draw(I, F, I[ui(I[RT_STREAM] + owner)])
        i = i0
        last = I[ui(I[RT1] + owner)] - 1
        while i < last and u >= F[ui(I[RT_CUM] + i)]:
            i += 1
        return I[ui(rd + i)]  # type: ignore[no-any-return]
    if k == R_PRODUCT:
        return I[ui(I[RT_PROD] + owner * I[NP] + I[ui(I[PART_PROD] + p)])]  # type: ignore[no-any-return]
    best = I[ui(rd + i0)]
    bq = _queue_len(I, best)
    for i in range(i0 + 1, I[ui(I[RT1] + owner)]):
        q = _queue_len(I, I[ui(rd + i)])
        if q < bq:
            bq = q
            best = I[ui(rd + i)]
    return best  # type: ignore[no-any-return]


@_jit
def decide(I: Any, F: Any, s: int, p: int) -> int:
    """Where a part finished at station ``s`` goes: scrap, rework or its route."""
    k = I[ui(I[ST_QSTREAM] + s)]
    if k >= 0:
        u = draw(I, F, k)
        scrap = F[ui(I[ST_SCRAP] + s)]
        if u < scrap:
            I[ui(I[ST_BAD] + s)] += 1
            return SCRAP_DEST
        if u < scrap + F[ui(I[ST_REWORK] + s)]:
            I[ui(I[ST_BAD] + s)] += 1
            return I[ui(I[ST_REWORK_DEST] + s)]  # type: ignore[no-any-return]
    if I[ui(I[RT_KIND] + s)] == R_SINGLE:
        return I[ui(I[RT_DEST] + I[ui(I[RT0] + s)])]  # type: ignore[no-any-return]
    return route(I, F, s, p)


# -- buffers -------------------------------------------------------------------------------------
@_inl
def _enq(I: Any, F: Any, b: int, p: int) -> None:
    pn = I[PART_NEXT]
    ot = I[BUF_TAIL] + b
    oh = I[BUF_HEAD] + b
    asm = I[ui(I[BUF_ASM] + b)]
    I[ui(pn + p)] = -1
    t = I[ui(ot)]
    if t < 0:
        I[ui(oh)] = p
    else:
        I[ui(pn + t)] = p
    I[ui(ot)] = p
    I[ui(I[BUF_ENQ] + b)] += 1
    buf_change(I, F, b, 1)
    if asm:
        for i in range(I[ui(I[BUF_C0] + b)], I[ui(I[BUF_C1] + b)]):
            c = I[ui(I[CONS] + i)]
            if I[ui(I[ST_ASM] + c)]:
                enqueue_work(I, W_CHECK, c)


@_inl
def _deq(I: Any, F: Any, b: int) -> int:
    oh = I[BUF_HEAD] + b
    ot = I[BUF_TAIL] + b
    pn = I[PART_NEXT]
    p = I[ui(oh)]
    nxt = I[ui(pn + p)]
    I[ui(oh)] = nxt
    if nxt < 0:
        I[ui(ot)] = -1
    buf_change(I, F, b, -1)
    return p  # type: ignore[no-any-return]


@_jit
def _free_consumer(I: Any, b: int) -> int:
    """A free server of an unpaused single-input station fed by ``b``, or -1."""
    for i in range(I[ui(I[BUF_C0] + b)], I[ui(I[BUF_C1] + b)]):
        c = I[ui(I[CONS] + i)]
        if I[ui(I[ST_ASM] + c)] == 0 and I[ui(I[ST_NFREE] + c)] > 0 and I[ui(I[ST_PAUSED] + c)] == 0:
            a0 = I[ui(I[ST_SRV0] + c)]
            for a in range(a0, a0 + I[ui(I[ST_NSRV] + c)]):
                if I[ui(I[AG_STATE] + a)] == A_FREE:
                    return a
    return -1


@_jit
def _space(I: Any, b: int) -> int:
    """Places of ``b`` not yet promised (blocking before service)."""
    cap = I[ui(I[BUF_CAP] + b)]
    if cap >= INF_CAP:
        return INF_CAP
    idle = 0
    for i in range(I[ui(I[BUF_C0] + b)], I[ui(I[BUF_C1] + b)]):
        c = I[ui(I[CONS] + i)]
        if I[ui(I[ST_ASM] + c)] == 0 and I[ui(I[ST_PAUSED] + c)] == 0:
            idle += I[ui(I[ST_NFREE] + c)]
    return cap + idle - I[ui(I[BUF_COUNT] + b)] - I[ui(I[BUF_PROM] + b)]  # type: ignore[no-any-return]


@_jit
def deliver(I: Any, F: Any, b: int, p: int) -> bool:
    """Hand ``p`` to an idle consumer of ``b`` or store it in ``b``; False if full."""
    count = I[ui(I[BUF_COUNT] + b)]
    if count == 0:
        a = _free_consumer(I, b)
        if a >= 0:
            I[ui(I[BUF_DIRECT] + b)] += 1
            start_part(I, F, a, p)
            return True
    if count < I[ui(I[BUF_CAP] + b)]:
        _enq(I, F, b, p)
        return True
    return False


@_jit
def try_push(I: Any, F: Any, p: int, d: int) -> bool:
    """An unreserved push (blocking after service, or a source)."""
    if d < 0:
        part_exit(I, F, p, -d - 1)
        return True
    if I[ui(I[BUF_WH] + d)] >= 0:
        return False  # queue behind the agents already waiting
    if I[BBS] and _space(I, d) <= 0:
        return False
    return deliver(I, F, d, p)


@_jit
def add_waiter(I: Any, b: int, a: int) -> None:
    an = I[AG_NEXT]
    I[ui(an + a)] = -1
    ot = I[BUF_WT] + b
    t = I[ui(ot)]
    if t < 0:
        I[ui(I[BUF_WH] + b)] = a
    else:
        I[ui(an + t)] = a
    I[ui(ot)] = a
    if I[ui(I[AG_STATE] + a)] == A_BLOCKED:
        I[ui(I[BUF_NBAS] + b)] += 1


@_jit
def pop_waiter(I: Any, b: int) -> int:
    oh = I[BUF_WH] + b
    a = I[ui(oh)]
    nxt = I[ui(I[AG_NEXT] + a)]
    I[ui(oh)] = nxt
    if nxt < 0:
        I[ui(I[BUF_WT] + b)] = -1
    if I[ui(I[AG_STATE] + a)] == A_BLOCKED:
        I[ui(I[BUF_NBAS] + b)] -= 1
    return a  # type: ignore[no-any-return]


@_jit
def take(I: Any, F: Any, b: int) -> int:
    """Take the next part from ``b`` (or from a blocked upstream agent, or the supply)."""
    if I[ui(I[BUF_COUNT] + b)] > 0:
        p = _deq(I, F, b)
        if I[ui(I[BUF_WH] + b)] >= 0:
            enqueue_work(I, W_NOTIFY, b)
        return p
    w = I[ui(I[BUF_WH] + b)]
    if w >= 0 and I[ui(I[AG_STATE] + w)] == A_BLOCKED and (I[BBS] == 0 or _space(I, b) > 0):
        pop_waiter(I, b)
        I[ui(I[BUF_DIRECT] + b)] += 1  # passes the buffer without queueing in it
        p = I[ui(I[AG_PART] + w)]
        unblock(I, F, w)
        return p  # type: ignore[no-any-return]
    src = I[ui(I[BUF_SUPPLY] + b)]
    if src >= 0:
        return new_part(I, F, _product(I, F, src))
    return -1


@_jit
def _available(I: Any, b: int) -> int:
    if I[ui(I[BUF_SUPPLY] + b)] >= 0:
        return INF_CAP
    return I[ui(I[BUF_COUNT] + b)] + I[ui(I[BUF_NBAS] + b)]  # type: ignore[no-any-return]


@_jit
def unblock(I: Any, F: Any, a: int) -> None:
    """Agent ``a`` handed its part on: free it (servers pull next, sources arrive next)."""
    I[ui(I[AG_PART] + a)] = -1
    if a < I[NSERV]:
        I[ui(I[AG_STATE] + a)] = A_FREE
        s = I[ui(I[AG_STATION] + a)]
        I[ui(I[ST_NFREE] + s)] += 1
        set_acc(I, F, a, I[ui(I[ST_FREE_ACC] + s)])
        enqueue_work(I, W_FREE, a)
    else:
        next_arrival(I, F, a - I[NSERV])


@_jit
def notify(I: Any, F: Any, b: int) -> None:
    """Room may have freed in ``b``: move waiting agents in, first come first served."""
    while I[ui(I[BUF_WH] + b)] >= 0:
        w = I[ui(I[BUF_WH] + b)]
        if I[ui(I[AG_STATE] + w)] == A_BLOCKED:
            count = I[ui(I[BUF_COUNT] + b)]
            if (count == 0 and _free_consumer(I, b) >= 0) or count < I[ui(I[BUF_CAP] + b)]:
                if I[BBS] and _space(I, b) <= 0:
                    break  # every place is promised to a reservation
                pop_waiter(I, b)
                deliver(I, F, b, I[ui(I[AG_PART] + w)])
                unblock(I, F, w)
            else:
                break
        else:  # waiting to start (blocking before service)
            if _space(I, b) > 0:
                pop_waiter(I, b)
                I[ui(I[BUF_PROM] + b)] += 1
                I[ui(I[AG_RES] + w)] = 1
                begin(I, F, w)
            else:
                break


# -- servers -------------------------------------------------------------------------------------
@_jit
def start_part(I: Any, F: Any, a: int, p: int) -> None:
    """Free server ``a`` receives part ``p``."""
    s = I[ui(I[AG_STATION] + a)]
    I[ui(I[ST_NFREE] + s)] -= 1
    I[ui(I[AG_PART] + a)] = p
    if I[BBS]:
        d = decide(I, F, s, p)
        I[ui(I[AG_DEST] + a)] = d
        I[ui(I[AG_RES] + a)] = 0
        if d >= 0:
            if _space(I, d) > 0 and I[ui(I[BUF_WH] + d)] < 0:
                I[ui(I[BUF_PROM] + d)] += 1
                I[ui(I[AG_RES] + a)] = 1
            else:
                I[ui(I[AG_STATE] + a)] = A_WAIT
                set_acc(I, F, a, BLOCKED)
                add_waiter(I, d, a)
                check_deadlock(I, d)
                return
    if I[ui(I[ST_SETUP] + s)] >= 0 or I[ui(I[ST_PAUSED] + s)] != 0 or I[ui(I[ST_FM1] + s)] > I[ui(I[ST_FM0] + s)]:
        begin(I, F, a)
        return
    # The common case written out (no setup, no failures, not paused): one call less per part.
    pr = I[ui(I[PART_PROD] + p)]
    I[ui(I[AG_LAST] + a)] = pr
    I[ui(I[ST_NACT] + s)] += 1
    I[ui(I[ST_NPROC] + s)] += 1
    I[ui(I[AG_STATE] + a)] = A_BUSY
    set_acc(I, F, a, BUSY)
    schedule(I, F, a, F[NOW] + draw(I, F, I[ui(I[ST_PROC] + s * I[NP] + pr)]))
    upd_active(I, F, s)


@_jit
def begin(I: Any, F: Any, a: int) -> None:
    """Start the setup (if the product changes) or the processing of the part on ``a``."""
    s = I[ui(I[AG_STATION] + a)]
    pr = I[ui(I[PART_PROD] + I[ui(I[AG_PART] + a)])]
    k = I[ui(I[ST_SETUP] + s)]
    ol = I[AG_LAST] + a
    last = I[ui(ol)]
    I[ui(ol)] = pr
    I[ui(I[ST_NACT] + s)] += 1
    if k >= 0 and last >= 0 and last != pr:
        np_ = I[NP]
        d = F[ui(I[SETUP_TIME] + (k * np_ + last) * np_ + pr)]
        if d > 0.0:
            I[ui(I[AG_STATE] + a)] = A_SETUP
            set_acc(I, F, a, SETUP)
            _run_phase(I, F, a, d)
            upd_active(I, F, s)
            return
    start_process(I, F, a)
    upd_active(I, F, s)


@_jit
def _run_phase(I: Any, F: Any, a: int, d: float) -> None:
    s = I[ui(I[AG_STATION] + a)]
    if I[ui(I[ST_PAUSED] + s)] != 0:
        F[ui(I[AG_REM] + a)] = d  # resumes with the station
    else:
        schedule(I, F, a, F[NOW] + d)


@_jit
def start_process(I: Any, F: Any, a: int) -> None:
    s = I[ui(I[AG_STATION] + a)]
    pr = I[ui(I[PART_PROD] + I[ui(I[AG_PART] + a)])]
    d = draw(I, F, I[ui(I[ST_PROC] + s * I[NP] + pr)])
    I[ui(I[AG_STATE] + a)] = A_BUSY
    set_acc(I, F, a, BUSY)
    if I[ui(I[ST_FM1] + s)] > I[ui(I[ST_FM0] + s)]:
        fail_update(I, F, s)
        I[ui(I[ST_NPROC] + s)] += 1
        fail_resched(I, F, s)
    else:
        I[ui(I[ST_NPROC] + s)] += 1
    _run_phase(I, F, a, d)


@_jit
def finish(I: Any, F: Any, a: int) -> None:
    """Server ``a`` completed processing."""
    s = I[ui(I[AG_STATION] + a)]
    p = I[ui(I[AG_PART] + a)]
    if I[ui(I[ST_FM1] + s)] > I[ui(I[ST_FM0] + s)]:
        fail_update(I, F, s)
        I[ui(I[ST_NPROC] + s)] -= 1
        fail_resched(I, F, s)
    else:
        I[ui(I[ST_NPROC] + s)] -= 1
    I[ui(I[ST_NACT] + s)] -= 1
    I[ui(I[ST_DONE] + s)] += 1
    if I[BBS]:
        d = I[ui(I[AG_DEST] + a)]
    else:
        d = decide(I, F, s, p)
    ok = True
    if d == SCRAP_DEST:
        I[SCRAP] += 1
        _release(I, F, p)
    elif d < 0:
        part_exit(I, F, p, -d - 1)
    elif I[BBS] and I[ui(I[AG_RES] + a)]:
        I[ui(I[BUF_PROM] + d)] -= 1
        I[ui(I[AG_RES] + a)] = 0
        ok = deliver(I, F, d, p)
    else:
        ok = try_push(I, F, p, d)
    if ok:
        I[ui(I[AG_PART] + a)] = -1
        I[ui(I[AG_STATE] + a)] = A_FREE
        I[ui(I[ST_NFREE] + s)] += 1
        set_acc(I, F, a, I[ui(I[ST_FREE_ACC] + s)])
        pull(I, F, a)  # safe to call directly: pull defers everything that could recurse
    else:
        I[ui(I[AG_STATE] + a)] = A_BLOCKED
        I[ui(I[AG_DEST] + a)] = d
        set_acc(I, F, a, BLOCKED)
        add_waiter(I, d, a)
        check_deadlock(I, d)
    upd_active(I, F, s)


@_jit
def complete_simple(I: Any, F: Any, a: int, s: int) -> None:
    """``finish`` + ``pull`` written out for a simple station (see ``st_simple``).

    Most events of most lines are a simple station finishing a part, passing it on and
    taking the next one; doing that in one function halves the cost of an event. The
    result is identical to the general path (a test runs both and compares). Field
    offsets are read into locals first: after a store into ``I`` the compiler must
    otherwise assume the header changed and reload every offset.
    """
    o_part = I[AG_PART]
    o_nproc = I[ST_NPROC]
    o_nact = I[ST_NACT]
    o_count = I[BUF_COUNT]
    o_wh = I[BUF_WH]
    p = I[ui(o_part + a)]
    I[ui(I[ST_DONE] + s)] += 1
    d = I[ui(I[RT_DEST] + I[ui(I[RT0] + s)])]
    # The station's processing/active counts stay as they are if it goes straight on to
    # its next part; the paths that stop (blocked, idle) lower them.
    ok = True
    if d < 0:
        part_exit(I, F, p, -d - 1)
    elif I[ui(o_wh + d)] >= 0:
        ok = False
    else:
        count = I[ui(o_count + d)]
        delivered = False
        if count == 0:
            a2 = _free_consumer(I, d)
            if a2 >= 0:
                I[ui(I[BUF_DIRECT] + d)] += 1
                start_part(I, F, a2, p)
                delivered = True
        if not delivered:
            if count < I[ui(I[BUF_CAP] + d)]:
                _enq(I, F, d, p)
            else:
                ok = False
    if not ok:
        I[ui(o_nproc + s)] -= 1
        I[ui(o_nact + s)] -= 1
        I[ui(I[AG_STATE] + a)] = A_BLOCKED
        I[ui(I[AG_DEST] + a)] = d
        set_acc(I, F, a, BLOCKED)
        add_waiter(I, d, a)
        check_deadlock(I, d)
        upd_active(I, F, s)
        return
    b = I[ui(I[IN_BUF] + I[ui(I[ST_IN0] + s)])]
    nxt = -1
    if I[ui(o_count + b)] > 0:
        nxt = _deq(I, F, b)
        if I[ui(o_wh + b)] >= 0:
            enqueue_work(I, W_NOTIFY, b)
    elif I[ui(o_wh + b)] < 0 and I[ui(I[BUF_SUPPLY] + b)] >= 0:
        nxt = new_part(I, F, _product(I, F, I[ui(I[BUF_SUPPLY] + b)]))
    if nxt < 0:  # nothing at hand: the general path (waiting agents, or going idle)
        I[ui(o_nproc + s)] -= 1
        I[ui(o_nact + s)] -= 1
        I[ui(o_part + a)] = -1
        I[ui(I[AG_STATE] + a)] = A_FREE
        I[ui(I[ST_NFREE] + s)] += 1
        set_acc(I, F, a, I[ui(I[ST_FREE_ACC] + s)])
        pull(I, F, a)
        upd_active(I, F, s)
        return
    # Straight on to the next part: the station stays active, no setup (simple station).
    pr = I[ui(I[PART_PROD] + nxt)]
    I[ui(o_part + a)] = nxt
    I[ui(I[AG_LAST] + a)] = pr
    set_acc(I, F, a, BUSY)
    schedule(I, F, a, F[NOW] + draw(I, F, I[ui(I[ST_PROC] + s * I[NP] + pr)]))


@_jit
def pull(I: Any, F: Any, a: int) -> None:
    """Free server ``a`` looks for work."""
    if I[ui(I[AG_STATE] + a)] != A_FREE:
        return
    s = I[ui(I[AG_STATION] + a)]
    if I[ui(I[ST_PAUSED] + s)] != 0:
        return
    if I[ui(I[ST_ASM] + s)]:
        assemble(I, F, s)
        return
    b = I[ui(I[IN_BUF] + I[ui(I[ST_IN0] + s)])]
    if I[ui(I[BUF_COUNT] + b)] > 0:
        p = _deq(I, F, b)
        if I[ui(I[BUF_WH] + b)] >= 0:
            enqueue_work(I, W_NOTIFY, b)
    else:
        p = take(I, F, b)
    if p >= 0:
        start_part(I, F, a, p)
    elif I[ui(I[BUF_WH] + b)] >= 0:
        enqueue_work(I, W_NOTIFY, b)  # an idle server is room for a waiting reservation


@_jit
def assemble(I: Any, F: Any, s: int) -> None:
    """Start as many assemblies as free servers and available inputs allow."""
    i0 = I[ui(I[ST_IN0] + s)]
    i1 = I[ui(I[ST_IN1] + s)]
    while I[ui(I[ST_NFREE] + s)] > 0 and I[ui(I[ST_PAUSED] + s)] == 0:
        for i in range(i0, i1):
            if _available(I, I[ui(I[IN_BUF] + i)]) < I[ui(I[IN_QTY] + i)]:
                return
        a = -1
        a0 = I[ui(I[ST_SRV0] + s)]
        for k in range(a0, a0 + I[ui(I[ST_NSRV] + s)]):
            if I[ui(I[AG_STATE] + k)] == A_FREE:
                a = k
                break
        main = -1
        for i in range(i0, i1):
            for _q in range(I[ui(I[IN_QTY] + i)]):
                p = take(I, F, I[ui(I[IN_BUF] + i)])
                if main < 0:
                    main = p
                else:
                    I[CONSUMED] += 1
                    _release(I, F, p)
        start_part(I, F, a, main)


# -- sources ------------------------------------------------------------------------------------
@_jit
def next_arrival(I: Any, F: Any, src: int) -> None:
    a = I[NSERV] + src
    lim = I[ui(I[SRC_LIMIT] + src)]
    k = I[ui(I[SRC_STREAM] + src)]
    if k < 0 or (lim >= 0 and I[ui(I[SRC_MADE] + src)] >= lim):
        I[ui(I[AG_STATE] + a)] = A_DONE
        return
    I[ui(I[AG_STATE] + a)] = A_ARRIVING
    schedule(I, F, a, F[NOW] + draw(I, F, k))


@_jit
def arrival(I: Any, F: Any, src: int) -> None:
    a = I[NSERV] + src
    I[ui(I[SRC_MADE] + src)] += 1
    p = new_part(I, F, _product(I, F, src))
    d = route(I, F, I[NS] + src, p)
    if try_push(I, F, p, d):
        next_arrival(I, F, src)
    elif I[ui(I[SRC_LOSE] + src)]:
        I[LOST] += 1
        _release(I, F, p)  # born now: adds no time in system
        next_arrival(I, F, src)
    else:
        I[ui(I[AG_STATE] + a)] = A_BLOCKED
        I[ui(I[AG_PART] + a)] = p
        I[ui(I[AG_DEST] + a)] = d
        add_waiter(I, d, a)


# -- pauses: failures and calendars ----------------------------------------------------------------
@_jit
def pause(I: Any, F: Any, s: int, bit: int) -> None:
    op = I[ST_PAUSED] + s
    if I[ui(op)] & bit:
        return
    fail_update(I, F, s)
    flush_station(I, F, s)
    was = I[ui(op)]
    I[ui(op)] = was | bit
    if was == 0:
        now = F[NOW]
        a0 = I[ui(I[ST_SRV0] + s)]
        for a in range(a0, a0 + I[ui(I[ST_NSRV] + s)]):
            st = I[ui(I[AG_STATE] + a)]
            if (st == A_BUSY or st == A_SETUP) and I[ui(I[HPOS] + a)] >= 0:
                F[ui(I[AG_REM] + a)] = F[ui(I[HTIME] + a)] - now
                cancel(I, F, a)
    fail_resched(I, F, s)
    upd_active(I, F, s)


@_jit
def unpause(I: Any, F: Any, s: int, bit: int) -> None:
    op = I[ST_PAUSED] + s
    if (I[ui(op)] & bit) == 0:
        return
    fail_update(I, F, s)
    flush_station(I, F, s)
    I[ui(op)] &= ~bit
    if I[ui(op)] == 0:
        now = F[NOW]
        a0 = I[ui(I[ST_SRV0] + s)]
        for a in range(a0, a0 + I[ui(I[ST_NSRV] + s)]):
            st = I[ui(I[AG_STATE] + a)]
            if st == A_BUSY or st == A_SETUP:
                schedule(I, F, a, now + F[ui(I[AG_REM] + a)])
            elif st == A_FREE:
                enqueue_work(I, W_FREE, a)
        for i in range(I[ui(I[ST_IN0] + s)], I[ui(I[ST_IN1] + s)]):
            b = I[ui(I[IN_BUF] + i)]
            if I[ui(I[BUF_WH] + b)] >= 0:
                enqueue_work(I, W_NOTIFY, b)
    fail_resched(I, F, s)
    upd_active(I, F, s)


@_jit
def on_failure(I: Any, F: Any, s: int) -> None:
    fail_update(I, F, s)
    m = -1
    best = np.inf
    for k in range(I[ui(I[ST_FM0] + s)], I[ui(I[ST_FM1] + s)]):
        r = F[ui(I[FM_REM] + k)]
        if _clock_runs(I, s, k) and r < best:
            best = r
            m = k
    F[ui(I[FM_REM] + m)] = draw(I, F, I[ui(I[FM_TTF] + m)])
    pause(I, F, s, P_DOWN)
    schedule(I, F, I[NAG] + I[NS] + s, F[NOW] + draw(I, F, I[ui(I[FM_TTR] + m)]))


@_jit
def on_calendar(I: Any, F: Any, c: int) -> None:
    off = I[ui(I[CAL_TOFF] + I[ui(I[CAL_K] + c)])]
    for s in range(I[NS]):
        if I[ui(I[ST_CAL] + s)] == c:
            if off:
                pause(I, F, s, P_OFF)
            else:
                unpause(I, F, s, P_OFF)
    next_toggle(I, F, c)


@_jit
def next_toggle(I: Any, F: Any, c: int) -> None:
    ok = I[CAL_K] + c
    k = I[ui(ok)] + 1
    if k >= I[ui(I[CAL_T1] + c)]:
        k = I[ui(I[CAL_T0] + c)]
        I[ui(I[CAL_CYC] + c)] += 1
    I[ui(ok)] = k
    t = I[ui(I[CAL_CYC] + c)] * F[ui(I[CAL_PERIOD] + c)] + F[ui(I[CAL_TT] + k)] - F[CAL_OFF]
    schedule(I, F, I[NAG] + 2 * I[NS] + c, t)


# -- deadlock ------------------------------------------------------------------------------------
@_jit
def check_deadlock(I: Any, b0: int) -> None:
    """Flag a deadlock if ``b0`` belongs to a closed set of full buffers whose consumers all wait.

    The set is a greatest fixed point: start from every buffer reachable through waiting
    servers, drop those with room or a consumer that is not waiting (or waits on a dropped
    buffer), and repeat; anything left can never move again. (A saturated supply feeding a
    buffer does not help: it gives its consumer work, not room.)
    """
    cap = I[ui(I[BUF_CAP] + b0)]
    if I[ui(I[BUF_COUNT] + b0)] < cap or cap >= INF_CAP:
        return  # room downstream
    for i in range(I[ui(I[BUF_C0] + b0)], I[ui(I[BUF_C1] + b0)]):
        c = I[ui(I[CONS] + i)]
        a0 = I[ui(I[ST_SRV0] + c)]
        for a in range(a0, a0 + I[ui(I[ST_NSRV] + c)]):
            st = I[ui(I[AG_STATE] + a)]
            if st != A_BLOCKED and st != A_WAIT:
                return  # the common case: a consumer is working, so parts will move
    nb = I[NB]
    mark = I[MARK]
    stack = mark + nb
    for b in range(nb):
        I[ui(mark + b)] = 0
    I[ui(stack)] = b0
    n = 1
    I[ui(mark + b0)] = 1
    while n > 0:
        n -= 1
        b = I[ui(stack + n)]
        if I[ui(I[BUF_COUNT] + b)] < I[ui(I[BUF_CAP] + b)]:
            I[ui(mark + b)] = 2  # room: whoever waits on it can move
            continue
        for i in range(I[ui(I[BUF_C0] + b)], I[ui(I[BUF_C1] + b)]):
            c = I[ui(I[CONS] + i)]
            a0 = I[ui(I[ST_SRV0] + c)]
            for a in range(a0, a0 + I[ui(I[ST_NSRV] + c)]):
                st = I[ui(I[AG_STATE] + a)]
                d = I[ui(I[AG_DEST] + a)]
                if (st != A_BLOCKED and st != A_WAIT) or d < 0:
                    I[ui(mark + b)] = 2
                elif I[ui(mark + d)] == 0:
                    I[ui(mark + d)] = 1
                    I[ui(stack + n)] = d
                    n += 1
        if I[ui(mark + b0)] == 2:
            return
    changed = True
    while changed:
        changed = False
        for b in range(nb):
            if I[ui(mark + b)] != 1:
                continue
            for i in range(I[ui(I[BUF_C0] + b)], I[ui(I[BUF_C1] + b)]):
                c = I[ui(I[CONS] + i)]
                a0 = I[ui(I[ST_SRV0] + c)]
                for a in range(a0, a0 + I[ui(I[ST_NSRV] + c)]):
                    d = I[ui(I[AG_DEST] + a)]
                    if d < 0 or I[ui(mark + d)] != 1:
                        I[ui(mark + b)] = 2
                        changed = True
    if I[ui(mark + b0)] == 1:
        I[DEAD_B] = b0
        I[FLAG] |= F_DEADLOCK


# -- the loop ------------------------------------------------------------------------------------
@_jit
def drain(I: Any, F: Any) -> None:
    mask = I[WQN] - 1
    wq = I[WQ]
    while I[QH] < I[QT]:
        item = I[ui(wq + (I[QH] & mask))]
        I[QH] += 1
        kind = item >> 32
        ident = item & 0xFFFFFFFF
        if kind == W_FREE:
            pull(I, F, ident)
        elif kind == W_NOTIFY:
            notify(I, F, ident)
        else:
            assemble(I, F, ident)


@_jit
def reset_stats(I: Any, F: Any) -> None:
    """Start collecting statistics now (end of warm-up)."""
    now = F[NOW]
    ns, nb = I[NS], I[NB]
    for s in range(ns):
        flush_station(I, F, s)
        if I[ui(I[ST_ACTIVE] + s)]:
            F[ui(I[ST_ASTART] + s)] = now
    for b in range(nb):
        buf_change(I, F, b, 0)
        I[ui(I[BUF_MAX] + b)] = I[ui(I[BUF_COUNT] + b)]
        I[ui(I[BUF_ENQ] + b)] = 0
        I[ui(I[BUF_DIRECT] + b)] = 0
        F[ui(I[BUF_INT] + b)] = 0.0
        F[ui(I[BUF_NE] + b)] = 0.0
    wip_change(I, F, 0)
    for i in range(ns * NSTATES):
        F[ui(I[ST_T] + i)] = 0.0
    for s in range(ns):
        I[ui(I[ST_DONE] + s)] = 0
        I[ui(I[ST_BAD] + s)] = 0
    for k in range(I[NK]):
        I[ui(I[SINK_N] + k)] = 0
    for k in range(I[NP]):
        I[ui(I[PROD_N] + k)] = 0
        F[ui(I[PROD_LT] + k)] = 0.0
    for k in (WIP_INT, LT_SUM, LT_SQ, LT_MAX, SOJ):
        F[ui(k)] = 0.0
    for k in (EXITS, SCRAP, LOST, CONSUMED, CREATED, AP_N):
        I[ui(k)] = 0
    I[WIP0] = I[WIP]
    F[T_STAT] = now


@_jit
def finalize(I: Any, F: Any, t: float) -> None:
    """Close the books at time ``t``: flush time integrals, count parts still inside."""
    F[NOW] = t
    for s in range(I[NS]):
        flush_station(I, F, s)
        t0 = F[ui(I[ST_ASTART] + s)]
        if I[ui(I[ST_ACTIVE] + s)] and I[TRACK] and t > t0:
            _record_period(I, F, s, t0, t)
    for b in range(I[NB]):
        buf_change(I, F, b, 0)
    wip_change(I, F, 0)
    ts = F[T_STAT]
    pb = I[PART_BIRTH]
    for p in range(I[POOL]):
        birth = F[ui(pb + p)]
        if birth >= 0.0:
            F[SOJ] += t - max(birth, ts)


@_jit
def run(I: Any, F: Any, max_events: int) -> int:
    """Advance the simulation until done or Python must act; returns a status code."""
    nag = I[NAG]
    ns = I[NS]
    nserv = I[NSERV]
    warm_slot = nag + 2 * ns + I[NC]
    budget = I[EVENTS] + max_events
    heap = I[HEAP]
    htime = I[HTIME]
    fast = I[FAST] != 0 and I[BBS] == 0
    while True:
        f = I[FLAG]
        if f:
            if f & F_DEADLOCK:
                return DEADLOCK
            if f & F_QUEUE:
                return QUEUE_OVERFLOW
            if f & F_GROW:
                I[FLAG] &= ~F_GROW
                return GROW
            if f & F_FLUSH:
                I[FLAG] &= ~F_FLUSH
                return FLUSH
            return REFILL
        if I[EVENTS] >= budget:
            return PAUSE
        if I[HN] == 0:
            return STALL
        slot = I[ui(heap)]
        t = F[ui(htime + slot)]
        if t > F[T_END]:
            finalize(I, F, F[T_END])
            return DONE
        # The slot stays at the top while its event runs: a server that finishes and starts
        # its next part then costs one sift instead of a removal plus an insertion.
        I[CUR] = slot
        I[RESCHED] = 0
        F[NOW] = t
        I[EVENTS] += 1
        if slot < nserv:
            s = I[ui(I[AG_STATION] + slot)]
            if fast and I[ui(I[ST_SIMPLE] + s)]:  # simple stations have no setups
                complete_simple(I, F, slot, s)
            elif I[ui(I[AG_STATE] + slot)] == A_SETUP:
                start_process(I, F, slot)
            else:
                finish(I, F, slot)
        elif slot < nag:
            arrival(I, F, slot - nserv)
        elif slot < nag + ns:
            on_failure(I, F, slot - nag)
        elif slot < nag + 2 * ns:
            unpause(I, F, slot - nag - ns, P_DOWN)
        elif slot < warm_slot:
            on_calendar(I, F, slot - nag - 2 * ns)
        else:
            reset_stats(I, F)
        if I[RESCHED] == 0 and I[ui(I[HPOS] + slot)] >= 0:
            _remove_at(I, F, I[ui(I[HPOS] + slot)])
        I[CUR] = -1
        if I[QH] < I[QT]:
            drain(I, F)
        tgt = I[TARGET]
        if tgt > 0 and I[EXITS] >= tgt and I[ui(I[HPOS] + warm_slot)] < 0:
            finalize(I, F, t)
            return DONE


@_jit
def init(I: Any, F: Any, level: Any, down: Any, busy: Any) -> None:
    """Initial state at time 0: buffer levels, stations down (residual repair), busy servers."""
    ns = I[NS]
    nag = I[NAG]
    for a in range(I[NSERV]):
        s = I[ui(I[AG_STATION] + a)]
        I[ui(I[AG_STATE] + a)] = A_FREE
        I[ui(I[AG_ACC] + a)] = I[ui(I[ST_FREE_ACC] + s)]
        I[ui(I[ST_NFREE] + s)] += 1
    for m in range(I[NM]):
        F[ui(I[FM_REM] + m)] = draw(I, F, I[ui(I[FM_TTF] + m)])
    for c in range(I[NC]):
        # Position within the calendar: the last toggle at or before the start offset.
        off = F[CAL_OFF]
        per = F[ui(I[CAL_PERIOD] + c)]
        cyc = np.floor(off / per)
        I[ui(I[CAL_CYC] + c)] = np.int64(cyc)
        pos = off - cyc * per
        t0 = I[ui(I[CAL_T0] + c)]
        t1 = I[ui(I[CAL_T1] + c)]
        k = t0
        while k + 1 < t1 and F[ui(I[CAL_TT] + k + 1)] <= pos:
            k += 1
        if F[ui(I[CAL_TT] + k)] > pos:
            k = t1 - 1  # before the first toggle: in the state of the period's last toggle
            I[ui(I[CAL_CYC] + c)] -= 1
        I[ui(I[CAL_K] + c)] = k
        if I[ui(I[CAL_TOFF] + k)]:
            for s in range(ns):
                if I[ui(I[ST_CAL] + s)] == c:
                    I[ui(I[ST_PAUSED] + s)] |= P_OFF
        next_toggle(I, F, c)
    for b in range(I[NB]):
        for _i in range(level[b]):
            p = new_part(I, F, 0)
            _enq(I, F, b, p)
    for s in range(ns):
        if down[s] >= 0.0:
            pause(I, F, s, P_DOWN)
            schedule(I, F, nag + ns + s, down[s])
        a0 = I[ui(I[ST_SRV0] + s)]
        for a in range(a0, a0 + min(busy[s], I[ui(I[ST_NSRV] + s)])):
            p = new_part(I, F, 0)
            start_part(I, F, a, p)
        fail_resched(I, F, s)
        upd_active(I, F, s)
    for src in range(I[NSRC]):
        next_arrival(I, F, src)
    for a in range(I[NSERV]):
        if I[ui(I[AG_STATE] + a)] == A_FREE:
            enqueue_work(I, W_FREE, a)
    drain(I, F)
