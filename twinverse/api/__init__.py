"""The HTTP and websocket API: ``create_app(settings)``, and ``create_park_app(park)`` for several plants."""

from __future__ import annotations

from .app import RouteInfo, create_app, route_table
from .park import ParkApp, create_park_app

__all__ = ["ParkApp", "RouteInfo", "create_app", "create_park_app", "route_table"]
