"""Export a plant as DTDL v3 interfaces and as an Azure Digital Twins import file.

Each twin type becomes an Interface ``dtmi:twinverse:<plant>:<type>;1``; a type's ``extends``
becomes ``extends``; types without a base extend ``dtmi:twinverse:Twin;1``, which declares
what every twin has: ``name``, ``position`` and the relationships of the plant (``contains``,
``feeds``, …). Signals become Telemetry (a ``state`` signal's schema is an Enum of its
states); a type's property defaults and the twins' property keys become Properties.

DTDL has no words for what only twinverse knows (a signal's pint unit and plausible range, a
type's shape, size, power per state, property defaults). They travel as a short JSON
annotation in ``comment`` (``twinverse {...}``), so that an export imported again gives the
same plant; other tools show it as a comment. A DTDL ``unit`` with its semantic type (DTDL
v3 ``quantitativeTypes``) is added where the pint unit has a DTDL equivalent.

The Azure Digital Twins import format (newline-delimited JSON: a ``Header`` section, then
``Models``, ``Twins`` and ``Relationships``) carries the interfaces and the twin graph.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from ...model import Plant, Signal, SignalKind, TwinType
from ...model.loader import BUILTIN_TYPES

__all__ = [
    "ANNOTATION",
    "BASE_INTERFACE",
    "UNITS",
    "dtmi_for",
    "plant_to_adt",
    "plant_to_dtdl",
    "safe_name",
]

CONTEXT = ["dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1"]
BASE_INTERFACE = "dtmi:twinverse:Twin;1"
ANNOTATION = "twinverse "
_COMMENT_MAX = 512
#: pint unit → (DTDL v3 semantic type, DTDL unit), for the units that have one.
UNITS: dict[str, tuple[str, str]] = {
    "kW": ("Power", "kilowatt"),
    "W": ("Power", "watt"),
    "MW": ("Power", "megawatt"),
    "degC": ("Temperature", "degreeCelsius"),
    "degF": ("Temperature", "degreeFahrenheit"),
    "K": ("Temperature", "kelvin"),
    "bar": ("Pressure", "bar"),
    "Pa": ("Pressure", "pascal"),
    "kPa": ("Pressure", "kilopascal"),
    "m": ("Length", "metre"),
    "mm": ("Length", "millimetre"),
    "cm": ("Length", "centimetre"),
    "m/s": ("Velocity", "metrePerSecond"),
    "km/h": ("Velocity", "kilometrePerHour"),
    "kg": ("Mass", "kilogram"),
    "g": ("Mass", "gram"),
    "t": ("Mass", "tonne"),
    "s": ("TimeSpan", "second"),
    "min": ("TimeSpan", "minute"),
    "h": ("TimeSpan", "hour"),
    "A": ("Current", "ampere"),
    "V": ("Voltage", "volt"),
    "Hz": ("Frequency", "hertz"),
    "N*m": ("Torque", "newtonMetre"),
    "N": ("Force", "newton"),
    "L": ("Volume", "litre"),
    "mL": ("Volume", "millilitre"),
    "m^3": ("Volume", "cubicMetre"),
    "kWh": ("Energy", "kilowattHour"),
    "J": ("Energy", "joule"),
    "L/min": ("VolumeFlowRate", "litrePerMinute"),
    "m^3/h": ("VolumeFlowRate", "cubicMetrePerHour"),
    "percent": ("RelativeHumidity", "percent"),
}
_NUMERIC_SCHEMA = {SignalKind.FLOAT: "double", SignalKind.INT: "long", SignalKind.BOOL: "boolean"}


def safe_name(text: str) -> str:
    """``text`` as a DTDL name / DTMI segment: letters, digits and ``_``, starting with a letter."""
    s = re.sub(r"[^A-Za-z0-9_]", "_", text)
    if not s or not s[0].isalpha():
        s = "x" + s
    return s.rstrip("_") + ("0" if s.endswith("_") else "")


def dtmi_for(plant_id: str, type_name: str) -> str:
    """The DTMI of a twin type of plant ``plant_id``."""
    return f"dtmi:twinverse:{safe_name(plant_id)}:{safe_name(type_name)};1"


def _annotation(data: dict[str, Any]) -> str | None:
    if not data:
        return None
    text = ANNOTATION + orjson.dumps(data).decode()
    return text if len(text) <= _COMMENT_MAX else None


def _schema_of(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    return None


def _telemetry(sig: Signal) -> dict[str, Any]:
    name = sig.name
    out: dict[str, Any] = {"@type": "Telemetry", "name": safe_name(name)}
    if sig.kind is SignalKind.STATE:
        assert sig.states is not None
        out["schema"] = {
            "@type": "Enum",
            "valueSchema": "integer",
            "enumValues": [
                {"name": safe_name(s), "enumValue": i, **({"displayName": s} if safe_name(s) != s else {})}
                for i, s in enumerate(sig.states)
            ],
        }
    else:
        out["schema"] = _NUMERIC_SCHEMA[sig.kind]
    if safe_name(name) != name:
        out["displayName"] = name
    if sig.description:
        out["description"] = sig.description[:512]
    if sig.unit in UNITS and sig.kind in (SignalKind.FLOAT, SignalKind.INT):
        semantic, unit = UNITS[sig.unit]
        out["@type"] = ["Telemetry", semantic]
        out["unit"] = unit
    note: dict[str, Any] = {}
    if sig.unit is not None:
        note["unit"] = sig.unit
    if sig.range is not None:
        note["range"] = list(sig.range)
    comment = _annotation(note)
    if comment is not None:
        out["comment"] = comment
    return out


def _own(plant: Plant, ty: TwinType) -> tuple[dict[str, Signal], dict[str, Any]]:
    """The signals and property defaults a type adds to (or changes in) its base."""
    base = plant.types.get(ty.extends) if ty.extends else None
    signals = {k: s for k, s in ty.signals.items() if base is None or base.signals.get(k) != s}
    props = {k: v for k, v in ty.properties.items() if base is None or base.properties.get(k, object()) != v}
    return signals, props


def _used_types(plant: Plant) -> list[str]:
    used = {t.type for t in plant.twins.values()}
    todo = list(used)
    while todo:
        ext = plant.types[todo.pop()].extends
        if ext is not None and ext not in used:
            used.add(ext)
            todo.append(ext)
    custom = [n for n, t in plant.types.items() if BUILTIN_TYPES.get(n) != t]
    return [n for n in plant.types if n in used or n in custom]


def _base_interface(plant: Plant) -> dict[str, Any]:
    names = sorted({r.name for r in plant.relationships} | {"contains"})
    return {
        "@context": CONTEXT,
        "@id": BASE_INTERFACE,
        "@type": "Interface",
        "displayName": "twinverse twin",
        "contents": [
            {"@type": "Property", "name": "name", "schema": "string"},
            {
                "@type": "Property",
                "name": "position",
                "schema": {
                    "@type": "Object",
                    "fields": [{"name": k, "schema": "double"} for k in ("x", "y", "z", "rotation")],
                },
            },
            *({"@type": "Relationship", "name": safe_name(n), **({"displayName": n} if safe_name(n) != n else {})}
              for n in names),
        ],
    }


def plant_to_dtdl(plant: Plant) -> list[dict[str, Any]]:
    """The plant's twin types as DTDL v3 interfaces (the base interface first)."""
    out = [_base_interface(plant)]
    twin_keys: dict[str, dict[str, Any]] = {}
    for t in plant.twins.values():
        for k, v in t.properties.items():
            twin_keys.setdefault(t.type, {}).setdefault(k, v)
    for name in _used_types(plant):
        ty = plant.types[name]
        signals, props = _own(plant, ty)
        contents: list[dict[str, Any]] = [_telemetry(s) for s in signals.values()]
        declared = set(plant.types[ty.extends].properties) if ty.extends else set()
        for k, v in {**twin_keys.get(name, {}), **props}.items():
            schema = _schema_of(v)
            if k in declared or k in signals or schema is None:
                continue
            contents.append({"@type": "Property", "name": safe_name(k), "schema": schema,
                             **({"displayName": k} if safe_name(k) != k else {})})
        iface: dict[str, Any] = {
            "@context": CONTEXT,
            "@id": dtmi_for(plant.id, name),
            "@type": "Interface",
            "displayName": name,
            "extends": [dtmi_for(plant.id, ty.extends) if ty.extends else BASE_INTERFACE],
        }
        if ty.description:
            iface["description"] = ty.description[:512]
        note: dict[str, Any] = {}
        if props:
            note["properties"] = props
        base = plant.types.get(ty.extends) if ty.extends else None
        for key in ("shape", "size", "container"):
            val = getattr(ty, key)
            if val and (base is None or getattr(base, key) != val):
                note[key] = list(val) if isinstance(val, tuple) else val
        power = {k: v for k, v in ty.power.items() if base is None or base.power.get(k) != v}
        if power:
            note["power"] = power
        comment = _annotation(note)
        if comment is not None:
            iface["comment"] = comment
        if contents:
            iface["contents"] = contents
        out.append(iface)
    return out


def _twin_record(plant: Plant, twin_id: str) -> dict[str, Any]:
    t = plant.twins[twin_id]
    rec: dict[str, Any] = {"$dtId": t.id, "$metadata": {"$model": dtmi_for(plant.id, t.type)}, "name": t.name}
    if t.placement is not None:
        rec["position"] = t.placement.model_dump()
    for k, v in t.properties.items():
        if _schema_of(v) is not None:
            rec[safe_name(k)] = v
    return rec


def plant_to_adt(plant: Plant, *, author: str = "twinverse") -> bytes:
    """The plant as an Azure Digital Twins import file (NDJSON: header, models, twins, relationships)."""
    lines: list[Any] = [
        {"Section": "Header"},
        {"fileVersion": "1.0.0", "author": author, "organization": plant.name},
        {"Section": "Models"},
        *plant_to_dtdl(plant),
        {"Section": "Twins"},
        *(_twin_record(plant, t) for t in plant.twins),
        {"Section": "Relationships"},
    ]
    for r in plant.relationships:
        lines.append(
            {
                "$dtId": r.source,
                "$relationshipId": f"{safe_name(r.name)}-{r.target}",
                "$targetId": r.target,
                "$relationshipName": safe_name(r.name),
            }
        )
    return b"".join(orjson.dumps(x) + b"\n" for x in lines)
