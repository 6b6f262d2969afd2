"""Production KPIs per ISO 22400-2 (availability, effectiveness, quality ratio, OEE, MTBF/MTTR) over a window.

Computed by :class:`~twinverse.ops.kpis.KpiService` from the stored state history and
counters of each machine in a twin's subtree, with the line's total; energy by state comes
with them (kWh from the type's power per state). The time model is in docs/kpis.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ...core.timetext import parse_time
from ...errors import InputError
from ..params import get_platform
from ..schemas import problem_responses
from ..security import Permission, require

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["data"], responses=problem_responses(404, 422))


class KpiValues(BaseModel):
    availability: float | None = Field(description="APT / PBT")
    effectiveness: float | None = Field(description="PRU × PQ / APT (performance)")
    quality_ratio: float | None = Field(description="GQ / PQ")
    oee: float | None = Field(description="availability × effectiveness × quality ratio")
    scrap_ratio: float | None
    throughput_per_h: float | None = Field(description="PQ per hour of APT")
    mttr_s: float | None
    mtbf_s: float | None


class ProductionOut(BaseModel):
    """ISO 22400 time elements (seconds), quantities, energy and the KPIs of one work unit."""

    window_s: float
    pbt_s: float = Field(description="planned busy time")
    apt_s: float = Field(description="actual production time")
    adot_s: float = Field(description="actual unit down time")
    asut_s: float = Field(description="actual unit setup time")
    off_s: float
    no_data_s: float
    failures: int
    pq: float = Field(description="produced quantity")
    gq: float = Field(description="good quantity")
    pru_s: float | None = Field(description="planned runtime per unit")
    state_s: dict[str, float]
    energy_kwh: float = Field(description="from the type's power per state × time in state")
    energy_by_state_kwh: dict[str, float]
    co2e_kg: float = Field(description="location-based: energy × the grid factor")
    kwh_per_good_unit: float | None
    co2e_kg_per_good_unit: float | None
    kpis: KpiValues


class GridFactorOut(BaseModel):
    """The grid emission factor the report used (the plant file's ``energy: {grid, year}``)."""

    grid: str
    year: int
    kg_per_kwh: float
    source: str


class KpiReport(BaseModel):
    twin: str
    start: datetime
    end: datetime
    grid_factor: GridFactorOut
    total: ProductionOut
    machines: dict[str, ProductionOut]


@router.get("/kpis", response_model=KpiReport, summary="OEE and production KPIs",
            dependencies=[Depends(require(Permission.DATA_READ))])  # fmt: skip
async def kpis(
    request: Request,
    twin: Annotated[str | None, Query(description="A machine, or a line/area: its machines and their total.")]
    = None,
    start: Annotated[str, Query(description="ISO 8601 time, 'now' or relative like -8h.")] = "-8h",
    end: Annotated[str, Query(description="ISO 8601 time, 'now' or relative.")] = "now",
) -> Any:
    """Availability, effectiveness, quality ratio, OEE, scrap, throughput, MTTR and MTBF per machine and in total."""
    platform = get_platform(request)
    now = datetime.now(UTC)
    t0, t1 = parse_time(start, "start", now), parse_time(end, "end", now)
    if t0 is None or t1 is None:
        raise InputError("give both start and end (ISO 8601, 'now' or relative like -8h)")
    report = await run_in_threadpool(platform.kpis.report, twin or platform.plant.id, t0, t1)
    return KpiReport.model_validate(report)
