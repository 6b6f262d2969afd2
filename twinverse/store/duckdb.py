"""The embedded default store: one DuckDB file in the data directory."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from ..core.batch import QUARANTINE_SCHEMA, TS_TYPE
from ..core.clock import from_us, to_us
from ..errors import StoreError
from .base import ExportFormat, HistoryQuery, SegmentHasher
from .common import Watermarks, agg_sql, history_schema, interval_us, ts_bounds

__all__ = ["DuckDBStore", "open_duckdb"]

#: Rows per Arrow batch when hashing a segment: bounds memory, not the result.
_DIGEST_CHUNK = 1 << 20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    ts TIMESTAMPTZ NOT NULL, sid INTEGER NOT NULL, value DOUBLE NOT NULL, quality UTINYINT NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    received TIMESTAMPTZ, ts TIMESTAMPTZ, twin VARCHAR, signal VARCHAR, value VARCHAR,
    reason VARCHAR, source VARCHAR
);
"""


class DuckDBStore:
    """History in a DuckDB file (``":memory:"`` for a throwaway store).

    Appends of in-order data go straight in as Arrow; rows at or before a signal's newest
    stored timestamp (redeliveries, late data) take an anti-join so (sid, ts) stays unique.
    Each append is one transaction: DuckDB syncs its WAL on commit, so a returned append is
    durable.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._con = duckdb.connect(self.path)
            self._con.execute("SET TimeZone = 'UTC'")
            self._con.execute(_SCHEMA)
            rows = self._con.execute("SELECT sid, epoch_us(max(ts)) FROM points GROUP BY sid").fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"cannot open DuckDB store {self.path}: {exc}") from exc
        self._hw = Watermarks.from_pairs(rows)
        self._lock = threading.Lock()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
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

    def append(self, batch: pa.RecordBatch) -> int:
        if batch.num_rows == 0:
            return 0
        with self._lock:
            # Under the lock: two threads appending the same rows must not both see them as new.
            new = self._hw.is_new(batch)
            con = self._con
            written: int
            try:
                if new.all():
                    # One statement, its own transaction: every call into DuckDB gives up the
                    # GIL and must win it back from busy threads (the API's event loop).
                    fresh = batch  # read by DuckDB's replacement scan
                    con.execute("INSERT INTO points SELECT * FROM fresh")
                    written = int(batch.num_rows)
                else:
                    con.execute("BEGIN TRANSACTION")
                    fresh = batch.filter(pa.array(new))
                    late = batch.filter(pa.array(~new))
                    written = int(fresh.num_rows)
                    if fresh.num_rows:
                        con.execute("INSERT INTO points SELECT * FROM fresh")
                    row = con.execute(
                        """INSERT INTO points SELECT l.* FROM late l
                           WHERE NOT EXISTS (SELECT 1 FROM points p WHERE p.sid = l.sid AND p.ts = l.ts
                                             AND p.ts BETWEEN ? AND ?)""",
                        list(ts_bounds(late)),
                    ).fetchone()
                    written += int(row[0]) if row else 0
                    con.execute("COMMIT")
            except duckdb.Error as exc:
                if not new.all():
                    con.execute("ROLLBACK")
                raise StoreError(f"DuckDB append failed: {exc}") from exc
            self._hw.update(batch)
        return written

    def append_quarantine(self, rows: pa.Table) -> None:
        q = rows.cast(QUARANTINE_SCHEMA)  # noqa: F841 - read by DuckDB's replacement scan
        with self._lock:
            try:
                self._con.execute("INSERT INTO quarantine SELECT * FROM q")
            except duckdb.Error as exc:
                raise StoreError(f"DuckDB quarantine append failed: {exc}") from exc

    def latest(self) -> pa.Table:
        return self._arrow(
            """SELECT sid, max(ts) AS ts, arg_max(value, ts) AS value, arg_max(quality, ts) AS quality
               FROM points GROUP BY sid ORDER BY sid""",
            [],
        )

    def _arrow(self, sql: str, params: list[object]) -> pa.Table:
        try:
            out = self._cursor().sql(sql, params=params).to_arrow_table()
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
            sql = f"SELECT sid, ts, value FROM points WHERE {where} ORDER BY sid, ts LIMIT {int(query.limit)}"
        else:
            iv = interval_us(query.interval)
            sql = f"""SELECT sid, make_timestamp((epoch_us(ts) // {iv}) * {iv}) AS ts,
                             {agg_sql(query.aggregate)} AS value, count(*) AS n
                      FROM points WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2 LIMIT {int(query.limit)}"""
        return self._arrow(sql, params)

    def quarantine(self, limit: int = 100, offset: int = 0) -> pa.Table:
        return self._arrow(
            "SELECT * FROM quarantine ORDER BY received DESC LIMIT ? OFFSET ?", [int(limit), int(offset)]
        ).cast(QUARANTINE_SCHEMA)

    def quarantine_count(self) -> int:
        row = self._cursor().execute("SELECT count(*) FROM quarantine").fetchone()
        return int(row[0]) if row else 0

    def count(self) -> int:
        row = self._cursor().execute("SELECT count(*) FROM points").fetchone()
        return int(row[0]) if row else 0

    def export(
        self,
        path: Path,
        fmt: ExportFormat,
        names: pa.Table,
        sids: tuple[int, ...] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> int:
        where, params = _where(sids, start, end)
        cur = self._cursor()
        cur.register("names", names)
        fmt_sql = "FORMAT PARQUET, COMPRESSION ZSTD" if fmt is ExportFormat.PARQUET else "FORMAT CSV, HEADER"
        target = str(path).replace("'", "''")
        try:
            row = cur.execute(
                f"""COPY (SELECT p.ts, n.twin, n.signal, p.value, p.quality
                          FROM points p JOIN names n USING (sid) WHERE {where} ORDER BY n.twin, n.signal, p.ts)
                    TO '{target}' ({fmt_sql})""",
                params,
            ).fetchone()
        except duckdb.Error as exc:
            raise StoreError(f"export failed: {exc}") from exc
        return int(row[0]) if row else 0  # COPY answers with the number of rows written

    def earliest(self, since: datetime | None = None) -> datetime | None:
        where, params = _where(None, since, None)
        try:
            row = self._cursor().execute(f"SELECT epoch_us(min(ts)) FROM points WHERE {where}", params).fetchone()
        except duckdb.Error as exc:
            raise StoreError(f"DuckDB query failed: {exc}") from exc
        if row is None or row[0] is None:
            return None
        return from_us(int(row[0]))

    def segment_digest(self, start: datetime, end: datetime) -> tuple[int, str]:
        where, params = _where(None, start, end)
        hasher = SegmentHasher()
        try:
            # value and quality in the ORDER BY only break ties that a store with intact
            # (sid, ts) uniqueness never has: they keep a tampered file's digest deterministic.
            reader = (
                self._cursor()
                .sql(
                    f"""SELECT sid, epoch_us(ts) AS ts, value, quality FROM points WHERE {where}
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

    def close(self) -> None:
        with self._lock:
            self._con.close()


def _where(sids: tuple[int, ...] | None, start: datetime | None, end: datetime | None) -> tuple[str, list[object]]:
    clauses: list[str] = ["TRUE"]
    params: list[object] = []
    if sids is not None:
        clauses.append(f"sid IN ({','.join(str(int(s)) for s in sids) or 'NULL'})")
    if start is not None:
        clauses.append("ts >= make_timestamp(?)")
        params.append(to_us(start))
    if end is not None:
        clauses.append("ts < make_timestamp(?)")
        params.append(to_us(end))
    return " AND ".join(clauses), params


def open_duckdb(url: str, data_dir: Path | None = None) -> DuckDBStore:
    """The ``duckdb`` store plugin: ``duckdb`` (``DATA_DIR/twinverse.duckdb``), ``duckdb:///abs.duckdb``,
    ``duckdb://rel.duckdb``, ``duckdb://:memory:``, a plain path or ``:memory:``."""
    if url in ("", "duckdb"):
        return DuckDBStore((data_dir or Path("data")) / "twinverse.duckdb")
    path = url.removeprefix("duckdb://")
    return DuckDBStore(":memory:" if path in (":memory:", "/:memory:") else path)
