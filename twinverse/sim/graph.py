"""Model-level parts of reading a simulation model: plant lines and whole-graph checks.

:func:`line_elements` turns a plant line (twins joined by ``feeds``) into stations and
buffers; :func:`check_graph` checks the assembled network as a whole. Both report through
the parser of :mod:`twinverse.sim.spec`, so problems still name file:line and field.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, Protocol

from ..errors import ModelLoadError, Problem
from ..model.yamlsource import PathKey
from .network import Network

__all__ = ["Parser", "check_graph", "line_elements"]


class Parser(Protocol):
    """What the graph checks need of the simulation-section parser (spec.py implements it).

    A protocol rather than an import of the parser keeps spec -> graph one-way.
    """

    root: PathKey
    plant: Any
    problems: list[Problem]
    twin_of: dict[str, str]

    def fail(self, path: PathKey, message: str) -> None:
        """Record a located problem."""

    def mapping(self, value: Any, path: PathKey, what: str) -> Mapping[str, Any]:
        """``value`` as a mapping (a problem recorded if it is not one)."""

    def sink_ids(self, v: Any, path: PathKey) -> dict[str, PathKey]:
        """The sink ids a section declares, with their paths."""


def line_elements(
    p: Parser, sim: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, PathKey]]:
    """Stations, buffers, sources and sinks of a plant line: its children joined by ``feeds``."""
    r = p.root
    plant = p.plant
    line = sim["line"]
    lp = (*r, "line")
    line_id = next((c for c in (line, f"{plant.id}/{line}") if isinstance(line, str) and c in plant.twins), None)
    sdoc = dict(p.mapping(sim.get("stations"), (*r, "stations"), "stations"))
    bdoc = dict(p.mapping(sim.get("buffers"), (*r, "buffers"), "buffers"))
    srcdoc = dict(p.mapping(sim.get("sources"), (*r, "sources"), "sources"))
    sinks = p.sink_ids(sim.get("sinks"), (*r, "sinks"))
    if line_id is None:
        p.fail(lp, f"no twin {line!r} in plant {plant.id!r}")
        raise ModelLoadError(p.problems)
    members = [t for t in plant.children(line_id)
               if plant.related(t, "feeds") or plant.related(t, "feeds", reverse=True)]
    heads = [t for t in members if not any(u in members for u in plant.related(t, "feeds", reverse=True))]
    if len(heads) != 1:
        p.fail(lp, f"line {line!r} must have exactly one first twin in its flow, found {len(heads)}")
        raise ModelLoadError(p.problems)
    order = [heads[0]]
    while True:
        nxt = [t for t in plant.related(order[-1], "feeds") if t in members]
        if len(nxt) != 1 or nxt[0] in order:
            break
        order.append(nxt[0])
    local = {t: t.split("/")[-1] for t in order}
    for key, path in [(k, (*r, "stations", k)) for k in sdoc] + [(k, (*r, "buffers", k)) for k in bdoc]:
        if key not in local.values():
            p.fail(path, f"{key!r} is not a twin in the flow of line {line!r} ({', '.join(local.values())})")
    stations: dict[str, Any] = {}
    buffers: dict[str, Any] = {}
    for t in order:
        name = local[t]
        p.twin_of[name] = t
        is_buffer = name in bdoc or (name not in sdoc and "capacity" in plant.twins[t].properties)
        if is_buffer:
            buffers[name] = dict(bdoc.get(name) or {})
        else:
            stations[name] = dict(sdoc.get(name) or {})
    # Join consecutive elements: a station feeding a buffer feeds it; two adjacent
    # stations hand parts over directly.
    names = [local[t] for t in order]
    for a, b in itertools.pairwise(names):
        if a in stations and "to" not in stations[a] and "route" not in stations[a]:
            stations[a]["to"] = b
        if b in stations and a in buffers and "from" not in stations[b]:
            stations[b]["from"] = a
    last = names[-1]
    if last in buffers:
        p.fail(lp, f"line {line!r} must end with a station, not the buffer {last!r}")
    if not sinks:
        sinks = {"out": lp}
    if last in stations and "to" not in stations[last] and "route" not in stations[last]:
        stations[last]["to"] = next(iter(sinks))
    if not srcdoc:
        srcdoc = {"supply": {"saturated": True, "to": names[0]}}
    return stations, buffers, srcdoc, sinks

# -- whole-graph checks --------------------------------------------------------------------------


def check_graph(p: Parser, net: Network) -> None:
    """Whole-model checks: every buffer is fed and drained, every station can reach a sink."""
    consumers: dict[str, list[str]] = {b.id: [] for b in net.buffers}
    for s in net.stations:
        for b in s.inputs:
            consumers[b].append(s.id)
    feeders: dict[str, int] = {b.id: 0 for b in net.buffers}
    for s in net.stations:
        for t in (*s.route.targets, *( [s.rework_to] if s.rework_to else [])):
            if t in feeders:
                feeders[t] += 1
    for src in net.sources:
        for t in src.route.targets:
            if t in feeders:
                feeders[t] += 1
    r = p.root
    for buf in net.buffers:
        if not consumers[buf.id]:
            p.fail((*r, "buffers", buf.id), f"buffer {buf.id!r} feeds no station: parts would pile up forever")
        if feeders[buf.id] == 0 and buf.initial == 0:
            p.fail((*r, "buffers", buf.id), f"nothing feeds buffer {buf.id!r}")
    for src in net.sources:
        if src.saturated:
            tgt = src.route.targets[0]
            if tgt not in consumers:
                p.fail((*r, "sources", src.id, "to"), "a saturated source must feed a buffer or station")
            elif any(net.station(c).is_assembly for c in consumers[tgt]) and len(consumers[tgt]) > 1:
                p.fail((*r, "sources", src.id, "to"), "a saturated source must feed one station")
    sinks = {k.id for k in net.sinks}
    if not sinks:
        p.fail((*r, "sinks"), "a model needs at least one sink")
    # Every station must be able to reach a sink, else its parts can never leave.
    edges: dict[str, set[str]] = {}
    for s in net.stations:
        outs = set(s.route.targets) | ({s.rework_to} if s.rework_to else set())
        edges[s.id] = {c for t in outs for c in consumers.get(t, [])} | (outs & sinks)
    for s in net.stations:
        seen, stack = {s.id}, [s.id]
        reach = False
        while stack and not reach:
            for n in edges.get(stack.pop(), ()):
                if n in sinks:
                    reach = True
                    break
                if n not in seen:
                    seen.add(n)
                    stack.append(n)
        if not reach and s.scrap < 1:
            p.fail((*r, "stations", s.id), f"parts from station {s.id!r} can never reach a sink")
