"""Lay a plant out on the floor: objects, zones and conveyor links from the model.

Every twin whose type is not a container (site, area, line, …) becomes one *object*: a
shape chosen by its type, sized by the type's ``size`` or the shape's default. Twins with
a ``position`` in the YAML stand where it says (absolute metres; ``rotation`` in degrees
about the vertical axis). The others are laid out automatically, per container:

* the container's own objects follow the ``feeds`` graph **left to right** (+x): an
  object's column is the longest feeds path leading to it, so a line reads in order;
* objects in the same column — **branches** — stand side by side across the flow (+z),
  ordered by where their feeders stand, which keeps crossings few;
* objects with no feeds edge inside the container stand in a grid below the flow;
* child containers (lines of an area, areas of a site) follow as **rows** below, and every
  container gets a floor zone around what it holds.

Cycles (rework loops) are broken at the edge that closes them, in model order, so a
loop's return edge runs right to left. The layout is deterministic: the same model gives
the same scene.

Coordinates are glTF's: metres, y up, right-handed; the flow runs along +x and rows
advance along +z.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import numpy as np
import numpy.typing as npt
import orjson

from ..errors import Location, ModelLoadError, NotFoundError, Problem
from ..model import Plant
from .models import SceneModel, scene_models
from .shapes import DEFAULT_SIZES, SHAPES

__all__ = ["Link", "Scene", "Zone", "build_scene", "scene_dict"]

#: Clear space between columns of a flow (m): room for the belt that joins them.
GAP_X = 1.0
#: Clear space between branches standing side by side (m).
GAP_Z = 1.5
#: Space between rows (child containers) and between a flow and its grid (m).
ROW_GAP = 3.0
#: Margin of a zone around what it holds (m).
PAD = 1.0
#: Size of an empty container's zone (m).
EMPTY_ZONE = 4.0
#: Height of the top of a link belt (m) and its width (m).
BELT_TOP = 0.9
BELT_WIDTH = 0.5
#: Default shape and size of objects whose type reports no state and names no shape.
EQUIPMENT_SIZE = (1.5, 1.5, 1.5)


@dataclass(frozen=True)
class Zone:
    """A container's floor area: ``rect`` is ``(x0, z0, x1, z1)`` in metres."""

    id: str
    name: str
    type: str
    parent: str | None
    depth: int
    rect: tuple[float, float, float, float]


@dataclass(frozen=True)
class Link:
    """A ``feeds`` edge drawn as a belt: a polyline of ``(x, z)`` points at belt height."""

    source: str
    target: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Scene:
    """A laid-out plant, column-wise: one row per object (non-container twin).

    ``position`` is the centre of the object's footprint at its base ``(x, y, z)``;
    ``size`` is ``(w, h, d)`` before rotation; ``rotation`` is radians about +y;
    ``shape`` indexes :data:`~twinverse.scene.shapes.SHAPES`; ``machine`` is true for
    twins that report a state (what the viewer colours).
    """

    plant_id: str
    plant_name: str
    ids: tuple[str, ...]
    names: tuple[str, ...]
    types: tuple[str, ...]
    parents: tuple[str | None, ...]
    groups: tuple[str | None, ...]
    shape: npt.NDArray[np.int8]
    machine: npt.NDArray[np.bool_]
    position: npt.NDArray[np.float64]
    size: npt.NDArray[np.float64]
    rotation: npt.NDArray[np.float64]
    zones: tuple[Zone, ...]
    links: tuple[Link, ...]
    bounds: tuple[float, float, float, float]
    #: The glTF model files of the types that name one (type → model), drawn instead of their shape.
    models: dict[str, SceneModel] = field(default_factory=dict)
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, twin_id: str) -> int:
        """Row of an object; :class:`NotFoundError` if the twin is not an object of the scene."""
        if not self._index:
            self._index.update({t: i for i, t in enumerate(self.ids)})
        try:
            return self._index[twin_id]
        except KeyError:
            raise NotFoundError(f"twin {twin_id!r} is not an object of the scene of {self.plant_id!r}") from None

    def footprint(self) -> npt.NDArray[np.float64]:
        """Axis-aligned footprints ``(x0, z0, x1, z1)`` per object, rotation included."""
        c, s = np.abs(np.cos(self.rotation)), np.abs(np.sin(self.rotation))
        hx = 0.5 * (self.size[:, 0] * c + self.size[:, 2] * s)
        hz = 0.5 * (self.size[:, 0] * s + self.size[:, 2] * c)
        x, z = self.position[:, 0], self.position[:, 2]
        return np.stack([x - hx, z - hz, x + hx, z + hz], axis=1)


# -- shapes and sizes of types ----------------------------------------------------------------
def _declaring_type(plant: Plant, type_name: str, key: str) -> str:
    """The type in the ``extends`` chain whose YAML declares ``key`` (for error locations)."""
    doc = plant.located_doc
    data = doc.data.get("types", {}) if doc is not None and isinstance(doc.data, dict) else {}
    t: str | None = type_name
    while t is not None and t in data:
        entry = data[t]
        if isinstance(entry, dict) and key in entry:
            return t
        t = entry.get("extends") if isinstance(entry, dict) else None
    return type_name


def _problem(plant: Plant, type_name: str, key: str, message: str) -> Problem:
    owner = _declaring_type(plant, type_name, key)
    path = ("types", owner, key)
    if plant.located_doc is not None:
        return plant.located_doc.problem(path, message)  # type: ignore[no-any-return]
    return Problem(message, Location(plant.source, None, f"types.{owner}.{key}"))


def _type_geometry(plant: Plant, used: set[str]) -> dict[str, tuple[int, tuple[float, float, float]]]:
    """Shape index and size per used type; every bad shape or size is reported at once."""
    out: dict[str, tuple[int, tuple[float, float, float]]] = {}
    problems: list[Problem] = []
    for name in sorted(used):
        ty = plant.types[name]
        machine = ty.state_signal() is not None
        shape = ty.shape or "box"
        if shape not in SHAPES:
            msg = f"unknown shape {shape!r} (known shapes: {', '.join(SHAPES)})"
            problems.append(_problem(plant, name, "shape", msg))
            continue
        if ty.size is not None:
            size = tuple(float(v) for v in ty.size)
            if not all(math.isfinite(v) and v > 0 for v in size):
                msg = f"size must be three positive lengths [w, h, d] in metres, got {list(ty.size)}"
                problems.append(_problem(plant, name, "size", msg))
                continue
        elif ty.shape is None and not machine:
            size = EQUIPMENT_SIZE
        else:
            size = DEFAULT_SIZES[shape]
        out[name] = (SHAPES.index(shape), (size[0], size[1], size[2]))
    if problems:
        raise ModelLoadError(problems)
    return out


# -- flow layout of one container's own objects -----------------------------------------------
def _acyclic(nodes: Sequence[int], succ: dict[int, list[int]]) -> dict[int, list[int]]:
    """``succ`` without the edges that close a cycle (iterative DFS in model order)."""
    state: dict[int, int] = {}  # 1 on the stack, 2 done
    kept: dict[int, list[int]] = defaultdict(list)
    for root in nodes:
        if root in state:
            continue
        state[root] = 1
        stack: list[tuple[int, int]] = [(root, 0)]
        while stack:
            node, i = stack[-1]
            out = succ.get(node, [])
            if i < len(out):
                stack[-1] = (node, i + 1)
                nxt = out[i]
                st = state.get(nxt)
                if st == 1:
                    continue  # back edge: drop it
                kept[node].append(nxt)
                if st is None:
                    state[nxt] = 1
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                stack.pop()
    return kept


class _Layout:
    """Mutable working state of :func:`build_scene`."""

    def __init__(self, plant: Plant) -> None:
        self.plant = plant
        types = plant.types
        self.containers = [t for t, tw in plant.twins.items() if types[tw.type].container]
        cset = set(self.containers)
        self.objects = [t for t in plant.twins if t not in cset]
        self.row = {t: i for i, t in enumerate(self.objects)}
        n = len(self.objects)
        self.geometry = _type_geometry(plant, {plant.twins[t].type for t in self.objects})
        geo = [self.geometry[plant.twins[t].type] for t in self.objects]
        self.shape = np.array([g[0] for g in geo], dtype=np.int8).reshape(n)
        self.size = np.array([g[1] for g in geo], dtype=np.float64).reshape(n, 3)
        self.position = np.zeros((n, 3))
        self.rotation = np.zeros(n)
        self.fixed = np.zeros(n, dtype=bool)
        for i, t in enumerate(self.objects):
            p = plant.twins[t].placement
            if p is not None:
                self.fixed[i] = True
                self.position[i] = (p.x, p.y, p.z)
                self.rotation[i] = math.radians(p.rotation)
        # Group of an object: its nearest container ancestor.
        self.group: list[str | None] = []
        self.own: dict[str | None, list[int]] = defaultdict(list)
        for i, t in enumerate(self.objects):
            g = plant.twins[t].parent
            while g is not None and g not in cset:
                g = plant.twins[g].parent
            self.group.append(g)
            self.own[g].append(i)
        self.sub: dict[str | None, list[str]] = defaultdict(list)
        for c in self.containers:
            g = plant.twins[c].parent
            while g is not None and g not in cset:
                g = plant.twins[g].parent
            self.sub[g].append(c)
        self.succ: dict[int, list[int]] = defaultdict(list)
        self.pred: dict[int, list[int]] = defaultdict(list)
        self.feeds: list[tuple[int, int]] = []
        for r in plant.relationships:
            if r.name == "feeds" and r.source in self.row and r.target in self.row:
                a, b = self.row[r.source], self.row[r.target]
                self.feeds.append((a, b))
                if self.group[a] == self.group[b]:
                    self.succ[a].append(b)
                    self.pred[b].append(a)
        self.zones: list[Zone] = []

    # A flow block: columns by longest path, branches across, loose objects in a grid.
    def flow(self, members: list[int], x0: float, z0: float) -> tuple[float, float]:
        """Place ``members`` from ``(x0, z0)``; returns the far corner ``(x1, z1)`` used."""
        mset = set(members)
        succ = {m: [s for s in self.succ.get(m, []) if s in mset] for m in members}
        linked = {m for m in members if succ[m]} | {s for m in members for s in succ[m]}
        kept = _acyclic(members, succ)
        indeg = {m: 0 for m in members}
        for m in members:
            for s in kept.get(m, []):
                indeg[s] += 1
        rank = {m: 0 for m in members}
        queue = deque(m for m in members if indeg[m] == 0)
        while queue:
            m = queue.popleft()
            for s in kept.get(m, []):
                rank[s] = max(rank[s], rank[m] + 1)
                indeg[s] -= 1
                if indeg[s] == 0:
                    queue.append(s)
        columns: dict[int, list[int]] = defaultdict(list)
        for m in members:
            if m in linked:
                columns[rank[m]].append(m)
        x1, z1 = x0, z0
        if columns:
            # Order each column by the mean slot of its feeders (barycentre), then model order.
            slot: dict[int, float] = {}
            for r in sorted(columns):
                col = columns[r]
                def key(m: int, r: int = r) -> tuple[float, int]:
                    fed = [slot[p] for p in self.pred.get(m, []) if p in slot and rank[p] < r]
                    return (sum(fed) / len(fed) if fed else math.inf, m)
                col.sort(key=key)
                for k, m in enumerate(col):
                    slot[m] = k - 0.5 * (len(col) - 1)
            depth = {r: float(self.size[c, 2].sum()) + GAP_Z * (len(c) - 1) for r, c in columns.items()}
            block = max(depth.values())
            x = x0
            for r in sorted(columns):
                col = columns[r]
                width = float(self.size[col, 0].max())
                z = z0 + 0.5 * (block - depth[r])
                for m in col:
                    d = float(self.size[m, 2])
                    self.position[m] = (x + 0.5 * width, 0.0, z + 0.5 * d)
                    z += d + GAP_Z
                x += width + GAP_X
            x1, z1 = x - GAP_X, z0 + block
        loose = [m for m in members if m not in linked]
        if loose:
            gz = z1 + ROW_GAP if columns else z0
            ncol = max(1, math.ceil(math.sqrt(len(loose))))
            cw = float(self.size[loose, 0].max()) + GAP_Z
            cd = float(self.size[loose, 2].max()) + GAP_Z
            for k, m in enumerate(loose):
                cx, cz = k % ncol, k // ncol
                self.position[m] = (x0 + cx * cw + 0.5 * cw - 0.5 * GAP_Z, 0.0, gz + cz * cd + 0.5 * cd - 0.5 * GAP_Z)
            nrow = math.ceil(len(loose) / ncol)
            x1 = max(x1, x0 + min(ncol, len(loose)) * cw - GAP_Z)
            z1 = gz + nrow * cd - GAP_Z
        return x1, z1

    def container(self, cid: str | None, x0: float, z0: float, depth: int) -> tuple[float, float, float, float]:
        """Lay out a container (its flow, then child containers in rows); returns its rect."""
        pad = PAD if cid is not None else 0.0
        own = [m for m in self.own.get(cid, []) if not self.fixed[m]]
        x1, z = x0 + pad, z0 + pad
        if own:
            fx, fz = self.flow(own, x0 + pad, z0 + pad)
            x1, z = fx, fz + ROW_GAP
        for child in self.sub.get(cid, []):
            rect = self.container(child, x0 + pad, z, depth + 1)
            x1 = max(x1, rect[2])
            z = rect[3] + ROW_GAP
        z1 = z - ROW_GAP if (own or self.sub.get(cid)) else z0 + pad
        fixed = [m for m in self.own.get(cid, []) if self.fixed[m]]
        rect = (x0, z0, x1 + pad, z1 + pad)
        if not own and not self.sub.get(cid) and not fixed:
            rect = (x0, z0, x0 + EMPTY_ZONE, z0 + EMPTY_ZONE)
        if fixed:
            fp = self._footprint(np.array(fixed))
            rect = (min(rect[0], float(fp[:, 0].min()) - pad), min(rect[1], float(fp[:, 1].min()) - pad),
                    max(rect[2], float(fp[:, 2].max()) + pad), max(rect[3], float(fp[:, 3].max()) + pad))
        if cid is not None:
            tw = self.plant.twins[cid]
            self.zones.append(Zone(cid, tw.name, tw.type, tw.parent, depth, rect))
        return rect

    def _footprint(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        c, s = np.abs(np.cos(self.rotation[rows])), np.abs(np.sin(self.rotation[rows]))
        hx = 0.5 * (self.size[rows, 0] * c + self.size[rows, 2] * s)
        hz = 0.5 * (self.size[rows, 0] * s + self.size[rows, 2] * c)
        x, z = self.position[rows, 0], self.position[rows, 2]
        return np.stack([x - hx, z - hz, x + hx, z + hz], axis=1)

    def port(self, m: int, sign: float) -> tuple[float, float]:
        """Where a belt leaves (``sign`` +1) or enters (-1) an object, on its flow axis."""
        half = 0.5 * float(self.size[m, 0]) * sign
        a = float(self.rotation[m])
        # A rotation by +a about +y turns +x towards -z.
        return float(self.position[m, 0]) + half * math.cos(a), float(self.position[m, 2]) - half * math.sin(a)

    def links(self) -> list[Link]:
        out = []
        for a, b in self.feeds:
            xs, zs = self.port(a, 1.0)
            xt, zt = self.port(b, -1.0)
            if abs(zs - zt) < 1e-9 or abs(xs - xt) < 1e-9:
                pts = [(xs, zs), (xt, zt)]
            else:
                xm = 0.5 * (xs + xt)
                pts = [(xs, zs), (xm, zs), (xm, zt), (xt, zt)]
            clean = [pts[0]] + [p for q, p in itertools.pairwise(pts) if math.dist(p, q) > 1e-9]
            out.append(Link(self.objects[a], self.objects[b], tuple(clean)))
        return out


def build_scene(plant: Plant) -> Scene:
    """Lay out ``plant``; :class:`ModelLoadError` names every type with a bad shape or size."""
    lay = _Layout(plant)
    roots = [c for c in lay.sub.get(None, [])]
    z = 0.0
    x1 = 0.0
    loose_roots = [m for m in lay.own.get(None, []) if not lay.fixed[m]]
    if loose_roots:
        fx, fz = lay.flow(loose_roots, 0.0, 0.0)
        x1, z = fx, fz + ROW_GAP
    for r in roots:
        rect = lay.container(r, 0.0, z, 0)
        x1 = max(x1, rect[2])
        z = rect[3] + ROW_GAP
    rects = [zn.rect for zn in lay.zones]
    if len(lay.objects):
        fp = lay._footprint(np.arange(len(lay.objects)))
        rects += [(r[0], r[1], r[2], r[3]) for r in fp.tolist()]
    if rects:
        arr = np.array(rects, dtype=np.float64)
        bounds = (float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max()))
    else:
        bounds = (0.0, 0.0, EMPTY_ZONE, EMPTY_ZONE)
    # Zones were appended children first; list them parents first (the order a tree reads).
    order = {c: i for i, c in enumerate(lay.containers)}
    zones = tuple(sorted(lay.zones, key=lambda zn: order[zn.id]))
    twins = plant.twins
    machines = set(plant.machines())
    return Scene(
        plant_id=plant.id,
        plant_name=plant.name,
        ids=tuple(lay.objects),
        names=tuple(twins[t].name for t in lay.objects),
        types=tuple(twins[t].type for t in lay.objects),
        parents=tuple(twins[t].parent for t in lay.objects),
        groups=tuple(lay.group),
        shape=lay.shape,
        machine=np.array([t in machines for t in lay.objects], dtype=bool).reshape(len(lay.objects)),
        position=lay.position,
        size=lay.size,
        rotation=lay.rotation,
        zones=zones,
        links=tuple(lay.links()),
        bounds=bounds,
        models=scene_models(plant, [twins[t].type for t in lay.objects]),
    )


def scene_dict(scene: Scene) -> dict[str, Any]:
    """The layout as JSON-ready data, column-wise (what ``GET /api/scene`` answers).

    ``version`` is a digest of the layout: a viewer that reconnects compares it to know
    whether the plant it shows is still the one served.
    """
    n = len(scene)
    body: dict[str, Any] = {
        "plant": {"id": scene.plant_id, "name": scene.plant_name},
        "shapes": list(SHAPES),
        "bounds": [round(v, 4) for v in scene.bounds],
        "objects": {
            "count": n,
            "id": list(scene.ids),
            "name": list(scene.names),
            "type": list(scene.types),
            "parent": list(scene.parents),
            "group": list(scene.groups),
            "shape": scene.shape.tolist(),
            "machine": scene.machine.tolist(),
            "x": np.round(scene.position[:, 0], 4).tolist(),
            "y": np.round(scene.position[:, 1], 4).tolist(),
            "z": np.round(scene.position[:, 2], 4).tolist(),
            "w": np.round(scene.size[:, 0], 4).tolist(),
            "h": np.round(scene.size[:, 1], 4).tolist(),
            "d": np.round(scene.size[:, 2], 4).tolist(),
            "rotation": np.round(scene.rotation, 6).tolist(),
        },
        "zones": [
            {"id": z.id, "name": z.name, "type": z.type, "parent": z.parent, "depth": z.depth,
             "rect": [round(v, 4) for v in z.rect]}
            for z in scene.zones
        ],
        "links": {
            "source": [lk.source for lk in scene.links],
            "target": [lk.target for lk in scene.links],
            "points": [[round(c, 4) for p in lk.points for c in p] for lk in scene.links],
            "belt": {"top": BELT_TOP, "width": BELT_WIDTH},
        },
    }
    if scene.models:  # type → how the viewer fetches and places its model (GET /api/scene/models/{type})
        body["models"] = {
            t: {"url": f"/api/scene/models/{quote(t, safe='')}", "scale": m.scale, "rotation": m.rotation}
            for t, m in sorted(scene.models.items())
        }
    body["version"] = hashlib.sha256(orjson.dumps(body)).hexdigest()[:16]
    return body
