"""Read a simulation model from YAML: a plant file's ``simulation:`` section or a pure network.

Every problem names ``file:line`` and the field path, and all problems of a file are
reported together (:class:`~twinverse.errors.ModelLoadError`)::

    >>> net = loads_network('''
    ... simulation:
    ...   sources: {arrivals: {interarrival: {dist: exponential, mean: 1.25}, to: s1}}
    ...   stations: {s1: {process: {dist: exponential, mean: 1}, to: out}}
    ...   sinks: [out]
    ... ''')
    >>> [b.id for b in net.buffers], net.buffers[0].capacity
    (['s1.in'], inf)

The format is documented in docs/simulation.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..core.gridfactors import GridFactor, grid_factor, scope2
from ..errors import ModelLoadError
from ..model.yamlsource import LocatedDoc, PathKey, read_yaml
from .distributions import Distribution
from .graph import check_graph, line_elements
from .network import (
    INF,
    Blocking,
    Buffer,
    Calendar,
    FailureBasis,
    FailureMode,
    Network,
    Route,
    RouteKind,
    Sink,
    Source,
    Station,
)
from .reader import SpecReader, is_num
from .states import parse_state

#: The id of the simulator's calendar made from the plant's ``shifts:`` section.
SHIFT_CALENDAR = "shift"

__all__ = ["SHIFT_CALENDAR", "load_network", "loads_network", "network_from_doc", "network_from_plant"]

_TOP = {
    "name", "time_unit", "blocking", "products", "grid_factor", "run", "line", "defaults",
    "sources", "buffers", "stations", "sinks", "calendars",
}
_STATION = {
    "from", "inputs", "servers", "process", "to", "route", "scrap", "rework", "failures", "setup",
    "calendar", "power", "twin", "ideal_time",
}
_SOURCE = {"interarrival", "saturated", "to", "route", "mix", "when_full", "limit"}
_BUFFER = {"capacity", "initial", "twin", "power"}
_RUN = {"until", "parts", "warmup", "reps", "seed"}
_TIME_UNITS = {"s": 1 / 3600, "min": 1 / 60, "h": 1.0}
_PROB_EPS = 1e-9


def load_network(path: str | Path) -> Network:
    """Read a simulation model from a YAML file (plant file or pure network)."""
    return network_from_doc(read_yaml(path))


def loads_network(text: str, name: str = "<string>") -> Network:
    """Like :func:`load_network`, from a string."""
    return network_from_doc(read_yaml(name, text=text))


def network_from_doc(doc: LocatedDoc) -> Network:
    """Build a :class:`Network` from a located YAML document.

    A document with a top-level ``plant:`` is a plant file: it is loaded as the live twin
    is, and its ``simulation:`` section may refer to the plant's twins.
    """
    data = doc.data
    if "simulation" not in data:
        raise ModelLoadError([doc.problem((), "no 'simulation:' section in this file")])
    plant = None
    if "plant" in data:
        from ..model.loader import plant_from_doc

        plant = plant_from_doc(doc)
    return _Parser(doc, plant).parse()


def network_from_plant(plant: Any) -> Network:
    """Build the simulation model of a loaded :class:`~twinverse.model.Plant`."""
    doc: LocatedDoc | None = getattr(plant, "located_doc", None)
    sim = getattr(plant, "simulation_doc", None)
    if sim is None:
        from ..errors import ModelError

        raise ModelError(f"plant {plant.id!r} has no 'simulation:' section")
    if doc is None:
        doc = LocatedDoc({"simulation": sim}, plant.source or "<plant>", {})
    return _Parser(doc, plant).parse()


class _Parser(SpecReader):
    """Reads the elements and the top level of a ``simulation:`` section (helpers: SpecReader)."""

    # -- top level -----------------------------------------------------------------------------
    def parse(self) -> Network:
        sim = self.mapping(self.doc.data.get("simulation"), self.root, "simulation")
        self.unknown(sim, _TOP, self.root)
        r = self.root
        unit = sim.get("time_unit", "min")
        if unit not in _TIME_UNITS:
            self.fail((*r, "time_unit"), f"time_unit must be one of {', '.join(_TIME_UNITS)}, got {unit!r}")
            unit = "min"
        try:
            blocking = Blocking(sim.get("blocking", "after_service"))
        except ValueError:
            got = sim.get("blocking")
            self.fail((*r, "blocking"), f"blocking must be 'after_service' or 'before_service', got {got!r}")
            blocking = Blocking.AFTER_SERVICE
        products = self.products(sim.get("products"), (*r, "products"))
        grid = None
        if "grid_factor" in sim:
            grid = self.number(sim["grid_factor"], (*r, "grid_factor"))
        run = self.run_options(sim.get("run"), (*r, "run"))
        calendars = self.calendars(sim.get("calendars"), (*r, "calendars"))
        shifts = getattr(self.plant, "shifts", None)
        if shifts is not None:  # the plant's shift calendar, declared once (twinverse.model.shifts)
            if any(c.id == SHIFT_CALENDAR for c in calendars):
                self.fail((*r, "calendars", SHIFT_CALENDAR), f"calendar {SHIFT_CALENDAR!r} is the plant's shift "
                          "calendar (its 'shifts:' section): give this one another name")  # fmt: skip
            period, off = shifts.sim_calendar(_TIME_UNITS[unit] * 3600)
            calendars.append(Calendar(SHIFT_CALENDAR, period, off))
        if grid is None and self.plant is not None and getattr(self.plant, "grid", None) is not None:
            grid = grid_factor(*self.plant.grid).kg_per_kwh
        market: float | None = None
        instruments = getattr(self.plant, "instruments", ()) if self.plant is not None else ()
        if instruments:
            residual = getattr(self.plant, "residual_factor", None)
            one_kwh = scope2(1.0, GridFactor("model", 0, grid or 0.0, ""), instruments, residual)
            market = float(one_kwh["market_kg_per_kwh"])  # type: ignore[arg-type]

        stations_doc: Mapping[str, Any]
        buffers_doc: Mapping[str, Any]
        sources_doc: Mapping[str, Any]
        if self.plant is not None and "line" in sim:
            stations_doc, buffers_doc, sources_doc, sinks_doc = line_elements(self, sim)
        else:
            if "line" in sim:
                self.fail((*r, "line"), "'line' needs a plant file (a top-level 'plant:')")
            stations_doc = self.mapping(sim.get("stations"), (*r, "stations"), "stations")
            buffers_doc = self.mapping(sim.get("buffers"), (*r, "buffers"), "buffers")
            sources_doc = self.mapping(sim.get("sources"), (*r, "sources"), "sources")
            sinks_doc = self.sink_ids(sim.get("sinks"), (*r, "sinks"))
        defaults = self.mapping(sim.get("defaults"), (*r, "defaults"), "defaults")
        self.unknown(defaults, _STATION - {"from", "inputs", "to", "route", "twin"}, (*r, "defaults"))

        if not stations_doc:
            self.fail((*r, "stations"), "a model needs at least one station")
        ids: dict[str, PathKey] = {}
        for kind, group in (("sources", sources_doc), ("buffers", buffers_doc), ("stations", stations_doc)):
            for eid in group:
                self.claim(ids, str(eid), (*r, kind, eid))
        for eid, path in sinks_doc.items():
            self.claim(ids, eid, path)

        buffers = [self.buffer(str(b), self.mapping(v, (*r, "buffers", b), "a buffer"), (*r, "buffers", b))
                   for b, v in buffers_doc.items()]
        # Stations addressed directly (not through a declared buffer) get a capacity-0 input.
        station_input: dict[str, str] = {}
        self.implicit: set[str] = set()
        for sid, sdoc in stations_doc.items():
            sdoc = self.mapping(sdoc, (*r, "stations", sid), "a station")
            if "from" not in sdoc and "inputs" not in sdoc:
                implicit = f"{sid}.in"
                station_input[str(sid)] = implicit
                self.implicit.add(implicit)
                buffers.append(Buffer(implicit, capacity=INF if self.fed_by_source_only(sid, sources_doc) else 0.0))
            elif "from" in sdoc and isinstance(sdoc["from"], str):
                station_input[str(sid)] = sdoc["from"]
        self.targets = {b.id for b in buffers} | set(sinks_doc)
        self.station_input = station_input
        self.station_ids = {str(s) for s in stations_doc}
        self.buffer_ids = {b.id for b in buffers}

        stations = [
            self.station(str(sid), self.mapping(sdoc, (*r, "stations", sid), "a station"), defaults, products,
                         {c.id for c in calendars}, (*r, "stations", sid))
            for sid, sdoc in stations_doc.items()
        ]
        sources = [
            self.source(str(sid), self.mapping(v, (*r, "sources", sid), "a source"), products, (*r, "sources", sid))
            for sid, v in sources_doc.items()
        ]
        if not sources:
            self.fail((*r, "sources"), "a model needs at least one source")
        if self.problems:
            raise ModelLoadError(self.problems)
        net = Network(
            sources=tuple(s for s in sources if s is not None),
            buffers=tuple(buffers),
            stations=tuple(s for s in stations if s is not None),
            sinks=tuple(Sink(k) for k in sinks_doc),
            products=products,
            calendars=tuple(calendars),
            blocking=blocking,
            time_unit=unit,
            grid_factor=grid,
            market_factor=market,
            name=str(sim.get("name") or (self.plant.id if self.plant is not None else Path(self.doc.file).stem)),
            run=run,
        )
        check_graph(self, net)
        if self.problems:
            raise ModelLoadError(self.problems)
        return net

    def fed_by_source_only(self, sid: Any, sources_doc: Mapping[str, Any]) -> bool:
        """A station fed only by arrival sources gets an unlimited implicit queue (a queueing node)."""
        return any(isinstance(v, Mapping) and v.get("to") == sid and "interarrival" in v for v in sources_doc.values())

    def claim(self, ids: dict[str, PathKey], eid: str, path: PathKey) -> None:
        if eid in ids:
            first = self.doc.locate(ids[eid])
            self.fail(path, f"duplicate element id {eid!r} (first defined at line {first.line})")
        else:
            ids[eid] = path

    def products(self, v: Any, path: PathKey) -> tuple[str, ...]:
        if v is None:
            return ("part",)
        if not isinstance(v, Sequence) or isinstance(v, str) or not v or not all(isinstance(p, str) for p in v):
            self.fail(path, "products must be a non-empty list of names")
            return ("part",)
        if len(set(v)) != len(v):
            self.fail(path, "products must not repeat a name")
        return tuple(v)

    def run_options(self, v: Any, path: PathKey) -> dict[str, Any]:
        m = self.mapping(v, path, "run")
        self.unknown(m, _RUN, path)
        out: dict[str, Any] = {}
        for k in ("until", "warmup"):
            if k in m and (x := self.number(m[k], (*path, k), lo_open=k == "until")) is not None:
                out[k] = x
        for k in ("parts", "reps", "seed"):
            if k in m and (x := self.number(m[k], (*path, k), integer=True, lo=0 if k == "seed" else 1)) is not None:
                out[k] = int(x)
        return out

    def calendars(self, v: Any, path: PathKey) -> list[Calendar]:
        out = []
        for cid, c in self.mapping(v, path, "calendars").items():
            cp = (*path, cid)
            c = self.mapping(c, cp, "a calendar")
            self.unknown(c, {"period", "off"}, cp)
            period = self.number(c.get("period"), (*cp, "period"), lo_open=True)
            offs: list[tuple[float, float]] = []
            raw = c.get("off", [])
            if not isinstance(raw, Sequence) or isinstance(raw, str):
                self.fail((*cp, "off"), "off must be a list of [start, end] pairs")
                raw = []
            for i, iv in enumerate(raw):
                ip = (*cp, "off", i)
                pair = isinstance(iv, Sequence) and not isinstance(iv, str) and len(iv) == 2
                if not (pair and all(map(is_num, iv))):
                    self.fail(ip, f"expected [start, end], got {iv!r}")
                    continue
                a, b = float(iv[0]), float(iv[1])
                if not 0 <= a < b or (period is not None and b > period):
                    self.fail(ip, f"need 0 <= start < end <= period, got [{a:g}, {b:g}]")
                    continue
                if offs and a < offs[-1][1]:
                    self.fail(ip, "off intervals must be sorted and must not overlap")
                    continue
                offs.append((a, b))
            if period is not None:
                if offs and sum(b - a for a, b in offs) >= period:
                    self.fail((*cp, "off"), "a calendar must leave some working time in each period")
                out.append(Calendar(str(cid), period, tuple(offs)))
        return out

    # -- elements ------------------------------------------------------------------------------
    def buffer(self, bid: str, d: Mapping[str, Any], path: PathKey) -> Buffer:
        self.unknown(d, _BUFFER, path)
        cap = INF
        if "capacity" in d:
            c = self.number(d["capacity"], (*path, "capacity"), integer=d["capacity"] not in ("inf", ".inf"),
                            allow_inf=True)
            cap = INF if c is None else c
        elif (twin := self.twin_of.get(bid)) is not None and self.plant is not None:
            prop = self.plant.twins[twin].properties.get("capacity")
            if is_num(prop) and prop >= 0:
                cap = float(int(prop))
        initial = 0
        if "initial" in d and (x := self.number(d["initial"], (*path, "initial"), integer=True)) is not None:
            initial = int(x)
            if initial > cap:
                self.fail((*path, "initial"), f"initial level {initial} exceeds the capacity {cap:g}")
        power = self.power(d.get("power"), (*path, "power"), allowed=("running", "idle")) if "power" in d else {}
        twin = self.twin_ref(d.get("twin"), (*path, "twin")) or self.twin_of.get(bid)
        if twin is not None and not power and self.plant is not None:
            tp = self.plant.type_of(twin).power
            power = {k: float(tp[k]) for k in ("running", "idle") if k in tp}
        return Buffer(bid, capacity=cap, initial=initial, twin=twin, power=power)

    def route(self, d: Mapping[str, Any], path: PathKey, products: tuple[str, ...],
              required: bool = True) -> Route | None:
        if "to" in d and "route" in d:
            self.fail((*path, "route"), "give either 'to' or 'route', not both")
            return None
        if "to" in d:
            to = d["to"]
            tp = (*path, "to")
            if isinstance(to, str):
                tgt = self.target(to, tp)
                return Route.to(tgt) if tgt else None
            if isinstance(to, Mapping):
                return self.split(to, tp)
            self.fail(tp, f"'to' must be an element id or a mapping of id to probability, got {to!r}")
            return None
        if "route" in d:
            rp = (*path, "route")
            r = self.mapping(d["route"], rp, "route")
            self.unknown(r, {"probabilities", "by_product", "shortest_queue"}, rp)
            if len(r) != 1:
                self.fail(rp, "route needs exactly one of probabilities, by_product, shortest_queue")
                return None
            if "probabilities" in r:
                return self.split(self.mapping(r["probabilities"], (*rp, "probabilities"), "probabilities"),
                                  (*rp, "probabilities"))
            if "by_product" in r:
                bp = self.mapping(r["by_product"], (*rp, "by_product"), "by_product")
                table: dict[str, str] = {}
                for prod, tgt in bp.items():
                    if prod not in products:
                        self.fail((*rp, "by_product", prod),
                                  f"unknown product {prod!r} (products: {', '.join(products)})")
                    elif isinstance(tgt, str) and self.target(tgt, (*rp, "by_product", prod)):
                        table[prod] = self.target(tgt, (*rp, "by_product", prod)) or tgt
                missing = [p for p in products if p not in bp]
                if missing:
                    self.fail((*rp, "by_product"), f"no target for product(s) {', '.join(missing)}")
                return Route(RouteKind.BY_PRODUCT, tuple(dict.fromkeys(table.values())), by_product=table)
            sq = r["shortest_queue"]
            sp = (*rp, "shortest_queue")
            if not isinstance(sq, Sequence) or isinstance(sq, str) or len(sq) < 1:
                self.fail(sp, "shortest_queue must be a list of element ids")
                return None
            tg = [self.target(t, (*sp, i)) if isinstance(t, str) else None for i, t in enumerate(sq)]
            if any(t is None for t in tg):
                return None
            return Route(RouteKind.SHORTEST_QUEUE, tuple(t for t in tg if t is not None))
        if required:
            self.fail(path, "missing 'to' (where parts go next)")
        return None

    def split(self, m: Mapping[str, Any], path: PathKey) -> Route | None:
        targets: list[str] = []
        probs: list[float] = []
        ok = True
        for tgt, p in m.items():
            t = self.target(str(tgt), (*path, tgt))
            q = self.number(p, (*path, tgt), hi=1.0)
            if t is None or q is None:
                ok = False
                continue
            targets.append(t)
            probs.append(q)
        if not ok:
            return None
        if not targets:
            self.fail(path, "a split needs at least one target")
            return None
        total = sum(probs)
        if abs(total - 1) > _PROB_EPS:
            self.fail(path, f"probabilities must sum to 1, got {total:g}")
            return None
        return Route(RouteKind.PROBABILITY, tuple(targets), tuple(probs))

    def target(self, ref: str, path: PathKey) -> str | None:
        """Resolve a route target to a buffer or sink id (a station means its input buffer)."""
        if ref in self.station_ids:
            inp = self.station_input.get(ref)
            if inp is None:
                self.fail(path, f"station {ref!r} has several inputs (an assembly): route to one of its buffers")
            return inp
        if ref in self.targets:
            return ref
        known = sorted((self.targets - self.implicit) | self.station_ids)
        self.fail(path, f"route to a missing element {ref!r} (elements: {', '.join(known)})")
        return None

    def source(self, sid: str, d: Mapping[str, Any], products: tuple[str, ...], path: PathKey) -> Source | None:
        self.unknown(d, _SOURCE, path)
        route = self.route(d, path, products)
        inter = None
        sat = d.get("saturated", "interarrival" not in d)
        if not isinstance(sat, bool):
            self.fail((*path, "saturated"), f"saturated must be true or false, got {sat!r}")
        if "interarrival" in d:
            if sat is True and "saturated" in d:
                self.fail((*path, "saturated"), "a saturated source has no interarrival times")
            inter = self.dist(d["interarrival"], (*path, "interarrival"))
        elif not sat:
            self.fail(path, "missing 'interarrival' (or saturated: true)")
        mix = self.mix(d.get("mix"), (*path, "mix"), products)
        wf = d.get("when_full", "block")
        if wf not in ("block", "lose"):
            self.fail((*path, "when_full"), f"when_full must be 'block' or 'lose', got {wf!r}")
        limit = None
        if "limit" in d and (x := self.number(d["limit"], (*path, "limit"), integer=True, lo=1)) is not None:
            limit = int(x)
        if route is None:
            return None
        if inter is None and route.kind is not RouteKind.SINGLE:
            self.fail((*path, "route"), "a saturated source feeds exactly one buffer ('to: X')")
        if inter is None and "interarrival" in d:
            return None
        return Source(sid, route, inter, mix, str(wf), limit)

    def mix(self, v: Any, path: PathKey, products: tuple[str, ...]) -> dict[str, float]:
        if v is None:
            return {products[0]: 1.0} if len(products) == 1 else {p: 1 / len(products) for p in products}
        m = self.mapping(v, path, "mix")
        out: dict[str, float] = {}
        for p, q in m.items():
            if p not in products:
                self.fail((*path, p), f"unknown product {p!r} (products: {', '.join(products)})")
                continue
            out[str(p)] = self.probability(q, (*path, p))
        if out and abs(sum(out.values()) - 1) > _PROB_EPS:
            self.fail(path, f"probabilities must sum to 1, got {sum(out.values()):g}")
        return out

    def station(self, sid: str, d: Mapping[str, Any], defaults: Mapping[str, Any], products: tuple[str, ...],
                calendars: set[str], path: PathKey) -> Station | None:
        self.unknown(d, _STATION, path)
        merged = {**defaults, **d}

        def where(key: str) -> PathKey:
            return (*path, key) if key in d else (*self.root, "defaults", key)

        # inputs
        inputs: dict[str, int] = {}
        if "from" in d and "inputs" in d:
            self.fail((*path, "inputs"), "give either 'from' or 'inputs', not both")
        if "inputs" in d:
            for b, q in self.mapping(d["inputs"], (*path, "inputs"), "inputs").items():
                if b not in self.buffer_ids:
                    known = ", ".join(sorted(self.buffer_ids))
                    self.fail((*path, "inputs", b), f"input from a missing buffer {b!r} (buffers: {known})")
                    continue
                x = self.number(q, (*path, "inputs", b), integer=True, lo=1)
                if x is not None:
                    inputs[str(b)] = int(x)
            if not inputs and not self.problems:
                self.fail((*path, "inputs"), "inputs must name at least one buffer")
        else:
            inp = self.station_input.get(sid)
            if inp is None or inp not in self.buffer_ids:
                known = ", ".join(sorted(self.buffer_ids))
                self.fail((*path, "from"), f"input from a missing buffer {d.get('from')!r} (buffers: {known})")
            else:
                inputs[inp] = 1
        # process times
        process: dict[str, Distribution] = {}
        if "process" not in merged:
            self.fail(path, "missing 'process' (the process-time distribution)")
        else:
            praw = merged["process"]
            pp = where("process")
            if isinstance(praw, Mapping) and "dist" not in praw and praw and all(k in products for k in praw):
                for prod, spec in praw.items():
                    if (dd := self.dist(spec, (*pp, prod))) is not None:
                        process[str(prod)] = dd
                missing = [p for p in products if p not in praw]
                if missing:
                    self.fail(pp, f"no process time for product(s) {', '.join(missing)}")
            elif (dd := self.dist(praw, pp)) is not None:
                process["*"] = dd
        servers = 1
        if "servers" in merged:
            x = self.number(merged["servers"], where("servers"), integer=True, lo=1)
            servers = int(x) if x is not None else 1
        scrap = self.probability(merged.get("scrap", 0.0), where("scrap"))
        rework, rework_to = 0.0, None
        if "rework" in merged:
            rp = where("rework")
            rw = self.mapping(merged["rework"], rp, "rework")
            self.unknown(rw, {"probability", "to"}, rp)
            rework = self.probability(rw.get("probability", 0.0), (*rp, "probability"))
            if "to" not in rw:
                self.fail(rp, "rework needs 'to' (where reworked parts go)")
            elif isinstance(rw["to"], str):
                rework_to = self.target(rw["to"], (*rp, "to"))
        if scrap + rework > 1 + _PROB_EPS:
            self.fail(where("scrap"), f"scrap + rework probabilities exceed 1 ({scrap + rework:g})")
        route = self.route(d, path, products)
        failures = self.failures(merged.get("failures"), where("failures"))
        setup = self.setup(merged.get("setup"), where("setup"), products)
        cal = merged.get("calendar")
        if cal is not None and cal not in calendars:
            known = ", ".join(sorted(calendars)) or "none"
            self.fail(where("calendar"), f"unknown calendar {cal!r} (calendars: {known})")
        twin = self.twin_ref(d.get("twin"), (*path, "twin")) or self.twin_of.get(sid)
        power = self.power(merged["power"], where("power")) if "power" in merged else {}
        if not power and twin is not None and self.plant is not None:
            tp = self.plant.type_of(twin).power
            power = {state.value: float(v) for k, v in tp.items() if (state := parse_state(k)) is not None}
        ideal = None
        if "ideal_time" in merged:
            ideal = self.number(merged["ideal_time"], where("ideal_time"), lo_open=True)
        if route is None or not process or not inputs:
            return None
        return Station(sid, inputs, process, route, servers, scrap, rework, rework_to, tuple(failures), setup,
                       cal if isinstance(cal, str) else None, power, twin, ideal)

    def failures(self, v: Any, path: PathKey) -> list[FailureMode]:
        if v is None:
            return []
        if isinstance(v, Mapping):
            v = [v]
        if not isinstance(v, Sequence) or isinstance(v, str):
            self.fail(path, "failures must be a list of failure modes")
            return []
        out = []
        for i, f in enumerate(v):
            fp = (*path, i)
            f = self.mapping(f, fp, "a failure mode")
            self.unknown(f, {"name", "basis", "ttf", "ttr", "mtbf", "mttr"}, fp)
            basis_raw = f.get("basis", "operation")
            try:
                basis = FailureBasis(basis_raw)
            except ValueError:
                self.fail((*fp, "basis"), f"basis must be 'operation' or 'time', got {basis_raw!r}")
                basis = FailureBasis.OPERATION
            ttf = ttr = None
            if "ttf" in f and "mtbf" in f:
                self.fail((*fp, "mtbf"), "give either 'ttf' or 'mtbf', not both")
            elif "ttf" in f:
                ttf = self.dist(f["ttf"], (*fp, "ttf"))
            elif "mtbf" in f:
                ttf = self.dist({"dist": "exponential", "mean": f["mtbf"]}, (*fp, "mtbf"))
            else:
                self.fail(fp, "missing 'ttf' (or 'mtbf')")
            if "ttr" in f and "mttr" in f:
                self.fail((*fp, "mttr"), "give either 'ttr' or 'mttr', not both")
            elif "ttr" in f:
                ttr = self.dist(f["ttr"], (*fp, "ttr"))
            elif "mttr" in f:
                ttr = self.dist({"dist": "exponential", "mean": f["mttr"]}, (*fp, "mttr"))
            else:
                self.fail(fp, "missing 'ttr' (or 'mttr')")
            if ttf is not None and ttr is not None:
                out.append(FailureMode(ttf, ttr, basis, str(f.get("name", f"failure{i + 1}"))))
        return out

    def setup(self, v: Any, path: PathKey, products: tuple[str, ...]) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for a, row in self.mapping(v, path, "setup").items():
            if a not in products:
                self.fail((*path, a), f"unknown product {a!r} (products: {', '.join(products)})")
                continue
            for b, t in self.mapping(row, (*path, a), "a setup row").items():
                if b not in products:
                    self.fail((*path, a, b), f"unknown product {b!r} (products: {', '.join(products)})")
                    continue
                x = self.number(t, (*path, a, b))
                if x is not None:
                    out.setdefault(str(a), {})[str(b)] = x
        return out
