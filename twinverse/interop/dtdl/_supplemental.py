"""Checks that need an interface's resolved contents: inherited names, annotations and overrides.

A name may appear once among an interface's contents, inherited ones included. A
``ValueAnnotation`` (annotation extension) ``annotates`` a sibling Property or Telemetry that
is not an annotation itself; an ``Override`` (overriding extension) ``overrides`` a
supplemental property of it (``unit``) that it has, with a schema of the matching unit enum,
and no two overrides name the same property of the same sibling.
"""

from __future__ import annotations

from ._model import Element, ModelSet
from ._vocab import UNIT_ENUMS

__all__ = ["supplemental_problem"]

#: Properties a co-type adds (the only ones an Override may override).
_SUPPLEMENTAL = frozenset({"unit"})


def _override_problem(ms: ModelSet, el: Element, target: Element, seen: set[tuple[str, str]]) -> str | None:
    over = el.extra.get("overrides")
    if not isinstance(over, str):
        return None
    if over not in _SUPPLEMENTAL:
        return "matchingPropertyNotSupplemental"
    if over not in target.properties:
        return "noMatchingSupplementalProperty"
    key = (target.id, over)
    if key in seen:
        return "multipleReference"
    seen.add(key)
    schema = el.properties.get("schema")
    unit = target.properties.get("unit")
    if isinstance(schema, str) and schema in UNIT_ENUMS and unit not in UNIT_ENUMS[schema]:
        return "siblingPropertyMismatch"  # the override's unit enum does not hold the sibling's unit
    return None


def supplemental_problem(ms: ModelSet) -> tuple[str, str, Element] | None:
    """The first problem of inherited names, annotations or overrides: cause, message, element."""
    for iface in ms.interfaces():
        names: dict[str, str] = {}
        for source in [iface.id, *ms.ancestors(iface.id)]:
            for c in ms.elements[source].properties.get("contents", []):
                child = ms.elements.get(c)
                if child is None or child.name is None:
                    continue
                first = names.setdefault(child.name, child.id)
                if first != child.id:
                    return ("nonUniqueImportedPropertyValue",
                            f"{child.name!r} is defined by {iface.id} and again by {source}", iface)
        contents = ms.contents(iface.id)
        seen: set[tuple[str, str]] = set()
        for el in contents.values():
            if "ValueAnnotation" not in el.cotypes:
                continue
            target = contents.get(str(el.extra.get("annotates")))
            if target is None:
                continue
            if target.cls not in ("Property", "Telemetry"):
                return ("notSiblingRequiredType", f"{el.name!r} annotates {target.name!r}, a {target.cls}", el)
            if "ValueAnnotation" in target.cotypes:
                return ("disallowedType", f"{el.name!r} annotates {target.name!r}, itself an annotation", el)
            if "Override" in el.cotypes:
                cause = _override_problem(ms, el, target, seen)
                if cause is not None:
                    return (cause, f"{el.name!r} cannot override {el.extra.get('overrides')!r} of "
                            f"{target.name!r}", el)
    return None
