"""``twinverse report shift``: a line's shift report (KPIs, states, energy, CO2e) as HTML or PDF with plots."""

from __future__ import annotations

from pathlib import Path

import typer

from ..config import load_settings
from ..ops.report import render_html, render_pdf, summary_lines
from ..platform import Platform

__all__ = ["app", "shift"]

app = typer.Typer(help="Reports from the stored history: the shift report.", no_args_is_help=True)

PlantOpt = typer.Option(None, "--plant", "-p", help="Plant YAML file (or TWINVERSE_PLANT).")
StoreOpt = typer.Option(None, "--store", help="duckdb, a DuckDB file, or a postgresql:// URL.")
DataDirOpt = typer.Option(None, "--data-dir", help="Data directory (default ./data).")


@app.command("shift")
def shift(
    line: str = typer.Option(..., "--line", "-l", help="The line (or machine) id, e.g. line1 or bottling/line1."),
    which: str = typer.Option(
        "previous", "--shift", "-s", help="current, previous, a shift's name (its latest) or YYYY-MM-DD/NAME."
    ),
    out: Path = typer.Option(None, "--out", "-o", help="File to write; .pdf writes PDF, anything else HTML."),
    fmt: str = typer.Option(None, "--format", "-f", help="html or pdf (default: from --out, else html)."),
    plant: Path = PlantOpt,
    store: str = StoreOpt,
    data_dir: Path = DataDirOpt,
) -> None:
    """Write the shift report of a line and print its headline figures and the grid factor used."""
    platform = Platform(load_settings(plant=plant, store=store, data_dir=data_dir))
    try:
        root = platform.plant.id
        twin = line if line == root or line.startswith(root + "/") else f"{root}/{line}"
        svc = platform.kpis
        report = svc.shift_report(twin, which)
        cal = platform.plant.shifts
        assert cal is not None  # shift_report raised otherwise
        o = cal.previous(svc.shift(f"{report['shift']['date']}/{report['shift']['shift']}"))
        previous = svc.shift_report(twin, f"{o.day.isoformat()}/{o.shift}")
        kind = (fmt or ("pdf" if out is not None and out.suffix.lower() == ".pdf" else "html")).lower()
        if kind not in ("html", "pdf"):
            raise typer.BadParameter("--format must be html or pdf")
        label = report["shift"]["label"].replace(" ", "-")
        path = out or Path(f"shift-{twin.replace('/', '_')}-{label}.{kind}")
        if kind == "pdf":
            render_pdf(report, path, previous)
        else:
            path.write_text(render_html(report, previous), encoding="utf-8")
        for text in summary_lines(report, previous):
            typer.echo(text)
        typer.echo(f"wrote {path}")
    finally:
        platform.stop()
