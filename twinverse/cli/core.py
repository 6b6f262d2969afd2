"""Core commands: demo, serve, validate, replay, export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from .. import plugins as registry
from ..config import Settings, load_settings
from ..core.timetext import parse_time
from ..demo import DemoFeed, build_demo
from ..errors import InputError
from ..ingest.spec import load_source_specs
from ..model import Plant, load_plant
from ..ops.anomaly import load_detector_specs
from ..park import Park
from ..platform import Platform
from ..store import export_history, format_for
from .output import console, escape


def _serve(platform: Platform, *, show_token: bool = False, park: Park | None = None) -> None:
    """Serve ``platform``'s plant and the other plants of its settings (and of ``park.json``), or ``park``."""
    import uvicorn

    from ..api import create_park_app

    s = platform.settings
    park = park if park is not None else Park(s, platform=platform)
    app = create_park_app(park)
    token = None if platform.trust.open_mode else platform.trust.ensure_admin_token(s.tenant)
    for line in platform.trust.banner():
        console.print(line, style="bold red" if line.startswith("!") else None)
    if token is not None and show_token:
        console.print(
            f"[bold green]open http://{s.host}:{s.port}/#token={token}[/bold green]  "
            f"(API calls: 'Authorization: Bearer {token}')"
        )
    elif token is not None:
        console.print(
            f"in a browser, open http://{s.host}:{s.port}/#token=<token> once; API calls send "
            "'Authorization: Bearer <token>'"
        )
    console.print(
        f"twinverse serving [bold]{escape(platform.plant.name)}[/bold] at http://{s.host}:{s.port}  (API docs: /docs)"
    )
    for entry in list(park)[1:]:
        console.print(f"  and [bold]{escape(entry.platform.plant.name)}[/bold] of tenant {escape(entry.tenant)} "
                      f"at http://{s.host}:{s.port}/plants/{entry.id}/")  # fmt: skip
    uvicorn.run(app, host=s.host, port=s.port, log_level="warning", ws_max_size=1 << 20)


def _plant_entry(text: str) -> dict[str, str]:
    """``FILE`` or ``FILE@TENANT`` of ``serve --plants``, as a ``plants`` setting entry."""
    file, sep, tenant = text.rpartition("@") if "@" in text else (text, "", "")
    return {"file": file, "tenant": tenant} if sep else {"file": text}


def register(app: typer.Typer) -> None:
    """Add the core commands to ``app``."""

    @app.command()
    def demo(
        port: int = typer.Option(8000, help="Port of the web UI and API."),
        data_dir: Path = typer.Option(Path("data/demo"), help="Where the demo keeps its history."),
        broker: str = typer.Option("mqtt://127.0.0.1:1883", help="MQTT broker: used if reachable; sparkplug needs it."),
        no_mqtt: bool = typer.Option(False, "--no-mqtt", help="Feed the synthetic plant in-process."),
        rate: float = typer.Option(1.0, help="Samples per second per signal."),
        seed: int = typer.Option(42, help="Seed of the synthetic plant."),
        auth: str = typer.Option("token", help="'token' (an admin token is printed) or 'open' (no token, loud)."),
        protocol: str = typer.Option(
            None,
            help="Serve the line from a simulated device over 'opcua', 'modbus' "
            "or 'sparkplug' (an edge node on --broker) and read it back.",
        ),
        park: bool = typer.Option(False, "--park", help="Serve a press shop beside the line: two plants, a picker "
                                                        "at / and each plant under /plants/ID/."),
    ) -> None:
        """Run the demo bottling line: synthetic sensors → ingest → live twin at http://127.0.0.1:PORT."""

        demo = build_demo(port=port, data_dir=data_dir, broker=broker, no_mqtt=no_mqtt, rate=rate, seed=seed, auth=auth,
                          protocol=protocol, park=park)  # fmt: skip
        colour = "green" if demo.feed in (DemoFeed.MQTT, DemoFeed.FIELD) else "yellow"
        console.print(f"[{colour}]demo data:[/{colour}] {escape(demo.message)}")
        platform, settings = demo.platform, demo.platform.settings
        console.print(f"history: {settings.data_dir.resolve()}  ·  plant: {settings.plant}", markup=False)
        _serve(platform, show_token=True, park=demo.park)

    @app.command()
    def serve(
        plant: Path = typer.Option(None, "--plant", "-p", help="Plant YAML file (or TWINVERSE_PLANT)."),
        host: str = typer.Option(None, help="Bind address (default 127.0.0.1)."),
        port: int = typer.Option(None, help="Port (default 8000)."),
        store: str = typer.Option(None, help="duckdb, a DuckDB file, or a postgresql:// URL."),
        broker: str = typer.Option(None, help="MQTT broker URL to ingest from, e.g. mqtt://127.0.0.1:1883."),
        data_dir: Path = typer.Option(None, help="Data directory (default ./data)."),
        auth: str = typer.Option(None, help="'token' (default) or 'open' (demo mode: no token needed)."),
        more: list[str] = typer.Option(None, "--plants", help="Another plant to serve, FILE or FILE@TENANT "
                                                              "(repeat it; see the setting plants)."),
    ) -> None:
        """Serve a plant's live twin: API, websocket and web page; ingest from MQTT if a broker is set.

        With --plants (or the setting plants, or plants added over the API) one process serves
        several plants, each under /plants/ID/ and the first also at /.
        """
        extra = [_plant_entry(text) for text in more or ()]
        settings = load_settings(
            plant=plant, host=host, port=port, store=store, broker=broker, data_dir=data_dir, auth=auth,
            **({"plants": extra} if extra else {}),
        )  # fmt: skip
        _serve(Platform(settings))  # a broker in the settings starts the mqtt source

    @app.command()
    def plugins() -> None:
        """List the installed sources and stores: built-ins and plugins, with where each comes from."""
        for group in (registry.SOURCES, registry.STORES):
            console.print(f"[bold]{escape(group)}[/bold]")
            for name, plugin in sorted(registry.available(group).items()):
                console.print(f"  {name:<12} {plugin.value}  ({plugin.origin})", markup=False)

    @app.command()
    def validate(file: Path = typer.Argument(..., help="Plant YAML file.")) -> None:
        """Check a plant YAML file (and its sources: section); prints every problem with file:line and field."""
        p = load_plant(file)
        specs = load_source_specs(p)
        detectors = load_detector_specs(p)
        s = p.summary()
        field = f", {len(specs)} field connectors" if specs else ""
        field += f", {len(detectors)} anomaly detectors" if detectors else ""
        console.print(
            f"[green]ok[/green] {escape(str(file))}: plant {escape(repr(s['id']))}, {s['twins']} twins, "
            f"{s['types']} types, {s['signals']} signals, {s['relationships']} relationships{field}"
        )

    @app.command()
    def replay(
        file: Path = typer.Argument(..., help="CSV or Parquet file with a timestamp and a value column."),
        twin: str = typer.Option(..., help="Twin id to replay into."),
        signal: str = typer.Option(..., help="Signal of the twin."),
        speed: float = typer.Option(0.0, help="Speed factor (60 = an hour per minute); 0 = as fast as possible."),
        unit: str = typer.Option(None, help="Unit of the file's values if it differs from the signal's."),
        rebase: bool = typer.Option(False, help="Shift timestamps so the first row is now."),
        plant: Path = typer.Option(None, "--plant", "-p", help="Plant YAML (or TWINVERSE_PLANT)."),
        server: str = typer.Option(None, help="Send to a running server (http://host:port) instead of the store."),
        ts_column: str = typer.Option("timestamp", help="Name of the timestamp column."),
        value_column: str = typer.Option("value", help="Name of the value column."),
    ) -> None:
        """Replay a recorded series into a twin's signal, with a progress bar."""
        from ..ingest.replay import ReplayConnector

        settings = load_settings(plant=plant)
        model = _plant(settings)
        conn = ReplayConnector(
            model,
            file,
            twin,
            signal,
            speed=speed,
            rebase=rebase,
            unit=unit,
            ts_column=ts_column,
            value_column=value_column,
        )
        accepted = rejected = 0

        def count(result: dict[str, int]) -> None:
            nonlocal accepted, rejected
            accepted += result["accepted"]
            rejected += result["rejected"]

        with _progress() as bar:
            task = bar.add_task(conn.describe(), total=len(conn))
            conn.on_batch = lambda n: bar.advance(task, n)
            if server:
                sink = _http_sink(server, count)
                conn.run(sink)
            else:
                platform = Platform(settings, plant=model)
                try:
                    conn.run(lambda b: count(platform.engine.ingest(b, source=f"replay:{file.name}").to_dict()))
                finally:
                    platform.stop()
        console.print(f"replayed {len(conn)} rows: {accepted} accepted, {rejected} quarantined", markup=False)

    @app.command()
    def export(
        out: Path = typer.Option(..., "--out", "-o", help="Output file (.parquet or .csv)."),
        twin: str = typer.Option(None, help="Only this twin's subtree."),
        start: str = typer.Option(None, help="Start: ISO 8601, 'now' or relative like -1h."),
        end: str = typer.Option(None, help="End: ISO 8601, 'now' or relative like -15m."),
        plant: Path = typer.Option(None, "--plant", "-p", help="Plant YAML (or TWINVERSE_PLANT)."),
    ) -> None:
        """Export history with twin and signal names to Parquet or CSV."""
        fmt = format_for(out)
        now = datetime.now(UTC)
        t0, t1 = parse_time(start, "start", now), parse_time(end, "end", now)
        platform = Platform(load_settings(plant=plant))
        try:
            with console.status(f"exporting to {escape(str(out))}"):
                result = export_history(platform.store, platform.plant, out, fmt, twin=twin, start=t0, end=t1)
        finally:
            platform.stop()
        console.print(f"wrote {result.rows} rows to {out}", markup=False)


def _plant(settings: Settings) -> Plant:
    if settings.plant is None:
        raise InputError("no plant given: pass --plant FILE or set TWINVERSE_PLANT")
    return load_plant(settings.plant)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=console,
    )


def _http_sink(server: str, count: Callable[[dict[str, int]], None]) -> Callable[[pa.RecordBatch], None]:
    import httpx2 as httpx

    from ..ingest.http import ARROW_STREAM

    client = httpx.Client(base_url=server.rstrip("/"), timeout=60)

    def send(batch: pa.RecordBatch) -> None:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as w:
            w.write_batch(batch)
        r = client.post(
            "/api/ingest",
            params={"partial": "true"},
            content=sink.getvalue().to_pybytes(),
            headers={"content-type": ARROW_STREAM},
        )
        if r.status_code >= 400:
            raise InputError(f"server refused the batch ({r.status_code}): {r.text[:300]}")
        count(r.json())

    return send
