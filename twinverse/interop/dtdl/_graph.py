"""Checks over the whole element graph: cycles and nesting depth of extends and of complex schemas."""

from __future__ import annotations

from ._model import Element, ModelSet

__all__ = ["excluded_problem", "structure_problem"]


def structure_problem(ms: ModelSet, *, limits: bool = True) -> tuple[str, str, Element] | None:
    """The first cycle or excessive nesting (extends, complex schemas): cause, message, element."""
    for el in list(ms.elements.values()):
        if el.cls == "Interface":
            chain = _extends_cycle(ms, el.id)
            if chain:
                return ("recursiveStructureNarrow", "extends forms a cycle: " + " → ".join(chain), el)
            depth = _extends_depth(ms, el.id, 0)
            if limits and depth > 10:
                return ("excessiveDepthNarrow", "extends is nested more than 10 levels deep", el)
        if el.cls in ("Array", "Map", "Object"):
            chain = _schema_cycle(ms, el.id, [])
            if chain:
                return ("recursiveStructureWide", "a schema contains itself: " + " → ".join(chain), el)
            if limits and _schema_depth(ms, el.id) > 5:
                return ("excessiveDepthWide", "complex schemas are nested more than 5 levels deep", el)
    return None


def _extends_cycle(ms: ModelSet, start: str) -> list[str]:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, chain = stack.pop()
        for nxt in ms.elements[node].properties.get("extends", []):
            if nxt == start:
                return [*chain, nxt]
            if nxt in ms.elements and nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*chain, nxt]))
    return []


def _extends_depth(ms: ModelSet, node: str, d: int) -> int:
    if d > 11:
        return d
    ext = ms.elements[node].properties.get("extends", [])
    return max([_extends_depth(ms, x, d + 1) for x in ext if x in ms.elements], default=d)


def _children(ms: ModelSet, node: str) -> list[str]:
    el = ms.elements[node]
    out: list[str] = []
    for key in ("elementSchema", "schema"):
        s = el.properties.get(key)
        if isinstance(s, str):
            out.append(s)
    for key in ("fields", "mapValue"):
        val = el.properties.get(key)
        for c in val if isinstance(val, list) else [val] if isinstance(val, str) else []:
            out.append(c)
    return [c for c in out if c in ms.elements]


def _schema_cycle(ms: ModelSet, start: str, chain: list[str]) -> list[str]:
    for c in _children(ms, start):
        if c == (chain[0] if chain else start):
            return [*chain, start, c]
        if c in chain or len(chain) > 50:
            continue
        found = _schema_cycle(ms, c, [*chain, start])
        if found:
            return found
    return []


def _schema_depth(ms: ModelSet, node: str, d: int = 0) -> int:
    """Complex schemas (Array, Map, Object) on the deepest path down from ``node``."""
    if d > 40:  # hops, not levels: a cycle is reported on its own
        return 0
    el = ms.elements[node]
    here = 1 if el.cls in ("Array", "Map", "Object") else 0
    return here + max([_schema_depth(ms, c, d + 1) for c in _children(ms, node)], default=0)


def _schema_tree(ms: ModelSet, node: str, seen: set[str]) -> list[Element]:
    if node in seen or node not in ms.elements:
        return []
    seen.add(node)
    out = [ms.elements[node]]
    for c in _children(ms, node):
        out.extend(_schema_tree(ms, c, seen))
    return out


def excluded_problem(ms: ModelSet) -> tuple[str, str, Element] | None:
    """A class where the language excludes it: Components inside a Component's schema, Arrays in v2 Properties."""
    for el in ms.elements.values():
        if el.cls == "Component":
            schema = el.properties.get("schema")
            if isinstance(schema, str) and schema in ms.elements and any(
                c.cls == "Component" for c in ms.contents(schema).values()
            ):
                return ("excludedType", "a Component's schema cannot itself hold Components", el)
        if el.cls == "Property" and el.version == 2:
            schema = el.properties.get("schema")
            if isinstance(schema, str) and any(s.cls == "Array" for s in _schema_tree(ms, schema, set())):
                return ("excludedType", "a DTDL v2 Property's schema cannot contain an Array", el)
    return None
