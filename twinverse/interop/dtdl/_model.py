"""The parsed DTDL object model: elements by id, and the parsing errors with their ValidationIDs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import InputError, Location, Problem

__all__ = ["DtdlError", "Element", "ModelSet", "ParsingError"]

_PREFIX = "dtmi:dtdl:parsingError:"


@dataclass(frozen=True)
class ParsingError:
    """One problem in a DTDL document, named as DTDLParser names it.

    ``validation_id`` is DTDLParser's ``ValidationID`` (``dtmi:dtdl:parsingError:…``);
    ``file`` the document (its name, or ``input[i]``), ``element`` the ``@id`` of the element
    concerned (given or generated), ``path`` the JSON path inside the document.
    """

    validation_id: str
    message: str
    file: str = ""
    element: str | None = None
    path: str = "$"

    @property
    def cause(self) -> str:
        """The short name of the ValidationID (``idReference``, ``badType``, …)."""
        return self.validation_id.removeprefix(_PREFIX)

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        elem = f"{self.element}: " if self.element else ""
        return f"{where}{self.path}: {elem}{self.message} [{self.cause}]"

    def problem(self) -> Problem:
        path = self.path if not self.element else f"{self.path} ({self.element})"
        return Problem(f"{self.message} [{self.cause}]", Location(file=self.file or None, path=path))


class DtdlError(InputError):
    """DTDL input is invalid; ``errors`` lists every :class:`ParsingError` found."""

    title = "Invalid DTDL"

    def __init__(self, errors: list[ParsingError]) -> None:
        self.errors = list(errors)
        first = str(errors[0]) if errors else "invalid DTDL"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more, details=[e.problem() for e in errors])

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors) or self.message


@dataclass
class Element:
    """One DTDL element: its id, class (``Interface``, ``Telemetry``, …), co-types and properties.

    ``properties`` holds literal values as given (strings, numbers, language maps as
    ``{lang: text}``) and references to other elements as their ids (a string, or a list of
    ids for plural properties). ``contents`` of an Interface are its *own* contents;
    :attr:`ModelSet.contents` adds the inherited ones.
    """

    id: str
    cls: str
    cotypes: tuple[str, ...] = ()
    properties: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None
    file: str = ""
    path: str = "$"
    version: int = 3
    #: Undefined co-types and properties kept as given (extensions the parser does not know).
    extra: dict[str, Any] = field(default_factory=dict)
    #: The ``@context`` of a top-level element, as given; whether ``@id`` was given (not generated).
    context: Any = None
    explicit_id: bool = True
    #: Defined (in part) by a layer (see ``_layers``).
    layered: bool = False

    @property
    def name(self) -> str | None:
        v = self.properties.get("name")
        return v if isinstance(v, str) else None


@dataclass
class ModelSet:
    """Every element of a set of parsed DTDL documents, by id, with the top-level interfaces."""

    elements: dict[str, Element] = field(default_factory=dict)
    roots: list[str] = field(default_factory=list)

    def __getitem__(self, dtmi: str) -> Element:
        return self.elements[dtmi]

    def __contains__(self, dtmi: object) -> bool:
        return dtmi in self.elements

    def __len__(self) -> int:
        return len(self.elements)

    def interfaces(self) -> list[Element]:
        """Every Interface, top-level and nested, in parse order."""
        return [e for e in self.elements.values() if e.cls == "Interface"]

    def ancestors(self, dtmi: str) -> list[str]:
        """Every interface ``dtmi`` extends, transitively, nearest first, each once."""
        out: list[str] = []
        todo = list(self.elements[dtmi].properties.get("extends", []))
        while todo:
            i = todo.pop(0)
            if i in out or i not in self.elements:
                continue
            out.append(i)
            todo.extend(self.elements[i].properties.get("extends", []))
        return out

    def contents(self, dtmi: str) -> dict[str, Element]:
        """An interface's contents by name, inherited ones included (the resolved view)."""
        out: dict[str, Element] = {}
        for i in [dtmi, *self.ancestors(dtmi)]:
            for c in self.elements[i].properties.get("contents", []):
                el = self.elements[c]
                if el.name is not None:
                    out.setdefault(el.name, el)
        return out

    def as_dict(self) -> Mapping[str, Any]:
        """A plain, comparable view: ``{id: (class, cotypes, properties)}``."""
        return {k: (e.cls, tuple(sorted(e.cotypes)), e.properties) for k, e in self.elements.items()}
