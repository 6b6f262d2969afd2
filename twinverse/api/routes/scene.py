"""The 3D scene: layout JSON for the viewer, glTF 2.0 export, the plant at a past moment."""

from __future__ import annotations

import threading
import weakref
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from ...core.timetext import parse_duration, parse_time
from ...errors import InputError, NotFoundError
from ...model import Plant
from ...scene import Scene, SignalSet, build_scene, scene_dict, state_at, to_glb, to_gltf
from ..params import get_platform
from ..schemas import problem_responses
from ..security import Permission, require

__all__ = ["cached_scene", "router"]

router = APIRouter(prefix="/api", tags=["plant"], dependencies=[Depends(require(Permission.PLANT_READ))])

_GLB = "model/gltf-binary"
_GLTF = "model/gltf+json"
#: Longest look-back of a time-travel query.
MAX_LOOKBACK = timedelta(days=7)


class _Cached:
    """A plant's scene and its encodings, computed once (the model does not change)."""

    def __init__(self, plant: Plant) -> None:
        self.scene: Scene = build_scene(plant)
        self._lock = threading.Lock()
        self._out: dict[str, bytes | dict[str, Any]] = {}

    def get(self, key: str) -> Any:
        with self._lock:
            if key not in self._out:
                if key == "json":
                    self._out[key] = scene_dict(self.scene)
                elif key == "glb":
                    self._out[key] = to_glb(self.scene)
                else:
                    self._out[key] = to_gltf(self.scene)
            return self._out[key]


_cache: weakref.WeakKeyDictionary[Plant, _Cached] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def cached_scene(plant: Plant) -> _Cached:
    """The scene of ``plant``, built on first use and kept while the plant lives."""
    with _cache_lock:
        c = _cache.get(plant)
    if c is None:
        c = _Cached(plant)
        with _cache_lock:
            c = _cache.setdefault(plant, c)
    return c


@router.get("/scene", summary="Scene layout", responses=problem_responses(422))
async def scene_layout(request: Request) -> dict[str, Any]:
    """The plant laid out in 3D, column-wise: objects (one per non-container twin) with shape,
    position (m), size (m) and rotation (rad); container zones; ``feeds`` belts; bounds.

    Coordinates follow glTF: y up, flow along +x, rows along +z. ``version`` changes when
    the layout does.
    """
    plant = get_platform(request).plant
    cached = await run_in_threadpool(cached_scene, plant)
    body: dict[str, Any] = await run_in_threadpool(cached.get, "json")
    return body


@router.get(
    "/scene.glb",
    summary="Scene as binary glTF",
    response_class=Response,
    responses={200: {"content": {_GLB: {}}}, **problem_responses(422)},
)
async def scene_glb(request: Request) -> Response:
    """The scene as a glTF 2.0 binary (GLB); node names and ``extras`` carry twin ids."""
    plant = get_platform(request).plant
    cached = await run_in_threadpool(cached_scene, plant)
    data: bytes = await run_in_threadpool(cached.get, "glb")
    return Response(data, media_type=_GLB, headers={"content-disposition": f'attachment; filename="{plant.id}.glb"'})


@router.get(
    "/scene.gltf",
    summary="Scene as glTF JSON",
    response_class=Response,
    responses={200: {"content": {_GLTF: {}}}, **problem_responses(422)},
)
async def scene_gltf(request: Request) -> Response:
    """The scene as one glTF 2.0 JSON file with its buffer embedded (base64 data URI)."""
    plant = get_platform(request).plant
    cached = await run_in_threadpool(cached_scene, plant)
    data: bytes = await run_in_threadpool(cached.get, "gltf")
    return Response(data, media_type=_GLTF, headers={"content-disposition": f'attachment; filename="{plant.id}.gltf"'})


@router.get(
    "/scene/models/{type_name}",
    summary="The glTF model of a twin type",
    response_class=Response,
    responses={200: {"content": {_GLB: {}, _GLTF: {}}}, **problem_responses(404, 422)},
)
async def scene_model(request: Request, type_name: str) -> Response:
    """The model file a type names (``model:`` in the plant YAML), as the viewer loads it."""
    plant = get_platform(request).plant
    cached = await run_in_threadpool(cached_scene, plant)
    model = cached.scene.models.get(type_name)
    if model is None:
        raise NotFoundError(f"type {type_name!r} has no model file in this plant")
    data = await run_in_threadpool(model.path.read_bytes)
    kind = _GLB if model.path.suffix.lower() == ".glb" else _GLTF
    return Response(data, media_type=kind, headers={"cache-control": "no-cache"})


@router.get(
    "/scene/state",
    summary="Plant state at a past moment",
    dependencies=[Depends(require(Permission.DATA_READ))],
    responses=problem_responses(404, 422),
)
async def scene_state(
    request: Request,
    at: Annotated[str, Query(description="ISO 8601 time, 'now', or relative like -10m.")] = "now",
    within: Annotated[str | None, Query(description="Only this subtree (twin id); the whole plant by default.")] = None,
    signals: Annotated[SignalSet, Query(description="'state': the state of every machine; 'all': every signal.")] = (
        SignalSet.STATE
    ),
    lookback: Annotated[str, Query(description="How far before `at` to look for a last value (up to 7d).")] = "1h",
) -> dict[str, Any]:
    """The last value at or before ``at`` of each signal, like a websocket snapshot:
    ``sid``, ``value`` (state names for states) and ``ts`` (epoch ms of the bucket, or null).
    """
    platform = get_platform(request)
    moment = parse_time(at, "at", datetime.now(UTC))
    if moment is None:
        raise InputError("at: give a time (ISO 8601, 'now' or e.g. -10m)")
    back = parse_duration(lookback, "lookback")
    if back > MAX_LOOKBACK:
        raise InputError(f"lookback: at most 7d, got {lookback!r}")
    if within is not None:
        platform.plant.twin(within)
    return await run_in_threadpool(
        lambda: state_at(platform.plant, platform.store, moment, within=within, signals=signals, lookback=back)
    )
