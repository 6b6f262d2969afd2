"""Rollups in PostgreSQL, shared by every process on the database: 1-minute and 1-hour buckets.

The buckets are those of the DuckDB store (:mod:`.rollup`: ``n, min, max, sum``, first and
last point), in ``rollup_1m`` and ``rollup_1h``, and downsampled history whose interval is
whole minutes reads them for the buckets they cover and raw rows for the rest, with the
same answers as the raw rows. What differs is that many processes write:

* **Refresh**: any process may call :meth:`PgRollups.refresh`; a transaction-scoped advisory
  lock lets one at a time work (the others return at once). How far the rollups are
  complete (``done_us``) lives in ``rollup_state``, not in a process.
* **Late rows** (invalidation): a writer whose batch holds a row older than ``now − grace/2``
  (its own clock) inserts that row's time into ``rollup_dirty``, in the append's transaction
  — no lock, no read. The refresher only rolls up minutes that ended ``grace`` ago, so a row
  newer than that is either committed before the refresher reads (appends last far less than
  ``grace/2``, clocks agree to better than that) or logged. The next refresh recomputes
  from the oldest logged time; queries meanwhile take raw rows from there on.
* **Retention** per class: raw history by dropping partitions (:mod:`.pgpartition`), rollups
  by ``retention_rollup_days`` (deleted here, indexed by bucket); a recompute never reaches
  before the raw cutoff, so rollups outlive the rows they summarise.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ..config import Settings
from ..core.batch import ts_array
from ..core.clock import from_us, to_us
from ..errors import StoreError
from .base import Aggregate, HistoryQuery, Store
from .common import history_schema, interval_us
from .postgres import POINT_ROW, PostgresStore
from .rollup import HOUR_US, MINUTE_US, STEP_US, ceil_us, floor_us, split_range

try:
    import psycopg
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise StoreError("PostgreSQL rollups need psycopg: pip install 'twinverse[postgres]'") from exc

__all__ = ["PgRollups", "enable_rollups", "rollups_from_settings"]

log = logging.getLogger("twinverse.store.pgrollup")

PG_EPOCH_US = 946_684_800_000_000
_COLS = """sid integer NOT NULL, bucket timestamptz NOT NULL, n bigint NOT NULL, vmin double precision,
    vmax double precision, vsum double precision, first_ts timestamptz, first_value double precision,
    last_ts timestamptz, last_value double precision, PRIMARY KEY (sid, bucket)"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS rollup_1m ({_COLS});
CREATE TABLE IF NOT EXISTS rollup_1h ({_COLS});
CREATE INDEX IF NOT EXISTS rollup_1m_bucket ON rollup_1m (bucket);
CREATE INDEX IF NOT EXISTS rollup_1h_bucket ON rollup_1h (bucket);
CREATE TABLE IF NOT EXISTS rollup_state (name text PRIMARY KEY, done_us bigint);
CREATE TABLE IF NOT EXISTS rollup_dirty (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, lo_us bigint NOT NULL);
"""
_EPOCH = "timestamptz '1970-01-01 00:00:00+00'"
_MINUTES = f"""INSERT INTO rollup_1m
SELECT sid, date_bin('1 minute', ts, {_EPOCH}), count(*), min(value), max(value), sum(value),
       min(ts), (array_agg(value ORDER BY ts))[1], max(ts), (array_agg(value ORDER BY ts DESC))[1]
FROM points WHERE ts >= %s AND ts < %s GROUP BY 1, 2"""
_HOURS = f"""INSERT INTO rollup_1h
SELECT sid, date_bin('1 hour', bucket, {_EPOCH}), sum(n), min(vmin), max(vmax), sum(vsum),
       min(first_ts), (array_agg(first_value ORDER BY first_ts))[1],
       max(last_ts), (array_agg(last_value ORDER BY last_ts DESC))[1]
FROM rollup_1m WHERE bucket >= %s AND bucket < %s GROUP BY 1, 2"""
_ROLLED = {
    Aggregate.AVG: "sum(vsum) / sum(n)",
    Aggregate.MIN: "min(vmin)",
    Aggregate.MAX: "max(vmax)",
    Aggregate.LAST: "(array_agg(last_value ORDER BY last_ts DESC))[1]",
    Aggregate.FIRST: "(array_agg(first_value ORDER BY first_ts))[1]",
    Aggregate.COUNT: "sum(n)::double precision",
}
_RAW = {
    Aggregate.AVG: "avg(value)",
    Aggregate.MIN: "min(value)",
    Aggregate.MAX: "max(value)",
    Aggregate.LAST: "(array_agg(value ORDER BY ts DESC))[1]",
    Aggregate.FIRST: "(array_agg(value ORDER BY ts))[1]",
    Aggregate.COUNT: "count(*)::double precision",
}




class PgRollups:
    """The rollups of one PostgreSQL database, as seen from one process."""

    def __init__(
        self, store: PostgresStore, *, grace_s: float = 120.0, raw_days: float = 0.0, rollup_days: float = 0.0
    ) -> None:
        self.store = store
        self.grace_us = int(grace_s * 1e6)
        self.raw_days = raw_days
        self.rollup_days = rollup_days
        self.refreshes = 0
        try:
            with psycopg.connect(store.url, autocommit=True) as con, con.transaction():
                con.execute("SELECT pg_advisory_xact_lock(hashtext('twinverse.schema'))")
                con.execute(_SCHEMA)
        except psycopg.Error as exc:
            raise StoreError(f"cannot create the rollup tables: {exc}") from exc

    # -- the writer's half (inside each append's transaction) --------------------------------
    def note_append(self, con: psycopg.Connection[Any], body: npt.NDArray[np.uint8]) -> None:
        rows = body.view(POINT_ROW)
        if len(rows) == 0:
            return
        oldest = int(rows["ts"].min()) + PG_EPOCH_US
        if oldest < int(time.time() * 1e6) - self.grace_us // 2:
            con.execute("INSERT INTO rollup_dirty (lo_us) VALUES (%s)", (oldest,))

    # -- refresh ---------------------------------------------------------------------------
    def state(self) -> tuple[int | None, int | None]:
        """(done_us, oldest logged late row) as the database has them now."""

        def run(con: psycopg.Connection[Any]) -> Any:
            return con.execute(
                "SELECT (SELECT done_us FROM rollup_state WHERE name = 'points'), (SELECT min(lo_us) FROM rollup_dirty)"
            ).fetchone()

        row = self.store._read("rollup state", run)
        return (None, None) if row is None else (row[0], row[1])

    def refresh(self, now_us: int | None = None, *, max_steps: int = 1_000) -> int:
        """Bring the rollups up to date, a day of history per transaction; returns the steps taken
        (0 at once if another process is refreshing)."""
        now = now_us if now_us is not None else int(time.time() * 1e6)
        floor_raw = floor_us(now - int(self.raw_days * 86_400e6), HOUR_US) if self.raw_days else None
        steps = 0
        try:
            with psycopg.connect(self.store.url, autocommit=True) as con:
                while steps < max_steps:
                    with con.transaction():
                        got = con.execute("SELECT pg_try_advisory_xact_lock(hashtext('twinverse.rollups'))").fetchone()
                        if not (got and got[0]):
                            return steps
                        if not self._step(con, now, floor_raw):
                            break
                    steps += 1
                if self.rollup_days:
                    cutoff = from_us(now - int(self.rollup_days * 86_400e6))
                    for table in ("rollup_1m", "rollup_1h"):
                        con.execute(f"DELETE FROM {table} WHERE bucket < %s", (cutoff,))
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL rollup refresh failed: {exc}") from exc
        self.refreshes += steps
        return steps

    def _step(self, con: psycopg.Connection[Any], now: int, floor_raw: int | None) -> bool:
        row = con.execute("SELECT done_us FROM rollup_state WHERE name = 'points'").fetchone()
        done: int | None = None if row is None else row[0]
        dirty = con.execute("DELETE FROM rollup_dirty RETURNING lo_us").fetchall()
        lo = min((r[0] for r in dirty), default=None)
        if floor_raw is not None and lo is not None:
            lo = max(lo, floor_raw)  # never recompute from raw rows that retention dropped
        if done is not None and lo is not None and lo < done:
            a = floor_us(lo, MINUTE_US)
            b = min(done, a + STEP_US)
            if b < done:  # the rest of the stale range: next step
                con.execute("INSERT INTO rollup_dirty (lo_us) VALUES (%s)", (b,))
        else:
            if done is None:
                first = self.store.earliest()
                if first is None:
                    return False
                done = floor_us(to_us(first), MINUTE_US)
            a = done
            b = min(floor_us(now - self.grace_us, MINUTE_US), a + STEP_US)
            if b <= a:
                return False
            con.execute("INSERT INTO rollup_state VALUES ('points', %s) ON CONFLICT (name) "
                        "DO UPDATE SET done_us = excluded.done_us", (b,))  # fmt: skip
        ha, hb = floor_us(a, HOUR_US), ceil_us(b, HOUR_US)
        con.execute("DELETE FROM rollup_1m WHERE bucket >= %s AND bucket < %s", (from_us(a), from_us(b)))
        con.execute(_MINUTES, (from_us(a), from_us(b)))
        con.execute("DELETE FROM rollup_1h WHERE bucket >= %s AND bucket < %s", (from_us(ha), from_us(hb)))
        con.execute(_HOURS, (from_us(ha), from_us(hb)))
        return True

    # -- reading ---------------------------------------------------------------------------
    def history(self, query: HistoryQuery) -> pa.Table | None:
        """A downsampled query answered from rollups where whole buckets allow, else None."""
        assert query.interval is not None
        iv = interval_us(query.interval)
        if iv % MINUTE_US:
            return None
        done, dirty = self.state()
        if done is None:
            return None
        if dirty is not None:
            done = min(done, floor_us(dirty, MINUTE_US))  # stale from there on: raw rows answer
        hourly = iv % HOUR_US == 0 and floor_us(done, HOUR_US) > 0
        table, done = ("rollup_1h", floor_us(done, HOUR_US)) if hourly else ("rollup_1m", done)
        start = None if query.start is None else to_us(query.start)
        end = None if query.end is None else to_us(query.end)
        part = split_range(start, end, iv, done)
        if part is None:
            return None
        a, b = part
        step = timedelta(microseconds=iv)
        sids = [int(s) for s in query.sids]
        rolled_where = "sid = ANY(%s::integer[]) AND bucket < %s" + ("" if start is None else " AND bucket >= %s")
        raw_ranges = "ts >= %s" + ("" if end is None else " AND ts < %s")
        params: list[Any] = [step, sids, from_us(b)] + ([] if start is None else [from_us(a)])
        params += [step, sids, from_us(b)] + ([] if end is None else [from_us(end)])
        if start is not None:
            raw_ranges = f"({raw_ranges}) OR (ts >= %s AND ts < %s)"
            params += [from_us(start), from_us(a)]
        stmt = f"""SELECT * FROM (
            SELECT sid, date_bin(%s, bucket, {_EPOCH}) AS b, {_ROLLED[query.aggregate]}, sum(n)::bigint
            FROM {table} WHERE {rolled_where} GROUP BY 1, 2
            UNION ALL
            SELECT sid, date_bin(%s, ts, {_EPOCH}) AS b, {_RAW[query.aggregate]}, count(*)
            FROM points WHERE sid = ANY(%s::integer[]) AND (({raw_ranges})) GROUP BY 1, 2
        ) AS q ORDER BY 1, 2 LIMIT {int(query.limit)}"""
        from psycopg import sql

        sid, ts, value, n = self.store._columns(sql.SQL(stmt), params, 4)
        if len(sid) > 1:
            order = np.lexsort((ts, sid))
            sid, ts, value, n = sid[order], ts[order], value[order], n[order]
        arrays = [pa.array(sid.astype(np.int32)), ts_array(ts), pa.array(value.astype(np.float64)),
                  pa.array(n.astype(np.int64))]  # fmt: skip
        return pa.Table.from_arrays(arrays, schema=history_schema(True))




def enable_rollups(
    store: PostgresStore, *, grace_s: float = 120.0, raw_days: float = 0.0, rollup_days: float = 0.0
) -> PgRollups:
    """Keep rollups for ``store``: its appends log late rows, its downsampled history reads them,
    and ``store.refresh_rollups()`` (the platform's rollup thread) refreshes them."""
    rollups = PgRollups(store, grace_s=grace_s, raw_days=raw_days, rollup_days=rollup_days)
    store.after_write.append(rollups.note_append)
    store.rollups = rollups
    return rollups


def rollups_from_settings(store: Store, settings: Settings) -> PgRollups | None:
    """Rollups for a PostgreSQL store when ``pg_rollups`` asks for them, else None."""
    if not settings.pg_rollups or not isinstance(store, PostgresStore):
        return None
    return enable_rollups(store, raw_days=settings.retention_raw_days, rollup_days=settings.retention_rollup_days)
