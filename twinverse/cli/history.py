"""``twinverse history``: seal completed history segments into the log, verify them against the store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer

from ..config import load_settings
from ..core.clock import iso_dt
from ..platform import Platform
from ..trust import HistorySealer, check_history

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
    existing = platform.sealer
    if existing is not None and lag is None:
        return existing
    return HistorySealer.from_settings(
        platform.store,
        platform.trust,
        platform.settings,
        plant_id=platform.plant.id,
        lag=None if lag is None else timedelta(seconds=lag),
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
                f"[{iso_dt(sealed[0].start)}, {iso_dt(sealed[-1].end)}) as log entries "
                f"#{sealed[0].index}..#{sealed[-1].index}"
            )
        else:
            due = sealer.next_due()
            if due is None:
                typer.echo(f"{name}: nothing to seal: the store holds no history")
            else:
                start, end, at = due
                until = sealer.sealed_until
                done = "no segment sealed yet" if until is None else f"sealed up to {iso_dt(until)}"
                nxt = f"[{iso_dt(start)}, {iso_dt(end)})"
                typer.echo(f"{name}: nothing due: {done}; the next segment {nxt} is due at {iso_dt(at)}")
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
