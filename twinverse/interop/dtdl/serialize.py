"""Write a parsed :class:`ModelSet` back as DTDL documents (one per top-level interface).

Elements defined inside another (contents, inline schemas) are written inline; references
stay ids; generated ids are left out, so that parsing the output generates them again and
gives an equal :class:`ModelSet` (``ModelSet.as_dict()`` compares equal).
"""

from __future__ import annotations

from typing import Any

from ._model import Element, ModelSet

__all__ = ["modelset_to_dtdl"]

_PRIMITIVE = "dtmi:dtdl:instance:Schema:"


def _lang(value: dict[str, str]) -> Any:
    return value["en"] if list(value) == ["en"] else dict(value)


def _element(ms: ModelSet, el: Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if el.context is not None:
        out["@context"] = el.context
    if el.explicit_id:
        out["@id"] = el.id
    out["@type"] = [el.cls, *el.cotypes] if el.cotypes else el.cls
    for key, val in el.properties.items():
        out[key] = _value(ms, el, key, val)
    out.update(el.extra)
    return out


def _value(ms: ModelSet, el: Element, key: str, val: Any) -> Any:
    if key in ("displayName", "description") and isinstance(val, dict):
        return _lang(val)
    if isinstance(val, list) and key in ("contents", "extends", "schemas", "enumValues", "fields", "properties"):
        return [_ref_or_inline(ms, el, v) for v in val]
    if isinstance(val, str) and key in ("schema", "elementSchema", "request", "response", "mapKey", "mapValue"):
        if el.cls == "MapKey":
            return val
        return _ref_or_inline(ms, el, val)
    return val


def _ref_or_inline(ms: ModelSet, parent: Element, ref: str) -> Any:
    if ref.startswith(_PRIMITIVE):
        return ref.removeprefix(_PRIMITIVE).partition(";")[0]
    child = ms.elements.get(ref)
    if child is not None and child.parent == parent.id:
        return _element(ms, child)
    return ref


def modelset_to_dtdl(ms: ModelSet) -> list[dict[str, Any]]:
    """Every top-level element of ``ms`` as a DTDL JSON object, in parse order."""
    return [_element(ms, ms.elements[r]) for r in ms.roots]
