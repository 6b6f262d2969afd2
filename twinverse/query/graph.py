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
``downstream`` (tests/query/test_service.py checks every twin of the example plant).

When the twin (and relation) are literals, as they nearly always are, the walk is done once
by the :class:`~twinverse.model.Plant` in Python and the call becomes a small table of its
answer (registered beside the query, or unnested on PostgreSQL); :mod:`.pushdown` then turns
the twins it names into the sids of ``history`` and drops the join when it served nothing
else, and :mod:`.preagg` aggregates plant-wide questions by sid first. Other arguments (a
column, an expression) keep the recursive CTE.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pyarrow as pa
import sqlglot
from sqlglot import exp

from ..errors import NotFoundError, QueryError
from ..model import Plant
from .preagg import preaggregate
from .pushdown import MAX_PUSHED_TWINS, push_history
from .safety import GRAPH_FUNCTIONS

__all__ = ["GRAPH_SQL", "MAX_PUSHED_TWINS", "push_twin_lists", "rewrite_graph_calls"]

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


def _walk(plant: Plant, name: str, twin: str, relation: str) -> pa.Table:
    """The answer of a graph function from the model: ``(id, depth)`` or ``(id)``."""
    try:
        if name == "downstream":
            return pa.table({"id": pa.array(plant.downstream(twin, relation), pa.string())})
        if name == "upstream":
            return pa.table({"id": pa.array(plant.upstream(twin, relation), pa.string())})
        if name == "ancestors":
            ids = plant.ancestors(twin)
            depth = list(range(1, len(ids) + 1))
        elif name == "children":
            ids = plant.children(twin)
            depth = [1] * len(ids)
        else:
            tree = plant.subtree(twin)
            ids, depth = tree, [_depth(plant, t, twin) for t in tree]
            if name == "descendants":
                ids, depth = ids[1:], depth[1:]
    except NotFoundError:
        ids, depth = [], []
        if name in ("downstream", "upstream"):
            return pa.table({"id": pa.array([], pa.string())})
    return pa.table({"id": pa.array(ids, pa.string()), "depth": pa.array(depth, pa.int32())})


def _depth(plant: Plant, twin: str, root: str) -> int:
    d = 0
    while twin != root:
        parent = plant.twins[twin].parent
        assert parent is not None
        twin, d = parent, d + 1
    return d


def _replacer(
    plant: Plant | None, tables: dict[str, pa.Table]
) -> Callable[[exp.Expression], exp.Expression]:
    def replace(node: exp.Expression) -> exp.Expression:
        out = _replace(node, plant, tables)
        return out

    return replace


def _replace(node: exp.Expression, plant: Plant | None = None, tables: dict[str, pa.Table] | None = None) -> exp.Expression:  # noqa: E501
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
    alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
    literal = all(isinstance(x, exp.Literal) and x.is_string for x in args)
    if plant is not None and tables is not None and literal:
        key = f"graph_{len(tables)}"
        tables[key] = _walk(plant, name, str(args[0].this), str(args[1].this) if len(args) > 1 else "feeds")
        return exp.Table(this=exp.to_identifier(key), alias=alias)
    a = args[0].sql(dialect="duckdb", comments=False)
    r = args[1].sql(dialect="duckdb", comments=False) if len(args) > 1 else "'feeds'"
    inner = sqlglot.parse_one(GRAPH_SQL[name].format(a=a, r=r), read="duckdb")
    return exp.Subquery(this=inner, alias=alias)


#: Names the rewrites put into a statement (the store's tables, the tables registered beside it).
_INTERNAL = re.compile(r"^(points|sids|sid_names|(graph|names|fn)_[0-9]+)$")


def _refuse_internal_names(tree: exp.Query) -> None:
    """A CTE may not take a name the rewritten statement uses: it would shadow the store's table."""
    for cte in tree.find_all(exp.CTE):
        name = str(cte.alias_or_name).lower()
        if _INTERNAL.match(name):
            raise QueryError(f"the name {name!r} is reserved for twinverse's own use; call the CTE something else",
                             reason="table")  # fmt: skip


def rewrite_graph_calls(tree: exp.Query, plant: Plant | None = None) -> tuple[exp.Query, dict[str, pa.Table]]:
    """``tree`` with every graph call replaced, and the tables (``graph_0``, …) its answers became.

    With ``plant``, calls with literal arguments are answered by the model (a table each);
    the rest, and every call without ``plant``, become recursive-CTE subqueries.
    """
    _refuse_internal_names(tree)
    tables: dict[str, pa.Table] = {}
    out = tree.transform(_replacer(plant, tables), copy=False)  # the checked tree is ours alone
    assert isinstance(out, exp.Query)
    if {str(c.alias_or_name).lower() for c in out.find_all(exp.CTE)} & {"history", "twins"}:
        return out, tables  # the query's own "history" or "twins" is not the store's: rewrite nothing
    pushed = push_twin_lists(out, tables, plant)
    return (preaggregate(pushed) if plant is not None else pushed), tables


def push_twin_lists(tree: exp.Query, answers: dict[str, pa.Table], plant: Plant | None = None) -> exp.Query:
    """Narrow the ``history`` a query reads to the twins and signals it names (:mod:`.pushdown`).

    With the ``plant``, names become sids resolved from the model (``points.sid IN (…)`` at
    the scan) and joins that only picked twins are dropped; without it, an inner join of
    ``history`` whose ``twin`` equals a graph answer's ``id`` gets ``h.twin IN (…)`` added.
    """
    if plant is not None:
        return push_history(tree, answers, plant)
    if not answers:
        return tree
    for select in tree.find_all(exp.Select):
        joins = list(select.args.get("joins") or ())
        from_ = select.args.get("from_") or select.args.get("from")
        if from_ is None or any(j.side or j.kind not in ("", "INNER") for j in joins):
            continue
        tables = [from_.this, *(j.this for j in joins)]
        alias_of = {t.alias_or_name: t for t in tables if isinstance(t, exp.Table)}
        graph = {a: answers[str(t.name)] for a, t in alias_of.items() if str(t.name) in answers}
        if not graph:
            continue
        parent: dict[tuple[str, str], tuple[str, str]] = {}
        where = select.args.get("where")
        conds = [j.args.get("on") for j in joins] + [where.this if where is not None else None]
        for cond in conds:
            for eq in (cond.find_all(exp.EQ) if cond is not None else ()):
                left, right = eq.this, eq.expression
                columns = isinstance(left, exp.Column) and isinstance(right, exp.Column)
                if columns and left.table and right.table and _top_level(eq, cond):
                    parent[_find(parent, (left.table, left.name))] = _find(parent, (right.table, right.name))
        for join in joins:
            t = join.this
            if not (isinstance(t, exp.Table) and str(t.name).lower() == "history"):
                continue
            h = t.alias_or_name
            for g, answer in graph.items():
                if _find(parent, (h, "twin")) == _find(parent, (g, "id")) and answer.num_rows <= MAX_PUSHED_TWINS:
                    ids = [exp.Literal.string(str(i)) for i in answer.column("id").to_pylist()]
                    member = exp.In(this=exp.column("twin", table=h), expressions=ids or [exp.Null()])
                    on = join.args.get("on")
                    join.set("on", exp.and_(on, member) if on is not None else member)
                    break
    return tree


def _find(parent: dict[tuple[str, str], tuple[str, str]], k: tuple[str, str]) -> tuple[str, str]:
    """The representative of ``k``'s class of equal columns."""
    while parent.get(k, k) != k:
        k = parent[k]
    return k


def _top_level(node: exp.Expr, root: exp.Expr) -> bool:
    """True when ``node`` is ``root`` or one of its AND-ed terms (not under an OR, a NOT, a CASE)."""
    while node is not root:
        up = node.parent
        if up is None or not isinstance(up, exp.And | exp.Paren):
            return False
        node = up
    return True
