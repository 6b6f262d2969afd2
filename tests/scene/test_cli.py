"""``twinverse export-scene``: writes GLB or glTF; clear errors for bad names."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from twinverse.cli.scene import register
from twinverse.errors import InputError
from twinverse.model import load_plant
from twinverse.scene import build_scene, to_glb, to_gltf


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:  # keeps export-scene a sub-command, as in the real CLI
        pass

    return app


def test_export_glb_and_gltf(cli: typer.Typer, bottling_path: Path, tmp_path: Path) -> None:
    scene = build_scene(load_plant(bottling_path))
    for name, writer in (("plant.glb", to_glb), ("plant.gltf", to_gltf)):
        out = tmp_path / name
        r = CliRunner().invoke(cli, ["export-scene", "--plant", str(bottling_path), "--out", str(out)])
        assert r.exit_code == 0, r.output
        assert out.read_bytes() == writer(scene)
        assert f"{len(scene)} objects, 15 machines, 3 zones, 14 belts" in r.output


def test_export_refuses_other_suffixes(cli: typer.Typer, bottling_path: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["export-scene", "--plant", str(bottling_path), "--out", str(tmp_path / "x.obj")])
    assert isinstance(r.exception, InputError)
    assert "unknown scene format 'obj'; use one of glb, gltf, usd, usda, usdz" in str(r.exception)
