"""The small-ingest fast path answers exactly as the route would, and hands everything else to it.

A request with a query string (``?partial=false``, the default value) always takes the
route, so each case below is sent twice — once fast-path-shaped, once through the route —
and the two answers must be the same, byte for byte in status, body and content type.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.platform import Platform, example_path
from twinverse.trust import Role

F = "bottling/line1/filler"


class Env:
    def __init__(self, client: TestClient, platform: Platform, admin: str, viewer: str) -> None:
        self.client, self.platform, self.admin, self.viewer = client, platform, admin, viewer

    @property
    def stats(self) -> Any:
        return self.client.app.state.fast_ingest  # type: ignore[attr-defined]

    def post(self, body: bytes, token: str | None, *, route: bool, ctype: str = "application/json") -> Any:
        headers = {"content-type": ctype}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        return self.client.post("/api/ingest" + ("?partial=false" if route else ""), content=body, headers=headers)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    settings = Settings(data_dir=tmp_path / "d", plant=example_path(), auth="token", seal_history=False)
    platform = Platform(settings)
    admin_p = platform.trust.local_admin("default")
    admin = platform.trust.access.create_token(admin_p, admin_p.id, "default")[1]
    ident, _ = platform.trust.access.create_identity(admin_p, "default", "vera", role=Role.VIEWER)
    viewer = platform.trust.access.create_token(admin_p, ident.did, "default")[1]
    with TestClient(create_app(platform=platform)) as client:
        yield Env(client, platform, admin, viewer)


def points(t0_ms: float, n: int = 10) -> bytes:
    rows = [{"twin": F, "signal": "temperature", "ts": t0_ms + i, "value": 4.0 + i / 10} for i in range(n)]
    return orjson.dumps(rows)


def test_a_valid_small_body_takes_the_fast_path_and_answers_like_the_route(env: Env) -> None:
    t0 = time.time() * 1000 - 60_000
    fast = env.post(points(t0), env.admin, route=False)
    assert env.stats.taken == 1 and env.stats.passed == 0
    slow = env.post(points(t0 + 100), env.admin, route=True)
    assert env.stats.taken == 1  # the query string sent it to the route
    assert fast.status_code == slow.status_code == 200
    assert fast.json() == slow.json() == {"received": 10, "accepted": 10, "rejected": 0, "stored": 10, "errors": []}
    assert fast.headers["content-type"] == slow.headers["content-type"] == "application/json"
    # Redelivered: stored counts only new rows, on both paths.
    again = env.post(points(t0), env.admin, route=False)
    assert again.json()["stored"] == 0 and env.stats.taken == 2
    # Durable and live: history holds all 20 points, the live value is the newest.
    engine = env.platform.engine
    sid = env.platform.plant.signals.sid(F, "temperature")
    assert engine.stored_total == 20 and float(engine.value[sid]) == pytest.approx(4.9)
    # Audited like the route: one data.ingest entry per request, naming its body's hash.
    import hashlib

    entries = [e.record() for e in env.platform.trust.ledger.entries_by_action("data.ingest", "plant:")]
    hashes = {e.get("body_sha256") for e in entries} | {
        r["sha256"] for e in entries for r in e["details"].get("requests", [])
    }
    assert len(entries) == 3 and all(e["actor"] == env.platform.trust.local_admin("default").id for e in entries)
    assert hashlib.sha256(points(t0)).hexdigest() in hashes
    assert hashlib.sha256(points(t0 + 100)).hexdigest() in hashes


@pytest.mark.parametrize(
    "case",
    ["no token", "bad token", "viewer", "bad json", "rejected point", "unknown signal", "not a list", "text/plain"],
)
def test_everything_else_goes_to_the_route_and_gets_its_answer(env: Env, case: str) -> None:
    t0 = time.time() * 1000 - 60_000
    body, token, ctype = points(t0), env.admin, "application/json"
    if case == "no token":
        token = None  # type: ignore[assignment]
    elif case == "bad token":
        token = "tvk_000000000000_nope"
    elif case == "viewer":
        token = env.viewer
    elif case == "bad json":
        body = b'[{"twin": '
    elif case == "rejected point":
        body = orjson.dumps([{"twin": F, "signal": "temperature", "ts": t0, "value": 4.0},
                             {"twin": F, "signal": "temperature", "ts": t0 + 1, "value": float("1e308") * 10}])
        body = body.replace(b"Infinity", b"1e999")
    elif case == "unknown signal":
        body = orjson.dumps([{"twin": F, "signal": "no-such-signal", "ts": t0, "value": 1.0}])
    elif case == "not a list":
        body = b'"hello"'
    elif case == "text/plain":
        ctype = "text/plain"
    fast = env.post(body, token, route=False, ctype=ctype)
    slow = env.post(body, token, route=True, ctype=ctype)
    assert env.stats.taken == 0 and env.stats.passed == 1
    assert fast.status_code == slow.status_code and fast.status_code in (401, 403, 415, 422), fast.text
    assert fast.json() == slow.json()
    assert fast.headers["content-type"] == slow.headers["content-type"] == "application/problem+json"
    if fast.status_code == 401:
        assert fast.headers["www-authenticate"] == 'Bearer realm="twinverse"'
    assert env.platform.engine.stored_total == 0  # all or nothing: nothing of these was stored


def test_a_big_or_chunked_body_goes_to_the_route(env: Env) -> None:
    t0 = time.time() * 1000 - 60_000
    big = points(t0, n=400)  # above the 16 KiB inline size
    assert len(big) > 16 * 1024
    r = env.post(big, env.admin, route=False)
    assert r.status_code == 200 and r.json()["stored"] == 400

    def chunks() -> Iterator[bytes]:
        yield points(t0 + 1000)[:50]
        yield points(t0 + 1000)[50:]

    r = env.client.post("/api/ingest", content=chunks(), headers={"content-type": "application/json",
                        "authorization": f"Bearer {env.admin}"})  # fmt: skip
    assert r.status_code == 200 and r.json()["stored"] == 10
    assert env.stats.taken == 0 and env.stats.passed == 2


def test_a_revoked_token_is_refused_at_once_after_the_fast_path_admitted_it(env: Env) -> None:
    t0 = time.time() * 1000 - 60_000
    trust = env.platform.trust
    admin_p = trust.local_admin("default")
    rec, token = trust.access.create_token(admin_p, admin_p.id, "default", name="gateway")
    assert env.post(points(t0), token, route=False).status_code == 200  # admitted (and remembered)
    assert env.stats.taken == 1
    trust.access.revoke_token(admin_p, rec.id)
    fast = env.post(points(t0 + 100), token, route=False)
    slow = env.post(points(t0 + 100), token, route=True)
    assert fast.status_code == slow.status_code == 401 and fast.json() == slow.json()
    assert env.stats.taken == 1 and env.stats.passed == 1
    assert env.platform.engine.stored_total == 10


@pytest.mark.parametrize("case", ["another tenant", "basic auth", "empty bearer", "two headers"])
def test_other_credentials_go_to_the_route(env: Env, case: str) -> None:
    t0 = time.time() * 1000 - 60_000
    trust = env.platform.trust
    if case == "another tenant":  # an admin, but of a tenant that does not own the plant
        other = trust.local_admin("acme")
        headers = [("authorization", "Bearer " + trust.access.create_token(other, other.id, "acme")[1])]
    elif case == "basic auth":
        headers = [("authorization", "Basic dXNlcjpwYXNz")]
    elif case == "empty bearer":
        headers = [("authorization", "Bearer   ")]
    else:
        headers = [("authorization", f"Bearer {env.admin}"), ("authorization", "Bearer tvk_000000000000_nope")]
    headers.append(("content-type", "application/json"))
    fast = env.client.post("/api/ingest", content=points(t0), headers=headers)
    slow = env.client.post("/api/ingest?partial=false", content=points(t0 + 100), headers=headers)
    assert env.stats.taken == 0 and env.stats.passed == 1
    assert fast.status_code == slow.status_code, fast.text
    assert fast.json() == slow.json()
    if case == "two headers":  # the route takes the first, as Starlette does
        assert fast.status_code == 200 and env.platform.engine.stored_total == 20
    else:
        assert fast.status_code in (401, 403) and env.platform.engine.stored_total == 0
