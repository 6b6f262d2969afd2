"""Check a SQL text before anything runs it: one SELECT, virtual tables, allow-listed functions.

The text is parsed with sqlglot (DuckDB dialect) and walked node by node. What may pass:

- exactly one statement, and it is a query (``SELECT``, ``WITH … SELECT``, ``UNION``,
  ``INTERSECT``, ``EXCEPT``, ``VALUES``); nothing anywhere in it that writes, defines,
  attaches, loads, copies, sets or describes (no DDL, DML, ``COPY``, ``ATTACH``, ``PRAGMA``,
  ``SET``, ``INSTALL``/``LOAD``, ``EXPORT``);
- tables that are the virtual tables (:data:`~twinverse.query.tables.TABLES`), names the
  query defines itself (CTEs), or calls of the graph and series table functions
  (:data:`TABLE_FUNCTIONS`); never a qualified name (``main.points``), a file name
  (``FROM 'x.csv'``) or any other table function (``read_csv``, ``read_parquet``, ``glob``);
- functions on :data:`ALLOWED_FUNCTIONS` only, a positive list: an unknown function is
  refused even if it would be harmless.

The statement that then runs is the one sqlglot printed from the checked tree, never the
caller's text, so the database cannot read the text differently from the checker.
A refusal is a :class:`~twinverse.errors.QueryError` naming the reason and, where the
parser or the tree knows it, the line and column.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError

from ..errors import QueryError

__all__ = [
    "ALLOWED_FUNCTIONS", "FUNCTION_TABLES", "GRAPH_FUNCTIONS", "TABLE_FUNCTIONS",
    "CheckedQuery", "check_sql", "position",
]  # fmt: skip

# sqlglot reports statements it cannot parse in detail through logging; we refuse them anyway.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

#: Table functions over the plant graph (rewritten into recursive CTEs, see ``graph.py``).
GRAPH_FUNCTIONS = frozenset({"ancestors", "children", "descendants", "downstream", "subtree", "upstream"})

#: Virtual tables that are called with arguments (``kpis(start, end[, twin])``), never named bare.
FUNCTION_TABLES = frozenset({"kpis"})

#: Every function allowed in ``FROM``: the graph functions, number series and the function tables.
TABLE_FUNCTIONS = GRAPH_FUNCTIONS | FUNCTION_TABLES | {"range", "generate_series", "unnest"}

#: Scalar, aggregate and window functions a query may call (lower case; sqlglot's names and
#: DuckDB's). Nothing here touches files, the network, settings or the catalogue.
_ALLOWED = """
abs acos asin atan atan2 cbrt ceil ceiling cos cot degrees exp floor greatest least ln log log10 log2 mod pi
pow power radians round sign sin sqrt tan trunc isnan isinf isfinite div safe_divide count count_if countif sum
avg mean min max median mode stddev stddev_pop stddev_samp variance var_pop var_samp quantile quantile_cont
quantile_disc percentile_cont percentile_disc approx_quantile approx_distinct approx_count_distinct arg_max
arg_min argmax argmin max_by min_by first last any_value first_value last_value lag lead row_number rank
dense_rank percent_rank cume_dist ntile nth_value bool_and bool_or logical_and logical_or every corr covar_pop
covar_samp regr_slope regr_intercept string_agg group_concat listagg array_agg list list_agg histogram product
sumif avgif coalesce ifnull nullif if iif case greatest_ignore_nulls lower upper length len char_length
character_length concat concat_ws substr substring left right trim ltrim rtrim lpad rpad replace reverse repeat
split split_part string_split starts_with startswith ends_with endswith contains strpos instr position
regexp_matches regexp_like regexp_extract regexp_replace like ilike format printf lcase ucase str_position
string_to_array date_trunc datetrunc timestamp_trunc date_part datepart extract date_diff datediff date_sub
date_add dateadd time_bucket date_bin epoch epoch_ms epoch_us to_timestamp make_timestamp make_date strftime
strptime time_to_str str_to_time unix_to_time time_to_unix ts_or_ds_to_date current_date current_timestamp now
today age year month day hour minute second dayofweek dayofyear week weekofyear quarter yearweek to_seconds
to_minutes to_hours to_days to_milliseconds to_microseconds list_extract list_element array_extract
list_contains array_contains list_has array_length list_value array size cardinality list_sort list_distinct
list_unique json_extract json_extract_string json_extract_scalar json_extract_path json_extract_path_text
json_value json_type json_array_length json_keys json_exists json_extract_array typeof cast try_cast hash md5
struct_pack struct_extract
"""
ALLOWED_FUNCTIONS = frozenset(_ALLOWED.split())


@dataclass(frozen=True)
class CheckedQuery:
    """A query that passed :func:`check_sql`: its tree, the virtual tables it reads, and the
    tables the graph rewrite answered calls with (``graph_0``, … registered beside it)."""

    tree: exp.Query
    tables: frozenset[str]
    extra: dict[str, pa.Table] = field(default_factory=dict)
    printed: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def sql(self, dialect: str = "duckdb") -> str:
        """The statement to run, printed from the checked tree (:class:`QueryError` if it has no form there).

        Printed once per dialect and kept: the tree is not changed after the check.
        """
        text = self.printed.get(dialect)
        if text is not None:
            return text
        try:
            text = self.tree.sql(dialect=dialect, comments=False)  # a comment could close itself early
        except SqlglotError as exc:  # e.g. a construct with no PostgreSQL form
            raise QueryError(f"the query cannot be written in the {dialect} dialect: {exc}", reason="failed") from None
        self.printed[dialect] = text
        return text


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset of ``text``.

    >>> position("SELECT 1\\nFROM x", 14)
    (2, 6)
    """
    before = text[:offset]
    line = before.count("\n") + 1
    return line, offset - (before.rfind("\n") + 1) + 1


def _where(text: str, node: Any, name: str) -> tuple[int | None, int | None]:
    """Where ``node`` (named ``name``) starts in ``text``: from the parser's token, else by search."""
    for candidate in (node, node.args.get("this")):
        meta = getattr(candidate, "meta", None) or {}
        if "start" in meta:
            return position(text, int(meta["start"]))
        if isinstance(candidate, exp.Expression) and candidate.find(exp.Identifier) is not None:
            ident = candidate.find(exp.Identifier)
            if ident is not None and "start" in ident.meta:
                return position(text, int(ident.meta["start"]))
    i = text.lower().find(name.lower()) if name else -1
    return position(text, i) if i >= 0 else (None, None)


#: Statement kinds that are never a read, wherever they appear in the tree.
_FORBIDDEN = tuple(
    getattr(exp, n)
    for n in (
        "DDL", "DML", "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "Copy", "Command",
        "Attach", "Detach", "Pragma", "Set", "Use", "Transaction", "Commit", "Rollback", "Install", "Load",
        "Describe", "Show", "LoadData", "Export", "Analyze", "Refresh", "TruncateTable", "Into",
    )
    if hasattr(exp, n)
)  # fmt: skip


#: sqlglot models some operators as functions (AND, OR, LIKE, IN, …): they are not calls.
_OPERATORS = (exp.Connector, exp.Binary, exp.Unary, exp.Predicate)


def _function_names(node: exp.Func) -> set[str]:
    if isinstance(node, exp.Anonymous):
        return {str(node.name).lower()}
    return {n.lower() for n in type(node).sql_names()}


def check_sql(text: str, tables: Collection[str], *, max_chars: int) -> CheckedQuery:
    """Parse ``text`` and check it against the rules of this module; raises :class:`QueryError`.

    >>> check_sql("SELECT id FROM twins WHERE parent IS NULL", {"twins"}, max_chars=1000).tables
    frozenset({'twins'})
    >>> check_sql("DROP TABLE twins", {"twins"}, max_chars=1000)
    Traceback (most recent call last):
    ...
    twinverse.errors.QueryError: line 1, column 1: only a query (SELECT …) may run, not DROP
    """
    if len(text) > max_chars:
        raise QueryError(
            f"the query has {len(text):,} characters, more than the limit of {max_chars:,} (query_max_chars)",
            reason="too_long",
        )
    try:
        statements = [s for s in sqlglot.parse(text, read="duckdb") if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        line, col = first.get("line"), first.get("col")
        desc = first.get("description") or str(exc)
        # sqlglot's column is where the offending token ends; point at where it starts.
        hl = first.get("highlight") or ""
        if isinstance(col, int) and hl:
            col = max(1, col - len(hl) + 1)
        raise QueryError(f"syntax error: {desc}", reason="syntax", line=line, column=col) from None
    except (TokenError, SqlglotError, RecursionError) as exc:  # what the parser raises besides located errors
        raise QueryError(f"syntax error: {str(exc) or type(exc).__name__}", reason="syntax") from None
    if not statements:
        raise QueryError("the query is empty", reason="statement", line=1, column=1)
    if len(statements) > 1:
        second = text.find(";")
        line, col = position(text, second + 1) if second >= 0 else (None, None)
        raise QueryError(
            f"one statement per query, not {len(statements)}", reason="statement", line=line, column=col
        )
    tree = statements[0]
    if not isinstance(tree, exp.Query) or any(isinstance(n, _FORBIDDEN) for n in tree.walk()):
        bad = next((n for n in tree.walk() if isinstance(n, _FORBIDDEN)), tree)
        kind = text.strip().split(None, 1)[0].upper() if isinstance(bad, exp.Command | exp.Pragma) or bad is tree \
            else type(bad).__name__.upper()  # fmt: skip
        line, col = _where(text, bad, kind) if bad is not tree else position(text, len(text) - len(text.lstrip()))
        raise QueryError(f"only a query (SELECT …) may run, not {kind}", reason="statement", line=line, column=col)
    defined = {str(c.alias_or_name).lower() for c in tree.find_all(exp.CTE)}
    allowed_tables = {t.lower() for t in tables}
    used: set[str] = set()
    table_calls: set[int] = set()
    for node in tree.walk():
        if isinstance(node, exp.Table):
            fn = node.this
            if isinstance(fn, exp.Func):
                names = _function_names(fn)
                if not names & TABLE_FUNCTIONS:
                    name = sorted(names)[0]
                    line, col = _where(text, fn, name)
                    raise QueryError(
                        f"table function {name}() is not allowed; the table functions are "
                        f"{', '.join(sorted(TABLE_FUNCTIONS))}",
                        reason="function", line=line, column=col,
                    )  # fmt: skip
                table_calls.add(id(fn))
                used |= {"twins", "relationships"} & allowed_tables if names & GRAPH_FUNCTIONS else set()
                for name in names & FUNCTION_TABLES:
                    if name not in allowed_tables:
                        line, col = _where(text, fn, name)
                        raise QueryError(f"table function {name}() is not available on this platform",
                                         reason="function", line=line, column=col)  # fmt: skip
                    used.add(name)
                continue
            name = str(node.name)
            qualified = node.args.get("db") is not None or node.args.get("catalog") is not None
            ident = node.this
            quoted_path = isinstance(ident, exp.Literal) or (isinstance(ident, exp.Identifier) and "/" in name)
            if name.lower() in FUNCTION_TABLES and name.lower() not in defined:
                line, col = _where(text, node, name)
                raise QueryError(f"{name} is a table function: call it, e.g. {name}(now() - INTERVAL 1 DAY, now())",
                                 reason="table", line=line, column=col)  # fmt: skip
            if qualified or quoted_path or name.lower() not in allowed_tables | defined:
                line, col = _where(text, node, name)
                shown = node.sql(dialect="duckdb")
                raise QueryError(
                    f"no table {shown}: the tables are {', '.join(sorted(allowed_tables))}",
                    reason="table", line=line, column=col,
                )  # fmt: skip
            if name.lower() in allowed_tables and name.lower() not in defined:
                used.add(name.lower())
        elif isinstance(node, exp.Func) and not isinstance(node, _OPERATORS) and id(node) not in table_calls:
            names = _function_names(node)
            if isinstance(node.parent, exp.Table) and node.parent.this is node:
                continue
            if not names & (ALLOWED_FUNCTIONS | TABLE_FUNCTIONS):
                name = sorted(names)[0]
                line, col = _where(text, node, name)
                raise QueryError(
                    f"function {name}() is not on the allow-list (docs/query.md lists it)",
                    reason="function", line=line, column=col,
                )  # fmt: skip
    return CheckedQuery(tree, frozenset(used))
