"""``twinverse history``: seal completed history segments into the log, verify them against the store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer

from ..config import Settings, load_settings
from ..live.seal import HistorySealer, check_history, iso
from ..platform import Platform

__all__ = ["app", "seal", "sealer_of", "verify"]

app = typer.Typer(
    help="Sealed history: commit each completed segment of history to the tamper-evident log, and verify it.",
    no_args_is_help=True,
)

PlantOpt = typer.Option(None, "--plant", "-p", help="Plant YAML file (or TWINVERSE_PLANT).")
StoreOpt = typer.Option(None, "--store", help="duckdb, a DuckDB file, or a postgresql:// URL.")
DataDirOpt = typer.Option(None, "--data-dir", help="Data directory (default ./data).")


def sealer_of(platform: Platform, lag: float | None = None) -> HistorySealer:
    """The platform's sealer, or one built from its settings (``seal_segment``, ``seal_lag`` in seconds)."""
    s: Settings = platform.settings
    existing = getattr(platform, "sealer", None)
    if isinstance(existing, HistorySealer) and lag is None:
        return existing
    return HistorySealer(
        platform.store,
        platform.trust,
        plant_id=platform.plant.id,
        tenant=s.tenant,
        segment=timedelta(seconds=float(getattr(s, "seal_segment", 600.0))),
        lag=timedelta(seconds=float(getattr(s, "seal_lag", 300.0) if lag is None else lag)),
    )


@app.command("seal")
def seal(
    plant: Path = PlantOpt,
    store: str = StoreOpt,
    data_dir: Path = DataDirOpt,
    lag: float = typer.Option(
        None, "--lag", min=0, help="Seconds a segment must be over before sealing (default: the seal_lag setting)."
    ),
) -> None:
    """Seal every completed history segment not sealed yet (what the server does periodically)."""
    platform = Platform(load_settings(plant=plant, store=store, data_dir=data_dir))
    try:
        sealer = sealer_of(platform, lag)
        sealed = sealer.seal_due()
        name = f"history:{platform.plant.id}"
        if sealed:
            rows = sum(s.rows for s in sealed)
            typer.echo(
                f"{name}: sealed {len(sealed)} segment(s), {rows:,} rows, "
                f"[{iso(sealed[0].start)}, {iso(sealed[-1].end)}) as log entries "
                f"#{sealed[0].index}..#{sealed[-1].index}"
            )
        else:
            due = sealer.next_due()
            if due is None:
                typer.echo(f"{name}: nothing to seal: the store holds no history")
            else:
                start, end, at = due
                until = sealer.sealed_until
                done = "no segment sealed yet" if until is None else f"sealed up to {iso(until)}"
                nxt = f"[{iso(start)}, {iso(end)})"
                typer.echo(f"{name}: nothing due: {done}; the next segment {nxt} is due at {iso(at)}")
    finally:
        platform.stop()


@app.command("verify")
def verify(plant: Path = PlantOpt, store: str = StoreOpt, data_dir: Path = DataDirOpt) -> None:
    """Recompute every sealed segment from the store; exit 1 naming each segment that differs."""
    platform = Platform(load_settings(plant=plant, store=store, data_dir=data_dir))
    try:
        report = check_history(platform.store, platform.trust, plant_id=platform.plant.id)
    finally:
        platform.stop()
    for p in report.problems:
        typer.echo(f"error: {p}", err=True)
    typer.echo(report.summary(), err=not report.ok)
    if not report.ok:
        raise typer.Exit(1)
