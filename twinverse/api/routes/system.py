"""Health and statistics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ... import __version__
from ..params import get_platform
from ..schemas import HealthOut, problem_responses
from ..security import Permission, require

router = APIRouter(tags=["system"])


@router.get(
    "/healthz",
    response_model=HealthOut,
    summary="Health",
    dependencies=[Depends(require(Permission.HEALTH))],
    responses=problem_responses(503),
)
def healthz(request: Request) -> HealthOut:
    """Liveness and ingest counters; answers 200 while the store answers."""
    p = get_platform(request)
    return HealthOut(
        status="ok",
        version=__version__,
        plant=p.plant.id,
        store=type(p.store).__name__,
        history_rows=p.store.count(),
        ingest=p.engine.stats(),
        sources=[c.describe() for c in p.sources],
        subscribers=len(p.hub),
    )
