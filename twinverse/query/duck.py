"""Run checked queries on DuckDB: the store's own database, or a private one.

On the DuckDB store a query runs on a reader connection of the store's database, where
``history`` is a temporary view over the store's ``points`` table joined to the signal
names, so DuckDB plans it like the hand-written join (filters on twin and time reach the
scan). The model tables and the ``live`` snapshot are Arrow tables registered on that
connection.

DuckDB's ``enable_external_access`` switch belongs to a whole database and cannot be turned
back on, and the store's database needs file access for ``COPY … TO`` exports; so on the
store's database the guard is the allow-list of :mod:`.safety` (statement kind, tables,
functions, all checked before anything runs), plus ``python_enable_replacements = false``
on the reader connection so that no name can resolve to a Python object. Databases this
module opens itself (:func:`private_database`) run with external access off.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import duckdb
import pyarrow as pa

from ..errors import QueryError
from .safety import CheckedQuery

__all__ = ["DuckRunner", "private_database"]

_HISTORY_VIEW = """CREATE OR REPLACE TEMP VIEW history AS
SELECT s.twin, s.signal, p.ts, p.value, p.quality FROM main.points p JOIN sids s ON s.sid = p.sid"""

#: Rows per Arrow batch while a result is read (and counted against the row limit).
BATCH_ROWS = 65_536


def private_database() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with external access off (no files, no network, no extensions)."""
    con = duckdb.connect(":memory:", config={"enable_external_access": False})
    con.execute("SET TimeZone = 'UTC'")
    return con


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class DuckRunner:
    """Runs checked queries on connections made by ``connect`` (the store's reader).

    Connections are prepared once (model tables registered, ``history`` defined) and
    reused, one query at a time each; ``live`` is registered afresh for each query that
    reads it.
    """

    def __init__(
        self,
        connect: Callable[[], duckdb.DuckDBPyConnection],
        model: dict[str, pa.Table],
        *,
        has_points: bool = True,
    ) -> None:
        self._connect = connect
        self._model = model
        self._has_points = has_points
        self._idle: list[duckdb.DuckDBPyConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def _prepared(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        con = self._connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET python_enable_replacements = false")
        for name, table in self._model.items():
            con.register(name, table)
        if self._has_points:
            con.execute(_HISTORY_VIEW)
        return con

    def run(
        self, query: CheckedQuery, *, live: Callable[[], pa.Table], timeout: float, max_rows: int
    ) -> pa.Table:
        """The result as one Arrow table; :class:`QueryError` on a timeout, too many rows or a refusal."""
        con = self._prepared()
        timer = threading.Timer(timeout, con.interrupt)
        keep = True
        try:
            if "live" in query.tables:
                con.register("live", live())
            for name, table in query.extra.items():
                con.register(name, table)
            timer.start()
            reader = con.sql(query.sql("duckdb")).to_arrow_reader(BATCH_ROWS)
            batches: list[pa.RecordBatch] = []
            rows = 0
            for batch in reader:
                rows += batch.num_rows
                if rows > max_rows:
                    keep = False  # a result left half read: do not hand the connection on
                    raise QueryError(
                        f"the result has more than {max_rows:,} rows (query_max_rows); "
                        "add a LIMIT, a WHERE or an aggregate",
                        reason="too_many_rows",
                    )
                batches.append(batch)
            return pa.Table.from_batches(batches, schema=reader.schema)
        except duckdb.InterruptException:
            raise QueryError(
                f"the query ran longer than {timeout:g} s (query_timeout) and was stopped", reason="timeout"
            ) from None
        except duckdb.Error as exc:
            keep = False
            raise QueryError(f"the query failed: {_first_line(exc)}", reason="failed") from None
        finally:
            timer.cancel()
            if keep and not self._closed:
                with self._lock:
                    self._idle.append(con)
            else:
                con.close()

    def close(self) -> None:
        """Close the idle connections."""
        self._closed = True
        with self._lock:
            idle, self._idle = self._idle, []
        for con in idle:
            con.close()
