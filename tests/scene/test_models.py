"""glTF models of twin types: the YAML field, the shipped files, the scene, the export and the route."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.scene.test_gltf import accessor, read_glb
from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.errors import ModelError, ModelLoadError
from twinverse.model import load_plant, loads_plant
from twinverse.platform import example_path
from twinverse.scene import build_scene, scene_dict, to_glb
from twinverse.scene.models import ModelPart, model_glb, read_model
from twinverse.scene.shapes import unit_mesh

EXAMPLES = example_path().parent
MODELS = ("capper", "filler", "palletiser")


def test_a_type_names_its_model_and_subtypes_inherit_it() -> None:
    text = """
plant: p
types:
  machine: {signals: {state: {kind: state, states: [running, off]}}}
  filler: {extends: machine, model: models/filler.glb}
  big_filler: {extends: filler}
  capper: {extends: machine, model: {file: m/capper.GLB, scale: 2, rotation: 90}}
twins: [{id: f, type: big_filler}, {id: c, type: capper}]
"""
    plant = loads_plant(text, "p.yaml")
    assert plant.types["big_filler"].model == plant.types["filler"].model
    assert plant.types["filler"].model is not None and plant.types["filler"].model.file == "models/filler.glb"
    cap = plant.types["capper"].model
    assert cap is not None and (cap.file, cap.scale, cap.rotation) == ("m/capper.GLB", 2.0, 90.0)
    with pytest.raises(ModelLoadError) as bad:
        loads_plant(text.replace("models/filler.glb", "../x.glb").replace("scale: 2", "scale: 0"), "p.yaml")
    assert [str(p) for p in bad.value.details] == [
        "p.yaml:5: types.filler.model.file: a model file is a path inside the plant's folder (no '..', not absolute), "
        "got '../x.glb'",
        "p.yaml:7: types.capper.model.scale: Input should be greater than 0",
    ]
    with pytest.raises(ModelLoadError, match=r"types.filler.model.file: a model is a .glb or .gltf file, got 'f.obj'"):
        loads_plant(text.replace("models/filler.glb", "f.obj"), "p.yaml")


def test_the_shipped_models_are_what_the_script_makes(tmp_path: Path) -> None:
    work = tmp_path / "models"
    shutil.copytree(EXAMPLES / "models", work)
    subprocess.run([sys.executable, str(work / "make_models.py")], check=True, capture_output=True)
    for name in MODELS:
        assert (work / f"{name}.glb").read_bytes() == (EXAMPLES / "models" / f"{name}.glb").read_bytes(), name
    # the filler: 2.4 m wide base on the floor, 2.2 m high, centred on its footprint
    parts = read_model(EXAMPLES / "models" / "filler.glb")
    assert [p.name for p in parts] == ["base", "bowl", "valves", "roof", "pipe"]
    pos = np.concatenate([p.mesh.positions for p in parts])
    np.testing.assert_allclose(pos.min(axis=0), [-1.2, 0.0, -1.2], atol=1e-6)
    np.testing.assert_allclose(pos.max(axis=0), [1.2, 2.2, 1.2], atol=1e-6)


def test_a_model_round_trips_bit_for_bit(tmp_path: Path) -> None:
    box = unit_mesh("box")
    path = tmp_path / "m.glb"
    path.write_bytes(model_glb([ModelPart("a", box, (0.1, 0.2, 0.3)), ModelPart("b", unit_mesh("tank"), (1, 1, 1))]))
    a, b = read_model(path)
    np.testing.assert_array_equal(a.mesh.positions, box.positions)
    np.testing.assert_array_equal(a.mesh.indices, box.indices)
    np.testing.assert_allclose(a.mesh.normals, box.normals, atol=1e-7)
    assert (a.name, a.color, b.name) == ("a", (0.1, 0.2, 0.3), "b")
    path.write_bytes(b"glTF\x02\x00\x00\x00garbage")
    with pytest.raises(ModelError, match=r"m\.glb: a GLB without a JSON chunk"):
        read_model(path)


def test_the_demo_scene_draws_and_exports_its_models() -> None:
    scene = build_scene(load_plant(example_path()))
    assert sorted(scene.models) == list(MODELS)
    assert scene_dict(scene)["models"]["filler"] == {"url": "/api/scene/models/filler", "scale": 1.0, "rotation": 0.0}
    doc, binary = read_glb(to_glb(scene))
    filler = next(n for n in doc["nodes"] if n["name"] == "bottling/line1/filler")
    mesh = doc["meshes"][filler["mesh"]]
    assert mesh["name"] == "model:filler" and mesh["extras"] == {"model": "filler.glb"}
    assert filler["scale"] == [1.0, 1.0, 1.0] and "rotation" not in filler
    parts = read_model(EXAMPLES / "models" / "filler.glb")
    assert len(mesh["primitives"]) == len(parts)
    for prim, part in zip(mesh["primitives"], parts, strict=True):
        np.testing.assert_array_equal(accessor(doc, binary, prim["attributes"]["POSITION"]), part.mesh.positions)
        assert doc["materials"][prim["material"]]["name"] == f"model:filler:{part.name}"
    capper = next(n for n in doc["nodes"] if n["name"] == "bottling/line1/capper")
    assert doc["meshes"][capper["mesh"]]["name"] == "model:capper"


def _copy_demo(tmp_path: Path, models: dict[str, bytes]) -> Path:
    (tmp_path / "models").mkdir()
    for name, data in models.items():
        (tmp_path / "models" / f"{name}.glb").write_bytes(data)
    shutil.copy(example_path(), tmp_path / "bottling.yaml")
    return tmp_path / "bottling.yaml"


def test_a_missing_or_broken_model_falls_back_to_the_shape(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = (EXAMPLES / "models" / "capper.glb").read_bytes()
    plant_file = _copy_demo(tmp_path, {"capper": good, "filler": b"not a glb"})  # and no palletiser
    with caplog.at_level(logging.WARNING, logger="twinverse.scene"):
        scene = build_scene(load_plant(plant_file))
        doc, _ = read_glb(to_glb(scene))
    assert sorted(scene.models) == ["capper", "filler"]  # the missing palletiser is left out
    names = {n["name"]: doc["meshes"][n["mesh"]]["name"] for n in doc["nodes"] if "mesh" in n and "extras" in n}
    assert names["bottling/line1/filler"] == "cylinder:filler"  # unreadable: its shape
    assert names["bottling/line1/palletiser"] == "box:palletiser"
    assert names["bottling/line1/capper"] == "model:capper"
    text = caplog.text
    assert "type palletiser: model file" in text and "not found" in text
    assert "type filler:" in text and "exported with its shape" in text


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", plant=example_path(), store=":memory:", auth="open")
    with TestClient(create_app(settings)) as c:
        yield c


def test_the_server_serves_a_types_model(client: TestClient) -> None:
    r = client.get("/api/scene/models/filler")
    assert r.status_code == 200 and r.headers["content-type"] == "model/gltf-binary"
    assert r.content == (EXAMPLES / "models" / "filler.glb").read_bytes()
    r = client.get("/api/scene/models/rinser")
    assert r.status_code == 404 and r.json()["detail"] == "type 'rinser' has no model file in this plant"
    assert client.get("/api/scene").json()["models"]["capper"]["url"] == "/api/scene/models/capper"


def test_a_version_naming_a_missing_model_is_refused(client: TestClient) -> None:
    text = example_path().read_text().replace("models/palletiser.glb", "models/nope.glb")
    r = client.post("/api/plant/versions", json={"text": text})
    assert r.status_code == 422
    [err] = r.json()["errors"]
    assert err["message"] == "model file 'models/nope.glb' not found beside the plant file"
    assert (err["file"], err["path"]) == ("bottling.yaml", "types.palletiser.model")
