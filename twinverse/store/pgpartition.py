"""Time-partitioned history in PostgreSQL: declarative partitions created ahead, dropped for retention.

With ``pg_partition`` set to ``day``, ``week`` (ISO, from Monday) or ``month``, ``points`` is
a table ``PARTITION BY RANGE (ts)`` with one partition per period (``points_pYYYYMMDD``,
named by the period's first day, UTC) and a ``points_default`` partition for rows outside
every period created (late data older than the first partition). :class:`PartitionManager`
keeps ``ahead`` periods beyond the current one created — the engine refuses timestamps more
than a day ahead, so a live row never lands in the default partition — and, with
``retention_raw_days``, drops whole partitions whose period ended before the cutoff (a
catalogue operation, no DELETE, no vacuum) and deletes the default partition's older rows.

Queries on a time range read only the partitions it touches (partition pruning); the primary
key ``(sid, ts)`` holds per partition, which is all the store's idempotent append needs since
a (sid, ts) always falls in the same partition.

Several processes (workers, API processes) may run the manager on one database: every step
holds an advisory lock and uses ``IF NOT EXISTS``, so they neither collide nor duplicate.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from ..config import Settings
from ..errors import ConfigError, StoreError
from .base import Store
from .postgres import PostgresStore

try:
    import psycopg
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise StoreError("partitioned history needs psycopg: pip install 'twinverse[postgres]'") from exc

__all__ = ["PartitionManager", "Period", "partitions_from_settings", "period_start"]

log = logging.getLogger("twinverse.store.pgpartition")

Period = Literal["day", "week", "month"]
_NAME = re.compile(r"points_p(\d{8})")
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('twinverse.partitions'))"
_IS_PARTITIONED = "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'points'::regclass)"
_PARTITIONED = """CREATE TABLE points (
    ts timestamptz NOT NULL,
    sid integer NOT NULL,
    value double precision NOT NULL,
    quality smallint NOT NULL,
    PRIMARY KEY (sid, ts)
) PARTITION BY RANGE (ts)"""
_PARTITIONS = """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'points'::regclass AND c.relname LIKE 'points\\_p%' ORDER BY c.relname"""


def period_start(day: date, period: Period) -> date:
    """The first day of the period holding ``day``.

    >>> period_start(date(2026, 12, 3), "week"), period_start(date(2026, 12, 3), "month")
    (datetime.date(2026, 11, 30), datetime.date(2026, 12, 1))
    """
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next(start: date, period: Period) -> date:
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def _utc(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


class PartitionManager:
    """Create ``points`` partitioned, keep partitions ahead, drop those past retention.

    ``setup()`` once (turns an *empty* plain ``points`` table, as a fresh store creates it,
    into a partitioned one; refuses one that holds rows), then ``maintain()`` now and then —
    :meth:`start` runs it on a thread every ``every`` seconds.
    """

    def __init__(
        self, store: PostgresStore, period: Period = "day", *, ahead: int = 3, retention_days: float = 0.0,
        every: float = 600.0,
    ) -> None:  # fmt: skip
        if period not in ("day", "week", "month"):
            raise ConfigError(f"pg_partition must be none, day, week or month, not {period!r}")
        if ahead < 1 or retention_days < 0 or every <= 0:
            raise ConfigError("pg_partitions_ahead must be >= 1, retention_raw_days >= 0, the interval > 0")
        self.url = store.url
        self.period: Period = period
        self.ahead = ahead
        self.retention_days = retention_days
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _con(self) -> psycopg.Connection[tuple[Any, ...]]:
        try:
            return psycopg.connect(self.url, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"partition maintenance cannot connect to PostgreSQL: {exc}") from exc

    def setup(self, now: datetime | None = None) -> None:
        """Make ``points`` partitioned (if it is an empty plain table) and create the partitions ahead."""
        with self._con() as con, con.transaction():
            con.execute(_LOCK)
            con.execute("SELECT pg_advisory_xact_lock(hashtext('twinverse.schema'))")
            row = con.execute(_IS_PARTITIONED).fetchone()
            if not (row and row[0]):
                n = con.execute("SELECT count(*) FROM (SELECT 1 FROM points LIMIT 1) AS x").fetchone()
                if n and n[0]:
                    raise ConfigError(
                        "pg_partition is set but 'points' is a plain table that holds rows: partition a new "
                        "database, or copy the rows into a partitioned table (docs/deployment.md)"
                    )
                con.execute("DROP TABLE points")
                con.execute(_PARTITIONED)
                con.execute("CREATE TABLE points_default PARTITION OF points DEFAULT")
                log.info("points is now partitioned by %s", self.period)
        self.maintain(now)

    def maintain(self, now: datetime | None = None) -> tuple[list[str], list[str]]:
        """Create the current and ``ahead`` next partitions, drop those past retention: (created, dropped)."""
        now = now or datetime.now(UTC)
        created: list[str] = []
        dropped: list[str] = []
        start = period_start(now.astimezone(UTC).date(), self.period)
        with self._con() as con, con.transaction():
            con.execute(_LOCK)
            have = {r[0] for r in con.execute(_PARTITIONS).fetchall()}
            for _ in range(self.ahead + 1):
                end = _next(start, self.period)
                name = f"points_p{start:%Y%m%d}"
                if name not in have:
                    # DDL takes no parameters; the bounds are ISO dates made here.
                    con.execute(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF points "
                                f"FOR VALUES FROM ('{_utc(start).isoformat()}') TO ('{_utc(end).isoformat()}')")
                    created.append(name)
                start = end
            if self.retention_days:
                cutoff = now - timedelta(days=self.retention_days)
                for name in sorted(have):
                    m = _NAME.fullmatch(name)
                    if m is None:
                        continue
                    first = datetime.strptime(m.group(1), "%Y%m%d").replace(tzinfo=UTC).date()
                    if _utc(_next(first, self.period)) <= cutoff:
                        con.execute(f"DROP TABLE {name}")
                        dropped.append(name)
                con.execute("DELETE FROM points_default WHERE ts < %s", (cutoff,))
        if created or dropped:
            log.info("partitions created %s, dropped %s", created, dropped)
        return created, dropped

    def partitions(self) -> list[str]:
        """Names of the period partitions, oldest first."""
        with self._con() as con:
            return [r[0] for r in con.execute(_PARTITIONS).fetchall()]

    def start(self) -> None:
        """Run :meth:`maintain` every ``every`` seconds on a thread (errors are logged, not raised)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pg-partitions", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.maintain()
            except Exception:  # a failed round is retried at the next; the store keeps working
                log.exception("partition maintenance failed")


def partitions_from_settings(store: Store, settings: Settings) -> PartitionManager | None:
    """The manager ``pg_partition`` asks for (set up already), or None when it is ``none``."""
    if settings.pg_partition == "none":
        return None
    if not isinstance(store, PostgresStore):
        raise ConfigError("pg_partition needs a postgresql:// store (DuckDB history is not partitioned)")
    manager = PartitionManager(store, settings.pg_partition, ahead=settings.pg_partitions_ahead,
                               retention_days=settings.retention_raw_days)  # fmt: skip
    manager.setup()
    return manager
