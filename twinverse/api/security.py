"""Authentication and authorisation of API routes and websocket subscriptions.

Every route declares the permission it needs with ``Depends(require(Permission.X))``; the
route-table test checks that none is missing (default deny). A request authenticates with
``Authorization: Bearer tvk_…`` against the trust store of the platform
(``request.app.state.platform.trust``, a :class:`~twinverse.trust.TrustService`); a
websocket may also pass the token as the ``access_token`` query parameter, since browsers
cannot set headers on websocket handshakes.

Open demo mode (``TrustService(open_mode=True)``) lets requests *without* a token through as
an all-powerful local principal; the server prints a loud banner. Requests that do carry a
token are still checked, so tenants and roles can be tried out in demo mode too.

Failures answer 401 (no, malformed, unknown, expired or revoked token: always the same
message, the reason goes to the server log) or 403 (valid token, missing permission).

Authorisation comes before the body: FastAPI solves a route's dependencies in order, the
route-level ``dependencies=[Depends(require(…))]`` first, and bodies are read only by
dependencies of :mod:`twinverse.api.body` (never FastAPI body parameters, which FastAPI
parses before any dependency). So a malformed body gets 401/403 before it could get 422 or
413; ``tests/api/test_route_permissions.py`` checks both the order and the answers.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import Request, WebSocket
from fastapi.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from ..trust.errors import AuthenticationError, PermissionDenied
from ..trust.records import Permission, Principal
from ..trust.service import OPEN_PRINCIPAL, TrustService
from .body import request_body

__all__ = [
    "OPEN",
    "PLANT_SCOPED",
    "Permission",
    "Principal",
    "app_tenant",
    "audit",
    "authenticate",
    "authenticate_ws",
    "authorize_ws",
    "bearer_token",
    "current_principal",
    "parse_bearer",
    "plant_tenant",
    "require",
    "require_tenant",
]

log = logging.getLogger("twinverse.api.security")

OPEN = OPEN_PRINCIPAL

#: Permissions on the platform's plant (its twins, data, simulations): only principals of the
#: tenant that owns the plant get them, whatever their role elsewhere.
PLANT_SCOPED = frozenset(
    {
        Permission.HEALTH,
        Permission.PLANT_READ,
        Permission.DATA_READ,
        Permission.DATA_WRITE,
        Permission.DATA_EXPORT,
        Permission.QUARANTINE_READ,
        Permission.SIM_READ,
        Permission.SIM_RUN,
        Permission.AAS_WRITE,
        Permission.ALARM_READ,
        Permission.ALARM_ACK,
        Permission.ALARM_SHELVE,
        Permission.ALARM_SERVICE,
        Permission.RULE_WRITE,
        Permission.ANNOTATION_WRITE,
        Permission.MODEL_WRITE,
        Permission.COMMAND_SEND,
    }
)


def plant_tenant(conn: HTTPConnection) -> str:
    """The tenant owning the platform's plant: ``platform.tenant``, ``settings.tenant`` or ``default``."""
    return app_tenant(conn.app)


def app_tenant(app: Any) -> str:
    """:func:`plant_tenant` of an application (for ASGI code that has a scope, not a request)."""
    platform = getattr(app.state, "platform", None)
    for owner in (platform, getattr(platform, "settings", None)):
        tenant = getattr(owner, "tenant", None)
        if isinstance(tenant, str):
            return tenant
    return "default"


def _trust(conn: HTTPConnection) -> TrustService:
    """The platform's trust layer; every platform has one (there is no unauthenticated wiring)."""
    trust: TrustService = conn.app.state.platform.trust
    return trust


def bearer_token(conn: HTTPConnection, *, allow_query: bool = False) -> str | None:
    """The bearer token of a request (None when absent); a malformed header is a 401."""
    header = conn.headers.get("authorization")
    if header is not None:
        token = parse_bearer(header)
        if token is None:
            raise AuthenticationError("invalid bearer token", reason="malformed Authorization header")
        return token
    if allow_query:
        return conn.query_params.get("access_token")
    return None


def parse_bearer(header: str) -> str | None:
    """The token of an ``Authorization: Bearer …`` header value; None if it is malformed."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _authenticate(conn: HTTPConnection, *, allow_query: bool) -> Principal:
    trust = _trust(conn)
    try:
        return trust.authenticate(bearer_token(conn, allow_query=allow_query))
    except AuthenticationError as exc:
        client = conn.client.host if conn.client else "?"
        log.info("rejected credentials from %s on %s: %s", client, conn.url.path, exc.reason or exc.message)
        raise


def authenticate(request: Request) -> Principal:
    """The principal of an HTTP request; :class:`AuthenticationError` (401) when its token is bad."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = _authenticate(request, allow_query=False)
    request.state.principal = principal
    return principal


def require(permission: Permission) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency that admits a request only with ``permission`` (else 401/403).

    Async on purpose: the check is a few indexed SQLite reads, far cheaper than the hop to
    a worker thread FastAPI would make for a plain function.
    """

    async def dependency(request: Request) -> Principal:
        principal = authenticate(request)
        if not principal.can(permission):
            raise PermissionDenied(f"permission {permission.value!r} required")
        if permission in PLANT_SCOPED:
            require_tenant(principal, plant_tenant(request))
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]  # read by the route-table test
    return dependency


def current_principal(request: Request) -> Principal:
    """The principal that :func:`require` admitted for this request (use in route bodies)."""
    return authenticate(request)


def require_tenant(principal: Principal, tenant: str) -> None:
    """403 unless ``principal`` acts in ``tenant`` (the open demo principal acts everywhere)."""
    if principal.tenant != tenant and "*" not in principal.permissions:
        raise PermissionDenied(f"tenant {tenant!r} is not yours")


def authenticate_ws(websocket: WebSocket) -> Principal:
    """The principal of a websocket handshake (header or ``access_token`` query); raises 401-style errors."""
    return _authenticate(websocket, allow_query=True)


async def authorize_ws(websocket: WebSocket, permission: Permission) -> Principal | None:
    """The principal of a websocket handshake, or None after refusing it with close code 1008.

    A refusal accepts the handshake and closes at once with 1008 (policy violation) and a
    reason, so a client sees why; closing before ``accept`` would be an HTTP 403 at the
    handshake instead, which browsers report only as a failed connection. The caller
    accepts the admitted ones.
    """
    reason = None
    try:
        principal = authenticate_ws(websocket)
    except AuthenticationError:
        reason = "a valid bearer token is required"
    else:
        if not principal.can(permission):
            reason = f"permission {permission.value!r} required"
        elif permission in PLANT_SCOPED and principal.tenant != plant_tenant(websocket) and not principal.can("*"):
            reason = "the plant belongs to another tenant"
    if reason is not None:
        await websocket.accept()
        await websocket.close(code=1008, reason=reason)
        return None
    return principal


async def audit(request: Request, action: str, target: str, details: Mapping[str, Any] | None = None) -> int:
    """Log a mutating request: who, ``action``, ``target`` and the SHA-256 of its body.

    Returns the log index. Call it after the change succeeded, e.g.
    ``await audit(request, "data.ingest", f"plant:{plant_id}")``; the body is the one the
    route read through :mod:`twinverse.api.body` (read now, within the limit, if it read none).
    """
    trust = _trust(request)
    digest = hashlib.sha256(await request_body(request)).hexdigest()
    index: int = await run_in_threadpool(trust.log_action, authenticate(request), action, target, digest, details)
    return index
