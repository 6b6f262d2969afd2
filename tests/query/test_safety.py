"""Every safety case, each with its named answer: the reason, the status and where the error is.

The same cases go through ``POST /api/query`` (tests/api/test_query_api.py): a refused
query is a 422 (403 for a table the role may not read), never a 500, and nothing ran.
"""

from __future__ import annotations

import pytest

from twinverse.errors import QueryError
from twinverse.query import TABLES, check_sql

T = set(TABLES)

#: (case, SQL, reason, line, column, words in the message)
CASES = [
    ("DDL", "CREATE TABLE x (a INT)", "statement", 1, 1, "not CREATE"),
    ("DDL drop", "DROP TABLE twins", "statement", 1, 1, "not DROP"),
    ("DML insert", "INSERT INTO twins VALUES (1)", "statement", 1, 1, "not INSERT"),
    ("DML update", "UPDATE twins SET name = 'x'", "statement", 1, 1, "not UPDATE"),
    ("DML delete", "DELETE FROM history", "statement", 1, 1, "not DELETE"),
    ("COPY", "COPY twins TO '/tmp/twins.csv'", "statement", 1, 1, "not COPY"),
    ("read_csv", "SELECT * FROM read_csv('/etc/passwd')", "function", 1, 15, "read_csv() is not allowed"),
    ("read_parquet", "SELECT * FROM read_parquet('data/x.parquet')", "function", 1, 15, "read_parquet() is not allowed"),  # noqa: E501
    ("httpfs", "SELECT * FROM read_parquet('https://example.org/x.parquet')", "function", 1, 15, "read_parquet()"),
    ("file as table", "SELECT * FROM '/etc/passwd'", "table", 1, 15, 'no table "/etc/passwd"'),
    ("glob", "SELECT * FROM glob('/*')", "function", 1, 15, "glob() is not allowed"),
    ("store table", "SELECT * FROM points", "table", 1, 15, "no table points"),
    ("qualified", "SELECT * FROM main.points", "table", 1, 20, "no table main.points"),
    ("catalogue", "SELECT * FROM information_schema.tables", "table", 1, 34, "information_schema.tables"),
    ("ATTACH", "ATTACH '/tmp/other.duckdb' AS o", "statement", 1, 1, "not ATTACH"),
    ("PRAGMA", "PRAGMA database_list", "statement", 1, 1, "not PRAGMA"),
    ("SET", "SET enable_external_access = true", "statement", 1, 1, "not SET"),
    ("INSTALL", "INSTALL httpfs", "statement", 1, 1, "not INSTALL"),
    ("LOAD", "LOAD httpfs", "statement", 1, 1, "not LOAD"),
    ("CALL", "CALL pragma_version()", "statement", 1, 1, "not CALL"),
    ("two statements", "SELECT 1; DROP TABLE twins", "statement", 1, 10, "one statement per query, not 2"),
    ("off the allow-list", "SELECT getenv('HOME')", "function", 1, 8, "getenv() is not on the allow-list"),
    ("settings", "SELECT current_setting('TimeZone')", "function", 1, 8, "current_setting()"),
    ("table function", "SELECT * FROM duckdb_settings()", "function", 1, 15, "duckdb_settings() is not allowed"),
    ("nested", "SELECT * FROM twins WHERE id IN (SELECT x FROM read_text('/etc/hosts'))", "function", 1, 48, "read_text()"),  # noqa: E501
    ("syntax", "SELECT id FROM twins WHERE", "syntax", 1, 22, "syntax error"),
    ("syntax, line 3", "SELECT id\nFROM twins\nWHERE parent = = 'x'", "syntax", 3, 16, "syntax error"),
    ("empty", "  ", "statement", 1, 1, "empty"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "sql", "reason", "line", "column", "words"), CASES, ids=[c[0] for c in CASES])
def test_refused(case: str, sql: str, reason: str, line: int, column: int, words: str) -> None:
    with pytest.raises(QueryError) as err:
        check_sql(sql, T, max_chars=10_000)
    e = err.value
    assert (e.reason, e.line, e.column, e.status) == (reason, line, column, 422), e.message
    assert words in e.message
    assert e.to_problem()["position"] == {"line": line, "column": column}


def test_too_long() -> None:
    sql = "SELECT id FROM twins WHERE id = '" + "x" * 200 + "'"
    with pytest.raises(QueryError, match="more than the limit of 100 \\(query_max_chars\\)") as err:
        check_sql(sql, T, max_chars=100)
    assert err.value.reason == "too_long" and err.value.status == 422


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM twins",
        "FROM twins",
        "WITH x AS (SELECT id FROM twins) SELECT * FROM x",
        "SELECT id FROM twins UNION SELECT twin FROM live",
        "SELECT * FROM descendants('bottling') d JOIN live l ON l.twin = d.id",
        "SELECT twin, time_bucket(INTERVAL '5 minutes', ts) AS b, avg(value) FROM history GROUP BY ALL",
        "SELECT count(*) FILTER (WHERE value > 80) FROM history WHERE ts >= now() - INTERVAL 7 DAY",
        "SELECT properties->>'$.rated_speed' FROM twins WHERE name ILIKE '%pack%'",
        "SELECT * FROM range(10) r(i)",
        "SELECT arg_max(value, ts), quantile_cont(value, 0.9) FROM history GROUP BY twin",
    ],
)
def test_allowed(sql: str) -> None:
    check_sql(sql, T, max_chars=10_000)


def test_what_runs_is_printed_from_the_checked_tree() -> None:
    """The database never sees the caller's text: comments and spacing are gone, names are as checked."""
    q = check_sql("SELECT /* hi */ id\n  FROM twins -- x\n", T, max_chars=1000)
    assert q.sql() == "SELECT id FROM twins"


def test_a_comment_cannot_smuggle_a_statement() -> None:
    q = check_sql("SELECT 1 AS a -- */ ; DROP TABLE twins; /*\n FROM twins", T, max_chars=1000)
    assert q.sql() == "SELECT 1 AS a FROM twins"
