"""``twinverse export-scene``: write a plant's 3D scene as glTF 2.0 (GLB or .gltf)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..config import load_settings
from ..errors import InputError
from ..model import load_plant
from ..scene import build_scene, to_glb, to_gltf
from .output import console

__all__ = ["export_scene", "register"]



def export_scene(
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .glb (binary) or .gltf (JSON, buffer embedded)."),
    plant: Path = typer.Option(None, "--plant", "-p", help="Plant YAML (or TWINVERSE_PLANT)."),
) -> None:
    """Export the plant's 3D scene as glTF 2.0; node names and extras carry twin ids."""
    writer = {".glb": to_glb, ".gltf": to_gltf}.get(out.suffix.lower())
    if writer is None:
        raise InputError(f"{out}: use a .glb or .gltf file name")
    settings = load_settings(plant=plant)
    if settings.plant is None:
        raise InputError("no plant given: pass --plant FILE or set TWINVERSE_PLANT")
    scene = build_scene(load_plant(settings.plant))
    data = writer(scene)
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise InputError(f"{out}: cannot write: {exc.strerror}") from exc
    console.print(
        f"wrote {out} ({len(data):,} bytes): {len(scene)} objects, {int(scene.machine.sum())} machines, "
        f"{len(scene.zones)} zones, {len(scene.links)} belts",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``export-scene`` to ``app``."""
    app.command("export-scene")(export_scene)
