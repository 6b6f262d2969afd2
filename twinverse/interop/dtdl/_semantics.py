"""Checks across the properties of one element: unique names and values, enum values, units, schemas."""

from __future__ import annotations

import re
from typing import Any

from ._checks import Ctx
from ._extensions import cotype_owner
from ._metamodel import NUMERIC
from ._model import Element, ModelSet
from ._vocab import SEMANTIC_UNIT_ENUM, UNIT_ENUMS

__all__ = ["Found", "element_problem"]

_GEO = frozenset({"point", "multiPoint", "lineString", "multiLineString", "polygon", "multiPolygon", "geopoint"})
_CENTRAL_SCHEMAS = {"VelocityVector": frozenset({"vector"}), "AccelerationVector": frozenset({"vector"}),
                    "Location": _GEO}
_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_TOPIC = re.compile(r"^[^/\s]+(/[^/\s]+)*$")


def _mqtt_problem(el: Element, file: str, path: str, ms: ModelSet) -> Found | None:
    """The MQTT extension's rules for one element (topics, payload format, ttl, index, co-type pairs)."""
    eid, x = el.id, el.extra
    if "Mqtt" in el.cotypes:
        if "payloadFormat" not in x:
            return ("missingSupplementalLiteralProperty", "co-type Mqtt needs 'payloadFormat'", file, path, eid)
        if not isinstance(x["payloadFormat"], str):
            return ("stringNotString", "'payloadFormat' must be a string", file, path, eid)
        for key in ("telemetryTopic", "commandTopic"):
            if key in x and not (isinstance(x[key], str) and _TOPIC.match(x[key])):
                return ("stringInvalid", f"{key!r} {x[key]!r} is not a valid MQTT topic", file, path, eid)
    if "Cacheable" in el.cotypes:
        if "Idempotent" not in el.cotypes:
            return ("missingCocotype", "co-type Cacheable needs co-type Idempotent", file, path, eid)
        if "ttl" in x and not (isinstance(x["ttl"], str) and _DURATION.match(x["ttl"])):
            return ("durationInvalid", f"ttl {x['ttl']!r} is not an ISO 8601 duration", file, path, eid)
    if "Indexed" in el.cotypes and "index" in x and (not isinstance(x["index"], int) or isinstance(x["index"], bool)):
        return ("integerNotInteger", "'index' must be an integer", file, path, eid)
    if "Transparent" in el.cotypes:
        schema = str(el.properties.get("schema", ""))
        primitive = schema.startswith("dtmi:dtdl:instance:Schema:")
        if primitive and not schema.startswith("dtmi:dtdl:instance:Schema:bytes;"):
            return ("notRequiredType", "co-type Transparent needs schema bytes", file, path, eid)
    indices: set[Any] = set()
    for key in ("contents", "fields", "enumValues"):
        for c in el.properties.get(key, []):
            child = ms.elements.get(c)
            if child is not None and "Indexed" in child.cotypes and "index" in child.extra:
                if child.extra["index"] in indices:
                    return ("nonUniquePropertyValue", f"index {child.extra['index']} is used twice", file, path, eid)
                indices.add(child.extra["index"])
    return None

#: A problem found: cause, message, file, JSON path, element id.
Found = tuple[str, str, str, str, str | None]


def element_problem(el: Element, obj: dict[str, Any], file: str, path: str, ctx: Ctx, ms: ModelSet) -> Found | None:
    """Checks across one element's properties: unique names and values, units, multiplicity."""
    eid, v = el.id, ctx.version
    for key in ("contents", "enumValues", "fields", "properties"):
        seen: set[Any] = set()
        for c in dict.fromkeys(el.properties.get(key, [])):
            child = ms.elements.get(c)
            if child is None:
                continue
            n = child.name
            if n is not None and n in seen:
                return ("nonUniquePropertyValue",
                         f"name {n!r} is used twice in {key!r}", file, path, eid)
            seen.add(n)
    if el.cls == "Enum":
        vs = el.properties.get("valueSchema")
        if vs not in ("integer", "string"):
            return ("incorrectPropertyValue" if isinstance(vs, str) else "refNotStringOrObject",
                     "valueSchema must be integer or string", file, path, eid)
        seen_v: set[Any] = set()
        for c in el.properties.get("enumValues", []):
            child = ms.elements[c]
            ev = child.properties.get("enumValue")
            want = int if vs == "integer" else str
            if not isinstance(ev, want) or isinstance(ev, bool):
                return ("nonConformantDatatype",
                         f"enumValue {ev!r} does not match valueSchema {vs}", child.file, child.path, child.id)
            if ev in seen_v:
                return ("nonUniquePropertyValue", f"enumValue {ev!r} is used twice", file, path, eid)
            seen_v.add(ev)
    if el.cls == "MapKey" and el.properties.get("schema") != "string":
        return ("badType", "a MapKey's schema must be string", file, path, eid)
    unit = el.properties.get("unit")
    lenient = v == 2 and any(c not in ctx.semantic_types and cotype_owner(c) is None for c in el.cotypes)
    if "unit" in obj or "unit" in el.properties:
        sem = [c for c in el.cotypes if c in ctx.semantic_types or cotype_owner(c) == "iotcentral"]
        if not sem and not lenient:
            return ("propertyUndefinedTerm" if v == 3 and not el.layered else "noTypeThatAllows",
                     "'unit' needs a semantic type in @type", file, f"{path}.unit", eid)
        if not lenient and (not isinstance(unit, str) or unit not in ctx.units):
            cause = "badDtmiOrTerm" if not isinstance(unit, str) else "badType" if v == 3 else "notRequiredType"
            return (cause, f"{unit!r} is not a DTDL unit", file, f"{path}.unit", eid)
    sem = [c for c in el.cotypes if c in ctx.semantic_types]
    if sem and isinstance(unit, str) and unit in ctx.units:
        allowed = UNIT_ENUMS.get(SEMANTIC_UNIT_ENUM.get(sem[0], ""))
        if allowed is not None and unit not in allowed:
            cause = "badType" if v == 3 else "notRequiredType"
            return (cause, f"unit {unit!r} is not a unit of {sem[0]}", file, f"{path}.unit", eid)
    semantic = [c for c in el.cotypes if c in ctx.semantic_types]
    if len(semantic) > 1:
        return ("conflictingSupplementalTypes", f"several semantic types {semantic}", file, path, eid)
    if semantic and "unit" not in obj and "unit" not in el.properties and not lenient:
        cause = "missingObjectProperty" if el.layered else "missingSupplementalObjectProperty"
        return (cause, f"semantic type {semantic[0]} needs a 'unit'", file, path, eid)
    found = _mqtt_problem(el, file, path, ms)
    if found is not None:
        return found
    for cotype, prop in (("Cacheable", "ttl"), ("Indexed", "index")):
        if cotype in el.cotypes and prop not in el.extra:
            return ("missingSupplementalLiteralProperty", f"co-type {cotype} needs {prop!r}", file, path, eid)
    central = [c for c in el.cotypes if cotype_owner(c) == "iotcentral"]
    if central:
        word = str(el.properties.get("schema", "")).removeprefix("dtmi:dtdl:instance:Schema:").partition(";")[0]
        need = _CENTRAL_SCHEMAS.get(central[0])
        if need is not None and word not in need:
            return ("notRequiredValue", f"{central[0]} needs a schema of {sorted(need)}", file, path, eid)
        target = ms.elements.get(str(el.properties.get("schema", "")))
        if central[0] == "Event" and word not in NUMERIC[v] | {"string"}:
            return ("notRequiredType", "an Event needs a numeric or string schema", file, path, eid)
        if central[0] == "State" and (target is None or target.cls != "Enum"):
            return ("notRequiredType", "a State needs an Enum schema", file, path, eid)
    if sem:
        schema = el.properties.get("schema")
        if isinstance(schema, str) and schema.startswith("dtmi:dtdl:instance:Schema:"):
            word = schema.removeprefix("dtmi:dtdl:instance:Schema:").partition(";")[0]
            if word not in NUMERIC[v]:
                return ("notRequiredType", f"a semantic type needs a numeric schema, not {word}", file, path,
                         eid)
    return None
