"""Bearer-token authentication and authorisation over HTTP and websockets; trust routes end to end.

The app here is small on purpose: the trust router, a dummy data route and a websocket, on
a stand-in platform holding a real :class:`TrustService` (real SQLite, real keys).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import Depends, FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from twinverse.api.routes.trust import router as trust_router
from twinverse.api.security import (
    Permission,
    authorize_ws,
    current_principal,
    require,
    require_tenant,
)
from twinverse.errors import TwinverseError
from twinverse.trust import Checkpoint, NoteVerifier, Role, TrustService, verify_inclusion
from twinverse.trust.merkle import leaf_hash

from ..trust.conftest import Clock

SECRET_ROWS = {"rows": [1.5, 2.5, 3.5]}


def build_app(trust: TrustService) -> FastAPI:
    app = FastAPI()
    app.state.platform = SimpleNamespace(trust=trust)

    @app.exception_handler(TwinverseError)
    async def _err(request: Request, exc: TwinverseError) -> JSONResponse:
        return JSONResponse(exc.to_problem(), status_code=exc.status, media_type="application/problem+json")

    @app.get("/api/tenants/{tenant}/data", dependencies=[Depends(require(Permission.DATA_READ))])
    def data(request: Request, tenant: str) -> dict[str, Any]:
        require_tenant(current_principal(request), tenant)
        return SECRET_ROWS

    @app.get("/api/live", dependencies=[Depends(require(Permission.DATA_READ))])
    def live() -> dict[str, Any]:
        return SECRET_ROWS

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        principal = await authorize_ws(websocket, Permission.DATA_READ)
        if principal is None:
            return
        await websocket.accept()
        await websocket.send_json({"hello": principal.id})
        await websocket.close()

    app.include_router(trust_router)
    return app


class World(SimpleNamespace):
    trust: TrustService
    client: TestClient
    clock: Clock
    admin: str
    viewer: str
    operator: str
    acme_admin: str


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = Clock()
    trust = TrustService(tmp_path / "data", clock=clock, synchronous="OFF")
    admin = trust.local_admin("default")
    trust.access.create_tenant(None, "acme")
    acme = trust.local_admin("acme")

    def token_for(name: str, role: Role) -> str:
        ident, _ = trust.access.create_identity(admin, "default", name, role=role)
        return trust.access.create_token(admin, ident.did, "default")[1]

    w = World(
        trust=trust,
        clock=clock,
        admin=trust.access.create_token(admin, admin.id, "default")[1],
        viewer=token_for("vera", Role.VIEWER),
        operator=token_for("otto", Role.OPERATOR),
        acme_admin=trust.access.create_token(acme, acme.id, "acme")[1],
    )
    with TestClient(build_app(trust)) as client:
        w.client = client
        yield w
    trust.close()


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_no_leak(r: Any, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert set(body) == {"type", "title", "status", "detail"}
    assert "1.5" not in r.text and "rows" not in r.text


# -- authentication -------------------------------------------------------------------------------
def test_valid_token_reads_its_own_tenant(world: World) -> None:
    r = world.client.get("/api/tenants/default/data", headers=h(world.viewer))
    assert r.status_code == 200 and r.json() == SECRET_ROWS


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer tvk_000000000000_" + "A" * 43},
    ],
    ids=["missing", "empty", "basic", "malformed", "unknown"],
)
def test_missing_and_malformed_tokens_get_401(world: World, headers: dict[str, str]) -> None:
    r = world.client.get("/api/tenants/default/data", headers=headers)
    assert_no_leak(r, 401)
    assert r.json()["detail"] in {"a valid bearer token is required", "invalid bearer token"}


def test_expired_and_revoked_tokens_get_the_same_401(world: World) -> None:
    admin = world.trust.authenticate(world.admin)
    _, short = world.trust.access.create_token(admin, admin.id, "default", ttl=timedelta(hours=1))
    _, revoked = world.trust.access.create_token(admin, admin.id, "default")
    world.trust.access.revoke_token(admin, world.trust.authenticate(revoked).token_id or "")
    world.clock.advance(hours=1)
    bodies = []
    for token in (short, revoked, "tvk_000000000000_" + "B" * 43):
        r = world.client.get("/api/tenants/default/data", headers=h(token))
        assert_no_leak(r, 401)
        bodies.append(r.json())
    assert bodies[0] == bodies[1] == bodies[2]  # expired, revoked and unknown are indistinguishable


def test_other_tenant_token_is_forbidden_and_sees_nothing(world: World) -> None:
    r = world.client.get("/api/tenants/default/data", headers=h(world.acme_admin))
    assert_no_leak(r, 403)
    # The platform's plant belongs to tenant "default": another tenant's admin gets nothing.
    assert_no_leak(world.client.get("/api/live", headers=h(world.acme_admin)), 403)
    assert world.client.get("/api/live", headers=h(world.viewer)).json() == SECRET_ROWS
    with (
        pytest.raises(WebSocketDisconnect) as exc,
        world.client.websocket_connect(f"/ws?access_token={world.acme_admin}") as ws,
    ):
        ws.receive_json()
    assert exc.value.code == 1008
    # Objects of another tenant answer exactly like missing ones.
    a = world.client.post("/api/assets?name=secret.csv&license=MIT", content=b"x,y\n1,2\n", headers=h(world.admin))
    asset_id = a.json()["id"]
    missing = world.client.get("/api/assets/ast_000000000000", headers=h(world.acme_admin))
    foreign = world.client.get(f"/api/assets/{asset_id}", headers=h(world.acme_admin))
    assert_no_leak(foreign, 404)
    assert foreign.json()["detail"].replace(asset_id, "X") == missing.json()["detail"].replace("ast_000000000000", "X")
    assert_no_leak(world.client.get(f"/api/assets/{asset_id}/content", headers=h(world.acme_admin)), 404)
    assert world.client.get("/api/assets", headers=h(world.acme_admin)).json() == []
    tokens = world.client.get("/api/tokens", headers=h(world.admin)).json()
    assert_no_leak(world.client.delete(f"/api/tokens/{tokens[0]['id']}", headers=h(world.acme_admin)), 404)
    entry = a.json()["versions"][0]["log_index"]
    assert_no_leak(world.client.get(f"/api/log/entries/{entry}", headers=h(world.acme_admin)), 404)
    assert world.client.get(f"/api/log/entries/{entry}", headers=h(world.admin)).status_code == 200


def test_roles_limit_what_a_valid_token_may_do(world: World) -> None:
    r = world.client.post("/api/assets?name=x&license=MIT", content=b"x", headers=h(world.viewer))
    assert_no_leak(r, 403)
    assert r.json()["detail"] == "permission 'asset:write' required"
    assert_no_leak(world.client.post("/api/grants/grt_000000000000/approve", headers=h(world.operator)), 403)
    assert world.client.get("/api/assets", headers=h(world.viewer)).status_code == 200


def test_scoped_token_cannot_exceed_its_scope(world: World) -> None:
    r = world.client.post("/api/tokens", json={"name": "ingest", "scopes": ["data:read"]}, headers=h(world.operator))
    assert r.status_code == 201
    scoped = r.json()["token"]
    assert world.client.get("/api/tenants/default/data", headers=h(scoped)).status_code == 200
    assert_no_leak(world.client.get("/api/assets", headers=h(scoped)), 403)
    r = world.client.post("/api/tokens", json={"scopes": ["asset:approve"]}, headers=h(world.operator))
    assert_no_leak(r, 403)


# -- websockets --------------------------------------------------------------------------------
def test_websocket_needs_a_token(world: World) -> None:
    with world.client.websocket_connect(f"/ws?access_token={world.viewer}") as ws:
        assert ws.receive_json()["hello"].startswith("did:key:z6Mk")
    with world.client.websocket_connect("/ws", headers=h(world.viewer)) as ws:
        assert "hello" in ws.receive_json()
    for url in ("/ws", "/ws?access_token=tvk_000000000000_" + "C" * 43):
        with pytest.raises(WebSocketDisconnect) as exc, world.client.websocket_connect(url) as ws:
            ws.receive_json()
        assert exc.value.code == 1008


# -- trust routes end to end -------------------------------------------------------------------
def test_tokens_are_shown_once(world: World) -> None:
    r = world.client.post("/api/tokens", json={"name": "script", "ttl_days": 1}, headers=h(world.viewer))
    assert r.status_code == 201
    created = r.json()
    listed = world.client.get("/api/tokens", headers=h(world.viewer)).json()
    assert created["id"] in [t["id"] for t in listed]
    assert created["token"] not in str(listed)
    me = world.client.get("/api/me", headers=h(created["token"])).json()
    assert me["role"] == "viewer" and me["token_id"] == created["id"]
    assert world.client.delete(f"/api/tokens/{created['id']}", headers=h(world.viewer)).status_code == 200
    assert_no_leak(world.client.get("/api/me", headers=h(created["token"])), 401)


def test_asset_upload_grant_download_and_tamper(world: World) -> None:
    body = os.urandom(4096)
    r = world.client.post(
        "/api/assets",
        params={"name": "sim/result.parquet", "license": "CC-BY-4.0", "classification": "general"},
        content=body,
        headers={**h(world.admin), "Content-Type": "application/vnd.apache.parquet"},
    )
    assert r.status_code == 201, r.text
    a = r.json()
    v = a["versions"][0]
    assert v["sha256"] == hashlib.sha256(body).hexdigest() and v["media_type"] == "application/vnd.apache.parquet"
    g = world.client.post(f"/api/assets/{a['id']}/grants", json={"tenant": "acme"}, headers=h(world.admin))
    assert g.status_code == 201 and g.json()["status"] == "active"
    got = world.client.get(f"/api/assets/{a['id']}/content", headers=h(world.acme_admin))
    assert got.status_code == 200 and got.content == body
    assert got.headers["etag"] == f'"sha256:{v["sha256"]}"'
    blob = world.trust.blobs.path(v["sha256"])
    os.chmod(blob, 0o644)
    blob.write_bytes(body[:-1] + bytes([body[-1] ^ 0xFF]))
    bad = world.client.get(f"/api/assets/{a['id']}/content", headers=h(world.acme_admin))
    assert bad.status_code == 500 and bad.json()["title"] == "Integrity check failed"
    assert bad.content != body and body[:64] not in bad.content


def test_core_asset_grant_is_refused_over_http(world: World) -> None:
    r = world.client.post(
        "/api/assets?name=recipe&license=LicenseRef-internal&classification=core", content=b"r", headers=h(world.admin)
    )
    g = world.client.post(f"/api/assets/{r.json()['id']}/grants", json={"tenant": "acme"}, headers=h(world.admin))
    assert_no_leak(g, 403)
    assert "core data" in g.json()["detail"]


def test_bad_asset_input_is_named(world: World) -> None:
    r = world.client.post("/api/assets?name=x&license=Foo-1.0", content=b"x", headers=h(world.admin))
    assert r.status_code == 422 and "unknown SPDX licence identifier(s) 'Foo-1.0'" in r.json()["detail"]


def test_served_proofs_verify_against_the_signed_checkpoint(world: World) -> None:
    info = world.client.get("/api/log", headers=h(world.viewer)).json()
    verifier = NoteVerifier.parse(info["log_key"])
    cp = Checkpoint.open(info["checkpoint"], verifier)
    assert cp.size == info["size"] >= 6
    note = world.client.get("/api/log/checkpoint", headers=h(world.viewer))
    assert note.headers["content-type"].startswith("text/plain") and note.text == info["checkpoint"]
    for index in (0, cp.size // 2, cp.size - 1):
        p = world.client.get(f"/api/log/proof/inclusion?index={index}&size={cp.size}", headers=h(world.viewer)).json()
        leaf = base64.b64decode(p["leaf_hash"])
        verify_inclusion(leaf, index, cp.size, [base64.b64decode(x) for x in p["proof"]], cp.root)
    entry = world.client.get(f"/api/log/entries/{cp.size - 1}", headers=h(world.acme_admin)).json()
    assert base64.b64decode(entry["leaf_hash"]) == world.trust.ledger.tree.leaf(cp.size - 1)
    assert (entry["entry"]["action"], entry["entry"]["tenant"]) == ("token.create", "acme")
    c = world.client.get(f"/api/log/proof/consistency?first=2&second={cp.size}", headers=h(world.viewer)).json()
    assert base64.b64decode(c["root2"]) == cp.root and len(c["proof"]) >= 1
    bad = world.client.get("/api/log/proof/inclusion?index=5&size=99999", headers=h(world.viewer))
    assert bad.status_code == 422 and "outside the log" in bad.json()["detail"]
    assert leaf_hash(b"") != leaf  # sanity: real leaves, not empty ones


def test_identity_routes(world: World) -> None:
    from twinverse.trust import Keypair

    did = Keypair.from_seed(bytes(32)).did
    r = world.client.post(
        "/api/identities", json={"did": did, "name": "press-7 gateway", "kind": "machine", "role": "operator"},
        headers=h(world.admin),
    )  # fmt: skip
    assert r.status_code == 201 and r.json()["role"] == "operator"
    assert_no_leak(world.client.post("/api/identities", json={"did": did, "name": "x"}, headers=h(world.viewer)), 403)
    assert world.client.get(f"/api/identities/{did}", headers=h(world.viewer)).json()["name"] == "press-7 gateway"
    assert_no_leak(world.client.get(f"/api/identities/{did}", headers=h(world.acme_admin)), 404)
    doc = world.client.get(f"/api/did/{did}", headers=h(world.viewer)).json()
    assert doc["id"] == did and doc["verificationMethod"][0]["publicKeyMultibase"] == did.removeprefix("did:key:")
    r = world.client.put(f"/api/identities/{did}/role", json={"role": None}, headers=h(world.admin))
    assert r.status_code == 200 and r.json()["role"] is None
    assert did not in [i["did"] for i in world.client.get("/api/identities", headers=h(world.admin)).json()]


def test_every_trust_route_declares_a_permission() -> None:
    from twinverse.api.app import route_table

    app = FastAPI()
    app.include_router(trust_router)
    table = [r for r in route_table(app) if r.path.startswith("/api")]
    assert [f"{r.methods} {r.path}" for r in table if not r.permissions] == []
    assert len(table) == 23
    declared = {(r.methods, r.path): r.permissions for r in table}
    assert declared[(("POST",), "/api/assets")] == ("asset:write",)
    assert declared[(("POST",), "/api/grants/{grant_id}/approve")] == ("asset:approve",)


# -- the authorisation matrix: every trust route × every role ----------------------------------
PATH_VALUES = {
    "asset_id": "ast_000000000000",
    "grant_id": "grt_000000000000",
    "token_id": "000000000000",
    "did": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
    "index": "0",
}


def test_authorisation_matrix(world: World) -> None:
    """Generated from the route table: a role without the permission gets 403, with it never 401/403."""
    from twinverse.api.app import route_table
    from twinverse.trust import ROLE_PERMISSIONS

    admin = world.trust.authenticate(world.admin)
    tokens = {}
    for role in Role:
        ident, _ = world.trust.access.create_identity(admin, "default", f"matrix-{role.value}", role=role)
        tokens[role] = world.trust.access.create_token(admin, ident.did, "default")[1]
    app = FastAPI()
    app.include_router(trust_router)
    table = [r for r in route_table(app) if r.path.startswith("/api")]
    checked = 0
    for route in table:
        path = route.path.format(**PATH_VALUES)
        for method in route.methods:
            anonymous = world.client.request(method, path, json={})
            assert anonymous.status_code == 401, (method, path)
            for role, token in tokens.items():
                r = world.client.request(method, path, json={}, headers=h(token))
                allowed = all(Permission(p) in ROLE_PERMISSIONS[role] for p in route.permissions)
                if allowed:
                    assert r.status_code not in (401, 403), (method, path, role, r.text)
                else:
                    assert r.status_code == 403, (method, path, role, r.text)
                checked += 1
    assert checked == 23 * 4


def test_audit_logs_mutating_requests_with_the_body_hash(world: World) -> None:
    import orjson

    from twinverse.api.security import audit

    app = build_app(world.trust)

    @app.post("/api/things/{name}", dependencies=[Depends(require(Permission.ASSET_WRITE))])
    async def change(request: Request, name: str) -> dict[str, int | None]:
        return {"index": await audit(request, "thing.update", f"thing:{name}")}

    body = b'{"speed": 42}'
    with TestClient(app) as client:
        r = client.post("/api/things/filler", content=body, headers=h(world.admin))
        assert_no_leak(client.post("/api/things/filler", content=body, headers=h(world.viewer)), 403)
    index = r.json()["index"]
    entry = orjson.loads(world.trust.ledger.entry(index))
    assert entry["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert (entry["action"], entry["target"], entry["actor"]) == (
        "thing.update",
        "thing:filler",
        world.trust.authenticate(world.admin).id,
    )
    assert world.trust.ledger.size == index + 1  # the refused request logged nothing


# -- identities of other tenants -----------------------------------------------------------------
FOREIGN_SEED = bytes(31) + b"\x07"
UNKNOWN_DID = "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG"  # the seed ending in 01: never registered


def _identity(did: str, name: str, role: str | None, *, kind: str = "user", verified: bool = False) -> dict[str, Any]:
    return {"did": did, "name": name, "kind": kind, "role": role, "disabled": False, "verified": verified}


def test_a_foreign_identity_answers_exactly_like_an_unknown_one(world: World) -> None:
    from twinverse.trust import Keypair

    did = Keypair.from_seed(FOREIGN_SEED).did
    r = world.client.post("/api/identities", json={"did": did, "name": "acme secret gateway", "kind": "machine",
                          "role": "operator"}, headers=h(world.acme_admin))  # fmt: skip
    assert r.status_code == 201 and r.json() == _identity(did, "acme secret gateway", "operator", kind="machine")
    for method, path, body in [("PUT", "/api/identities/{}/role", {"role": "admin"}),
                               ("PUT", "/api/identities/{}/role", {"role": None}),
                               ("GET", "/api/identities/{}", None)]:  # fmt: skip
        foreign = world.client.request(method, path.format(did), json=body, headers=h(world.admin))
        unknown = world.client.request(method, path.format(UNKNOWN_DID), json=body, headers=h(world.admin))
        assert_no_leak(foreign, 404)
        assert foreign.json() == {"type": "about:blank", "title": "Not found", "status": 404,
                                  "detail": f"identity {did} does not exist"}  # fmt: skip
        assert unknown.json()["detail"] == f"identity {UNKNOWN_DID} does not exist"
    # Registering the same key in tenant default makes default's own record, with default's data.
    r = world.client.post("/api/identities", json={"did": did, "name": "our press"}, headers=h(world.admin))
    assert (r.status_code, r.json()) == (201, _identity(did, "our press", "viewer"))
    r = world.client.post("/api/identities", json={"did": UNKNOWN_DID, "name": "our press"}, headers=h(world.admin))
    assert (r.status_code, r.json()) == (201, _identity(UNKNOWN_DID, "our press", "viewer"))
    assert world.client.get(f"/api/identities/{did}", headers=h(world.viewer)).json() == _identity(
        did, "our press", "viewer"
    )
    listed = {i["did"]: i for i in world.client.get("/api/identities", headers=h(world.admin)).json()}
    assert listed[did] == _identity(did, "our press", "viewer")
    # The log of tenant default says the same for both keys: no "join" that would reveal tenant acme.
    entries = [world.trust.ledger.entry(i) for i in range(world.trust.ledger.size - 2, world.trust.ledger.size)]
    import orjson

    assert [(e["action"], e["tenant"], e["details"]) for e in map(orjson.loads, entries)] == [
        ("identity.create", "default", {"name": "our press", "kind": "user", "role": "viewer", "verified": False}),
    ] * 2
    # ... and acme's record and role are untouched by default's changes.
    assert world.client.put(f"/api/identities/{did}/role", json={"role": None}, headers=h(world.admin)).json() == (
        _identity(did, "our press", None)
    )
    assert world.client.get(f"/api/identities/{did}", headers=h(world.acme_admin)).json() == _identity(
        did, "acme secret gateway", "operator", kind="machine"
    )
    assert_no_leak(world.client.get(f"/api/identities/{did}", headers=h(world.admin)), 404)


def test_a_holder_s_signed_challenge_makes_a_verified_membership(world: World) -> None:
    from twinverse.trust import Keypair, join_challenge

    key = Keypair.from_seed(FOREIGN_SEED)
    now = int(world.clock().timestamp())

    def proof(tenant: str, signed_at: int) -> dict[str, Any]:
        signature = key.sign(join_challenge(tenant, key.did, signed_at))
        return {"signed_at": signed_at, "signature": base64.b64encode(signature).decode()}

    def post(p: dict[str, Any], token: str) -> Any:
        return world.client.post("/api/identities", json={"did": key.did, "name": "gw", "proof": p}, headers=h(token))

    for bad, detail in [
        (proof("acme", now), f"the join proof is not a signature by {key.did} of "
                             f"'twinverse-join:v1:default:{key.did}:{now}'"),
        (proof("default", now - 301), f"join proof signed at {now - 301} is not within 300 s of the server's clock"),
        ({**proof("default", now), "signed_at": now + 1}, f"the join proof is not a signature by {key.did} of "
                                                          f"'twinverse-join:v1:default:{key.did}:{now + 1}'"),
    ]:  # fmt: skip
        r = post(bad, world.admin)
        assert (r.status_code, r.json()["title"], r.json()["detail"]) == (422, "Verification failed", detail)
    r = post({"signed_at": now, "signature": "not base64!"}, world.admin)
    error = r.json()["detail"][0]  # this small app keeps FastAPI's own validation body
    assert (r.status_code, error["loc"], error["msg"]) == (422, ["body", "proof", "signature"],
                                                           "Value error, signature must be base64")  # fmt: skip
    r = post(proof("default", now - 300), world.admin)
    assert (r.status_code, r.json()) == (201, _identity(key.did, "gw", "viewer", verified=True))
    r = post(proof("acme", now), world.acme_admin)  # the same key joins acme too, as acme's own record
    assert (r.status_code, r.json()) == (201, _identity(key.did, "gw", "viewer", verified=True))
    r = post(proof("default", now), world.admin)
    assert (r.status_code, r.json()["detail"]) == (409, f"{key.did} is already a member of tenant 'default'")


# -- the last admin ------------------------------------------------------------------------------
def test_the_last_admin_keeps_its_role_and_its_last_admin_token(world: World) -> None:
    me = world.client.get("/api/me", headers=h(world.admin)).json()
    did, token_id = me["id"], me["token_id"]
    for role, verb in (("engineer", "demoting"), (None, "removing")):
        r = world.client.put(f"/api/identities/{did}/role", json={"role": role}, headers=h(world.admin))
        assert_no_leak(r, 409)
        assert r.json()["detail"] == (
            f"{did} is the last admin of tenant 'default': make another identity admin before {verb} it"
        )
    r = world.client.delete(f"/api/tokens/{token_id}", headers=h(world.admin))
    assert_no_leak(r, 409)
    assert r.json()["detail"] == (
        f"token '{token_id}' is the last active admin token of tenant 'default': "
        "create another admin token before revoking it"
    )
    # A token narrowed below admin rights does not count as an admin token.
    narrowed = world.client.post("/api/tokens", json={"scopes": ["identity:admin"]}, headers=h(world.admin)).json()
    assert world.client.delete(f"/api/tokens/{token_id}", headers=h(world.admin)).status_code == 409
    assert world.client.delete(f"/api/tokens/{narrowed['id']}", headers=h(world.admin)).status_code == 200
    # A second admin token lets the first one go; a second admin lets the first one be demoted.
    second = world.client.post("/api/tokens", json={"name": "spare"}, headers=h(world.admin)).json()
    r = world.client.delete(f"/api/tokens/{token_id}", headers=h(world.admin))
    assert (r.status_code, r.json()["revoked"] is not None) == (200, True)
    r = world.client.post("/api/identities", json={"did": UNKNOWN_DID, "name": "ada", "role": "admin"},
                          headers=h(second["token"]))  # fmt: skip
    assert r.status_code == 201
    r = world.client.put(f"/api/identities/{did}/role", json={"role": "engineer"}, headers=h(second["token"]))
    assert (r.status_code, r.json()["role"]) == (200, "engineer")
    # Tenant acme's only admin is still protected: the rule counts each tenant's own admins.
    acme = world.client.get("/api/me", headers=h(world.acme_admin)).json()
    r = world.client.put(f"/api/identities/{acme['id']}/role", json={"role": None}, headers=h(world.acme_admin))
    assert r.status_code == 409

