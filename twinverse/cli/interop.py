"""``twinverse export-aas`` and ``import-aas``: a plant as an Asset Administration Shell environment and back."""

from __future__ import annotations

from pathlib import Path

import typer

from ..config import load_settings
from ..errors import InputError
from ..interop.aas import (
    Records,
    build_environment,
    format_of,
    import_environment,
    last_records,
    read_environment,
    write_environment,
)
from ..model import Plant, load_plant
from ..platform import Platform
from .output import console, escape

__all__ = ["export_aas", "import_aas", "register"]


def export_aas(
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .json, .xml or .aasx (AASX holds XML)."),
    plant: Path = typer.Option(None, "--plant", "-p", help="Plant YAML (or TWINVERSE_PLANT)."),
    twin: str = typer.Option(None, "--twin", help="Export only this twin and the twins it contains."),
    fmt: str = typer.Option(None, "--format", "-f", help="json, xml or aasx (default: from the file name)."),
    api_base: str = typer.Option("http://127.0.0.1:8000", "--api-base",
                                 help="twinverse server the Time Series segments link to."),
    grid_factor: float = typer.Option(None, "--grid-factor", min=0,
                                      help="kg CO2e per kWh for the Carbon Footprint submodels (default: the "
                                           "plant's simulation.grid_factor; neither: no carbon footprints)."),
    last: int = typer.Option(0, "--last", min=0, max=10_000,
                             help="Add a Time Series segment with each twin's last N values from the store."),
    store: str = typer.Option(None, "--store", help="With --last: duckdb, a DuckDB file, or a postgresql:// URL."),
    data_dir: Path = typer.Option(None, "--data-dir", help="With --last: the data directory (default ./data)."),
) -> None:
    """Export the plant as an AAS environment (metamodel 3.0): one shell per twin, with its submodels."""
    kind = format_of(out, fmt)
    settings = load_settings(plant=plant, store=store, data_dir=data_dir)
    if settings.plant is None:
        raise InputError("no plant given: pass --plant FILE or set TWINVERSE_PLANT")
    model = load_plant(settings.plant)
    records: Records = {}
    if last:
        records = _records(Platform(settings), model, twin, last)
    env = build_environment(model, root=twin, api_base=api_base, grid_factor=grid_factor, records=records)
    size = write_environment(env, out, kind)
    shells = sum(1 for o in env if type(o).__name__ == "AssetAdministrationShell")
    console.print(f"wrote {escape(str(out))} ({size:,} bytes, {kind.value}): {shells} shells, {len(env)} objects")


def _records(platform: Platform, plant: Plant, twin: str | None, n: int) -> Records:
    try:
        return last_records(platform.store, plant, plant.subtree(twin) if twin else plant.twins, n)
    finally:
        platform.stop()


def import_aas(
    source: Path = typer.Argument(..., help="AAS environment: .json, .xml or .aasx."),
    out: Path = typer.Option(None, "--out", "-o", help="Plant YAML to write (default: print it)."),
    fmt: str = typer.Option(None, "--format", "-f", help="json, xml or aasx (default: from the file name)."),
    plant_id: str = typer.Option("imported", "--plant-id",
                                 help="Plant id when the environment was not written by twinverse."),
) -> None:
    """Import an AAS environment into a plant YAML; what twinverse does not model is kept under `aas:`."""
    text = import_environment(read_environment(source, format_of(source, fmt)), plant_id=plant_id, name=str(source))
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{out}: cannot write: {exc.strerror}") from exc
    console.print(f"wrote {escape(str(out))}: {len(text):,} characters; check it with `twinverse validate {out}`")


def register(app: typer.Typer) -> None:
    """Add ``export-aas`` and ``import-aas`` to ``app``."""
    app.command("export-aas")(export_aas)
    app.command("import-aas")(import_aas)
