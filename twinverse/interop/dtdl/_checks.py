"""Shared checks of the DTDL parser: the JSON-LD context in force, literals and language strings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ._extensions import extension_of
from ._metamodel import Prop, name_ok
from ._model import Element, ParsingError
from ._vocab import V2_SEMANTIC_TYPES, V2_UNITS, V3_SEMANTIC_TYPES, V3_UNITS

__all__ = ["PREFIX", "Checks", "Ctx", "kind_of"]

PREFIX = "dtmi:dtdl:parsingError:"
_QUANT = "dtmi:dtdl:extension:quantitativeTypes;1"
_QUANT2 = "dtmi:dtdl:extension:quantitativeTypes;2"
#: Extension contexts a DTDL version knows (their terms are accepted as co-types and properties).
_KNOWN_EXTENSIONS: dict[int, frozenset[str]] = {
    2: frozenset({"dtmi:iotcentral:context;2"}),
    3: frozenset(
        {
            _QUANT,
            "dtmi:dtdl:extension:historization;1",
            "dtmi:dtdl:extension:historization;2",
            "dtmi:dtdl:extension:annotation;1",
            "dtmi:dtdl:extension:annotation;2",
            "dtmi:dtdl:extension:overriding;1",
            "dtmi:dtdl:extension:overriding;2",
            "dtmi:dtdl:extension:mqtt;1",
            "dtmi:dtdl:extension:mqtt;2",
            "dtmi:dtdl:extension:mqtt;3",
            "dtmi:dtdl:extension:requirement;1",
            "dtmi:dtdl:extension:requirement;2",
            "dtmi:dtdl:extension:quantitativeTypes;2",
            "dtmi:dtdl:extension:quantitativeTypes;3",
        }
    ),
}
_LANG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


@dataclass
class Ctx:
    """The JSON-LD context in force: DTDL version and the extensions in scope."""

    version: int
    extensions: frozenset[str] = frozenset()
    undefined: bool = False  # an undefined extension is in scope: unknown terms are its own
    foreign: frozenset[str] = frozenset()  # extension contexts of another DTDL version (terms: invalidCotypeVersion)

    @property
    def semantic_types(self) -> frozenset[str]:
        if self.version == 2:
            return V2_SEMANTIC_TYPES
        return V3_SEMANTIC_TYPES if self.quantitative else frozenset()

    @property
    def quantitative(self) -> bool:
        return any(e.startswith("dtmi:dtdl:extension:quantitativeTypes;") for e in self.extensions)

    @property
    def units(self) -> frozenset[str]:
        if self.version == 2:
            return V2_UNITS
        return V3_UNITS if self.quantitative else frozenset()

    @property
    def ext_names(self) -> frozenset[str]:
        """Names of the known extensions in scope (``mqtt``, ``annotation``, …)."""
        return frozenset(n for n in (extension_of(e) for e in self.extensions - self.foreign) if n is not None)

    def knows_extensions(self) -> bool:
        return any(not e.startswith("dtmi:dtdl:extension:quantitativeTypes;") for e in self.extensions) or (
            self.undefined
        )




_XSD: dict[str, tuple[type, str]] = {
    "xsd:boolean": (bool, "boolean"),
    "xsd:integer": (int, "integer"),
    "xsd:int": (int, "integer"),
    "xsd:string": (str, "string"),
}


class Checks:
    """The error list and the checks of values that do not depend on the element graph."""

    def __init__(self, *, allow_undefined_extensions: bool, max_version: int | None) -> None:
        self.allow_undefined = allow_undefined_extensions
        self.max_version = max_version
        self.errors: list[ParsingError] = []
        #: A DTDL v4 "limitless" context was seen: nesting limits are the limits profile's, not checked here.
        self.limitless = False

    def err(self, cause: str, message: str, file: str, path: str, element: str | None = None) -> None:
        self.errors.append(ParsingError(PREFIX + cause, message, file, element, path))

    # -- documents ---------------------------------------------------------------------------

    def context(self, value: Any, outer: Ctx | None, file: str, path: str) -> Ctx | None:
        items = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not value:
            if outer is not None:
                return outer
            self.err("emptyContext", "@context is empty", file, path)
            return None
        version: int | None = None
        exts: set[str] = set()
        undefined = False
        for i, item in enumerate(items):
            p = f"{path}[{i}]" if isinstance(value, list) else path
            if isinstance(item, dict):
                self.err("disallowedLocalContext", "local context definitions are not allowed in DTDL", file, p)
                return None
            if not isinstance(item, str):
                self.err("invalidContext", f"a context specifier must be a string, not {kind_of(item)}", file, p)
                return None
            if not item.startswith("dtmi:"):
                self.err("nonDtmiContextSpecifier", f"context specifier {item!r} is not a DTMI", file, p)
                return None
            if item.startswith("dtmi:dtdl:limits:"):
                continue  # a limits context (DTDL v4 "limitless" profiles) changes no term
            m = re.fullmatch(r"dtmi:dtdl:context;(\d+)(?:#limitless)?", item)
            if m and "#" in item and int(m.group(1)) < 4:
                self.err("disallowedContextFragment", f"{item!r}: a context fragment needs DTDL v4", file, p)
                return None
            if m and item.endswith("#limitless"):
                self.limitless = True
            if m:
                if exts and outer is None and m.group(1) != "2":
                    self.err("missingDtdlContext", "@context must start with the DTDL context", file, p)
                    return None
                if exts and (m.group(1) != "2" or version is not None):  # v2 lets an extension come first
                    self.err("dtdlContextFollowsAffiliate", "the DTDL context must come first in @context", file, p)
                    return None
                v = int(m.group(1))
                if v not in (2, 3, 4):
                    cause = "unrecognizedContextVersion" if v < 2 else "unresolvableContextVersion"
                    self.err(cause, f"DTDL version {v} is not supported", file, p)
                    return None
                if self.max_version is not None and v > self.max_version:
                    self.err("disallowedContextVersion", f"DTDL version {v} is above the allowed maximum", file, p)
                    return None
                version = 3 if v == 4 else v
                continue
            if not re.fullmatch(r"dtmi:[A-Za-z][A-Za-z0-9_]*(?::[A-Za-z_][A-Za-z0-9_]*)*(?:;[0-9.]+)?", item):
                self.err("invalidContextSpecifier", f"context specifier {item!r} is not a valid DTMI", file, p)
                return None
            in_v2 = (version or (outer.version if outer is not None else None)) == 2
            if ";" not in item or (in_v2 and "." in item.partition(";")[2]):
                self.err("invalidContextSpecifierForVersion", f"context specifier {item!r} needs a version "
                         "(a major version only, in DTDL v2)", file, p)
                return None
            if item.startswith("dtmi:dtdl:context"):
                self.err("unrecognizedContextVersion", f"{item!r} is not a DTDL context", file, p)
                return None
            exts.add(item)
        if version is None:
            if outer is None:
                self.err("missingDtdlContext", "@context must start with a DTDL context", file, path)
                return None
            version = outer.version
        known = _KNOWN_EXTENSIONS[version]
        every = _KNOWN_EXTENSIONS[2] | _KNOWN_EXTENSIONS[3]
        foreign = {e for e in exts if e not in known and e in every}
        for e in sorted(exts - foreign):
            if e not in known and extension_of(e) is not None and not self.allow_undefined:
                self.err("unresolvableContextVersion", f"extension context {e!r}: no such version", file, path)
                return None
            if e not in known:
                if not self.allow_undefined:
                    self.err("unresolvableContextSpecifier", f"extension context {e!r} is not known", file, path)
                    return None
                undefined = True
        if outer is not None:
            exts |= outer.extensions
            undefined = undefined or outer.undefined
            foreign |= outer.foreign
        return Ctx(version, frozenset(exts), undefined, frozenset(foreign))

    # -- elements ----------------------------------------------------------------------------

    def value(
        self, el: Element, key: str, spec: Prop, val: Any, file: str, path: str, ctx: Ctx, partition: str | None
    ) -> bool:
        eid, v = el.id, ctx.version
        if val == [] and spec.required and spec.kind == "object":
            self.err("objectCountBelowMin", f"{key!r} needs at least one value", file, path, eid)
            return False
        if val == [] and (v == 2 or spec.kind != "object" or not spec.plural):
            return True  # an empty array is no value
        if val is None:
            self.err("propertyValueNull", f"{key!r} must not be null", file, path, eid)
            return False
        if spec.kind == "string":
            s = self.literal(val, key, file, path, eid, str, "string", v)
            if s is None:
                return False
            if key == "name" and not name_ok(s, v):
                self.err("stringInvalid" if len(s) <= (64 if v == 2 else 512) else "stringTooLong",
                         f"name {s!r} is not a valid DTDL name", file, path, eid)
                return False
            if spec.max_len is not None and len(s) > spec.max_len:
                self.err("stringTooLong", f"{key!r} is longer than {spec.max_len} characters", file, path, eid)
                return False
            el.properties[key] = s
        elif spec.kind == "lang":
            m = self.lang(val, key, spec, file, path, eid, v)
            if m is None:
                return False
            el.properties[key] = m
        elif spec.kind == "bool":
            b = self.literal(val, key, file, path, eid, bool, "boolean", v)
            if b is None:
                return False
            el.properties[key] = b
        elif spec.kind == "int":
            n = self.literal(val, key, file, path, eid, int, "integer", v)
            if n is None:
                return False
            if spec.lo is not None and spec.lo == spec.hi and n != spec.lo:
                self.err("valueNotExact", f"{key!r} must be {spec.lo}", file, path, eid)
                return False
            if spec.lo is not None and n < spec.lo:
                self.err("valueBelowRange", f"{key!r} must be at least {spec.lo}", file, path, eid)
                return False
            if spec.hi is not None and n > spec.hi:
                self.err("valueAboveRange", f"{key!r} must be at most {spec.hi}", file, path, eid)
                return False
            el.properties[key] = n
        elif spec.kind == "literal":
            val = self.literal(val, key, file, path, eid, object, "any", v)
            if val is None:
                return False
            if key == "commandType" and val not in ("synchronous", "asynchronous"):
                self.err("badDtmiOrTerm", f"commandType {val!r} is neither synchronous nor asynchronous", file,
                         path, eid)
                return False
            el.properties[key] = val
        else:
            return self.objects(el, key, spec, val, file, path, ctx, partition)
        return True

    def objects(
        self, el: Element, key: str, spec: Prop, val: Any, file: str, path: str, ctx: Ctx, partition: str | None
    ) -> bool:
        """Parse an object property's values (elements or references): the parser's part."""
        raise NotImplementedError

    def literal(
        self, val: Any, key: str, file: str, path: str, eid: str, typ: type, word: str, version: int = 3
    ) -> Any:
        cap = {"string": "string", "boolean": "boolean", "integer": "integer", "any": "string"}[word]
        if word == "any" and key in ("unit", "valueSchema", "schema", "commandType"):
            cap = "object"  # these name elements (a unit, a schema), so DTDLParser words them as objects
        if isinstance(val, list):
            if len(val) != 1:
                self.err(f"{cap}MultipleValues", f"{key!r} takes one {word}", file, path, eid)
                return None
            val = val[0]
        if isinstance(val, dict):
            for k in val:
                if k == "@id":
                    self.err("valueObjectId", f"a value object of {key!r} cannot have @id", file, path, eid)
                    return None
                if k == "@context":
                    self.err("valueObjectContext", f"a value object of {key!r} cannot have @context", file, path, eid)
                    return None
                if k == "@graph":
                    self.err("valueObjectGraph", f"a value object of {key!r} cannot have @graph", file, path, eid)
                    return None
                if version == 2 and k.startswith("@") and k not in ("@value", "@type"):
                    continue  # DTDL v2 ignores other JSON-LD keywords in value objects
                if k == "@language":
                    self.err("valueObjectLanguage", f"a value object of {key!r} cannot have @language", file, path,
                             eid)
                    return None
                if "@value" not in val and not k.startswith("@"):
                    self.err(f"{cap}ObjectNoValue", f"{key!r} has no @value", file, path, eid)
                    return None
                if k not in ("@value", "@type"):
                    cause = "valueObjectKeyword" if k.startswith("@") else "valueObjectInvalidProp"
                    self.err(cause, f"a value object of {key!r} cannot have {k!r}", file, path, eid)
                    return None
            if isinstance(val.get("@type"), list) and len(val["@type"]) != 1:
                self.err("literalTypeNotSingular", f"the value object of {key!r} has several @type values", file,
                         path, eid)
                return None
            if "@value" not in val and cap == "object":
                self.err("refObjectNotAllowed", f"{key!r} must name an element, not hold one", file, path, eid)
                return None
            if "@value" not in val:
                self.err(f"{cap}ObjectNoValue", f"{key!r} has no @value", file, path, eid)
                return None
            inner = val["@value"]
            xsd = val.get("@type")
            xsd = xsd[0] if isinstance(xsd, list) else xsd
            if word == "any":
                if xsd in _XSD:
                    want, w = _XSD[xsd]
                    if not isinstance(inner, want) or (want is int and isinstance(inner, bool)):
                        self.err(f"{w}ValueNot{w.capitalize()}", f"the @value of {key!r} must be a {w}", file, path,
                                 eid)
                        return None
                return inner
            if xsd is not None and _XSD.get(xsd, (None, ""))[1] != word:
                self.err(f"{cap}TypeNot{cap.capitalize()}", f"the @type of {key!r} must be xsd:{word}", file, path,
                         eid)
                return None
            if not isinstance(inner, typ) or (typ is int and isinstance(inner, bool)):
                self.err(f"{cap}ValueNot{cap.capitalize()}", f"the @value of {key!r} must be a {word}", file, path,
                         eid)
                return None
            return inner
        if word == "any":
            return val
        ok = isinstance(val, typ) and not (typ is int and isinstance(val, bool))
        if typ is int and isinstance(val, float) and val.is_integer():
            ok = False
        if not ok:
            self.err(f"{cap}Not{cap.capitalize()}", f"{key!r} must be a {word}, not {kind_of(val)}", file, path, eid)
            return None
        return val

    def lang(
        self, val: Any, key: str, spec: Prop, file: str, path: str, eid: str, version: int = 3
    ) -> dict[str, str] | None:
        out: dict[str, str] = {}
        if isinstance(val, str):
            out["en"] = val
        elif isinstance(val, dict):
            if "@value" in val and "@language" in val and all(k.startswith("@") for k in val):
                self.err("langTagValueInLangMap", f"{key!r} is a language-tagged value, not a language map", file,
                         path, eid)
                return None
            else:
                for code, text in val.items():
                    if code.startswith("@"):
                        self.err("langMapObjKeyword", f"{key!r} has keyword {code} in its language map", file, path,
                                 eid)
                        return None
                    if not _LANG.match(code):
                        self.err("langStringInvalidCode", f"{code!r} is not a language code", file, path, eid)
                        return None
                    if not isinstance(text, str):
                        self.err("langStringValueNotString", f"{key!r}[{code}] must be a string", file, path, eid)
                        return None
                    out[code] = text
        if isinstance(val, list):
            for item in val:
                if isinstance(item, str):
                    code, text = "en", item
                elif isinstance(item, dict):
                    for k in item:
                        if k == "@id":
                            self.err("langStringElementId", f"{key!r} element has @id", file, path, eid)
                            return None
                        if k == "@context":
                            self.err("langStringElementContext", f"{key!r} element has @context", file, path, eid)
                            return None
                        if k == "@graph":
                            self.err("langStringElementGraph", f"{key!r} element has @graph", file, path, eid)
                            return None
                        if k == "@type" and version != 2:
                            self.err("langStringElementType", f"{key!r} element has @type", file, path, eid)
                            return None
                        if k.startswith("@") and k not in ("@value", "@language") and version == 2:
                            continue  # DTDL v2 ignores other JSON-LD keywords
                        if k not in ("@value", "@language"):
                            cause = "langStringElementKeyword" if k.startswith("@") else "langStringElementInvalidProp"
                            self.err(cause, f"{key!r} element has {k!r}", file, path, eid)
                            return None
                    if "@value" not in item:
                        self.err("langStringElementNoValue", f"{key!r} element has no @value", file, path, eid)
                        return None
                    text = item["@value"]
                    if not isinstance(text, str):
                        self.err("langStringElementValueNotString", f"{key!r} @value must be a string", file, path,
                                 eid)
                        return None
                    code = item.get("@language", "en")
                    if not isinstance(code, str):
                        self.err("langStringElementCodeNotString", f"{key!r} @language must be a string", file,
                                 path, eid)
                        return None
                    if not _LANG.match(code):
                        self.err("langStringElementInvalidCode", f"{code!r} is not a language code", file, path, eid)
                        return None
                else:
                    self.err("langStringElementNotStringOrObject", f"{key!r} element must be a string or object",
                             file, path, eid)
                    return None
                if code in out:
                    self.err("langStringElementCodeNotUnique", f"{key!r} gives language {code!r} twice", file, path,
                             eid)
                    return None
                out[code] = text
        elif not isinstance(val, str | dict):
            self.err("langStringNotLangString", f"{key!r} must be a string or a language map", file, path, eid)
            return None
        if spec.max_len is not None:
            for text in out.values():
                if len(text) > spec.max_len:
                    self.err("langStringValueTooLong", f"{key!r} is longer than {spec.max_len} characters", file,
                             path, eid)
                    return None
        return out



def kind_of(v: Any) -> str:
    """``a string``, ``a number``, … for messages."""
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array",
            dict: "an object"}.get(type(v), "null")
