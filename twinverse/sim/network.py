"""The simulation model: sources, buffers, stations, sinks, failures, calendars.

These are frozen records built (and validated) by :mod:`twinverse.sim.spec` from YAML or
directly in Python. A :class:`Network` is a pure description; :mod:`twinverse.sim.engine`
compiles it to flat arrays and runs it.

Conventions (see docs/simulation.md):

* **Blocking after service** (``Blocking.AFTER_SERVICE``, the default): a station that
  finishes a part and finds no room downstream holds the part and is *blocked* until a
  place frees. ``Blocking.BEFORE_SERVICE``: a station starts a part only after reserving
  a place downstream; while waiting it holds the part and is blocked.
* A buffer of capacity 0 is a direct hand-off: the upstream station releases a part only
  to an idle downstream station.
* Failure clocks pause while a station is down or off shift; an *operation* clock runs
  only while the station processes, a *time* clock during all planned production time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from .distributions import Distribution, Exponential

__all__ = [
    "INF",
    "Blocking",
    "Buffer",
    "Calendar",
    "FailureBasis",
    "FailureMode",
    "Network",
    "Route",
    "RouteKind",
    "Sink",
    "Source",
    "Station",
    "serial_line",
]

#: Unlimited buffer capacity.
INF = math.inf

class Blocking(StrEnum):
    """Where a station waits when the next buffer is full."""

    AFTER_SERVICE = "after_service"
    BEFORE_SERVICE = "before_service"


class FailureBasis(StrEnum):
    """What a failure clock counts."""

    OPERATION = "operation"  # processing time only (wear)
    TIME = "time"  # all planned production time (calendar-driven)


class RouteKind(StrEnum):
    """How a station or source picks the next element for a part."""

    SINGLE = "single"
    PROBABILITY = "probability"
    BY_PRODUCT = "by_product"
    SHORTEST_QUEUE = "shortest_queue"


@dataclass(frozen=True)
class Route:
    """Where parts go next: one target, a probabilistic split, by product, or shortest queue."""

    kind: RouteKind
    targets: tuple[str, ...]
    probabilities: tuple[float, ...] = ()
    by_product: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def to(cls, target: str) -> Route:
        return cls(RouteKind.SINGLE, (target,))


@dataclass(frozen=True)
class FailureMode:
    """One way a station fails: time to failure and time to repair."""

    ttf: Distribution
    ttr: Distribution
    basis: FailureBasis = FailureBasis.OPERATION
    name: str = "failure"

    @classmethod
    def exponential(cls, mtbf: float, mttr: float, basis: FailureBasis = FailureBasis.OPERATION) -> FailureMode:
        return cls(Exponential(mtbf), Exponential(mttr), basis)


@dataclass(frozen=True)
class Source:
    """Creates parts: by interarrival times, or *saturated* (the first station never starves)."""

    id: str
    route: Route
    interarrival: Distribution | None = None  # None: saturated
    mix: Mapping[str, float] = field(default_factory=dict)  # product -> probability
    when_full: str = "block"  # or "lose"
    limit: int | None = None  # most parts created

    @property
    def saturated(self) -> bool:
        return self.interarrival is None


@dataclass(frozen=True)
class Buffer:
    """A FIFO store of parts with a capacity (0 … ∞) and an optional initial level."""

    id: str
    capacity: float = INF
    initial: int = 0
    twin: str | None = None
    power: Mapping[str, float] = field(default_factory=dict)  # kW: 'running' when holding parts, 'idle' when empty


@dataclass(frozen=True)
class Station:
    """Servers that process parts; an assembly station takes ``inputs`` from several buffers."""

    id: str
    inputs: Mapping[str, int]  # buffer id -> parts taken per cycle (first = the part that continues)
    process: Mapping[str, Distribution]  # product -> process time; key '*' for every product
    route: Route
    servers: int = 1
    scrap: float = 0.0
    rework: float = 0.0
    rework_to: str | None = None
    failures: tuple[FailureMode, ...] = ()
    setup: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # from product -> to product -> time
    calendar: str | None = None
    power: Mapping[str, float] = field(default_factory=dict)  # kW per state (names of sim.states.STATE_NAMES)
    twin: str | None = None
    ideal_time: float | None = None  # ideal cycle time for OEE performance (default: process mean)

    @property
    def is_assembly(self) -> bool:
        return len(self.inputs) > 1 or any(q != 1 for q in self.inputs.values())

    def process_for(self, product: str) -> Distribution:
        return self.process.get(product) or self.process["*"]

    @property
    def process_mean(self) -> float:
        """Mean process time (of the first product listed)."""
        return next(iter(self.process.values())).mean


@dataclass(frozen=True)
class Sink:
    """Where finished parts leave the system."""

    id: str


@dataclass(frozen=True)
class Calendar:
    """A repeating pattern of non-working time: ``off`` intervals within each ``period``."""

    id: str
    period: float
    off: tuple[tuple[float, float], ...]

    def working_fraction(self) -> float:
        return 1 - sum(b - a for a, b in self.off) / self.period


@dataclass(frozen=True)
class Network:
    """A whole simulation model; element ids are unique across kinds."""

    sources: tuple[Source, ...]
    buffers: tuple[Buffer, ...]
    stations: tuple[Station, ...]
    sinks: tuple[Sink, ...]
    products: tuple[str, ...] = ("part",)
    calendars: tuple[Calendar, ...] = ()
    blocking: Blocking = Blocking.AFTER_SERVICE
    time_unit: str = "min"
    grid_factor: float | None = None  # kg CO2e per kWh; None: the default (see energy.py)
    market_factor: float | None = None  # market-based kg CO2e per kWh (a plant file's energy instruments)
    name: str = "model"
    run: Mapping[str, Any] = field(default_factory=dict)  # default run options from the file

    def station(self, sid: str) -> Station:
        return next(s for s in self.stations if s.id == sid)

    def buffer(self, bid: str) -> Buffer:
        return next(b for b in self.buffers if b.id == bid)

    def source(self, sid: str) -> Source:
        return next(s for s in self.sources if s.id == sid)

    def with_station(self, sid: str, **changes: Any) -> Network:
        """A copy with one station changed (``dataclasses.replace`` semantics)."""
        return replace(self, stations=tuple(replace(s, **changes) if s.id == sid else s for s in self.stations))

    def with_buffer(self, bid: str, **changes: Any) -> Network:
        return replace(self, buffers=tuple(replace(b, **changes) if b.id == bid else b for b in self.buffers))

    def with_source(self, sid: str, **changes: Any) -> Network:
        return replace(self, sources=tuple(replace(s, **changes) if s.id == sid else s for s in self.sources))

    def serial_order(self) -> list[str] | None:
        """Station ids in flow order if the network is a simple serial line, else None.

        Serial means: one saturated or Poisson source into the first buffer, every station
        single-server with one input and one output, no split, scrap, setup, calendar or
        time-based failure, and the last station feeding a sink.
        """
        return serial_line(self)


def serial_line(net: Network) -> list[str] | None:
    """Station ids in flow order if ``net`` is a plain serial line the fast path can run."""
    if len(net.sources) != 1 or (net.calendars and any(s.calendar for s in net.stations)):
        return None
    src = net.sources[0]
    if src.route.kind is not RouteKind.SINGLE or src.limit is not None or len(net.products) != 1:
        return None
    if net.blocking is not Blocking.AFTER_SERVICE or len(net.sinks) != 1:
        return None
    by_input: dict[str, list[str]] = {}
    for s in net.stations:
        if (s.servers != 1 or s.is_assembly or s.scrap or s.rework or s.setup or s.calendar
                or any(f.basis is FailureBasis.TIME for f in s.failures) or s.route.kind is not RouteKind.SINGLE):
            return None
        by_input.setdefault(next(iter(s.inputs)), []).append(s.id)
    if any(len(v) != 1 for v in by_input.values()) or any(b.initial for b in net.buffers):
        return None
    order: list[str] = []
    b = src.route.targets[0]
    sinks = {k.id for k in net.sinks}
    seen: set[str] = set()
    while True:
        nxt = by_input.get(b)
        if nxt is None:
            return None
        sid = nxt[0]
        if sid in seen:
            return None
        seen.add(sid)
        order.append(sid)
        b = net.station(sid).route.targets[0]
        if b in sinks:
            break
    if len(order) != len(net.stations):
        return None
    if src.interarrival is not None and src.when_full != "block":
        return None
    return order
