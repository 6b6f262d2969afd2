"""glTF 2.0 export: GLB structure, round-trip of nodes and buffers, Khronos validator."""

from __future__ import annotations

import base64
import itertools
import math
import struct
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from tests.scene.conftest import make_plant
from twinverse.model import Placement, Plant
from twinverse.scene import SHAPES, build_scene, scene_gltf, to_glb, to_gltf, unit_mesh

Validate = Callable[[Sequence[Path]], list[dict[str, Any]]]


def read_glb(data: bytes) -> tuple[dict[str, Any], bytes]:
    """Split a GLB file into its JSON document and BIN chunk (glTF 2.0 spec, section 4.4)."""
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert (magic, version, length) == (0x46546C67, 2, len(data))
    jlen, jtype = struct.unpack_from("<II", data, 12)
    assert jtype == 0x4E4F534A and jlen % 4 == 0
    doc = orjson.loads(data[20 : 20 + jlen])
    blen, btype = struct.unpack_from("<II", data, 20 + jlen)
    assert btype == 0x004E4942 and blen % 4 == 0
    assert 28 + jlen + blen == len(data)
    return doc, data[28 + jlen : 28 + jlen + blen]


def accessor(doc: dict[str, Any], binary: bytes, index: int) -> np.ndarray:
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    dtype = {5126: "<f4", 5123: "<u2"}[acc["componentType"]]
    width = {"VEC3": 3, "SCALAR": 1}[acc["type"]]
    arr = np.frombuffer(binary, dtype=dtype, count=acc["count"] * width, offset=view["byteOffset"])
    return arr.reshape(-1, 3) if width == 3 else arr


def test_glb_round_trips_nodes_and_meshes(plant: Plant) -> None:
    scene = build_scene(plant)
    doc, binary = read_glb(to_glb(scene))
    assert doc["asset"]["version"] == "2.0"
    assert doc["buffers"][0]["byteLength"] <= len(binary) < doc["buffers"][0]["byteLength"] + 4
    objects = {n["name"]: n for n in doc["nodes"] if n.get("extras", {}).get("role") in ("machine", "equipment")}
    assert sorted(objects) == sorted(scene.ids)
    for i, twin in enumerate(scene.ids):
        node = objects[twin]
        assert node["extras"] == {
            "twin": twin, "name": scene.names[i], "type": scene.types[i], "parent": scene.parents[i],
            "role": "machine" if scene.machine[i] else "equipment",
        }
        assert node["translation"] == scene.position[i].tolist()
        mesh = doc["meshes"][node["mesh"]]
        if scene.types[i] in scene.models:  # drawn with its type's glTF model (tests/scene/test_models.py)
            assert mesh["name"] == f"model:{scene.types[i]}" and node["scale"] == [1.0, 1.0, 1.0]
            continue
        assert node["scale"] == scene.size[i].tolist()
        assert mesh["name"] == f"{SHAPES[scene.shape[i]]}:{scene.types[i]}"
        prim = mesh["primitives"][0]
        # the shared unit mesh comes back bit for bit
        ref = unit_mesh(SHAPES[scene.shape[i]])
        np.testing.assert_array_equal(accessor(doc, binary, prim["attributes"]["POSITION"]), ref.positions)
        np.testing.assert_array_equal(accessor(doc, binary, prim["attributes"]["NORMAL"]), ref.normals)
        np.testing.assert_array_equal(accessor(doc, binary, prim["indices"]), ref.indices)
        pos_acc = doc["accessors"][prim["attributes"]["POSITION"]]
        assert pos_acc["min"] == ref.positions.min(axis=0).tolist()
        assert pos_acc["max"] == ref.positions.max(axis=0).tolist()


def test_node_tree_mirrors_containment(plant: Plant) -> None:
    doc, _ = scene_gltf(build_scene(plant))
    nodes = doc["nodes"]
    root = nodes[doc["scenes"][0]["nodes"][0]]
    assert root["name"] == "bottling"
    parent_of = {c: i for i, n in enumerate(nodes) for c in n.get("children", [])}
    by_name = {n["name"]: i for i, n in enumerate(nodes)}
    filler = by_name["bottling/line1/filler"]
    chain = []
    i = filler
    while i in parent_of:
        i = parent_of[i]
        chain.append(nodes[i]["name"])
    assert chain == ["bottling/line1", "bottling", "bottling"]  # line, site container, scene root
    # every node is reached exactly once from the scene root
    assert sorted(parent_of) == sorted(set(range(len(nodes))) - {doc["scenes"][0]["nodes"][0]})


def test_rotation_is_a_unit_quaternion_about_y() -> None:
    p = make_plant({"l": ["a", "b"]}, [("l/a", "l/b")], placement={"l/b": Placement(x=30, z=5, rotation=30)})
    doc, _ = scene_gltf(build_scene(p))
    node = next(n for n in doc["nodes"] if n["name"] == "p/l/b")
    assert node["rotation"] == pytest.approx([0.0, math.sin(math.radians(15)), 0.0, math.cos(math.radians(15))])
    # belts: each segment is a box scaled to the segment's length and turned along it
    belts = [n for n in doc["nodes"] if n.get("extras", {}).get("role") == "link"]
    assert belts and all(n["extras"]["feeds"] == ["p/l/a", "p/l/b"] for n in belts)
    for n in belts:
        q = n["rotation"]
        assert sum(c * c for c in q) == pytest.approx(1.0)


def test_gltf_embeds_the_same_buffer(plant: Plant) -> None:
    scene = build_scene(plant)
    _, binary = read_glb(to_glb(scene))
    doc = orjson.loads(to_gltf(scene))
    uri = doc["buffers"][0]["uri"]
    prefix = "data:application/octet-stream;base64,"
    assert uri.startswith(prefix)
    data = base64.b64decode(uri[len(prefix) :])
    assert len(data) == doc["buffers"][0]["byteLength"]
    assert binary[: len(data)] == data


def _grid_plant(lines: int, per_line: int) -> Plant:
    kinds = {}
    members = {}
    feeds = []
    for k in range(lines):
        ms = [f"m{i}" for i in range(per_line)]
        members[f"l{k}"] = ms
        for i, m in enumerate(ms):
            kinds[f"l{k}/{m}"] = ("machine", "belt", "filler", "tank")[i % 4]
        feeds += [(f"l{k}/{a}", f"l{k}/{b}") for a, b in itertools.pairwise(ms)]
        if per_line > 3:  # a branch: m0 also feeds m2
            feeds.append((f"l{k}/m0", f"l{k}/m2"))
    return make_plant(members, feeds, types=kinds, area="hall")


def test_khronos_validator_finds_no_errors(plant: Plant, tmp_path: Path, validate_gltf: Validate) -> None:
    placed = make_plant(
        {"l": ["a", "b", "c", "d"]},
        [("l/a", "l/b"), ("l/b", "l/c"), ("l/c", "l/a"), ("l/a", "l/d")],
        types={"l/d": "pump", "l/c": "tank"},
        placement={"l/b": Placement(x=3, y=1, z=12, rotation=45)},
    )
    cases = {"bottling": plant, "empty": make_plant({}), "placed": placed, "grid1000": _grid_plant(20, 50)}
    files = []
    for name, p in cases.items():
        scene = build_scene(p)
        for suffix, writer in ((".glb", to_glb), (".gltf", to_gltf)):
            f = tmp_path / f"{name}{suffix}"
            f.write_bytes(writer(scene))
            files.append(f)
    reports = validate_gltf(files)
    assert [(Path(r["file"]).name, r["errors"]) for r in reports] == [(f.name, 0) for f in files]
    # nothing to warn about either, and the validator sees the mesh we wrote
    assert [r["warnings"] for r in reports] == [0] * len(files)
    bottling = reports[0]["info"]
    assert bottling["version"] == "2.0" and bottling["hasDefaultScene"]
    big = next(r for r in reports if r["file"].endswith("grid1000.glb"))
    assert big["info"]["totalVertexCount"] > 0


def test_validator_catches_a_broken_file(plant: Plant, tmp_path: Path, validate_gltf: Validate) -> None:
    """The validator run is live: a file with a wrong accessor bound is reported as an error."""
    doc, binary = scene_gltf(build_scene(plant))
    doc["accessors"][0]["max"] = [9.0, 9.0, 9.0]
    js = orjson.dumps({**doc, "buffers": [{"byteLength": len(binary),
                                           "uri": "data:application/octet-stream;base64,"
                                           + base64.b64encode(binary).decode()}]})
    f = tmp_path / "broken.gltf"
    f.write_bytes(js)
    (report,) = validate_gltf([f])
    assert report["errors"] >= 1
    assert "ACCESSOR_MAX_MISMATCH" in {m["code"] for m in report["messages"]}
