"""Invariants of the checker: any text is either accepted or refused with a QueryError (a 4xx), and an
accepted query prints to a statement that checks again to the same statement (what runs is what was checked)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinverse.errors import QueryError
from twinverse.query import ALLOWED_FUNCTIONS, TABLES, check_sql

T = set(TABLES)
WORDS = ["SELECT", "FROM", "WHERE", "JOIN", "ON", "GROUP BY", "ORDER BY", "LIMIT", "WITH", "AS", "UNION", "AND",
         "OR", "NOT", "(", ")", ",", ";", "*", "=", "<", "'x'", "1", "2.5", "--", "/*", "*/", "DROP", "COPY",
         "ATTACH", "PRAGMA", "read_csv('f')", "'/etc/passwd'", "main.points", *sorted(T),
         *sorted(ALLOWED_FUNCTIONS)[:40], "descendants('bottling')", "id", "twin", "value", "ts"]  # fmt: skip

phrases = st.lists(st.sampled_from(WORDS), min_size=1, max_size=25).map(" ".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(phrases, st.text(max_size=200)))
def test_any_text_is_accepted_or_refused_cleanly(text: str) -> None:
    try:
        checked = check_sql(text, T, max_chars=10_000)
    except QueryError as exc:
        assert exc.status == 422 and exc.reason in {"syntax", "statement", "table", "function", "too_long"}
        if exc.line is not None:
            assert exc.line >= 1 and (exc.column or 0) >= 1
        return
    printed = checked.sql()
    again = check_sql(printed, T, max_chars=100_000)
    assert again.sql() == printed and again.tables == checked.tables
