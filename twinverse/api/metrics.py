"""Prometheus metrics of a platform, read from its own counters when scraped.

Nothing is counted for Prometheus on the hot path: the engine, hub, simulation runner and
sources keep the counters they keep anyway (plain integers, :class:`~twinverse.core.Histogram`),
and :class:`PlatformCollector` turns them into metric families each time ``/metrics`` is
scraped. Every app gets its own :class:`~prometheus_client.CollectorRegistry`
(:func:`registry_for`), so several apps in one process (tests, embedding) never share or
double-register series. This is the only module that imports ``prometheus_client``.

Metrics (all prefixed ``twinverse_``):

=====================================  =========  ==========================================
name                                   type       labels / meaning
=====================================  =========  ==========================================
``build_info``                         info       ``version``, ``plant``, ``store``
``ready``                              gauge      1 when ``/readyz`` would answer 200
``ingest_points_total``                counter    ``outcome``: received, accepted, rejected
``ingest_stored_rows_total``           counter    new history rows written (duplicates skipped)
``quarantined_points_total``           counter    ``reason``: rejected points by reason
``store_commit_seconds``               histogram  latency of each store append
``store_commit_rows``                  histogram  rows per store append
``ws_clients``                         gauge      websocket subscribers
``ws_lag_batches``                     gauge      batches the slowest subscriber is behind
``sim_jobs``                           gauge      ``status``: kept simulation jobs by status
``sim_jobs_submitted_total``           counter    simulation jobs submitted
``source_connected``                   gauge      ``source``: 1 connected, 0 not (if reported)
``source_running``                     gauge      ``source``: 1 while its thread runs
``source_reconnects_total``            counter    ``source``: reconnections (if reported)
``source_errors_total``                counter    ``source``: errors (timeouts, exceptions, refused)
``source_points_total``                counter    ``source``: points handed to the engine
``source_backlog_points``              gauge      ``source``: points buffered, not yet stored
``source_bad_signals``                 gauge      ``source``: signals whose last value is BAD
``source_last_data_timestamp_seconds`` gauge      ``source``: when the source last delivered data
=====================================  =========  ==========================================

Counters count since the process started (Prometheus handles restarts).
"""

from __future__ import annotations

from collections.abc import Iterator
from math import isinf

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from .. import __version__
from ..core.metrics import Histogram
from ..platform import Platform

__all__ = ["PREFIX", "PlatformCollector", "exposition", "registry_for"]

#: Prefix of every metric name.
PREFIX = "twinverse_"


class PlatformCollector(Collector):
    """A custom collector reading ``platform``'s counters at scrape time."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def collect(self) -> Iterator[Metric]:
        p = self.platform
        info = InfoMetricFamily(PREFIX + "build", "Version, plant and store of this process.")
        info.add_metric([], {"version": __version__, "plant": p.plant.id, "store": type(p.store).__name__})
        yield info
        yield GaugeMetricFamily(PREFIX + "ready", "1 when /readyz answers 200.", value=0 if p.readiness() else 1)
        yield from self._ingest()
        engine = p.engine
        yield _histogram(PREFIX + "store_commit_seconds", "Latency of store appends (seconds).", engine.commit_seconds)
        yield _histogram(PREFIX + "store_commit_rows", "Rows per store append.", engine.commit_rows)
        yield _histogram(
            PREFIX + "ingest_group_batches", "Batches (requests, flushes) per group commit.", engine.group_batches
        )
        yield GaugeMetricFamily(PREFIX + "ws_clients", "Websocket subscribers.", value=len(p.hub))
        yield GaugeMetricFamily(
            PREFIX + "ws_lag_batches", "Ingested batches the slowest websocket subscriber is behind.", value=p.hub.lag()
        )
        jobs = GaugeMetricFamily(PREFIX + "sim_jobs", "Kept simulation jobs by status.", labels=["status"])
        for status, n in p.sim.counts().items():
            jobs.add_metric([status.value], n)
        yield jobs
        yield CounterMetricFamily(PREFIX + "sim_jobs_submitted", "Simulation jobs submitted.", value=p.sim.submitted)
        alarms = GaugeMetricFamily(PREFIX + "alarms", "Alarms by ISA-18.2 state.", labels=["state"])
        for state, n in p.alarms.counts().items():
            alarms.add_metric([state], n)
        yield alarms
        yield CounterMetricFamily(PREFIX + "alarm_events", "Alarm events stored (transitions and actions).",
                                  value=p.alarms.journal.last_seq)  # fmt: skip
        yield from self._sources()

    def _ingest(self) -> Iterator[Metric]:
        engine = self.platform.engine
        stats = engine.stats()
        points = CounterMetricFamily(PREFIX + "ingest_points", "Points received by outcome.", labels=["outcome"])
        for outcome in ("received", "accepted", "rejected"):
            points.add_metric([outcome], stats[outcome])
        yield points
        yield CounterMetricFamily(
            PREFIX + "ingest_stored_rows", "New history rows written (redelivered duplicates skipped).",
            value=stats["stored"],
        )  # fmt: skip
        quarantined = CounterMetricFamily(
            PREFIX + "quarantined_points", "Rejected points by reason ('source': rejected by the source's decoder).",
            labels=["reason"],
        )  # fmt: skip
        for reason, n in engine.rejects_by_reason().items():
            quarantined.add_metric([reason], n)
        yield quarantined

    def _sources(self) -> Iterator[Metric]:
        connected = GaugeMetricFamily(PREFIX + "source_connected", "1 when a source reaches its far side.",
                                      labels=["source"])  # fmt: skip
        running = GaugeMetricFamily(PREFIX + "source_running", "1 while a source's thread runs.", labels=["source"])
        reconnects = CounterMetricFamily(PREFIX + "source_reconnects", "Reconnections of a source.", labels=["source"])
        errors = CounterMetricFamily(PREFIX + "source_errors", "Errors of a source (timeouts, exceptions, refusals).",
                                     labels=["source"])  # fmt: skip
        points = CounterMetricFamily(PREFIX + "source_points", "Points a source handed to the engine.",
                                     labels=["source"])  # fmt: skip
        backlog = GaugeMetricFamily(PREFIX + "source_backlog_points", "Points a source buffers, not yet stored.",
                                    labels=["source"])  # fmt: skip
        bad = GaugeMetricFamily(PREFIX + "source_bad_signals", "Signals of a source whose last value is BAD.",
                                labels=["source"])  # fmt: skip
        last = GaugeMetricFamily(PREFIX + "source_last_data_timestamp_seconds", "When a source last delivered data.",
                                 labels=["source"])  # fmt: skip
        families = ((connected, "connected"), (running, "running"), (reconnects, "reconnects"), (errors, "errors"),
                    (points, "points"), (backlog, "backlog"), (bad, "bad_signals"), (last, "last_data_ts"))
        for name, health in self.platform.source_health():
            for family, key in families:
                value = health.get(key)
                if isinstance(value, bool | int | float):
                    family.add_metric([name], float(value))
        yield from (family for family, _ in families)


def _histogram(name: str, doc: str, histogram: Histogram) -> HistogramMetricFamily:
    snap = histogram.snapshot()
    buckets = [("+Inf" if isinf(le) else repr(le), float(n)) for le, n in snap.cumulative(histogram.bounds)]
    return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=snap.sum)


def registry_for(platform: Platform) -> CollectorRegistry:
    """A fresh registry holding one :class:`PlatformCollector` (not the process-global registry)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PlatformCollector(platform))
    return registry


def exposition(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The scrape body and its content type: OpenMetrics if ``accept`` asks for it, else Prometheus text."""
    encode, content_type = choose_encoder(accept or "")
    return encode(registry), content_type
