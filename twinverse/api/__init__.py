"""The HTTP and websocket API: ``create_app(settings)``."""

from __future__ import annotations

from .app import RouteInfo, create_app, route_table

__all__ = ["RouteInfo", "create_app", "route_table"]
