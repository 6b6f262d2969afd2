"""``twinverse worker``: an ingest worker process (shared MQTT subscription or JetStream consumer)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer

from ..config import load_settings
from ..worker import Worker
from .output import console


def register(app: typer.Typer) -> None:
    """Add ``worker`` to ``app``."""

    @app.command()
    def worker(
        worker_id: str = typer.Option(..., "--id", help="This worker's slot (1, 2, …): stable across restarts."),
        plant: Path = typer.Option(None, "--plant", "-p", help="Plant YAML file (or TWINVERSE_PLANT)."),
        store: str = typer.Option(None, help="postgresql:// URL of the shared history (or TWINVERSE_STORE)."),
        broker: str = typer.Option(None, help="MQTT broker URL: consume the shared subscription $share/GROUP/…"),
        nats: str = typer.Option(None, help="NATS URL: consume the JetStream durable pull consumer instead."),
        group: str = typer.Option(None, help="MQTT shared-subscription group (default 'twinverse')."),
        stream: str = typer.Option(None, help="JetStream stream (default 'twinverse')."),
        durable: str = typer.Option(None, help="JetStream durable consumer (default 'twinverse-workers')."),
    ) -> None:
        """Consume a broker, validate against the plant and append to PostgreSQL; ack only after commit.

        Run any number beside any number of API processes; live_source = "postgres" there
        serves what the workers store. Stops on SIGTERM or Ctrl-C after storing and
        acknowledging what it has received; a worker killed outright has its messages redelivered.
        """
        settings = load_settings(
            plant=plant, store=store, broker=broker, nats_url=nats, worker_group=group, nats_stream=stream,
            nats_durable=durable,
        )  # fmt: skip
        w = Worker(settings, worker_id, "jetstream" if nats else ("mqtt" if broker else None))
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        w.start()
        try:
            console.print(f"twinverse {w.describe()}: running", markup=False)
            stop.wait()
        finally:
            w.stop()
        s = w.stats()
        console.print(f"worker {worker_id} stopped: {s.received} points received, {s.stored} stored, "
                      f"{s.rejected} rejected, {s.commits} commits", markup=False)  # fmt: skip
