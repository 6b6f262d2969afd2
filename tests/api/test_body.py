"""The one body reader (twinverse/api/body.py): size limit for declared and streamed bodies, JSON bodies."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated, Any

import orjson
import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel

from twinverse.api import create_app
from twinverse.api.body import JsonBody, RawBody, request_body
from twinverse.config import Settings
from twinverse.errors import PayloadTooLarge
from twinverse.platform import example_path

LIMIT = 1024
PROBLEM = "application/problem+json"
F = "bottling/line1/filler"
#: POST and PUT routes that take no body at all (nothing to read, nothing to limit).
BODYLESS = {("POST", "/api/grants/{grant_id}/approve")}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    settings = Settings(data_dir=tmp_path_factory.mktemp("body"), plant=example_path(), max_body_bytes=LIMIT)
    return create_app(settings)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def call(
    app: FastAPI, path: str, headers: dict[str, str], chunks: list[bytes]
) -> tuple[int, dict[str, str], bytes, int]:
    """One request straight through ASGI: (status, headers, body, how many times the app read the body)."""
    reads = 0
    queue = [*chunks]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        chunk = queue.pop(0) if queue else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(queue)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1234), "server": ("testserver", 80), "state": {},
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body, reads


def padded(points: list[dict[str, Any]], size: int) -> bytes:
    """A JSON body of exactly ``size`` bytes (trailing spaces are valid JSON whitespace)."""
    raw = orjson.dumps(points)
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


def test_declared_length_over_the_limit_is_413_before_reading(app: FastAPI) -> None:
    headers = {"content-type": "application/json", "content-length": str(LIMIT + 1)}
    status, resp_headers, body, reads = call(app, "/api/ingest", headers, [b"x" * (LIMIT + 1)])
    assert status == 413 and resp_headers["content-type"] == PROBLEM
    assert orjson.loads(body)["detail"] == f"body of {LIMIT + 1} bytes exceeds the limit of {LIMIT} bytes"
    assert reads == 0


def test_streamed_body_over_the_limit_is_413_while_reading(app: FastAPI) -> None:
    status, resp_headers, body, reads = call(
        app, "/api/ingest", {"content-type": "application/json"}, [b" " * 512, b" " * 512, b" ", b" " * 512]
    )
    assert status == 413 and resp_headers["content-type"] == PROBLEM
    assert orjson.loads(body)["detail"] == f"body exceeds the limit of {LIMIT} bytes"
    assert reads == 3  # stopped at the chunk that passed the limit, the rest never read


def test_a_json_body_route_is_limited_too(app: FastAPI) -> None:
    headers = {"content-type": "application/json", "content-length": str(10 * LIMIT)}
    status, _, body, reads = call(app, "/api/tokens", headers, [b"{}"])
    assert (status, reads) == (413, 0)
    status, _, body, _ = call(app, "/api/sim/runs", {"content-type": "application/json"}, [b" " * 700] * 2)
    assert status == 413 and orjson.loads(body)["title"] == "Payload too large"


def test_invalid_content_length_is_422(app: FastAPI) -> None:
    status, _, body, reads = call(app, "/api/ingest", {"content-length": "lots"}, [b"[]"])
    assert (status, reads) == (422, 0) and orjson.loads(body)["detail"] == "invalid Content-Length 'lots'"


def test_a_body_at_the_limit_is_accepted(client: TestClient) -> None:
    point = {"twin": F, "signal": "temperature", "value": 4.0}
    r = client.post("/api/ingest", content=padded([point], LIMIT), headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    chunks = iter([padded([point], LIMIT)[:600], padded([point], LIMIT)[600:]])  # streamed, no Content-Length
    r = client.post("/api/ingest", content=chunks, headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["accepted"] == 1


class Thing(BaseModel):
    name: str
    size: int = 1


def thing_app(limit: int) -> FastAPI:
    from types import SimpleNamespace

    app = FastAPI()
    app.state.platform = SimpleNamespace(settings=SimpleNamespace(max_body_bytes=limit))

    @app.post("/things")
    def make(thing: Annotated[Thing, Depends(JsonBody(Thing))], raw: RawBody) -> dict[str, Any]:
        return {"thing": thing.model_dump(), "bytes": len(raw)}

    return app


def test_json_body_validates_like_fastapi() -> None:
    with TestClient(thing_app(64)) as c:
        r = c.post("/things", json={"name": "press", "size": 3})
        assert r.status_code == 200
        assert r.json() == {"thing": {"name": "press", "size": 3}, "bytes": len(r.request.content)}
        r = c.post("/things", json={"size": "big"})
        assert r.status_code == 422
        assert sorted(tuple(e["loc"]) for e in r.json()["detail"]) == [("body", "name"), ("body", "size")]
        assert c.post("/things").json()["detail"][0]["loc"] == ["body"]
        assert c.post("/things", content=b"{nope", headers={"content-type": "application/json"}).status_code == 422
        r = c.post("/things", content=b'{"name": "x"}', headers={"content-type": "text/plain"})
        assert r.status_code == 422 and r.json()["detail"][0]["msg"] == "send application/json"
        # this app's limit is 64 bytes (and it has no problem+json handler: the error itself shows)
        with pytest.raises(PayloadTooLarge, match=r"^body of 65 bytes exceeds the limit of 64 bytes$"):
            c.post("/things", content=b'{"name": "' + b"x" * 53 + b'"}', headers={"content-type": "application/json"})


def test_every_post_and_put_route_reads_its_body_through_the_reader(app: FastAPI) -> None:
    """No route lets FastAPI parse a body (unbounded); every body goes through request_body."""
    checked = []
    for rc in iter_route_contexts(app.routes):
        route = rc.original_route
        if not isinstance(route, APIRoute):
            continue
        assert route.body_field is None, f"{route.path} has a FastAPI body parameter; use JsonBody or RawBody"
        for method in route.methods & {"POST", "PUT", "PATCH"}:
            if (method, route.path_format) in BODYLESS:
                continue
            stack, calls = list(route.dependant.dependencies), []
            while stack:
                dep = stack.pop()
                calls.append(dep.call)
                stack.extend(dep.dependencies)
            assert request_body in calls, f"{method} {route.path_format} does not read its body through body.py"
            checked.append(f"{method} {route.path_format}")
    assert {"POST /api/ingest", "POST /api/assets", "POST /api/tokens", "PUT /api/identities/{did}/role",
            "POST /api/sim/runs"} <= set(checked)  # fmt: skip


def test_json_bodies_are_documented(app: FastAPI) -> None:
    spec = app.openapi()
    op = spec["paths"]["/api/tokens"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TokenIn"}
    assert "name" in spec["components"]["schemas"]["TokenIn"]["properties"]
    assert op["responses"]["422"]["content"] == {PROBLEM: {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}
    run = spec["paths"]["/api/sim/runs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert run == {"$ref": "#/components/schemas/RunRequest"}
