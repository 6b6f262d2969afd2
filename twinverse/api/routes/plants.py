"""The plants of the deployment: list them, add one, remove one — without a restart.

``GET /api/plants`` lists the plants the caller's tenant owns (all of them for the platform
operator), each with the path its API and viewer are served under (``/plants/{id}/``).
``POST /api/plants`` (``plant:admin`` in the tenant named, i.e. a tenant admin) adds a plant
from its YAML text: checked as ``twinverse serve`` would load it (422 with every problem
located), then served at once and remembered across restarts. ``DELETE /api/plants/{id}``
stops serving a plant that was added so; its data moves aside, it is not deleted
(:class:`~twinverse.park.Park`). Every change is in the transparency log.

These routes are on every plant's app; a server built on one platform alone (``create_app``
without a park) lists that plant and refuses changes with 409.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ...config import TENANT_PATTERN
from ...errors import ConflictError, NotFoundError
from ...park import Park, ParkPlant
from ..body import JsonBody
from ..params import get_platform
from ..schemas import problem_responses
from ..security import Permission, current_principal, require

__all__ = ["router"]

router = APIRouter(prefix="/api/plants", tags=["plant"])


class ParkPlantOut(BaseModel):
    """One plant of the deployment."""

    id: str
    name: str
    tenant: str = Field(description="The tenant that owns the plant.")
    origin: str = Field(description="'settings' (plant, plants) or 'api' (added with POST /api/plants).")
    added: str = Field(description="When it was added over the API (empty for plants of the settings).")
    path: str = Field(description="Where its API and viewer are served: /plants/{id}/ (…/api/…, …/ws).")
    twins: int
    types: int
    signals: int
    relationships: int


class ParkPlantList(BaseModel):
    """The plants the caller may see, the first one also served at the top-level paths."""

    items: list[ParkPlantOut]


class NewPlantIn(BaseModel):
    """A plant to add."""

    text: str = Field(min_length=1, max_length=4_000_000, description="The plant YAML text.")
    tenant: str | None = Field(
        None, pattern=TENANT_PATTERN, description="The owning tenant (default: the caller's)."
    )
    file: str = Field("plant.yaml", max_length=200, description="File name its errors are located in.")


def _park(request: Request) -> Park | None:
    park: Park | None = getattr(request.app.state, "park", None)
    return park


def _out(entry: ParkPlant) -> ParkPlantOut:
    d: dict[str, Any] = entry.describe()
    return ParkPlantOut(**{k: d[k] for k in ParkPlantOut.model_fields})


@router.get("", response_model=ParkPlantList, summary="The plants of the deployment",
            dependencies=[Depends(require(Permission.PLANT_LIST))])  # fmt: skip
def list_plants(request: Request) -> ParkPlantList:
    """The plants the caller's tenant owns (every plant for the platform operator), first served first."""
    principal = current_principal(request)
    park = _park(request)
    if park is None:
        platform = get_platform(request)
        mine = "*" in principal.permissions or platform.tenant == principal.tenant
        one = ParkPlant(platform.plant.id, platform.tenant, "settings", "", platform)
        return ParkPlantList(items=[_out(one)] if mine else [])
    return ParkPlantList(items=[_out(p) for p in park.visible(principal)])


@router.post("", response_model=ParkPlantOut, status_code=201, summary="Add a plant",
             dependencies=[Depends(require(Permission.PLANT_ADMIN))],
             responses=problem_responses(404, 409, 413, 422))  # fmt: skip
async def add_plant(body: Annotated[NewPlantIn, Depends(JsonBody(NewPlantIn))], request: Request) -> ParkPlantOut:
    """Add the plant of ``text`` for ``tenant`` and serve it at once under ``/plants/{id}/``.

    422 with every problem located when the text does not load; 409 when its id is served
    already; 404 when the tenant does not exist; 403 for a tenant not the caller's.
    """
    park = _park(request)
    if park is None:
        raise ConflictError("this server serves one platform: plants are added to a park (twinverse serve)")
    principal = current_principal(request)
    entry = await run_in_threadpool(park.add, body.text, body.tenant or principal.tenant, principal, file=body.file)
    return _out(entry)


@router.delete("/{plant_id}", status_code=204, summary="Remove a plant added over the API",
               dependencies=[Depends(require(Permission.PLANT_ADMIN))],
               responses=problem_responses(404, 409))  # fmt: skip
async def remove_plant(plant_id: str, request: Request) -> None:
    """Stop serving ``plant_id``; its folder moves to ``<data_dir>/removed/`` (409 for a plant of the settings)."""
    park = _park(request)
    if park is None:
        raise NotFoundError(f"no plant {plant_id!r} was added to this server")
    await run_in_threadpool(park.remove, plant_id, current_principal(request))
