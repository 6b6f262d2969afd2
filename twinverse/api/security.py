"""Authorisation of API routes and websocket subscriptions.

Every route declares the permission it needs with ``Depends(require(Permission.X))``;
the route table test checks that none is missing.

Until the trust layer (issue 6) lands, every request is granted as the local ``open``
principal: the server says so loudly at start-up. The trust layer replaces
:func:`authenticate` with token checking, tenants and roles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from fastapi import Request, WebSocket

__all__ = ["Permission", "Principal", "authenticate", "authorize_ws", "require"]


class Permission(StrEnum):
    """What a route needs; roles are sets of these."""

    PLANT_READ = "plant:read"
    DATA_READ = "data:read"
    DATA_WRITE = "data:write"
    DATA_EXPORT = "data:export"
    QUARANTINE_READ = "quarantine:read"
    SIM_READ = "sim:read"
    SIM_RUN = "sim:run"
    HEALTH = "health"


@dataclass(frozen=True)
class Principal:
    """Who is calling: an identity and the permissions granted to it."""

    id: str
    tenant: str = "default"
    permissions: frozenset[str] = field(default_factory=frozenset)

    def can(self, permission: str) -> bool:
        return permission in self.permissions or "*" in self.permissions


OPEN = Principal("open", permissions=frozenset({"*"}))


def authenticate(request: Request) -> Principal:
    """The principal of a request (open mode: everyone is the local operator)."""
    return OPEN


def require(permission: Permission) -> Callable[[Request], Principal]:
    """A FastAPI dependency that admits a request only with ``permission``."""

    def dependency(request: Request) -> Principal:
        principal = authenticate(request)
        if not principal.can(permission):
            from ..errors import TwinverseError

            class Forbidden(TwinverseError):
                status = 403
                title = "Forbidden"

            raise Forbidden(f"permission {permission.value!r} required")
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]  # read by the route-table test
    return dependency


async def authorize_ws(websocket: WebSocket, permission: Permission) -> Principal | None:
    """The principal of a websocket handshake, or None after closing it (policy violation)."""
    principal = OPEN
    if not principal.can(permission):
        await websocket.close(code=1008, reason=f"permission {permission.value!r} required")
        return None
    return principal
