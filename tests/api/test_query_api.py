"""``POST /api/query`` and ``GET /api/query/{cursor}``: pages, Arrow, refusals as 4xx with details."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.platform import Platform, example_path
from twinverse.trust import Role

from ..query.conftest import Known, build

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Known, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("q")
    known = build(tmp, str(tmp / "h.duckdb"), auth="token", query_max_rows=2_000)
    trust = known.platform.trust
    admin = trust.local_admin("default")
    tokens = {"admin": trust.ensure_admin_token("default")}
    for role in (Role.VIEWER, Role.ENGINEER):
        ident, _ = trust.access.create_identity(admin, "default", role.value, role=role)
        tokens[role.value] = trust.access.create_token(admin, ident.did, "default")[1]
    ident, _ = trust.access.create_identity(admin, "default", "model-only", role=Role.VIEWER)
    tokens["model"] = trust.access.create_token(admin, ident.did, "default", scopes=["plant:read"])[1]
    trust.access.create_tenant(None, "other")
    other_admin = trust.local_admin("other")
    ident, _ = trust.access.create_identity(other_admin, "other", "olga", role=Role.ADMIN)
    tokens["other"] = trust.access.create_token(other_admin, ident.did, "other")[1]
    with TestClient(create_app(platform=known.platform)) as client:
        yield client, known, tokens


def ask(c: TestClient, token: str, sql: str, **body: Any) -> Any:
    return c.post("/api/query", json={"sql": sql, **body}, headers={"authorization": f"Bearer {token}"})


def test_json_page(app: tuple[TestClient, Known, dict[str, str]]) -> None:
    c, known, t = app
    r = ask(c, t["viewer"], "SELECT id, depth FROM ancestors('bottling/line1/filler') ORDER BY depth")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "columns": [{"name": "id", "type": "string"}, {"name": "depth", "type": "int32"}],
        "rows": [["bottling/line1", 1], ["bottling", 2]],
        "offset": 0, "total": 2, "next": None,
    }  # fmt: skip
    r = ask(c, t["viewer"], "SELECT min(ts) AS first, count(*) AS n FROM history")
    assert r.json()["rows"] == [["2026-11-23T00:00:00+00:00", len(known.sid)]]


def test_pages_follow_the_cursor(app: tuple[TestClient, Known, dict[str, str]]) -> None:
    c, known, t = app
    auth = {"authorization": f"Bearer {t['viewer']}"}
    r = ask(c, t["viewer"], "SELECT value FROM history ORDER BY twin, signal, ts", page_rows=500)
    body = r.json()
    values = [row[0] for row in body["rows"]]
    assert body["total"] == len(known.sid) and len(values) == 500
    while body["next"]:
        body = c.get(f"/api/query/{body['next']}", params={"page_rows": 500}, headers=auth).json()
        values += [row[0] for row in body["rows"]]
    assert len(values) == len(known.sid) and sum(values) == pytest.approx(float(known.value.sum()))
    # Another caller cannot read someone's cursor.
    r = ask(c, t["viewer"], "SELECT value FROM history", page_rows=10)
    other = c.get(f"/api/query/{r.json()['next']}", headers={"authorization": f"Bearer {t['engineer']}"})
    assert other.status_code == 404 and other.headers["content-type"] == PROBLEM


def test_arrow_stream(app: tuple[TestClient, Known, dict[str, str]]) -> None:
    c, known, t = app
    r = ask(c, t["viewer"], "SELECT twin, signal, ts, value FROM history ORDER BY twin, signal, ts", format="arrow")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.apache.arrow.stream"
    table = pa.ipc.open_stream(io.BytesIO(r.content)).read_all()
    assert table.num_rows == len(known.sid) == int(r.headers["x-query-rows"])
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")


def test_refusals_point_at_the_error(app: tuple[TestClient, Known, dict[str, str]]) -> None:
    c, _, t = app
    r = ask(c, t["viewer"], "SELECT id\nFROM twins\nWHERE getenv('HOME') = id")
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["reason"] == "function" and body["position"] == {"line": 3, "column": 7}
    assert body["detail"].startswith("line 3, column 7: function getenv() is not on the allow-list")
    assert body["errors"][0]["path"] == "function" and body["errors"][0]["line"] == 3
    for sql, reason in [("COPY twins TO 'x.csv'", "statement"), ("SELECT * FROM read_csv('x')", "function"),
                        ("SELECT 1; SELECT 2", "statement"), ("SELECT * FROM points", "table"),
                        ("SELECT * FROM twins WHERE", "syntax"), ("SELECT nope FROM twins", "failed")]:  # fmt: skip
        r = ask(c, t["viewer"], sql)
        assert (r.status_code, r.json()["reason"]) == (422, reason), sql


def test_too_big_result(app: tuple[TestClient, Known, dict[str, str]]) -> None:
    c, _, t = app
    r = ask(c, t["viewer"], "SELECT * FROM history, range(2)")  # twice the 1,920 rows of history
    assert r.status_code == 422 and r.json()["reason"] == "too_many_rows"
    assert "more than 2,000 rows (query_max_rows)" in r.json()["detail"]


def test_bad_bodies_are_422(app: tuple[TestClient, Known, dict[str, str]]) -> None:
    c, _, t = app
    auth = {"authorization": f"Bearer {t['viewer']}"}
    for body in ({}, {"sql": 1}, {"sql": "SELECT 1", "page_rows": 0}, {"sql": "SELECT 1", "format": "xml"},
                 {"sql": "SELECT 1", "extra": True}):  # fmt: skip
        r = c.post("/api/query", json=body, headers=auth)
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM, body
    r = c.get("/api/query/nope:0", headers=auth)
    assert r.status_code == 404


def test_roles_and_tenants(app: tuple[TestClient, Known, dict[str, str]]) -> None:
    c, _, t = app
    assert ask(c, t["viewer"], "SELECT count(*) FROM quarantine").status_code == 403
    assert ask(c, t["engineer"], "SELECT count(*) FROM quarantine").status_code == 200
    r = ask(c, t["model"], "SELECT * FROM live")
    assert r.status_code == 403 and "'live' needs permission 'data:read'" in r.json()["detail"]
    assert ask(c, t["model"], "SELECT count(*) FROM twins").json()["rows"] == [[19]]
    assert ask(c, t["other"], "SELECT count(*) FROM twins").status_code == 403  # another tenant's plant
    assert c.post("/api/query", json={"sql": "SELECT 1"}).status_code == 401


def test_open_mode_platform(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, plant=example_path(), store=":memory:", seal_history=False)
    with TestClient(create_app(platform=Platform(settings))) as c:
        r = c.post("/api/query", json={"sql": "SELECT count(*) AS n FROM live WHERE ts IS NULL"})
        assert r.status_code == 200 and r.json()["rows"] == [[71]]
