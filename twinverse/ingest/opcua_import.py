"""Import machines from an OPC UA address space: every object a browse-path pattern matches becomes a twin.

The way ThingsBoard's ``deviceNodePattern`` turns matching nodes into devices, but into the
plant model, which stays the truth: ``twinverse opcua import URL --pattern
"0:Objects/3:Machines/4:*" --type machine`` browses the server, and for every matching object

- makes a twin of type ``--type`` (id: its browse name, under ``--parent`` when given),
- gives it, as properties, the values of its ``Identification`` (OPC 10000-100 DI /
  OPC 40001-1 Machinery: Manufacturer, SerialNumber, Model, ProductInstanceUri,
  YearOfConstruction, …; LocalizedText as its text, times as ISO 8601),
- and maps every numeric or boolean variable below it (down to ``--depth`` levels, leaving out
  identification and add-in duplicates) to a signal of the type,

then prints ``types:``, ``twins:`` and a ``sources:`` entry whose ``patterns`` feed those twins
(docs/sources.md). Objects added to the server later that match the pattern but have no twin
are counted as ``unmatched`` in the source's health until the import is run again.
"""

from __future__ import annotations

import asyncio
import fnmatch
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

__all__ = ["Discovered", "discover", "import_yaml"]

_NUMERIC = {"Boolean", "SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64", "Float", "Double"}
#: Children that are not process values of the machine (identification, and add-in views of the same nodes).
_SKIP = {"Identification", "MachineryBuildingBlocks"}


@dataclass(frozen=True)
class Discovered:
    """One object the pattern matched: its browse name, NodeId, variables and identification."""

    name: str
    nodeid: str
    signals: tuple[tuple[str, tuple[str, ...], str], ...]  # (signal name, relative browse path, data type)
    properties: dict[str, Any] = field(default_factory=dict)


def _plain(value: Any) -> Any:
    """An identification value as YAML-friendly data (None when it has none)."""
    text = getattr(value, "Text", None)
    if text is not None or type(value).__name__ == "LocalizedText":
        return text
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool | int | float | str):
        return value
    return None if value is None else str(value)


def _signal_name(path: tuple[str, ...]) -> str:
    words = [e.split(":", 1)[1] for e in path]
    name = "_".join(words)
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_").lower() or "value"


async def _discover(url: str, pattern: tuple[str, ...], depth: int, timeout: float) -> list[Discovered]:
    from asyncua import ua
    from asyncua.client.client import Client

    async with Client(url, timeout=timeout) as client:
        parent = client.nodes.root
        parts = list(pattern[1:] if pattern[0] == "0:Root" else pattern)
        if len(parts) > 1:
            parent = await parent.get_child(parts[:-1])
        ns, _, glob = parts[-1].partition(":")
        out: list[Discovered] = []
        for obj in await parent.get_children():
            bname = await obj.read_browse_name()
            if str(bname.NamespaceIndex) != ns or not fnmatch.fnmatchcase(bname.Name, glob):
                continue
            if await obj.read_node_class() != ua.NodeClass.Object:
                continue
            props: dict[str, Any] = {}
            signals: list[tuple[str, tuple[str, ...], str]] = []
            await _walk(obj, (), 1, depth, props, signals, set())
            out.append(Discovered(bname.Name, obj.nodeid.to_string(), tuple(signals), props))
    return out


async def _walk(node: Any, rel: tuple[str, ...], level: int, depth: int, props: dict[str, Any],
                signals: list[tuple[str, tuple[str, ...], str]], seen: set[str]) -> None:  # fmt: skip
    from asyncua import ua

    for child in await node.get_children():
        b = await child.read_browse_name()
        element = f"{b.NamespaceIndex}:{b.Name}"
        cls = await child.read_node_class()
        key = child.nodeid.to_string()
        if key in seen:
            continue
        seen.add(key)
        if b.Name == "Identification" and not rel and cls == ua.NodeClass.Object:
            for var in await child.get_children():
                if await var.read_node_class() == ua.NodeClass.Variable:
                    value = _plain(await var.read_value())
                    if value is not None:
                        props[(await var.read_browse_name()).Name] = value
            continue
        if b.Name in _SKIP:
            continue
        if cls == ua.NodeClass.Variable:
            dt = (await child.read_data_type_as_variant_type()).name
            if dt in _NUMERIC:
                signals.append((_signal_name((*rel, element)), (*rel, element), dt))
        elif cls == ua.NodeClass.Object and level < depth:
            await _walk(child, (*rel, element), level + 1, depth, props, signals, seen)


def discover(url: str, pattern: tuple[str, ...], depth: int = 3, timeout: float = 5.0) -> list[Discovered]:
    """The objects under ``pattern``'s parent whose browse name matches its last element (a glob)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_discover(url, pattern, depth, timeout))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="opcua-import") as pool:
        return pool.submit(asyncio.run, _discover(url, pattern, depth, timeout)).result()


def _q(value: Any) -> str:
    if isinstance(value, bool | int | float):
        return repr(value).lower() if isinstance(value, bool) else repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _twin_id(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", name)


def import_yaml(url: str, pattern: tuple[str, ...], found: list[Discovered], *, type_name: str,
                parent: str | None = None, source: str = "opcua") -> str:  # fmt: skip
    """``types:``, ``twins:`` and ``sources:`` for the discovered objects, ready to merge into a plant."""
    signals: dict[str, tuple[tuple[str, ...], str]] = {}
    for d in found:
        for name, rel, dt in d.signals:
            signals.setdefault(name, (rel, dt))
    lines = ["types:", f"  {type_name}:", "    signals:"]
    for name, (_rel, dt) in signals.items():
        kind = "bool" if dt == "Boolean" else "float" if dt in ("Float", "Double") else "int"
        lines.append(f"      {name}: {{kind: {kind}}}")
    if not signals:
        lines[-1] = "    signals: {}"
    twins = [f"  - id: {_twin_id(d.name)}\n    type: {type_name}"
             + ("\n    properties: {" + ", ".join(f"{k}: {_q(v)}" for k, v in d.properties.items()) + "}"
                if d.properties else "") for d in found]  # fmt: skip
    if parent is not None:
        lines += ["twins:", f"  - id: {parent}", "    type: group", "    children:"]
        lines += ["  " + t.replace("\n", "\n  ") for t in twins]
    else:
        lines += ["twins:", *twins]
    template = f"{parent}/{{name}}" if parent else "{name}"
    lines += ["sources:", f"  {source}:", "    kind: opcua", f"    url: {url}", "    patterns:",
              f"      - path: {_q('/'.join(pattern))}", f"        twin: {_q(template)}", "        signals:"]
    lines += [f"          {name}: {_q('/'.join(rel))}" for name, (rel, _dt) in signals.items()]
    return "\n".join(lines) + "\n"
