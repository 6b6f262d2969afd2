"""Run checked queries on the PostgreSQL store, where its tables live.

DuckDB's postgres scanner is an extension DuckDB downloads on first use, which an offline
machine cannot do; so the checked tree is transpiled by sqlglot from DuckDB's dialect to
PostgreSQL's and run on the server. The virtual tables become ``WITH`` entries in front of
the query: the model tables and the ``live`` snapshot are unnested from arrays sent as
parameters (binary, one per column), ``history`` is the store's ``points`` joined to the
signal names (``NOT MATERIALIZED``, so PostgreSQL plans filters on twin and time into the
scan of ``points``' primary key), ``quarantine`` the store's own table.

Each query runs in a ``READ ONLY`` transaction with ``statement_timeout`` set to the time
limit. A DuckDB function without a PostgreSQL equivalent fails with the server's message
(422, reason ``failed``); docs/query.md says which functions differ.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..errors import QueryError, StoreError
from .duck import too_big
from .safety import CheckedQuery

try:
    import psycopg
    from psycopg import errors as pg_errors
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise StoreError("queries on the PostgreSQL store need psycopg: pip install 'twinverse[postgres]'") from exc

__all__ = ["PgRunner"]

_PG_TYPES = {
    "string": "text", "double": "float8", "int32": "int4", "uint8": "int2", "timestamp[us, tz=UTC]": "timestamptz",
    "bool": "bool", "int64": "int8",
}  # fmt: skip

_HISTORY = "SELECT s.twin, s.signal, p.ts, p.value, p.quality FROM points p JOIN sids s ON s.sid = p.sid"
_QUARANTINE = "SELECT received, ts, twin, signal, value, reason, source FROM quarantine"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _unnest(name: str, table: pa.Table, params: list[Any]) -> str:
    """``SELECT * FROM unnest(%s::t[], …) AS name(cols…)`` for an Arrow table, its columns appended to ``params``."""
    casts = []
    for field in table.schema:
        if pa.types.is_list(field.type):
            # No arrays of arrays in PostgreSQL: a list column travels as a text array literal.
            params.append(["{" + ",".join('"' + v.replace('"', '\\"') + '"' for v in x) + "}" if x is not None
                           else None for x in table.column(field.name).to_pylist()])  # fmt: skip
            casts.append("%s::text[]")
            continue
        pg = _PG_TYPES[str(field.type)]
        params.append(table.column(field.name).to_pylist())
        casts.append(f"%s::{pg}[]")
    cols = ", ".join(table.schema.names)
    select = f"SELECT * FROM unnest({', '.join(casts)}) AS {name}({cols})"
    if "states" in table.schema.names:
        names = ", ".join(n if n != "states" else "states::text[] AS states" for n in table.schema.names)
        select = f"SELECT {names} FROM ({select}) AS {name}_raw"
    if "properties" in table.schema.names:
        names = ", ".join(n if n != "properties" else "properties::jsonb AS properties" for n in table.schema.names)
        select = f"SELECT {names} FROM ({select}) AS {name}_raw"
    return select


class PgRunner:
    """Runs checked queries on a PostgreSQL database (the store's URL), one connection each."""

    def __init__(self, url: str, model: dict[str, pa.Table], *, work_mem: int = 128 << 20) -> None:
        self.url = url
        self._model = model
        self._work_mem = work_mem
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()

    def _con(self) -> psycopg.Connection[Any]:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            return psycopg.connect(self.url, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL for a query: {_first_line(exc)}") from exc

    def statement(self, query: CheckedQuery, dynamic: Mapping[str, pa.Table]) -> tuple[str, list[Any]]:
        """The PostgreSQL text and parameters of a checked query (virtual tables as ``WITH`` entries)."""
        params: list[Any] = []
        ctes: list[str] = []
        # Only the tables the rewritten statement still names travel (a dropped join's do not).
        named = {str(t.name).lower() for t in query.tree.find_all(exp.Table)}
        need = set(query.tables) & named | ({"sids"} & named)
        if "history" in need:
            need.add("sids")
        for name in ("twins", "relationships", "signals", "states", "sids"):
            if name in need:
                ctes.append(f"{name} AS NOT MATERIALIZED ({_unnest(name, self._model[name], params)})")
        for name, table in dynamic.items():  # live, alarms, annotations: built for this query
            if name in named:
                ctes.append(f"{name} AS NOT MATERIALIZED ({_unnest(name, table, params)})")
        for name, table in query.extra.items():
            if name in named:
                ctes.append(f"{name} AS NOT MATERIALIZED ({_unnest(name, table, params)})")
        if "history" in need:
            ctes.append(f"history AS NOT MATERIALIZED ({_HISTORY})")
        if "quarantine" in need:
            ctes.append(f"quarantine_v AS NOT MATERIALIZED ({_QUARANTINE})")
        tree = query.tree.copy()
        if "quarantine" in need:
            # The store's own table has this name: read it through a CTE of another name.
            for t in tree.find_all(exp.Table):
                if t.name.lower() == "quarantine":
                    t.set("this", exp.to_identifier("quarantine_v"))
                    if not t.alias:
                        t.set("alias", exp.TableAlias(this=exp.to_identifier("quarantine")))
        own = tree.args.get("with_") or tree.args.get("with")
        recursive = bool(own and own.args.get("recursive"))
        user_ctes = ""
        if own is not None:
            user_ctes = ", ".join(c.sql(dialect="postgres", comments=False) for c in own.expressions)
            tree.set("with_" if "with_" in tree.args else "with", None)
        body = tree.sql(dialect="postgres", comments=False).replace("%", "%%")
        entries = ", ".join([*ctes, *([user_ctes.replace("%", "%%")] if user_ctes else [])])
        head = f"WITH {'RECURSIVE ' if recursive else ''}{entries} " if entries else ""
        return head + body, params

    def run(
        self, query: CheckedQuery, dynamic: Mapping[str, pa.Table], *, timeout: float, max_rows: int, max_bytes: int
    ) -> pa.Table:
        """The result as one Arrow table; :class:`QueryError` on a timeout, too many rows or bytes, or a refusal.

        ``max_bytes`` bounds the result; each sort or hash on the server has ``work_mem``
        (``query_memory_limit``) before it spills to disk.
        """
        try:
            text, params = self.statement(query, dynamic)
        except SqlglotError as exc:
            raise QueryError(f"the query has no PostgreSQL form: {exc}", reason="failed") from None
        con = self._con()
        keep = True
        try:
            with con.transaction():
                con.execute("SET TRANSACTION READ ONLY")
                con.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout * 1000))}")
                con.execute(f"SET LOCAL work_mem = '{max(64, self._work_mem >> 10)}kB'")
                cur = con.execute(text, params)
                names = [d.name for d in cur.description or ()]
                rows = cur.fetchmany(max_rows + 1)
                if len(rows) > max_rows:
                    raise too_big(True, max_rows, max_bytes)
            columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
            out = pa.table({n: pa.array(list(c)) for n, c in zip(_unique(names), columns, strict=True)})
            if out.nbytes > max_bytes:
                raise too_big(False, max_rows, max_bytes)
            return out
        except pg_errors.QueryCanceled:
            raise QueryError(
                f"the query ran longer than {timeout:g} s (query_timeout) and was stopped", reason="timeout"
            ) from None
        except psycopg.Error as exc:
            keep = not con.broken
            raise QueryError(f"the query failed on PostgreSQL: {_first_line(exc)}", reason="failed") from None
        finally:
            with self._lock:
                if keep and not con.closed and len(self._idle) < 4:
                    self._idle.append(con)
                else:
                    con.close()

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for con in idle:
            con.close()


def _unique(names: list[str]) -> list[str]:
    """Column names made unique (``x``, ``x_1``) as Arrow tables built from a dict need."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n}_{k}")
    return out
