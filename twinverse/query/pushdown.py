"""History pushdown and join elimination: name filters become sid filters before a query runs.

``history`` is the store's ``points`` (keyed by sid) joined to the signal names. A query
that says *which* twins and signals it wants — through a graph answer (``downstream('x')
d … h.twin = d.id``), literal filters on ``twins`` joined by id (``t.type = 'filler'``), or
literals on the names themselves (``h.signal = 'temperature'``, ``h.twin IN (…)``) — has
those names resolved to sids here, in Python, from the model; its ``history`` then becomes
``points`` filtered by ``sid IN (…)`` at the scan, as a hand-written query says it:

- the twin and signal columns become constants when the answer has one of each, a join
  with a table of just those sids' names when it has several, and are left out (NULL)
  when nothing reads them, so the scan joins nothing;
- a graph answer or a ``twins`` join that only served to pick the twins — joined by its
  id, its other columns unread, its literal filters already applied — is dropped from the
  query (join elimination), its id replaced by ``h.twin``. That is exact: each row of the
  narrowed history has exactly one partner in it (ids are unique, and its filters hold for
  every twin left), so no row is lost or repeated.

Only top-level ``AND``-ed equalities and ``IN`` lists of inner joins and the ``WHERE`` of
one ``SELECT`` count, so what is added is implied by the query and cannot change its
answer. Anything unusual (an outer join, ``USING``, a ``*`` projection, an unqualified
column, a correlated reference) keeps the query as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import sqlglot
from sqlglot import exp

from ..model import Plant

__all__ = ["MAX_PUSHED_TWINS", "and_terms", "push_history"]

#: Twin lists longer than this are not copied into a history filter (the join alone decides).
MAX_PUSHED_TWINS = 5_000

#: Columns of ``twins`` whose literal filters are applied from the model.
_TWIN_COLUMNS = ("id", "type", "name", "parent")

Key = tuple[str, str]  # (table alias, column), lower case


@dataclass
class _Scope:
    """One ``SELECT`` of inner joins: its tables by alias, its AND-ed terms, its classes of equal columns."""

    select: exp.Select
    tables: dict[str, exp.Table]
    terms: list[exp.Expression]
    parent: dict[Key, Key] = field(default_factory=dict)
    literals: dict[Key, set[str]] = field(default_factory=dict)
    literal_terms: dict[Key, list[exp.Expression]] = field(default_factory=dict)

    def find(self, k: Key) -> Key:
        while self.parent.get(k, k) != k:
            k = self.parent[k]
        return k

    def members(self, k: Key) -> list[Key]:
        root = self.find(k)
        keys = {*self.parent, *self.parent.values(), *self.literals, k}
        return [m for m in keys if self.find(m) == root]

    def allowed(self, k: Key) -> set[str] | None:
        """The literal values ``k``'s class is limited to (None: no literal limit)."""
        out: set[str] | None = None
        for m in self.members(k):
            if m in self.literals:
                out = self.literals[m] if out is None else out & self.literals[m]
        return out


def _key(col: exp.Column, only: str = "") -> Key:
    """``(alias, column)``; an unqualified column of a one-table ``SELECT`` is that table's (``only``)."""
    return (str(col.table).lower() or only, str(col.name).lower())


def and_terms(cond: exp.Expression | None) -> list[exp.Expression]:
    """The terms of a condition joined by AND (parentheses looked through); none for None."""
    if cond is None:
        return []
    while isinstance(cond, exp.Paren):
        cond = cond.this
    if isinstance(cond, exp.And):
        return and_terms(cond.this) + and_terms(cond.expression)
    return [cond]


def _literal_filter(term: exp.Expression, only: str) -> tuple[Key, set[str]] | None:
    """``alias.col = 'x'`` / ``'x' = alias.col`` / ``alias.col IN ('x', …)`` as (key, values)."""
    if isinstance(term, exp.EQ):
        col, lit = term.this, term.expression
        if isinstance(lit, exp.Column):
            col, lit = lit, col
        if isinstance(col, exp.Column) and (col.table or only) and isinstance(lit, exp.Literal) and lit.is_string:
            return _key(col, only), {str(lit.this)}
    if isinstance(term, exp.In) and not term.args.get("query") and not term.args.get("unnest"):
        col, values = term.this, list(term.expressions)
        strings = bool(values) and all(isinstance(v, exp.Literal) and v.is_string for v in values)
        if isinstance(col, exp.Column) and (col.table or only) and strings:
            return _key(col, only), {str(v.this) for v in values}
    return None


def _scope(select: exp.Select) -> _Scope | None:
    from_ = select.args.get("from_") or select.args.get("from")
    joins = list(select.args.get("joins") or ())
    if from_ is None or any(j.side or j.kind not in ("", "INNER") or j.args.get("using") for j in joins):
        return None
    if any(j.args.get("method") for j in joins):  # NATURAL, ASOF, …
        return None
    sources = [from_.this, *(j.this for j in joins)]
    tables = {str(t.alias_or_name).lower(): t for t in sources if isinstance(t, exp.Table)}
    where = select.args.get("where")
    terms = [t for j in joins for t in and_terms(j.args.get("on"))] + and_terms(where.this if where else None)
    scope = _Scope(select, tables, terms)
    only = next(iter(tables)) if len(sources) == 1 and len(tables) == 1 else ""
    for term in terms:
        if isinstance(term, exp.EQ) and isinstance(term.this, exp.Column) and isinstance(term.expression, exp.Column):
            left, right = term.this, term.expression
            if (left.table and right.table) or only:
                scope.parent[scope.find(_key(left, only))] = scope.find(_key(right, only))
                continue
        found = _literal_filter(term, only)
        if found is not None:
            k, values = found
            scope.literals[k] = values if k not in scope.literals else scope.literals[k] & values
            scope.literal_terms.setdefault(k, []).append(term)
    return scope


def _name(t: exp.Table) -> str:
    return str(t.name).lower()


def push_history(tree: exp.Query, answers: dict[str, pa.Table], plant: Plant) -> exp.Query:
    """Narrow each ``history`` of ``tree`` whose twins the query names to their sids; drop joins left idle.

    ``answers`` holds the graph answers (``graph_0``, …); the names tables of pushed
    histories are added to it (``names_1``, …).
    """
    for select in list(tree.find_all(exp.Select)):
        scope = _scope(select)
        if scope is None:
            continue
        for h, table in list(scope.tables.items()):
            if _name(table) == "history" and not table.args.get("db"):
                _push_one(scope, h, table, answers, plant)
    return tree


def _twins_of(scope: _Scope, h: str, answers: dict[str, pa.Table], plant: Plant) -> tuple[set[str] | None, list[str]]:
    """The twins ``h``'s rows are limited to by the query (None: any), and the aliases that limit them by id."""
    twins = scope.allowed((h, "twin"))
    by_id: list[str] = []
    for alias, col in scope.members((h, "twin")):
        t = scope.tables.get(alias)
        if t is None or col != "id" or alias == h:
            continue
        name = _name(t)
        if name in answers and "id" in answers[name].column_names:
            ids = {str(i) for i in answers[name].column("id").to_pylist()}
        elif name == "twins":
            # Every twin of history is in twins once: without filters it limits nothing (but may go).
            by_id.append(alias)
            filters = [(c, scope.literals[(alias, c)]) for c in _TWIN_COLUMNS[1:] if (alias, c) in scope.literals]
            if not filters:
                continue
            ids = {i for i, tw in plant.twins.items() if all(getattr(tw, c) in v for c, v in filters)}
            twins = ids if twins is None else twins & ids
            continue
        else:
            continue
        twins = ids if twins is None else twins & ids
        by_id.append(alias)
    order = list(scope.tables)  # in the order the query names them: the same rewrite every time
    return twins, sorted(by_id, key=order.index)


def _push_one(scope: _Scope, h: str, table: exp.Table, answers: dict[str, pa.Table], plant: Plant) -> None:
    twins, by_id = _twins_of(scope, h, answers, plant)
    if twins is None or len(twins) > MAX_PUSHED_TWINS:
        return
    signals = scope.allowed((h, "signal"))
    idx = plant.signals
    sids = [int(i) for i in idx.of_twins(sorted(twins)) if signals is None or str(idx.name[i]) in signals]
    others = [m for m in scope.members((h, "twin")) if scope.tables.get(m[0]) is not None and m[0] != h]
    histories = [a for a, _ in others if _name(scope.tables[a]) == "history"]
    if not histories:
        for alias in by_id:
            _eliminate(scope, alias, h, answers)
    with_sid = _narrow_states(scope, h, sids, answers, plant)
    names = f"names_{len(answers)}"
    twin_col = _names_column(scope, h, "twin", sorted({str(idx.twin[i]) for i in sids}), names)
    signal_col = _names_column(scope, h, "signal", sorted({str(idx.name[i]) for i in sids}), names)
    joined = "s." in twin_col or "s." in signal_col
    if joined:
        answers[names] = pa.table({
            "sid": pa.array(sids, pa.int32()),
            "twin": pa.array([str(idx.twin[i]) for i in sids], pa.string()),
            "signal": pa.array([str(idx.name[i]) for i in sids], pa.string()),
        })  # fmt: skip
    listed = ", ".join(str(s) for s in sids) or "NULL"
    join = f" JOIN {names} AS s ON s.sid = p.sid" if joined else ""
    inner = sqlglot.parse_one(
        f"SELECT {twin_col} AS twin, {signal_col} AS signal, p.ts, p.value, p.quality"
        f"{', p.sid' if with_sid else ''} FROM points AS p{join} "
        f"WHERE p.sid IN ({listed})",
        read="duckdb",
    )
    named = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(h))
    table.replace(exp.Subquery(this=inner, alias=named))


def _narrow_states(scope: _Scope, h: str, sids: list[int], answers: dict[str, pa.Table], plant: Plant) -> bool:
    """Join ``states`` by sid and code, not by names, where it is joined to ``h`` by twin, signal and code.

    ``states s ON s.twin = h.twin AND s.signal = h.signal AND s.code = h.value`` becomes a
    table of just these sids' states joined ``ON s.sid = h.sid AND s.code = h.value``: integer
    keys, a few rows. True when ``h`` must then give its sid.
    """
    select = scope.select
    if any(isinstance(x.parent, exp.Select) for x in select.find_all(exp.Star)) or any(
        isinstance(c.this, exp.Star) for c in select.find_all(exp.Column)
    ):
        return False  # a * would show the sid
    joins = list(select.args.get("joins") or ())
    where = select.args.get("where")
    terms = [t for j in joins for t in and_terms(j.args.get("on"))] + and_terms(where.this if where else None)
    done = False
    for alias, t in list(scope.tables.items()):
        if _name(t) != "states" or alias == h:
            continue
        pairs = {}
        for want in (("twin", "twin"), ("signal", "signal"), ("code", "value")):
            pairs[want] = next((term for term in terms if _pairs(term, (alias, want[0]), (h, want[1]))), None)
        if any(v is None for v in pairs.values()):
            continue
        idx = plant.signals
        rows = [(i, str(idx.twin[i]), str(idx.name[i]), float(c), name)
                for i in sids for c, name in enumerate(idx.signal[i].states or ())]  # fmt: skip
        key = f"states_{len(answers)}"
        answers[key] = pa.table({
            "sid": pa.array([r[0] for r in rows], pa.int32()), "twin": pa.array([r[1] for r in rows], pa.string()),
            "signal": pa.array([r[2] for r in rows], pa.string()), "code": pa.array([r[3] for r in rows], pa.float64()),
            "state": pa.array([r[4] for r in rows], pa.string()),
        })  # fmt: skip
        t.set("this", exp.to_identifier(key))
        twin_eq, signal_eq = pairs[("twin", "twin")], pairs[("signal", "signal")]
        assert twin_eq is not None and signal_eq is not None
        twin_eq.replace(exp.EQ(this=exp.column("sid", table=alias), expression=exp.column("sid", table=h)))
        signal_eq.replace(exp.true())
        done = True
    return done


def _pairs(term: exp.Expression, a: Key, b: Key) -> bool:
    """Whether ``term`` is ``a = b`` (either way round), columns qualified."""
    if not (isinstance(term, exp.EQ) and isinstance(term.this, exp.Column) and isinstance(term.expression, exp.Column)):
        return False
    if not (term.this.table and term.expression.table):
        return False
    return {_key(term.this), _key(term.expression)} == {a, b}


def _names_column(scope: _Scope, h: str, col: str, values: list[str], names: str) -> str:
    """How ``h.col`` is produced: a constant (one value), NULL (unread), or the names table's column."""
    if len(values) == 1:
        return exp.Literal.string(values[0]).sql(dialect="duckdb")
    if not values or not _reads(scope.select, h, col):
        return "CAST(NULL AS VARCHAR)"
    return f"s.{col}"


def _reads(select: exp.Select, alias: str, col: str) -> bool:
    """Whether ``select`` may read ``alias.col`` (an unqualified column or a ``*`` counts as a read)."""
    for c in select.find_all(exp.Column):
        if str(c.name).lower() == col and (not c.table or str(c.table).lower() == alias):
            return True
        if isinstance(c.this, exp.Star) and (not c.table or str(c.table).lower() == alias):
            return True
    return any(isinstance(s.parent, exp.Select) for s in select.find_all(exp.Star))


def _eliminate(scope: _Scope, alias: str, h: str, answers: dict[str, pa.Table]) -> None:
    """Drop ``alias`` (a graph answer or ``twins``, joined by id to ``h.twin``) when nothing else reads it."""
    select, t = scope.select, scope.tables[alias]
    name = _name(t)
    if name in answers:
        ids = answers[name].column("id").to_pylist()
        if len(ids) != len(set(ids)):
            return
    # The literal filters applied from the model: on a graph answer its id, on twins its named columns.
    applied = ("id",) if name in answers else _TWIN_COLUMNS
    consumed = {id(term) for c in applied for term in scope.literal_terms.get((alias, c), [])}
    for c in select.find_all(exp.Column):
        if not c.table and len(scope.tables) > 1:
            return  # an unqualified column may be this table's
        if str(c.table).lower() != alias:
            continue
        if _nested(c, select):
            return  # a reference from a subquery: leave it
        if str(c.name).lower() != "id" and not any(id(p) in consumed for p in _ancestors(c)):
            return
    if any(isinstance(s.parent, exp.Select) for s in select.find_all(exp.Star)):
        return
    joins = list(select.args.get("joins") or ())
    from_ = select.args.get("from_") or select.args.get("from")
    assert from_ is not None
    if from_.this is t and not joins:
        return
    # The dropped table's id becomes h.twin and its consumed filters go. A term stays in the
    # ON it was in while every table it names is joined by then; the others (the dropped
    # join's, the popped first join's) go to WHERE: the joins are inner, so the rows are the same.
    placed: list[tuple[exp.Join | None, exp.Expression]] = [
        (j, term) for j in joins for term in and_terms(j.args.get("on"))
    ]
    where = select.args.get("where")
    placed += [(None, term) for term in and_terms(where.this if where is not None else None)]
    if from_.this is t:
        from_.set("this", joins.pop(0).this)
    else:
        joins = [j for j in joins if j.this is not t]
    position = {str(from_.this.alias_or_name).lower(): 0}
    position |= {str(j.this.alias_or_name).lower(): i + 1 for i, j in enumerate(joins)}
    ons: dict[int, list[exp.Expression]] = {id(j): [] for j in joins}
    kept: list[exp.Expression] = []
    for origin, term in placed:
        if id(term) in consumed:
            continue
        # In place: a term left as it was stays the same object (a later elimination knows it by id).
        term = term.transform(lambda n: _renamed(n, alias, h), copy=False)
        if isinstance(term, exp.EQ) and isinstance(term.this, exp.Column) and term.this == term.expression:
            continue  # h.twin = h.twin: h.twin is never NULL
        if origin is not None:
            # The first join by which every table the term names is there (its own, or a later one).
            named = {str(c.table).lower() for c in term.find_all(exp.Column) if c.table}
            at = max((position.get(n, len(joins) + 1) for n in named), default=0)
            if id(origin) in ons:
                at = max(at, joins.index(origin) + 1)
            if 1 <= at <= len(joins):
                ons[id(joins[at - 1])].append(term)
                continue
        kept.append(term)
    for j in joins:
        on = ons[id(j)]
        j.set("on", exp.and_(*on, copy=False) if on else None)
        if not on:
            j.set("kind", "CROSS")
    select.set("joins", joins or None)
    select.set("where", exp.Where(this=exp.and_(*kept, copy=False)) if kept else None)
    for c in list(select.find_all(exp.Column)):
        if str(c.table).lower() == alias:
            # A projection keeps its output name: SELECT t.id → SELECT h.twin AS id.
            out = _renamed(c, alias, h)
            c.replace(exp.alias_(out, c.name) if c.parent is select and c.arg_key == "expressions" else out)
    del scope.tables[alias]


def _renamed(node: exp.Expression, alias: str, h: str) -> exp.Expression:
    if isinstance(node, exp.Column) and str(node.table).lower() == alias and str(node.name).lower() == "id":
        return exp.column("twin", table=h)
    return node


def _ancestors(node: exp.Expression) -> list[exp.Expr]:
    out: list[exp.Expr] = []
    up = node.parent
    while up is not None:
        out.append(up)
        up = up.parent
    return out


def _nested(node: exp.Expression, select: exp.Select) -> bool:
    up = node.parent
    while up is not None and up is not select:
        if isinstance(up, exp.Select):
            return True
        up = up.parent
    return False
