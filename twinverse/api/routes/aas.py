"""The AAS API (IDTA-01002 Part 2, v3.0) of the running twin, under ``/aas/v3.0``.

- ``/aas/v3.0/shells…``, ``/submodels…``, ``/concept-descriptions…``: the AAS, submodel and
  concept description repositories; ``/description`` and ``/serialization``.
- ``/aas/v3.0/shell-services/{aasId}/aas…``: one shell as the single-AAS interface;
  ``/aas/v3.0/submodel-services/{submodelId}/submodel…``: one submodel as the single
  submodel interface (each with its own ``/description`` and ``/serialization``).

Identifiers in paths are base64url-encoded; lists are paged with ``limit`` and ``cursor``.
Errors answer the specified ``Result`` body (``{"messages": [...]}``, see
:func:`aas_error_body`), except 401 and 403, which come from the platform's authentication
layer as problem+json like every other route's. Reading needs ``plant:read``; setting a Property's value
(``PATCH …/$value``) needs ``aas:write`` and is logged in the transparency log.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ...errors import InputError, NotFoundError
from ...interop.aas import (
    PROFILES,
    AasFormat,
    AasRepository,
    b64decode_id,
    b64encode_id,
    build_environment,
    dumps_environment,
    loads_environment,
)
from ..body import RawBody
from ..params import get_platform
from ..security import Permission, audit, require

__all__ = ["AAS_PREFIX", "RESULT_SCHEMA", "aas_error_body", "is_aas_path", "router"]

AAS_PREFIX = "/aas/v3.0"

#: JSON schema of the AAS ``Result`` error body (Part 2, clause 11).
RESULT_SCHEMA: dict[str, Any] = {
    "title": "AasResult",
    "type": "object",
    "properties": {"messages": {"type": "array", "items": {"type": "object", "properties": {
        "code": {"type": "string"},
        "correlationId": {"type": "string"},
        "messageType": {"type": "string", "enum": ["Undefined", "Info", "Warning", "Error", "Exception"]},
        "text": {"type": "string"},
        "timestamp": {"type": "string"},
    }}}},
}

_RESULT = {"description": "An AAS Result: `{\"messages\": [{\"code\", \"messageType\", \"text\", \"timestamp\"}]}`"}
router = APIRouter(
    prefix=AAS_PREFIX,
    tags=["aas"],
    responses={code: _RESULT for code in (400, 404, 503)},
)
_READ = [Depends(require(Permission.PLANT_READ))]


def is_aas_path(path: str) -> bool:
    """Whether a request path belongs to the AAS API (its errors use the AAS Result body)."""
    return path == AAS_PREFIX or path.startswith(AAS_PREFIX + "/")


def aas_error_body(status: int, text: str) -> dict[str, Any]:
    """The ``Result`` body the AAS API answers errors with (Part 2, clause 11)."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"messages": [{"code": str(status), "messageType": "Error", "text": text, "timestamp": now}]}


def _live(request: Request) -> Any:
    platform = get_platform(request)
    index, engine = platform.plant.signals, platform.engine

    def live(twin: str, signal: str) -> Any:
        sid = index.get(twin, signal)
        return None if sid is None else engine.live(range(sid, sid + 1))[0]["value"]

    return live


async def repository(request: Request) -> AasRepository:
    """The app's AAS view of its plant, built on first use (live values are read per request)."""
    platform = get_platform(request)
    cached = getattr(request.app.state, "aas_repository", None)
    if cached is not None and cached[0] is platform.plant:
        repo: AasRepository = cached[1]
        return repo
    base = str(request.base_url).rstrip("/")
    store = await run_in_threadpool(build_environment, platform.plant, api_base=base)
    repo = AasRepository(store, live=_live(request))
    request.app.state.aas_repository = (platform.plant, repo)
    return repo


class _Query:
    """The query parameters of the AAS API, checked once (a bad one is a 400)."""

    def __init__(self, request: Request) -> None:
        q = request.query_params
        limit = q.get("limit")
        try:
            self.limit = None if limit is None else int(limit)
        except ValueError:
            raise InputError(f"limit must be a positive integer, got {limit!r}") from None
        self.cursor = q.get("cursor")
        self.level = AasRepository.check_level(q.get("level"))
        AasRepository.check_extent(q.get("extent"))
        self.id_short = q.get("idShort")
        self.asset_ids = q.getlist("assetIds")
        self.aas_ids = [i for v in q.getlist("aasIds") for i in v.split(",") if i]
        self.submodel_ids = [i for v in q.getlist("submodelIds") for i in v.split(",") if i]
        self.concepts = AasRepository.check_bool("includeConceptDescriptions", q.get("includeConceptDescriptions"))


def _json(body: Any) -> JSONResponse:
    return JSONResponse(body)


def _submodel_part(repo: AasRepository, sm: dict[str, Any], rest: list[str], q: _Query) -> Any:
    """``…/submodels/{id}`` + ``rest``: the submodel, its modifiers, its elements."""
    if not rest:
        return repo.submodel_view(sm, None, q.level)
    if len(rest) == 1 and rest[0].startswith("$"):
        return repo.submodel_view(sm, rest[0], q.level)
    if rest[0] != "submodel-elements" or len(rest) > 3:
        raise NotFoundError(f"no operation /{'/'.join(rest)} on a submodel")
    tail = rest[1:]
    if not tail:
        return repo.elements_view(sm, None, q.level, q.limit, q.cursor)
    if len(tail) == 1 and tail[0].startswith("$"):
        return repo.elements_view(sm, tail[0], q.level, q.limit, q.cursor)
    return repo.element(sm, tail[0], tail[1] if len(tail) == 2 else None, q.level)


def _shell_part(repo: AasRepository, shell: dict[str, Any], rest: list[str], q: _Query) -> Any:
    """``…/shells/{id}`` (or ``/aas``) + ``rest``."""
    if not rest:
        return shell
    head = rest[0]
    if rest == ["$reference"]:
        return repo.reference("AssetAdministrationShell", shell["id"])
    if rest == ["asset-information"]:
        return shell["assetInformation"]
    if rest == ["asset-information", "thumbnail"]:
        raise NotFoundError(f"shell {shell['id']!r} has no thumbnail")
    if rest == ["submodel-refs"]:
        return repo.page(shell.get("submodels", []), q.limit, q.cursor)
    if head == "submodels" and len(rest) >= 2:
        return _submodel_part(repo, repo.shell_submodel(shell, rest[1]), rest[2:], q)
    raise NotFoundError(f"no operation /{'/'.join(rest)} on a shell")


def _split(rest: str) -> list[str]:
    return [p for p in rest.split("/") if p]


@router.get("/description", summary="AAS API: service description", dependencies=_READ)
async def description() -> JSONResponse:
    """The service profiles this server implements."""
    return _json({"profiles": list(PROFILES)})


#: Media types ``/serialization`` answers besides JSON (asked for with ``Accept``).
_SERIALIZATIONS = {
    "application/asset-administration-shell-package+xml": AasFormat.AASX,
    "application/xml": AasFormat.XML,
}


def _serialized(request: Request, env: dict[str, Any]) -> Response:
    accept = request.headers.get("accept", "")
    for media, fmt in _SERIALIZATIONS.items():
        if media in accept:
            store = loads_environment(json.dumps(env).encode(), AasFormat.JSON, "environment")
            return Response(dumps_environment(store, fmt), media_type=media)
    return _json(env)


@router.get(
    "/serialization",
    summary="AAS API: environment of some shells and submodels",
    dependencies=_READ,
    responses={200: {"content": {m: {"schema": {"type": "string", "format": "binary"}} for m in _SERIALIZATIONS}}},
)
async def serialization(request: Request) -> Response:
    """The shells ``aasIds`` and submodels ``submodelIds`` (all when none) as an environment.

    JSON, or XML (``Accept: application/xml``) or AASX
    (``Accept: application/asset-administration-shell-package+xml``).
    """
    repo, q = await repository(request), _Query(request)
    return _serialized(request, repo.environment(q.aas_ids, q.submodel_ids, q.concepts))


@router.get("/shells", summary="AAS API: all shells", dependencies=_READ)
async def shells(request: Request) -> JSONResponse:
    """All shells, paged; filtered by ``idShort`` and ``assetIds``."""
    repo, q = await repository(request), _Query(request)
    return _json(repo.page(repo.find_shells(q.id_short, q.asset_ids), q.limit, q.cursor))


@router.get("/shells/$reference", summary="AAS API: references to all shells", dependencies=_READ)
async def shell_references(request: Request) -> JSONResponse:
    """References to all shells, paged and filtered like ``/shells``."""
    repo, q = await repository(request), _Query(request)
    found = repo.find_shells(q.id_short, q.asset_ids)
    return _json(repo.page([repo.reference("AssetAdministrationShell", s["id"]) for s in found], q.limit, q.cursor))


@router.get("/shells/{aas_id}", summary="AAS API: one shell", dependencies=_READ)
async def shell(request: Request, aas_id: str) -> JSONResponse:
    """One shell by its base64url-encoded id."""
    repo = await repository(request)
    _Query(request)
    return _json(repo.shell(aas_id))


@router.get("/shells/{aas_id}/{rest:path}", summary="AAS API: a shell's parts and submodels", dependencies=_READ)
async def shell_parts(request: Request, aas_id: str, rest: str) -> JSONResponse:
    """``$reference``, ``asset-information``, ``submodel-refs`` and ``submodels/{id}/…`` of a shell."""
    repo, q = await repository(request), _Query(request)
    return _json(_shell_part(repo, repo.shell(aas_id), _split(rest), q))


@router.get("/submodels", summary="AAS API: all submodels", dependencies=_READ)
async def submodels(request: Request) -> JSONResponse:
    """All submodels, paged (``idShort`` and ``semanticId`` filter them)."""
    repo, q = await repository(request), _Query(request)
    return _json(repo.page(_filtered(repo, request, q), q.limit, q.cursor))


def _filtered(repo: AasRepository, request: Request, q: _Query) -> list[dict[str, Any]]:
    found = [repo.submodel(s) for s in map(_encode, repo.submodels)]
    if q.id_short is not None:
        found = [s for s in found if s.get("idShort") == q.id_short]
    semantic = request.query_params.get("semanticId")
    if semantic is not None:
        try:
            wanted = json.loads(b64decode_id(semantic))
        except json.JSONDecodeError:
            raise InputError("semanticId must be a base64url-encoded Reference") from None
        found = [s for s in found if s.get("semanticId") == wanted]
    return found


def _encode(identifier: str) -> str:
    return b64encode_id(identifier)


@router.get("/submodels/{sm_id}/submodel-elements/{path}/$value", summary="AAS API: a submodel element's value",
            dependencies=_READ)
async def element_value(request: Request, sm_id: str, path: str) -> JSONResponse:
    """The ValueOnly serialisation of one element: ``{idShort: value}`` (live for bound properties)."""
    repo, q = await repository(request), _Query(request)
    return _json(repo.element(repo.submodel(sm_id), path, "$value", q.level))


@router.get("/submodels/{rest:path}", summary="AAS API: submodels, their modifiers and elements", dependencies=_READ)
async def submodel_parts(request: Request, rest: str) -> JSONResponse:
    """``$metadata``/``$value``/``$reference``/``$path`` of all submodels, or ``{id}/…`` of one."""
    repo, q = await repository(request), _Query(request)
    parts = _split(rest)
    if len(parts) == 1 and parts[0].startswith("$"):
        found = _filtered(repo, request, q)
        if parts[0] == "$path":  # one list of idShortPaths for all submodels
            paths = [p for s in found for p in repo.submodel_view(s, "$path", q.level)]
            return _json(repo.page(paths, q.limit, q.cursor))
        return _json(repo.page([repo.submodel_view(s, parts[0], q.level) for s in found], q.limit, q.cursor))
    return _json(_submodel_part(repo, repo.submodel(parts[0]), parts[1:], q))


@router.patch(
    "/submodels/{sm_id}/submodel-elements/{path}/$value",
    summary="AAS API: set a Property's value",
    status_code=204,
    dependencies=[Depends(require(Permission.AAS_WRITE))],
    responses={409: _RESULT, 413: _RESULT},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"type": ["string", "number", "boolean"]}}}}},
)
async def set_value(request: Request, sm_id: str, path: str, body: RawBody) -> Response:
    """Set the value of a Property that is not bound to a signal (kept while the server runs; logged)."""
    repo = await repository(request)
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError("the body must be a JSON string, number or boolean") from None
    repo.set_value(sm_id, path, value)
    await audit(request, "aas.set_value", f"submodel:{b64decode_id(sm_id)}#{path}", {"value": value})
    return Response(status_code=204)


@router.get("/concept-descriptions", summary="AAS API: all concept descriptions", dependencies=_READ)
async def concept_descriptions(request: Request) -> JSONResponse:
    """All concept descriptions, paged (``idShort`` filters them)."""
    repo, q = await repository(request), _Query(request)
    found = [c for c in repo.concepts.values() if q.id_short is None or c.get("idShort") == q.id_short]
    return _json(repo.page(found, q.limit, q.cursor))


@router.get("/concept-descriptions/{cd_id}", summary="AAS API: one concept description", dependencies=_READ)
async def concept_description(request: Request, cd_id: str) -> JSONResponse:
    """One concept description by its base64url-encoded id."""
    return _json((await repository(request)).concept(cd_id))


def _service_common(repo: AasRepository, parts: list[str], q: _Query, shells: list[dict[str, Any]],
                    submodel_ids: list[str]) -> Any:
    if parts == ["description"]:
        return {"profiles": list(PROFILES)}
    if parts[-1:] == ["serialization"] and len(parts) <= 2:
        return repo.environment([_encode(s["id"]) for s in shells] if not q.aas_ids else q.aas_ids,
                                q.submodel_ids or submodel_ids, q.concepts)
    if parts[-1:] == ["shells"] and len(parts) == 2:
        return repo.page(shells, q.limit, q.cursor)
    return None


@router.get("/shell-services/{aas_id}", summary="AAS API: one shell as the AAS interface (its root)",
            dependencies=_READ)
async def shell_service_root(request: Request, aas_id: str) -> JSONResponse:
    """The shell itself (the root of its single-AAS interface)."""
    return await shell_service(request, aas_id, "")


@router.get("/shell-services/{aas_id}/{rest:path}", summary="AAS API: one shell as the AAS interface",
            dependencies=_READ)
async def shell_service(request: Request, aas_id: str, rest: str) -> JSONResponse:
    """The single-AAS interface of one shell: ``/aas``, ``/aas/submodels/{id}/…``, ``/description``."""
    repo, q = await repository(request), _Query(request)
    shell = repo.shell(aas_id)
    parts = _split(rest)
    common = _service_common(repo, parts, q, [shell], [])
    if common is not None:
        return _json(common)
    if not parts:
        return _json(shell)
    if parts[0] != "aas":
        raise NotFoundError(f"no operation /{rest} on the AAS interface")
    return _json(_shell_part(repo, shell, parts[1:], q))


@router.get("/submodel-services/{sm_id}", summary="AAS API: one submodel as the submodel interface (its root)",
            dependencies=_READ)
async def submodel_service_root(request: Request, sm_id: str) -> JSONResponse:
    """The submodel itself (the root of its single-submodel interface)."""
    return await submodel_service(request, sm_id, "")


@router.get("/submodel-services/{sm_id}/{rest:path}", summary="AAS API: one submodel as the submodel interface",
            dependencies=_READ)
async def submodel_service(request: Request, sm_id: str, rest: str) -> JSONResponse:
    """The single-submodel interface: ``/submodel``, ``/submodel/submodel-elements/…``, ``/description``."""
    repo, q = await repository(request), _Query(request)
    sm = repo.submodel(sm_id)
    parts = _split(rest)
    common = _service_common(repo, parts, q, repo.shells_of(sm), [sm_id])
    if common is not None:
        return _json(common)
    if not parts:
        return _json(sm)
    if parts[0] != "submodel":
        raise NotFoundError(f"no operation /{rest} on the submodel interface")
    return _json(_submodel_part(repo, sm, parts[1:], q))
