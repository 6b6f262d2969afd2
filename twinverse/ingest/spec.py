"""The ``sources:`` section of a plant: which endpoint feeds which twin signal, validated once.

A plant YAML may declare field connectors (docs/sources.md)::

    sources:                       # or  sources: field.yaml  (a file holding a 'sources:' mapping)
      press_plc:
        kind: modbus               # a name in the twinverse.sources registry that has a parser
        url: modbus://10.0.0.7:502
        maps: [...]                # kind-specific
      line_opc:
        kind: opcua
        url: opc.tcp://10.0.0.8:4840
        nodes: [...]

Every mistake is a located problem (``file:line: sources.press_plc.maps[0].points[2].type: …``),
all of them collected into one :class:`ModelLoadError`, at ``twinverse validate`` and when the
platform starts; nothing here connects anywhere.

A kind is a :class:`FieldKind` found through :mod:`twinverse.plugins` by the entry's ``kind``:
``parse`` turns the entry into a configuration (reporting through a :class:`SpecReader`) and
``build`` makes the running :class:`~twinverse.ingest.Source` from it. A third-party connector
(Sparkplug B, say) registers its own :class:`FieldKind` the same way.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .. import plugins
from ..config import Settings
from ..errors import ConfigError, ModelLoadError, Problem
from ..model import Plant
from ..model.yamlsource import LocatedDoc, PathKey, read_yaml
from ..units import UnknownUnit, conversion
from .base import Source

__all__ = ["Common", "FieldKind", "KindBase", "SourceSpec", "SpecReader", "build_field_sources", "describe_spec",
           "load_source_specs"]  # fmt: skip

#: Fields every entry of ``sources:`` may have, whatever its kind.
COMMON = frozenset({"kind", "url", "buffer", "reconnect", "timeout", "enabled", "description"})


@dataclass(frozen=True)
class Common:
    """The part of a source entry every kind shares."""

    name: str
    kind: str
    url: str
    buffer: int  # most points held for the store before reads slow down
    reconnect: tuple[float, float]  # back-off: first and longest wait between connection attempts (s)
    timeout: float  # seconds per request / connection attempt


@dataclass(frozen=True)
class SourceSpec:
    """One validated entry of ``sources:``: the common part, the kind's config, and where it is."""

    common: Common
    config: Any
    where: str  # file:line of the entry, for messages


@runtime_checkable
class FieldKind(Protocol):
    """A connector kind usable in ``sources:`` (the object a ``twinverse.sources`` entry names)."""

    #: Fields of an entry beyond :data:`COMMON` (unknown ones are reported).
    fields: frozenset[str]

    def parse(self, r: SpecReader, entry: Mapping[str, Any], path: PathKey, common: Common) -> Any:
        """Validate ``entry`` (a mapping) and return the kind's config; report problems through ``r``."""
        ...

    def build(self, spec: SourceSpec, plant: Plant) -> Source:
        """The running source for a valid ``spec``."""
        ...


class SpecReader:
    """Located checks over one document: collects problems instead of raising at the first."""

    def __init__(self, doc: LocatedDoc, plant: Plant) -> None:
        self.doc = doc
        self.plant = plant
        self.problems: list[Problem] = []
        self._fed: dict[int, PathKey] = {}  # sid → the path that feeds it (one feeder per signal)

    def fail(self, path: PathKey, message: str) -> None:
        self.problems.append(self.doc.problem(path, message))

    def where(self, path: PathKey) -> str:
        loc = self.doc.locate(path)
        return f"{loc.file}:{loc.line}"

    # -- shapes ------------------------------------------------------------------------------
    def mapping(self, value: Any, path: PathKey, what: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(path, f"{what} must be a mapping, got {_kind_of(value)}")
            return {}
        return value

    def sequence(self, value: Any, path: PathKey, what: str) -> Sequence[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(path, f"{what} must be a list, got {_kind_of(value)}")
            return []
        return value

    def unknown(self, entry: Mapping[str, Any], allowed: frozenset[str], path: PathKey) -> None:
        for key in entry:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (fields: {', '.join(sorted(allowed))})"
                self.fail((*path, key), f"unknown field {key!r}{hint}")

    def string(self, entry: Mapping[str, Any], key: str, path: PathKey, default: str | None = None) -> str | None:
        value = entry.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.fail((*path, key), f"{key} must be a non-empty string, got {_kind_of(value)}")
            return None
        return value

    def number(
        self, entry: Mapping[str, Any], key: str, path: PathKey, default: float,
        *, lo: float = -math.inf, hi: float = math.inf, positive: bool = False,
    ) -> float:  # fmt: skip
        value = entry.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.fail((*path, key), f"{key} must be a finite number, got {_kind_of(value)}")
            return default
        if positive and value <= 0:
            self.fail((*path, key), f"{key} must be > 0, got {value!r}")
            return default
        if not lo <= value <= hi:
            self.fail((*path, key), f"{key} must be within {lo:g}..{hi:g}, got {value!r}")
            return default
        return float(value)

    def integer(self, entry: Mapping[str, Any], key: str, path: PathKey, default: int, *, lo: int, hi: int) -> int:
        value = entry.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail((*path, key), f"{key} must be an integer, got {_kind_of(value)}")
            return default
        if not lo <= value <= hi:
            self.fail((*path, key), f"{key} must be within {lo}..{hi}, got {value}")
            return default
        return value

    def choice(self, entry: Mapping[str, Any], key: str, path: PathKey, options: Sequence[str], default: str) -> str:
        value = entry.get(key, default)
        if value not in options:
            self.fail((*path, key), f"{key} must be one of {', '.join(options)}, got {value!r}")
            return default
        return str(value)

    # -- the plant -----------------------------------------------------------------------------
    def twin(self, ref: Any, path: PathKey) -> str | None:
        """A twin id of the plant: as written, or relative to the plant's root twin."""
        if not isinstance(ref, str) or not ref:
            self.fail(path, f"twin must be a twin id, got {_kind_of(ref)}")
            return None
        for candidate in (ref, f"{self.plant.id}/{ref}"):
            if candidate in self.plant.twins:
                return candidate
        close = difflib.get_close_matches(ref, [t.removeprefix(self.plant.id + "/") for t in self.plant.twins], n=3)
        hint = f" (close: {', '.join(close)})" if close else ""
        self.fail(path, f"unknown twin {ref!r}{hint}")
        return None

    def signal(self, twin: str, name: Any, path: PathKey) -> int | None:
        """The sid of ``twin``'s signal ``name``; reports unknown names and a second feeder."""
        if not isinstance(name, str) or not name:
            self.fail(path, f"signal must be a signal name, got {_kind_of(name)}")
            return None
        sid = self.plant.signals.get(twin, name)
        if sid is None:
            have = sorted(self.plant.type_of(twin).signals)
            self.fail(path, f"twin {twin!r} (type {self.plant.twins[twin].type}) has no signal {name!r} "
                            f"(signals: {', '.join(have) or 'none'})")  # fmt: skip
            return None
        first = self._fed.get(sid)
        if first is not None:
            self.fail(path, f"signal {twin}.{name} is already fed by {_path(first)} ({self.where(first)})")
            return None
        self._fed[sid] = path[:-1] if path and path[-1] == "signal" else path
        return sid

    def flag(self, entry: Mapping[str, Any], key: str, path: PathKey, default: bool = False) -> bool:
        value = entry.get(key, default)
        if not isinstance(value, bool):
            self.fail((*path, key), f"{key} must be true or false, got {_kind_of(value)}")
            return default
        return value

    def writable(self, sid: int | None, entry: Mapping[str, Any], path: PathKey) -> bool:
        """Whether commands may write the signal: ``writable:`` of the mapping entry, or of its type."""
        mapped = self.flag(entry, "writable", path)
        return sid is not None and (mapped or self.plant.signals.signal[sid].writable)

    def unit_conversion(self, sid: int, unit: Any, path: PathKey) -> tuple[float, float]:
        """``(scale, offset)`` from a device unit to the signal's unit (identity without one)."""
        if unit is None:
            return 1.0, 0.0
        target = self.plant.signals.unit[sid]
        if not isinstance(unit, str) or not unit:
            self.fail(path, f"unit must be a unit name, got {_kind_of(unit)}")
            return 1.0, 0.0
        if target is None:
            self.fail(path, f"unit {unit!r} given, but the signal has no unit to convert to")
            return 1.0, 0.0
        if unit == target:
            return 1.0, 0.0
        try:
            return conversion(unit, target)
        except UnknownUnit as exc:
            self.fail(path, f"{exc} (the signal's unit is {target!r})")
            return 1.0, 0.0


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def _path(path: PathKey) -> str:
    from ..model.yamlsource import format_path

    return format_path(path)


def _kinds() -> dict[str, FieldKind]:
    """Registered sources that can be declared in ``sources:`` (they have a parser)."""
    out: dict[str, FieldKind] = {}
    for name, plugin in plugins.available(plugins.SOURCES).items():
        try:
            obj = plugin.load()
        except ConfigError:
            continue
        if isinstance(obj, FieldKind):
            out[name] = obj
    return out


def _document(plant: Plant) -> tuple[LocatedDoc, PathKey, Any]:
    """The document holding the section, the path of the section in it, and the section."""
    doc: LocatedDoc | None = plant.located_doc
    if doc is None:
        doc = LocatedDoc({"sources": plant.sources_doc}, plant.source or "<plant>", {})
    section = plant.sources_doc
    if not isinstance(section, str):
        return doc, ("sources",), section
    base = Path(doc.file).parent if doc.file and not doc.file.startswith("<") else Path.cwd()
    file = base / section
    if not file.is_file():
        raise ModelLoadError([doc.problem(("sources",), f"sources file {str(file)!r} does not exist")])
    other = read_yaml(file)
    if "sources" not in other.data:
        raise ModelLoadError([other.problem((), "a sources file needs a top-level 'sources:' mapping")])
    unknown = [k for k in other.data if k != "sources"]
    if unknown:
        raise ModelLoadError([other.problem((unknown[0],), f"unknown field {unknown[0]!r} (a sources file holds "
                                                            "only 'sources:')")])  # fmt: skip
    return other, ("sources",), other.data["sources"]


def load_source_specs(plant: Plant) -> list[SourceSpec]:
    """Validate the plant's ``sources:`` section; :class:`ModelLoadError` lists every problem.

    >>> from twinverse.model import loads_plant
    >>> p = loads_plant("plant: p\\ntypes: {m: {signals: {t: {}}}}\\ntwins: [{id: m1, type: m}]\\n"
    ...                 "sources: {plc: {kind: profinet, url: 'x://y'}}")
    >>> load_source_specs(p)
    Traceback (most recent call last):
    ...
    twinverse.errors.ModelLoadError: <string>:4: sources.plc.kind: kind must name a field connector ...
    """
    if plant.sources_doc is None:
        return []
    doc, root, section = _document(plant)
    r = SpecReader(doc, plant)
    entries = r.mapping(section, root, "sources")
    kinds = _kinds() if entries else {}
    specs: list[SourceSpec] = []
    for name, raw in entries.items():
        path: PathKey = (*root, name)
        entry = r.mapping(raw, path, f"source {name!r}")
        if not entry:
            if isinstance(raw, Mapping):
                r.fail(path, f"source {name!r} is empty (it needs at least 'kind' and 'url')")
            continue
        if entry.get("enabled", True) is False:
            continue
        kind_name = entry.get("kind")
        kind = kinds.get(kind_name) if isinstance(kind_name, str) else None
        if kind is None:
            have = ", ".join(sorted(kinds)) or "none installed"
            r.fail((*path, "kind"), f"kind must name a field connector ({have}), got {kind_name!r}"
                   if "kind" in entry else f"missing required field 'kind' ({have})")  # fmt: skip
            continue
        r.unknown(entry, COMMON | kind.fields, path)
        url = r.string(entry, "url", path)
        if url is None and "url" not in entry:
            r.fail(path, "missing required field 'url'")
        common = Common(
            name=str(name),
            kind=str(kind_name),
            url=url or "",
            buffer=r.integer(entry, "buffer", path, 100_000, lo=1, hi=100_000_000),
            reconnect=_backoff(r, entry, path),
            timeout=r.number(entry, "timeout", path, 2.0, lo=0.001, hi=3600),
        )
        before = len(r.problems)
        config = kind.parse(r, entry, path, common)
        if len(r.problems) == before:
            specs.append(SourceSpec(common, config, r.where(path)))
    if r.problems:
        raise ModelLoadError(sorted(r.problems, key=lambda p: (p.location.file or "", p.location.line or 0)))
    return specs


def _backoff(r: SpecReader, entry: Mapping[str, Any], path: PathKey) -> tuple[float, float]:
    value = entry.get("reconnect", [0.5, 30.0])
    ok = (isinstance(value, list) and len(value) == 2
          and all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in value))  # fmt: skip
    if not ok or value[0] > value[1]:
        r.fail((*path, "reconnect"), f"reconnect must be [first, longest] seconds, both > 0, got {value!r}")
        return 0.5, 30.0
    return float(value[0]), float(value[1])


def describe_spec(spec: SourceSpec, plant: Plant) -> str:
    """One line saying what an entry maps: ``name kind url  (N mapped, file:line)``, and more where the kind's
    config has a ``summary(plant)`` (Sparkplug: what its birth-matched entries can name)."""
    config: Any = spec.config
    summary = getattr(config, "summary", None)
    if callable(summary):
        what = str(summary(plant))
    else:
        points = getattr(config, "points", None)
        nodes = getattr(config, "nodes", None)
        n = len(points) if points is not None else len(nodes) if nodes is not None else 0
        patterns = len(getattr(config, "patterns", ()) or ())
        what = f"{n} mapped" + (f", {patterns} patterns" if patterns else "")
    return f"{spec.common.name:<16} {spec.common.kind:<8} {spec.common.url}  ({what}, {spec.where})"


def build_field_sources(plant: Plant) -> list[Source]:
    """The running sources the plant's ``sources:`` section declares (validated first)."""
    kinds = _kinds()
    return [kinds[s.common.kind].build(s, plant) for s in load_source_specs(plant)]


class KindBase:
    """Shared behaviour of the built-in kinds: they are registered sources, but not settings-driven.

    The registry's contract is a factory ``f(plant, settings)``; a field connector needs its
    mapping, so naming it in the ``sources`` setting explains where it belongs instead.
    """

    name = "field"

    def __call__(self, plant: Plant, settings: Settings) -> Source:
        raise ConfigError(f"{self.name} sources are declared in the plant's 'sources:' section "
                          "(docs/sources.md), not in the 'sources' setting")  # fmt: skip
