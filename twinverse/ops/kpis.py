"""OEE and production KPIs per ISO 22400-2, from machine-state history and counters, per shift or any range.

The time model of one work unit over a window, from twinverse's machine states
(:class:`~twinverse.core.states.MachineState`) and the plant's shift calendar
(:mod:`twinverse.model.shifts`; without one, the whole window is planned):

=============================  =========================================================  ======
ISO 22400-2 element            twinverse                                                  symbol
=============================  =========================================================  ======
planned operation time         time inside shifts, outside breaks                         POT
planned down time              time ``off`` within POT                                    PDOT
planned busy time              POT − PDOT − time with no state known                      PBT
actual unit down time          time ``down``                                              ADOT
actual unit setup time         time in ``setup``                                          ASUT
actual unit delay time         time ``idle``, ``starved``, ``blocked``                    ADET
actual production time         time ``running``                                           APT
actual unit processing time    APT + ASUT                                                 AUPT
actual unit busy time          AUPT + ADET  (= PBT − ADOT)                                AUBT
produced / good / scrap qty    increases of ``good_count`` + ``reject_count`` / ...       PQ GQ SQ
planned runtime per unit       twin property ``ideal_cycle_time`` (s) or 60/``rated_speed``  PRU
=============================  =========================================================  ======

KPIs: availability = APT / PBT, effectiveness = PRU × PQ / APT, quality ratio = GQ / PQ,
OEE = their product (= PRU × GQ / PBT), technical efficiency = APT / (APT + ADET), setup
rate = ASUT / AUPT, scrap ratio = SQ / PQ, throughput rate = PQ / PBT (per hour), MTTR =
ADOT / failures, MTBF = AUBT / failures (a failure is an entry into ``down``).

The simulator (:func:`twinverse.sim.results.station_stats`) counts idle, starved and blocked
time as production time: its availability is (APT + ADET) / PBT and its performance PRU × PQ
/ (APT + ADET). The products are the same, so OEE agrees; the split differs by ADET.

Energy is counted over the whole window (a machine idling through a break still draws
power): from a meter or power signal when the machine has one (:mod:`twinverse.ops.energy`),
else time in each state × the type's ``power`` for it; CO2e location-based (the grid factor
the plant file names, :mod:`twinverse.core.gridfactors`) and market-based (its instruments).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ..core.batch import ts_to_us
from ..core.clock import from_us, to_us
from ..core.gridfactors import grid_factor, scope2
from ..core.states import MachineState
from ..errors import InputError
from ..model import Plant
from ..model.shifts import ShiftOccurrence
from ..store.base import Aggregate, HistoryQuery, HistoryReader
from ..units import conversion
from .energy import meter_kwh_by_state, power_kwh_by_state

__all__ = ["LOOKBACK", "KpiService", "Production", "counter_increase", "production_from_series"]

#: How far before a window the state and counters in force at its start are looked for.
LOOKBACK = timedelta(days=7)

_DELAY = {MachineState.IDLE, MachineState.STARVED, MachineState.BLOCKED}

Intervals = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]


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
    pot_s: float = 0.0
    adet_s: float = 0.0
    energy_source: str = "power_table"
    energy_compare: dict[str, float] = field(default_factory=dict)

    @property
    def aupt_s(self) -> float:
        return self.apt_s + self.asut_s

    @property
    def aubt_s(self) -> float:
        return self.apt_s + self.asut_s + self.adet_s

    @staticmethod
    def total(parts: Sequence[Production]) -> Production:
        """A line: the sums of its machines' times and quantities (PRU: the PQ-weighted planned runtime)."""
        s: dict[str, float] = {}
        e: dict[str, float] = {}
        cmp: dict[str, float] = {}
        for p in parts:
            for src, dst in ((p.state_s, s), (p.energy_by_state_kwh, e), (p.energy_compare, cmp)):
                for k, v in src.items():
                    dst[k] = dst.get(k, 0.0) + v
        pq = sum(p.pq for p in parts)
        ideal = sum((p.pru_s or 0.0) * p.pq for p in parts)
        known = all(p.pru_s is not None for p in parts)
        sources = sorted({p.energy_source for p in parts})
        return Production(
            window_s=max((p.window_s for p in parts), default=0.0),
            pbt_s=sum(p.pbt_s for p in parts), apt_s=sum(p.apt_s for p in parts),
            adot_s=sum(p.adot_s for p in parts), asut_s=sum(p.asut_s for p in parts),
            off_s=sum(p.off_s for p in parts), no_data_s=sum(p.no_data_s for p in parts),
            failures=sum(p.failures for p in parts), pq=pq, gq=sum(p.gq for p in parts),
            pru_s=(ideal / pq if pq else None) if known and parts else None, state_s=s,
            energy_kwh=sum(p.energy_kwh for p in parts), energy_by_state_kwh=e,
            pot_s=sum(p.pot_s for p in parts), adet_s=sum(p.adet_s for p in parts),
            energy_source="+".join(sources) or "power_table", energy_compare=cmp,
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
            # = A × E × Q where those are defined; also 0 for a unit planned but never running
            "oee": self.pru_s * self.gq / self.pbt_s if self.pru_s is not None and self.pbt_s > 0 else None,
            "technical_efficiency": self.apt_s / (self.apt_s + self.adet_s) if self.apt_s + self.adet_s > 0 else None,
            "setup_rate": self.asut_s / self.aupt_s if self.aupt_s > 0 else None,
            "scrap_ratio": (self.pq - self.gq) / self.pq if self.pq > 0 else 0.0,
            "throughput_per_h": self.pq / self.pbt_s * 3600 if self.pbt_s > 0 else None,
            "mttr_s": self.adot_s / self.failures if self.failures else None,
            "mtbf_s": self.aubt_s / self.failures if self.failures else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "aupt_s": self.aupt_s, "aubt_s": self.aubt_s, "pdot_s": self.off_s,
                "sq": self.pq - self.gq, "kpis": self.kpis()}  # fmt: skip


def counter_increase(values: npt.NDArray[np.float64]) -> float:
    """Units counted along a counter's samples: increases summed, a drop (reset) counts its new value."""
    if len(values) < 2:
        return 0.0
    d = np.diff(values)
    return float(np.where(d >= 0, d, values[1:]).sum())


def _coverage(iv: Intervals, t: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Planned time (µs) in the intervals before each time of ``t``: C(t) = |POT ∩ (-∞, t)|."""
    ps, pe = iv
    if not len(ps):
        return np.zeros(len(t), dtype=np.int64)
    lens = pe - ps
    cum = np.concatenate([[0], np.cumsum(lens)])
    i = np.searchsorted(ps, t, side="right") - 1
    j = np.maximum(i, 0)
    return np.where(i >= 0, cum[j] + np.clip(t - ps[j], 0, lens[j]), 0)


def _in_planned(iv: Intervals, t: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    ps, pe = iv
    i = np.searchsorted(ps, t, side="right") - 1
    return (i >= 0) & (t < pe[np.maximum(i, 0)]) if len(ps) else np.zeros(len(t), dtype=bool)


def _planned_increase(ts: npt.NDArray[np.int64] | None, values: npt.NDArray[np.float64] | None,
                      planned: Intervals | None) -> float:  # fmt: skip
    """A counter's increase, only the increments whose (later) sample falls in planned time when given."""
    if values is None or len(values) < 2:
        return 0.0
    if planned is None or ts is None:
        return counter_increase(values)
    d = np.diff(values)
    d = np.where(d >= 0, d, values[1:])
    return float(d[_in_planned(planned, np.asarray(ts[1:], np.int64))].sum())


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
    planned: Intervals | None = None,
    good_ts: npt.NDArray[np.int64] | None = None,
    reject_ts: npt.NDArray[np.int64] | None = None,
    measured: Mapping[str, tuple[float, npt.NDArray[np.float64]]] | None = None,
) -> Production:
    """The time model of one machine from its state samples (a state holds until the next sample).

    ``state_ts``/``state_code`` are sorted; a sample before ``start_us`` gives the state in
    force at the start (else the time until the first sample has no data). ``good`` and
    ``reject`` are counter samples, the last one before the window first (with ``*_ts``,
    only increments at planned times count). ``planned`` is the planned operation time as
    sorted disjoint µs intervals (default: the whole window). ``measured`` maps ``meter``
    and/or ``power`` to (kWh, kWh per state code) measured over the window.
    """
    if end_us <= start_us:
        raise InputError("the window's end must be after its start")
    if planned is None:
        planned = (np.array([start_us], np.int64), np.array([end_us], np.int64))
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
    window = (end_us - start_us) / 1e6
    wall = (seg_end - seg_start) / 1e6  # the whole window: energy
    # Planned time in whole µs (exact in float64 up to 285 years): APT <= PBT holds exactly.
    dur_us = _coverage(planned, seg_end) - _coverage(planned, seg_start)
    first = np.array([seg_start[0] if len(seg_start) else end_us, start_us], dtype=np.int64)
    cov = _coverage(planned, first)
    no_data = float(cov[0] - cov[1]) / 1e6
    pot = float(_coverage(planned, np.array([end_us]))[0] - cov[1]) / 1e6
    n = len(states)
    ci = code.astype(np.int64)
    ok = (ci >= 0) & (ci < n)
    in_state = np.bincount(ci[ok], weights=dur_us[ok].astype(np.float64), minlength=n)[:n] / 1e6
    wall_state = np.bincount(ci[ok], weights=wall[ok], minlength=n)[:n]
    kind = [MachineState.parse(s) for s in states]
    off_us = int(dur_us[np.isin(ci, [k for k in range(n) if kind[k] is MachineState.OFF])].sum())
    by_state = {s: float(in_state[k]) for k, s in enumerate(states)}

    def of(*ks: MachineState) -> float:
        return float(sum(in_state[k] for k in range(n) if kind[k] in ks))

    off, down, setup = of(MachineState.OFF), of(MachineState.DOWN), of(MachineState.SETUP)
    delay, running = of(*_DELAY), of(MachineState.RUNNING)
    down_codes = [k for k in range(n) if kind[k] is MachineState.DOWN]
    is_down = np.isin(ci, down_codes)
    entered = is_down & ~np.concatenate([[False], is_down[:-1]])
    # A machine already down at the window's start had its failure before the window.
    if len(entered) and len(before) and ts[0] < start_us:
        entered[0] = False
    gq = _planned_increase(good_ts, good, planned if good_ts is not None else None)
    sq = _planned_increase(reject_ts, reject, planned if reject_ts is not None else None)
    table = {s: float(wall_state[k]) / 3600 * (power_kw or {}).get(s, 0.0) for k, s in enumerate(states)}
    compare = {"power_table": sum(table.values())}
    source, energy = "power_table", table
    for name in ("power", "meter"):  # the meter wins over the power signal, both over the table
        if measured and name in measured:
            total, per = measured[name]
            compare[name] = total
            source, energy = name, {s: float(per[k]) for k, s in enumerate(states)}
    pbt = float(int(dur_us.sum()) - off_us) / 1e6  # = POT − PDOT − no data, in whole µs
    return Production(
        window_s=window, pbt_s=pbt, apt_s=running, adot_s=down, asut_s=setup, off_s=off,
        no_data_s=no_data, failures=int(entered.sum()), pq=gq + sq, gq=gq, pru_s=pru_s, state_s=by_state,
        energy_kwh=compare[source], energy_by_state_kwh=energy, pot_s=pot, adet_s=delay, energy_source=source,
        energy_compare=compare if len(compare) > 1 else {},
    )  # fmt: skip


def planned_runtime(properties: Mapping[str, Any]) -> float | None:
    """PRU in seconds per unit from a twin's properties: ``ideal_cycle_time`` (s) or ``rated_speed`` (per min)."""
    for key, scale in (("ideal_cycle_time", None), ("rated_speed", 60.0)):
        v = properties.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
            return float(v) if scale is None else scale / float(v)
    return None


class KpiService:
    """KPIs of a plant's machines and lines over a window, a shift or a day, read from the store's history."""

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

    def planned(self, start: datetime, end: datetime) -> Intervals | None:
        """The planned operation time of ``[start, end)`` from the plant's shifts (None: all of it)."""
        cal = self.plant.shifts
        return None if cal is None else cal.planned(to_us(start), to_us(end))

    def _measured(self, twin: str, ts: npt.NDArray[np.int64], code: npt.NDArray[np.float64], start: datetime,
                  end: datetime, n: int) -> dict[str, tuple[float, npt.NDArray[np.float64]]]:  # fmt: skip
        idx = self.plant.signals
        out: dict[str, tuple[float, npt.NDArray[np.float64]]] = {}
        a, b = to_us(start), to_us(end)
        for name, target in (("power", "kW"), ("energy", "kWh")):
            sid = idx.get(twin, name)
            if sid is None:
                continue
            sig = idx.signal[sid]
            scale = 1.0
            if sig.unit:
                try:
                    scale = conversion(sig.unit, target)[0]
                except Exception:  # a power signal in another dimension (e.g. %) is not energy
                    continue
            pts, pv = self._series(sid, start, end)
            if not len(pts):
                continue
            if name == "power":
                out["power"] = power_kwh_by_state(pts, pv * scale, ts, code, a, b, n)
            else:
                roll = sig.range[1] * scale if sig.range else None
                out["meter"] = meter_kwh_by_state(pts, pv * scale, ts, code, n, roll)
        return out

    def machine(self, twin: str, start: datetime, end: datetime) -> Production:
        """The time model and quantities of one machine (a twin with a ``state`` signal)."""
        states = self.plant.state_names(twin)
        if states is None:
            raise InputError(f"twin {twin!r} reports no state: OEE needs a machine")
        idx = self.plant.signals
        ts, code = self._series(idx.get(twin, "state"), start, end)
        gts, good = self._series(idx.get(twin, "good_count"), start, end)
        rts, reject = self._series(idx.get(twin, "reject_count"), start, end)
        ty = self.plant.type_of(twin)
        planned = self.planned(start, end)
        return production_from_series(
            states, ts, code, to_us(start), to_us(end), good=good if len(good) else None,
            reject=reject if len(reject) else None, pru_s=planned_runtime(self.plant.twin(twin).properties),
            power_kw=ty.power, planned=planned, good_ts=gts if planned is not None else None,
            reject_ts=rts if planned is not None else None,
            measured=self._measured(twin, ts, code, start, end, len(states)),
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
        total_energy = Production.total(list(per.values()))  # every machine's energy, conveyors too
        factor = grid_factor(*self.plant.grid)
        instruments, residual = self.plant.instruments, self.plant.residual_factor

        def out(p: Production, kwh: float | None = None) -> dict[str, Any]:
            d = p.to_dict()
            if kwh is not None:
                d["energy_kwh"] = kwh
            e = float(d["energy_kwh"])
            s2 = scope2(e, factor, instruments, residual)
            co2, market = float(s2["location_kg"]), float(s2["market_kg"])  # type: ignore[arg-type]
            return {**d, "co2e_kg": co2, "co2e_market_kg": market,
                    "kwh_per_good_unit": e / p.gq if p.gq else None,
                    "co2e_kg_per_good_unit": co2 / p.gq if p.gq else None,
                    "co2e_market_kg_per_good_unit": market / p.gq if p.gq else None}  # fmt: skip

        # A line's product footprint: all its machines' energy over the units its last producer made.
        last = [m for m in machines if per[m].pru_s is not None]
        line = out(total, total_energy.energy_kwh)
        if len(machines) > 1 and last:
            good = per[last[-1]].gq
            line["good_units_out"] = good
            line["kwh_per_good_unit"] = line["energy_kwh"] / good if good else None
            line["co2e_kg_per_good_unit"] = line["co2e_kg"] / good if good else None
            line["co2e_market_kg_per_good_unit"] = line["co2e_market_kg"] / good if good else None
        unit = scope2(1.0, factor, instruments, residual)
        return {
            "twin": twin,
            "start": from_us(to_us(start)).isoformat(),
            "end": from_us(to_us(end)).isoformat(),
            "grid_factor": factor.to_dict(),
            "scope2": {
                "method": "GHG Protocol Scope 2: location-based and market-based",
                "market_kg_per_kwh": unit["market_kg_per_kwh"],
                "residual_kg_per_kwh": unit["residual_kg_per_kwh"],
                "instruments": [asdict(i) for i in instruments],
            },
            "total": line,
            "machines": {m: out(p) for m, p in per.items()},
        }

    # -- shifts ------------------------------------------------------------------------------
    def shift(self, which: str = "current", *, now: datetime | None = None) -> ShiftOccurrence:
        """A shift: ``current``, ``previous``, ``NAME`` (its latest), or ``YYYY-MM-DD/NAME``."""
        cal = self.plant.shifts
        if cal is None:
            raise InputError("the plant file declares no shifts (a 'shifts:' section; docs/kpis.md)")
        t = now or datetime.now(UTC)
        cur = cal.latest(t)
        if which == "current":
            return cur
        if which == "previous":
            return cal.previous(cur)
        day_s, _, name = which.rpartition("/")
        try:
            cal.shift(name)
        except KeyError as exc:
            raise InputError(str(exc.args[0])) from None
        if day_s:
            try:
                return cal.occurrence(name, date.fromisoformat(day_s))
            except ValueError:
                raise InputError(f"shift {which!r}: expected YYYY-MM-DD/NAME") from None
        return next(o for o in reversed(cal.occurrences(t - timedelta(days=2), t)) if o.shift == name and o.start <= t)

    def shift_report(self, twin: str, which: str = "current", *, now: datetime | None = None) -> dict[str, Any]:
        """KPIs of one shift (to now for the shift under way), with the shift's bounds."""
        o = self.shift(which, now=now)
        t = now or datetime.now(UTC)
        end = min(o.end, t) if o.start < t else o.end
        out = self.report(twin, o.start, end)
        out["shift"] = {**o.to_dict(), "complete": end >= o.end}
        return out

    def day_report(self, twin: str, day: date) -> dict[str, Any]:
        """KPIs of a local calendar day (in the shift calendar's time zone; UTC without one)."""
        tz = self.plant.shifts.tz if self.plant.shifts is not None else UTC
        a = datetime(day.year, day.month, day.day, tzinfo=tz)
        return self.report(twin, a, datetime.combine(day + timedelta(days=1), time(), tzinfo=tz))

    def shifts(self, twin: str, start: datetime, end: datetime, *, now: datetime | None = None) -> list[dict[str, Any]]:
        """The line totals of every shift overlapping ``[start, end)`` (the one under way to now)."""
        cal = self.plant.shifts
        if cal is None:
            raise InputError("the plant file declares no shifts (a 'shifts:' section; docs/kpis.md)")
        t = now or datetime.now(UTC)
        out = []
        for o in cal.occurrences(start, min(end, t)):
            r = self.report(twin, o.start, min(o.end, t))
            out.append({"shift": {**o.to_dict(), "complete": o.end <= t}, "total": r["total"]})
        return out
