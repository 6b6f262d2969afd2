"""Object properties of DTDL elements: inline elements, references by id, primitive schema terms."""

from __future__ import annotations

from typing import Any

from ._checks import Checks, Ctx
from ._metamodel import ABSTRACT, CLASSES, OTHER_CLASSES, PRIMITIVES, Prop, is_dtmi
from ._model import Element
from ._refs import Ref, State

__all__ = ["Objects"]


class Objects(Checks):
    """Parses the values of object properties; the parser supplies :meth:`element`."""

    st: State

    def tolerated(self, version: int) -> bool:
        """Whether a DTDL v2 solecism passes here (the parser's quirk options)."""
        raise NotImplementedError

    def element(
        self,
        obj: dict[str, Any],
        file: str,
        path: str,
        ctx: Ctx,
        *,
        parent: str | None,
        prop: str | None,
        classes: tuple[str, ...],
        top: bool = False,
        generated_id: str | None = None,
        partition: str | None,
    ) -> str | None:
        """Parse one element (the parser's part)."""
        raise NotImplementedError

    def objects(
        self, el: Element, key: str, spec: Prop, val: Any, file: str, path: str, ctx: Ctx, partition: str | None
    ) -> bool:
        eid, v = el.id, ctx.version
        items = val if isinstance(val, list) else [val]
        if not spec.plural and isinstance(val, list) and len(val) != 1:
            self.err("objectMultipleValues", f"{key!r} takes one value", file, path, eid)
            return False
        if spec.max_count is not None and len(items) > spec.max_count:
            self.err("objectCountAboveMax", f"{key!r} has more than {spec.max_count} values", file, path, eid)
            return False
        if spec.min_count is not None and len(items) < spec.min_count:
            self.err("objectCountBelowMin", f"{key!r} has fewer than {spec.min_count} values", file, path, eid)
            return False
        ids: list[str] = []
        base, _, ver = eid.partition(";")
        for i, item in enumerate(items):
            p = f"{path}[{i}]" if isinstance(val, list) else path
            if isinstance(item, str):
                if key in ("schema", "elementSchema") and item in PRIMITIVES[v]:
                    ids.append(f"dtmi:dtdl:instance:Schema:{item};{v}")
                    continue
                if key in ("schema", "elementSchema") and ctx.knows_extensions() and ":" not in item:
                    ids.append(item)  # a schema term of an extension (iotcentral vector, unit enums)
                    continue
                if key in ("schema", "elementSchema") and ctx.units and item.endswith("Unit"):
                    ids.append(item)
                    continue
                if item in CLASSES[v] or item in ABSTRACT or item in OTHER_CLASSES:
                    self.err("badType", f"{key!r} names the class {item!r}, not an element", file, p, eid)
                    return False
                if key == "target" and not is_dtmi(item, v):
                    self.err("identifierNotDtmi", f"target {item!r} is not a DTMI", file, p, eid)
                    return False
                if "#" in item:
                    self.err("badDtmiOrTerm", f"{key!r} value {item!r}: a reference cannot have a fragment", file, p,
                             eid)
                    return False
                if not item.startswith("dtmi:"):
                    cause = "idRefBadDtmiOrTerm" if ":" in item else "badDtmiOrTerm"
                    if key == "extends":
                        cause = "idReference" if ":" in item else "badDtmiOrTerm"
                    self.err(cause, f"{key!r} value {item!r} is neither a DTMI nor a DTDL term", file, p, eid)
                    return False
                if not is_dtmi(item, v):
                    self.err("idRefBadDtmiOrTerm" if key != "extends" else "idReference",
                             f"{key!r} value {item!r} is not a valid DTMI", file, p, eid)
                    return False
                if not spec.ref:
                    self.err("refObjectNotAllowed", f"{key!r} must hold elements, not references", file, p, eid)
                    return False
                if key != "target":  # a relationship's target is an id, not a definition to resolve
                    self.st.refs.append(Ref(eid, key, item, spec.classes, file, p, partition))
                ids.append(item)
            elif isinstance(item, dict):
                if key == "target":
                    self.err("identifierNotString", "a relationship's target is an id, not an element", file, p, eid)
                    return False
                if set(item) == {"@id"} and spec.ref:
                    ref = item["@id"]
                    if not self.tolerated(v) or not isinstance(ref, str) or not is_dtmi(ref, v):
                        self.err("idReference", f"{key!r} references {ref!r}, not a DTMI", file, p, eid)
                        return False
                    self.st.refs.append(Ref(eid, key, ref, spec.classes, file, p, partition))
                    ids.append(ref)
                    continue
                if key == "contents" and "@id" not in item and "name" not in item:
                    self.err("missingDtmiSegPropertyValue", "an element of 'contents' without @id needs a name",
                             file, p, eid)
                    return False
                if key == "schemas" and "@id" not in item:
                    self.err("missingRequiredId", "an element of 'schemas' needs an @id", file, p, eid)
                    return False
                name = item.get("name")
                tail = f":__{name}" if isinstance(name, str) and spec.plural else (f":__{i}" if spec.plural else "")
                gen = f"{base}:_{key}{tail};{ver}" if ver else f"{base}:_{key}{tail}"
                child = self.element(item, file, p, ctx, parent=eid, prop=key, classes=spec.classes,
                                     generated_id=gen, partition=partition)
                if child is None:
                    return False
                ids.append(child)
            else:
                self.err("refNotStringOrObject", f"{key!r} value must be a string or an object", file, p, eid)
                return False
        el.properties[key] = ids if spec.plural else ids[0]
        return True


    # -- after every document ------------------------------------------------------------------
