"""SQL over the twin: read-only queries across the model, the live state and history.

Virtual tables (:data:`TABLES`: ``twins``, ``relationships``, ``signals``, ``states``,
``live``, ``history``, ``quarantine``, ``alarms``, ``alarm_events``, ``annotations``, and the
table function ``kpis(start, end[, twin])``) and graph table functions (``descendants``,
``subtree``, ``children``, ``ancestors``, ``upstream``, ``downstream``) in DuckDB's dialect.
Every statement is checked before it runs (:func:`check_sql`: one SELECT, the virtual
tables only, functions on :data:`ALLOWED_FUNCTIONS`), scoped to the caller's role, and
limited in time, rows and memory (settings ``query_timeout``, ``query_max_rows``,
``query_max_chars``, ``query_memory_mb``, ``query_memory_limit``). Before it runs, names in
its filters become sids and idle joins go (:mod:`.pushdown`), plant-wide aggregates are
taken by sid first (:mod:`.preagg`). See docs/query.md.
"""

from __future__ import annotations

from .graph import GRAPH_SQL, rewrite_graph_calls
from .safety import ALLOWED_FUNCTIONS, FUNCTION_TABLES, GRAPH_FUNCTIONS, TABLE_FUNCTIONS, CheckedQuery, check_sql
from .service import Page, QueryService
from .tables import TABLES, TableInfo

__all__ = [
    "ALLOWED_FUNCTIONS",
    "FUNCTION_TABLES",
    "GRAPH_FUNCTIONS",
    "GRAPH_SQL",
    "TABLES",
    "TABLE_FUNCTIONS",
    "CheckedQuery",
    "Page",
    "QueryService",
    "TableInfo",
    "check_sql",
    "rewrite_graph_calls",
]
