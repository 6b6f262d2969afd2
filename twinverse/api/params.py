"""What every route needs from the request: the platform it serves."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from ..platform import Platform

__all__ = ["get_platform"]


def get_platform(conn: HTTPConnection) -> Platform:
    """The platform of the app (``app.state.platform``) of a request or websocket, typed."""
    platform: Platform = conn.app.state.platform
    return platform
