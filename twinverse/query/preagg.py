"""Aggregate history by sid before its names are joined: plant-wide questions by twin or signal.

``SELECT signal, count(*), avg(value) FROM history GROUP BY signal`` read as written joins
every stored row to its names (100M rows through a hash join) and then groups by a string.
When a ``SELECT`` reads one ``history`` and nothing else, groups by ``twin`` and/or
``signal`` only, and aggregates only ``count(*)``, ``count``/``sum``/``avg``/``min``/``max``
of ``value`` (and ``min``/``max`` of ``ts``), it is rewritten to group the store's rows by
sid first (the filters on ``ts``, ``value`` and ``quality`` inside), join the per-sid
partial aggregates to the names (one row per signal), and combine them: counts and sums
add, ``avg`` is ``sum / count``, minima and maxima of minima and maxima. Exact (up to the
order floating-point sums are added in, as any parallel plan has). Anything else (another
table, a ``DISTINCT`` or ``FILTER`` aggregate, a subquery, a window, ``GROUP BY ALL``) is
left as written. Histories the query narrows to a few sids are :mod:`.pushdown`'s.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from .pushdown import and_terms

__all__ = ["preaggregate"]

_NAMES = ("twin", "signal")
_ROWS = ("ts", "value", "quality")

#: Partial aggregates per sid, by the combined one they serve.
_PARTS = {
    "n": "count(*)",
    "v_sum": "sum(p.value)",
    "v_min": "min(p.value)",
    "v_max": "max(p.value)",
    "ts_min": "min(p.ts)",
    "ts_max": "max(p.ts)",
}


def preaggregate(tree: exp.Query) -> exp.Query:
    """``tree`` with every eligible ``SELECT … FROM history … GROUP BY twin/signal`` aggregated by sid first."""
    for select in list(tree.find_all(exp.Select)):
        _rewrite(select)
    return tree


def _col(node: exp.Expression, alias: str, strict: bool = False) -> str | None:
    """The column name when ``node`` is a column of the history alias (or unqualified, unless ``strict``)."""
    qualified = isinstance(node, exp.Column) and str(node.table).lower() == alias
    ours = isinstance(node, exp.Column) and (qualified or (not node.table and not strict))
    if ours and not isinstance(node.this, exp.Star):
        return str(node.name).lower()
    return None


def _combined(node: exp.Expr, alias: str, strict: bool = False) -> exp.Expr | None:
    """The combination of partial aggregates that replaces the aggregate ``node`` (None: not one we combine)."""
    if isinstance(node, exp.Count) and isinstance(node.this, exp.Star):
        return sqlglot.parse_one("CAST(sum(a.n) AS BIGINT)", read="duckdb")
    arg = node.this if isinstance(node, exp.AggFunc) else None
    if arg is None or node.args.get("expressions") or isinstance(arg, exp.Distinct):
        return None
    col = _col(arg, alias, strict)
    if isinstance(node, exp.Count) and col == "value":
        return sqlglot.parse_one("CAST(sum(a.n) AS BIGINT)", read="duckdb")  # value is never NULL
    if col == "value" and type(node) in (exp.Sum, exp.Avg, exp.Min, exp.Max):
        texts: dict[type[exp.Expr], str] = {
            exp.Sum: "sum(a.v_sum)", exp.Avg: "sum(a.v_sum) / CAST(sum(a.n) AS DOUBLE)",
            exp.Min: "min(a.v_min)", exp.Max: "max(a.v_max)",
        }  # fmt: skip
        return sqlglot.parse_one(texts[type(node)], read="duckdb")
    if col == "ts" and type(node) in (exp.Min, exp.Max):
        return sqlglot.parse_one("min(a.ts_min)" if isinstance(node, exp.Min) else "max(a.ts_max)", read="duckdb")
    return None


def _rewrite(select: exp.Select) -> None:
    from_ = select.args.get("from_") or select.args.get("from")
    joins = list(select.args.get("joins") or ())
    if from_ is None or len(joins) > 1 or select.args.get("distinct"):
        return
    sources = [from_.this, *(j.this for j in joins)]
    if not all(isinstance(t, exp.Table) and not t.args.get("db") for t in sources):
        return
    named = [str(t.name).lower() for t in sources]
    if named.count("history") != 1 or any(n not in ("history", "twins") for n in named):
        return
    alias = str(sources[named.index("history")].alias_or_name).lower()
    strict = bool(joins)  # with twins joined, only qualified columns are history's
    other = str(sources[named.index("twins")].alias_or_name).lower() if joins else ""
    if joins and (joins[0].side or joins[0].kind not in ("", "INNER") or joins[0].args.get("using")
                  or joins[0].args.get("method") or other == alias):  # fmt: skip
        return
    group = select.args.get("group")
    keys = list(group.expressions) if group is not None else []
    if group is None or not keys or group.args.get("all"):
        return
    if any(_col(k, alias, strict) not in _NAMES and not _theirs(k, other) for k in keys):
        return
    if any(select.find(t) for t in (exp.Window, exp.Subquery, exp.Filter, exp.Star)) and not _only_count_star(select):
        return
    # Terms on the rows go inside (before the grouping by sid); on the names and twins, outside;
    # the join of twins to history becomes its join to the names.
    inner: list[exp.Expression] = []
    outer: list[exp.Expression] = []
    linked = not joins
    where = select.args.get("where")
    terms = and_terms(joins[0].args.get("on")) if joins else []
    for term in terms + and_terms(where.this if where is not None else None):
        if (
            joins
            and isinstance(term, exp.EQ)
            and {
                (_col(term.this, alias, True), _theirs(term.this, other)),
                (_col(term.expression, alias, True), _theirs(term.expression, other)),
            }
            == {("twin", None), (None, "id")}
        ):
            linked = True
            continue
        ours = [_col(c, alias, strict) for c in term.find_all(exp.Column)]
        theirs = [_theirs(c, other) for c in term.find_all(exp.Column)]
        if any(o is None and t is None for o, t in zip(ours, theirs, strict=True)) or term.find(exp.Select):
            return
        mine = {o for o in ours if o is not None}
        if mine <= set(_ROWS) and not any(theirs):
            inner.append(term)
        elif mine <= set(_NAMES):
            outer.append(term)
        else:
            return
    if not linked:
        return
    # Every aggregate must be one we combine; every other column a grouping one or an output name.
    outputs = {str(e.alias).lower() for e in select.expressions if isinstance(e, exp.Alias)}
    for e in select.expressions:
        if (
            isinstance(e, exp.Alias)
            and str(e.alias).lower() in (*_NAMES, *_ROWS)
            and _col(e.this, alias, strict) != str(e.alias).lower()
        ):
            return  # an output named like a history column: ORDER BY it would be ambiguous
    if any(e.find(exp.AggFunc) for e in select.expressions if not isinstance(e, exp.Alias)):
        return  # an unnamed aggregate's output name is its text: it would change
    replaced: list[tuple[exp.Expr, exp.Expr]] = []
    for node in select.find_all(exp.AggFunc):
        combined = _combined(node, alias, strict)
        if combined is None:
            return
        replaced.append((node, combined))
    for c in select.find_all(exp.Column):
        if any(_within(c, n) for n, _ in replaced) or any(term is c or _within(c, term) for term in terms):
            continue
        name = _col(c, alias, strict)
        grouped = name in _NAMES or _theirs(c, other) or (not c.table and str(c.name).lower() in outputs)
        if not grouped and not any(term is c or _within(c, term) for term in inner):
            return
    for old, combined in replaced:
        old.replace(combined)
    for term in inner:
        term.transform(lambda n: _on_points(n, alias, strict), copy=False)
    for c in list(select.find_all(exp.Column)):
        if _col(c, alias, strict) in _NAMES and not any(_within(c, term) for term in inner):
            c.set("table", exp.to_identifier("s"))
    conds = " AND ".join(t.sql(dialect="duckdb", comments=False) for t in inner)
    used = {str(c.name) for _, combined in replaced for c in combined.find_all(exp.Column)} | {"n"}
    parts = ", ".join(f"{sql} AS {name}" for name, sql in _PARTS.items() if name in used)
    sub = sqlglot.parse_one(
        f"SELECT p.sid, {parts} FROM points AS p {'WHERE ' + conds if conds else ''} GROUP BY p.sid", read="duckdb"
    )
    from_.set("this", exp.Subquery(this=sub, alias=exp.TableAlias(this=exp.to_identifier("a"))))
    new = [exp.Join(this=exp.to_table("sids").as_("s"), on=sqlglot.parse_one("s.sid = a.sid"))]
    if joins:
        new.append(exp.Join(this=exp.to_table("twins").as_(other), on=sqlglot.parse_one(f"{other}.id = s.twin")))
    select.set("joins", new)
    select.set("where", exp.Where(this=exp.and_(*outer, copy=False)) if outer else None)


def _theirs(node: exp.Expression, other: str) -> str | None:
    """The column name when ``node`` is a column of the joined twins (alias ``other``)."""
    if other and isinstance(node, exp.Column) and str(node.table).lower() == other:
        return str(node.name).lower()
    return None


def _on_points(node: exp.Expression, alias: str, strict: bool) -> exp.Expression:
    name = _col(node, alias, strict) if isinstance(node, exp.Column) else None
    if name is not None and name in _ROWS:
        return exp.column(name, table="p")
    return node


def _only_count_star(select: exp.Select) -> bool:
    """No window, subquery or filter, and every ``*`` is a ``count(*)``."""
    if any(select.find(t) for t in (exp.Window, exp.Subquery, exp.Filter)):
        return False
    return all(isinstance(s.parent, exp.Count) for s in select.find_all(exp.Star))


def _within(node: exp.Expr, ancestor: exp.Expr) -> bool:
    up = node.parent
    while up is not None:
        if up is ancestor:
            return True
        up = up.parent
    return False
