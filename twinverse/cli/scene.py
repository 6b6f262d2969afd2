"""``twinverse export-scene``: write a plant's 3D scene as glTF 2.0 (GLB or .gltf) or OpenUSD (.usd, .usda, .usdz)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from ..config import load_settings
from ..core.timetext import parse_time
from ..errors import InputError
from ..model import load_plant
from ..platform import Platform
from ..scene import build_scene, history_window, to_glb, to_gltf, to_usd
from ..scene.usd import History
from .output import console, escape

_FORMATS = ("glb", "gltf", "usd", "usda", "usdz")

__all__ = ["export_scene", "register"]



def export_scene(
    out: Path = typer.Option(..., "--out", "-o", help="Output file; its ending picks the format unless --format does."),
    plant: Path = typer.Option(None, "--plant", "-p", help="Plant YAML (or TWINVERSE_PLANT)."),
    fmt: str = typer.Option(
        None, "--format", "-f",
        help="glb, gltf (glTF 2.0), usd (binary crate), usda (text) or usdz (package); OpenUSD needs the usd extra.",
    ),
    start: str = typer.Option(None, help="USD only: start of a history window to add as time samples (ISO 8601, -1h)."),
    end: str = typer.Option(None, help="USD only: end of the history window (default now)."),
    step: float = typer.Option(60.0, min=0.001, help="USD only: seconds between time samples."),
) -> None:
    """Export the plant's 3D scene as glTF 2.0 or OpenUSD; prims/nodes carry twin ids, types and properties."""
    kind = (fmt or out.suffix.lower().lstrip(".")).lower()
    if kind not in _FORMATS:
        raise InputError(f"{out}: unknown scene format {kind!r}; use one of {', '.join(_FORMATS)}")
    if fmt is not None and out.suffix.lower().lstrip(".") != kind:
        out = out.with_suffix("." + kind)
    settings = load_settings(plant=plant)
    if settings.plant is None:
        raise InputError("no plant given: pass --plant FILE or set TWINVERSE_PLANT")
    model = load_plant(settings.plant)
    scene = build_scene(model)
    summary = (
        f"{len(scene)} objects, {int(scene.machine.sum())} machines, {len(scene.zones)} zones, {len(scene.links)} belts"
    )
    if kind in ("usd", "usda", "usdz"):
        history: History | None = None
        if start is not None:
            now = datetime.now(UTC)
            t0, t1 = parse_time(start, "start", now), parse_time(end, "end", now) or now
            assert t0 is not None
            platform = Platform(settings, plant=model)
            try:
                history = history_window(model, platform.store, t0, t1, step=timedelta(seconds=step))
            finally:
                platform.stop()
        size = to_usd(scene, model, out, history=history)
        samples = f", {len(history)} signals as time samples" if history else ""
        console.print(f"wrote {escape(str(out))} ({size:,} bytes): {summary}{samples}")
        return
    data = (to_glb if kind == "glb" else to_gltf)(scene)
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise InputError(f"{out}: cannot write: {exc.strerror}") from exc
    console.print(f"wrote {escape(str(out))} ({len(data):,} bytes): {summary}")


def register(app: typer.Typer) -> None:
    """Add ``export-scene`` to ``app``."""
    app.command("export-scene")(export_scene)
