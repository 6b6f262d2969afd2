"""Growing a plant model at run time: twins and signals a source discovered, as a new model text.

A source that learns of equipment the model lacks (a Sparkplug B birth naming a device and
metrics no twin has) describes it as a :class:`Growth`: the twin (its full id), its type, and
the signals the type must have. :func:`grow_text` writes a set of growths into the YAML text
of the running model, which the platform saves as a new model version (checked, numbered and
logged like any other): a new twin goes under its parent twin's ``children`` (or the plant's
``twins``), a new type into ``types``, new signals into their type's ``signals``. What is
already there is left as it is, so growing twice by the same births changes nothing.

The new text is the model re-written by PyYAML: the earlier versions keep the text as saved,
comments included; this one does not.

>>> text = "plant: p\\ntypes: {m: {signals: {a: {}}}}\\ntwins:\\n  - {id: hall, type: area}\\n"
>>> new, problems = grow_text(text, [Growth("p/hall/m9", "m", (NewSignal("b", "int", "kW"),))])
>>> problems, "b:" in new, "id: m9" in new
([], True, True)
>>> grow_text(new, [Growth("p/hall/m9", "m", (NewSignal("b", "int", "kW"),))])[0] == new
True
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["Growth", "NewSignal", "grow_text"]


@dataclass(frozen=True)
class NewSignal:
    """A signal to add to a type: name, kind (``float``, ``int``, ``bool``), unit and description."""

    name: str
    kind: str = "float"
    unit: str | None = None
    description: str = ""

    def doc(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.kind != "float":
            out["kind"] = self.kind
        if self.unit:
            out["unit"] = self.unit
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Growth:
    """A twin (full id, created if missing) of ``type`` (created if missing) with these ``signals`` on its type."""

    twin: str
    type: str
    signals: tuple[NewSignal, ...]
    origin: str = ""  # what asked for it, for the version's message (e.g. "sparkplug spb: G/E1/press")
    #: The asking source's own reference to what asked (Sparkplug: group and node), handed back to the
    #: sources of the new version (``regrown``) so that they can ask for the data again.
    key: tuple[str, ...] = ()


def _find(twins: list[Any], path: Sequence[str]) -> dict[str, Any] | str:
    """The twin document at ``path`` (local ids below the plant) in ``twins``, or why there is none."""
    level, doc = twins, None
    for i, local in enumerate(path):
        doc = next((t for t in level if isinstance(t, dict) and t.get("id") == local), None)
        if doc is None:
            return f"twin {'/'.join(path[: i + 1])!r} is not declared with an 'id' of its own in the model"
        children = doc.get("children", [])
        if not isinstance(children, list):
            return f"twin {'/'.join(path[: i + 1])!r} has 'children' that are not a list"
        level = children
    assert doc is not None
    return doc


def grow_text(text: str, growths: Sequence[Growth]) -> tuple[str, list[str]]:
    """``text`` with the twins, types and signals of ``growths``; and what could not be added, and why.

    Returns ``text`` itself when nothing was missing.
    """
    original = yaml.safe_load(text)
    if not isinstance(original, dict) or not isinstance(original.get("plant"), str):
        return text, ["the model text is not a plant document"]
    data = copy.deepcopy(original)
    plant = data["plant"]
    types = data.setdefault("types", {})
    twins = data.setdefault("twins", [])
    if not isinstance(types, dict) or not isinstance(twins, list):
        return text, ["the model's 'types' is not a mapping or its 'twins' not a list"]
    problems: list[str] = []
    for g in growths:
        if not g.twin.startswith(plant + "/"):
            problems.append(f"{g.origin}: twin {g.twin!r} is not in plant {plant!r}")
            continue
        *parents, local = g.twin.removeprefix(plant + "/").split("/")
        ty = types.get(g.type)
        if ty is None:
            ty = types[g.type] = {"description": f"created from {g.origin}" if g.origin else "created at run time"}
        if not isinstance(ty, dict):
            problems.append(f"{g.origin}: type {g.type!r} is not a mapping in the model")
            continue
        signals = ty.setdefault("signals", {})
        if not isinstance(signals, dict):
            problems.append(f"{g.origin}: type {g.type!r} has 'signals' that are not a mapping")
            continue
        for s in g.signals:
            signals.setdefault(s.name, s.doc())
        parent = _find(twins, parents) if parents else None
        if isinstance(parent, str):
            problems.append(f"{g.origin}: cannot add twin {g.twin!r}: {parent}")
            continue
        level = twins if parent is None else parent.get("children", [])
        existing = next((t for t in level if isinstance(t, dict) and t.get("id") == local), None)
        if existing is None:
            (twins if parent is None else parent.setdefault("children", [])).append({"id": local, "type": g.type})
        elif existing.get("type") != g.type:
            problems.append(f"{g.origin}: twin {g.twin!r} exists with type {existing.get('type')!r}, "
                            f"not {g.type!r}")  # fmt: skip
    if data == original:
        return text, problems
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120), problems
