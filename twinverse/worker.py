"""Ingest workers: processes that consume a broker and append to PostgreSQL, beside the API.

A :class:`Worker` is the ingest half of a platform, alone: the plant model (to validate and
convert), a PostgreSQL store, an :class:`~twinverse.live.Engine`, and one source —

* ``mqtt``: a shared subscription ``$share/<worker_group>/<topic filter>`` (QoS 1) in a
  persistent session whose client id is ``twinverse-worker-<group>-<id>``; the broker hands
  each message to one session of the group;
* ``jetstream``: the deployment's one durable pull consumer (``nats_durable``), which
  JetStream shares among the workers that fetch from it.

Either acknowledges a message only after the PostgreSQL transaction holding its points has
committed; what a dead worker had not acknowledged is redelivered (MQTT: to the session with
the same id when it comes back — so ids are stable slots, 1..N, not process ids; JetStream:
to any worker after ``ack_wait``) and the store's (sid, ts) key stores it once.

Each append also keeps the ``live_latest`` table and NOTIFYs the change
(:mod:`twinverse.store.pglive`), so API processes with ``live_source = "postgres"`` serve
newest values and websocket deltas from what any worker stored. Alarms, KPIs, sealing and
rollups are not a worker's business: they run in the API process that owns them.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any, Literal

from .config import Settings
from .errors import ConfigError, Location, Problem
from .ingest.base import Health, Source
from .live.engine import Engine
from .model import Plant, load_plant
from .store import PostgresStore, Store, open_store

__all__ = ["Transport", "Worker", "WorkerStats"]

log = logging.getLogger("twinverse.worker")

Transport = Literal["mqtt", "jetstream"]
_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class WorkerStats:
    """Counters of one worker since it started."""

    received: int  # points that reached the engine
    stored: int  # new rows written (redeliveries of stored points not counted)
    rejected: int
    commits: int


class Worker:
    """One ingest worker: ``start()``, then ``stop()`` (or :meth:`run` until an event is set)."""

    def __init__(
        self,
        settings: Settings,
        worker_id: str,
        transport: Transport | None = None,
        *,
        plant: Plant | None = None,
        store: Store | None = None,
        **source_options: Any,
    ) -> None:
        if not _ID.fullmatch(worker_id):
            raise ConfigError(f"worker id {worker_id!r} must be 1-64 letters, digits, '_', '-' or '.'")
        self.settings = settings
        self.worker_id = worker_id
        self.transport: Transport = transport or _transport(settings)
        if plant is None:
            if settings.plant is None:
                raise ConfigError("no plant given: pass --plant FILE or set TWINVERSE_PLANT")
            plant = load_plant(settings.plant)
        self.plant = plant
        self.store = store if store is not None else open_store(settings.store, settings.data_dir)
        if not isinstance(self.store, PostgresStore):
            self.store.close()
            raise ConfigError(
                "a worker appends to PostgreSQL, which several processes share: set store to a postgresql:// URL",
                details=[Problem("not a PostgreSQL store", Location(path="store"))],
            )
        from .store.pglive import share_live
        from .store.pgpartition import partitions_from_settings

        share_live(self.store, settings.live_channel)
        # Workers keep partitions ahead too: one may start before any API process.
        self.partitions = partitions_from_settings(self.store, settings)
        if settings.pg_rollups:  # the worker's appends log late rows; API processes refresh
            from .store.pgrollup import rollups_from_settings

            rollups_from_settings(self.store, settings)
        self.engine = Engine(plant, self.store)
        self.source: Source = self._source(source_options)
        self._started = False

    @property
    def client_id(self) -> str:
        """The persistent MQTT session of this worker slot."""
        return f"twinverse-worker-{self.settings.worker_group}-{self.worker_id}"

    def _source(self, options: dict[str, Any]) -> Source:
        s = self.settings
        if self.transport == "mqtt":
            from .ingest.mqtt import MqttConnector

            if not s.broker:
                raise ConfigError("a worker on MQTT needs a broker (--broker / TWINVERSE_BROKER)")
            return MqttConnector(s.broker, s.mqtt_topic, self.client_id, share_group=s.worker_group,
                                 root=self.engine.plant.id, max_message_bytes=s.mqtt_max_message_bytes,
                                 **options)  # fmt: skip
        from .ingest.jetstream import JetStreamConnector

        return JetStreamConnector.from_settings(s, **options)

    def describe(self) -> str:
        return f"worker {self.worker_id}: {self.source.describe()} → PostgreSQL"

    def health(self) -> Health:
        health = getattr(self.source, "health", None)
        return dict(health()) if callable(health) else {}

    def stats(self) -> WorkerStats:
        e = self.engine
        return WorkerStats(e.received_total, e.stored_total, e.rejected_total, e.writer_stats.groups)

    def start(self) -> None:
        """Connect and begin consuming; returns once subscribed (raises ConnectorError if not)."""
        self.source.start(self.engine)
        if self.partitions is not None:
            self.partitions.start()
        self._started = True
        log.info("started %s", self.describe())

    def run(self, stop: threading.Event) -> None:
        """Start, consume until ``stop`` is set, then stop (storing and acknowledging what arrived)."""
        self.start()
        try:
            stop.wait()
        finally:
            self.stop()

    def stop(self) -> None:
        try:
            if self.partitions is not None:
                self.partitions.stop()
            if self._started:
                self.source.stop()
        finally:
            self._started = False
            self.engine.close()
            self.store.close()


def _transport(settings: Settings) -> Transport:
    if settings.nats_url and not settings.broker:
        return "jetstream"
    if settings.broker:
        return "mqtt"
    raise ConfigError("a worker needs a broker (MQTT: --broker) or a NATS server (JetStream: --nats)")
