"""Model versions over HTTP: list them, read one, diff two, save a new one (and serve it).

``POST /api/plant/versions`` (``model:write``, engineers and admins) checks the text as
``twinverse serve`` would load it; a bad text is a 422 whose ``errors`` locate every
problem (``file:line: field.path: message``) and the running model stays. A good one is
stored, logged and served at once (:meth:`Platform.save_model
<twinverse.platform.Platform.save_model>`): the signals it keeps keep their history.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ...errors import InputError, NotFoundError
from ...model.versions import ModelVersion
from ..body import JsonBody
from ..params import get_platform
from ..schemas import problem_responses
from ..security import Permission, current_principal, require

__all__ = ["router"]

router = APIRouter(prefix="/api/plant/versions", tags=["plant"], responses=problem_responses(404))

_READ = [Depends(require(Permission.PLANT_READ))]


class VersionOut(BaseModel):
    """One saved model version."""

    number: int
    sha256: str = Field(description="SHA-256 of the YAML text.")
    created: str
    author: str
    author_id: str
    message: str
    summary: dict[str, Any]
    current: bool = Field(description="Whether this is the version the twin runs.")


class VersionList(BaseModel):
    """Every saved version, oldest first; ``current`` is the running one (None before the first save)."""

    current: int | None
    versions: list[VersionOut]


class VersionText(VersionOut):
    """A version with its text."""

    text: str


class DiffOut(BaseModel):
    """A unified diff between two versions."""

    old: int
    new: int
    diff: str = Field(description="Unified diff, empty when the two texts are equal.")


class SaveIn(BaseModel):
    """A new model version."""

    text: str = Field(min_length=1, max_length=4_000_000, description="The plant YAML text.")
    message: str = Field("", max_length=500, description="What changed and why.")


def _out(v: ModelVersion, current: int | None) -> VersionOut:
    return VersionOut(**v.to_dict(), current=v.number == current)


def _current(request: Request) -> int | None:
    current = get_platform(request).versions.current
    return current.number if current is not None else None


def _version(request: Request, number: int) -> ModelVersion:
    v = get_platform(request).versions.get(number)
    if v is None:
        raise NotFoundError(f"no model version {number}")
    return v


@router.get("", response_model=VersionList, summary="Model versions", dependencies=_READ)
def list_versions(request: Request) -> VersionList:
    """Every saved version of the plant model, oldest first."""
    cur = _current(request)
    return VersionList(current=cur, versions=[_out(v, cur) for v in get_platform(request).versions.versions()])


@router.post(
    "",
    response_model=VersionOut,
    status_code=201,
    summary="Save a new model version",
    dependencies=[Depends(require(Permission.MODEL_WRITE))],
    responses=problem_responses(413, 422),
)
async def save_version(body: Annotated[SaveIn, Depends(JsonBody(SaveIn))], request: Request) -> VersionOut:
    """Save ``text`` as the next version and switch the running twin to it (422 with located errors if invalid)."""
    platform = get_platform(request)
    principal = current_principal(request)
    v = await run_in_threadpool(platform.save_model, body.text, principal, message=body.message)
    return _out(v, v.number)


@router.get("/{number}", response_model=VersionText, summary="One model version with its text", dependencies=_READ)
def get_version(request: Request, number: int) -> VersionText:
    """Version ``number``: who saved it, when and why, and its YAML text."""
    v = _version(request, number)
    text = get_platform(request).versions.text(number)
    return VersionText(**_out(v, _current(request)).model_dump(), text=text)


@router.get("/{number}/diff", response_model=DiffOut, summary="Diff against another version",
            dependencies=_READ, responses=problem_responses(422))  # fmt: skip
def diff_version(
    request: Request,
    number: int,
    against: Annotated[int | None, Query(description="The older version (default: the one before).")] = None,
) -> DiffOut:
    """What changed from version ``against`` (default ``number - 1``) to version ``number``."""
    old = number - 1 if against is None else against
    _version(request, number)
    if old < 1:
        raise InputError("version 1 has no version before it; pass ?against=")
    _version(request, old)
    platform = get_platform(request)
    name = platform.plant.source.rsplit("/", 1)[-1] if platform.plant.source else "plant.yaml"
    return DiffOut(old=old, new=number, diff=platform.versions.diff(old, number, name=name))
