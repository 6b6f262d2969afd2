"""The FastAPI application factory: ``create_app(settings)``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from .. import __version__
from ..config import Settings
from ..errors import TooManyRequests, TwinverseError
from ..park import Park
from ..platform import Platform
from .body import body_models
from .fastpath import FastIngest, FastIngestStats
from .metrics import registry_for
from .routes import (
    aas,
    alarms,
    collab,
    commands,
    data,
    editor,
    kpis,
    plant,
    plants,
    query,
    rules,
    scene,
    sim,
    system,
    trust,
    versions,
    ws,
)

__all__ = ["RouteInfo", "create_app", "problem_response", "route_table"]

log = logging.getLogger("twinverse.api")

PROBLEM = "application/problem+json"

TAGS = [
    {"name": "plant", "description": "The plant model: twins, types, relationships and graph queries."},
    {"name": "data", "description": "Live values, history, ingest, quarantine and export."},
    {"name": "query", "description": "Read-only SQL over the model, the live state and history (docs/query.md)."},
    {"name": "system", "description": "Probes (liveness, readiness), health and Prometheus metrics."},
    {"name": "trust", "description": "Identities, tokens, the transparency log and the data-asset registry."},
    {"name": "aas", "description": "The Asset Administration Shell API (IDTA-01002 Part 2, v3.0) of the plant."},
    {"name": "alarms", "description": "Alarms of the plant rules (ISA-18.2 states), events and operator actions."},
]


def problem_response(
    status: int, title: str, detail: str, errors: list[Any] | None = None, extra: dict[str, Any] | None = None
) -> JSONResponse:
    """An ``application/problem+json`` answer (RFC 9457), the body every error of the API has."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)  # members of an error's own (e.g. a query error's reason and position)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _aas_error(request: Request, status: int, detail: str) -> JSONResponse | None:
    """The AAS API's own error body for its paths (a bad parameter there is a 400); else None.

    401 and 403 stay problem+json: they come from the platform's one authentication layer.
    """
    if not aas.is_aas_path(get_route_path(request.scope)) or status in (401, 403):
        return None
    status = 400 if status == 422 else status
    return JSONResponse(aas.aas_error_body(status, detail), status_code=status)


def static_dir() -> Path:
    return Path(str(resources.files("twinverse") / "api" / "static"))


class _App(FastAPI):
    """FastAPI with the small-ingest fast path (:class:`FastIngest`) in front of it.

    The common small ingest request then skips FastAPI's own entry (its per-request
    OpenTelemetry check reads the environment), Starlette's, and the error, telemetry and
    body-limit layers: together about a sixth of its cost on the event loop (py-spy under
    ``benchmarks/bench_small.py``). The fast path bounds the body itself and hands anything
    else on to the whole app.
    """

    _fast: FastIngest | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = self._fast
        if fast is None:
            fast = self._fast = FastIngest(super().__call__, stats=self.state.fast_ingest)
        scope["app"] = self  # what Starlette sets: the fast path finds the platform through it
        await fast(scope, receive, send)


def create_app(settings: Settings | None = None, platform: Platform | None = None, park: Park | None = None) -> FastAPI:
    """Build the API for ``platform`` (or a platform made from ``settings``).

    Connectors of the platform start with the app and stop with it, unless the platform is
    one plant of ``park`` (:class:`~twinverse.api.park.ParkApp` serves them all and runs the
    park with the server's lifespan; ``/api/plants`` then adds and removes plants).
    """
    if platform is None:
        if settings is None:
            from ..config import load_settings

            settings = load_settings()
        platform = Platform(settings)
    settings = platform.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        platform.start()
        try:
            yield
        finally:
            platform.stop()

    app = _App(
        title="twinverse",
        version=__version__,
        summary="Open industrial-metaverse platform: live digital twins of plants.",
        description=(
            "Read the plant model, live values and history of every signal; ingest batches of "
            "observations as JSON or Arrow; follow changes over the `/ws` websocket. "
            "Errors are `application/problem+json` (RFC 9457)."
        ),
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.platform = platform
    app.state.park = park
    app.state.settings = settings
    app.state.metrics = registry_for(platform)  # per app: tests and embedders build many apps

    @app.exception_handler(TwinverseError)
    async def _twinverse_error(request: Request, exc: TwinverseError) -> JSONResponse:
        body = exc.to_problem()
        own = {k: v for k, v in body.items() if k not in ("type", "title", "status", "detail", "errors")}
        resp = _aas_error(request, exc.status, exc.message) or problem_response(
            exc.status, body["title"], body["detail"], body.get("errors"), own)
        if exc.status == 401:
            resp.headers["WWW-Authenticate"] = 'Bearer realm="twinverse"'
        if isinstance(exc, TooManyRequests):
            resp.headers["Retry-After"] = str(exc.retry_after)
        return resp

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # The same record shape as every other problem's errors (message, file, line, path).
        errors = [
            {"message": e["msg"], "file": None, "line": None, "path": ".".join(str(p) for p in e["loc"])}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"path": "", "message": "invalid request"}
        aas_response = _aas_error(request, 400, f"{first['path']}: {first['message']}")
        if aas_response is not None:
            return aas_response
        return problem_response(422, "Invalid input", f"{first['path']}: {first['message']}", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = _aas_error(request, exc.status_code, str(exc.detail)) or problem_response(
            exc.status_code, str(exc.detail), str(exc.detail))
        for name, value in (exc.headers or {}).items():  # e.g. Allow on a 405
            response.headers[name] = value
        if exc.status_code == 405:  # every method of the path, not only those of the first route matched
            response.headers["Allow"] = ", ".join(_allowed(app, request.scope))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        aas_response = _aas_error(request, 500, "the server failed; the error is in its log")
        if aas_response is not None:
            return aas_response
        return problem_response(500, "Internal error", "the server failed; the error is in its log")

    app.state.fast_ingest = FastIngestStats()
    app.include_router(system.router)
    app.include_router(data.router)  # before plant: /api/twins/{id}/history must win over /api/twins/{id}
    app.include_router(commands.router)
    app.include_router(plants.router)  # before plant: /api/plants is not a twin
    app.include_router(plant.router)
    app.include_router(query.router)
    app.include_router(editor.router)
    app.include_router(versions.router)
    app.include_router(sim.router)
    app.include_router(alarms.router)
    app.include_router(rules.router)
    app.include_router(kpis.router)
    app.include_router(trust.router)
    app.include_router(scene.router)
    app.include_router(aas.router)
    app.include_router(collab.router)
    app.include_router(ws.router)

    _document_problems(app)
    static = static_dir()
    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(static / "index.html")

    return app


@dataclass(frozen=True)
class RouteInfo:
    """One route of the app, as the authorisation tests and docs see it."""

    path: str
    methods: tuple[str, ...]
    permissions: tuple[str, ...]
    websocket: bool


def route_table(app: FastAPI) -> list[RouteInfo]:
    """Every HTTP and websocket route with the permissions its dependencies declare."""
    out = []
    for rc in iter_route_contexts(app.routes):
        route = rc.original_route
        dependant = getattr(rc, "dependant", None) or getattr(route, "dependant", None)
        if dependant is None:
            continue
        perms = tuple(
            str(d.call.permission)
            for d in dependant.dependencies
            if d.call is not None and hasattr(d.call, "permission")
        )
        out.append(
            RouteInfo(
                path=getattr(rc, "path", getattr(route, "path", "")),
                methods=tuple(sorted(getattr(route, "methods", None) or ())),
                permissions=perms,
                websocket=isinstance(route, APIWebSocketRoute),
            )
        )
    return out


def _allowed(app: FastAPI, scope: Any) -> list[str]:
    """The methods some route of ``app`` answers on the path of ``scope`` (a 405's ``Allow``)."""
    from starlette.routing import Match

    methods: set[str] = set()
    probe = dict(scope)
    for rc in iter_route_contexts(app.routes):
        route = rc.original_route
        for method in getattr(route, "methods", None) or ():
            probe["method"] = method
            if route.matches(probe)[0] is Match.FULL:
                methods.add(method)
    return sorted(methods)


def _document_problems(app: FastAPI) -> None:
    """Make the OpenAPI document say what every error really is: ``application/problem+json``.

    FastAPI documents validation errors as its own ``HTTPValidationError`` JSON; the handlers
    above answer every 4xx/5xx with a :class:`ProblemOut` body, whichever router the route is in.
    """
    from .schemas import ProblemOut

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        problem = ProblemOut.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in problem.pop("$defs", {}).items():
            components.setdefault(name, sub)
        components.setdefault("ProblemOut", problem)
        ref = {"schema": {"$ref": "#/components/schemas/ProblemOut"}}
        _document_bodies(app, schema)
        _document_statuses(app, schema)
        components.setdefault("AasResult", aas.RESULT_SCHEMA)
        aas_ref = {"schema": {"$ref": "#/components/schemas/AasResult"}}
        for path, ops in schema.get("paths", {}).items():
            own = aas.is_aas_path(path)  # the AAS API answers its own Result body (not 401/403)
            for op in ops.values():
                if own:
                    op.get("responses", {}).pop("422", None)  # answered as 400 there
                for code, resp in op.get("responses", {}).items():
                    if code[:1] in ("4", "5"):
                        resp["content"] = {"application/json": aas_ref} if own and code not in ("401", "403") \
                            else {PROBLEM: ref}
        # Only the error responses replaced above referred to FastAPI's validation bodies.
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


#: Statuses any route may answer, by what it is: protected, with path parameters, mutating.
_PROTECTED = (401, 403)
_MUTATING = (404, 409, 413)  # a body may name something that does not exist


def _document_statuses(app: FastAPI, schema: dict[str, Any]) -> None:
    """Add the statuses the shared machinery answers to every operation that can get them.

    Authentication (401) and authorisation (403) on every protected route, 404 where a path
    names something, 404/409/413 on routes that change state (a named object, conflicts,
    the body limit), 503
    when the store fails. Routes document their own further statuses (422, 429, …).
    """
    from .schemas import problem_responses

    for rc in iter_route_contexts(app.routes):
        route = rc.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        dependant = getattr(rc, "dependant", None) or route.dependant
        path = getattr(rc, "path_format", None) or route.path_format
        protected = any(hasattr(d.call, "permission") for d in dependant.dependencies)
        for method in route.methods or ():
            op = schema.get("paths", {}).get(path, {}).get(method.lower())
            if op is None:
                continue
            codes: list[int] = []
            if protected:
                codes += (*_PROTECTED, 503)
            if "{" in path:
                codes.append(404)
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                codes += _MUTATING
            for code, entry in problem_responses(*codes).items():
                entry = {k: v for k, v in entry.items() if k != "model"}
                op.setdefault("responses", {}).setdefault(str(code), entry)


def _document_bodies(app: FastAPI, schema: dict[str, Any]) -> None:
    """Document the JSON bodies that routes read through :class:`~twinverse.api.body.JsonBody`.

    FastAPI only documents bodies it parses itself; these it never sees, so that no body
    escapes the size limit. Each gets its model's schema and the 422 a bad body answers.
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for rc in iter_route_contexts(app.routes):
        route = rc.original_route
        if not isinstance(route, APIRoute):
            continue
        for model in body_models(route):
            sub = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, nested in sub.pop("$defs", {}).items():
                components.setdefault(name, nested)
            components.setdefault(model.__name__, sub)
            for method in route.methods or ():
                op = schema["paths"][route.path_format][method.lower()]
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
                }
                op["responses"].setdefault("422", {"description": "Invalid input"})
