"""``twinverse export-dtdl`` and ``import-dtdl``: the plant in DTDL v3 and the Azure Digital Twins import format."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer
import yaml

from ..config import load_settings
from ..errors import InputError
from ..interop.dtdl import parse_models
from ..interop.dtdl.export import plant_to_adt, plant_to_dtdl, safe_name
from ..interop.dtdl.importer import import_adt, import_interfaces, read_dtdl_files
from ..model import load_plant, loads_plant
from .output import console, escape

__all__ = ["export_dtdl", "import_dtdl", "register"]


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from exc


def export_dtdl(
    out: Path = typer.Option(
        ..., "--out", "-o",
        help="A .json file (an array of interfaces), a .ndjson file (Azure Digital Twins import: models, "
        "twins, relationships) or a directory (one .json file per interface).",
    ),
    plant: Path = typer.Option(None, "--plant", "-p", help="Plant YAML (or TWINVERSE_PLANT)."),
) -> None:
    """Export the plant's twin types as DTDL v3 interfaces, or the whole twin graph as an import file."""
    settings = load_settings(plant=plant)
    if settings.plant is None:
        raise InputError("no plant given: pass --plant FILE or set TWINVERSE_PLANT")
    p = load_plant(settings.plant)
    models = plant_to_dtdl(p)
    parse_models(models)  # what we write must be valid DTDL
    if out.suffix.lower() == ".ndjson":
        data = plant_to_adt(p)
        _write(out, data)
        console.print(f"wrote {escape(str(out))}: {len(models)} models, {len(p.twins)} twins, "
                      f"{len(p.relationships)} relationships")
        return
    if out.suffix.lower() == ".json":
        _write(out, orjson.dumps(models, option=orjson.OPT_INDENT_2))
        console.print(f"wrote {escape(str(out))}: {len(models)} DTDL v3 interfaces")
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the directory: {exc.strerror}") from exc
    for m in models:
        stem = safe_name(m["@id"].partition(";")[0].rsplit(":", 1)[-1])
        _write(out / f"{stem}.json", orjson.dumps(m, option=orjson.OPT_INDENT_2))
    console.print(f"wrote {len(models)} DTDL v3 interfaces to {escape(str(out))}/")


def import_dtdl(
    sources: list[Path] = typer.Argument(
        ..., help="DTDL .json files or directories of them, or one Azure Digital Twins import file (.ndjson)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="The plant YAML to write."),
    plant_id: str = typer.Option(None, "--plant-id", help="Id of the plant (root twin); default 'imported'."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Do not list what could not be imported."),
) -> None:
    """Import DTDL interfaces as twin types (or a twin graph as a plant) into a plant YAML file."""
    if len(sources) == 1 and sources[0].suffix.lower() == ".ndjson":
        try:
            text = sources[0].read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{sources[0]}: cannot read: {exc.strerror}") from exc
        imported = import_adt(text, str(sources[0]), plant_id=plant_id)
    else:
        imported = import_interfaces(read_dtdl_files(sources), plant_id=plant_id or "imported")
    text = yaml.safe_dump(imported.doc, sort_keys=False, allow_unicode=True)
    plant = loads_plant(text, str(out))  # the written file must load as it is
    _write(out, text.encode())
    if not quiet:
        for note in imported.notes:
            console.print(f"note: {escape(note)}")
    console.print(f"wrote {escape(str(out))}: {len(imported.doc['types'])} types, {len(plant.twins)} twins, "
                  f"{len(plant.relationships)} relationships")


def register(app: typer.Typer) -> None:
    """Add ``export-dtdl`` and ``import-dtdl`` to ``app``."""
    app.command("export-dtdl")(export_dtdl)
    app.command("import-dtdl")(import_dtdl)
