"""The query service: check, scope, run and page SQL over the twin.

``QueryService.run(sql, can=principal.can)`` checks the text (:mod:`.safety`), refuses a
table the caller's role may not read (403 naming it: ``live`` and ``history`` need
``data:read``, ``quarantine`` needs ``quarantine:read``), rewrites graph calls
(:mod:`.graph`) and runs the statement where the store keeps its data (:mod:`.duck` on
DuckDB, :mod:`.pg` on PostgreSQL) within the time and row limits of the settings. The
tenant is checked before: a platform serves one tenant's plant, and the API admits only
that tenant's principals to it.

Paged results (:meth:`QueryService.open`) are kept, bounded by ``query_cursors``, under a
random cursor id that only the principal who ran the query can read.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from ..config import Settings
from ..errors import NotFoundError, PermissionDenied, QueryError, StoreError
from ..live.engine import Engine
from ..model import Plant
from ..store import DuckDBStore, Store
from .duck import DuckRunner, private_database
from .graph import rewrite_graph_calls
from .safety import CheckedQuery, check_sql
from .tables import TABLES, LiveTable, model_tables

if TYPE_CHECKING:
    from .pg import PgRunner

__all__ = ["Page", "QueryService"]


@dataclass(frozen=True)
class Page:
    """Rows ``offset … offset + len(table)`` of a result of ``total`` rows; ``cursor`` reads on."""

    table: pa.Table
    offset: int
    total: int
    cursor: str | None


class QueryService:
    """SQL over the plant model, the live state and history of one platform."""

    def __init__(self, plant: Plant, engine: Engine, store: Store, settings: Settings) -> None:
        self.settings = settings
        self._plant = plant
        self._model = model_tables(plant)
        self._live = LiveTable(engine, self._model)
        self._results: OrderedDict[str, tuple[str, pa.Table]] = OrderedDict()
        self._lock = threading.Lock()
        self.backend: str
        self._pg: PgRunner | None = None
        self._duck: DuckRunner | None = None
        if isinstance(store, DuckDBStore):
            self._duck = DuckRunner(store.reader, self._model)
            self.backend = "duckdb"
            self.tables = frozenset(TABLES)
        elif (url := _postgres_url(store)) is not None:
            from .pg import PgRunner

            self._pg = PgRunner(url, self._model)
            self.backend = "postgresql"
            self.tables = frozenset(TABLES)
        else:
            # A plugin store: the model and the live state only, in a DuckDB of our own.
            self._duck = DuckRunner(private_database, self._model, has_points=False)
            self.backend = "duckdb (model and live only)"
            self.tables = frozenset(TABLES) - {"history", "quarantine"}

    def check(self, sql: str, can: Callable[[str], bool] = lambda _p: True) -> CheckedQuery:
        """Check ``sql`` and the caller's right to every table it reads; raises before anything runs."""
        checked = check_sql(sql, self.tables, max_chars=self.settings.query_max_chars)
        for name in sorted(checked.tables):
            needed = TABLES[name].permission
            if not can(needed):
                raise PermissionDenied(f"table {name!r} needs permission {needed.value!r}")
        tree, answers = rewrite_graph_calls(checked.tree, self._plant)
        return CheckedQuery(tree, checked.tables, answers)

    def run(self, sql: str, can: Callable[[str], bool] = lambda _p: True) -> pa.Table:
        """The whole result of ``sql`` as an Arrow table (at most ``query_max_rows`` rows)."""
        query = self.check(sql, can)
        s = self.settings
        if self._pg is not None:
            live = self._live.table() if "live" in query.tables else None
            return self._pg.run(query, live=live, timeout=s.query_timeout, max_rows=s.query_max_rows)
        assert self._duck is not None
        return self._duck.run(query, live=self._live.table, timeout=s.query_timeout, max_rows=s.query_max_rows)

    def open(self, sql: str, owner: str, page_rows: int, can: Callable[[str], bool] = lambda _p: True) -> Page:
        """Run ``sql`` and return its first page; the rest stays readable by ``owner`` through the cursor."""
        table = self.run(sql, can)
        if table.num_rows <= page_rows or self.settings.query_cursors == 0:
            if table.num_rows > page_rows:
                raise QueryError(
                    f"the result has {table.num_rows:,} rows, more than a page of {page_rows:,}, and paging is "
                    "off (query_cursors = 0)",
                    reason="too_many_rows",
                )
            return Page(table, 0, table.num_rows, None)
        cursor = secrets.token_urlsafe(16)
        with self._lock:
            self._results[cursor] = (owner, table)
            while len(self._results) > self.settings.query_cursors:
                self._results.popitem(last=False)
        return Page(table.slice(0, page_rows), 0, table.num_rows, f"{cursor}:{page_rows}")

    def page(self, cursor: str, owner: str, page_rows: int) -> Page:
        """The page a cursor points at (404 if unknown, forgotten or someone else's)."""
        key, _, at = cursor.partition(":")
        with self._lock:
            kept = self._results.get(key)
        if kept is None or kept[0] != owner or not at.isdigit():
            raise NotFoundError("no such query cursor (results are kept for the newest query_cursors queries)")
        table = kept[1]
        offset = int(at)
        end = min(offset + page_rows, table.num_rows)
        nxt = f"{key}:{end}" if end < table.num_rows else None
        if nxt is None:
            with self._lock:
                self._results.pop(key, None)
        return Page(table.slice(offset, end - offset), offset, table.num_rows, nxt)

    def close(self) -> None:
        """Close the connections queries ran on."""
        for runner in (self._pg, self._duck):
            if runner is not None:
                runner.close()
        with self._lock:
            self._results.clear()


def _postgres_url(store: Store) -> str | None:
    """The connection URL when ``store`` is the PostgreSQL store (None without psycopg or for others)."""
    try:
        from ..store.postgres import PostgresStore
    except StoreError:  # psycopg is not installed: no store can be a PostgresStore
        return None
    return store.url if isinstance(store, PostgresStore) else None
