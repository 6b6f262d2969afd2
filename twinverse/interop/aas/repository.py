"""The read (and value-write) operations of the AAS API (Part 2, v3.0) over one environment.

:class:`AasRepository` holds the environment as AAS JSON and answers the operations of the
AAS repository, submodel repository, concept description repository, the single AAS and
single submodel interfaces, and serialisation: paging (``limit``/``cursor``), ``level``,
``$metadata``, ``$value``, ``$reference``, ``$path`` and ``idShortPath`` lookups. A Property
bound to a signal (qualifier ``twinverse:signal``) answers with the live value that the
``live`` callable gives at the time of the request.

Paths and query parameters arrive already split by the API layer; errors are
:class:`~twinverse.errors.InputError` (a bad parameter, answered 400) and
:class:`~twinverse.errors.NotFoundError` (404).
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from basyx.aas import model
from basyx.aas.adapter.json import AASToJsonEncoder

from ...errors import ConflictError, InputError, NotFoundError
from .export import LiveValue
from .ids import SIGNAL_QUALIFIER, TWIN_EXTENSION, b64decode_id, b64encode_id

__all__ = ["PROFILES", "AasRepository", "Level", "Page"]

_SSP = "https://admin-shell.io/aas/API/3/0/"
#: The service profiles twinverse implements (the read profiles of Part 2).
PROFILES = (
    f"{_SSP}AssetAdministrationShellRepositoryServiceSpecification/SSP-002",
    f"{_SSP}SubmodelRepositoryServiceSpecification/SSP-002",
    f"{_SSP}AssetAdministrationShellServiceSpecification/SSP-002",
    f"{_SSP}SubmodelServiceSpecification/SSP-002",
)

Page = dict[str, Any]
Json = dict[str, Any]

#: ``level`` values: ``deep`` (default) or ``core`` (one level of children).
Level = str
_LEVELS = ("deep", "core")
_EXTENTS = ("withBlobValue", "withoutBlobValue")
_CONTAINERS = ("SubmodelElementCollection", "SubmodelElementList", "Entity")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_MAX_LIMIT = 10_000


def _children(element: Json) -> list[Json]:
    kind = element.get("modelType")
    if kind in ("SubmodelElementCollection", "SubmodelElementList"):
        return list(element.get("value", []) or [])
    if kind == "Entity":
        return list(element.get("statements", []) or [])
    if kind == "Submodel":
        return list(element.get("submodelElements", []) or [])
    return []


def _core(element: Json) -> Json:
    """``element`` with its grandchildren left out (``level=core``)."""
    out = dict(element)
    key = {"Submodel": "submodelElements", "Entity": "statements"}.get(str(out.get("modelType")), "value")
    if out.get("modelType") in (*_CONTAINERS, "Submodel") and key in out:
        out[key] = [_strip_children(c) for c in out[key]]
    return out


def _strip_children(element: Json) -> Json:
    out = dict(element)
    if out.get("modelType") in ("SubmodelElementCollection", "SubmodelElementList"):
        out.pop("value", None)
    elif out.get("modelType") == "Entity":
        out.pop("statements", None)
    return out


def _metadata(element: Json) -> Json:
    """``element`` without its value (``$metadata``)."""
    drop = {"submodelElements", "value", "valueId", "statements", "min", "max"}
    return {k: v for k, v in element.items() if k not in drop}


def _typed_value(element: Json) -> Any:
    """The value of a Property in its JSON type (numbers and booleans unquoted)."""
    raw = element.get("value")
    if raw is None:
        return None
    vtype = str(element.get("valueType", "xs:string"))
    try:
        if vtype == "xs:boolean":
            return raw in ("true", "1")
        if vtype in ("xs:double", "xs:float", "xs:decimal"):
            number = float(raw)
            return number if math.isfinite(number) else raw
        if vtype in ("xs:int", "xs:long", "xs:integer", "xs:short", "xs:byte", "xs:unsignedInt", "xs:unsignedLong"):
            return int(raw)
    except ValueError:
        return raw
    return raw


def _value_only(element: Json) -> Any:
    """The ValueOnly serialisation of one element (Part 2, clause 11.4.3)."""
    kind = element.get("modelType")
    if kind == "Property":
        return _typed_value(element)
    if kind == "MultiLanguageProperty":
        return [{ls["language"]: ls["text"]} for ls in element.get("value", []) or []]
    if kind == "Range":
        return {"min": element.get("min"), "max": element.get("max")}
    if kind in ("File", "Blob"):
        return {"contentType": element.get("contentType"), "value": element.get("value")}
    if kind == "ReferenceElement":
        return element.get("value")
    if kind in ("RelationshipElement", "AnnotatedRelationshipElement"):
        out: Json = {"first": element.get("first"), "second": element.get("second")}
        if kind == "AnnotatedRelationshipElement":
            out["annotations"] = _values_of(element.get("annotations", []) or [])
        return out
    if kind == "SubmodelElementCollection":
        return _values_of(element.get("value", []) or [])
    if kind == "SubmodelElementList":
        return [_value_only(c) for c in element.get("value", []) or []]
    if kind == "Entity":
        entity: Json = {"statements": _values_of(element.get("statements", []) or []),
                        "entityType": element.get("entityType")}
        if element.get("globalAssetId"):
            entity["globalAssetId"] = element["globalAssetId"]
        return entity
    if kind == "BasicEventElement":
        return {"observed": element.get("observed")}
    return None


def _values_of(elements: Iterable[Json]) -> Json:
    return {e["idShort"]: _value_only(e) for e in elements if e.get("idShort")}


def _paths(elements: Sequence[Json], prefix: str, deep: bool, out: list[str]) -> list[str]:
    for i, e in enumerate(elements):
        name = e.get("idShort")
        path = f"{prefix}[{i}]" if name is None else (f"{prefix}.{name}" if prefix else str(name))
        out.append(path)
        if deep:
            _paths(_children(e), path, deep, out)
    return out


def _parse_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    for m in _PATH_PART.finditer(path):
        gap = path[pos:m.start()]
        if gap not in ("", "."):
            raise InputError(f"idShortPath {path!r} is malformed")
        parts.append(int(m.group(2)) if m.group(2) is not None else m.group(1))
        pos = m.end()
    if not parts or pos != len(path) or path.startswith(".") or path.endswith("."):
        raise InputError(f"idShortPath {path!r} is malformed")
    return parts


class AasRepository:
    """The shells, submodels and concept descriptions of one environment, as the AAS API serves them.

    >>> from twinverse.model import loads_plant
    >>> from twinverse.interop.aas import build_environment
    >>> p = loads_plant("plant: p\\ntypes: {m: {signals: {t: {unit: degC}}}}\\ntwins: [{id: a, type: m}]")
    >>> repo = AasRepository(build_environment(p), live=lambda twin, signal: 21.5)
    >>> sm = repo.submodel(b64encode_id("urn:twinverse:p:sm:OperationalData:p/a"))
    >>> repo.element(sm, "t", "$value")
    {'t': 21.5}
    """

    def __init__(self, store: model.DictObjectStore[model.Identifiable], live: LiveValue | None = None) -> None:
        self.live = live
        self.shells: dict[str, Json] = {}
        self.submodels: dict[str, Json] = {}
        self.concepts: dict[str, Json] = {}
        for obj in sorted(store, key=lambda o: o.id):
            as_json: Json = json.loads(json.dumps(obj, cls=AASToJsonEncoder))
            if isinstance(obj, model.AssetAdministrationShell):
                as_json["submodels"] = sorted(as_json.get("submodels", []), key=lambda r: r["keys"][0]["value"])
                self.shells[obj.id] = as_json
            elif isinstance(obj, model.Submodel):
                self.submodels[obj.id] = as_json
            elif isinstance(obj, model.ConceptDescription):
                self.concepts[obj.id] = as_json
        # Submodel id → twin id, for the submodels that hold signal-bound properties.
        self._twin_of: dict[str, str] = {}
        for shell in self.shells.values():
            twin = next((e.get("value") for e in shell.get("extensions", []) if e.get("name") == TWIN_EXTENSION), None)
            for ref in shell.get("submodels", []):
                if twin is not None:
                    self._twin_of[ref["keys"][0]["value"]] = str(twin)

    # -- paging -----------------------------------------------------------------------------
    @staticmethod
    def page(items: Sequence[Any], limit: int | None, cursor: str | None) -> Page:
        """One page of ``items``: ``{"paging_metadata": {"cursor"?}, "result": [...]}``."""
        if limit is not None and not 1 <= limit <= _MAX_LIMIT:
            raise InputError(f"limit must be between 1 and {_MAX_LIMIT}, got {limit}")
        start = 0
        if cursor is not None:
            try:
                start = int(b64decode_id(cursor))
            except (InputError, ValueError):
                raise InputError(f"cursor {cursor!r} is not one this server gave") from None
            if not 0 <= start <= len(items):
                raise InputError(f"cursor {cursor!r} is not one this server gave")
        stop = len(items) if limit is None else min(len(items), start + limit)
        meta: Json = {}
        if stop < len(items):
            meta["cursor"] = b64encode_id(str(stop))
        return {"paging_metadata": meta, "result": list(items[start:stop])}

    # -- shells -----------------------------------------------------------------------------
    def shell(self, aas_id: str) -> Json:
        """The shell with base64url-encoded id ``aas_id``."""
        ident = b64decode_id(aas_id)
        try:
            return self.shells[ident]
        except KeyError:
            raise NotFoundError(f"no shell with id {ident!r}") from None

    def find_shells(self, id_short: str | None = None, asset_ids: Sequence[str] = ()) -> list[Json]:
        """Shells filtered by idShort and by asset ids (base64url JSON ``{name, value}``)."""
        wanted: list[tuple[str, str]] = []
        for encoded in asset_ids:
            try:
                pair = json.loads(b64decode_id(encoded))
                wanted.append((str(pair["name"]), str(pair["value"])))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise InputError(f"assetIds {encoded!r} is not a base64url-encoded SpecificAssetId") from exc
        out = []
        for shell in self.shells.values():
            if id_short is not None and shell.get("idShort") != id_short:
                continue
            info = shell.get("assetInformation", {})
            have = {(s["name"], s["value"]) for s in info.get("specificAssetIds", [])}
            if info.get("globalAssetId"):
                have.add(("globalAssetId", info["globalAssetId"]))
            if all(w in have for w in wanted):
                out.append(shell)
        return out

    @staticmethod
    def reference(kind: str, identifier: str) -> Json:
        return {"type": "ModelReference", "keys": [{"type": kind, "value": identifier}]}

    def shell_submodel(self, shell: Json, sm_id: str) -> Json:
        """A submodel of ``shell`` (404 when the shell does not refer to it)."""
        ident = b64decode_id(sm_id)
        if not any(r["keys"][0]["value"] == ident for r in shell.get("submodels", [])):
            raise NotFoundError(f"shell {shell['id']!r} has no submodel {ident!r}")
        return self.submodel(sm_id)

    # -- submodels ---------------------------------------------------------------------------
    def submodel(self, sm_id: str) -> Json:
        """The submodel with base64url-encoded id ``sm_id``, live values filled in."""
        ident = b64decode_id(sm_id)
        sm = self.submodels.get(ident)
        if sm is None:
            raise NotFoundError(f"no submodel with id {ident!r}")
        twin = self._twin_of.get(ident)
        if self.live is None or twin is None or not any(self._bound(e) for e in sm.get("submodelElements", [])):
            return sm
        out = copy.deepcopy(sm)
        self._fill(out.get("submodelElements", []), twin)
        return out

    @staticmethod
    def _bound(element: Json) -> str | None:
        for q in element.get("qualifiers", []) or []:
            if q.get("type") == SIGNAL_QUALIFIER:
                return str(q.get("value"))
        return None

    def _fill(self, elements: list[Json], twin: str) -> None:
        assert self.live is not None
        for e in elements:
            signal = self._bound(e)
            if signal is not None and e.get("modelType") == "Property":
                value = self.live(twin, signal)
                if value is None:
                    e.pop("value", None)
                elif isinstance(value, bool):
                    e["value"] = "true" if value else "false"
                else:
                    e["value"] = str(value)
            self._fill(_children(e), twin)

    def submodel_view(self, sm: Json, modifier: str | None, level: Level = "deep") -> Any:
        """A submodel as ``modifier`` asks: None (the submodel), $metadata, $value, $reference, $path."""
        if modifier is None:
            return sm if level == "deep" else _core(sm)
        if modifier == "$metadata":
            return _metadata(sm)
        if modifier == "$value":
            return _values_of(_children(sm if level == "deep" else _core(sm)))
        if modifier == "$reference":
            return self.reference("Submodel", sm["id"])
        if modifier == "$path":
            return _paths(_children(sm), "", level == "deep", [])
        raise NotFoundError(f"no operation {modifier!r} on a submodel")

    def elements_view(self, sm: Json, modifier: str | None, level: Level, limit: int | None,
                      cursor: str | None) -> Page:
        """The submodel's elements, paged: as such, $metadata, $value, $reference or $path."""
        elements = _children(sm)
        if modifier == "$path":
            return self.page(_paths(elements, "", level == "deep", []), limit, cursor)
        views: list[Any]
        if modifier is None:
            views = elements if level == "deep" else [_strip_children(e) for e in elements]
        elif modifier == "$metadata":
            views = [_metadata(e) for e in elements]
        elif modifier == "$value":
            views = [{e["idShort"]: _value_only(e if level == "deep" else _strip_children(e))}
                     for e in elements if e.get("idShort")]
        elif modifier == "$reference":
            views = [self._element_ref(sm, [e.get("idShort") or i]) for i, e in enumerate(elements)]
        else:
            raise NotFoundError(f"no operation {modifier!r} on submodel elements")
        return self.page(views, limit, cursor)

    def _element_ref(self, sm: Json, path: Sequence[str | int]) -> Json:
        keys = [{"type": "Submodel", "value": sm["id"]}]
        node: Json = sm
        for part in path:
            kids = _children(node)
            node = kids[part] if isinstance(part, int) else next(c for c in kids if c.get("idShort") == part)
            keys.append({"type": str(node.get("modelType")), "value": str(part)})
        return {"type": "ModelReference", "keys": keys}

    def resolve(self, sm: Json, id_short_path: str) -> tuple[Json, list[str | int]]:
        """The element at ``id_short_path`` (``a.b[2].c``) and its parsed path; 404 if none."""
        parts = _parse_path(id_short_path)
        node: Json = sm
        for part in parts:
            kids = _children(node)
            found: Json | None
            if isinstance(part, int):
                listed = node.get("modelType") == "SubmodelElementList"
                found = kids[part] if listed and part < len(kids) else None
            else:
                found = next((c for c in kids if c.get("idShort") == part), None)
            if found is None:
                raise NotFoundError(f"submodel {sm['id']!r} has no element {id_short_path!r}")
            node = found
        return node, parts

    def element(self, sm: Json, id_short_path: str, modifier: str | None, level: Level = "deep") -> Any:
        """One element: as such, $metadata, $value, $reference or $path (containers only)."""
        node, parts = self.resolve(sm, id_short_path)
        kind = node.get("modelType")
        shown = node if level == "deep" else _core(node)
        if modifier is None:
            return shown
        if modifier == "$metadata":
            if kind in ("Capability", "Operation"):
                raise InputError(f"a {kind} has no $metadata serialisation")
            return _metadata(node)
        if modifier == "$value":
            if kind in ("Capability", "Operation"):
                raise InputError(f"a {kind} has no value")
            value = _value_only(shown)  # {idShort: value}, as clause 11.4.3 shows it
            return {node["idShort"]: value} if node.get("idShort") else value
        if modifier == "$reference":
            return self._element_ref(sm, parts)
        if modifier == "$path":
            if kind not in _CONTAINERS:
                raise InputError(f"a {kind} has no $path serialisation (only collections, lists and entities)")
            return _paths(_children(node), id_short_path, level == "deep", [id_short_path])
        if modifier == "attachment":
            if kind not in ("File", "Blob"):
                raise InputError(f"a {kind} has no attachment (only File and Blob elements)")
            raise NotFoundError(f"element {id_short_path!r} has no attached file on this server")
        raise NotFoundError(f"no operation {modifier!r} on a submodel element")

    def set_value(self, sm_id: str, id_short_path: str, value: Any) -> Json:
        """Set a Property's value (``PATCH …/$value``); bound properties are read-only."""
        ident = b64decode_id(sm_id)
        sm = self.submodels.get(ident)
        if sm is None:
            raise NotFoundError(f"no submodel with id {ident!r}")
        node, _ = self.resolve(sm, id_short_path)
        if node.get("modelType") != "Property":
            raise InputError(f"only a Property's value can be set here, {id_short_path!r} is a {node.get('modelType')}")
        if self._bound(node) is not None:
            raise ConflictError(f"{id_short_path!r} is bound to a live signal: send its values to /api/ingest")
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float, str)):
            text = str(value)
        else:
            raise InputError("the value of a Property is a string, number or boolean")
        vtype = str(node.get("valueType", "xs:string"))
        probe = {**node, "value": text}
        if (vtype == "xs:boolean" and text not in ("true", "false", "1", "0")) or (
                vtype not in ("xs:string", "xs:boolean") and _typed_value(probe) == text):
            raise InputError(f"{text!r} is not a valid {vtype}")
        node["value"] = text
        return node

    # -- serialisation ----------------------------------------------------------------------
    def environment(self, aas_ids: Sequence[str] = (), submodel_ids: Sequence[str] = (),
                    concepts: bool = False) -> Json:
        """An environment with the named shells and submodels (all when none are named)."""
        shells = [self.shell(i) for i in aas_ids] if aas_ids else list(self.shells.values())
        if submodel_ids:
            submodels = [self.submodel(i) for i in submodel_ids]
        elif aas_ids:
            ids = [r["keys"][0]["value"] for s in shells for r in s.get("submodels", [])]
            submodels = [self.submodel(b64encode_id(i)) for i in ids if i in self.submodels]
        else:
            submodels = [self.submodel(b64encode_id(i)) for i in self.submodels]
        out: Json = {"assetAdministrationShells": shells, "submodels": submodels}
        if concepts:
            out["conceptDescriptions"] = list(self.concepts.values())
        return out

    def concept(self, cd_id: str) -> Json:
        ident = b64decode_id(cd_id)
        try:
            return self.concepts[ident]
        except KeyError:
            raise NotFoundError(f"no concept description with id {ident!r}") from None

    def shells_of(self, sm: Json) -> list[Json]:
        """The shells that refer to submodel ``sm``."""
        return [s for s in self.shells.values()
                if any(r["keys"][0]["value"] == sm["id"] for r in s.get("submodels", []))]

    @staticmethod
    def check_level(level: str | None) -> Level:
        if level is None:
            return "deep"
        if level not in _LEVELS:
            raise InputError(f"level must be one of {', '.join(_LEVELS)}, got {level!r}")
        return level

    @staticmethod
    def check_extent(extent: str | None) -> None:
        if extent is not None and extent not in _EXTENTS:
            raise InputError(f"extent must be one of {', '.join(_EXTENTS)}, got {extent!r}")

    @staticmethod
    def check_bool(name: str, text: str | None) -> bool:
        if text is None:
            return False
        if text.lower() not in ("true", "false"):
            raise InputError(f"{name} must be true or false, got {text!r}")
        return text.lower() == "true"

    def counts(self) -> Mapping[str, int]:
        return {"shells": len(self.shells), "submodels": len(self.submodels), "concepts": len(self.concepts)}
