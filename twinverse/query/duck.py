"""Run checked queries on DuckDB: the store's own database, or a private one.

On the DuckDB store a query runs on a reader connection of the store's database, where
``history`` is a temporary view over the store's ``points`` table joined to the signal
names, so DuckDB plans it like the hand-written join (filters on twin and time reach the
scan). The model tables and the ``live`` snapshot are Arrow tables registered on that
connection.

The store's database runs with DuckDB's ``enable_external_access = false`` (the store
exports through pyarrow writers, not ``COPY … TO``), so even a statement the checks of
:mod:`.safety` let through by mistake can read no file, URL or extension
(tests/query/test_external_access.py); ``python_enable_replacements = false`` on the reader
connection keeps names from resolving to Python objects. Databases this module opens
itself (:func:`private_database`) run with external access off too.

History the store moved to Parquet files (:mod:`twinverse.store.cold`) is part of
``history`` without opening file access: the store opens the files as a pyarrow dataset,
and it is registered on the connection as the Arrow object ``cold_points`` (again only when
the store's list of files changes), which the view unions with ``points``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

import duckdb
import pyarrow as pa

from ..errors import QueryError
from .safety import CheckedQuery

__all__ = ["DuckRunner", "private_database", "size_bytes", "too_big"]

# The names come from the registered Arrow table, not the temporary copy: a join of the whole
# history with it measured 1.5-2x faster at 100M rows (DuckDB compresses the temporary table's
# strings into every joined row; the Arrow scan's strings it does not), as fast as a hand-written join.
_HISTORY_VIEW = """CREATE OR REPLACE TEMP VIEW history AS
SELECT s.twin, s.signal, p.ts, p.value, p.quality FROM main.points p JOIN sid_names s ON s.sid = p.sid"""
#: With cold history: ``points`` of this connection is the store's table and the rows moved to
#: Parquet (the Arrow object ``cold_points``), so ``history`` and the rewrites that read
#: ``points`` by sid (:mod:`.pushdown`, :mod:`.preagg`) see both. The store's table is named
#: with its catalog: a temporary object's schema is called ``main`` too.
_POINTS_COLD_VIEW = """CREATE OR REPLACE TEMP VIEW points AS
SELECT ts, sid, value, quality FROM "{db}".main.points UNION ALL SELECT ts, sid, value, quality FROM cold_points"""
_HISTORY_COLD_VIEW = """CREATE OR REPLACE TEMP VIEW history AS
SELECT s.twin, s.signal, p.ts, p.value, p.quality FROM points p JOIN sid_names s ON s.sid = p.sid"""

#: Rows per Arrow batch while a result is read (and counted against the row limit).
BATCH_ROWS = 65_536


_UNITS = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30,
          "TIB": 1 << 40}  # fmt: skip


def size_bytes(text: str) -> int:
    """Bytes of a size in DuckDB's syntax (the ``query_memory_limit`` setting's).

    >>> size_bytes("128MB"), size_bytes("1 GiB"), size_bytes("1.5KB")
    (128000000, 1073741824, 1500)
    """
    number = text.strip().rstrip("BIKMGTbikmgt ")
    unit = text.strip()[len(number):].strip().upper()
    return int(float(number) * _UNITS[unit])


def private_database() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with external access off (no files, no network, no extensions)."""
    con = duckdb.connect(":memory:", config={"enable_external_access": False})
    con.execute("SET TimeZone = 'UTC'")
    return con


def too_big(rows: bool, max_rows: int, max_bytes: int) -> QueryError:
    """The refusal of a result over the row limit (``rows``) or the memory limit."""
    if rows:
        return QueryError(
            f"the result has more than {max_rows:,} rows (query_max_rows); add a LIMIT, a WHERE or an aggregate",
            reason="too_many_rows",
        )
    return QueryError(
        f"the result needs more than {max_bytes >> 20:,} MiB (query_memory_mb); add a LIMIT, a WHERE or an "
        "aggregate",
        reason="memory",
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _Watchdog:
    """One thread that interrupts connections whose query ran past its deadline.

    Cheaper than a timer thread per query: arming and disarming take a lock, and the
    thread is woken only when a new deadline comes before the one it sleeps until (with
    one ``query_timeout`` for all queries, hardly ever), so a query does not hand the GIL
    to a second thread.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[int, tuple[float, duckdb.DuckDBPyConnection]] = {}
        self._thread: threading.Thread | None = None
        self._wake_at = float("inf")

    def arm(self, con: duckdb.DuckDBPyConnection, timeout: float) -> int:
        with self._cond:
            key = id(con)
            deadline = time.monotonic() + timeout
            self._due[key] = (deadline, con)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="twinverse-query-watchdog", daemon=True)
                self._thread.start()
            if deadline < self._wake_at:
                self._wake_at = deadline
                self._cond.notify()
            return key

    def disarm(self, key: int) -> None:
        with self._cond:
            self._due.pop(key, None)

    def _loop(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for key, (deadline, con) in list(self._due.items()):
                    if deadline <= now:
                        del self._due[key]
                        con.interrupt()
                self._wake_at = min((d for d, _ in self._due.values()), default=float("inf"))
                self._cond.wait(None if self._wake_at == float("inf") else max(0.0, self._wake_at - now))


class DuckRunner:
    """Runs checked queries on connections made by ``connect`` (the store's reader).

    Connections are prepared once and reused, one query at a time each: the model tables
    copied into temporary tables of the connection (native scans, not a scan of a Python
    Arrow object per query), ``history`` defined as a view. Tables built for a query
    (``live``, graph answers) are registered before it runs, unless the same Arrow table is
    already registered under that name on that connection (a kept plan's graph answers).
    """

    def __init__(
        self,
        connect: Callable[[], duckdb.DuckDBPyConnection],
        model: dict[str, pa.Table],
        *,
        has_points: bool = True,
        cold: Callable[[], object] | None = None,
        memory_limit: str | None = None,
        settle: Callable[[], None] | None = None,
    ) -> None:
        self._connect = connect
        self._settle = settle  # the store's staged rows into its database before each query
        self._model = model
        self._has_points = has_points
        self._cold = cold
        self._memory_limit = memory_limit
        self._idle: list[duckdb.DuckDBPyConnection] = []
        self._registered: dict[int, dict[str, object]] = {}  # per connection: name → the table registered
        self._lock = threading.Lock()
        self._closed = False
        self._watchdog = _Watchdog()

    def _prepared(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        con = self._connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET python_enable_replacements = false")
        if self._memory_limit is not None:
            # Connection-local (DuckDB's memory_limit is database-wide and cannot be set per
            # connection): this query's sorts, hashes and windows spill beyond it, so one query
            # cannot take the store's whole buffer pool from ingest and the other queries.
            con.execute(f"SET operator_memory_limit = '{size_bytes(self._memory_limit)}B'")
        for name, table in self._model.items():
            con.register("model_arrow", table)
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM model_arrow")
            con.unregister("model_arrow")
        if self._has_points:
            con.register("sid_names", self._model["sids"])
        if self._has_points and self._cold is not None:
            self._register(con, "cold_points", self._cold())
            db = con.execute("SELECT current_database()").fetchone()
            con.execute(_POINTS_COLD_VIEW.format(db=str(db[0] if db else "main").replace('"', '""')))
            con.execute(_HISTORY_COLD_VIEW)
        elif self._has_points:
            con.execute(_HISTORY_VIEW)
        return con

    def _register(self, con: duckdb.DuckDBPyConnection, name: str, table: object) -> None:
        seen = self._registered.setdefault(id(con), {})
        if seen.get(name) is not table:
            con.register(name, table)
            seen[name] = table

    def _discard(self, con: duckdb.DuckDBPyConnection) -> None:
        self._registered.pop(id(con), None)
        con.close()

    def run(
        self, query: CheckedQuery, dynamic: Mapping[str, pa.Table], *, timeout: float, max_rows: int, max_bytes: int
    ) -> pa.Table:
        """The result as one Arrow table; :class:`QueryError` on a timeout, too many rows or bytes, or a refusal.

        ``dynamic`` holds the tables built for this query (``live``, ``alarms``, …).
        """
        if self._settle is not None:
            self._settle()
        con = self._prepared()
        keep = True
        armed: int | None = None
        try:
            if self._cold is not None:  # the same object until a move or retention changes the files
                self._register(con, "cold_points", self._cold())
            for name, table in dynamic.items():
                self._register(con, name, table)
            for name, table in query.extra.items():
                self._register(con, name, table)
            armed = self._watchdog.arm(con, timeout)
            reader = con.sql(query.sql("duckdb")).to_arrow_reader(BATCH_ROWS)
            batches: list[pa.RecordBatch] = []
            rows = size = 0
            for batch in reader:
                rows += batch.num_rows
                size += batch.nbytes
                if rows > max_rows or size > max_bytes:
                    keep = False  # a result left half read: do not hand the connection on
                    raise too_big(rows > max_rows, max_rows, max_bytes)
                batches.append(batch)
            return pa.Table.from_batches(batches, schema=reader.schema)
        except duckdb.InterruptException:
            raise QueryError(
                f"the query ran longer than {timeout:g} s (query_timeout) and was stopped", reason="timeout"
            ) from None
        except duckdb.OutOfMemoryException as exc:
            keep = False
            raise QueryError(
                "the query needs more memory than it may have: what it cannot spill beyond "
                f"query_memory_limit ({self._memory_limit or 'none'}) must fit in the store's memory_limit; "
                f"add a WHERE or a LIMIT, or aggregate less into lists and strings ({_first_line(exc)})",
                reason="memory",
            ) from None
        except duckdb.Error as exc:
            keep = False
            raise QueryError(f"the query failed: {_first_line(exc)}", reason="failed") from None
        finally:
            if armed is not None:
                self._watchdog.disarm(armed)
            if keep and not self._closed:
                with self._lock:
                    self._idle.append(con)
            else:
                self._discard(con)

    def close(self) -> None:
        """Close the idle connections."""
        self._closed = True
        with self._lock:
            idle, self._idle = self._idle, []
        for con in idle:
            self._discard(con)
