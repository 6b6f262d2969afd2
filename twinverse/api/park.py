"""The ASGI app of a park: each plant's own app under ``/plants/{id}/``, the first also at the top.

``/plants/{id}/…`` reaches plant ``id``'s app (built by :func:`~twinverse.api.app.create_app`
on its platform, once) with ``root_path`` ``/plants/{id}``: its API, websockets, viewer and
OpenAPI document, exactly as a one-plant server has them. The top-level paths (``/api/…``,
``/ws``, ``/static/…``, ``/docs``) reach the first plant, as they always did; ``/`` is the
plant picker when more than one plant is served. Plants added or removed over the API are
routed from the next request on. The park starts and stops with the server's lifespan.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from starlette.responses import FileResponse, RedirectResponse
from starlette.types import Receive, Scope, Send

from ..park import Park, ParkPlant
from .app import create_app, problem_response, static_dir

__all__ = ["ParkApp", "create_park_app"]

log = logging.getLogger("twinverse.api")

_PREFIX = "/plants/"


class ParkApp:
    """Route each request to its plant's app; run the park with the server's lifespan."""

    def __init__(self, park: Park) -> None:
        self.park = park
        self._apps: dict[str, tuple[ParkPlant, FastAPI]] = {}
        park.on_change.append(self._forget)

    def _forget(self, plant_id: str) -> None:
        self._apps.pop(plant_id, None)

    def app_of(self, entry: ParkPlant) -> FastAPI:
        """The app of ``entry`` (made on first use; a plant added again under an old id gets a new one)."""
        got = self._apps.get(entry.id)
        if got is None or got[0] is not entry:
            got = (entry, create_app(platform=entry.platform, park=self.park))
            self._apps[entry.id] = got
        return got[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        rel = path[len(root) :] if root and path.startswith(root) else path
        if rel.startswith(_PREFIX):
            plant_id, sep, _ = rel[len(_PREFIX) :].partition("/")
            entry = self.park.get(plant_id)
            if entry is None:
                await _refuse(scope, receive, send, 404, f"no plant {plant_id!r} is served here")
                return
            if not sep and kind == "http":  # the viewer's relative links need the trailing slash
                query = scope.get("query_string", b"").decode("latin-1")
                await RedirectResponse(path + "/" + (f"?{query}" if query else ""), 307)(scope, receive, send)
                return
            child = dict(scope)
            child["root_path"] = root + _PREFIX + plant_id
            child["twinverse.plant"] = plant_id  # the request named its plant (the top-level paths did not)
            await self.app_of(entry)(child, receive, send)
            return
        default = self.park.default
        if default is None:
            await _refuse(scope, receive, send, 404, "no plant is served here")
            return
        if kind == "http" and rel == "/" and len(self.park) > 1:
            await FileResponse(static_dir() / "plants.html")(scope, receive, send)
            return
        await self.app_of(default)(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.park.start()
                except Exception as exc:  # the server reports it and exits
                    log.exception("the park failed to start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.park.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    if scope["type"] == "websocket":  # accepted, then closed with the reason (as every refusal)
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1008, "reason": detail})
        return
    await problem_response(status, "Not found", detail)(scope, receive, send)


def create_park_app(park: Park) -> ParkApp:
    """The ASGI app serving every plant of ``park`` (see the module doc)."""
    return ParkApp(park)
