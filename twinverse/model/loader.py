"""Build a :class:`Plant` from a short plant YAML, with located errors.

Format (see docs/plant-yaml.md)::

    plant: bottling              # id of the root twin (a site)
    name: Bottling plant
    types:
      machine:
        signals:
          state: {kind: state, states: [running, idle, starved, blocked, down]}
          speed: {unit: bottle/min, range: [0, 900]}
        power: {running: 12, idle: 4, down: 0.5}     # kW per state
      filler: {extends: machine}
    twins:
      - id: line1
        type: line
        flow: [depal, filler, conv1, capper]         # each feeds the next
        children:
          - {id: depal, type: machine}
          - {id: filler, type: filler}
          - {id: conv, type: conveyor, count: 3}     # conv1, conv2, conv3
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..core.gridfactors import DEFAULT_GRID, GRID_FACTORS, MarketInstrument, grid_regions
from ..errors import Location, ModelLoadError, Problem
from ..units import UnknownUnit, check_unit
from .alarmdoc import merged_rule_doc, rule_problems
from .anomalydoc import AnomalySpec, resolve_anomaly, score_signal
from .plant import Plant
from .rules import AlarmRule
from .shifts import parse_shifts
from .types import ModelRef, Placement, Relationship, Retention, Signal, Twin, TwinType
from .yamlsource import LocatedDoc, PathKey, read_yaml

__all__ = ["check_rule", "load_plant", "loads_plant", "plant_from_doc"]

_ID = re.compile(r"^[A-Za-z0-9_.\-{}]+$")

#: Types every plant knows; a plant may redefine them.
BUILTIN_TYPES: dict[str, TwinType] = {
    name: TwinType(name=name, container=True, description=f"built-in container: {name}")
    for name in ("site", "area", "line", "cell", "group")
}


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _TypeDoc(_Doc):
    extends: str | None = None
    description: str = ""
    signals: dict[str, Signal] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)
    power: dict[str, float] = Field(default_factory=dict)
    shape: str | None = None
    size: tuple[float, float, float] | None = None
    model: ModelRef | None = None
    container: bool = False
    alarms: dict[str, Any] = Field(default_factory=dict)  # validated rule by rule (see _rules)
    anomaly: dict[str, Any] = Field(default_factory=dict)  # detectors per signal (model/anomalydoc.py)
    retention: Any = None  # a class name or {raw, rollups}: for the type's signals that name none

    @field_validator("model", mode="before")
    @classmethod
    def _model_file(cls, v: Any) -> Any:
        return {"file": v} if isinstance(v, str) else v  # ``model: models/filler.glb`` is short for {file: …}


class _RelDoc(_Doc):
    name: str
    target: str


class _TwinDoc(_Doc):
    id: str | None = None
    ids: list[str] | None = None
    count: int | None = Field(default=None, ge=1, le=100_000)
    type: str
    name: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    position: Placement | None = None
    feeds: str | list[str] | None = None
    relationships: list[_RelDoc] = Field(default_factory=list)
    flow: list[str] | None = None
    alarms: dict[str, Any] = Field(default_factory=dict)  # overrides of the type's rules, or rules of its own
    anomaly: dict[str, Any] = Field(default_factory=dict)  # overrides of the type's detectors
    # Children, types and twins are validated one by one (see _Resolver.validate) so that
    # one bad entry does not hide the problems of the others.
    children: list[Any] = Field(default_factory=list)


class _InstrumentDoc(_Doc):
    """A market-based instrument (GHG Protocol Scope 2): a supply contract or energy attribute certificates."""

    name: str
    kind: Literal["contract", "certificate"] = "contract"
    share: float = Field(ge=0, le=1, description="share of the plant's consumption it covers")
    kg_per_kwh: float = Field(0.0, ge=0, description="its emission factor (0 for renewable power and certificates)")


class _EnergyDoc(_Doc):
    grid: str = Field(DEFAULT_GRID[0], description="grid the plant draws from: national, a regional grid, a province")
    year: int = Field(DEFAULT_GRID[1], description="data year of the grid factor")
    instruments: list[_InstrumentDoc] = Field(default_factory=list)
    residual_kg_per_kwh: float | None = Field(
        None, ge=0, description="factor for consumption no instrument covers (default: the grid factor)")


class _PlantDoc(_Doc):
    plant: str
    name: str | None = None
    description: str = ""
    types: dict[str, Any] = Field(default_factory=dict)
    twins: list[Any] = Field(default_factory=list)
    simulation: dict[str, Any] | None = None
    #: What an AAS import keeps for a lossless export (see docs/interop.md).
    aas: dict[str, Any] | None = None
    # Field connectors (docs/sources.md): a mapping, or the name of a file holding one; the
    # ingest layer validates it (twinverse.ingest.spec), with the same located errors.
    sources: Any = None
    energy: dict[str, Any] | None = None  # validated field by field (see _energy)
    shifts: dict[str, Any] | None = None  # the shift calendar (model/shifts.py), validated field by field
    retention: dict[str, Any] = Field(default_factory=dict)  # retention classes by name: {raw, rollups}

#: Sections of a type whose entries are dropped one by one when invalid.
_KEYED = ("signals", "power", "properties")

_Model = TypeVar("_Model", bound=BaseModel)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a model is built.

    A plant of 100,000 twins allocates millions of small objects that all stay alive; each
    collection of the oldest generation walks all of them, so loading grew quadratically
    (24 s for 100,000 twins × 10 signals, 6 s with the collector paused). Nothing built here
    is garbage, and reference counting still frees what is dropped.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_plant(path: str | Path) -> Plant:
    """Load and validate a plant YAML file; :class:`ModelLoadError` lists every problem."""
    with _gc_paused():
        return plant_from_doc(read_yaml(path, strict=False))


def loads_plant(text: str, name: str = "<string>") -> Plant:
    """Like :func:`load_plant`, from a string."""
    with _gc_paused():
        return plant_from_doc(read_yaml(name, text=text, strict=False))


def _clean_loc(loc: Sequence[str | int]) -> PathKey:
    out = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
    # pydantic appends the union member tried ('str', 'list[str]'); drop those.
    return tuple(p for p in out if p not in ("str", "list[str]", "tuple[float, float]", "Retention"))


def _pydantic_problems(doc: LocatedDoc, exc: ValidationError, prefix: PathKey = ()) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        loc = _clean_loc(err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown field {loc[-1]!r}" if loc else msg
        elif err["type"] == "missing" and loc and isinstance(loc[-1], int):
            msg = f"missing item [{loc[-1]}]"
        elif err["type"] == "missing":
            msg = f"missing required field {loc[-1]!r}" if loc else msg
        # Private model names and pydantic's error class mean nothing to the author of the YAML.
        msg = re.sub(r" or instance of _\w+", "", msg).removeprefix("Value error, ")
        out.append(doc.problem((*prefix, *loc), msg))
    return out


def _drop(data: dict[str, Any], locs: Sequence[PathKey]) -> dict[str, Any]:
    """``data`` without the fields that failed validation (one signal, not all of them)."""
    out = dict(data)
    for loc in locs:
        if not loc or not isinstance(loc[0], str):
            continue
        head = loc[0]
        if head in _KEYED and len(loc) > 1 and isinstance(out.get(head), dict):
            out[head] = {k: v for k, v in out[head].items() if k != loc[1]}
        else:
            out.pop(head, None)
    return out


def plant_from_doc(doc: LocatedDoc) -> Plant:
    """Validate a located YAML document and resolve it into a :class:`Plant`.

    Every problem of the document is collected and raised together in one
    :class:`ModelLoadError`.
    """
    with _gc_paused():
        return _Resolver(doc).resolve()


def check_rule(raw: Any, ty: TwinType, path: PathKey, base: AlarmRule | None = None) -> AlarmRule:
    """One alarm rule document checked as the plant file's are, with the same messages.

    ``path`` ends with the rule's name (``("types", "filler", "alarms", "temperature_hi")``);
    ``base`` is the rule ``raw`` overrides field by field (a twin's override), if any. Raises
    :class:`ModelLoadError` whose problems carry the field path (no file or line).
    """
    resolver = _Resolver(LocatedDoc({}, "", {}))
    name = str(path[-1])
    out = resolver._rules({name: raw}, {name: base} if base is not None else {}, ty, tuple(path[:-1]))
    if resolver.problems:
        raise ModelLoadError([Problem(p.message, Location(path=p.location.path)) for p in resolver.problems])
    return out[name]


class _Resolver:
    def __init__(self, doc: LocatedDoc) -> None:
        self.doc = doc
        self.problems: list[Problem] = list(doc.problems)
        # Fields the reader already complained about (a bad tag) are not reported twice.
        self._reported = {p.location.path for p in doc.problems if p.location.path}
        self.types: dict[str, TwinType] = {}
        self._resolved: set[str] = set()
        self._damaged: set[str] = set()  # types with dropped fields: skip checks that would cascade
        self._broken: set[str] = set()  # ids of twins that could not be built: no cascade either
        self.twins: list[Twin] = []
        self.twin_alarms: dict[str, dict[str, AlarmRule]] = {}
        self._bad_rules: set[str] = set()  # rule names that failed in a type: overrides do not cascade
        self.twin_anomaly: dict[str, dict[str, AnomalySpec]] = {}
        self.twin_paths: dict[str, PathKey] = {}
        # (source ref, source scope, relationship, target ref, target scope, path, report missing target)
        self.pending: list[tuple[str, str | None, str, str, str | None, PathKey, bool]] = []

    def fail(self, path: PathKey, message: str) -> None:
        self.problems.append(self.doc.problem(path, message))

    def _already_reported(self, path: str) -> bool:
        """True if the reader reported this field or something inside it (no cascade)."""
        return any(r == path or r.startswith((path + ".", path + "[")) for r in self._reported if r)

    def validate(self, model: type[_Model], data: Any, path: PathKey) -> _Model | None:
        """Validate one entry; on errors report them, drop the bad fields and retry once."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for p in _pydantic_problems(self.doc, exc, path):
                if not self._already_reported(p.location.path or ""):
                    self.problems.append(p)
            locs = [_clean_loc(e["loc"]) for e in exc.errors(include_url=False)]
        if not isinstance(data, dict):
            return None
        try:
            return model.model_validate(_drop(data, locs))
        except ValidationError:
            return None

    def resolve(self) -> Plant:
        pdoc = self.validate(_PlantDoc, self.doc.data, ())
        if pdoc is None:
            raise ModelLoadError(sorted(self.problems, key=lambda p: p.location.line or 0))
        self.pdoc = pdoc
        self._resolve_types()
        energy = self._energy(self.pdoc.energy)
        shifts = parse_shifts(self.pdoc.shifts, ("shifts",), self.fail) if self.pdoc.shifts is not None else None
        root = self.pdoc.plant
        if not _ID.match(root) or "{" in root:
            self.fail(("plant",), f"plant id {root!r} may only hold letters, digits, '_', '-', '.'")
        self._add_twin(root, "site", self.pdoc.name or root, None, {}, None, ("plant",))
        self._expand(self.pdoc.twins, root, ("twins",))
        rels = self._resolve_relationships()
        if self.problems:
            raise ModelLoadError(sorted(self.problems, key=lambda p: p.location.line or 0))
        plant = Plant(
            root,
            self.pdoc.name or root,
            self.types,
            self.twins,
            rels,
            source=self.doc.file,
            description=self.pdoc.description,
        )
        plant.twin_alarms = self.twin_alarms
        plant.twin_anomaly = self.twin_anomaly
        if energy is not None:
            plant.grid = (energy.grid, energy.year)
            plant.instruments = tuple(MarketInstrument(i.name, i.kind, i.share, i.kg_per_kwh)
                                      for i in energy.instruments)  # fmt: skip
            plant.residual_factor = energy.residual_kg_per_kwh
        plant.shifts = shifts
        plant.simulation_doc = self.pdoc.simulation
        plant.aas_doc = self.pdoc.aas
        plant.sources_doc = self.pdoc.sources
        plant.located_doc = self.doc
        return plant

    def _energy(self, raw: Any) -> _EnergyDoc | None:
        """The ``energy:`` section: grid and year with a published factor, market instruments."""
        if raw is None:
            return None
        energy = self.validate(_EnergyDoc, raw, ("energy",))
        if energy is None:
            return None
        if (energy.grid, energy.year) not in GRID_FACTORS:
            self.fail(("energy", "grid"), f"no published grid factor for {energy.grid!r} in {energy.year} "
                                          f"(have: {', '.join(grid_regions())})")  # fmt: skip
        total = sum(i.share for i in energy.instruments)
        if total > 1 + 1e-9:
            self.fail(("energy", "instruments"), f"the instruments' shares add up to {total:g}: at most 1")
        return energy

    # -- types -----------------------------------------------------------------------------
    def _retention(self, raw: Any, path: PathKey) -> Retention | None:
        """A class name or an inline ``{raw, rollups}`` as a :class:`Retention` (None, reported, if bad)."""
        if isinstance(raw, str):
            found = self._retention_classes.get(raw)
            if found is None:
                known = ", ".join(sorted(self._retention_classes)) or "none"
                self.fail(path, f"unknown retention class {raw!r} (declared in 'retention': {known})")
            return found
        return self.validate(Retention, raw, path)

    def _resolve_types(self) -> None:
        specs = {name: self.validate(Retention, raw, ("retention", name)) for name, raw in self.pdoc.retention.items()}
        self._retention_classes = {name: spec for name, spec in specs.items() if spec is not None}
        docs: dict[str, _TypeDoc] = {}
        for name, raw in self.pdoc.types.items():
            before = len(self.problems)
            # An invalid type stays known (empty) so that its twins do not report "unknown type".
            docs[name] = self.validate(_TypeDoc, raw, ("types", name)) or _TypeDoc()
            if len(self.problems) > before:
                self._damaged.add(name)
        done: dict[str, TwinType] = dict(BUILTIN_TYPES)
        for name in docs:
            self._resolve_type(name, docs, done, ())
        self.types = done

    def _resolve_type(
        self, name: str, docs: Mapping[str, _TypeDoc], done: dict[str, TwinType], chain: tuple[str, ...]
    ) -> TwinType | None:
        if name not in docs:
            return done.get(name)
        if name in self._resolved:
            return done[name]
        path: PathKey = ("types", name)
        if name in chain:
            self.fail((*path, "extends"), f"type inheritance cycle: {' -> '.join((*chain, name))}")
            return None
        td = docs[name]
        signals: dict[str, Signal] = {}
        properties: dict[str, Any] = {}
        power: dict[str, float] = {}
        alarms: dict[str, AlarmRule] = {}
        anomaly: dict[str, AnomalySpec] = {}
        shape, size, container = td.shape, td.size, td.container
        model = td.model
        if td.extends is not None:
            if td.extends not in docs and td.extends not in BUILTIN_TYPES:
                declared = ", ".join(sorted(docs)) or "none"
                self.fail((*path, "extends"), f"unknown type {td.extends!r} (declared types: {declared})")
            else:
                base = self._resolve_type(td.extends, docs, done, (*chain, name))
                if base is not None:
                    signals.update(base.signals)
                    properties.update(base.properties)
                    power.update(base.power)
                    alarms.update(base.alarms)
                    anomaly.update(base.anomaly)
                    shape = shape or base.shape
                    size = size or base.size
                    model = model or base.model
                    container = container or base.container
        for sname, sig in td.signals.items():
            if sig.unit is not None:
                try:
                    check_unit(sig.unit)
                except UnknownUnit as exc:
                    self.fail((*path, "signals", sname, "unit"), str(exc))
            signals[sname] = sig.model_copy(update={"name": sname})
            if isinstance(sig.retention, str):
                own = self._retention(sig.retention, (*path, "signals", sname, "retention"))
                signals[sname] = signals[sname].model_copy(update={"retention": own})
        common = None if td.retention is None else self._retention(td.retention, (*path, "retention"))
        if common is not None:
            signals = {n: sg if sg.retention else sg.model_copy(update={"retention": common})
                       for n, sg in signals.items()}  # fmt: skip
        if td.anomaly:
            anomaly = resolve_anomaly(td.anomaly, anomaly, signals, (*path, "anomaly"), self.fail)
            for spec in anomaly.values():
                signals.setdefault(spec.score, score_signal(spec))
        properties.update(td.properties)
        power.update(td.power)
        state = signals.get("state")
        states = state.states if state is not None and state.states else None
        for st, kw in td.power.items():
            if states is not None and st not in states:
                self.fail((*path, "power", st), f"state {st!r} is not in the type's states ({', '.join(states)})")
            if kw < 0:
                self.fail((*path, "power", st), f"power must be >= 0 kW, got {kw}")
        if td.power and states is None and name not in self._damaged:
            self.fail((*path, "power"), "power per state needs a signal 'state' of kind state")
        # A type that redefines its states must not keep power entries of states it dropped.
        inherited = [st for st in power if st not in td.power and (states is None or st not in states)]
        if inherited and "state" in td.signals and name not in self._damaged:
            have = ", ".join(states) if states is not None else "none"
            self.fail(
                (*path, "signals", "state"),
                f"inherited power entries {', '.join(map(repr, inherited))} name states this type does not have "
                f"(states: {have}); redefine 'power' for them",
            )
        ty = TwinType(
            name=name,
            extends=td.extends,
            description=td.description,
            signals=signals,
            properties=properties,
            power=power,
            shape=shape,
            size=size,
            model=model,
            container=container,
            anomaly=anomaly,
        )
        if td.alarms:
            ty = ty.model_copy(update={"alarms": self._rules(td.alarms, alarms, ty, (*path, "alarms"))})
        elif alarms:
            ty = ty.model_copy(update={"alarms": alarms})
        done[name] = ty
        self._resolved.add(name)
        return ty

    def _rules(
        self, docs: Mapping[str, Any], inherited: Mapping[str, AlarmRule], ty: TwinType, path: PathKey
    ) -> dict[str, AlarmRule]:
        """``inherited`` with the rules of ``docs`` added or overridden, each checked against ``ty``."""
        out = dict(inherited)
        for rname, raw in docs.items():
            rpath = (*path, rname)
            if not isinstance(raw, Mapping):
                self.fail(rpath, "an alarm rule must be a mapping, e.g. {kind: hi, signal: temperature, limit: 80}")
                continue
            if rname not in inherited and rname in self._bad_rules and "kind" not in raw:
                continue  # overrides a rule already reported broken
            rule = self.validate(AlarmRule, merged_rule_doc(inherited.get(rname), raw), rpath)
            if rule is None:
                self._bad_rules.add(rname)
                continue
            problems = rule_problems(rule, ty)
            for field, message in problems:
                self.fail((*rpath, field) if field in raw or rname not in inherited else rpath, message)
            if problems:
                self._bad_rules.add(rname)
            else:
                out[rname] = rule
        return out

    # -- twins -----------------------------------------------------------------------------
    def _add_twin(
        self,
        twin_id: str,
        type_name: str,
        name: str,
        parent: str | None,
        properties: dict[str, Any],
        placement: Placement | None,
        path: PathKey,
    ) -> bool:
        if twin_id in self.twin_paths:
            first = self.doc.locate(self.twin_paths[twin_id])
            self.fail(path, f"duplicate twin id {twin_id!r} (first defined at line {first.line})")
            return False
        self.twin_paths[twin_id] = path
        props = {**self.types[type_name].properties, **properties} if type_name in self.types else properties
        self.twins.append(
            Twin(id=twin_id, type=type_name, name=name, parent=parent, properties=props, placement=placement)
        )
        return True

    def _instance_ids(self, td: _TwinDoc, path: PathKey) -> list[str]:
        if td.ids is not None:
            if td.id is not None or td.count is not None:
                self.fail(path, "give either 'ids' or 'id' (with optional 'count'), not both")
            return list(td.ids)
        if td.id is None:
            self.fail(path, "missing required field 'id' (or 'ids')")
            return []
        if td.count is None:
            return [td.id]
        if "{n}" in td.id:
            return [td.id.replace("{n}", str(n)) for n in range(1, td.count + 1)]
        return [f"{td.id}{n}" for n in range(1, td.count + 1)]

    def _mark_broken(self, raw: Any, parent: str) -> None:
        """Remember the ids of a twin entry that could not be built (no cascading errors)."""
        if not isinstance(raw, dict):
            return
        ids = [raw["id"]] if isinstance(raw.get("id"), str) else raw.get("ids") or []
        self._broken.update(f"{parent}/{i}" for i in ids if isinstance(i, str))

    def _expand(self, docs: Sequence[Any], parent: str, path: PathKey) -> None:
        for i, raw in enumerate(docs):
            tpath: PathKey = (*path, i)
            td = self.validate(_TwinDoc, raw, tpath)
            if td is None:
                self._mark_broken(raw, parent)
                continue
            if td.type not in self.types:
                known = ", ".join(sorted(self.types))
                self.fail((*tpath, "type"), f"unknown type {td.type!r} (known types: {known})")
                self._mark_broken(raw, parent)
                continue
            for local in self._instance_ids(td, tpath):
                if not _ID.match(local) or "{" in local:
                    self.fail((*tpath, "id"), f"twin id {local!r} may only hold letters, digits, '_', '-', '.'")
                    continue
                full = f"{parent}/{local}"
                name = td.name if td.name and td.count is None and td.ids is None else local
                if not self._add_twin(full, td.type, name, parent, td.properties, td.position, tpath):
                    continue
                if td.alarms:
                    ty = self.types[td.type]
                    own = self._rules(td.alarms, ty.alarms, ty, (*tpath, "alarms"))
                    self.twin_alarms[full] = {k: v for k, v in own.items() if ty.alarms.get(k) is not v}
                if td.anomaly:
                    ty = self.types[td.type]
                    det = resolve_anomaly(td.anomaly, ty.anomaly, ty.signals, (*tpath, "anomaly"), self.fail, twin=True)
                    self.twin_anomaly[full] = {k: v for k, v in det.items() if ty.anomaly.get(k) is not v}
                feeds = [td.feeds] if isinstance(td.feeds, str) else list(td.feeds or [])
                for j, ref in enumerate(feeds):
                    fpath = (*tpath, "feeds") if isinstance(td.feeds, str) else (*tpath, "feeds", j)
                    self.pending.append((full, None, "feeds", ref, parent, fpath, True))
                for j, rel in enumerate(td.relationships):
                    rpath = (*tpath, "relationships", j, "target")
                    self.pending.append((full, None, rel.name, rel.target, parent, rpath, True))
                if td.flow:
                    # Each element is checked once; edges between existing elements are added.
                    for j, ref in enumerate(td.flow):
                        self.pending.append(("", None, "", ref, full, (*tpath, "flow", j), True))
                    for j in range(len(td.flow) - 1):
                        self.pending.append(
                            (td.flow[j], full, "feeds", td.flow[j + 1], full, (*tpath, "flow", j + 1), False)
                        )
                self._expand(td.children, full, (*tpath, "children"))

    def _lookup(self, ref: str, scope: str | None) -> str | None:
        return next((c for c in self._candidates(ref, scope) if c in self.twin_paths), None)

    def _candidates(self, ref: str, scope: str | None) -> list[str]:
        candidates = [f"{scope}/{ref}"] if scope else []
        return [*candidates, ref, f"{self.pdoc.plant}/{ref}"]

    def _is_broken(self, ref: str, scope: str | None) -> bool:
        return any(c == b or c.startswith(b + "/") for c in self._candidates(ref, scope) for b in self._broken)

    def _resolve_relationships(self) -> list[Relationship]:
        rels: list[Relationship] = [
            Relationship(source=t.parent, name="contains", target=t.id) for t in self.twins if t.parent
        ]
        seen: set[tuple[str, str, str]] = set()
        reported: set[tuple[PathKey, str]] = set()  # a counted twin repeats its edges per instance
        for src_ref, src_scope, name, ref, scope, path, check in self.pending:
            target = self._lookup(ref, scope)
            if target is None:
                if check and (path, ref) not in reported and not self._is_broken(ref, scope):
                    reported.add((path, ref))
                    where = f" (looked in {scope!r})" if scope else ""
                    self.fail(path, f"relationship to a missing twin: {ref!r}{where}")
                continue
            source = self._lookup(src_ref, src_scope) if name else None
            if source is None:
                continue  # a check-only entry, or a flow element reported by its own check
            if source == target:
                if (path, ref) not in reported:
                    reported.add((path, ref))
                    self.fail(path, f"twin {source!r} cannot have a {name!r} relationship to itself")
                continue
            if (source, name, target) not in seen:
                seen.add((source, name, target))
                rels.append(Relationship(source=source, name=name, target=target))
        return rels
