"""Write a laid-out plant as glTF 2.0: a binary ``.glb`` or a self-contained ``.gltf``.

The file holds one unit mesh per shape (shared by every object of that shape and type),
a node per object whose TRS places and sizes it, a node per container with its floor
zone, and the ``feeds`` belts. Node names are twin ids; ``extras`` carry the twin id,
name, type and parent, so a tool reading the file (Blender keeps extras as custom
properties) can map nodes back to twins. The node tree mirrors the plant's
containment: containers hold their zone, their objects and their child containers.

Reference: the glTF 2.0 specification (Khronos), sections 3.6 (binary data), 3.5
(nodes and TRS) and 4.4 (GLB).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import struct
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from .. import __version__
from ..errors import ModelError
from .layout import BELT_TOP, BELT_WIDTH, Scene
from .models import read_model
from .shapes import SHAPES, Mesh, quad, unit_mesh

__all__ = ["scene_gltf", "to_glb", "to_gltf", "type_color"]

log = logging.getLogger("twinverse.scene")

_ARRAY_BUFFER = 34962
_ELEMENT_ARRAY_BUFFER = 34963
_FLOAT = 5126
_UNSIGNED_SHORT = 5123
_GLB_MAGIC = 0x46546C67  # "glTF"
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942
#: Margin of the floor around everything (m).
FLOOR_MARGIN = 5.0
BELT_THICKNESS = 0.1
BELT_COLOR = (0.05, 0.05, 0.06)


def type_color(name: str) -> tuple[float, float, float]:
    """A stable, muted linear-RGB colour for a type name (the same in every export)."""
    h = int.from_bytes(hashlib.sha256(name.encode()).digest()[:2], "big") / 65536.0
    # HSV with low saturation: types stay apart without competing with the state colours.
    s, v = 0.35, 0.75
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return (round(rgb[0] ** 2.2, 4), round(rgb[1] ** 2.2, 4), round(rgb[2] ** 2.2, 4))


class _Writer:
    """Accumulates the binary buffer, buffer views and accessors of one file."""

    def __init__(self) -> None:
        self.bin = bytearray()
        self.views: list[dict[str, Any]] = []
        self.accessors: list[dict[str, Any]] = []

    def _view(self, data: bytes, target: int) -> int:
        while len(self.bin) % 4:
            self.bin.append(0)
        self.views.append({"buffer": 0, "byteOffset": len(self.bin), "byteLength": len(data), "target": target})
        self.bin.extend(data)
        return len(self.views) - 1

    def vec3(self, arr: npt.NDArray[np.float32], *, bounds: bool) -> int:
        a = np.ascontiguousarray(arr, dtype="<f4")
        acc: dict[str, Any] = {
            "bufferView": self._view(a.tobytes(), _ARRAY_BUFFER),
            "componentType": _FLOAT,
            "count": len(a),
            "type": "VEC3",
        }
        if bounds:  # required for POSITION; exact float32 values so validators agree
            acc["min"] = [float(v) for v in a.min(axis=0)]
            acc["max"] = [float(v) for v in a.max(axis=0)]
        self.accessors.append(acc)
        return len(self.accessors) - 1

    def indices(self, arr: npt.NDArray[np.uint16]) -> int:
        a = np.ascontiguousarray(arr, dtype="<u2")
        self.accessors.append(
            {
                "bufferView": self._view(a.tobytes(), _ELEMENT_ARRAY_BUFFER),
                "componentType": _UNSIGNED_SHORT,
                "count": len(a),
                "type": "SCALAR",
            }
        )
        return len(self.accessors) - 1

    def mesh(self, mesh: Mesh) -> dict[str, Any]:
        """A primitive (without material) whose accessors hold ``mesh``."""
        return {
            "attributes": {
                "POSITION": self.vec3(mesh.positions, bounds=True),
                "NORMAL": self.vec3(mesh.normals, bounds=False),
            },
            "indices": self.indices(mesh.indices),
            "mode": 4,
        }


def _material(name: str, rgb: tuple[float, float, float], roughness: float = 0.8) -> dict[str, Any]:
    return {
        "name": name,
        "pbrMetallicRoughness": {"baseColorFactor": [*rgb, 1.0], "metallicFactor": 0.0, "roughnessFactor": roughness},
    }


def _yaw(angle: float) -> list[float]:
    """Unit quaternion ``[x, y, z, w]`` of a rotation by ``angle`` radians about +y."""
    return [0.0, math.sin(0.5 * angle), 0.0, math.cos(0.5 * angle)]


def _r(v: float) -> float:
    return round(float(v), 4)


def scene_gltf(scene: Scene) -> tuple[dict[str, Any], bytes]:
    """The glTF JSON document and its binary buffer for ``scene``."""
    w = _Writer()
    materials: list[dict[str, Any]] = []
    meshes: list[dict[str, Any]] = []
    prim_of_shape: dict[int, dict[str, Any]] = {}
    mesh_of: dict[tuple[int, str], int] = {}

    def material(name: str, rgb: tuple[float, float, float]) -> int:
        materials.append(_material(name, rgb))
        return len(materials) - 1

    def mesh_for(shape: int, type_name: str, rgb: tuple[float, float, float] | None = None) -> int:
        key = (shape, type_name)
        if key not in mesh_of:
            if shape not in prim_of_shape:
                prim_of_shape[shape] = w.mesh(unit_mesh(SHAPES[shape]))
            mat = material(f"type:{type_name}", rgb or type_color(type_name))
            prim = {**prim_of_shape[shape], "material": mat}
            meshes.append({"name": f"{SHAPES[shape]}:{type_name}", "primitives": [prim]})
            mesh_of[key] = len(meshes) - 1
        return mesh_of[key]

    model_mesh: dict[str, int | None] = {}

    def model_for(type_name: str) -> int | None:
        """The mesh of a type's glTF model (its primitives and colours), None if it cannot be read."""
        if type_name not in model_mesh:
            try:
                parts = read_model(scene.models[type_name].path)
            except ModelError as exc:
                log.warning("type %s: %s; exported with its shape", type_name, exc)
                model_mesh[type_name] = None
                return None
            prims = [{**w.mesh(p.mesh), "material": material(f"model:{type_name}:{p.name}", p.color)} for p in parts]
            meshes.append({"name": f"model:{type_name}", "primitives": prims,
                           "extras": {"model": scene.models[type_name].path.name}})  # fmt: skip
            model_mesh[type_name] = len(meshes) - 1
        return model_mesh[type_name]

    nodes: list[dict[str, Any]] = []

    def node(spec: dict[str, Any]) -> int:
        nodes.append(spec)
        return len(nodes) - 1

    # Floor and zones share one quad.
    quad_prim = w.mesh(quad())
    floor_mat = material("floor", (0.32, 0.33, 0.35))
    meshes.append({"name": "floor", "primitives": [{**quad_prim, "material": floor_mat}]})
    floor_mesh = len(meshes) - 1
    zone_mesh: dict[int, int] = {}

    def zone_mesh_for(depth: int) -> int:
        if depth not in zone_mesh:
            g = max(0.18, 0.42 - 0.07 * depth)
            mat = material(f"zone:{depth}", (g, g * 1.03, g * 1.08))
            meshes.append({"name": f"zone:{depth}", "primitives": [{**quad_prim, "material": mat}]})
            zone_mesh[depth] = len(meshes) - 1
        return zone_mesh[depth]

    x0, z0, x1, z1 = scene.bounds
    children_of: dict[int | None, list[int]] = {}
    root = node({"name": scene.plant_id, "extras": {"plant": scene.plant_id, "name": scene.plant_name}})
    children_of[None] = [
        node(
            {
                "name": "floor",
                "mesh": floor_mesh,
                "translation": [_r(0.5 * (x0 + x1)), 0.0, _r(0.5 * (z0 + z1))],
                "scale": [_r(x1 - x0 + 2 * FLOOR_MARGIN), 1.0, _r(z1 - z0 + 2 * FLOOR_MARGIN)],
            }
        )
    ]
    container_node: dict[str, int] = {}
    for zn in scene.zones:
        zx0, zz0, zx1, zz1 = zn.rect
        zone_node = node(
            {
                "name": f"{zn.id}#zone",
                "mesh": zone_mesh_for(zn.depth),
                # Zones nest: each level a few millimetres higher so none z-fights its parent.
                "translation": [_r(0.5 * (zx0 + zx1)), _r(0.004 * (zn.depth + 1)), _r(0.5 * (zz0 + zz1))],
                "scale": [_r(zx1 - zx0), 1.0, _r(zz1 - zz0)],
                "extras": {"twin": zn.id, "role": "zone"},
            }
        )
        n = node(
            {
                "name": zn.id,
                "extras": {"twin": zn.id, "name": zn.name, "type": zn.type, "parent": zn.parent, "role": "container"},
            }
        )
        container_node[zn.id] = n
        children_of[n] = [zone_node]
    # Containers under their parent container (or the root); zones come parents first.
    for zn in scene.zones:
        parent = container_node.get(zn.parent) if zn.parent is not None else None
        children_of.setdefault(parent, []).append(container_node[zn.id])

    pos = np.round(scene.position, 4).tolist()
    size = np.round(scene.size, 4).tolist()
    for i, twin in enumerate(scene.ids):
        model = scene.models.get(scene.types[i])
        model_id = model_for(scene.types[i]) if model is not None else None
        spec: dict[str, Any] = {
            "name": twin,
            "mesh": model_id if model_id is not None else mesh_for(int(scene.shape[i]), scene.types[i]),
            "translation": pos[i],
            "scale": size[i],
            "extras": {
                "twin": twin,
                "name": scene.names[i],
                "type": scene.types[i],
                "parent": scene.parents[i],
                "role": "machine" if scene.machine[i] else "equipment",
            },
        }
        if scene.rotation[i] != 0.0:
            spec["rotation"] = _yaw(float(scene.rotation[i]))
        if model is not None and model_id is not None:
            # The model at the twin's place, in its own size (times its scale), turned by its rotation too.
            spec["scale"] = [model.scale] * 3
            turn = float(scene.rotation[i]) + math.radians(model.rotation)
            spec.pop("rotation", None)
            if turn != 0.0:
                spec["rotation"] = _yaw(turn)
        g = scene.groups[i]
        children_of.setdefault(container_node[g] if g is not None else None, []).append(node(spec))

    if scene.links:
        belt_mesh = mesh_for(SHAPES.index("box"), "belt", BELT_COLOR)
        link_nodes = []
        for link in scene.links:
            for (ax, az), (bx, bz) in zip(link.points, link.points[1:], strict=False):
                length = math.hypot(bx - ax, bz - az)
                link_nodes.append(
                    node(
                        {
                            "name": f"{link.source}->{link.target}",
                            "mesh": belt_mesh,
                            "translation": [_r(0.5 * (ax + bx)), _r(BELT_TOP - BELT_THICKNESS), _r(0.5 * (az + bz))],
                            "rotation": _yaw(math.atan2(-(bz - az), bx - ax)),
                            "scale": [_r(length), BELT_THICKNESS, BELT_WIDTH],
                            "extras": {"feeds": [link.source, link.target], "role": "link"},
                        }
                    )
                )
        children_of[None].append(node({"name": "feeds", "children": link_nodes, "extras": {"role": "links"}}))

    for parent, kids in children_of.items():
        target = root if parent is None else parent
        if kids:
            nodes[target]["children"] = kids
    doc: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": f"twinverse {__version__}"},
        "scene": 0,
        "scenes": [{"name": scene.plant_name, "nodes": [root], "extras": {"plant": scene.plant_id}}],
        "nodes": nodes,
        "meshes": meshes,
        "materials": materials,
        "accessors": w.accessors,
        "bufferViews": w.views,
        "buffers": [{"byteLength": len(w.bin)}],
    }
    return doc, bytes(w.bin)


def to_glb(scene: Scene) -> bytes:
    """``scene`` as a binary glTF (GLB) file: header, JSON chunk, BIN chunk."""
    doc, binary = scene_gltf(scene)
    js = orjson.dumps(doc)
    js += b" " * (-len(js) % 4)
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(js) + 8 + len(binary)
    return b"".join(
        [
            struct.pack("<III", _GLB_MAGIC, 2, total),
            struct.pack("<II", len(js), _CHUNK_JSON),
            js,
            struct.pack("<II", len(binary), _CHUNK_BIN),
            binary,
        ]
    )


def to_gltf(scene: Scene) -> bytes:
    """``scene`` as one ``.gltf`` JSON file with its buffer embedded as a data URI."""
    doc, binary = scene_gltf(scene)
    doc["buffers"][0]["uri"] = "data:application/octet-stream;base64," + base64.b64encode(binary).decode()
    return orjson.dumps(doc)
