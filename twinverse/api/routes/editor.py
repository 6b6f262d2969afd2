"""The plant editor's server side: the plant file's text and the validator, as the CLI runs it.

``GET /api/plant/source`` gives the YAML the running plant was loaded from and the names an
editor completes (type names, signal kinds, shapes, units in use); ``POST
/api/plant/validate`` checks an edited text with the same loader as ``twinverse serve``
(:func:`~twinverse.model.loads_plant`, and the simulation section when there is one) and
answers every located problem, ``file:line: field.path: message`` as the CLI prints them,
or, for a valid text, its summary and (``preview``) its 3D layout. Nothing is saved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ...errors import ModelError, NotFoundError, Problem
from ...model import SignalKind, loads_plant
from ...scene import SHAPES, build_scene, scene_dict
from ...sim.spec import network_from_plant
from ..body import JsonBody
from ..params import get_platform
from ..schemas import ProblemDetail
from ..security import Permission, require

__all__ = ["router"]

router = APIRouter(prefix="/api/plant", tags=["plant"], dependencies=[Depends(require(Permission.PLANT_READ))])

#: Units offered by completion besides those the plant uses.
COMMON_UNITS = ("degC", "bar", "kPa", "kW", "kWh", "A", "V", "Hz", "rpm", "m/s", "m3/h", "l/min", "kg", "%",
                "bottle/min", "part/min", "s", "min", "h")  # fmt: skip


class SourceOut(BaseModel):
    """The running plant's file and what an editor completes."""

    file: str
    text: str
    vocabulary: dict[str, list[str]] = Field(description="types, kinds, shapes and units.")
    version: int | None = Field(None, description="The model version this text is (None before the first save).")


class ValidateIn(BaseModel):
    """An edited plant file."""

    text: str = Field(description="The YAML text.")
    file: str = Field("plant.yaml", max_length=200, description="The name problems are reported under.")
    preview: bool = Field(False, description="Also return the 3D layout of a valid text (as GET /api/scene).")


class ValidateOut(BaseModel):
    """What the validator found: ``valid`` with a summary, or every problem with its line."""

    valid: bool
    problems: list[ProblemDetail]
    summary: dict[str, Any] | None = None
    scene: dict[str, Any] | None = Field(None, description="The layout of a valid text, when asked for (preview).")


@router.get("/source", response_model=SourceOut, summary="The plant file and its editor vocabulary")
def plant_source(request: Request) -> SourceOut:
    """The YAML text the running plant was loaded from, and the names an editor completes."""
    platform = get_platform(request)
    plant = platform.plant
    text = platform.model_text()
    if text is None or plant.source is None:
        raise NotFoundError("the running plant was not loaded from a file")
    units = {s.unit for t in plant.types.values() for s in t.signals.values() if s.unit}
    vocabulary = {
        "types": sorted(plant.types),
        "kinds": [k.value for k in SignalKind],
        "shapes": sorted(SHAPES),
        "units": sorted(units | set(COMMON_UNITS)),
    }
    current = platform.versions.current
    return SourceOut(file=Path(plant.source).name, text=text, vocabulary=vocabulary,
                     version=current.number if current is not None else None)  # fmt: skip


def _validate(text: str, name: str, preview: bool) -> ValidateOut:
    try:
        plant = loads_plant(text, name)
        if plant.simulation_doc is not None:
            network_from_plant(plant)
    except ModelError as exc:
        details: list[Problem] = list(exc.details) or [Problem(exc.message)]
        return ValidateOut(valid=False, problems=[ProblemDetail(**p.to_dict()) for p in details])
    scene = scene_dict(build_scene(plant)) if preview else None
    return ValidateOut(valid=True, problems=[], summary=plant.summary(), scene=scene)


@router.post("/validate", response_model=ValidateOut, summary="Validate an edited plant file")
async def validate_plant(body: Annotated[ValidateIn, Depends(JsonBody(ValidateIn))]) -> ValidateOut:
    """Check ``text`` as ``twinverse serve`` would load it; problems come back with their lines (200 either way)."""
    return await run_in_threadpool(_validate, body.text, body.file, body.preview)
