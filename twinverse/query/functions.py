"""Function tables: ``kpis(start, end[, twin])`` answered by the platform before the query runs.

The arguments must be constants (no column, no subquery): each is evaluated once, in
DuckDB's dialect, on a private in-memory DuckDB with external access off (so ``now() -
INTERVAL 7 DAY``, ``date_trunc('week', now())`` or ``TIMESTAMPTZ '2026-11-23'`` all work,
with the functions :mod:`.safety` allowed), then the platform computes the table (the
KPI service, from the store's history) and the call becomes a table beside the query, as
a graph call with literal arguments does (:mod:`.graph`). The same happens on both stores.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import duckdb
import pyarrow as pa
from sqlglot import exp

from ..errors import InputError, NotFoundError, QueryError
from .safety import FUNCTION_TABLES

__all__ = ["KpiProvider", "rewrite_function_tables"]

#: ``(start_us, end_us, twin or None)`` → the ``kpis`` table.
KpiProvider = Callable[[int, int, str | None], pa.Table]

_lock = threading.Lock()
_con: duckdb.DuckDBPyConnection | None = None


def _constant(arg: exp.Expression, what: str) -> object:
    """The value of a constant argument, computed by a private DuckDB (external access off)."""
    global _con
    if arg.find(exp.Column, exp.Select, exp.Star) is not None:
        raise QueryError(f"kpis(): the {what} must be a constant (a timestamp, now() - INTERVAL …), not a column",
                         reason="function")  # fmt: skip
    cast = "epoch_us(CAST(({}) AS TIMESTAMPTZ))" if what != "twin" else "CAST(({}) AS VARCHAR)"
    sql = "SELECT " + cast.format(arg.sql(dialect="duckdb", comments=False))
    with _lock:
        if _con is None:
            _con = duckdb.connect(":memory:", config={"enable_external_access": False})
            _con.execute("SET TimeZone = 'UTC'")
        try:
            row = _con.execute(sql).fetchone()
        except duckdb.Error as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise QueryError(f"kpis(): the {what} is not a time: {text}", reason="function") from None
    return row[0] if row else None


def rewrite_function_tables(
    tree: exp.Query, tables: dict[str, pa.Table], kpis: KpiProvider | None
) -> exp.Query:
    """``tree`` with every ``kpis(…)`` call replaced by a table of its answer (added to ``tables``)."""

    def replace(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Table) or not isinstance(node.this, exp.Anonymous):
            return node
        name = str(node.this.name).lower()
        if name not in FUNCTION_TABLES:
            return node
        args = list(node.this.expressions)
        if not 2 <= len(args) <= 3:
            raise QueryError(f"kpis() takes a start, an end and optionally a twin, not {len(args)} argument(s)",
                             reason="function")  # fmt: skip
        if kpis is None:
            raise QueryError("table function kpis() is not available on this platform", reason="function")
        start, end = (_constant(a, w) for a, w in zip(args, ("start", "end"), strict=False))
        twin = _constant(args[2], "twin") if len(args) > 2 else None
        if not isinstance(start, int) or not isinstance(end, int):
            raise QueryError("kpis(): start and end must not be NULL", reason="function")
        try:
            table = kpis(start, end, None if twin is None else str(twin))
        except (InputError, NotFoundError) as exc:
            raise QueryError(f"kpis(): {exc.message}", reason="function") from None
        key = f"fn_{len(tables)}"
        tables[key] = table
        alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
        return exp.Table(this=exp.to_identifier(key), alias=alias)

    out = tree.transform(replace, copy=False)
    assert isinstance(out, exp.Query)
    return out
