"""The DTDL v2 and v3 metamodel as tables: classes, their properties, limits, primitive schemas.

Written from the DTDL language specifications (v2, v3): which properties each class
allows, which are required, their value kinds and the limits the specifications give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ABSTRACT",
    "ALL_PROPS",
    "CLASSES",
    "DTMI",
    "INFERABLE",
    "NUMERIC",
    "OTHER_CLASSES",
    "PRIMITIVES",
    "ROOTABLE",
    "SEMANTIC_HOSTS",
    "Prop",
    "dtdl_term",
    "is_dtmi",
    "name_ok",
]


@dataclass(frozen=True)
class Prop:
    """A property of a class: ``kind`` is ``string``, ``lang``, ``bool``, ``int``, ``literal`` or ``object``.

    ``object`` properties hold elements of ``classes`` (inline, or referenced by id when
    ``ref``); ``schema`` values may also be primitive schema terms.
    """

    kind: str
    required: bool = False
    classes: tuple[str, ...] = ()
    plural: bool = False
    max_len: int | None = None
    min_count: int | None = None
    max_count: int | None = None
    ref: bool = True
    lo: int | None = None
    hi: int | None = None
    pattern: str | None = None


_SEG_V2 = r"[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?"
_DTMI_V2 = re.compile(rf"^dtmi:{_SEG_V2}(?::{_SEG_V2})*;[1-9][0-9]{{0,8}}$")
_DTMI_V3 = re.compile(
    r"^dtmi:(?:_+[A-Za-z0-9]|[A-Za-z])(?:[A-Za-z0-9_]*[A-Za-z0-9])?"
    r"(?::(?:_+[A-Za-z0-9]|[A-Za-z])(?:[A-Za-z0-9_]*[A-Za-z0-9])?)*"
    r"(?:;[1-9][0-9]{0,8}(?:\.[1-9][0-9]{0,5})?)?$"
)
#: A DTMI (v3 form, which accepts every v2 DTMI).
DTMI = _DTMI_V3


def is_dtmi(text: object, version: int = 3) -> bool:
    """True if ``text`` is a DTMI as DTDL ``version`` defines it (a fragment ``#…`` is allowed)."""
    if not isinstance(text, str):
        return False
    base, _, frag = text.partition("#")
    if frag and not re.fullmatch(r"[A-Za-z_](?:[A-Za-z0-9_]*[A-Za-z0-9])?", frag):
        return False
    return bool((_DTMI_V2 if version == 2 else _DTMI_V3).match(base))


_NAME_V2 = re.compile(r"^[A-Za-z](?:[A-Za-z0-9_]{0,62}[A-Za-z0-9])?$")
_NAME_V3 = re.compile(r"^[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?$")


def name_ok(name: str, version: int) -> bool:
    """Whether ``name`` is a valid DTDL ``name`` (v2: ≤ 64 characters; v3: ≤ 512)."""
    if version == 2:
        return bool(_NAME_V2.match(name))
    return len(name) <= 512 and bool(_NAME_V3.match(name))


_COMMON_V2 = {
    "comment": Prop("string", max_len=512),
    "description": Prop("lang", max_len=512),
    "displayName": Prop("lang", max_len=64),
}
_COMMON_V3 = {
    "comment": Prop("string", max_len=512),
    "description": Prop("lang", max_len=512),
    "displayName": Prop("lang", max_len=512),
}

_SCHEMA_CLASSES = ("Array", "Enum", "Map", "Object")
_PRIMITIVES_V2 = ("boolean", "date", "dateTime", "double", "duration", "float", "integer", "long", "string", "time")
_PRIMITIVES_V3 = (
    *_PRIMITIVES_V2,
    "byte",
    "bytes",
    "decimal",
    "short",
    "uuid",
    "unsignedByte",
    "unsignedInteger",
    "unsignedLong",
    "unsignedShort",
)
_GEO = ("point", "lineString", "polygon", "multiPoint", "multiLineString", "multiPolygon")
#: Primitive (and geospatial) schema terms per DTDL version.
PRIMITIVES: dict[int, frozenset[str]] = {
    2: frozenset((*_PRIMITIVES_V2, *_GEO)),
    3: frozenset((*_PRIMITIVES_V3, *_GEO, "scaledDecimal")),
}
NUMERIC: dict[int, frozenset[str]] = {
    2: frozenset(("double", "float", "integer", "long")),
    3: frozenset(
        (
            "double", "float", "integer", "long", "byte", "decimal", "short",
            "unsignedByte", "unsignedInteger", "unsignedLong", "unsignedShort",
        )
    ),
}  # fmt: skip
#: Abstract classes: valid as words of the language, never as an element's type.
ABSTRACT = frozenset(
    ("Content", "Schema", "ComplexSchema", "Entity", "NamedEntity", "PrimitiveSchema", "CommandPayload3", "SchemaField",
     "NumericSchema", "TemporalSchema")
)


def _classes(version: int) -> dict[str, dict[str, Prop]]:
    common = _COMMON_V2 if version == 2 else _COMMON_V3
    schema = Prop("object", required=True, classes=_SCHEMA_CLASSES)
    payload = ("CommandPayload",) if version == 2 else ("CommandRequest",)
    response = ("CommandPayload",) if version == 2 else ("CommandResponse",)
    contents_max = 300 if version == 2 else 100_000
    named = {"name": Prop("string", required=True)}
    out: dict[str, dict[str, Prop]] = {
        "Interface": {
            "contents": Prop(
                "object",
                classes=("Telemetry", "Property", "Command", "Relationship", "Component"),
                plural=True,
                max_count=contents_max,
            ),
            "extends": Prop("object", classes=("Interface",), plural=True, max_count=2 if version == 2 else 12),
            "schemas": Prop("object", classes=_SCHEMA_CLASSES, plural=True, ref=False),
        },
        "Telemetry": {**named, "schema": schema, "unit": Prop("literal")},
        "Property": {**named, "schema": schema, "unit": Prop("literal"), "writable": Prop("bool")},
        "Command": {
            **named,
            "request": Prop("object", classes=payload, ref=False),
            "response": Prop("object", classes=response, ref=False),
        },
        "Relationship": {
            **named,
            "maxMultiplicity": Prop("int", lo=1, hi=500 if version == 2 else None),
            "minMultiplicity": Prop("int", lo=0, hi=0),
            "properties": Prop("object", classes=("Property",), plural=True, ref=False, max_count=300),
            "target": Prop("object", classes=("Interface",), ref=True),
            "writable": Prop("bool"),
        },
        "Component": {**named, "schema": Prop("object", required=True, classes=("Interface",))},
        "Array": {"elementSchema": Prop("object", required=True, classes=_SCHEMA_CLASSES)},
        "Enum": {
            "enumValues": Prop("object", required=True, classes=("EnumValue",), plural=True, ref=False),
            "valueSchema": Prop("literal", required=True),
        },
        "EnumValue": {**named, "enumValue": Prop("literal", required=True)},
        "Map": {
            "mapKey": Prop("object", required=True, classes=("MapKey",), ref=False),
            "mapValue": Prop("object", required=True, classes=("MapValue",), ref=False),
        },
        "MapKey": {**named, "schema": Prop("literal", required=True)},
        "MapValue": {**named, "schema": schema},
        "Object": {"fields": Prop("object", required=True, classes=("Field",), plural=True, ref=False)},
        "Field": {**named, "schema": schema},
    }
    if version == 2:
        out["CommandPayload"] = {**named, "schema": schema}
        out["Command"]["commandType"] = Prop("literal")
        out["Object"]["fields"] = Prop(
            "object", required=True, classes=("Field",), plural=True, ref=False, max_count=30
        )
        out["Enum"]["enumValues"] = Prop(
            "object", required=True, classes=("EnumValue",), plural=True, ref=False, max_count=100
        )
    else:
        out["CommandRequest"] = {**named, "schema": schema, "nullable": Prop("bool")}
        out["CommandResponse"] = {**named, "schema": schema, "nullable": Prop("bool")}
        out["Property"]["nullable"] = Prop("bool")
        out["Telemetry"]["nullable"] = Prop("bool")
        out["Field"]["nullable"] = Prop("bool")
        out["Object"]["fields"] = Prop("object", classes=("Field",), plural=True, ref=False)
        out["Enum"]["enumValues"] = Prop("object", classes=("EnumValue",), plural=True, ref=False)
        out["Command"]["commandType"] = Prop("literal")
    for props in out.values():
        props.update(common)
    return out


#: Class → property → :class:`Prop`, per DTDL major version.
CLASSES: dict[int, dict[str, dict[str, Prop]]] = {2: _classes(2), 3: _classes(3)}
#: Classes whose elements may stand at the top level of a document.
ROOTABLE = frozenset(("Interface",))

#: Classes an element may leave out of @type where the property allows only them.
INFERABLE = frozenset(("CommandPayload", "CommandRequest", "CommandResponse", "EnumValue", "Field", "MapKey",
                        "MapValue"))
#: Words of the language that are classes, but never the class of an element in a model.
OTHER_CLASSES = frozenset(("Boolean", "Date", "DateTime", "Double", "Duration", "Float", "Integer", "Long",
                            "String", "Time", "Byte", "Bytes", "Decimal", "Short", "Uuid", "UnsignedByte",
                            "UnsignedShort", "UnsignedInteger", "UnsignedLong", "ScaledDecimal", "Point",
                            "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
                            "CapabilityModel", "InterfaceInstance", "Unit", "UnitAttribute", "LatentType",
                            "NamedLatentType", "QuantitativeType", "SemanticType", "SemanticUnit"))
#: Classes a semantic type may adorn, per version.
SEMANTIC_HOSTS = {
    2: frozenset(("Telemetry", "Property")),
    3: frozenset(("Telemetry", "Property", "Field", "MapValue", "CommandRequest", "CommandResponse")),
}
#: Every property name of every class, per version.
ALL_PROPS = {v: frozenset(k for props in CLASSES[v].values() for k in props) for v in (2, 3)}


def dtdl_term(key: str, version: int) -> str | None:
    """``name`` for ``dtmi:dtdl:property:name;<version>`` (a property spelled as its IRI), else None."""
    m = re.fullmatch(r"dtmi:dtdl:property:([A-Za-z]+);(\d+)", key)
    if m and int(m.group(2)) == version:
        return m.group(1)
    return None
