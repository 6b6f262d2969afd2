"""``twinverse alarms report``: the alarm-system KPIs (ISA-18.2, EEMUA 191) from the stored alarm events."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.table import Table

from ..config import load_settings
from ..core.clock import to_us
from ..core.timetext import parse_time
from ..errors import ConfigError, InputError
from ..model import load_plant
from ..ops import Journal, area_kpis
from .output import console, escape

__all__ = ["app", "report"]

app = typer.Typer(help="Alarms: reports over the stored alarm events.", no_args_is_help=True)


class ReportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


@app.command("report")
def report(
    plant: Path = typer.Option(None, "--plant", "-p", help="Plant YAML file (or TWINVERSE_PLANT)."),
    data_dir: Path = typer.Option(None, "--data-dir", help="Data directory holding alarms.sqlite (default ./data)."),
    start: str = typer.Option("-24h", "--from", help="Window start: ISO 8601, 'now' or relative like -24h."),
    end: str = typer.Option("now", "--to", help="Window end: ISO 8601, 'now' or relative."),
    area: str = typer.Option(None, "--area", help="A twin whose subtree is the area (default: the plant)."),
    fmt: ReportFormat = typer.Option(ReportFormat.TABLE, "--format", "-f", help="table or json."),
) -> None:
    """Alarms per hour and per 10 minutes, floods, chattering and stale alarms, the top 10 contributors."""
    settings = load_settings(plant=plant, data_dir=data_dir)
    if settings.plant is None:
        raise ConfigError("no plant given: pass --plant FILE or set TWINVERSE_PLANT")
    model = load_plant(settings.plant)
    now = datetime.now(UTC)
    t0, t1 = parse_time(start, "from", now) or now, parse_time(end, "to", now) or now
    if t0 >= t1:
        raise InputError(f"--from ({t0.isoformat()}) must be before --to ({t1.isoformat()})")
    path = Path(settings.data_dir) / "alarms.sqlite"
    if not path.exists():
        raise InputError(f"no alarm events at {path} (has the server run with this data directory?)")
    journal = Journal(path, plant=model.id)
    try:
        k = area_kpis(journal, model, to_us(t0), to_us(t1), area)
    finally:
        journal.close()
    if fmt is ReportFormat.JSON:
        typer.echo(orjson.dumps(k, option=orjson.OPT_INDENT_2).decode())
    else:
        _table(k)


def _table(k: dict[str, Any]) -> None:
    summary = Table(title=escape(f"Alarm KPIs of {k['area']}, {k['start']} to {k['end']}"), show_header=False)
    for label, value in [
        ("alarms", f"{k['alarms']}"), ("per hour", f"{k['per_hour']:.2f}"), ("per 10 minutes", f"{k['per_10min']:.2f}"),
        ("peak 10-minute count", f"{k['peak_10min']} (sliding {k['peak_10min_sliding']})"),
        ("10-minute periods over 10", f"{k['periods_over_10']}"),
        ("time in flood", f"{k['flood_minutes']:.1f} min ({k['flood_percent']:.1f} %), {len(k['floods'])} flood(s)"),
        ("chattering alarms", f"{len(k['chattering'])}"), ("stale alarms (> 24 h)", f"{len(k['stale'])}"),
        ("top 10 share", f"{k['top10_share']:.1f} %"),
    ]:  # fmt: skip
        summary.add_row(label, value)
    console.print(summary)
    for title, rows, cols in [
        ("areas", k["areas"], [("area", "area"), ("alarms", "alarms"), ("per hour", "per_hour")]),
        ("top 10", k["top10"], [("alarm", "alarm"), ("count", "count"), ("share %", "share")]),
        ("chattering", k["chattering"], [("alarm", "alarm"), ("raises", "raises"), ("max/min", "max_per_minute")]),
        ("stale", k["stale"], [("alarm", "alarm"), ("since", "since"), ("hours", "hours"), ("state", "state")]),
        ("floods", k["floods"], [("start", "start"), ("end", "end"), ("minutes", "minutes"), ("peak", "peak_10min")]),
    ]:
        if not rows:
            continue
        t = Table(title=title)
        for head, _ in cols:
            t.add_column(head)
        for r in rows:
            t.add_row(*(escape(f"{r[key]:.2f}" if isinstance(r[key], float) else str(r[key])) for _, key in cols))
        console.print(t)
