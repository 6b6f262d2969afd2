"""Simulation runs started from the live twin: start, list with progress, fetch results.

A run forecasts the plant from its current state (machine states, buffer levels, repairs
under way; see :mod:`twinverse.sim.live`) with the model of the plant file's
``simulation:`` section. Runs execute in background threads (the compiled kernel releases
the GIL) and keep their results in memory for the life of the server.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ...errors import NotFoundError
from ...sim import InitialState, RunConfig
from ...sim.live import snapshot_from_live
from ...sim.scenario import run_scenario
from ...sim.spec import network_from_plant
from ..params import get_platform
from ..schemas import problem_responses
from ..security import Permission, require

__all__ = ["router"]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Stop running simulations when the server stops, instead of waiting for them."""
    yield
    reg = getattr(app.state, "sim_runs", None)
    if reg is not None:
        reg.close()


router = APIRouter(prefix="/api/sim", tags=["simulation"], responses=problem_responses(404, 422),
                   lifespan=_lifespan)

_MAX_PARALLEL = 2


class RunRequest(BaseModel):
    """What to simulate: a horizon (model time units) or a number of parts, replications."""

    model_config = ConfigDict(extra="forbid")

    until: float | None = Field(None, gt=0, description="Stop at this model time (the file's time_unit).")
    parts: int | None = Field(None, ge=1, le=100_000_000, description="Stop after this many parts left.")
    warmup: float = Field(0.0, ge=0, description="Statistics start at this model time.")
    reps: int = Field(5, ge=1, le=1000, description="Replications (for confidence intervals).")
    seed: int = Field(0, ge=0, description="Seed of the random streams.")
    from_live: bool = Field(True, description="Start from the live state; false starts empty.")
    method: Literal["engine", "auto", "fast"] = "engine"


class RunSummary(BaseModel):
    """A run as listed: status and progress."""

    id: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float
    created: datetime
    started: datetime | None = None
    finished: datetime | None = None
    request: RunRequest
    error: str | None = None


class RunDetail(RunSummary):
    """A run with its starting state and, once done, its result (schema twinverse.sim.result/1)."""

    snapshot: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


class RunList(BaseModel):
    runs: list[RunSummary]


class _Registry:
    """In-memory runs of one app, guarded by a lock (workers update, requests read)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs: dict[str, dict[str, Any]] = {}
        self.pool = ThreadPoolExecutor(max_workers=_MAX_PARALLEL, thread_name_prefix="twinverse-sim")
        self.closing = False

    def update(self, rid: str, **fields: Any) -> None:
        with self.lock:
            self.runs[rid].update(fields)

    def progress(self, rid: str, fraction: float) -> None:
        """Record progress; stop the run if the server is stopping."""
        if self.closing:
            raise _Stopped
        self.update(rid, progress=round(fraction, 4))

    def close(self) -> None:
        self.closing = True
        self.pool.shutdown(wait=False, cancel_futures=True)


class _Stopped(Exception):
    """Raised inside a run's progress callback when the server stops."""


def _registry(request: Request) -> _Registry:
    state = request.app.state
    with _CREATE:
        if not hasattr(state, "sim_runs"):
            state.sim_runs = _Registry()
    reg: _Registry = state.sim_runs
    return reg


_CREATE = threading.Lock()


@router.post("/runs", response_model=RunSummary, status_code=202, summary="Start a simulation run",
             dependencies=[Depends(require(Permission.SIM_RUN))])
def start_run(body: RunRequest, request: Request, response: Response) -> RunSummary:
    """Forecast the plant from its live state; poll ``GET /api/sim/runs/{id}`` for the result."""
    platform = get_platform(request)
    net = network_from_plant(platform.plant)
    config = RunConfig(until=body.until, parts=body.parts, warmup=body.warmup, reps=body.reps, seed=body.seed,
                       method=body.method, start_offset=0.0)  # validates before the run is accepted
    snapshot = None
    if body.from_live:
        snap = snapshot_from_live(net, platform.plant, platform.engine, store=platform.store)
        snapshot = snap.to_dict()
        initial = snap.initial
        config = RunConfig(**{**config.__dict__, "start_offset": snap.start_offset})
    else:
        initial = InitialState()
    reg = _registry(request)
    rid = uuid.uuid4().hex[:12]
    record: dict[str, Any] = {
        "id": rid, "status": "queued", "progress": 0.0, "created": datetime.now(UTC), "started": None,
        "finished": None, "request": body, "error": None, "snapshot": snapshot, "result": None,
    }
    with reg.lock:
        reg.runs[rid] = record

    def work() -> None:
        reg.update(rid, status="running", started=datetime.now(UTC))
        try:
            res = run_scenario(net, config, name=f"live-{rid}", initial=initial,
                               progress=lambda f: reg.progress(rid, f))
            reg.update(rid, status="done", progress=1.0, result=res.to_dict(), finished=datetime.now(UTC))
        except _Stopped:
            reg.update(rid, status="failed", error="the server stopped during the run", finished=datetime.now(UTC))
        except Exception as exc:  # a failed run is reported on the run, never lost
            reg.update(rid, status="failed", error=str(exc), finished=datetime.now(UTC))

    reg.pool.submit(work)
    response.headers["Location"] = f"/api/sim/runs/{rid}"
    return RunSummary(**{k: record[k] for k in RunSummary.model_fields})


@router.get("/runs", response_model=RunList, summary="List simulation runs",
            dependencies=[Depends(require(Permission.SIM_READ))])
def list_runs(request: Request) -> RunList:
    """Every run of this server, newest first, with status and progress."""
    reg = _registry(request)
    with reg.lock:
        rows = sorted(reg.runs.values(), key=lambda r: r["created"], reverse=True)
        return RunList(runs=[RunSummary(**{k: r[k] for k in RunSummary.model_fields}) for r in rows])


@router.get("/runs/{run_id}", response_model=RunDetail, summary="One simulation run with its result",
            dependencies=[Depends(require(Permission.SIM_READ))])
def get_run(run_id: Annotated[str, Path(description="Run id from POST /api/sim/runs.")],
            request: Request) -> RunDetail:
    """Status, progress, the starting snapshot and (when done) the result document."""
    reg = _registry(request)
    with reg.lock:
        r = reg.runs.get(run_id)
        if r is None:
            raise NotFoundError(f"no simulation run {run_id!r}")
        return RunDetail(**{k: r[k] for k in RunDetail.model_fields})
