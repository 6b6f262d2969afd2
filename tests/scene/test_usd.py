"""OpenUSD export: 0 errors from pxr.UsdValidation, and the same prims and transforms as the glTF export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from twinverse.cli.scene import register
from twinverse.model import Plant
from twinverse.scene import build_scene, scene_gltf, to_usd, usd_stage

pxr = pytest.importorskip("pxr", reason="usd-core (the usd extra) is not installed")
from pxr import Usd, UsdGeom, UsdValidation  # noqa: E402

# Corners of the unit shape space (x, z in [-0.5, 0.5], y in [0, 1]) in glTF coordinates.
CORNERS = np.array([[x, y, z, 1.0] for x in (-0.5, 0.5) for y in (0.0, 1.0) for z in (-0.5, 0.5)])
Y_UP_TO_Z_UP = np.array([[1, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=float)


def _trs(node: dict[str, Any]) -> np.ndarray:
    t = node.get("translation", [0.0, 0.0, 0.0])
    x, y, z, w = node.get("rotation", [0.0, 0.0, 0.0, 1.0])
    s = node.get("scale", [1.0, 1.0, 1.0])
    r = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    m = np.eye(4)
    m[:3, :3] = r @ np.diag(s)
    m[:3, 3] = t
    return m


def _gltf_worlds(doc: dict[str, Any]) -> list[tuple[str, np.ndarray]]:
    """(node name, world matrix for column vectors) of every glTF node, depth first in child order."""
    out: list[tuple[str, np.ndarray]] = []

    def walk(i: int, parent: np.ndarray) -> None:
        node = doc["nodes"][i]
        m = parent @ _trs(node)
        out.append((node["name"], m))
        for c in node.get("children", []):
            walk(c, m)

    walk(doc["scenes"][0]["nodes"][0], np.eye(4))
    return out


@pytest.fixture(scope="module")
def stage(plant: Plant) -> Any:
    return usd_stage(build_scene(plant), plant)


def _node_prims(stage: Any) -> list[Any]:
    """The prims made from glTF nodes, in traversal order (depth first, children in order)."""
    return [p for p in stage.Traverse() if p.GetAttribute("twinverse:gltfNode")]


def _prims(stage: Any) -> dict[str, Any]:
    return {p.GetAttribute("twinverse:twin").Get(): p for p in _node_prims(stage) if p.GetAttribute("twinverse:twin")}


def test_usd_validation_reports_no_errors(stage: Any) -> None:
    validators = UsdValidation.ValidationRegistry().GetOrLoadAllValidators()
    assert len(validators) >= 20
    errors = UsdValidation.ValidationContext(validators).Validate(stage)
    assert [(e.GetName(), e.GetMessage()) for e in errors] == []


def test_stage_metadata_is_z_up_metres(stage: Any) -> None:
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert stage.GetDefaultPrim().GetName() == "bottling"


def test_same_prims_and_transforms_as_the_gltf(plant: Plant, stage: Any) -> None:
    doc, _ = scene_gltf(build_scene(plant))
    worlds = _gltf_worlds(doc)
    prims = _node_prims(stage)
    assert len(prims) == len(doc["nodes"]) == len(worlds) == 39
    assert [p.GetAttribute("twinverse:gltfNode").Get() for p in prims] == [name for name, _ in worlds]
    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    for prim, (name, world) in zip(prims, worlds, strict=True):
        usd = np.array(cache.GetLocalToWorldTransform(prim)).T  # Gf matrices act on row vectors
        want = (Y_UP_TO_Z_UP @ world @ CORNERS.T).T
        got = (usd @ Y_UP_TO_Z_UP @ CORNERS.T).T
        assert np.allclose(got, want, atol=1e-4), name
    filler = next(w for n, w in worlds if n == "bottling/line1/filler")
    assert np.allclose(
        np.array(cache.GetLocalToWorldTransform(_prims(stage)["bottling/line1/filler"])).T[:3, 3],
        [filler[0, 3], -filler[2, 3], filler[1, 3]],
    )


def test_kinds_and_twin_attributes(plant: Plant, stage: Any) -> None:
    prims = _prims(stage)
    filler = prims["bottling/line1/filler"]
    assert Usd.ModelAPI(filler).GetKind() == "component"
    assert Usd.ModelAPI(prims["bottling/line1"]).GetKind() == "assembly"
    assert filler.GetAttribute("twinverse:type").Get() == "filler"
    assert filler.GetAttribute("twinverse:property:valves").Get() == 60
    assert Usd.ModelAPI(filler).IsModel()  # the model hierarchy is unbroken down to the component
    assert filler.GetChild("geom").IsA(UsdGeom.Mesh)


def test_history_becomes_time_samples(plant: Plant) -> None:
    sid = plant.signals.sid("bottling/line1/filler", "state")
    speed = plant.signals.sid("bottling/line1/filler", "speed")
    history = {
        sid: (np.array([0.0, 60.0, 120.0]), np.array([0.0, 4.0, 1.0])),
        speed: (np.array([0.0, 60.0]), np.array([600.0, 0.0])),
    }
    stage = usd_stage(build_scene(plant), plant, history=history)
    filler = _prims(stage)["bottling/line1/filler"]
    colour = UsdGeom.Mesh(filler.GetChild("geom")).GetDisplayColorAttr()
    assert colour.GetTimeSamples() == [0.0, 60.0, 120.0]
    red = colour.Get(60.0)[0]
    assert red[0] > 0.5 and red[1] < 0.1  # down is red
    assert filler.GetAttribute("twinverse:signal:speed").Get(60.0) == 0.0
    assert (stage.GetStartTimeCode(), stage.GetEndTimeCode()) == (0.0, 120.0)


@pytest.mark.parametrize("suffix", [".usda", ".usd", ".usdz"])
def test_files_open_again(plant: Plant, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"plant{suffix}"
    size = to_usd(build_scene(plant), plant, out)
    assert size == out.stat().st_size > 1000
    again = Usd.Stage.Open(str(out))
    assert set(_prims(again)) == set(_prims(usd_stage(build_scene(plant), plant)))
    validators = UsdValidation.ValidationRegistry().GetOrLoadAllValidators()
    assert [e.GetName() for e in UsdValidation.ValidationContext(validators).Validate(again)] == []


def test_cli_format_option(bottling_path: Path, tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        pass

    r = CliRunner().invoke(app, ["export-scene", "-p", str(bottling_path), "-o", str(tmp_path / "s"), "-f", "usda"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s.usda").read_text().startswith("#usda 1.0")
    r = CliRunner().invoke(app, ["export-scene", "-p", str(bottling_path), "-o", str(tmp_path / "s.x"), "-f", "obj"])
    assert r.exit_code != 0


def test_history_from_the_store_becomes_time_samples(plant: Plant, tmp_path: Path, bottling_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from twinverse.config import load_settings
    from twinverse.core.batch import make_batch
    from twinverse.platform import Platform
    from twinverse.scene import history_window

    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    store = str(tmp_path / "h.duckdb")
    p = Platform(load_settings(store=store, data_dir=tmp_path), plant=plant)
    try:
        state = plant.signals.sid("bottling/line1/filler", "state")
        states = plant.state_names("bottling/line1/filler")
        assert states is not None
        rows = [(0, states.index("running")), (90, states.index("down")), (150, states.index("running"))]
        batch = make_batch(
            np.array([int((t0 + timedelta(seconds=s)).timestamp() * 1e6) for s, _ in rows], dtype=np.int64),
            [state] * len(rows),
            [float(v) for _, v in rows],
        )
        assert p.engine.ingest(batch, source="test").accepted == 3
        history = history_window(plant, p.store, t0, t0 + timedelta(minutes=3), step=timedelta(minutes=1))
    finally:
        p.stop()
    times, values = history[state]
    assert times.tolist() == [0.0, 60.0, 120.0]  # one bucket per minute, the last value in each
    assert [states[int(v)] for v in values] == ["running", "down", "running"]
    stage = usd_stage(build_scene(plant), plant, history=history)
    colour = UsdGeom.Mesh(_prims(stage)["bottling/line1/filler"].GetChild("geom")).GetDisplayColorAttr()
    assert colour.GetTimeSamples() == [0.0, 60.0, 120.0]
    assert colour.Get(60.0)[0][0] > 0.5  # down is red
