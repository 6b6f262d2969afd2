"""Simulation runs started from the live twin: start, list with progress, fetch results, cancel.

A run forecasts the plant from its current state (machine states, buffer levels, repairs
under way; see :mod:`twinverse.sim.live`) with the model of the plant file's
``simulation:`` section. The platform's :class:`~twinverse.sim.runner.SimRunner` runs them
in the background and keeps their results in memory for the life of the server; these
routes only parse, call it and format.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ...sim.live import snapshot_from_live
from ...sim.network import INF
from ...sim.runconfig import InitialState, RunConfig
from ...sim.runner import SimJob, SimRunner
from ...sim.spec import network_from_plant
from ...sim.sweep import apply_calendars, apply_params, current_params
from ..body import JsonBody
from ..params import get_platform
from ..schemas import problem_responses
from ..security import Permission, current_principal, require

__all__ = ["router"]

router = APIRouter(prefix="/api/sim", tags=["simulation"], responses=problem_responses(404, 422))

RunId = Annotated[str, Path(description="Run id from POST /api/sim/runs.")]


class ShiftIn(BaseModel):
    """A calendar's repeating pattern: non-working ``off`` intervals within each ``period``."""

    model_config = ConfigDict(extra="forbid")

    period: float = Field(gt=0, description="Length of the repeating pattern (model time units).")
    off: list[tuple[float, float]] = Field(
        default_factory=list, max_length=1000, description="[start, end] intervals of non-working time, sorted."
    )


class RunRequest(BaseModel):
    """What to simulate: a horizon (model time units) or a number of parts, replications."""

    model_config = ConfigDict(extra="forbid")

    until: float | None = Field(None, gt=0, description="Stop at this model time (the file's time_unit).")
    parts: int | None = Field(None, ge=1, le=100_000_000, description="Stop after this many parts left.")
    warmup: float = Field(0.0, ge=0, description="Statistics start at this model time.")
    reps: int = Field(5, ge=1, description="Replications (for confidence intervals; at most sim_max_reps).")
    seed: int = Field(0, ge=0, description="Seed of the random streams.")
    from_live: bool = Field(True, description="Start from the live state; false starts empty.")
    method: Literal["engine", "auto", "fast"] = "engine"
    params: dict[str, float | None] = Field(
        default_factory=dict, max_length=64,
        description="What-if changes, ``kind.id.attr`` → value (null: unbounded), as listed by "
                    "GET /api/sim/model, e.g. {\"buffer.c3.capacity\": 40}.",
    )  # fmt: skip
    calendars: dict[str, ShiftIn] = Field(
        default_factory=dict, max_length=16,
        description="Shift patterns replacing the model's calendars for this run, by calendar id.",
    )  # fmt: skip
    playback: float | None = Field(
        None, gt=0, description="Sample the first replication's station states and buffer levels every this much "
                                "model time (at most 10,000 samples): the result's ``playback`` (docs/simulation.md).",
    )  # fmt: skip


class ModelParam(BaseModel):
    """One parameter a run may change, with its value in the plant's model (null: unbounded)."""

    name: str
    kind: Literal["station", "buffer", "source"]
    element: str
    attr: str
    value: float | None
    twin: str | None = Field(None, description="The twin the element stands for, if any.")


class ModelOut(BaseModel):
    """The simulation model of the plant as a what-if sees it: its defaults and what can change."""

    name: str
    time_unit: str
    run: dict[str, Any]
    stations: list[dict[str, str | None]]
    params: list[ModelParam]
    calendars: list[dict[str, Any]] = Field(description="Shift patterns: id, period and off intervals.")


class RunSummary(BaseModel):
    """A run as listed: status and progress."""

    id: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: float
    created: datetime
    started: datetime | None = None
    finished: datetime | None = None
    request: RunRequest
    error: str | None = None


class RunDetail(RunSummary):
    """A run with its starting state and, once done, its result (schema twinverse.sim.result/2)."""

    snapshot: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


class RunList(BaseModel):
    runs: list[RunSummary]


def _runner(request: Request) -> SimRunner:
    runner: SimRunner = get_platform(request).sim
    return runner


def _summary(job: SimJob) -> RunSummary:
    return RunSummary(id=job.id, status=job.status.value, progress=job.progress, created=job.created,
                      started=job.started, finished=job.finished, request=job.request, error=job.error)


def _detail(job: SimJob) -> RunDetail:
    return RunDetail(**_summary(job).model_dump(), snapshot=job.snapshot,
                     result=job.result.to_dict() if job.result is not None else None)


@router.post("/runs", response_model=RunSummary, status_code=202, summary="Start a simulation run",
             dependencies=[Depends(require(Permission.SIM_RUN))], responses=problem_responses(429))
def start_run(
    body: Annotated[RunRequest, Depends(JsonBody(RunRequest))], request: Request, response: Response
) -> RunSummary:
    """Forecast the plant from its live state; poll ``GET /api/sim/runs/{id}`` for the result.

    ``params`` changes the model for this run only (a what-if; names and current values from
    ``GET /api/sim/model``); an unknown name or a value out of range is a 422 naming it.
    Options above the server's limits (``sim_max_until``, ``sim_max_reps``) are refused
    with 422; a full queue (``sim_max_queued``, ``sim_max_queued_per_tenant``) with 429 and
    ``Retry-After``.
    """
    platform = get_platform(request)
    runner = _runner(request)
    net = network_from_plant(platform.plant)
    if body.params:
        net = apply_params(net, {k: INF if v is None else v for k, v in body.params.items()})  # 422 names a bad one
    if body.calendars:
        net = apply_calendars(net, {k: (c.period, c.off) for k, c in body.calendars.items()})
    config = RunConfig(until=body.until, parts=body.parts, warmup=body.warmup, reps=body.reps, seed=body.seed,
                       method=body.method, start_offset=0.0, playback_every=body.playback)  # validated here
    runner.check(config)  # before the snapshot is taken
    snapshot = None
    initial = InitialState()
    if body.from_live:
        snap = snapshot_from_live(net, platform.plant, platform.engine, store=platform.store)
        snapshot = snap.to_dict()
        initial = snap.initial
        config = RunConfig(**{**config.__dict__, "start_offset": snap.start_offset})
    job = runner.submit(net, config, initial=initial, name="live-{id}", request=body, snapshot=snapshot,
                        tenant=current_principal(request).tenant)
    response.headers["Location"] = f"/api/sim/runs/{job.id}"
    return _summary(job)


@router.get("/model", response_model=ModelOut, summary="The simulation model and its what-if parameters",
            dependencies=[Depends(require(Permission.SIM_READ))])
def get_model(request: Request) -> ModelOut:
    """The plant's simulation model: run defaults, stations with their twins, and every parameter
    ``POST /api/sim/runs`` accepts in ``params`` with its current value."""
    net = network_from_plant(get_platform(request).plant)
    twins = {s.id: s.twin for s in net.stations} | {b.id: b.twin for b in net.buffers}
    params = []
    for name, value in current_params(net).items():
        kind, rest = name.split(".", 1)
        element, attr = rest.rsplit(".", 1)
        params.append(ModelParam(name=name, kind=kind, element=element, attr=attr,
                                 value=None if value == INF else value, twin=twins.get(element)))  # fmt: skip
    return ModelOut(name=net.name, time_unit=net.time_unit, run=dict(net.run),
                    stations=[{"id": s.id, "twin": s.twin} for s in net.stations], params=params,
                    calendars=[{"id": c.id, "period": c.period, "off": [list(iv) for iv in c.off]}
                               for c in net.calendars])  # fmt: skip


@router.get("/runs", response_model=RunList, summary="List simulation runs",
            dependencies=[Depends(require(Permission.SIM_READ))])
def list_runs(request: Request) -> RunList:
    """Every run of this server, newest first, with status and progress."""
    return RunList(runs=[_summary(j) for j in _runner(request).jobs()])


@router.get("/runs/{run_id}", response_model=RunDetail, summary="One simulation run with its result",
            dependencies=[Depends(require(Permission.SIM_READ))])
def get_run(run_id: RunId, request: Request) -> RunDetail:
    """Status, progress, the starting snapshot and (when done) the result document."""
    return _detail(_runner(request).get(run_id))


@router.delete("/runs/{run_id}", response_model=RunSummary, summary="Cancel a simulation run",
               dependencies=[Depends(require(Permission.SIM_RUN))])
def cancel_run(run_id: RunId, request: Request) -> RunSummary:
    """Stop a queued or running run (a running one stops at its next progress report, within ~0.1 s).

    The run stays listed, with status ``cancelled``; cancelling a finished run changes nothing.
    """
    return _summary(_runner(request).cancel(run_id))
