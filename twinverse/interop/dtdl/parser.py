"""Parse and validate DTDL v2 and v3 documents into a :class:`ModelSet`.

The checks and their names follow DTDLParser (the reference parser of the Digital Twins
Consortium): every problem is a :class:`ParsingError` whose ``validation_id`` is the
``ValidationID`` DTDLParser reports for it, so results can be compared case by case
(``benchmarks/bench_dtdl.py`` does, over DTDLParser's own conformance cases). Errors name
the file, the element's ``@id`` (given or generated the way DTDLParser generates it) and
the JSON path.

>>> ms = parse_models([{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:ex:Pump;1",
...     "@type": "Interface", "contents": [{"@type": "Telemetry", "name": "flow", "schema": "double"}]}])
>>> ms["dtmi:ex:Pump:_contents:__flow;1"].cls
'Telemetry'
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ._checks import PREFIX, Ctx
from ._extensions import EXTENSIONS, cotype_owner, extension_of, property_owner
from ._graph import excluded_problem, structure_problem
from ._layers import merge_layer
from ._metamodel import (
    ABSTRACT,
    ALL_PROPS,
    CLASSES,
    INFERABLE,
    OTHER_CLASSES,
    PRIMITIVES,
    ROOTABLE,
    SEMANTIC_HOSTS,
    Prop,
    dtdl_term,
    is_dtmi,
)
from ._model import DtdlError, Element, ModelSet, ParsingError
from ._objects import Objects
from ._refs import State, reference_problems, unresolved
from ._semantics import element_problem
from ._supplemental import supplemental_problem
from ._vocab import UNIT_ENUMS, V2_SEMANTIC_TYPES

__all__ = ["Resolver", "parse_models"]

_RESERVED = ("dtmi:dtdl:", "dtmi:standard:")
_MAX_ID = 2048
_MAX_INTERFACE_ID_V2 = 128

#: Called with the ids the documents reference but do not define; returns documents defining them.
Resolver = Callable[[list[str]], Iterable[Any]]

class _Parser(Objects):
    def __init__(
        self, *, allow_undefined_extensions: bool, max_version: int | None, tolerate: frozenset[str] = frozenset()
    ) -> None:
        super().__init__(allow_undefined_extensions=allow_undefined_extensions, max_version=max_version)
        self.st = State()
        self.tolerate = tolerate  # phases ("parse", "resolve") whose DTDL v2 solecisms are tolerated
        self.phase = "parse"
        self.layer_depth = 0  # > 0 while parsing inside a layer
        self.layer_frags: list[str] = []  # fragments of the layers being parsed, innermost last
        self.layers_present = False  # some document holds a layer: required properties are checked at the end
        self.pending: list[tuple[Element, dict[str, Any], dict[str, Prop], str, str, Ctx]] = []
        self.deferred: list[ParsingError] = []  # reported after every other error (layer ids)

    def tolerated(self, version: int) -> bool:
        """Whether a DTDL v2 solecism (reserved id, node reference, repeated generated id) passes here."""
        return version == 2 and self.phase in self.tolerate

    # -- errors ------------------------------------------------------------------------------
    def document(self, doc: Any, file: str) -> None:
        if isinstance(doc, list):
            for i, item in enumerate(doc):
                self.top(item, file, f"$[{i}]")
        else:
            self.top(doc, file, "$")

    def top(self, obj: Any, file: str, path: str) -> None:
        if not isinstance(obj, dict):
            self.err("notJsonObject", "a DTDL document must be a JSON object or an array of objects", file, path)
            return
        if "@graph" in obj:
            if "@context" not in obj:
                self.err("missingContext", "no @context at the top level", file, path)
            else:
                self.err("topLevelGraphDisallowed", "@graph is not allowed at the top level", file, path)
            return
        if "@context" not in obj:
            self.err("missingContext", "no @context at the top level (e.g. dtmi:dtdl:context;3)", file, path)
            return
        ctx = self.context(obj["@context"], None, file, f"{path}.@context")
        if ctx is None:
            return
        if "@id" not in obj:
            self.err("missingTopLevelId", "a top-level element needs an @id", file, path)
            return
        self.element(obj, file, path, ctx, parent=None, prop=None, classes=tuple(ROOTABLE), top=True, partition=None)

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
        outer_version = ctx.version
        if "@context" in obj and not top:
            inner = self.context(obj["@context"], ctx, file, f"{path}.@context")
            if inner is None:
                return None
            ctx = inner
        v = ctx.version
        # @id
        given = obj.get("@id")
        eid: str
        if given is not None:
            if not isinstance(given, str) or not given:
                self.err("idNotString", "@id must be a string", file, f"{path}.@id")
                return None
            if not is_dtmi(given, v):
                self.err("invalidId", f"@id {given!r} is not a valid DTMI", file, f"{path}.@id")
                return None
            raw_type = obj.get("@type")
            words: list[Any] = raw_type if isinstance(raw_type, list) else [raw_type]
            layer = "#" in given and "Layer" in words
            if parent is not None and (layer or "#" not in given) and layer != bool(self.layer_depth):
                self.err("mismatchedLayers", f"{given} and the element holding it are not both layers", file,
                         path, parent)
                return None
            if layer and self.layer_frags and given.partition("#")[2] != self.layer_frags[-1]:
                self.err("mismatchedLayers", f"{given} is a layer other than the one holding it", file, path,
                         parent)
                return None
            if layer:  # the layering extension is not supported: report the id last, check the rest
                self.deferred.append(ParsingError(PREFIX + "invalidId", f"@id {given!r} has a fragment (layers "
                                                  "are not supported)", file, None, f"{path}.@id"))
                given = given.partition("#")[0]
            elif "#" in given and self.layer_depth:
                self.err("disallowedIdFragment", f"@id {given!r}: only a layer may have a fragment", file, path)
                return None
            elif "#" in given or re.search(r"[:;]_", given):
                self.err("invalidId", f"@id {given!r} has a fragment", file, f"{path}.@id")
                return None
            central = "dtmi:iotcentral:context;2" in ctx.extensions and given.startswith("dtmi:iotcentral:")
            if (given.startswith(_RESERVED) and not self.tolerated(v)) or central:
                self.err("reservedId", f"@id {given!r} is in a reserved namespace", file, f"{path}.@id")
                return None
            if len(given) > _MAX_ID:
                self.err("idTooLong", f"@id is longer than {_MAX_ID} characters", file, f"{path}.@id")
                return None
            eid = given
        elif generated_id is not None:
            eid = generated_id
            if obj.get("@type") == "Interface" or (isinstance(obj.get("@type"), list) and "Interface" in obj["@type"]):
                self.err("missingRequiredId", "an Interface defined inline needs an @id", file, path, parent)
                return None
        else:
            eid = f"{path}"
        # @type
        types = obj.get("@type")
        tlist: list[Any]
        if types is None:
            if len(classes) == 1 and classes[0] in INFERABLE:
                tlist = [classes[0]]
            else:
                self.err("typeNotRootable" if top else "badType", "@type is required here", file, path, parent or eid)
                return None
        else:
            tlist = types if isinstance(types, list) else [types]
        material: list[str] = []
        cotypes: list[str] = []
        ext_cotypes: list[str] = []  # co-types of known extensions in scope
        undefined: list[str] = []  # co-types nothing defines (allowed in v2 and with undefined extensions)
        table = CLASSES[v]
        for t in tlist:
            if not isinstance(t, str):
                self.err("typeNotDtmiNorTerm", f"@type value {t!r} is not a string", file, f"{path}.@type", eid)
                return None
            if t in table:
                material.append(t)
            elif t in UNIT_ENUMS and v == 3 and not ctx.quantitative:
                self.err("typeIrrelevantDtmiOrTerm", f"@type {t!r} is not a class here", file, f"{path}.@type", eid)
                return None
            elif t in UNIT_ENUMS:
                material.append(t)  # a unit enum is a class of its own, not a co-type
            elif t in ("SemanticType", "QuantitativeType", "SemanticUnit", "Unit") and not top:
                self.err("abstractSupplementalType", f"co-type {t!r} is abstract", file, f"{path}.@type", eid)
                return None
            elif t in ABSTRACT or t in OTHER_CLASSES:
                cause = "typeNotRootable" if top and t in OTHER_CLASSES else "badType"
                where = prop or "a top-level element"
                self.err(cause, f"@type {t!r} is not allowed for {where}", file, f"{path}.@type", parent or eid)
                return None
            elif t in ctx.semantic_types:
                cotypes.append(t)
            elif (owner := cotype_owner(t)) is not None and owner in ctx.ext_names:
                cotypes.append(t)
                ext_cotypes.append(t)
            elif (owner := cotype_owner(t)) is not None and owner in {extension_of(e) for e in ctx.foreign}:
                hosts = EXTENSIONS[owner].cotypes[t]
                fits = bool(table.keys() & set(tlist) & set(hosts)) and owner != "historization"
                self.err("invalidCotypeVersion" if fits else "invalidCotype",
                         f"co-type {t!r} belongs to an extension of another DTDL version", file, f"{path}.@type", eid)
                return None
            elif ctx.foreign and v == 3 and t in V2_SEMANTIC_TYPES:
                self.err("invalidCotypeVersion", f"co-type {t!r} is a DTDL v2 semantic type", file, f"{path}.@type",
                         eid)
                return None
            elif t in ALL_PROPS[v] and not ctx.undefined:
                self.err("typeIrrelevantDtmiOrTerm", f"@type {t!r} is a property, not a class", file,
                         f"{path}.@type", eid)
                return None
            elif t.startswith("dtmi:dtdl:") and not ctx.undefined:
                self.err("typeIrrelevantDtmiOrTerm", f"@type {t!r} is not a class", file, f"{path}.@type", eid)
                return None
            elif ":" in t and not t.startswith("dtmi:") and v != 2:
                self.err("typeNotDtmiNorTerm", f"@type {t!r} is neither a DTMI nor a term", file, f"{path}.@type",
                         eid)
                return None
            elif ":" in t and not t.startswith("dtmi:"):
                cotypes.append(t)  # an IRI co-type: undefined, as DTDL v2 allows
                undefined.append(t)
            elif ":" in t:
                if not is_dtmi(t, v):
                    self.err("typeInvalidDtmi", f"@type {t!r} is not a valid DTMI", file, f"{path}.@type", eid)
                    return None
                cotypes.append(t)
                undefined.append(t)
            elif v == 2 or ctx.undefined:
                cotypes.append(t)  # DTDL v2 (and an undefined extension) accepts undefined co-types
                undefined.append(t)
            else:
                other = any(t in CLASSES[w] for w in (2, 3))
                self.err("typeNotRootable" if top and other else "typeUndefinedTerm", f"@type {t!r} is not a DTDL term",
                         file, f"{path}.@type", eid)
                return None
        if len(material) == 1 and material[0] not in table:
            self.err("badType", f"{material[0]} is not allowed here", file, f"{path}.@type", parent or eid)
            return None
        if len(material) > 1:
            self.err("multipleMaterialTypes", f"@type names several classes {material}", file, f"{path}.@type", eid)
            return None
        if not material:
            layered_part = "Layer" in cotypes and eid in self.st.models.elements
            cause = "layerMissingMaterialType" if layered_part else "badType" if cotypes else "missingType"
            self.err(cause, "@type names no DTDL class", file, f"{path}.@type", parent or eid)
            return None
        cls = material[0]
        if v != outer_version and (cls in ("Array", "Enum", "Map", "Object") or v > outer_version):
            self.err("disallowedVersionDefinition", f"a DTDL v{v} {cls} cannot be defined inside DTDL "
                     f"v{outer_version}", file, path, parent or eid)
            return None
        if top and cls not in ROOTABLE:
            self.err("typeNotRootable", f"a {cls} cannot stand at the top level", file, path, eid)
            return None
        if cls not in classes:
            self.err("badType", f"{cls} is not allowed in {prop!r} (allowed: {', '.join(classes)})", file, path,
                     parent or eid)
            return None
        if cls == "Interface" and len(eid) > _MAX_INTERFACE_ID_V2 and given is not None:
            self.err("idTooLongForType", f"an Interface @id is limited to {_MAX_INTERFACE_ID_V2} characters",
                     file, f"{path}.@id", eid)
            return None
        if "Override" in ext_cotypes and "ValueAnnotation" not in cotypes:
            self.err("missingCocotype", "co-type Override needs co-type ValueAnnotation", file, f"{path}.@type", eid)
            return None
        if "Override" in ext_cotypes and cls == "Telemetry":  # DTDLParser names this after the override's rules
            self.deferred.append(ParsingError(PREFIX + "invalidCotype", "co-type Override is for Properties", file,
                                              eid, f"{path}.@type"))
        for ct in cotypes:
            owner = cotype_owner(ct) if ct in ext_cotypes else None
            bad_semantic = ct in ctx.semantic_types and cls not in SEMANTIC_HOSTS[v]
            if bad_semantic or (owner is not None and cls not in EXTENSIONS[owner].cotypes[ct]):
                self.err("invalidCotype", f"co-type {ct!r} is not allowed on a {cls}", file, f"{path}.@type", eid)
                return None
        props = table[cls]
        if cls == "Interface":
            partition = eid
        # generated ids
        if given is None and generated_id is None:
            eid = path
        el = Element(eid, cls, tuple(cotypes), {}, parent, file, path, v, explicit_id=given is not None)
        if top or "@context" in obj:
            el.context = obj.get("@context")
        layer = isinstance(given, str) and "#" in str(obj.get("@id")) and "Layer" in cotypes
        existing = self.st.models.elements.get(eid)
        merging = existing is not None and (layer or bool(self.layer_depth) or existing.layered)
        el.layered = layer or bool(self.layer_depth)
        if existing is not None and not merging:
            if given is None and self.tolerated(v):
                return eid  # a repeated name: the first definition stands
            if given is None:  # a generated id repeats: two siblings share a name
                self.err("nonUniquePropertyValue", f"name {obj.get('name')!r} is used twice in {prop!r}", file,
                         path, parent or eid)
            else:
                self.err("duplicateDefinition", f"{eid} is defined twice", file, path, eid)
            return None
        if not merging:
            self.st.models.elements[eid] = el
        if partition is not None:
            self.st.partition_of[eid] = partition
        self.layer_depth += int(layer)
        if layer:
            self.layer_frags.append(str(obj["@id"]).partition("#")[2])
        try:
            ok = self.properties(el, obj, props, cotypes, undefined, file, path, ctx, partition)
        finally:
            self.layer_depth -= int(layer)
            if layer:
                self.layer_frags.pop()
        if not ok:
            return None
        if merging:
            assert existing is not None
            clash = merge_layer(existing, el)
            if clash is not None:
                self.err(clash[0], clash[1], file, path, eid)
                return None
            el = existing
        if self.layers_present:  # a later layer may complete the element: check what is required at the end
            self.pending.append((el, obj, props, file, path, ctx))
            return eid
        return self.complete(el, obj, props, file, path, ctx)

    def complete(
        self, el: Element, obj: dict[str, Any], props: dict[str, Prop], file: str, path: str, ctx: Ctx
    ) -> str | None:
        """Check what an element requires (properties, then its own rules) once it is whole."""
        eid, cls = el.id, el.cls
        for key, spec in props.items():
            if spec.required and spec.kind != "object" and obj.get(key) == []:
                self.err("stringCountBelowMin", f"{key!r} needs a value", file, f"{path}.{key}", eid)
                return None
            if spec.required and key not in obj and key not in el.properties:
                cause = "missingObjectProperty" if spec.kind == "object" else "missingLiteralProperty"
                if key == "name" or key == "enumValue" or key == "valueSchema":
                    cause = "missingLiteralProperty"
                if key in ("schema",) and cls == "MapKey":
                    cause = "missingObjectProperty"
                self.err(cause, f"{cls} needs {key!r}", file, path, eid)
                return None
        found = element_problem(el, obj, file, path, ctx, self.st.models)
        if found is not None:
            self.err(*found)
            return None
        return eid

    def properties(
        self,
        el: Element,
        obj: dict[str, Any],
        props: dict[str, Prop],
        cotypes: list[str],
        undefined: list[str],
        file: str,
        path: str,
        ctx: Ctx,
        partition: str | None,
    ) -> bool:
        """Parse the properties of ``obj`` into ``el``; False once one is in error."""
        eid, v, cls = el.id, ctx.version, el.cls
        for key, val in obj.items():
            if key in ("@id", "@type", "@context"):
                continue
            kp = f"{path}.{key}"
            if key.startswith("@") and v == 2 and key != "@graph":
                continue  # DTDL v2 ignores other JSON-LD keywords
            if key.startswith("@"):
                self.err("graphDisallowed" if key == "@graph" else "topLevelKeywordDisallowed" if el.parent is None
                         else "keywordDisallowed",
                         f"JSON-LD keyword {key} is not allowed here", file, kp, eid)
                return False
            spec = props.get(key)
            if spec is None and undefined and v == 2 and key != "unit":
                el.extra[key] = val  # properties of an undefined co-type
                continue
            if spec is None and undefined and ctx.undefined and key != "unit":
                if ":" in key and not is_dtmi(key, v):  # not a DTMI, so no undefined extension can define it
                    self.err("typeUndefinedTerm", f"co-type {undefined[0]!r} is undefined, and so is {key!r}", file,
                             kp, eid)
                    return False
                el.extra[key] = val
                continue
            if spec is None:
                if key.startswith("dtmi:"):
                    term = dtdl_term(key, v)
                    if term is not None and term in props:
                        if term in obj:
                            self.err("duplicatePropertyName", f"{term!r} is given twice", file, kp, eid)
                        else:
                            self.err("propertyIrrelevantDtmiOrTerm", f"use {term!r}, not {key!r}", file, kp, eid)
                        return False
                    if key.startswith("dtmi:dtdl:property:"):
                        self.err("propertyIrrelevantDtmiOrTerm", f"{key!r} is not a property of {cls}", file, kp,
                                 eid)
                        return False
                    if not cotypes or key.startswith("dtmi:dtdl:"):
                        self.err("noTypeThatAllows", f"no type of this {cls} allows property {key!r}", file, kp,
                                 eid)
                        return False
                    el.extra[key] = val
                    continue
                if key == "unit" and any(c in ctx.semantic_types or cotype_owner(c) == "iotcentral" for c in cotypes):
                    el.properties[key] = val
                    continue
                owner = property_owner(key)
                if owner is not None and owner in ctx.ext_names:
                    if EXTENSIONS[owner].properties[key] not in cotypes:
                        self.err("propertyIrrelevantDtmiOrTerm", f"{key!r} needs co-type "
                                 f"{EXTENSIONS[owner].properties[key]!r}", file, kp, eid)
                        return False
                    if val == "" and key.endswith("Topic"):
                        self.err("stringInvalid", f"{key!r} must not be empty", file, kp, eid)
                        return False
                    el.extra[key] = val
                    continue
                if undefined:
                    el.extra[key] = val
                    continue
                known_term = key in CLASSES[v] or key in ABSTRACT or key in OTHER_CLASSES or key in PRIMITIVES[v]
                if known_term or (":" in key and not key.startswith("dtmi:")):
                    self.err("noTypeThatAllows", f"{key!r} is a DTDL term, not a property of {cls}", file, kp, eid)
                    return False
                if key in ALL_PROPS[v]:
                    self.err("propertyIrrelevantDtmiOrTerm", f"{key!r} is not a property of {cls}", file, kp, eid)
                    return False
                if ctx.undefined:
                    self.err("noTypeThatAllows", f"no type of this {cls} allows property {key!r}", file, kp, eid)
                    return False
                self.err("noTypeThatAllows" if cls == "Telemetry" else "propertyUndefinedTerm",
                         f"{key!r} is not a property of {cls}", file, kp, eid)
                return False
            if not self.value(el, key, spec, val, file, kp, ctx, partition):
                return False
        return True

    def check_refs(self) -> None:
        for cause, message, ref in reference_problems(self.st):
            self.err(cause, message, ref.file, ref.path, ref.source)
        ms = self.st.models
        found = structure_problem(ms, limits=not self.limitless) or excluded_problem(ms) or supplemental_problem(ms)
        if found is not None:
            cause, message, el = found
            self.err(cause, message, el.file, el.path, el.id)


def parse_models(
    documents: Sequence[Any] | Iterable[tuple[str, Any]],
    *,
    resolver: Resolver | None = None,
    allow_undefined_extensions: bool = False,
    max_dtdl_version: int | None = None,
    tolerate_solecisms: Iterable[str] = (),
) -> ModelSet:
    """Parse DTDL documents (JSON values, or ``(file name, value)`` pairs) into a :class:`ModelSet`.

    References to ids that no document defines are passed to ``resolver`` (a model repository);
    what stays unresolved is an ``idReference`` error. Raises :class:`DtdlError` listing every
    problem, in the order found. ``tolerate_solecisms`` (``"parse"``, ``"resolve"``) accepts, in DTDL v2
    documents given (or resolved), what DTDLParser's quirk options accept: reserved ids, ``{"@id": …}``
    node references and names repeated where ids are generated.
    """
    p = _Parser(
        allow_undefined_extensions=allow_undefined_extensions,
        max_version=max_dtdl_version,
        tolerate=frozenset(tolerate_solecisms),
    )
    docs = list(documents)
    p.layers_present = '"Layer"' in json.dumps(docs, default=str)
    for i, d in enumerate(docs):
        if isinstance(d, tuple) and len(d) == 2 and isinstance(d[0], str):
            p.document(d[1], d[0])
        else:
            p.document(d, f"input[{i}]")
    for pending in p.pending:
        if p.complete(*pending) is None:
            break
    p.pending.clear()
    p.layers_present = False
    if p.errors:
        raise DtdlError(p.errors + p.deferred)
    seen_requests: set[str] = set()
    missing = unresolved(p.st)
    while missing and resolver is not None:
        ask = [m for m in missing if m not in seen_requests]
        if not ask:
            break
        seen_requests.update(ask)
        p.phase = "resolve"
        for j, d in enumerate(resolver(ask)):
            p.document(d, f"resolved[{j}]")
        if p.errors:
            raise DtdlError(p.errors + p.deferred)
        missing = unresolved(p.st)
    if missing:
        by_target = {r.target: r for r in p.st.refs}
        reserved = [m for m in missing if m.startswith(("dtmi:dtdl:", "dtmi:standard:", "dtmi:iotcentral:"))]
        if reserved:
            r = by_target[reserved[0]]
            raise DtdlError([ParsingError(PREFIX + "undefinedReservedId", f"{r.prop!r} references {reserved[0]}, "
                                          "a reserved id nothing defines", r.file, r.source, r.path)])
        raise DtdlError(
            [
                ParsingError(
                    PREFIX + "idReference",
                    f"{by_target[m].prop!r} references {m}, which no document defines",
                    by_target[m].file,
                    by_target[m].source,
                    by_target[m].path,
                )
                for m in missing
            ]
            + p.deferred
        )
    p.check_refs()
    if p.errors or p.deferred:
        raise DtdlError(p.errors + p.deferred)
    p.st.models.roots = [e.id for e in p.st.models.elements.values() if e.parent is None]
    return p.st.models
