"""References between elements: recorded while parsing, checked once every document is in."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._model import ModelSet

__all__ = ["Ref", "State", "reference_problems", "unresolved"]


@dataclass
class Ref:
    """A reference to an element by id, checked once every document is parsed."""

    source: str
    prop: str
    target: str
    classes: tuple[str, ...]
    file: str
    path: str
    partition: str | None


@dataclass
class State:
    """What the parser has built so far: the elements, the references to check, each id's interface."""

    models: ModelSet = field(default_factory=ModelSet)
    refs: list[Ref] = field(default_factory=list)
    partition_of: dict[str, str] = field(default_factory=dict)


def unresolved(st: State) -> list[str]:
    """Ids referenced but defined by no document parsed so far."""
    defined = st.models.elements
    return sorted({r.target for r in st.refs if r.target not in defined})


def reference_problems(st: State) -> list[tuple[str, str, Ref]]:
    """Problems of references once every document is in: wrong class, newer version, across partitions."""
    out: list[tuple[str, str, Ref]] = []
    ms = st.models
    for r in st.refs:
        target = ms.elements.get(r.target)
        if target is None:
            continue
        source = ms.elements.get(r.source)
        if target.cls == "Interface" and source is not None and source.version < target.version:
            out.append(("disallowedVersionReference", f"DTDL v{source.version} {r.source} references DTDL "
                     f"v{target.version} {r.target}", r))
            continue
        if target.cls not in r.classes:
            if r.classes == ("Interface",):
                out.append(("idReference", f"{r.prop!r} references {r.target}, a {target.cls}", r))
            else:
                out.append(("badType", f"{r.prop!r} references {r.target}, a {target.cls}", r))
            continue
        if (
            target.parent is not None
            and target.cls != "Interface"
            and r.partition is not None
            and st.partition_of.get(r.target) not in (None, r.partition)
        ):
            out.append(("crossPartitionReference", f"{r.target} is defined inside another interface", r))
    return out
