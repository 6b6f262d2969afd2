"""``twinverse sim``: run, sweep and optimise simulation models (thin shells over twinverse.sim)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..errors import InputError
from ..sim import RunConfig
from ..sim.optimise import BufferPlan, optimise_buffers
from ..sim.results import ScenarioResult
from ..sim.scenario import run_scenario
from ..sim.spec import load_network
from ..sim.states import STATE_NAMES
from ..sim.sweep import SweepResult, parse_param, run_sweep
from .output import console, err_console, escape

__all__ = ["app"]

app = typer.Typer(
    help="Simulate production lines: run a model, sweep parameters, optimise buffer sizes.",
    no_args_is_help=True,
)
out = console
err = err_console

FILE = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                      help="Plant YAML with a simulation: section, or a pure network file.")
UNTIL = typer.Option(None, "--until", help="Stop at this model time (the file's time_unit).")
PARTS = typer.Option(None, "--parts", help="Stop once this many parts have left (after the warm-up).")
WARMUP = typer.Option(None, "--warmup", help="Statistics start at this model time.")
REPS = typer.Option(None, "--reps", help="Replications (default: the file's run.reps, else 5).")
SEED = typer.Option(None, "--seed", help="Seed of the random streams (default: the file's run.seed, else 0).")
METHOD = typer.Option("engine", "--method", help="engine, fast (serial lines) or auto.")


def _config(net: Any, until: float | None, parts: int | None, warmup: float | None, reps: int | None,
            seed: int | None, method: str, default_reps: int = 5) -> RunConfig:
    """Command-line options over the file's ``run:`` defaults."""
    if until is not None and parts is not None:
        raise InputError("give --until or --parts, not both")
    run = dict(net.run)
    if until is not None or parts is not None:
        run.pop("until", None)
        run.pop("parts", None)
    opts = {"until": until, "parts": parts, "warmup": warmup, "reps": reps, "seed": seed}
    merged = {**run, **{k: v for k, v in opts.items() if v is not None}}
    if "until" not in merged and "parts" not in merged:
        merged["parts"] = 10_000
    merged.setdefault("reps", default_reps)
    return RunConfig(method=method, **merged)


def _pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:.1f}"


def _print_scenario(res: ScenarioResult) -> None:
    first = res.reps[0]
    cfg = res.config
    stop = f"until t={cfg['until']:g}" if "until" in cfg else f"{cfg.get('parts', 0):,} parts"
    out.print(f"[bold]{escape(res.name)}[/bold]: {len(res.reps)} replication(s), {stop}, warm-up {first.warmup:g}, "
              f"method {first.method}, time unit {res.time_unit}")
    t = Table(show_header=True, header_style="bold")
    t.add_column("figure")
    t.add_column("mean ± 95 % CI", justify="right")
    t.add_row(f"throughput (parts/{res.time_unit})", str(res.throughput))
    t.add_row("WIP (parts)", str(res.wip))
    t.add_row(f"lead time ({res.time_unit})", str(res.lead_time))
    t.add_row("exits", str(res.est(lambda r: r.exits)))
    if any(r.scrapped for r in res.reps):
        t.add_row("scrapped", str(res.est(lambda r: r.scrapped)))
    t.add_row("energy (kWh)", str(res.energy_kwh))
    t.add_row(f"CO2e (kg, {res.grid_factor:g} kg/kWh)", str(res.co2e_kg))
    out.print(t)
    st = Table(show_header=True, header_style="bold", title="stations (% of time)")
    st.add_column("station")
    for state in STATE_NAMES:
        st.add_column(state, justify="right")
    st.add_column("OEE %", justify="right")
    st.add_column("kWh", justify="right")
    st.add_column("bottleneck %", justify="right")
    for s in first.stations:
        row = [_pct(res.station(s.id, k).mean) for k in STATE_NAMES]
        share = res.station(s.id, "bottleneck_sole").mean + res.station(s.id, "bottleneck_shifting").mean
        st.add_row(s.id, *row, _pct(res.station(s.id, "oee").mean), f"{res.station(s.id, 'energy_kwh').mean:.4g}",
                   _pct(share))
    out.print(st)
    bn, share = res.bottleneck()
    if bn is not None:
        out.print(f"bottleneck (active-period method): [bold]{escape(bn)}[/bold], {100 * share:.1f} % of the time "
                  "(sole + shifting)")
    elif first.method == "fast":
        out.print("bottleneck: not computed by the fast path (use --method engine)")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                    console=err, transient=True, disable=not err.is_terminal)


@app.command()
def run(
    file: Path = FILE,
    until: float | None = UNTIL,
    parts: int | None = PARTS,
    warmup: float | None = WARMUP,
    reps: int | None = REPS,
    seed: int | None = SEED,
    method: str = METHOD,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document (schema twinverse.sim.result/2)."),
) -> None:
    """Simulate FILE: throughput, WIP, lead time, station states, OEE, energy, CO2e, bottleneck."""
    net = load_network(file)
    cfg = _config(net, until, parts, warmup, reps, seed, method)
    with _progress() as bar:
        task = bar.add_task("simulating", total=1.0)
        res = run_scenario(net, cfg, name=net.name, progress=lambda f: bar.update(task, completed=f))
    if as_json:
        typer.echo(json.dumps(res.to_dict(replications=True), indent=2))
    else:
        _print_scenario(res)


@app.command()
def sweep(
    file: Path = FILE,
    param: list[str] = typer.Option(..., "--param", help="kind.id.attr=v1,v2,… (repeat for a grid), e.g. "
                                    "station.filler.process_mean=0.9,1.0,1.1 or buffer.b2.capacity=2,5,10."),
    until: float | None = UNTIL,
    parts: int | None = PARTS,
    warmup: float | None = WARMUP,
    reps: int | None = REPS,
    seed: int | None = SEED,
    method: str = METHOD,
    workers: int = typer.Option(os.cpu_count() or 1, "--workers", help="Worker processes (0: in this process)."),
    backend: str = typer.Option("local", "--backend", help="local (worker processes) or ray."),
    ray_address: str | None = typer.Option(None, "--ray-address", help="Ray cluster address (default: local)."),
    csv: Path | None = typer.Option(None, "--csv", help="Write the table as CSV."),
    parquet: Path | None = typer.Option(None, "--parquet", help="Write the table as Parquet."),
    html: Path | None = typer.Option(None, "--html", help="Write an HTML report with plots."),
    as_json: bool = typer.Option(False, "--json", help="Print the table as JSON."),
) -> None:
    """Run a grid of scenarios with replications and common random numbers."""
    net = load_network(file)
    cfg = _config(net, until, parts, warmup, reps, seed, method)
    params = [parse_param(p, net) for p in param]
    with _progress() as bar:
        task = bar.add_task("scenarios", total=None)
        res = run_sweep(net, params, cfg, workers=workers, backend=backend, ray_address=ray_address,
                        progress=lambda done, total: bar.update(task, completed=done, total=total))
    if csv:
        res.write_csv(csv)
    if parquet:
        res.write_parquet(parquet)
    if html:
        res.write_html(html, title=f"{net.name}: sweep")
    if as_json:
        typer.echo(json.dumps({"schema": "twinverse.sim.sweep/1", "wall_s": res.wall_s, "workers": res.workers,
                               "backend": res.backend, "rows": res.table()}, indent=2))
    else:
        _print_sweep(res)


def _print_sweep(res: SweepResult) -> None:
    t = Table(show_header=True, header_style="bold",
              title=f"{len(res.scenarios)} scenarios, {res.backend} ({res.workers} worker(s)), {res.wall_s:.2f} s")
    for p in res.params:
        t.add_column(p, justify="right")
    for c in ("throughput", "± CI", "WIP", "lead time", "kWh", "bottleneck"):
        t.add_column(c, justify="right")
    for r in res.table():
        ci = r["throughput_ci95"]
        t.add_row(*(f"{r[p]:g}" for p in res.params), f"{r['throughput']:.5g}", "–" if ci is None else f"{ci:.2g}",
                  f"{r['wip']:.4g}", f"{r['lead_time']:.4g}", f"{r['energy_kwh']:.4g}", str(r["bottleneck"] or "–"))
    out.print(t)


@app.command("optimise-buffers")
def optimise_buffers_cmd(
    file: Path = FILE,
    total: int = typer.Option(..., "--total", help="Buffer places to allocate over the line."),
    buffers: str | None = typer.Option(None, "--buffers",
                                       help="Comma-separated buffer ids (default: all between stations)."),
    until: float | None = UNTIL,
    parts: int | None = PARTS,
    warmup: float | None = WARMUP,
    reps: int | None = REPS,
    seed: int | None = SEED,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document (schema twinverse.sim.buffers/1)."),
) -> None:
    """Allocate --total places across the line's buffers to maximise throughput; compare with an even split."""
    net = load_network(file)
    cfg = _config(net, until, parts, warmup, reps, seed, "auto")
    ids = [b.strip() for b in buffers.split(",") if b.strip()] if buffers else None
    with _progress() as bar:
        task = bar.add_task("allocations tried", total=None)
        plan = optimise_buffers(net, total, cfg, buffers=ids,
                                progress=lambda n, thr: bar.update(task, completed=n))
    if as_json:
        typer.echo(json.dumps(plan.to_dict(), indent=2))
    else:
        _print_plan(plan)


def _print_plan(plan: BufferPlan) -> None:
    t = Table(show_header=True, header_style="bold", title=f"{plan.total} places, {plan.evaluations} allocations tried")
    t.add_column("allocation")
    for b in plan.buffers:
        t.add_column(b, justify="right")
    t.add_column("throughput", justify="right")
    t.add_row("best", *map(str, plan.best), str(plan.best_throughput))
    t.add_row("even", *map(str, plan.even), str(plan.even_throughput))
    out.print(t)
    out.print(f"gain over the even allocation: {plan.gain} ({plan.gain_percent:+.2f} %), "
              "paired replications with common random numbers")
