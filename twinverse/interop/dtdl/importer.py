"""Import DTDL interfaces as twin types, and an Azure Digital Twins import file as a plant.

The result is a plant YAML document (a ``dict`` ready for ``yaml.safe_dump``), so an import
is reviewed and kept as any plant is (docs/plant-yaml.md). What maps:

* an Interface → a twin type, named by its ``displayName`` (or its DTMI's last segment);
  its first ``extends`` → ``extends``; further bases' contents are merged into the type;
* Telemetry with a numeric, boolean or Enum schema → a signal (an Enum becomes a ``state``
  signal whose states are the enum values' names, in value order); a DTDL ``unit`` → its
  pint unit where :data:`~twinverse.interop.dtdl.export.UNITS` knows it;
* Properties → type properties (defaults from a ``twinverse`` annotation, otherwise none);
* Components → their interface's telemetry as signals named ``<component>_<signal>``;
* Relationships and Commands have no twin-type counterpart and are listed in ``notes``.

In an import file, twins become twins (``contains`` relationships give the tree) and the
other relationships become ``relationships`` of their source twin.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import InputError
from ._model import DtdlError, Element, ModelSet, ParsingError
from .export import ANNOTATION, BASE_INTERFACE, UNITS
from .parser import parse_models

__all__ = ["Imported", "import_adt", "import_interfaces", "read_adt", "read_dtdl_files"]

_TYPE_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_PRIMITIVE = "dtmi:dtdl:instance:Schema:"
_FLOAT = {"double", "float", "decimal"}
_INT = {"integer", "long", "short", "byte", "unsignedByte", "unsignedShort", "unsignedInteger", "unsignedLong"}
_DTDL_TO_PINT = {dtdl: pint for pint, (_, dtdl) in UNITS.items()}


@dataclass
class Imported:
    """A plant YAML document built from DTDL, and what could not be carried over."""

    doc: dict[str, Any]
    type_of: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _json(text: str, file: str) -> Any:
    try:
        return json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{file}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc


def read_dtdl_files(paths: Iterable[Path]) -> list[tuple[str, Any]]:
    """``(file, JSON)`` of every ``.json`` file given, directories searched recursively."""
    out: list[tuple[str, Any]] = []
    for p in paths:
        files = sorted(p.rglob("*.json")) if p.is_dir() else [p]
        for f in files:
            try:
                text = f.read_text(encoding="utf-8")
            except OSError as exc:
                raise InputError(f"{f}: cannot read: {exc.strerror}") from exc
            out.append((str(f), _json(text, str(f))))
    if not out:
        raise InputError("no DTDL files given (pass .json files or directories holding them)")
    return out


def _en(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("en") or value.get("en-US") or next(iter(value.values()), None)
    return value if isinstance(value, str) else None


def _note(el: Element) -> dict[str, Any]:
    c = el.properties.get("comment")
    if isinstance(c, str) and c.startswith(ANNOTATION):
        try:
            data = json.loads(c[len(ANNOTATION):])
        except json.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}
    return {}


def _label(el: Element, fallback: str) -> str:
    shown = _en(el.properties.get("displayName"))
    return shown if shown and _TYPE_NAME.match(shown) else fallback


def _segment(dtmi: str) -> str:
    return dtmi.partition(";")[0].rsplit(":", 1)[-1]


class _Types:
    def __init__(self, ms: ModelSet, notes: list[str]) -> None:
        self.ms = ms
        self.notes = notes
        self.names: dict[str, str] = {}
        taken: set[str] = set()
        for el in ms.interfaces():
            if el.id == BASE_INTERFACE or el.parent is not None:
                continue
            name = base = _label(el, _segment(el.id))
            n = 2
            while name in taken:
                name, n = f"{base}_{n}", n + 1
            taken.add(name)
            self.names[el.id] = name

    def signal(self, el: Element, prefix: str = "") -> tuple[str, dict[str, Any]] | None:
        schema = el.properties.get("schema")
        note = _note(el)
        sig: dict[str, Any] = {}
        target = self.ms.elements.get(schema) if isinstance(schema, str) else None
        word = schema.removeprefix(_PRIMITIVE).partition(";")[0] if isinstance(schema, str) else ""
        if target is not None and target.cls == "Enum":
            values = [self.ms.elements[v] for v in target.properties.get("enumValues", [])]
            if target.properties.get("valueSchema") == "integer":
                values.sort(key=lambda v: v.properties.get("enumValue", 0))
            sig = {"kind": "state", "states": [_en(v.properties.get("displayName")) or v.name for v in values]}
        elif word in _FLOAT:
            sig = {}
        elif word in _INT:
            sig = {"kind": "int"}
        elif word == "boolean":
            sig = {"kind": "bool"}
        else:
            self.notes.append(f"{el.id}: telemetry {el.name!r} has a schema twinverse signals cannot hold; skipped")
            return None
        unit = note.get("unit")
        if unit is None and isinstance(el.properties.get("unit"), str):
            unit = _DTDL_TO_PINT.get(el.properties["unit"])
            if unit is None:
                self.notes.append(f"{el.id}: DTDL unit {el.properties['unit']!r} has no pint equivalent here; dropped")
        if unit is not None:
            sig["unit"] = unit
        if isinstance(note.get("range"), list):
            sig["range"] = note["range"]
        desc = _en(el.properties.get("description"))
        if desc:
            sig["description"] = desc
        shown = _en(el.properties.get("displayName"))
        name = shown if shown and re.fullmatch(r"[A-Za-z0-9_.\-]+", shown) else str(el.name)
        return prefix + name, sig

    def type_doc(self, dtmi: str) -> dict[str, Any]:
        el = self.ms.elements[dtmi]
        note = _note(el)
        bases = [b for b in el.properties.get("extends", []) if b != BASE_INTERFACE]
        doc: dict[str, Any] = {}
        if bases and bases[0] in self.names:
            doc["extends"] = self.names[bases[0]]
        desc = _en(el.properties.get("description"))
        if desc:
            doc["description"] = desc
        contents = list(el.properties.get("contents", []))
        for extra in bases[1:]:
            contents.extend(c.id for c in self.ms.contents(extra).values())
        signals: dict[str, Any] = {}
        props: dict[str, Any] = {}
        for cid in contents:
            c = self.ms.elements[cid]
            if c.cls == "Telemetry":
                got = self.signal(c)
                if got is not None:
                    signals[got[0]] = got[1]
            elif c.cls == "Property":
                label = _en(c.properties.get("displayName"))
                key = label if label and dtmi.startswith("dtmi:twinverse:") else str(c.name)
                props[key] = None
            elif c.cls == "Component":
                schema = c.properties.get("schema")
                if isinstance(schema, str) and schema in self.ms.elements:
                    for sub in self.ms.contents(schema).values():
                        if sub.cls == "Telemetry" and (got := self.signal(sub, f"{c.name}_")) is not None:
                            signals[got[0]] = got[1]
            else:
                self.notes.append(f"{dtmi}: {c.cls.lower()} {c.name!r} has no twin-type counterpart; not imported")
        props.update(note.get("properties") or {})
        if signals:
            doc["signals"] = signals
        if props:
            doc["properties"] = props
        for key in ("power", "shape", "size", "container"):
            if note.get(key) is not None:
                doc[key] = note[key]
        return doc


def import_interfaces(
    documents: Sequence[tuple[str, Any]], *, plant_id: str = "imported", name: str | None = None
) -> Imported:
    """DTDL interfaces → a plant document with one type per interface and no twins."""
    ms = parse_models(documents)
    return _imported(ms, plant_id, name, [], [])


def _imported(
    ms: ModelSet, plant_id: str, name: str | None, twins: list[dict[str, Any]], rels: list[dict[str, Any]]
) -> Imported:
    notes: list[str] = []
    types = _Types(ms, notes)
    doc: dict[str, Any] = {"plant": plant_id, "name": name or plant_id}
    doc["types"] = {types.names[i]: types.type_doc(i) for i in types.names}
    out = Imported(doc, dict(types.names), notes)
    if twins:
        doc["twins"] = _twin_tree(twins, rels, types.names, out)
    return out


_Records = list[dict[str, Any]]


def read_adt(text: str, file: str = "<import>") -> tuple[list[tuple[str, Any]], _Records, _Records]:
    """Split an Azure Digital Twins import file into models, twins and relationships."""
    section = None
    models: list[tuple[str, Any]] = []
    twins: list[dict[str, Any]] = []
    rels: list[dict[str, Any]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{file}:{n}:{exc.colno}: not valid JSON: {exc.msg}") from exc
        if isinstance(rec, dict) and set(rec) == {"Section"}:
            section = rec["Section"]
            continue
        if section == "Models":
            models.append((f"{file}:{n}", rec))
        elif section == "Twins":
            if not isinstance(rec, dict) or not isinstance(rec.get("$dtId"), str):
                raise InputError(f"{file}:{n}: a twin needs a string $dtId")
            twins.append(rec)
        elif section == "Relationships":
            if not isinstance(rec, dict) or not all(isinstance(rec.get(k), str) for k in
                                                    ("$dtId", "$targetId", "$relationshipName")):
                raise InputError(f"{file}:{n}: a relationship needs $dtId, $targetId and $relationshipName")
            rels.append(rec)
        elif section != "Header":
            raise InputError(f"{file}:{n}: a record outside the Header, Models, Twins and Relationships sections")
    return models, twins, rels


def import_adt(text: str, file: str = "<import>", *, plant_id: str | None = None) -> Imported:
    """An Azure Digital Twins import file → a plant document (types, twins, relationships)."""
    models, twins, rels = read_adt(text, file)
    ms = parse_models(models)
    ids = {t["$dtId"] for t in twins}
    children = {r["$targetId"] for r in rels if r["$relationshipName"] == "contains"}
    roots = [t["$dtId"] for t in twins if t["$dtId"] not in children]
    for r in rels:
        for end in ("$dtId", "$targetId"):
            if r[end] not in ids:
                raise InputError(f"{file}: relationship {r.get('$relationshipId', '?')!r}: no twin {r[end]!r}")
    for t in twins:
        model = (t.get("$metadata") or {}).get("$model")
        if model not in ms.elements:
            err = ParsingError("dtmi:dtdl:parsingError:idReference", f"twin's $model {model!r} is not in Models",
                               file, t["$dtId"], "$metadata.$model")
            raise DtdlError([err])
    single = len(roots) == 1 and plant_id in (None, roots[0])
    pid = roots[0] if single else (plant_id or "imported")
    if single:
        root = next(t for t in twins if t["$dtId"] == pid)
        kept = [t for t in twins if t["$dtId"] != pid]
        out = _imported(ms, pid, root.get("name"), kept, [r for r in rels if r["$dtId"] != pid or
                                                          r["$relationshipName"] != "contains"])
        return out
    return _imported(ms, pid, None, twins, rels)


def _twin_tree(
    twins: list[dict[str, Any]], rels: list[dict[str, Any]], names: dict[str, str], out: Imported
) -> list[dict[str, Any]]:
    plant = out.doc["plant"]
    by_id = {t["$dtId"]: t for t in twins}
    parent: dict[str, str] = {}
    for r in rels:
        if r["$relationshipName"] == "contains" and r["$targetId"] in by_id:
            parent[r["$targetId"]] = r["$dtId"]
    docs: dict[str, dict[str, Any]] = {}
    for t in twins:
        tid = t["$dtId"]
        up = parent.get(tid, plant)
        local = tid[len(up) + 1:] if tid.startswith(up + "/") else re.sub(r"[^A-Za-z0-9_.\-]", "_", tid)
        d: dict[str, Any] = {"id": local, "type": names[t["$metadata"]["$model"]]}
        if t.get("name") not in (None, local):
            d["name"] = t["name"]
        props = {k: v for k, v in t.items() if not k.startswith("$") and k not in ("name", "position")}
        if props:
            d["properties"] = props
        if isinstance(t.get("position"), dict):
            d["position"] = t["position"]
        docs[tid] = d
    roots: list[dict[str, Any]] = []
    for t in twins:
        tid = t["$dtId"]
        up = parent.get(tid)
        (docs[up].setdefault("children", []) if up in docs else roots).append(docs[tid])
    for r in rels:
        if r["$relationshipName"] != "contains" and r["$dtId"] in docs:
            docs[r["$dtId"]].setdefault("relationships", []).append(
                {"name": r["$relationshipName"], "target": r["$targetId"]}
            )
    return roots
