"""Every API route declares the permission it needs (default deny for new routes)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from twinverse.api import create_app, route_table
from twinverse.api.body import request_body
from twinverse.config import Settings, load_settings
from twinverse.model import Plant
from twinverse.platform import Platform, example_path
from twinverse.trust import ROLE_PERMISSIONS, Permission, Role

# Not part of the API proper: the page and FastAPI's own docs. The websockets check their
# permission in the handler (authorize_ws), tested in tests/api/test_ws.py and test_collab_ws.py.
PUBLIC = {"/", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/ws", "/ws/collab/{plant_id}"}
# Public by decision: load balancer and orchestrator probes carry no token, and answer only
# "up" / which part is not ready. /metrics is NOT here: it needs the health permission
# (a scraper gets a token scoped to it, docs/operations.md), as /healthz does.
PROBES = {"/livez", "/readyz"}


def test_every_route_declares_a_permission(plant: Plant) -> None:
    app = create_app(platform=Platform(load_settings(store=":memory:"), plant=plant))
    table = route_table(app)
    missing = [f"{r.methods} {r.path}" for r in table if r.path not in PUBLIC | PROBES and not r.permissions]
    assert missing == []
    declared = {r.path: r.permissions for r in table}
    assert {p: declared[p] for p in PROBES} == {"/livez": (), "/readyz": ()}  # public: nothing else slipped in
    assert declared["/healthz"] == declared["/metrics"] == ("health",)
    assert declared["/api/ingest"] == ("data:write",)
    assert declared["/api/twins/{twin_id:path}/history"] == ("data:read",)
    assert declared["/api/twins/{twin_id:path}"] == ("plant:read",)
    assert {r.path + " " + ",".join(sorted(r.methods)): r.permissions for r in table
            if r.path == "/api/twins/{twin_id:path}/commands"} == {
        "/api/twins/{twin_id:path}/commands GET": ("plant:read",),
        "/api/twins/{twin_id:path}/commands POST": ("command:send",)}  # fmt: skip


# -- authentication and authorisation come before the body -------------------------------------
UNAUTHORIZED = {"type": "about:blank", "title": "Unauthorized", "status": 401,
                "detail": "a valid bearer token is required"}  # fmt: skip
PATH_VALUES = {"twin_id": "bottling/line1/filler", "did": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"}
#: Bodies no route accepts: broken JSON, the wrong media type, a declared size above every limit.
MALFORMED = [
    ({"Content-Type": "application/json"}, b'{"not json'),
    ({"Content-Type": "text/plain"}, b"\xff\xfe"),
    ({"Content-Type": "application/json", "Content-Length": str(10**9)}, b"{}"),
]


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)(?::path)?\}", lambda m: PATH_VALUES.get(m.group(1), "x000000000000"), path)


@pytest.fixture(scope="module")
def token_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("perm"), plant=example_path(), auth="token")
    platform = Platform(settings)
    admin = platform.trust.local_admin("default")
    ident, _ = platform.trust.access.create_identity(admin, "default", "vera", role=Role.VIEWER)
    viewer = platform.trust.access.create_token(admin, ident.did, "default")[1]
    with TestClient(create_app(platform=platform)) as client:
        yield client, viewer


def test_malformed_bodies_are_refused_after_authentication(token_app: tuple[TestClient, str]) -> None:
    """Every POST/PUT/PATCH route: no token → 401, a viewer without the permission → 403, whatever the body."""
    client, viewer = token_app
    checked = []
    for route in route_table(client.app):  # type: ignore[arg-type]
        for method in set(route.methods) & {"POST", "PUT", "PATCH"}:
            viewer_may = all(Permission(p) in ROLE_PERMISSIONS[Role.VIEWER] for p in route.permissions)
            for headers, body in MALFORMED:
                r = client.request(method, _url(route.path), content=body, headers=headers)
                assert (r.status_code, r.json()) == (401, UNAUTHORIZED), (method, route.path, headers)
                assert r.headers["content-type"] == "application/problem+json"
                r = client.request(method, _url(route.path), content=body, headers={**headers,
                                   "Authorization": f"Bearer {viewer}"})  # fmt: skip
                if viewer_may:
                    assert r.status_code in (404, 413, 422), (method, route.path, headers, r.text)
                else:
                    need = " and ".join(f"{p!r}" for p in route.permissions)
                    assert (r.status_code, r.json()["detail"]) == (403, f"permission {need} required"), (method,
                                                                                                      route.path)
            checked.append(f"{method} {route.path}")
    assert len(checked) == 22  # 8, AAS $value, query, plant validate and versions, six alarm actions, two rule PUTs,
    # commands, plants
    assert {"POST /api/ingest", "POST /api/query", "POST /api/sim/runs", "POST /api/plant/validate",
            "POST /api/plant/versions", "POST /api/identities", "PUT /api/identities/{did}/role", "POST /api/tokens",
            "POST /api/assets",
            "PATCH /aas/v3.0/submodels/{sm_id}/submodel-elements/{path}/$value",
            "POST /api/twins/{twin_id:path}/commands"} <= set(checked)  # fmt: skip


def test_permission_dependencies_run_before_the_body_is_read(token_app: tuple[TestClient, str]) -> None:
    """FastAPI solves a route's dependencies in order, route-level ``dependencies=[…]`` first.

    So a route that reads its body through body.py (a dependency, never a FastAPI body
    parameter) reads it only after ``require`` admitted the request; a route that declared its
    permission as a parameter after the body would validate the body first (422 before 401).
    """
    client, _ = token_app
    for rc in iter_route_contexts(client.app.routes):
        route = rc.original_route
        if not isinstance(route, APIRoute):
            continue
        order = []
        for dep in route.dependant.dependencies:
            stack, calls = [dep], []
            while stack:
                d = stack.pop()
                calls.append(d.call)
                stack.extend(d.dependencies)
            order.append("permission" if hasattr(dep.call, "permission") else "body" if request_body in calls else "")
        if "body" in order:  # the body is read by the first dependency that reaches request_body
            assert "permission" in order[: order.index("body")], f"{route.path}: the body is read before require()"
