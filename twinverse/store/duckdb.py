"""The embedded default store: one DuckDB file in the data directory."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..core.batch import QUARANTINE_SCHEMA, TS_TYPE, ts_to_us
from ..core.clock import from_us, to_us
from ..errors import ConfigError, StoreError
from .base import ExportFormat, HistoryQuery, SegmentHasher
from .cold import ColdFile, ColdHistory
from .common import Watermarks, agg_sql, history_schema, interval_us, sid_sql, ts_bounds
from .retention import RetentionPolicy
from .rollup import COLUMNS as ROLLUP_COLUMNS
from .rollup import (
    HOUR_US,
    LEVELS,
    MINUTE_US,
    RollupState,
    ceil_us,
    floor_us,
    rollup_agg_sql,
    rollup_one_sql,
    split_range,
)
from .staging import StagingLog

__all__ = ["DuckDBStore", "open_duckdb"]

#: DuckDB's own memory cap for a file-backed store. DuckDB's default is 80% of RAM, and its
#: buffer pool keeps every page it has read or written: under steady ingest a server's RSS
#: then grows for hours. Capped, the pool evicts (queries above the cap spill to disk).
#: A URL may choose another: ``duckdb:///path.duckdb?memory_limit=1GB``.
DEFAULT_MEMORY_LIMIT = "256MB"

#: Staged rows move into the database once this many wait, or the oldest has waited this long
#: (seconds, checked on the next append), and before any read (:mod:`.staging`). Batches of more
#: than ``STAGE_MAX_BATCH`` rows go straight to the database (for them a statement is cheap).
STAGE_ROWS = 20_000
STAGE_SECONDS = 0.5
STAGE_MAX_BATCH = 2_000

log = logging.getLogger(__name__)

_ROLLUP_DELETE = "DELETE FROM {table} WHERE bucket >= make_timestamp(?) AND bucket < make_timestamp(?)"
_ROLLUP_RAW = """INSERT INTO rollup_1m
    SELECT sid, make_timestamp((epoch_us(ts) // ?) * ?) AS bucket, count(*), min(value), max(value), sum(value),
           min(ts), arg_min(value, ts), max(ts), arg_max(value, ts)
    FROM {raw} WHERE ts >= make_timestamp(?) AND ts < make_timestamp(?) GROUP BY 1, 2"""
_ROLLUP_HOURS = """INSERT INTO rollup_1h
    SELECT sid, make_timestamp((epoch_us(bucket) // ?) * ?) AS hour, sum(n), min(vmin), max(vmax), sum(vsum),
           min(first_ts), arg_min(first_value, first_ts), max(last_ts), arg_max(last_value, last_ts)
    FROM rollup_1m WHERE bucket >= make_timestamp(?) AND bucket < make_timestamp(?) GROUP BY 1, 2"""

#: Rows per Arrow batch when hashing a segment: bounds memory, not the result.
_DIGEST_CHUNK = 1 << 20

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS points (
    ts TIMESTAMPTZ NOT NULL, sid INTEGER NOT NULL, value DOUBLE NOT NULL, quality UTINYINT NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    received TIMESTAMPTZ, ts TIMESTAMPTZ, twin VARCHAR, signal VARCHAR, value VARCHAR,
    reason VARCHAR, source VARCHAR
);
CREATE TABLE IF NOT EXISTS rollup_1m (sid INTEGER NOT NULL, bucket TIMESTAMPTZ NOT NULL, {ROLLUP_COLUMNS});
CREATE TABLE IF NOT EXISTS rollup_1h (sid INTEGER NOT NULL, bucket TIMESTAMPTZ NOT NULL, {ROLLUP_COLUMNS});
CREATE TABLE IF NOT EXISTS rollup_state (name VARCHAR PRIMARY KEY, done_us BIGINT, dirty_us BIGINT);
"""


class DuckDBStore:
    """History in a DuckDB file (``":memory:"`` for a throwaway store).

    Appends of in-order data go straight in as Arrow; rows at or before a signal's newest
    stored timestamp (redeliveries, late data) take an anti-join so (sid, ts) stays unique.
    Each append is one transaction: DuckDB syncs its WAL on commit, so a returned append is
    durable.

    Older days may be moved to Parquet files in ``cold_dir`` (default: the ``history`` folder
    beside the database file; none for an in-memory store) by :meth:`archive`; every read
    (ranges, downsampling, rollups, latest, export, segment digests, SQL queries) takes them
    as if they were still in ``points`` (:mod:`.cold`, :mod:`.duckkeep`).
    """

    def __init__(
        self, path: str | Path, *, memory_limit: str | None = None, cold_dir: Path | None = None, staging: bool = True
    ) -> None:
        self.path = str(path)
        in_memory = self.path == ":memory:"
        # An in-memory store's data lives in the pool itself: no cap unless asked for.
        limit = memory_limit or (None if in_memory else DEFAULT_MEMORY_LIMIT)
        config: dict[str, str | bool | int | float | list[str]] = {"memory_limit": limit} if limit else {}
        # No files, network or extensions for SQL on this database (the query service's
        # queries run here): the store itself reads and writes only its own database file
        # (and DuckDB's temporary spill files); exports go through pyarrow writers.
        config["enable_external_access"] = False
        try:
            if not in_memory:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._con = duckdb.connect(self.path, config=config)
            self._con.execute("SET TimeZone = 'UTC'")
            self._con.execute(_SCHEMA)
            rows = self._con.execute("SELECT sid, epoch_us(max(ts)) FROM points GROUP BY sid").fetchall()
            state = self._con.execute("SELECT done_us, dirty_us FROM rollup_state WHERE name = 'points'").fetchone()
            floor = self._con.execute("SELECT done_us FROM rollup_state WHERE name = 'raw_floor'").fetchone()
        except duckdb.Error as exc:
            raise StoreError(f"cannot open DuckDB store {self.path}: {exc}") from exc
        if cold_dir is None and not in_memory:
            cold_dir = Path(self.path).parent / "history"
        #: The Parquet files of older days (None: this store keeps everything in the database).
        self.cold: ColdHistory | None = None if cold_dir is None else ColdHistory(Path(cold_dir), self._con)
        #: Raw rows before this time (µs) may have been dropped by retention: rollups are never
        #: recomputed from before it (they outlive the raw rows).
        self.raw_floor_us: int | None = None if floor is None else floor[0]
        self._cold_newest: tuple[int, pa.Table] | None = None
        self._hw = Watermarks.from_pairs(rows)
        if self.cold is not None and self.cold.files:
            self._hw.floor = max(f.max_us for f in self.cold.files)
        self._lock = threading.RLock()  # reentrant: a read under it moves the staged rows first
        #: How far the 1-minute/1-hour rollups are complete (see :mod:`twinverse.store.rollup`).
        self.rollups = RollupState(None if state is None else state[0])
        if state is not None:
            self.rollups.dirty_us = state[1]
        #: New rows acknowledged and not yet in the database (:mod:`.staging`); None in memory.
        self._staging: StagingLog | None = None
        self._staged_since = 0.0
        if staging and not in_memory:  # what a crash left staged is taken in first (idempotent)
            self._staging = StagingLog.open(Path(self.path + ".staged"), self._append_db)

    def settle(self) -> None:
        """Move the staged rows into the database (every read does this first)."""
        staging = self._staging
        if staging is not None and staging.rows:
            with self._lock:
                self._move_staged()

    def _move_staged(self, *, failing: str | None = None) -> None:
        """With the lock held: one insert of every staged row, then the file is emptied (a failure raises,
        or with ``failing`` is logged with it: the rows stay staged for the next read or append)."""
        staging = self._staging
        if staging is None or not staging.rows:
            return
        try:
            self._con.from_arrow(pa.Table.from_batches(staging.take())).insert_into("points")
        except duckdb.Error as exc:
            message = f"DuckDB append of {staging.rows} staged rows failed: {exc}"
            if failing is None:
                raise StoreError(message) from exc
            log.warning("%s; %s", message, failing)
            return
        try:
            staging.clear()
        except OSError as exc:  # the rows are in the database: a later restart skips them
            log.warning("%s: cannot empty the staging file: %s", staging.path, exc)

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        self.settle()  # what a reader sees includes every acknowledged row
        cur = self._con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A new connection to this store's database (UTC) for read queries over ``points``.

        Used by the SQL query service (:mod:`twinverse.query`), which checks every statement
        before it runs one here; the connection is the caller's to close.
        """
        try:
            return self._cursor()
        except duckdb.Error as exc:
            raise StoreError(f"DuckDB store {self.path}: cannot open a reader: {exc}") from exc

    def raw_source(self, con: duckdb.DuckDBPyConnection, start_us: int | None, end_us: int | None,
                   name: str = "cold_scan") -> str:  # fmt: skip
        """SQL for every raw row of ``[start, end)`` (either open): ``points``, with the cold days it touches.

        Those days are registered on ``con`` as the Arrow dataset ``name`` (not read by DuckDB
        from files: external access stays off).
        """
        dataset = None if self.cold is None else self.cold.dataset(start_us, end_us)
        if dataset is None:
            return "points"
        con.register(name, dataset)
        return f"(SELECT ts, sid, value, quality FROM points UNION ALL SELECT ts, sid, value, quality FROM {name})"

    def _read(self, build: Callable[[str], str], params: list[object], start_us: int | None = None,
              end_us: int | None = None) -> pa.Table:  # fmt: skip
        """``build(raw source)`` run as a query; again if a move to cold files committed meanwhile.

        A query that took the file list just before a move and read ``points`` just after it
        would miss the day moved; the generation tells, and the second try sees it.
        """
        for _ in range(3):
            gen = self._generation()
            cur = self._cursor()
            out = self._arrow(build(self.raw_source(cur, start_us, end_us)), params, cur)
            if self._generation() == gen:
                break
        return out

    def _generation(self) -> int:
        return 0 if self.cold is None else self.cold.generation

    def append(self, batch: pa.RecordBatch) -> int:
        """Write ``batch`` durably; rows after their watermark go to the staging file (:mod:`.staging`)."""
        if batch.num_rows == 0:
            return 0
        with self._lock:
            staging = self._staging
            if staging is not None:
                fresh = bool(self._hw.is_new(batch).all())
                if fresh and batch.num_rows <= STAGE_MAX_BATCH:
                    try:
                        staging.append(batch)
                    except OSError as exc:
                        raise StoreError(f"cannot write the staging file {staging.path}: {exc}") from exc
                    self._stored(batch)
                    now = time.monotonic()
                    if staging.rows == batch.num_rows:
                        self._staged_since = now
                    if staging.rows >= STAGE_ROWS or now - self._staged_since >= STAGE_SECONDS:
                        self._move_staged(failing="this batch is staged all the same; reads will retry")
                    return int(batch.num_rows)
                if not fresh:
                    self._move_staged()  # late or repeated rows are checked against everything stored
            return self._append_db(batch)

    def _append_db(self, batch: pa.RecordBatch) -> int:
        """Write ``batch`` into the database itself (skipping rows it holds)."""
        with self._lock:
            # Under the lock: two threads appending the same rows must not both see them as new.
            new = self._hw.is_new(batch)
            con = self._con
            written: int
            try:
                if new.all():
                    # One statement, its own transaction: every call into DuckDB gives up the
                    # GIL and must win it back from busy threads (the API's event loop).
                    # A relation over the batch, not a replacement scan (external access is off)
                    # nor a registered view (each registration is a catalogue change: slower).
                    con.from_arrow(batch).insert_into("points")
                    written = int(batch.num_rows)
                else:
                    con.execute("BEGIN TRANSACTION")
                    fresh = batch.filter(pa.array(new))
                    late = batch.filter(pa.array(~new))
                    written = int(fresh.num_rows)
                    con.register("late", late)
                    if fresh.num_rows:
                        con.register("fresh", fresh)
                        con.execute("INSERT INTO points SELECT * FROM fresh")
                    lo, hi = ts_bounds(late)
                    raw = self.raw_source(con, to_us(lo), to_us(hi) + 1, "cold_late")
                    row = con.execute(
                        f"""INSERT INTO points SELECT l.* FROM late l
                            WHERE NOT EXISTS (SELECT 1 FROM {raw} p WHERE p.sid = l.sid AND p.ts = l.ts
                                              AND p.ts BETWEEN ? AND ?)""",
                        [lo, hi],
                    ).fetchone()
                    written += int(row[0]) if row else 0
                    con.execute("COMMIT")
            except duckdb.Error as exc:
                if not new.all():
                    con.execute("ROLLBACK")
                raise StoreError(f"DuckDB append failed: {exc}") from exc
            finally:
                if not new.all():
                    for name in ("fresh", "late", "cold_late"):
                        con.unregister(name)  # no reference to the batch is kept
            self._stored(batch)
        return written

    def _stored(self, batch: pa.RecordBatch) -> None:
        """Raise the watermarks over a stored (or staged) batch and mark its rollup buckets stale."""
        self._hw.update(batch)
        self.rollups.note_append(int(ts_to_us(batch.column("ts")).min()))

    # -- rollups ------------------------------------------------------------------------------
    def refresh_rollups(self, now_us: int | None = None, *, max_steps: int = 1_000) -> int:
        """Bring the rollups up to date (stale buckets first); returns the steps taken.

        Each step aggregates at most a day of history in one transaction under the write
        lock, which is released between steps so that ingest goes on.
        """
        now = now_us if now_us is not None else to_us(datetime.now(UTC))
        steps = 0
        while steps < max_steps:
            with self._lock:
                self._move_staged()
                oldest = None
                if self.rollups.done_us is None:
                    oldest = self._earliest_us(None)
                plan = self.rollups.plan(now, oldest)
                if plan is None:
                    return steps
                a, b = plan
                # Late rows before the retention cutoff: the buckets there keep what they summarised.
                sa = a if self.raw_floor_us is None else min(max(a, floor_us(self.raw_floor_us, MINUTE_US)), b)
                ha, hb = floor_us(sa, HOUR_US), ceil_us(b, HOUR_US)
                con = self._con
                before = (self.rollups.done_us, self.rollups.dirty_us)
                try:
                    con.execute("BEGIN TRANSACTION")
                    if sa < b:
                        con.execute(_ROLLUP_DELETE.format(table="rollup_1m"), [sa, b])
                        con.execute(_ROLLUP_RAW.format(raw=self.raw_source(con, sa, b, "cold_roll")),
                                    [MINUTE_US, MINUTE_US, sa, b])  # fmt: skip
                        con.execute(_ROLLUP_DELETE.format(table="rollup_1h"), [ha, hb])
                        con.execute(_ROLLUP_HOURS, [HOUR_US, HOUR_US, ha, hb])
                    self.rollups.finished(a, b)
                    con.execute("INSERT OR REPLACE INTO rollup_state VALUES ('points', ?, ?)",
                                [self.rollups.done_us, self.rollups.dirty_us])
                    con.execute("COMMIT")
                except duckdb.Error as exc:
                    con.execute("ROLLBACK")
                    self.rollups.done_us, self.rollups.dirty_us = before
                    raise StoreError(f"DuckDB rollup refresh failed: {exc}") from exc
                finally:
                    con.unregister("cold_roll")
            steps += 1
        return steps

    def _history_rolled(self, query: HistoryQuery, iv: int) -> pa.Table | None:
        """A downsampled query answered from rollups where whole buckets allow, else None."""
        st = self.rollups
        if iv % MINUTE_US or st.dirty_us is not None:
            return None
        minutes, hours = LEVELS
        level = hours if iv % hours.width_us == 0 and (st.hour_done_us or 0) > 0 else minutes
        done = st.hour_done_us if level is hours else st.done_us
        start = None if query.start is None else to_us(query.start)
        end = None if query.end is None else to_us(query.end)
        part = split_range(start, end, iv, done)
        if part is None:
            return None
        a, b = part
        sid_filter = sid_sql(query.sids)
        rolled = [sid_filter, f"bucket < make_timestamp({b})"]
        raw_ranges = []
        if end is None or b < end:
            upto = "" if end is None else f" AND ts < make_timestamp({end})"
            raw_ranges.append(f"ts >= make_timestamp({b}){upto}")
        if start is not None:
            rolled.append(f"bucket >= make_timestamp({a})")
            if start < a:
                raw_ranges.append(f"ts >= make_timestamp({start}) AND ts < make_timestamp({a})")
        if iv == level.width_us:  # one rollup row per output bucket: no second aggregation
            parts = [f"""SELECT sid, bucket AS ts, {rollup_one_sql(query.aggregate)} AS value, n
                         FROM {level.table} WHERE {" AND ".join(rolled)}"""]
        else:
            parts = [f"""SELECT sid, make_timestamp((epoch_us(bucket) // {iv}) * {iv}) AS ts,
                                {rollup_agg_sql(query.aggregate)} AS value, sum(n)::BIGINT AS n
                         FROM {level.table} WHERE {" AND ".join(rolled)} GROUP BY 1, 2"""]
        if raw_ranges:  # the edges of the range and the newest minutes, from raw rows
            parts.append(f"""SELECT sid, make_timestamp((epoch_us(ts) // {iv}) * {iv}) AS ts,
                                    {agg_sql(query.aggregate)} AS value, count(*)::BIGINT AS n
                             FROM {{raw}} WHERE {sid_filter} AND (({") OR (".join(raw_ranges)})) GROUP BY 1, 2""")
        sql = f"SELECT * FROM ({' UNION ALL '.join(parts)}) ORDER BY 1, 2 LIMIT {int(query.limit)}"
        if not raw_ranges:
            return self._arrow(sql, [])
        return self._read(lambda raw: sql.replace("{raw}", raw), [], start, end)

    def append_quarantine(self, rows: pa.Table) -> None:
        q = rows.cast(QUARANTINE_SCHEMA)
        with self._lock:
            try:
                self._con.register("q", q)
                self._con.execute("INSERT INTO quarantine SELECT * FROM q")
            except duckdb.Error as exc:
                raise StoreError(f"DuckDB quarantine append failed: {exc}") from exc
            finally:
                self._con.unregister("q")

    def latest(self) -> pa.Table:
        sql = """SELECT sid, max(ts) AS ts, arg_max(value, ts) AS value, arg_max(quality, ts) AS quality
                 FROM {raw} GROUP BY sid ORDER BY sid"""
        if self.cold is None or not self.cold.files:
            return self._arrow(sql.replace("{raw}", "points"), [])
        cur = self._cursor()
        cur.register("cold_latest", self._cold_latest())
        raw = "(SELECT ts, sid, value, quality FROM points UNION ALL SELECT ts, sid, value, quality FROM cold_latest)"
        return self._arrow(sql.replace("{raw}", raw), [], cur)

    def _cold_latest(self) -> pa.Table:
        """The newest cold row of every signal, computed once per file list (a scan of all cold files)."""
        assert self.cold is not None
        gen = self.cold.generation
        if self._cold_newest is None or self._cold_newest[0] != gen:
            cur = self._cursor()
            cur.register("cold_all", self.cold.everything())
            table = self._arrow("""SELECT max(ts) AS ts, sid, arg_max(value, ts) AS value,
                                          arg_max(quality, ts) AS quality FROM cold_all GROUP BY sid""", [], cur)
            self._cold_newest = (gen, table)
        return self._cold_newest[1]

    def _arrow(self, sql: str, params: list[object], cur: duckdb.DuckDBPyConnection | None = None) -> pa.Table:
        try:
            out = (cur or self._cursor()).sql(sql, params=params).to_arrow_table()
        except duckdb.Error as exc:
            raise StoreError(f"DuckDB query failed: {exc}") from exc
        if "ts" in out.column_names:
            i = out.column_names.index("ts")
            out = out.set_column(i, "ts", out.column("ts").cast(TS_TYPE))
        return out

    def history(self, query: HistoryQuery) -> pa.Table:
        if not query.sids:
            return history_schema(query.interval is not None).empty_table()
        where, params = _where(query.sids, query.start, query.end)
        if query.interval is None:
            sql = f"SELECT sid, ts, value FROM {{raw}} WHERE {where} ORDER BY sid, ts LIMIT {int(query.limit)}"
        else:
            iv = interval_us(query.interval)
            rolled = self._history_rolled(query, iv) if query.use_rollups else None
            if rolled is not None:
                return rolled
            sql = f"""SELECT sid, make_timestamp((epoch_us(ts) // {iv}) * {iv}) AS ts,
                             {agg_sql(query.aggregate)} AS value, count(*) AS n
                      FROM {{raw}} WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2 LIMIT {int(query.limit)}"""
        start = None if query.start is None else to_us(query.start)
        end = None if query.end is None else to_us(query.end)
        return self._read(lambda raw: sql.replace("{raw}", raw), params, start, end)

    def quarantine(self, limit: int = 100, offset: int = 0) -> pa.Table:
        return self._arrow(
            "SELECT * FROM quarantine ORDER BY received DESC LIMIT ? OFFSET ?", [int(limit), int(offset)]
        ).cast(QUARANTINE_SCHEMA)

    def quarantine_count(self) -> int:
        row = self._cursor().execute("SELECT count(*) FROM quarantine").fetchone()
        return int(row[0]) if row else 0

    def count(self) -> int:
        row = self._cursor().execute("SELECT count(*) FROM points").fetchone()
        return (int(row[0]) if row else 0) + (0 if self.cold is None else self.cold.rows)

    def export(
        self,
        path: Path,
        fmt: ExportFormat,
        names: pa.Table,
        sids: tuple[int, ...] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> int:
        # Written by pyarrow from a streamed result, not by DuckDB's COPY … TO: the database
        # has external access off, so SQL on it can reach no file (see __init__).
        where, params = _where(sids, start, end)
        cur = self._cursor()
        cur.register("names", names)
        raw = self.raw_source(cur, None if start is None else to_us(start), None if end is None else to_us(end))
        try:
            reader = cur.sql(
                f"""SELECT p.ts, n.twin, n.signal, p.value, p.quality
                    FROM {raw} p JOIN names n USING (sid) WHERE {where} ORDER BY n.twin, n.signal, p.ts""",
                params=params,
            ).to_arrow_reader(_DIGEST_CHUNK)
        except duckdb.Error as exc:
            raise StoreError(f"export failed: {exc}") from exc
        schema = pa.schema([("ts", TS_TYPE), ("twin", pa.string()), ("signal", pa.string()),
                            ("value", pa.float64()), ("quality", pa.uint8())])  # fmt: skip
        writer: pq.ParquetWriter | pacsv.CSVWriter
        try:
            writer = (
                pq.ParquetWriter(str(path), schema, compression="zstd")
                if fmt is ExportFormat.PARQUET
                else pacsv.CSVWriter(str(path), schema)
            )
        except (OSError, pa.ArrowException) as exc:
            raise StoreError(f"export failed: cannot write {path}: {exc}") from exc
        rows = 0
        try:
            with writer:
                for batch in reader:
                    writer.write_batch(batch.cast(schema) if batch.schema != schema else batch)
                    rows += batch.num_rows
        except (OSError, pa.ArrowException, duckdb.Error) as exc:
            raise StoreError(f"export failed: {exc}") from exc
        return rows

    def earliest(self, since: datetime | None = None) -> datetime | None:
        us = self._earliest_us(None if since is None else to_us(since))
        return None if us is None else from_us(us)

    def _earliest_us(self, since_us: int | None) -> int | None:
        where, params = _where(None, None if since_us is None else from_us(since_us), None)
        cur = self._cursor()
        found: list[int] = []
        try:
            row = cur.execute(f"SELECT epoch_us(min(ts)) FROM points WHERE {where}", params).fetchone()
            if row is not None and row[0] is not None:
                found.append(int(row[0]))
            listed = () if self.cold is None else self.cold.files
            files = [f for f in listed if since_us is None or f.max_us >= since_us]
            found.extend(f.min_us for f in files if since_us is None or f.min_us >= since_us)
            straddle = [f for f in files if since_us is not None and f.min_us < since_us]
            if straddle and self.cold is not None:  # files that begin before since: look inside them
                cur.register("cold_first", self.cold.open(straddle))
                row = cur.execute(f"SELECT epoch_us(min(ts)) FROM cold_first WHERE {where}", params).fetchone()
                if row is not None and row[0] is not None:
                    found.append(int(row[0]))
        except duckdb.Error as exc:
            raise StoreError(f"DuckDB query failed: {exc}") from exc
        return min(found) if found else None

    def segment_digest(self, start: datetime, end: datetime) -> tuple[int, str]:
        where, params = _where(None, start, end)
        hasher = SegmentHasher()
        cur = self._cursor()
        raw = self.raw_source(cur, to_us(start), to_us(end))
        try:
            # value and quality in the ORDER BY only break ties that a store with intact
            # (sid, ts) uniqueness never has: they keep a tampered file's digest deterministic.
            reader = (
                cur
                .sql(
                    f"""SELECT sid, epoch_us(ts) AS ts, value, quality FROM {raw} WHERE {where}
                        ORDER BY sid, ts, value, quality""",
                    params=params,
                )
                .to_arrow_reader(_DIGEST_CHUNK)
            )
            for batch in reader:
                sid, ts, value, quality = (np.asarray(c.to_numpy(zero_copy_only=False)) for c in batch.columns)
                hasher.update(sid, ts, value, quality)
        except duckdb.Error as exc:
            raise StoreError(f"DuckDB segment digest failed: {exc}") from exc
        return hasher.result()

    # -- cold history and retention (:mod:`.duckkeep`) ------------------------------------------
    def archive(self, before_us: int) -> list[ColdFile]:
        """Move every whole UTC day before ``before_us`` from the database to a Parquet file (none in memory)."""
        from .duckkeep import archive

        return archive(self, before_us)

    def expire(self, policy: RetentionPolicy, now_us: int | None = None) -> dict[str, int]:
        """Drop raw rows, cold day files and rollups that ``policy`` no longer keeps; counts of what went."""
        from .duckkeep import expire

        return expire(self, policy, now_us if now_us is not None else to_us(datetime.now(UTC)))

    def close(self) -> None:
        with self._lock:
            if self._staging is not None:
                self._move_staged(failing="they stay in the staging file: the next open takes them in")
                self._staging.close()
                self._staging = None
            self._con.close()
            if self.cold is not None:
                self.cold.sweep()


def _where(sids: tuple[int, ...] | None, start: datetime | None, end: datetime | None) -> tuple[str, list[object]]:
    clauses: list[str] = ["TRUE"]
    params: list[object] = []
    if sids is not None:
        clauses.append(sid_sql(sids))
    if start is not None:
        clauses.append("ts >= make_timestamp(?)")
        params.append(to_us(start))
    if end is not None:
        clauses.append("ts < make_timestamp(?)")
        params.append(to_us(end))
    return " AND ".join(clauses), params


def open_duckdb(url: str, data_dir: Path | None = None) -> DuckDBStore:
    """The ``duckdb`` store plugin: ``duckdb`` (``DATA_DIR/twinverse.duckdb``), ``duckdb:///abs.duckdb``,
    ``duckdb://rel.duckdb``, ``duckdb://:memory:``, a plain path or ``:memory:``; each may end
    in ``?memory_limit=SIZE`` (DuckDB's syntax: ``512MB``, ``2GB``; default :data:`DEFAULT_MEMORY_LIMIT`)
    and ``staging=off`` (no staging file, :mod:`.staging`)."""
    url, _, query = url.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=False)) if query else {}
    unknown = sorted(set(options) - {"memory_limit", "staging"})
    if unknown:
        raise ConfigError(f"store URL option(s) {', '.join(unknown)} unknown to the DuckDB store; "
                          "known: memory_limit, staging")  # fmt: skip
    limit = options.get("memory_limit") or None
    flag = options.get("staging", "on").lower()
    if flag not in ("on", "off", "true", "false", "1", "0"):
        raise ConfigError(f"store URL option staging={flag!r}: use on or off")
    staging = flag in ("on", "true", "1")
    if url in ("", "duckdb"):
        return DuckDBStore((data_dir or Path("data")) / "twinverse.duckdb", memory_limit=limit, staging=staging)
    path = url.removeprefix("duckdb://")
    return DuckDBStore(":memory:" if path in (":memory:", "/:memory:") else path, memory_limit=limit, staging=staging)
