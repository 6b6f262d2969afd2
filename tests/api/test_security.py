"""Authentication and authorisation of routes (twinverse/api/security.py) on the real app.

Bearer header variants, the websocket's query-parameter token, permission and tenant checks,
and the exact 401/403 bodies. Trust routes end to end and the role matrix are in test_auth.py.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.websockets import WebSocketDisconnect

from twinverse.api import create_app
from twinverse.api.security import PLANT_SCOPED, bearer_token, plant_tenant
from twinverse.config import Settings
from twinverse.errors import AuthenticationError
from twinverse.platform import Platform, example_path
from twinverse.trust import Permission, Role

PROBLEM = "application/problem+json"


def request(headers: dict[str, str], query: str = "") -> Request:
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": query.encode(), "headers":
             [(k.lower().encode(), v.encode()) for k, v in headers.items()]}  # fmt: skip
    return Request(scope)


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer tvk_abc", "tvk_abc"), ("bearer tvk_abc", "tvk_abc"), ("BEARER  tvk_abc ", "tvk_abc"),
     ("  Bearer tvk_abc", "tvk_abc")],
)  # fmt: skip
def test_bearer_header_variants(header: str, token: str) -> None:
    assert bearer_token(request({"Authorization": header})) == token


@pytest.mark.parametrize("header", ["Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "tvk_abc", "Token tvk_abc"])
def test_malformed_authorization_is_an_authentication_error(header: str) -> None:
    with pytest.raises(AuthenticationError) as exc:
        bearer_token(request({"Authorization": header}))
    assert exc.value.message == "invalid bearer token" and exc.value.reason == "malformed Authorization header"


def test_no_header_and_the_query_token() -> None:
    assert bearer_token(request({})) is None
    assert bearer_token(request({}, "access_token=tvk_q")) is None  # HTTP routes: header only
    assert bearer_token(request({}, "access_token=tvk_q"), allow_query=True) == "tvk_q"
    assert bearer_token(request({"Authorization": "Bearer tvk_h"}, "access_token=tvk_q"), allow_query=True) == "tvk_h"


def test_plant_tenant_is_the_platform_s_then_the_settings_then_default() -> None:
    def conn(platform: object) -> Request:
        r = request({})
        r.scope["app"] = SimpleNamespace(state=SimpleNamespace(platform=platform))
        return r

    assert plant_tenant(conn(SimpleNamespace(tenant="acme", settings=SimpleNamespace(tenant="x")))) == "acme"
    assert plant_tenant(conn(SimpleNamespace(settings=SimpleNamespace(tenant="beta")))) == "beta"
    assert plant_tenant(conn(SimpleNamespace())) == "default"
    assert Permission.DATA_READ in PLANT_SCOPED and Permission.ASSET_READ not in PLANT_SCOPED


class Tokens(SimpleNamespace):
    admin: str
    viewer: str
    operator: str
    foreign: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Tokens]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("security"), plant=example_path(), auth="token")
    platform = Platform(settings)
    trust = platform.trust
    admin = trust.local_admin("default")

    def token_for(name: str, role: Role) -> str:
        ident, _ = trust.access.create_identity(admin, "default", name, role=role)
        return trust.access.create_token(admin, ident.did, "default")[1]

    trust.access.create_tenant(None, "acme")
    acme = trust.local_admin("acme")
    tokens = Tokens(
        admin=trust.access.create_token(admin, admin.id, "default")[1],
        viewer=token_for("vera", Role.VIEWER),
        operator=token_for("otto", Role.OPERATOR),
        foreign=trust.access.create_token(acme, acme.id, "acme")[1],
    )
    with TestClient(create_app(platform=platform)) as client:
        yield client, tokens


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("headers", "detail"),
    [({}, "a valid bearer token is required"), ({"Authorization": "Basic eA=="}, "invalid bearer token"),
     ({"Authorization": "Bearer tvk_000000000000_" + "A" * 43}, "invalid bearer token")],
    ids=["missing", "basic", "unknown"],
)  # fmt: skip
def test_401_body_and_challenge(world: tuple[TestClient, Tokens], headers: dict[str, str], detail: str) -> None:
    client, _ = world
    r = client.get("/api/plant", headers=headers)
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"] == 'Bearer realm="twinverse"'
    assert r.json() == {"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": detail}


def test_403_names_the_missing_permission(world: tuple[TestClient, Tokens]) -> None:
    client, tokens = world
    r = client.get("/api/export", headers=h(tokens.operator))
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM
    assert r.json() == {"type": "about:blank", "title": "Forbidden", "status": 403,
                        "detail": "permission 'data:export' required"}  # fmt: skip
    assert client.get("/api/plant", headers=h(tokens.viewer)).status_code == 200


def test_the_plant_belongs_to_its_tenant(world: tuple[TestClient, Tokens]) -> None:
    client, tokens = world
    r = client.get("/api/plant", headers=h(tokens.foreign))  # an admin, but of another tenant
    assert r.status_code == 403 and r.json()["detail"] == "tenant 'default' is not yours"
    assert client.get("/api/assets", headers=h(tokens.foreign)).status_code == 200  # not plant-scoped


def test_websocket_authorisation(world: tuple[TestClient, Tokens]) -> None:
    client, tokens = world
    with client.websocket_connect(f"/ws?access_token={tokens.viewer}&twin=bottling/line1") as ws:
        assert ws.receive_json()["type"] == "snapshot"
    with client.websocket_connect("/ws?twin=bottling/line1", headers=h(tokens.viewer)) as ws:
        assert ws.receive_json()["type"] == "snapshot"
    for url, headers in [("/ws", {}), ("/ws?access_token=nope", {}), (f"/ws?access_token={tokens.foreign}", {}),
                         ("/ws", {"Authorization": "Basic eA=="})]:  # fmt: skip
        with pytest.raises(WebSocketDisconnect) as exc, client.websocket_connect(url, headers=headers) as ws:
            ws.receive_json()
        assert exc.value.code == 1008, url


def test_a_request_is_authenticated_once(world: tuple[TestClient, Tokens]) -> None:
    """require() and current_principal() in one request share one authentication (request.state)."""
    client, tokens = world
    calls = []
    trust = client.app.state.platform.trust  # type: ignore[attr-defined]
    original = trust.authenticate

    def counting(token: str | None) -> object:
        calls.append(token)
        return original(token)

    trust.authenticate = counting
    try:
        assert client.get("/api/me", headers=h(tokens.viewer)).status_code == 200
    finally:
        trust.authenticate = original
    assert calls == [tokens.viewer]


def test_a_405_says_which_methods_are_allowed(tmp_path: pathlib.Path) -> None:
    settings = Settings(plant=example_path(), data_dir=tmp_path, store=":memory:", auth="open", seal_history=False)
    with TestClient(create_app(platform=Platform(settings))) as client:
        r = client.delete("/api/plant")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET"
    assert r.headers["content-type"] == "application/problem+json"
