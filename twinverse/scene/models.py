"""glTF models of twin types: where their files are, and reading and writing simple GLBs.

A type may name a model (``model: models/filler.glb``, see :class:`~twinverse.model.ModelRef`);
the viewer draws it, instanced, for every twin of the type, and the glTF export carries it.
:func:`scene_models` resolves the files of the types a scene uses (relative to the plant
file's folder); a file that is missing is left out, with a warning, and its twins keep their
parametric shape.

:func:`read_model` reads the subset of glTF 2.0 the export needs: a GLB (or a ``.gltf`` with
its buffer embedded) whose default scene's nodes hold triangle meshes with ``POSITION``,
``NORMAL`` and indices, and materials with a base colour; node transforms (TRS or matrix)
are applied. Anything else raises :class:`ModelError`, and the export then falls back to the
parametric shape. :func:`model_glb` writes such a file (the demo line's models are made with
it: ``examples/models/make_models.py``).
"""

from __future__ import annotations

import base64
import logging
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from ..errors import ModelError
from ..model import Plant
from .shapes import Mesh

__all__ = ["ModelPart", "SceneModel", "missing_models", "model_glb", "read_model", "scene_models"]

log = logging.getLogger("twinverse.scene")

_GLB_MAGIC = 0x46546C67
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942
_COMPONENTS = {5121: np.uint8, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_WIDTH = {"SCALAR": 1, "VEC3": 3}


@dataclass(frozen=True)
class SceneModel:
    """The model file of one type, as placed in the scene."""

    type: str
    path: Path
    scale: float
    rotation: float  # degrees about +y, added to the twin's own rotation


@dataclass(frozen=True)
class ModelPart:
    """One primitive of a model: its triangles and the linear-RGB base colour of its material."""

    name: str
    mesh: Mesh
    color: tuple[float, float, float]


def scene_models(plant: Plant, types: Sequence[str]) -> dict[str, SceneModel]:
    """The model files of these types that exist (type → model); missing ones are logged and left out."""
    base = Path(plant.source).parent if plant.source and Path(plant.source).is_file() else None
    out: dict[str, SceneModel] = {}
    for name in sorted(set(types)):
        ref = plant.types[name].model if name in plant.types else None
        if ref is None or base is None:
            continue
        path = base / ref.file
        if not path.is_file():
            log.warning("type %s: model file %s not found; its twins keep their shape", name, path)
            continue
        out[name] = SceneModel(name, path, ref.scale, ref.rotation)
    return out


def missing_models(plant: Plant) -> list[tuple[str, str]]:
    """``(type, file)`` of every model a type names that is not in the plant's folder."""
    base = Path(plant.source).parent if plant.source else Path(".")
    named = [(n, t.model.file) for n, t in plant.types.items() if t.model is not None]
    return [(n, f) for n, f in named if not (base / f).is_file()]


# -- reading -----------------------------------------------------------------------------------
def _chunks(data: bytes) -> tuple[dict[str, Any], bytes]:
    if data[:4] == b"glTF":
        magic, version, _ = struct.unpack_from("<III", data, 0)
        if magic != _GLB_MAGIC or version != 2:
            raise ModelError("not a glTF 2.0 binary")
        off, doc, binary = 12, None, b""
        while off + 8 <= len(data):
            length, kind = struct.unpack_from("<II", data, off)
            body = data[off + 8 : off + 8 + length]
            if kind == _CHUNK_JSON:
                doc = orjson.loads(body)
            elif kind == _CHUNK_BIN:
                binary = body
            off += 8 + length
        if doc is None:
            raise ModelError("a GLB without a JSON chunk")
        return doc, binary
    doc = orjson.loads(data)
    uri = (doc.get("buffers") or [{}])[0].get("uri", "")
    if uri and not uri.startswith("data:"):
        raise ModelError("a .gltf whose buffer is a separate file (use a .glb)")
    return doc, base64.b64decode(uri.split(",", 1)[1]) if uri else b""


def _accessor(doc: dict[str, Any], binary: bytes, k: int, kind: str) -> npt.NDArray[Any]:
    acc = doc["accessors"][k]
    if acc.get("sparse") or acc["type"] != kind or acc["componentType"] not in _COMPONENTS:
        raise ModelError(f"accessor {k}: only plain {kind} accessors are read")
    view = doc["bufferViews"][acc["bufferView"]]
    dtype = np.dtype(_COMPONENTS[acc["componentType"]]).newbyteorder("<")
    width = _WIDTH[kind]
    stride = view.get("byteStride") or dtype.itemsize * width
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    n = acc["count"]
    raw = np.frombuffer(binary, dtype=np.uint8, count=stride * (n - 1) + dtype.itemsize * width, offset=start)
    rows = np.lib.stride_tricks.as_strided(raw, shape=(n, dtype.itemsize * width), strides=(stride, 1))
    return np.ascontiguousarray(rows).view(dtype).reshape(n, width) if width > 1 else rows.copy().view(dtype)[:, 0]


def _matrix(node: dict[str, Any]) -> npt.NDArray[np.float64]:
    if "matrix" in node:
        return np.array(node["matrix"], dtype=np.float64).reshape(4, 4).T  # column-major in glTF
    x, y, z, w = node.get("rotation", [0.0, 0.0, 0.0, 1.0])
    r = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                  [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                  [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])  # fmt: skip
    m = np.eye(4)
    m[:3, :3] = r * np.array(node.get("scale", [1.0, 1.0, 1.0]))
    m[:3, 3] = node.get("translation", [0.0, 0.0, 0.0])
    return m


def read_model(path: Path) -> list[ModelPart]:
    """The triangles of a model file, node transforms applied; :class:`ModelError` for what is not read."""
    try:
        doc, binary = _chunks(Path(path).read_bytes())
        parts: list[ModelPart] = []
        materials = doc.get("materials", [])
        scene = doc.get("scenes", [{}])[doc.get("scene", 0)]
        stack = [(n, np.eye(4)) for n in scene.get("nodes", [])]
        while stack:
            k, parent = stack.pop()
            node = doc["nodes"][k]
            m = parent @ _matrix(node)
            stack.extend((c, m) for c in node.get("children", []))
            if "mesh" not in node:
                continue
            normal_m = np.linalg.inv(m[:3, :3]).T
            for p in doc["meshes"][node["mesh"]]["primitives"]:
                if p.get("mode", 4) != 4 or "NORMAL" not in p["attributes"] or "indices" not in p:
                    raise ModelError("only indexed triangles with normals are read")
                pos = _accessor(doc, binary, p["attributes"]["POSITION"], "VEC3").astype(np.float64)
                nor = _accessor(doc, binary, p["attributes"]["NORMAL"], "VEC3").astype(np.float64)
                idx = _accessor(doc, binary, p["indices"], "SCALAR").astype(np.int64)
                if len(pos) > 65_535:
                    raise ModelError("a primitive of more than 65,535 vertices")
                pos = pos @ m[:3, :3].T + m[:3, 3]
                nor = nor @ normal_m.T
                nor /= np.maximum(np.linalg.norm(nor, axis=1, keepdims=True), 1e-12)
                mat = materials[p["material"]] if "material" in p else {}
                rgba = mat.get("pbrMetallicRoughness", {}).get("baseColorFactor", [0.8, 0.8, 0.8, 1.0])
                mesh = Mesh(pos.astype(np.float32), nor.astype(np.float32), idx.astype(np.uint16))
                parts.append(ModelPart(str(mat.get("name", f"part{len(parts)}")), mesh, (rgba[0], rgba[1], rgba[2])))
    except ModelError as exc:
        raise ModelError(f"{path}: {exc.message}") from exc
    except (OSError, KeyError, IndexError, TypeError, ValueError, struct.error, orjson.JSONDecodeError) as exc:
        raise ModelError(f"{path}: cannot read the model: {exc}") from exc
    if not parts:
        raise ModelError(f"{path}: the model has no mesh")
    return parts


# -- writing -----------------------------------------------------------------------------------
def model_glb(parts: Sequence[ModelPart], *, name: str = "model", generator: str = "twinverse") -> bytes:
    """A GLB holding one mesh with a primitive (and a material) per part."""
    binary = bytearray()
    views: list[dict[str, Any]] = []
    accessors: list[dict[str, Any]] = []

    def add(arr: npt.NDArray[Any], target: int, kind: str, component: int, bounds: bool = False) -> int:
        while len(binary) % 4:
            binary.append(0)
        data = np.ascontiguousarray(arr).tobytes()
        views.append({"buffer": 0, "byteOffset": len(binary), "byteLength": len(data), "target": target})
        binary.extend(data)
        acc: dict[str, Any] = {"bufferView": len(views) - 1, "componentType": component, "count": len(arr),
                               "type": kind}  # fmt: skip
        if bounds:
            acc["min"] = [float(v) for v in arr.min(axis=0)]
            acc["max"] = [float(v) for v in arr.max(axis=0)]
        accessors.append(acc)
        return len(accessors) - 1

    prims, materials = [], []
    for part in parts:
        materials.append({"name": part.name, "pbrMetallicRoughness": {
            "baseColorFactor": [*part.color, 1.0], "metallicFactor": 0.1, "roughnessFactor": 0.6}})  # fmt: skip
        prims.append({
            "attributes": {"POSITION": add(part.mesh.positions.astype("<f4"), 34962, "VEC3", 5126, bounds=True),
                           "NORMAL": add(part.mesh.normals.astype("<f4"), 34962, "VEC3", 5126)},
            "indices": add(part.mesh.indices.astype("<u2"), 34963, "SCALAR", 5123),
            "material": len(materials) - 1, "mode": 4,
        })  # fmt: skip
    while len(binary) % 4:
        binary.append(0)
    doc = {
        "asset": {"version": "2.0", "generator": generator},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"name": name, "mesh": 0}],
        "meshes": [{"name": name, "primitives": prims}],
        "materials": materials,
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": len(binary)}],
    }
    js = orjson.dumps(doc)
    js += b" " * (-len(js) % 4)
    total = 12 + 8 + len(js) + 8 + len(binary)
    return b"".join([struct.pack("<III", _GLB_MAGIC, 2, total), struct.pack("<II", len(js), _CHUNK_JSON), js,
                     struct.pack("<II", len(binary), _CHUNK_BIN), bytes(binary)])  # fmt: skip
