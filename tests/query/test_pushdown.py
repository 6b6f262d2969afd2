"""History pushdown, join elimination, aggregation by sid (twinverse.query.pushdown, .preagg).

Each question is asked twice: as written, where names become sids and joins that only
picked twins go, and in a form the rewrite leaves alone (history read through a CTE,
twins through a subquery, graph calls with a computed argument so they stay recursive
CTEs). The answers must be the same rows, on both stores; what the rewrite printed is
checked for the cases it should and should not touch.
"""

from __future__ import annotations

import pytest

from twinverse.errors import QueryError
from twinverse.query import TABLES, check_sql, rewrite_graph_calls

from .conftest import FILLER, T0_US, Known

LINE = "bottling/line1"
SINCE = f"make_timestamp({T0_US + 30 * 60_000_000})"


def printed(known: Known, sql: str) -> str:
    tree, _ = rewrite_graph_calls(check_sql(sql, set(TABLES), max_chars=10_000).tree, known.platform.plant)
    return tree.sql(dialect="duckdb")


def untouched(sql: str) -> str:
    """The same question in a form the rewrite does not narrow."""
    out = sql.replace("JOIN history h", "JOIN hh h").replace("FROM history ", "FROM hh ")
    out = out.replace("JOIN history h2", "JOIN hh h2").replace("JOIN twins t", "JOIN (SELECT * FROM twins) t")
    for fn in ("downstream", "upstream", "descendants", "subtree", "children"):
        out = out.replace(f"{fn}('", f"{fn}(lower('").replace("') d", "')) d").replace("') u", "')) u")
    return "WITH hh AS (SELECT * FROM history) " + out


def canon(known: Known, sql: str) -> list[str]:
    """The rows, sorted, floats to 9 significant digits (sums may be added in another order)."""
    rows = known.platform.query.run(sql).to_pylist()
    return sorted(str(tuple(f"{v:.9g}" if isinstance(v, float) else v for v in r.values())) for r in rows)


#: (question, what the rewritten statement must not contain, what it must contain)
CASES = [
    (f"SELECT t.id, count(*) AS hot FROM downstream('{LINE}/depal') d JOIN twins t ON t.id = d.id "
     f"AND t.type = 'filler' JOIN history h ON h.twin = t.id AND h.signal = 'temperature' "
     f"WHERE h.value > 50 AND h.ts >= {SINCE} GROUP BY t.id HAVING count(*) > 5",
     ("graph_0", "twins", "names_"), ("'bottling/line1/filler' AS twin", "h.twin AS id")),
    (f"SELECT count(*) AS n, sum(h.value) AS total FROM upstream('{LINE}/palletiser') u "
     f"JOIN history h ON h.twin = u.id AND h.signal = 'state' WHERE h.value > 1",
     ("graph_0", "names_"), ("CAST(NULL AS TEXT) AS twin",)),
    (f"SELECT h.twin, date_trunc('hour', h.ts) AS hour, avg(h.value) AS mean FROM descendants('{LINE}') d "
     f"JOIN history h ON h.twin = d.id AND h.signal = 'state' GROUP BY 1, 2",
     ("graph_0",), ("s.twin AS twin", "'state' AS signal")),
    (f"SELECT h.twin, avg(CASE WHEN s.state = 'running' THEN 1.0 ELSE 0.0 END) AS running "
     f"FROM descendants('{LINE}') d JOIN history h ON h.twin = d.id AND h.signal = 'state' "
     f"JOIN states s ON s.twin = h.twin AND s.signal = h.signal AND s.code = h.value GROUP BY h.twin",
     ("graph_0", "JOIN states AS s"), ("AS s ON s.sid = h.sid AND TRUE AND s.code = h.value", ", p.sid FROM")),
    (f"SELECT * FROM children('{LINE}') d JOIN history h ON h.twin = d.id AND h.signal = 'state' "
     f"JOIN states s ON s.twin = h.twin AND s.signal = h.signal AND s.code = h.value WHERE h.ts < {SINCE}",
     ("p.sid FROM",), ("JOIN states AS s",)),  # a * would show the sid: states stays joined by names
    ("SELECT t.parent, t.name, max(h.value) AS peak FROM descendants('bottling') d JOIN twins t ON t.id = d.id "
     "JOIN history h ON h.twin = d.id AND h.signal = 'temperature' GROUP BY 1, 2",
     ("graph_0",), ("twins AS t",)),  # t.parent and t.name are read: twins stays
    (f"SELECT signal, count(*) AS n, min(value) AS lo FROM history WHERE twin = '{FILLER}' "
     f"AND signal IN ('temperature', 'state', 'nothing') GROUP BY signal",
     ("sids",), (f"'{FILLER}' AS twin",)),
    (f"SELECT h.twin, h2.value - h.value AS d FROM children('{LINE}') d JOIN history h ON h.twin = d.id "
     f"JOIN history h2 ON h2.twin = d.id AND h2.ts = h.ts AND h2.signal = h.signal WHERE h.signal = 'state' "
     f"AND h.ts < {SINCE}",
     (), ("graph_0",)),  # two histories in one class: the graph answer stays (it ties them)
    ("SELECT t.id, count(*) AS n FROM twins t JOIN history h ON h.twin = t.id WHERE t.type = 'no such type' "
     "GROUP BY t.id",
     ("twins",), ("p.sid IN (NULL)",)),
    (f"SELECT * FROM downstream('{LINE}/depal') d JOIN history h ON h.twin = d.id AND h.signal = 'temperature' "
     f"WHERE h.ts < {SINCE}",
     (), ("graph_0",)),  # a * projection reads every column: nothing dropped
    (f"SELECT l.twin, count(*) AS n FROM live l JOIN history h ON h.twin = l.twin AND h.signal = l.signal "
     f"WHERE l.twin = '{FILLER}' AND l.signal = 'temperature' GROUP BY l.twin",
     (), ("p.sid IN (19)", "FROM live AS l JOIN")),
    (f"SELECT t.id, count(*) AS n FROM history h JOIN twins t ON t.id = h.twin AND t.parent = '{LINE}' "
     f"WHERE h.signal = 'temperature' GROUP BY t.id",
     ("twins", "graph_0"), ("h.twin AS id",)),
    ("SELECT d.id, d.depth, count(*) AS n FROM descendants('bottling') d JOIN history h ON h.twin = d.id "
     "WHERE h.signal = 'temperature' GROUP BY 1, 2",
     (), ("graph_0",)),  # d.depth is read: the graph answer stays
    (f"SELECT d.id, count(h.value) AS n FROM downstream('{LINE}/depal') d LEFT JOIN history h ON h.twin = d.id "
     f"GROUP BY d.id",
     ("p.sid IN",), ("LEFT JOIN history",)),  # an outer join: left as written
    # Plant-wide: aggregated by sid first, then joined to the names (twinverse.query.preagg).
    ("SELECT signal, count(*) AS n, avg(value) AS mean FROM history GROUP BY signal",
     ("FROM history",), ("GROUP BY p.sid) AS a JOIN sids AS s",)),
    (f"SELECT twin, avg(value) AS mean FROM history WHERE signal = 'state' AND ts >= {SINCE} "
     f"GROUP BY twin ORDER BY mean DESC, twin LIMIT 5",
     ("FROM history",), ("WHERE p.ts >=", "WHERE s.signal = 'state'")),
    ("SELECT h.twin, h.signal, max(h.ts) AS last, min(h.ts) AS first, min(h.value) AS lo, max(h.value) AS hi, "
     "sum(h.value) AS total, count(h.value) AS k FROM history h WHERE h.value > 1 AND h.quality = 0 "
     "GROUP BY h.twin, h.signal HAVING count(*) > 10 ORDER BY count(*) DESC, h.twin, h.signal",
     ("FROM history",), ("HAVING CAST(SUM(a.n) AS BIGINT) > 10",)),
    ("SELECT l.twin, l.value - a.mean AS delta FROM live l JOIN (SELECT twin, avg(value) AS mean FROM history "
     "WHERE signal = 'state' GROUP BY twin) a ON a.twin = l.twin WHERE l.signal = 'state'",
     ("FROM history",), ("JOIN sids AS s",)),
    (f"SELECT t.type, max(h.value) AS peak, count(*) AS n FROM history h JOIN twins t ON t.id = h.twin "
     f"WHERE h.signal = 'state' AND h.ts >= {SINCE} GROUP BY t.type",
     ("FROM history",), ("JOIN sids AS s ON s.sid = a.sid JOIN twins AS t ON t.id = s.twin",)),
    ("SELECT t.parent AS line, h.signal, avg(h.value) AS m, min(h.ts) AS first FROM twins t "
     "JOIN history h ON h.twin = t.id AND t.type <> 'filler' GROUP BY t.parent, h.signal ORDER BY line, h.signal",
     ("FROM history",), ("WHERE t.type <> 'filler'",)),
    ("SELECT t.type, max(h.value) AS peak FROM history h JOIN twins t ON t.name = h.twin GROUP BY t.type",
     ("sids",), ("FROM history",)),  # not joined by id: left as written
    ("SELECT twin, count(DISTINCT value) AS k FROM history GROUP BY twin", ("sids",), ("FROM history",)),
    ("SELECT twin, max(value) FROM history GROUP BY twin", ("sids",), ("FROM history",)),  # unnamed output
    ("SELECT twin, median(value) AS m FROM history GROUP BY twin", ("sids",), ("FROM history",)),
    ("SELECT twin, ts, avg(value) AS m FROM history GROUP BY twin, ts", ("sids",), ("FROM history",)),
]  # fmt: skip


@pytest.mark.parametrize("sql, absent, present", CASES)
def test_rewritten_questions_give_the_same_answers(known: Known, sql: str, absent: tuple[str, ...],
                                                   present: tuple[str, ...]) -> None:  # fmt: skip
    text = printed(known, sql)
    for bit in absent:
        assert bit not in text, text
    for bit in present:
        assert bit in text, text
    plain = untouched(sql)
    assert "p.sid IN" not in printed(known, plain) and "sids" not in printed(known, plain)
    assert canon(known, sql) == canon(known, plain)


def test_the_filler_question_reads_one_sid(known: Known) -> None:
    """Graph answer and type filter resolved in Python: one sid, no join at all."""
    plant = known.platform.plant
    sql = CASES[0][0]
    sid = plant.signals.sid(FILLER, "temperature")
    text = printed(known, sql)
    assert f"WHERE p.sid IN ({sid}))" in text and " JOIN " not in text
    assert canon(known, sql) != []


def test_the_querys_own_names_are_never_rewritten(known: Known) -> None:
    """A CTE named history or twins is the query's, not the store's; internal names are refused."""
    own = (
        "WITH history AS (SELECT 'x' AS twin, 'y' AS signal, 2.0 AS value) "
        "SELECT signal, count(*) AS n, avg(value) AS mean FROM history WHERE twin = 'x' GROUP BY signal"
    )
    assert "points" not in printed(known, own)
    assert known.platform.query.run(own).to_pylist() == [{"signal": "y", "n": 1, "mean": 2.0}]
    for name in ("points", "sids", "sid_names", "graph_0", "names_1"):
        with pytest.raises(QueryError) as err:
            known.platform.query.run(f"WITH {name} AS (SELECT 1 AS sid) SELECT count(*) FROM {name}")
        assert (err.value.reason, err.value.status) == ("table", 422) and "reserved" in err.value.message
