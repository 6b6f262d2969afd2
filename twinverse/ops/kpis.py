"""OEE and production KPIs per ISO 22400-2, from machine-state history and counters.

The time model, from twinverse's machine states (:class:`~twinverse.core.states.MachineState`)
over a window of length ``T``:

=======================  =====================================================  ================
ISO 22400-2 element      twinverse                                              symbol
=======================  =====================================================  ================
planned busy time        ``T`` minus time ``off`` and time with no state known  PBT
actual unit down time    time ``down``                                          ADOT
actual unit setup time   time in ``setup``                                      ASUT
actual production time   PBT − ADOT − ASUT (``running``, ``idle``,              APT
                         ``starved``, ``blocked``)
produced quantity        increase of ``good_count`` + ``reject_count``          PQ
good quantity            increase of ``good_count``                             GQ
scrap quantity           increase of ``reject_count``                           SQ
planned runtime per      twin property ``ideal_cycle_time`` (s), else           PRU
unit                     60 / ``rated_speed`` (units per minute)
=======================  =====================================================  ================

KPIs: availability = APT / PBT, effectiveness (performance) = PRU × PQ / APT, quality ratio
= GQ / PQ (1 when nothing was produced), OEE = availability × effectiveness × quality ratio,
scrap ratio = SQ / PQ, throughput rate = PQ / APT (units per hour), MTTR = ADOT / failures,
MTBF = APT / failures (a failure is an entry into ``down``). These are the simulator's
definitions too (:func:`twinverse.sim.results.station_stats`): idle, starved and blocked time
count as production time, so those losses show in effectiveness, not availability.

A line aggregates its machines as ISO 22400 aggregates work units: the sums of their
times and quantities, so ``availability = ΣAPT / ΣPBT`` and so on, over the machines with a
planned runtime per unit (conveyors and buffers that make nothing are left out; if no
machine has one, over all of them).

Energy and carbon: kWh per state = time in the state × the type's ``power`` for it; CO2e
(location-based, GHG Protocol Scope 2) = kWh × the grid factor the plant file names
(:mod:`twinverse.core.gridfactors`), printed in every report with its year and source.

Counters may be reset: an increase is summed sample to sample, and a drop counts the new
value as counted since the reset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ..core.batch import ts_to_us
from ..core.clock import from_us, to_us
from ..core.gridfactors import grid_factor
from ..core.states import MachineState
from ..errors import InputError
from ..model import Plant
from ..store.base import Aggregate, HistoryQuery, HistoryReader

__all__ = ["LOOKBACK", "KpiService", "Production", "counter_increase", "production_from_series"]

#: How far before a window the state and counters in force at its start are looked for.
LOOKBACK = timedelta(days=7)

_PRODUCTION = {MachineState.RUNNING, MachineState.IDLE, MachineState.STARVED, MachineState.BLOCKED}


@dataclass(frozen=True)
class Production:
    """The ISO 22400 time elements (seconds) and quantities of one work unit over one window."""

    window_s: float
    pbt_s: float
    apt_s: float
    adot_s: float
    asut_s: float
    off_s: float
    no_data_s: float
    failures: int
    pq: float
    gq: float
    pru_s: float | None
    state_s: dict[str, float] = field(default_factory=dict)
    energy_kwh: float = 0.0
    energy_by_state_kwh: dict[str, float] = field(default_factory=dict)

    @staticmethod
    def total(parts: Sequence[Production]) -> Production:
        """A line: the sums of its machines' times and quantities (PRU: the PQ-weighted planned runtime)."""
        s: dict[str, float] = {}
        e: dict[str, float] = {}
        for p in parts:
            for k, v in p.state_s.items():
                s[k] = s.get(k, 0.0) + v
            for k, v in p.energy_by_state_kwh.items():
                e[k] = e.get(k, 0.0) + v
        pq = sum(p.pq for p in parts)
        ideal = sum((p.pru_s or 0.0) * p.pq for p in parts)
        known = all(p.pru_s is not None for p in parts)
        return Production(
            window_s=max((p.window_s for p in parts), default=0.0),
            pbt_s=sum(p.pbt_s for p in parts), apt_s=sum(p.apt_s for p in parts),
            adot_s=sum(p.adot_s for p in parts), asut_s=sum(p.asut_s for p in parts),
            off_s=sum(p.off_s for p in parts), no_data_s=sum(p.no_data_s for p in parts),
            failures=sum(p.failures for p in parts), pq=pq, gq=sum(p.gq for p in parts),
            pru_s=(ideal / pq if pq else None) if known and parts else None, state_s=s,
            energy_kwh=sum(p.energy_kwh for p in parts), energy_by_state_kwh=e,
        )  # fmt: skip

    def kpis(self) -> dict[str, float | None]:
        """The ISO 22400-2 KPIs of these elements (None where a denominator is zero or PRU unknown)."""
        a = self.apt_s / self.pbt_s if self.pbt_s > 0 else None
        e = None if self.pru_s is None or self.apt_s <= 0 else self.pru_s * self.pq / self.apt_s
        q = self.gq / self.pq if self.pq > 0 else 1.0
        return {
            "availability": a,
            "effectiveness": e,
            "quality_ratio": q,
            "oee": a * e * q if a is not None and e is not None else None,
            "scrap_ratio": (self.pq - self.gq) / self.pq if self.pq > 0 else 0.0,
            "throughput_per_h": self.pq / self.apt_s * 3600 if self.apt_s > 0 else None,
            "mttr_s": self.adot_s / self.failures if self.failures else None,
            "mtbf_s": self.apt_s / self.failures if self.failures else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kpis": self.kpis()}


def counter_increase(values: npt.NDArray[np.float64]) -> float:
    """Units counted along a counter's samples: increases summed, a drop (reset) counts its new value."""
    if len(values) < 2:
        return 0.0
    d = np.diff(values)
    return float(np.where(d >= 0, d, values[1:]).sum())


def production_from_series(
    states: Sequence[str],
    state_ts: npt.NDArray[np.int64],
    state_code: npt.NDArray[np.float64],
    start_us: int,
    end_us: int,
    *,
    good: npt.NDArray[np.float64] | None = None,
    reject: npt.NDArray[np.float64] | None = None,
    pru_s: float | None = None,
    power_kw: Mapping[str, float] | None = None,
) -> Production:
    """The time model of one machine from its state samples (a state holds until the next sample).

    ``state_ts``/``state_code`` are sorted; a sample before ``start_us`` gives the state in
    force at the start (else the time until the first sample has no data). ``good`` and
    ``reject`` are counter samples, the last one before the window first.
    """
    if end_us <= start_us:
        raise InputError("the window's end must be after its start")
    ts = np.asarray(state_ts, dtype=np.int64)
    code = np.asarray(state_code, dtype=np.float64)
    before = np.flatnonzero(ts < start_us)
    keep = ts >= start_us
    if len(before):
        keep[before[-1]] = True  # the state in force at the start
    ts, code = ts[keep], code[keep]
    seg_start = np.maximum(ts, start_us)
    seg_end = np.append(ts[1:], end_us).clip(max=end_us)
    inside = seg_start < end_us
    seg_start, seg_end, code = seg_start[inside], seg_end[inside], code[inside]
    dur = (seg_end - seg_start) / 1e6
    no_data = float((seg_start[0] if len(seg_start) else end_us) - start_us) / 1e6
    by_state: dict[str, float] = dict.fromkeys(states, 0.0)
    for c, d in zip(code.astype(np.int64).tolist(), [float(x) for x in dur.tolist()], strict=True):
        if 0 <= c < len(states):
            by_state[states[c]] += d
    kinds: dict[MachineState | None, float] = {}
    for name, d in by_state.items():
        k = MachineState.parse(name)
        kinds[k] = kinds.get(k, 0.0) + d
    off = kinds.get(MachineState.OFF, 0.0)
    down = kinds.get(MachineState.DOWN, 0.0)
    setup = kinds.get(MachineState.SETUP, 0.0)
    window = (end_us - start_us) / 1e6
    pbt = window - off - no_data
    down_codes = [i for i, s in enumerate(states) if MachineState.parse(s) is MachineState.DOWN]
    is_down = np.isin(code, down_codes)
    entered = is_down & ~np.concatenate([[False], is_down[:-1]])
    # A machine already down at the window's start had its failure before the window.
    if len(entered) and len(before) and ts[0] < start_us:
        entered[0] = False
    gq = counter_increase(good) if good is not None else 0.0
    sq = counter_increase(reject) if reject is not None else 0.0
    energy = {s: d / 3600 * (power_kw or {}).get(s, 0.0) for s, d in by_state.items()}
    return Production(
        window_s=window, pbt_s=pbt, apt_s=pbt - down - setup, adot_s=down, asut_s=setup, off_s=off,
        no_data_s=no_data, failures=int(entered.sum()), pq=gq + sq, gq=gq, pru_s=pru_s, state_s=by_state,
        energy_kwh=sum(energy.values()), energy_by_state_kwh=energy,
    )  # fmt: skip


def planned_runtime(properties: Mapping[str, Any]) -> float | None:
    """PRU in seconds per unit from a twin's properties: ``ideal_cycle_time`` (s) or ``rated_speed`` (per min)."""
    for key, scale in (("ideal_cycle_time", None), ("rated_speed", 60.0)):
        v = properties.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
            return float(v) if scale is None else scale / float(v)
    return None


class KpiService:
    """KPIs of a plant's machines and lines over a window, read from the store's history."""

    def __init__(self, plant: Plant, store: HistoryReader) -> None:
        self.plant = plant
        self.store = store

    def _series(self, sid: int | None, start: datetime, end: datetime) -> tuple[npt.NDArray[np.int64],
                                                                               npt.NDArray[np.float64]]:  # fmt: skip
        if sid is None:
            return np.empty(0, np.int64), np.empty(0)
        head = self.store.history(HistoryQuery((sid,), start - LOOKBACK, start, interval=LOOKBACK,
                                               aggregate=Aggregate.LAST))  # fmt: skip
        rows = self.store.history(HistoryQuery((sid,), start, end, limit=10_000_000))
        ts = np.concatenate([ts_to_us(head.column("ts"))[-1:], ts_to_us(rows.column("ts"))])
        if len(head):  # a bucket's time is its start: the state in force is "before the window"
            ts[0] = min(int(ts[0]), to_us(start) - 1)
        v = np.concatenate([np.asarray(head.column("value").to_numpy(), float)[-1:],
                            np.asarray(rows.column("value").to_numpy(), float)])  # fmt: skip
        return ts, v

    def machine(self, twin: str, start: datetime, end: datetime) -> Production:
        """The time model and quantities of one machine (a twin with a ``state`` signal)."""
        states = self.plant.state_names(twin)
        if states is None:
            raise InputError(f"twin {twin!r} reports no state: OEE needs a machine")
        idx = self.plant.signals
        ts, code = self._series(idx.get(twin, "state"), start, end)
        good = self._series(idx.get(twin, "good_count"), start, end)[1]
        reject = self._series(idx.get(twin, "reject_count"), start, end)[1]
        ty = self.plant.type_of(twin)
        return production_from_series(
            states, ts, code, to_us(start), to_us(end), good=good if len(good) else None,
            reject=reject if len(reject) else None, pru_s=planned_runtime(self.plant.twin(twin).properties),
            power_kw=ty.power,
        )  # fmt: skip

    def table(self, start_us: int, end_us: int, within: str | None = None) -> pa.Table:
        """KPIs of every machine (of ``within``'s subtree) over [start, end), as the query service's
        ``kpis(start, end[, twin])`` table function (docs/query.md)."""
        if end_us <= start_us:
            raise InputError("kpis(start, end): the end must be after the start")
        start, end = from_us(start_us), from_us(end_us)
        twins = self.plant.subtree(within) if within is not None else [t.id for t in self.plant]
        machines = [t for t in twins if self.plant.state_names(t) is not None]
        names = ("availability", "effectiveness", "quality_ratio", "oee", "scrap_ratio", "throughput_per_h",
                 "mttr_s", "mtbf_s")  # fmt: skip
        cols: dict[str, list[Any]] = {n: [] for n in names}
        rest: dict[str, list[Any]] = {n: [] for n in ("planned_s", "production_s", "down_s", "setup_s", "failures",
                                                      "produced", "good", "energy_kwh")}  # fmt: skip
        for m in machines:
            p = self.machine(m, start, end)
            k = p.kpis()
            for n in names:
                cols[n].append(k[n])
            for n, v in zip(rest, (p.pbt_s, p.apt_s, p.adot_s, p.asut_s, p.failures, p.pq, p.gq, p.energy_kwh),
                            strict=True):
                rest[n].append(v)
        return pa.table({
            "twin": pa.array(machines, pa.string()),
            "type": pa.array([self.plant.twins[m].type for m in machines], pa.string()),
            **{n: pa.array(v, pa.float64()) for n, v in cols.items()},
            **{n: pa.array(v, pa.int64() if n == "failures" else pa.float64()) for n, v in rest.items()},
        })  # fmt: skip

    def report(self, twin: str, start: datetime, end: datetime) -> dict[str, Any]:
        """KPIs of ``twin`` (a machine) or of every machine in its subtree and their total."""
        if end <= start:
            raise InputError(f"start ({start.isoformat()}) must be before end ({end.isoformat()})")
        machines = [t for t in self.plant.subtree(twin) if self.plant.state_names(t) is not None]
        if not machines:
            raise InputError(f"no machine (a twin with a state signal) in {twin!r}'s subtree")
        per = {m: self.machine(m, start, end) for m in machines}
        # The total covers the production machines (those with a planned runtime per unit):
        # a conveyor between them reports states but makes nothing.
        producing = [p for p in per.values() if p.pru_s is not None] or list(per.values())
        total = Production.total(producing)
        factor = grid_factor(*self.plant.grid)

        def out(p: Production) -> dict[str, Any]:
            co2 = p.energy_kwh * factor.kg_per_kwh
            return {**p.to_dict(), "co2e_kg": co2,
                    "kwh_per_good_unit": p.energy_kwh / p.gq if p.gq else None,
                    "co2e_kg_per_good_unit": co2 / p.gq if p.gq else None}  # fmt: skip

        return {
            "twin": twin,
            "start": from_us(to_us(start)).isoformat(),
            "end": from_us(to_us(end)).isoformat(),
            "grid_factor": factor.to_dict(),
            "total": out(total),
            "machines": {m: out(p) for m, p in per.items()},
        }
