"""Probes, health and metrics: what load balancers, orchestrators and Prometheus ask.

``/livez`` and ``/readyz`` are public on purpose: a load balancer or a kubelet probe has no
token. They say nothing beyond "up" and which part is not ready. ``/healthz`` (details) and
``/metrics`` (Prometheus) need the ``health`` permission, which a viewer has; give a
scraper a token scoped to it (docs/operations.md). None of them scans the store.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from ... import __version__
from ...errors import Location, NotReadyError, Problem
from ..metrics import exposition
from ..params import get_platform
from ..schemas import HealthOut, StatusOut, problem_responses
from ..security import Permission, require

router = APIRouter(tags=["system"])


@router.get("/livez", response_model=StatusOut, summary="Liveness probe")
def livez() -> StatusOut:
    """200 while the process serves requests; checks nothing else, so a restart never fixes a dependency."""
    return StatusOut()


@router.get(
    "/readyz",
    response_model=StatusOut,
    summary="Readiness probe",
    responses=problem_responses(503, not_ready=True),
)
def readyz(request: Request) -> StatusOut:
    """200 when started, the store answers a trivial query and every source that connects is connected.

    Otherwise 503, a problem whose ``errors`` name each part not ready (``path``:
    ``platform``, ``store`` or ``source:NAME``). On a park's top-level path, every plant's
    parts (``plant:ID/store``, …): one process is ready when all its plants are.
    """
    park = getattr(request.app.state, "park", None)
    if park is not None and "twinverse.plant" not in request.scope:  # not under /plants/ID/
        problems = [Problem(p.message, Location(path=f"plant:{entry.id}/{p.location.path}"))
                    for entry in park for p in entry.platform.readiness()]  # fmt: skip
    else:
        problems = get_platform(request).readiness()
    if problems:
        raise NotReadyError("not ready: " + ", ".join(str(p.location.path) for p in problems), details=problems)
    return StatusOut()


@router.get(
    "/healthz",
    response_model=HealthOut,
    summary="Health",
    dependencies=[Depends(require(Permission.HEALTH))],
)
def healthz(request: Request) -> HealthOut:
    """Readiness and the engine's counters in one document; cheap (no count of the history)."""
    p = get_platform(request)
    problems = p.readiness()
    return HealthOut(
        status="not ready" if problems else "ok",
        version=__version__,
        plant=p.plant.id,
        store=type(p.store).__name__,
        problems=[x.message for x in problems],
        ingest=p.engine.stats(),
        rejected_by_reason={k: v for k, v in p.engine.rejects_by_reason().items() if v},
        sources=[c.describe() for c in p.sources],
        source_health=dict(p.source_health()),
        subscribers=len(p.hub),
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    dependencies=[Depends(require(Permission.HEALTH))],
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format (OpenMetrics when the Accept header asks for it).",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def metrics(request: Request) -> Response:
    """The platform's counters in Prometheus text format, read at scrape time (docs/operations.md)."""
    body, content_type = exposition(request.app.state.metrics, request.headers.get("accept"))
    return Response(body, media_type=content_type)
