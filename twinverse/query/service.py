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
from ..errors import NotFoundError, PermissionDenied, QueryError
from ..live.engine import Engine
from ..model import Plant
from ..store import DuckDBStore, Store
from ..store.factory import postgres_url
from .duck import DuckRunner, private_database, size_bytes
from .functions import KpiProvider, rewrite_function_tables
from .graph import rewrite_graph_calls
from .safety import FUNCTION_TABLES, CheckedQuery, check_sql
from .tables import TABLES, LiveTable, model_tables

if TYPE_CHECKING:
    from .pg import PgRunner

__all__ = ["Page", "QueryService"]

#: Tables the platform's other services provide (:meth:`QueryService.provide`, ``provide_kpis``).
_PROVIDED = frozenset({"alarms", "alarm_events", "annotations", "kpis"})
#: Checked queries kept by their text.
_PLANS = 256


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
            cold = store.cold
            self._duck = DuckRunner(store.reader, self._model, cold=None if cold is None else cold.everything,
                                    memory_limit=settings.query_memory_limit, settle=store.settle)  # fmt: skip
            self.backend = "duckdb"
            self.tables = frozenset(TABLES)
        elif (url := postgres_url(store)) is not None:
            from .pg import PgRunner

            self._pg = PgRunner(url, self._model, work_mem=size_bytes(settings.query_memory_limit))
            self.backend = "postgresql"
            self.tables = frozenset(TABLES)
        else:
            # A plugin store: the model and the live state only, in a DuckDB of our own.
            self._duck = DuckRunner(private_database, self._model, has_points=False,
                                    memory_limit=settings.query_memory_limit)  # fmt: skip
            self.backend = "duckdb (model and live only)"
            self.tables = frozenset(TABLES) - {"history", "quarantine"}
        # Tables the platform provides as the services that hold them start (alarms, notes, KPIs).
        self.tables -= _PROVIDED
        self._dynamic: dict[str, Callable[[], pa.Table]] = {"live": self._live.table}
        self._kpis: KpiProvider | None = None
        # Checked and rewritten queries by their text (graph answers depend on the model only).
        self._plans: OrderedDict[str, CheckedQuery] = OrderedDict()

    def live_table(self) -> pa.Table:
        """The ``live`` table now: twin, signal, value, state, ts, quality of every signal (columnar)."""
        return self._live.table()

    def provide(self, name: str, table: Callable[[], pa.Table]) -> None:
        """Serve the virtual table ``name`` (``alarms``, ``alarm_events``, ``annotations``), built per query."""
        if name not in _PROVIDED - FUNCTION_TABLES:
            raise ValueError(f"no provided table {name!r}")
        self._dynamic[name] = table
        self.tables |= {name}
        self._forget()

    def provide_kpis(self, kpis: KpiProvider) -> None:
        """Serve the table function ``kpis(start, end[, twin])``."""
        self._kpis = kpis
        self.tables |= {"kpis"}
        self._forget()

    def _forget(self) -> None:
        with self._lock:
            self._plans.clear()

    def check(self, sql: str, can: Callable[[str], bool] = lambda _p: True) -> CheckedQuery:
        """Check ``sql`` and the caller's right to every table it reads; raises before anything runs."""
        with self._lock:
            plan = self._plans.get(sql)
            if plan is not None:
                self._plans.move_to_end(sql)
        checked = plan if plan is not None else check_sql(sql, self.tables, max_chars=self.settings.query_max_chars)
        for name in sorted(checked.tables):
            needed = TABLES[name].permission
            if not can(needed):
                raise PermissionDenied(f"table {name!r} needs permission {needed.value!r}")
        if plan is not None:
            return plan
        tree, answers = rewrite_graph_calls(checked.tree, self._plant)
        if checked.tables & FUNCTION_TABLES:
            # Their answers depend on the time of the query (now()): computed afresh, never kept.
            tree = rewrite_function_tables(tree, answers, self._kpis)
            return CheckedQuery(tree, checked.tables, answers)
        plan = CheckedQuery(tree, checked.tables, answers)
        with self._lock:
            self._plans[sql] = plan
            while len(self._plans) > _PLANS:
                self._plans.popitem(last=False)
        return plan

    def run(self, sql: str, can: Callable[[str], bool] = lambda _p: True) -> pa.Table:
        """The whole result of ``sql`` as an Arrow table (at most ``query_max_rows`` rows)."""
        query = self.check(sql, can)
        s = self.settings
        dynamic = {name: make() for name, make in self._dynamic.items() if name in query.tables}
        runner = self._pg if self._pg is not None else self._duck
        assert runner is not None
        return runner.run(query, dynamic, timeout=s.query_timeout, max_rows=s.query_max_rows,
                          max_bytes=s.query_memory_mb << 20)  # fmt: skip

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
