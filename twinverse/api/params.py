"""What every route needs from the request: the platform it serves."""

from __future__ import annotations

from fastapi import Request

from ..platform import Platform

__all__ = ["get_platform"]


def get_platform(request: Request) -> Platform:
    """The platform of the app (``app.state.platform``), typed."""
    platform: Platform = request.app.state.platform
    return platform
