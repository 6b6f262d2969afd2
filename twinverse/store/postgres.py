"""PostgreSQL store (psycopg 3) for deployments where several processes write history.

Batches travel as binary COPY built column-wise with NumPy (no Python object per row) and
come back as binary arrays (``array_agg``) parsed the same way.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..core.batch import QUARANTINE_SCHEMA, TS_TYPE, ts_array, ts_to_us
from ..errors import StoreError
from .base import Aggregate, ExportFormat, HistoryQuery, SegmentHasher
from .common import Watermarks, history_schema, interval_us, url_schema

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg import sql
    from psycopg.abc import Buffer
    from psycopg.adapt import Loader
    from psycopg.conninfo import conninfo_to_dict
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise StoreError("the PostgreSQL store needs psycopg: pip install 'twinverse[postgres]'") from exc

__all__ = ["POINT_ROW", "AfterWrite", "PostgresStore", "open_postgres"]

_T = TypeVar("_T")

#: PostgreSQL counts timestamps in µs from 2000-01-01 UTC; Arrow from 1970-01-01.
_PG_EPOCH_US = 946_684_800_000_000
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_COPY_HEADER = _COPY_SIGNATURE + bytes(8)  # signature, flags, header extension length
_COPY_TRAILER = b"\xff\xff"

# One ``points`` row in binary COPY: field count, then (length, big-endian value) per column.
_POINT_ROW = np.dtype(
    [
        ("nfields", ">i2"),
        ("ts_len", ">i4"), ("ts", ">i8"),
        ("sid_len", ">i4"), ("sid", ">i4"),
        ("value_len", ">i4"), ("value", ">f8"),
        ("quality_len", ">i4"), ("quality", ">i2"),
    ]
)  # fmt: skip
POINT_ROW = _POINT_ROW  # the layout, for store.pglive; AfterWrite: called in each append's transaction
AfterWrite = Callable[["psycopg.Connection[Any]", npt.NDArray[np.uint8]], None]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    ts timestamptz NOT NULL,
    sid integer NOT NULL,
    value double precision NOT NULL,
    quality smallint NOT NULL,
    PRIMARY KEY (sid, ts)
);
CREATE TABLE IF NOT EXISTS quarantine (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received timestamptz, ts timestamptz, twin text, signal text, value text, reason text, source text
);
CREATE INDEX IF NOT EXISTS quarantine_received ON quarantine (received DESC, id DESC);
"""

# The sids with history, by a skip scan over the primary key (one index probe per signal)
# rather than a full-table GROUP BY.
_SIDS = """
WITH RECURSIVE s(sid) AS (
    SELECT min(sid) FROM points
    UNION ALL
    SELECT (SELECT min(p.sid) FROM points p WHERE p.sid > s.sid) FROM s WHERE s.sid IS NOT NULL
)
"""
_LATEST = (
    _SIDS
    + """SELECT s.sid, l.ts, l.value, l.quality FROM s
CROSS JOIN LATERAL (
    SELECT p.ts, p.value, p.quality FROM points p WHERE p.sid = s.sid ORDER BY p.ts DESC LIMIT 1
) l
ORDER BY s.sid"""
)
_WATERMARKS = _SIDS + "SELECT sid, (SELECT max(p.ts) FROM points p WHERE p.sid = s.sid) FROM s WHERE sid IS NOT NULL"

_AGG_SQL = {
    Aggregate.AVG: "avg(value)",
    Aggregate.MIN: "min(value)",
    Aggregate.MAX: "max(value)",
    Aggregate.LAST: "(array_agg(value ORDER BY ts DESC))[1]",
    Aggregate.FIRST: "(array_agg(value ORDER BY ts))[1]",
    Aggregate.COUNT: "count(*)::double precision",
}

# Binary element layout of the array types we read back: OID -> big-endian NumPy type.
_ARRAY_ELEM = {1005: ">i2", 1007: ">i4", 1016: ">i8", 1022: ">f8", 1185: ">i8"}
# A segment is hashed from a binary COPY of (ts, sid, value, quality) in rows of this many
# bytes (header and trailer aside), parsed this many bytes at a time.
_DIGEST_BYTES = _POINT_ROW.itemsize * (1 << 16)
_EARLIEST = _SIDS + "SELECT min((SELECT min(p.ts) FROM points p WHERE p.sid = s.sid AND p.ts >= %s)) FROM s"
_TIMESTAMPTZ_ARRAY = 1185
_EXPORT_PAGE = 1_000_000


class _RawLoader(Loader):
    """Keep a binary value as bytes so NumPy can parse whole arrays at once."""

    format = psycopg.pq.Format.BINARY

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


def _copy_buffer(
    ts_us: npt.NDArray[np.int64],
    sid: npt.NDArray[np.integer[Any]],
    value: npt.NDArray[np.float64],
    quality: npt.NDArray[np.integer[Any]],
) -> npt.NDArray[np.uint8]:
    """The rows of ``points`` as the body of a binary COPY (without header and trailer)."""
    rows = np.empty(len(ts_us), dtype=_POINT_ROW)
    rows["nfields"] = 4
    rows["ts_len"] = 8
    rows["ts"] = ts_us - _PG_EPOCH_US
    rows["sid_len"] = 4
    rows["sid"] = sid
    rows["value_len"] = 8
    rows["value"] = value
    rows["quality_len"] = 2
    rows["quality"] = quality
    return rows.view(np.uint8)


def _parse_array(data: bytes | None, oid: int) -> npt.NDArray[Any]:
    """A one-dimensional binary array without NULLs as a native NumPy array."""
    elem = np.dtype(_ARRAY_ELEM[oid])
    if data is None:  # array_agg over no rows
        return np.empty(0, dtype=elem.newbyteorder("="))
    ndim, has_null, _elem_oid = struct.unpack_from(">iii", data, 0)
    if ndim == 0:
        return np.empty(0, dtype=elem.newbyteorder("="))
    if ndim != 1 or has_null:
        raise StoreError(f"unexpected array from PostgreSQL (ndim={ndim}, has_null={has_null})")
    (size,) = struct.unpack_from(">i", data, 12)
    items = np.frombuffer(data, dtype=np.dtype([("len", ">i4"), ("v", elem)]), count=size, offset=20)
    out = items["v"].astype(elem.newbyteorder("="))
    return out + _PG_EPOCH_US if oid == _TIMESTAMPTZ_ARRAY else out


def _describe(url: str) -> str:
    """``host:port/dbname`` of a connection URL, without user or password."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        return "<invalid PostgreSQL URL>"
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def _aware(t: datetime | None) -> datetime | None:  # naive datetimes mean UTC (as in the DuckDB store)
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class PostgresStore:
    """History in PostgreSQL: ``points`` keyed by (sid, ts) and ``quarantine``.

    Rows after a signal's newest stored timestamp (this process's watermark) go in by plain
    binary COPY; older rows (redeliveries, late data) are copied to a temporary staging table
    and merged with ``INSERT … ON CONFLICT DO NOTHING``. If another process stored some of
    the "new" rows first, the COPY hits the primary key and the whole batch is retried on the
    staging path. Each append is one committed transaction, so a returned append is durable.

    Appends use one writer connection; reads take connections from a small pool, so API
    queries run while a batch is being written.
    """

    def __init__(self, url: str, *, connect_timeout: float = 10.0, max_idle_readers: int = 4) -> None:
        self.url = url
        self._where = _describe(url)
        self._url_timeout = "connect_timeout" in url
        self._timeout = connect_timeout
        self._max_idle = max_idle_readers
        self._wlock = threading.Lock()
        self._plock = threading.Lock()
        self._idle: list[psycopg.Connection[Any]] = []
        self._closed = False
        self._writer: psycopg.Connection[Any] | None = None
        self.after_write: list[AfterWrite] = []  # called in each append's transaction (store.pglive, pgrollup)
        self.rollups: Any = None  # store.pgrollup.PgRollups once enabled: downsampled history reads them
        con = self._connect()
        try:
            with con.transaction():
                # Concurrent CREATE … IF NOT EXISTS can still collide in the catalogue.
                con.execute("SELECT pg_advisory_xact_lock(hashtext('twinverse.schema'))")
                schema = url_schema(url)
                if schema is not None:  # a plant of a park: its tables in a schema of its own
                    con.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
                con.execute(_SCHEMA)
        except psycopg.Error as exc:
            con.close()
            raise StoreError(
                f"cannot create the twinverse tables in PostgreSQL {self._where}: {_first_line(exc)}"
            ) from exc
        self._put(con)
        sid, ts = self._columns(_WATERMARKS, (), 2)
        self._hw = Watermarks.from_pairs(zip(sid.tolist(), ts.tolist(), strict=True))

    # -- connections ---------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection[Any]:
        # A connect_timeout in the URL wins; without one, libpq would wait indefinitely.
        try:
            if self._url_timeout:
                return psycopg.connect(self.url, autocommit=True)
            return psycopg.connect(self.url, autocommit=True, connect_timeout=max(1, round(self._timeout)))
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {self._where}: {_first_line(exc)}") from exc

    def _writer_con(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise StoreError("the PostgreSQL store is closed")
        if self._writer is None or self._writer.closed or self._writer.broken:
            con = self._connect()
            try:
                # ON COMMIT DELETE ROWS empties it after every append without a TRUNCATE.
                con.execute("CREATE TEMP TABLE IF NOT EXISTS staging (LIKE points) ON COMMIT DELETE ROWS")
            except psycopg.Error as exc:
                con.close()
                raise StoreError(f"PostgreSQL {self._where}: cannot create staging table: {_first_line(exc)}") from exc
            self._writer = con
        return self._writer

    def _put(self, con: psycopg.Connection[Any]) -> None:
        with self._plock:
            if not self._closed and not con.closed and not con.broken and len(self._idle) < self._max_idle:
                self._idle.append(con)
                return
        con.close()

    def _read(self, what: str, fn: Callable[[psycopg.Connection[Any]], _T]) -> _T:
        """Run ``fn`` on a pooled autocommit connection; psycopg errors become :class:`StoreError`.

        Reads are idempotent, so a pooled connection that died while idle (server restart,
        terminated backend) is replaced and the read tried once more.
        """
        for attempt in range(2):
            with self._plock:
                if self._closed:
                    raise StoreError("the PostgreSQL store is closed")
                con = self._idle.pop() if self._idle else None
            pooled = con is not None
            if con is None:
                con = self._connect()
            try:
                result = fn(con)
            except psycopg.Error as exc:
                broken = con.broken
                if broken:
                    con.close()
                else:
                    self._put(con)
                if broken and pooled and attempt == 0:
                    continue
                raise StoreError(f"PostgreSQL {self._where}: {what} failed: {_first_line(exc)}") from exc
            self._put(con)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _columns(self, query: str | sql.Composable, params: Any, ncols: int) -> list[npt.NDArray[Any]]:
        """Run a query and return its columns as NumPy arrays (fixed-width, non-null types)."""
        names = sql.SQL(", ").join(sql.SQL("array_agg(q.{})").format(sql.Identifier(f"c{i}")) for i in range(ncols))
        cols = sql.SQL(", ").join(sql.Identifier(f"c{i}") for i in range(ncols))
        inner = sql.SQL(query) if isinstance(query, str) else query
        wrapped = sql.SQL("SELECT {} FROM ({}) AS q({})").format(names, inner, cols)

        def run(con: psycopg.Connection[Any]) -> tuple[Any, list[int]]:
            cur = con.cursor(binary=True)
            for oid in _ARRAY_ELEM:
                cur.adapters.register_loader(oid, _RawLoader)
            cur.execute(wrapped, params)
            return cur.fetchone(), [d.type_code for d in cur.description or ()]

        row, types = self._read("query", run)
        assert row is not None  # an aggregate without GROUP BY always returns one row
        return [_parse_array(row[i], types[i]) for i in range(ncols)]

    def refresh_rollups(self, now_us: int | None = None, *, max_steps: int = 1_000) -> int:  # store.pgrollup
        return 0 if self.rollups is None else int(self.rollups.refresh(now_us, max_steps=max_steps))

    # -- writing -------------------------------------------------------------------------
    def append(self, batch: pa.RecordBatch) -> int:
        n = batch.num_rows
        if n == 0:
            return 0
        ts = ts_to_us(batch.column("ts"))
        sid = np.asarray(batch.column("sid").to_numpy(), dtype=np.int32)
        value = np.asarray(batch.column("value").to_numpy(), dtype=np.float64)
        quality = np.asarray(batch.column("quality").to_numpy(), dtype=np.uint8)
        body = _copy_buffer(ts, sid, value, quality)
        merge_all = np.zeros(n, dtype=bool)
        with self._wlock:
            con = self._writer_con()
            new = self._hw.is_new_us(sid, ts)
            try:
                try:
                    written = self._transaction(con, body, new)
                except pg_errors.UniqueViolation:
                    # Another process stored some of these rows after our watermark was taken.
                    written = self._transaction(con, body, merge_all)
                except psycopg.OperationalError:
                    if not con.broken:
                        raise
                    # The connection died (server restart, idle connection killed); the batch
                    # may or may not have committed. The merge path is idempotent either way.
                    written = self._transaction(self._writer_con(), body, merge_all)
            except psycopg.Error as exc:
                raise StoreError(f"PostgreSQL {self._where}: append of {n} rows failed: {_first_line(exc)}") from exc
            self._hw.update_us(sid, ts)
        return written

    def _transaction(
        self, con: psycopg.Connection[Any], body: npt.NDArray[np.uint8], new: npt.NDArray[np.bool_]
    ) -> int:
        with con.transaction():
            written = self._write(con, body, new)
            for hook in self.after_write:
                hook(con, body)
            return written

    @staticmethod
    def _copy(con: psycopg.Connection[Any], table: str, body: npt.NDArray[np.uint8]) -> None:
        with con.cursor().copy(f"COPY {table} (ts, sid, value, quality) FROM STDIN (FORMAT BINARY)") as cp:
            cp.write(_COPY_HEADER)
            cp.write(body.data)
            cp.write(_COPY_TRAILER)

    def _write(self, con: psycopg.Connection[Any], body: npt.NDArray[np.uint8], new: npt.NDArray[np.bool_]) -> int:
        if new.all():
            self._copy(con, "points", body)
            return len(new)
        rows = body.reshape(len(new), _POINT_ROW.itemsize)
        written = int(new.sum())
        if written:
            self._copy(con, "points", rows[new].reshape(-1))
        self._copy(con, "staging", rows[~new].reshape(-1))
        cur = con.execute("INSERT INTO points SELECT * FROM staging ON CONFLICT DO NOTHING")
        return written + max(cur.rowcount, 0)

    def append_quarantine(self, rows: pa.Table) -> None:
        q = rows.cast(QUARANTINE_SCHEMA)
        if q.num_rows == 0:
            return
        cols = ", ".join(QUARANTINE_SCHEMA.names)
        with self._wlock:
            con = self._writer_con()
            try:
                with con.transaction(), con.cursor().copy(f"COPY quarantine ({cols}) FROM STDIN") as cp:
                    # Quarantine is the rare path and its columns are text: row by row is fine.
                    for rec in zip(*(q.column(c).to_pylist() for c in QUARANTINE_SCHEMA.names), strict=True):
                        cp.write_row(rec)
            except psycopg.Error as exc:
                raise StoreError(f"PostgreSQL {self._where}: quarantine append failed: {_first_line(exc)}") from exc

    # -- reading -------------------------------------------------------------------------
    def latest(self) -> pa.Table:
        sid, ts, value, quality = self._columns(_LATEST, (), 4)
        return pa.table(
            {
                "sid": pa.array(sid.astype(np.int32)),
                "ts": _ts_array(ts),
                "value": pa.array(value),
                "quality": pa.array(quality.astype(np.uint8)),
            }
        )

    def history(self, query: HistoryQuery) -> pa.Table:
        downsampled = query.interval is not None
        if not query.sids:
            return history_schema(downsampled).empty_table()
        where, params = _where(query.sids, query.start, query.end)
        limit = sql.Literal(int(query.limit))
        if query.interval is None:
            stmt = sql.SQL("SELECT sid, ts, value FROM points WHERE {} ORDER BY sid, ts LIMIT {}").format(where, limit)
            sid, ts, value = self._columns(stmt, params, 3)
            n = None
        elif query.use_rollups and self.rollups is not None and (rolled := self.rollups.history(query)) is not None:
            return rolled
        else:
            iv = timedelta(microseconds=interval_us(query.interval))
            stmt = sql.SQL(
                """SELECT sid, date_bin({}, ts, timestamptz '1970-01-01 00:00:00+00') AS bucket,
                          {} AS value, count(*) AS n
                   FROM points WHERE {} GROUP BY sid, bucket ORDER BY sid, bucket LIMIT {}"""
            ).format(sql.Literal(iv), sql.SQL(_AGG_SQL[query.aggregate]), where, limit)
            sid, ts, value, n = self._columns(stmt, params, 4)
        # array_agg keeps the columns aligned; re-sort only if it did not keep the order too.
        if len(sid) > 1 and not _sorted(sid, ts):
            order = np.lexsort((ts, sid))
            sid, ts, value = sid[order], ts[order], value[order]
            n = None if n is None else n[order]
        arrays = [pa.array(sid.astype(np.int32)), _ts_array(ts), pa.array(value.astype(np.float64))]
        if n is not None:
            arrays.append(pa.array(n.astype(np.int64)))
        return pa.Table.from_arrays(arrays, schema=history_schema(downsampled))

    def quarantine(self, limit: int = 100, offset: int = 0) -> pa.Table:
        cols = ", ".join(QUARANTINE_SCHEMA.names)
        query = f"SELECT {cols} FROM quarantine ORDER BY received DESC, id DESC LIMIT %s OFFSET %s"
        rows = self._read("quarantine query", lambda con: con.execute(query, (int(limit), int(offset))).fetchall())
        return pa.Table.from_pylist(
            [dict(zip(QUARANTINE_SCHEMA.names, r, strict=True)) for r in rows], schema=QUARANTINE_SCHEMA
        )

    def quarantine_count(self) -> int:
        return self._scalar("SELECT count(*) FROM quarantine")

    def count(self) -> int:
        return self._scalar("SELECT count(*) FROM points")

    def _scalar(self, query: str) -> int:
        return int((self._read("count", lambda con: con.execute(query).fetchone()) or (0,))[0])

    def export(
        self,
        path: Path,
        fmt: ExportFormat,
        names: pa.Table,
        sids: tuple[int, ...] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> int:
        order = names.sort_by([("twin", "ascending"), ("signal", "ascending")])
        twin_of = order.column("twin").to_pylist()
        signal_of = order.column("signal").to_pylist()
        wanted = None if sids is None else set(sids)
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
        total = 0
        try:
            # One signal at a time, in pages along the primary key: memory stays bounded and
            # the output is ordered by twin, signal, ts as the DuckDB store's is.
            for i, s in enumerate(order.column("sid").to_pylist()):
                if wanted is not None and s not in wanted:
                    continue
                after: datetime | None = None
                while True:
                    where, params = _where((int(s),), start, end)
                    if after is not None:
                        where = sql.SQL("{} AND ts > %s").format(where)
                        params.append(after)
                    stmt = sql.SQL("SELECT ts, value, quality FROM points WHERE {} ORDER BY ts LIMIT {}").format(
                        where, sql.Literal(_EXPORT_PAGE)
                    )
                    ts, value, quality = self._columns(stmt, params, 3)
                    if len(ts) == 0:
                        break
                    if not np.all(ts[1:] > ts[:-1]):
                        o = np.argsort(ts, kind="stable")
                        ts, value, quality = ts[o], value[o], quality[o]
                    k = len(ts)
                    cols = [_ts_array(ts), pa.repeat(pa.scalar(twin_of[i], pa.string()), k),
                            pa.repeat(pa.scalar(signal_of[i], pa.string()), k), pa.array(value),
                            pa.array(quality.astype(np.uint8))]  # fmt: skip
                    writer.write_table(pa.table(cols, schema=schema))
                    total += k
                    if k < _EXPORT_PAGE:
                        break
                    after = datetime.fromtimestamp(0, UTC) + timedelta(microseconds=int(ts[-1]))
        except (OSError, pa.ArrowException) as exc:
            raise StoreError(f"export failed: cannot write {path}: {exc}") from exc
        finally:
            writer.close()
        return total

    def earliest(self, since: datetime | None = None) -> datetime | None:
        # One index probe per signal (the primary key leads with sid, so min(ts) alone
        # would scan the table).
        lower = _aware(since) or datetime(1, 1, 1, tzinfo=UTC)
        row = self._read("earliest", lambda con: con.execute(_EARLIEST, (lower,)).fetchone())
        return None if row is None or row[0] is None else row[0].astimezone(UTC)

    def segment_digest(self, start: datetime, end: datetime) -> tuple[int, str]:
        # One binary COPY in primary-key order: a single snapshot, streamed, parsed with
        # NumPy in blocks of fixed-width rows.
        stmt = (
            "COPY (SELECT ts, sid, value, quality FROM points WHERE ts >= %s AND ts < %s ORDER BY sid, ts) "
            "TO STDOUT (FORMAT BINARY)"
        )

        def run(con: psycopg.Connection[Any]) -> tuple[int, str]:
            hasher = SegmentHasher()
            pending = bytearray()
            header = True
            with con.cursor().copy(stmt, (_aware(start), _aware(end))) as cp:
                for chunk in cp:
                    pending += chunk
                    if header:
                        if len(pending) < 19 or len(pending) < 19 + struct.unpack_from(">i", pending, 15)[0]:
                            continue
                        _drop_copy_header(pending)
                        header = False
                    if len(pending) >= _DIGEST_BYTES:
                        _hash_copy_rows(hasher, pending)
            if header:
                raise StoreError(f"PostgreSQL {self._where}: segment digest: COPY returned no header")
            _hash_copy_rows(hasher, pending)
            if bytes(pending) != _COPY_TRAILER:
                raise StoreError(
                    f"PostgreSQL {self._where}: segment digest: malformed COPY data ({len(pending)} bytes left)"
                )
            return hasher.result()

        return self._read("segment digest", run)

    def close(self) -> None:
        with self._plock:
            self._closed = True
            idle, self._idle = self._idle, []
        for con in idle:
            con.close()
        with self._wlock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None


def _drop_copy_header(buf: bytearray) -> None:
    """Remove a binary COPY header (signature, flags, extension) from the front of ``buf``."""
    if bytes(buf[: len(_COPY_SIGNATURE)]) != _COPY_SIGNATURE:
        raise StoreError("PostgreSQL COPY data does not start with the binary COPY signature")
    (ext,) = struct.unpack_from(">i", buf, 15)
    del buf[: 19 + ext]


def _hash_copy_rows(hasher: SegmentHasher, buf: bytearray) -> None:
    """Hash every complete ``_POINT_ROW`` at the front of ``buf`` and remove them."""
    n = len(buf) // _POINT_ROW.itemsize
    if n == 0:
        return
    block = bytes(buf[: n * _POINT_ROW.itemsize])
    del buf[: n * _POINT_ROW.itemsize]
    rows = np.frombuffer(block, dtype=_POINT_ROW)
    if not (np.all(rows["nfields"] == 4) and np.all(rows["quality_len"] == 2) and np.all(rows["ts_len"] == 8)):
        raise StoreError("PostgreSQL COPY data has an unexpected row layout")
    hasher.update(rows["sid"], rows["ts"] + _PG_EPOCH_US, rows["value"], rows["quality"])


_ts_array = ts_array


def _sorted(sid: npt.NDArray[Any], ts: npt.NDArray[np.int64]) -> bool:
    same = sid[1:] == sid[:-1]
    return bool(np.all((sid[1:] > sid[:-1]) | (same & (ts[1:] > ts[:-1]))))


def _where(
    sids: tuple[int, ...] | None, start: datetime | None, end: datetime | None
) -> tuple[sql.Composable, list[Any]]:
    clauses: list[sql.Composable] = [sql.SQL("TRUE")]
    params: list[Any] = []
    if sids is not None:
        clauses.append(sql.SQL("sid = ANY(%s::integer[])"))
        params.append([int(s) for s in sids])
    if start is not None:
        clauses.append(sql.SQL("ts >= %s"))
        params.append(_aware(start))
    if end is not None:
        clauses.append(sql.SQL("ts < %s"))
        params.append(_aware(end))
    return sql.SQL(" AND ").join(clauses), params


def open_postgres(url: str, data_dir: Path | None = None) -> PostgresStore:
    """The ``postgresql`` store plugin: a ``postgresql://`` (or ``postgres://``) connection URL."""
    return PostgresStore(url)
