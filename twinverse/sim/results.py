"""Results as flat, immutable records, and their aggregation over replications.

A :class:`Replication` is what one run of the engine measured; a :class:`ScenarioResult`
holds the replications of one scenario and reports each figure as an :class:`Estimate`
(mean and 95 % confidence half-width over replications, Student t). ``to_dict()`` gives
the JSON document described in docs/simulation.md (``schema: twinverse.sim.result/2``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .playback import Playback
from .states import STATE_NAMES

__all__ = [
    "SCHEMA",
    "BufferStats",
    "Estimate",
    "Replication",
    "ScenarioResult",
    "StationStats",
    "estimate",
    "station_stats",
]

SCHEMA = "twinverse.sim.result/2"


@dataclass(frozen=True, slots=True)
class StationStats:
    """What one station did during the observed time of one replication."""

    id: str
    idle: float
    starved: float
    running: float
    blocked: float
    down: float
    setup: float
    off: float
    processed: int
    bad: int
    availability: float
    performance: float
    quality: float
    oee: float
    energy_kwh: float
    bottleneck_sole: float = 0.0
    bottleneck_shifting: float = 0.0

    def fractions(self) -> dict[str, float]:
        """Fraction of time in each state (sums to 1)."""
        return {s: getattr(self, s) for s in STATE_NAMES}


@dataclass(frozen=True, slots=True)
class BufferStats:
    """Level statistics of one buffer."""

    id: str
    mean_level: float
    max_level: int
    energy_kwh: float = 0.0
    entered: int = 0  # parts that arrived at the buffer (queued or handed straight through)
    queued: int = 0  # of those, parts that had to wait in it

    @property
    def wait_probability(self) -> float:
        """Share of arriving parts that found no idle station and queued."""
        return self.queued / self.entered if self.entered else math.nan


@dataclass(frozen=True, slots=True)
class Replication:
    """One replication: a run from time 0 to ``end``, observed after ``warmup``.

    ``little_gap`` is the relative difference between the time-average number in system
    and the time parts spent in the system per unit of observed time; the engine keeps
    both books independently and they agree to rounding (Little's law, exactly).
    """

    rep: int
    seed: int
    method: str
    warmup: float
    end: float
    events: int
    exits: int
    throughput: float
    wip: float
    lead_time: float
    lead_time_sd: float
    lead_time_max: float
    scrapped: int
    lost: int
    consumed: int
    created: int
    wip_start: int  # parts in the system when observation starts (after warm-up)
    wip_end: int  # parts in the system at the end
    little_gap: float
    energy_kwh: float
    co2e_kg: float
    stations: tuple[StationStats, ...]
    buffers: tuple[BufferStats, ...]
    bottleneck: str | None
    bottleneck_share: float
    exits_by_sink: tuple[tuple[str, int], ...] = ()
    exits_by_product: tuple[tuple[str, int], ...] = ()
    lead_time_by_product: tuple[tuple[str, float], ...] = ()
    #: States sampled over model time (replication 0 of a run asked for a playback), else None.
    playback: Playback | None = None

    @property
    def span(self) -> float:
        return self.end - self.warmup

    def station(self, sid: str) -> StationStats:
        return next(s for s in self.stations if s.id == sid)

    def buffer(self, bid: str) -> BufferStats:
        return next(b for b in self.buffers if b.id == bid)



def station_stats(sid: str, fr: Any, done: int, bad: int, servers: int, span: float, ideal: float,
                   kwh: float, sole: float, shifting: float) -> StationStats:
    """State fractions plus OEE = availability × performance × quality (planned time excludes 'off')."""
    f = {s: float(fr[i]) for i, s in enumerate(STATE_NAMES)}
    planned = 1.0 - f["off"]
    running = planned - f["down"] - f["setup"]
    avail = running / planned if planned > 0 else 0.0
    perf = (ideal * done / servers) / (running * span) if running > 0 and span > 0 else 0.0
    qual = (done - bad) / done if done else 1.0
    return StationStats(sid, f["idle"], f["starved"], f["running"], f["blocked"], f["down"], f["setup"], f["off"],
                        done, bad, avail, perf, qual, avail * perf * qual, kwh, sole, shifting)


_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
         11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093,
         20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}


def t975(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom."""
    try:
        from scipy.stats import t  # type: ignore[import-untyped]

        return float(t.ppf(0.975, df))
    except ImportError:  # pragma: no cover - scipy is a dependency; keep a table anyway
        keys = [k for k in sorted(_T975) if k >= df]
        return _T975[keys[0]] if keys else 1.96


@dataclass(frozen=True, slots=True)
class Estimate:
    """Mean over replications with the half-width of its 95 % confidence interval."""

    mean: float
    half_width: float | None
    n: int

    @property
    def low(self) -> float:
        return self.mean - (self.half_width or 0.0)

    @property
    def high(self) -> float:
        return self.mean + (self.half_width or 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"mean": _num(self.mean), "ci95": _num(self.half_width), "n": self.n}

    def __str__(self) -> str:
        hw = f" ± {self.half_width:.4g}" if self.half_width is not None else ""
        return f"{self.mean:.6g}{hw}"


def estimate(values: Sequence[float]) -> Estimate:
    """Mean and 95 % CI half-width (Student t) of independent replications."""
    n = len(values)
    if n == 0:
        return Estimate(math.nan, None, 0)
    mean = math.fsum(values) / n
    if n == 1:
        return Estimate(mean, None, 1)
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return Estimate(mean, t975(n - 1) * math.sqrt(var / n), n)


def _num(x: float | None) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(x)


@dataclass(frozen=True)
class ScenarioResult:
    """All replications of one scenario, with estimates."""

    name: str
    params: Mapping[str, Any]
    reps: tuple[Replication, ...]
    time_unit: str = "min"
    grid_factor: float = 0.0
    config: Mapping[str, Any] = field(default_factory=dict)
    market_factor: float | None = None  # market-based kg CO2e per kWh, when the plant declares instruments

    def est(self, get: Callable[[Replication], float]) -> Estimate:
        return estimate([get(r) for r in self.reps])

    @property
    def throughput(self) -> Estimate:
        return self.est(lambda r: r.throughput)

    @property
    def wip(self) -> Estimate:
        return self.est(lambda r: r.wip)

    @property
    def lead_time(self) -> Estimate:
        return self.est(lambda r: r.lead_time)

    @property
    def energy_kwh(self) -> Estimate:
        return self.est(lambda r: r.energy_kwh)

    @property
    def co2e_kg(self) -> Estimate:
        return self.est(lambda r: r.co2e_kg)

    def station(self, sid: str, attr: str) -> Estimate:
        return self.est(lambda r: float(getattr(r.station(sid), attr)))

    def bottleneck(self) -> tuple[str | None, float]:
        """The station most often the bottleneck, with its mean share of time."""
        if not self.reps or not self.reps[0].stations:
            return None, 0.0
        ids = [s.id for s in self.reps[0].stations]
        share = {i: sum(r.station(i).bottleneck_sole + r.station(i).bottleneck_shifting for r in self.reps)
                 / len(self.reps) for i in ids}
        best = max(ids, key=lambda i: share[i])
        return (best, share[best]) if share[best] > 0 else (None, 0.0)

    def to_dict(self, *, replications: bool = False) -> dict[str, Any]:
        """The JSON document of this scenario (schema ``twinverse.sim.result/2``)."""
        first = self.reps[0]
        bn, share = self.bottleneck()
        stations = []
        for s in first.stations:
            fr = {st: self.station(s.id, st).to_dict() for st in STATE_NAMES}
            stations.append({
                "id": s.id,
                "states": fr,
                "processed": self.station(s.id, "processed").to_dict(),
                "oee": self.station(s.id, "oee").to_dict(),
                "availability": self.station(s.id, "availability").to_dict(),
                "performance": self.station(s.id, "performance").to_dict(),
                "quality": self.station(s.id, "quality").to_dict(),
                "energy_kwh": self.station(s.id, "energy_kwh").to_dict(),
                "bottleneck": {
                    "sole": self.station(s.id, "bottleneck_sole").to_dict(),
                    "shifting": self.station(s.id, "bottleneck_shifting").to_dict(),
                },
            })
        def buf(bid: str, attr: str) -> dict[str, Any]:
            return self.est(lambda r: float(getattr(r.buffer(bid), attr))).to_dict()

        buffers = [{
            "id": b.id,
            "mean_level": buf(b.id, "mean_level"),
            "max_level": max(r.buffer(b.id).max_level for r in self.reps),
            "wait_probability": buf(b.id, "wait_probability"),
            "energy_kwh": buf(b.id, "energy_kwh"),
        } for b in first.buffers]
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "scenario": self.name,
            "params": dict(self.params),
            "time_unit": self.time_unit,
            "method": first.method,
            "replications": len(self.reps),
            "warmup": first.warmup,
            "observed": self.est(lambda r: r.span).to_dict(),
            "throughput": self.throughput.to_dict(),
            "exits": self.est(lambda r: r.exits).to_dict(),
            "wip": self.wip.to_dict(),
            "lead_time": self.lead_time.to_dict(),
            "scrapped": self.est(lambda r: r.scrapped).to_dict(),
            "little_gap_max": max(r.little_gap for r in self.reps),
            "energy_kwh": self.energy_kwh.to_dict(),
            "co2e_kg": self.co2e_kg.to_dict(),
            "grid_factor_kg_per_kwh": self.grid_factor,
            # the product footprint: per good unit out of the sinks (docs/kpis.md)
            "kwh_per_good_unit": self.est(lambda r: r.energy_kwh / r.exits if r.exits else math.nan).to_dict(),
            "co2e_kg_per_good_unit": self.est(lambda r: r.co2e_kg / r.exits if r.exits else math.nan).to_dict(),
            **({} if (mf := self.market_factor) is None else {
                "market_factor_kg_per_kwh": mf,
                "co2e_market_kg": self.est(lambda r: r.energy_kwh * mf).to_dict(),
                "co2e_market_kg_per_good_unit": self.est(
                    lambda r: r.energy_kwh * mf / r.exits if r.exits else math.nan).to_dict(),
            }),
            "bottleneck": {"station": bn, "share": _num(share)},
            "stations": stations,
            "buffers": buffers,
        }
        if first.playback is not None:
            out["playback"] = first.playback.to_dict([s.id for s in first.stations], [b.id for b in first.buffers])
        if replications:
            out["runs"] = [{
                "rep": r.rep, "seed": r.seed, "end": r.end, "events": r.events, "exits": r.exits,
                "throughput": r.throughput, "wip": r.wip, "lead_time": r.lead_time,
            } for r in self.reps]
        return out
