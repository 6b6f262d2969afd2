"""Graph table functions: unlimited-depth walks of the plant, usable anywhere a table is.

``descendants(twin)``, ``subtree(twin)``, ``children(twin)``, ``ancestors(twin)`` walk the
containment tree and give ``(id, depth)``; ``downstream(twin[, relation])`` and
``upstream(twin[, relation])`` follow a named relationship (``feeds`` by default) to any
depth, cycles included, and give ``(id)``. Each call is rewritten in the checked tree into
a subquery with a recursive CTE over the ``twins`` and ``relationships`` tables, so the
same statement runs on DuckDB and (transpiled) on PostgreSQL, and a function call joins
like any table::

    SELECT l.twin, l.value FROM downstream('bottling/line1/depal') d
    JOIN live l ON l.twin = d.id AND l.signal = 'state'

Answers agree with :meth:`~twinverse.model.Plant.subtree`, ``ancestors``, ``upstream`` and
``downstream`` (tests/query/test_graph.py checks every twin of the example plant).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from ..errors import QueryError
from .safety import GRAPH_FUNCTIONS

__all__ = ["GRAPH_SQL", "rewrite_graph_calls"]

#: The recursive query behind each function; ``{a}`` is the twin argument, ``{r}`` the relation.
GRAPH_SQL = {
    "children": "SELECT id, 1 AS depth FROM twins WHERE parent = {a}",
    "descendants": """WITH RECURSIVE g(id, depth) AS (
        SELECT id, 1 FROM twins WHERE parent = {a}
        UNION ALL SELECT t.id, g.depth + 1 FROM twins t JOIN g ON t.parent = g.id)
        SELECT id, depth FROM g""",
    "subtree": """WITH RECURSIVE g(id, depth) AS (
        SELECT id, 0 FROM twins WHERE id = {a}
        UNION ALL SELECT t.id, g.depth + 1 FROM twins t JOIN g ON t.parent = g.id)
        SELECT id, depth FROM g""",
    "ancestors": """WITH RECURSIVE g(id, depth) AS (
        SELECT parent, 1 FROM twins WHERE id = {a} AND parent IS NOT NULL
        UNION ALL SELECT t.parent, g.depth + 1 FROM twins t JOIN g ON t.id = g.id WHERE t.parent IS NOT NULL)
        SELECT id, depth FROM g""",
    # UNION (not UNION ALL): a row already found is not found again, so cycles end.
    "downstream": """WITH RECURSIVE g(id) AS (
        SELECT target FROM relationships WHERE source = {a} AND name = {r}
        UNION SELECT r.target FROM relationships r JOIN g ON r.source = g.id WHERE r.name = {r})
        SELECT id FROM g WHERE id <> {a}""",
    "upstream": """WITH RECURSIVE g(id) AS (
        SELECT source FROM relationships WHERE target = {a} AND name = {r}
        UNION SELECT r.source FROM relationships r JOIN g ON r.target = g.id WHERE r.name = {r})
        SELECT id FROM g WHERE id <> {a}""",
}

_ARITY = {"children": 1, "descendants": 1, "subtree": 1, "ancestors": 1, "downstream": 2, "upstream": 2}


def _replace(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.Table) or not isinstance(node.this, exp.Anonymous):
        return node
    name = str(node.this.name).lower()
    if name not in GRAPH_FUNCTIONS:
        return node
    args = list(node.this.expressions)
    most = _ARITY[name]
    if not 1 <= len(args) <= most:
        meta = node.this.meta
        raise QueryError(
            f"{name}() takes {'a twin id' if most == 1 else 'a twin id and optionally a relationship name'}, "
            f"not {len(args)} argument(s)",
            reason="function",
            line=meta.get("line"),
            column=(meta["col"] - len(name) + 1) if "col" in meta else None,
        )
    a = args[0].sql(dialect="duckdb", comments=False)
    r = args[1].sql(dialect="duckdb", comments=False) if len(args) > 1 else "'feeds'"
    inner = sqlglot.parse_one(GRAPH_SQL[name].format(a=a, r=r), read="duckdb")
    alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
    return exp.Subquery(this=inner, alias=alias)


def rewrite_graph_calls(tree: exp.Query) -> exp.Query:
    """``tree`` with every graph function call in ``FROM``/``JOIN`` replaced by its subquery."""
    out = tree.transform(_replace, copy=True)
    assert isinstance(out, exp.Query)
    return out
