"""Production KPIs per ISO 22400-2 (availability, effectiveness, quality ratio, OEE, MTBF/MTTR) over a window.

Computed by :class:`~twinverse.ops.kpis.KpiService` from the stored state history and
counters of each machine in a twin's subtree, with the line's total; energy by state comes
with them (kWh from the type's power per state). The time model is in docs/kpis.md.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
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

_SHIFT_HELP = "A shift instead of start/end: current, previous, NAME (its latest) or YYYY-MM-DD/NAME."

router = APIRouter(prefix="/api", tags=["data"], responses=problem_responses(404, 422))


class KpiValues(BaseModel):
    availability: float | None = Field(description="APT / PBT")
    effectiveness: float | None = Field(description="PRU × PQ / APT (performance)")
    quality_ratio: float | None = Field(description="GQ / PQ")
    oee: float | None = Field(description="availability × effectiveness × quality ratio")
    technical_efficiency: float | None = Field(description="APT / (APT + ADET)")
    setup_rate: float | None = Field(description="ASUT / AUPT")
    scrap_ratio: float | None = Field(description="SQ / PQ")
    throughput_per_h: float | None = Field(description="PQ per hour of PBT")
    mttr_s: float | None = Field(description="ADOT / failures")
    mtbf_s: float | None = Field(description="AUBT / failures")


class ProductionOut(BaseModel):
    """ISO 22400 time elements (seconds), quantities, energy and the KPIs of one work unit."""

    window_s: float
    pot_s: float = Field(description="planned operation time: in shifts, outside breaks")
    pdot_s: float = Field(description="planned down time: off within POT")
    pbt_s: float = Field(description="planned busy time")
    apt_s: float = Field(description="actual production time: running")
    adet_s: float = Field(description="actual unit delay time: idle, starved, blocked")
    adot_s: float = Field(description="actual unit down time")
    asut_s: float = Field(description="actual unit setup time")
    aupt_s: float = Field(description="actual unit processing time: APT + ASUT")
    aubt_s: float = Field(description="actual unit busy time: AUPT + ADET")
    off_s: float
    no_data_s: float
    failures: int
    pq: float = Field(description="produced quantity")
    gq: float = Field(description="good quantity")
    sq: float = Field(description="scrap quantity")
    pru_s: float | None = Field(description="planned runtime per unit")
    state_s: dict[str, float]
    energy_kwh: float = Field(description="over the whole window, from energy_source")
    energy_source: str = Field(description="meter, power (signal) or power_table (the type's kW per state)")
    energy_compare: dict[str, float] = Field(description="kWh by every source the machine has, when several")
    energy_by_state_kwh: dict[str, float]
    co2e_kg: float = Field(description="location-based: energy × the grid factor")
    co2e_market_kg: float = Field(description="market-based: the plant's instruments, the residual factor for the rest")
    kwh_per_good_unit: float | None
    co2e_kg_per_good_unit: float | None
    co2e_market_kg_per_good_unit: float | None
    good_units_out: float | None = Field(None, description="a line: good units of its last producing machine")
    kpis: KpiValues


class GridFactorOut(BaseModel):
    """The grid emission factor the report used (the plant file's ``energy: {grid, year}``)."""

    grid: str
    year: int
    kg_per_kwh: float
    source: str


class ShiftOut(BaseModel):
    shift: str
    date: str
    label: str
    start: datetime
    end: datetime
    breaks: list[list[datetime]]
    complete: bool = Field(description="false for the shift under way (counted to now)")


class KpiReport(BaseModel):
    twin: str
    start: datetime
    end: datetime
    grid_factor: GridFactorOut
    scope2: dict[str, Any] = Field(description="market-based factor, residual factor and instruments")
    shift: ShiftOut | None = None
    total: ProductionOut
    machines: dict[str, ProductionOut]


class ShiftTotal(BaseModel):
    shift: ShiftOut
    total: ProductionOut


class ShiftList(BaseModel):
    twin: str
    calendar: dict[str, Any] = Field(description="the plant's shift calendar")
    shifts: list[ShiftTotal]


@router.get("/kpis", response_model=KpiReport, summary="OEE and production KPIs",
            dependencies=[Depends(require(Permission.DATA_READ))])  # fmt: skip
async def kpis(
    request: Request,
    twin: Annotated[str | None, Query(description="A machine, or a line/area: its machines and their total.")]
    = None,
    start: Annotated[str, Query(description="ISO 8601 time, 'now' or relative like -8h.")] = "-8h",
    end: Annotated[str, Query(description="ISO 8601 time, 'now' or relative.")] = "now",
    shift: Annotated[str | None, Query(description=_SHIFT_HELP)] = None,
    day: Annotated[str | None, Query(description="A local calendar day (YYYY-MM-DD) instead of start/end.")] = None,
) -> Any:
    """ISO 22400-2 KPIs, energy and CO2e per machine and in total, over a window, a shift or a day."""
    platform = get_platform(request)
    svc = platform.kpis
    who = twin or platform.plant.id
    if shift is not None:
        report = await run_in_threadpool(svc.shift_report, who, shift)
    elif day is not None:
        try:
            d = date.fromisoformat(day)
        except ValueError:
            raise InputError(f"day: expected YYYY-MM-DD, got {day!r}") from None
        report = await run_in_threadpool(svc.day_report, who, d)
    else:
        now = datetime.now(UTC)
        t0, t1 = parse_time(start, "start", now), parse_time(end, "end", now)
        if t0 is None or t1 is None:
            raise InputError("give both start and end (ISO 8601, 'now' or relative like -8h)")
        report = await run_in_threadpool(svc.report, who, t0, t1)
    return KpiReport.model_validate(report)


@router.get("/kpis/shifts", response_model=ShiftList, summary="KPIs of every shift in a range",
            dependencies=[Depends(require(Permission.DATA_READ))])  # fmt: skip
async def kpi_shifts(
    request: Request,
    twin: Annotated[str | None, Query(description="A machine, or a line/area (its total).")] = None,
    start: Annotated[str, Query(description="ISO 8601 time, 'now' or relative like -24h.")] = "-24h",
    end: Annotated[str, Query(description="ISO 8601 time, 'now' or relative.")] = "now",
) -> Any:
    """The total KPIs, energy and CO2e of each shift overlapping the range (the one under way to now)."""
    platform = get_platform(request)
    now = datetime.now(UTC)
    t0, t1 = parse_time(start, "start", now), parse_time(end, "end", now)
    if t0 is None or t1 is None or t1 <= t0:
        raise InputError("give start before end (ISO 8601, 'now' or relative like -24h)")
    who = twin or platform.plant.id
    rows = await run_in_threadpool(platform.kpis.shifts, who, t0, t1)
    cal = platform.plant.shifts
    shifts = [ShiftTotal.model_validate(r) for r in rows]
    return ShiftList(twin=who, calendar=cal.to_dict() if cal else {}, shifts=shifts)
