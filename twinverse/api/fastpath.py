"""The common small ingest request, answered before FastAPI's routing and dependency solving.

Devices and gateways post many small JSON bodies. For each, FastAPI's router, dependency
solver and response-model validation cost several times what decoding and validating ten
points does (measured with py-spy under ``benchmarks/bench_small.py``). This ASGI layer
takes only the case that cannot go wrong in an interesting way: ``POST /api/ingest`` with no
query string, a JSON body of known length up to :data:`INLINE_BODY_BYTES`, a token that
authenticates and may write data, and points that all decode and validate. It then does
what the route does — the same decoder, the same engine ``prepare``/``submit`` (group
commit), the same audit tag — and answers the same body.

Anything else (no or bad token, another content type, a rejected point, bad JSON, a big
body, ``?partial=``) is handed to the route unchanged: the body read so far is replayed, so
the route's errors and documentation stay the only ones. The OpenAPI document still
describes ``POST /api/ingest`` through the route.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from ..errors import TwinverseError
from ..ingest.decode import SMALL_POINTS, small_columns
from ..ingest.http import decode_body
from ..live.engine import IngestResult
from ..trust.service import IngestAudit
from .security import Permission, app_tenant, parse_bearer, require_tenant

__all__ = ["INLINE_BODY_BYTES", "FastIngest", "FastIngestStats"]

#: Bodies up to this size are decoded on the event loop (no hop to a worker thread).
INLINE_BODY_BYTES = 16 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PATH = "/api/ingest"
_JSON = b"application/json"


class FastIngestStats:
    """How many ingest requests the fast path answered, and how many it handed to the route."""

    def __init__(self) -> None:
        self.taken = 0
        self.passed = 0


def _route_path(scope: Scope) -> str:
    """The path within the app: without the ``root_path`` of a plant of a park (``/plants/<id>``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class FastIngest:
    """ASGI middleware: small, valid, authorised JSON ingest without the router (see module doc)."""

    def __init__(self, app: ASGIApp, *, stats: FastIngestStats | None = None, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled
        self.stats = stats or FastIngestStats()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (
            self.enabled
            and scope["type"] == "http"
            and _route_path(scope) == _PATH
            and scope["method"] == "POST"
            and not scope.get("query_string")
        ):
            await self.app(scope, receive, send)
            return
        length = -1
        json = False
        auth: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = int(value) if value.isdigit() else -1
            elif name == b"content-type":
                json = value.split(b";", 1)[0].strip().lower() == _JSON
            elif name == b"authorization":
                auth = value if auth is None else b""  # twice: the route decides (Starlette takes the first)
        limit = min(INLINE_BODY_BYTES, scope["app"].state.platform.settings.max_body_bytes)
        if not json or not auth or not 0 < length <= limit:
            self.stats.passed += 1
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body: nothing to answer
            body += message.get("body", b"")
            more = bool(message.get("more_body"))
            if len(body) > length:
                break
        answered = len(body) == length and await self._try(scope, body, auth, send)
        if not answered:
            self.stats.passed += 1
            await self.app(scope, _replay(body, more, receive), send)

    async def _try(self, scope: Scope, body: bytes, auth: bytes, send: Send) -> bool:
        """Answer the request if it is the common case; False (nothing sent) hands it to the route."""
        app = scope["app"]
        platform = app.state.platform
        try:
            # The route's own check (require(DATA_WRITE)): token, permission, tenant. Any
            # refusal is the route's to answer (and to log), so it is only tried here.
            token = parse_bearer(auth.decode("latin-1"))
            if token is None:
                return False
            principal = platform.trust.authenticate(token)
            if not principal.can(Permission.DATA_WRITE):
                return False
            require_tenant(principal, app_tenant(app))
            settings = platform.settings
            engine = platform.engine
            points = orjson.loads(body)
            cols = (
                small_columns(platform.plant, points)
                if type(points) is list and 0 < len(points) <= min(SMALL_POINTS, settings.max_points)
                else None
            )
            prepared = None
            if cols is None:  # another shape ({"points": …}, columns, defaults): the decoder's general path
                decoded = decode_body(
                    platform.plant,
                    body,
                    "application/json",
                    max_points=settings.max_points,
                    max_arrow_bytes=settings.max_arrow_bytes,
                )
                if decoded.rejects.num_rows:
                    return False
                prepared = engine.prepare(decoded.batch, source="http", atomic=True)
                if prepared.rejected:
                    return False
        except Exception:  # anything unusual: the route answers it, with its own errors
            return False
        tag = IngestAudit(principal, hashlib.sha256(body).hexdigest(), f"plant:{platform.plant.id}")
        try:
            if prepared is not None:
                result: IngestResult | None = await asyncio.wrap_future(engine.submit(prepared, tag=tag))
            else:
                assert cols is not None
                # Validated on the writer together with the other small requests of its group.
                result = await engine.submit_points_async(*cols, tag=tag)
                if result is None:  # a point the engine rejects: nothing stored; the route words why
                    return False
        except TwinverseError as exc:  # stored nothing (a store failure): the problem the route would give
            problem = exc.to_problem()
            payload: dict[str, Any] = {k: problem[k] for k in ("type", "title", "status", "detail") if k in problem}
            if problem.get("errors"):
                payload["errors"] = problem["errors"]
            await _respond(send, exc.status, orjson.dumps(payload), b"application/problem+json")
            self.stats.taken += 1
            return True
        self.stats.taken += 1
        assert result is not None
        out = {
            "received": result.received,
            "accepted": result.accepted,
            "rejected": result.rejected,
            "stored": result.stored,
            "errors": [],
        }
        await _respond(send, 200, orjson.dumps(out), _JSON)
        return True


async def _respond(send: Send, status: int, payload: bytes, ctype: bytes) -> None:
    headers = [(b"content-length", str(len(payload)).encode()), (b"content-type", ctype)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """A ``receive`` that gives back the body already read, then continues with the client's."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return again
