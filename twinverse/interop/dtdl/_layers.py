"""Layers: partial definitions of one element (``@id`` with a ``#fragment`` and co-type ``Layer``).

DTDLParser's layering extension lets several documents each define part of an element; the
parser merges them and reports where they disagree. twinverse does not support layering as a
feature (such ids stay an ``invalidId`` error, reported after the others, as DTDLParser does
when the layering extension is not defined), but merges the parts so that the problems the
reference names first — a class that differs, a value given twice differently — are found.
"""

from __future__ import annotations

from typing import Any

from ._model import Element

__all__ = ["merge_layer"]

_CONTENTS = frozenset({"Telemetry", "Property", "Command", "Relationship", "Component"})


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, dict):
        return "LangString"
    if isinstance(value, str) and value.startswith("dtmi:"):
        return "Object"
    return "String"


def merge_layer(into: Element, part: Element) -> tuple[str, str] | None:
    """Merge ``part`` into ``into`` (the same id); the cause and message of the first disagreement."""
    if into.cls != part.cls and {into.cls, part.cls} <= _CONTENTS:
        return ("multipleMaterialTypes", f"{into.id} is a {into.cls} in one layer and a {part.cls} in another")
    if into.cls != part.cls:
        return ("incompatibleType", f"{into.id} is a {into.cls} in one layer and a {part.cls} in another")
    into.cotypes = tuple(dict.fromkeys((*into.cotypes, *part.cotypes)))
    for key, value in part.properties.items():
        old = into.properties.get(key)
        if old is None or old == value:
            into.properties[key] = value if old is None else old
            continue
        if isinstance(old, list) and isinstance(value, list):
            into.properties[key] = list(dict.fromkeys((*old, *value)))
            continue
        if isinstance(old, dict) and isinstance(value, dict):
            clash = [lang for lang in value if lang in old and old[lang] != value[lang]]
            if not clash:
                into.properties[key] = {**old, **value}
                continue
        kind = "Identifier" if key == "target" else _kind(value)
        return (f"inconsistent{kind}Values", f"{key!r} of {into.id} differs between layers: {old!r} and {value!r}")
    into.extra.update(part.extra)
    into.layered = True
    return None
