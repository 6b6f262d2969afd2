"""Alarms: the current list (by state, priority, twin subtree, time), their events, operator actions.

The platform's :class:`~twinverse.ops.AlarmService` evaluates the plant file's rules on
every stored batch; these routes only parse, call it and format. Every action (ack,
shelve, unshelve, comment, out of service, back in service) needs its permission and is
recorded in the tamper-evident log (``alarm.<action>``, target ``alarm:<id>``) as well as
in the alarm's own events. An alarm id is ``<twin id>:<rule name>``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from ...core.clock import to_us
from ...core.timetext import parse_time
from ...errors import InputError
from ...model.rules import AlarmPriority
from ...ops import AlarmService, AlarmState, Event, area_kpis
from ..body import JsonBody
from ..params import get_platform
from ..schemas import problem_responses
from ..security import Permission, audit, current_principal, require

__all__ = ["router"]

router = APIRouter(prefix="/api/alarms", tags=["alarms"], responses=problem_responses(404, 422))


class AlarmOut(BaseModel):
    """One alarm: its rule, state and what it last saw."""

    id: str = Field(description="'<twin>:<rule>'")
    twin: str
    rule: str
    kind: str
    signal: str = Field(description="The signal the rule watches ('' for an expression rule).")
    expr: str | None = Field(None, description="An expression rule's condition.")
    priority: AlarmPriority
    state: AlarmState
    active: bool = Field(description="The condition is true now (whatever the state).")
    acknowledged: bool
    value: float | None = Field(description="The value of the last transition.")
    limit: float | None
    message: str
    changed: datetime | None = Field(description="Time of the last transition.")
    raised: datetime | None = Field(description="Time the condition last became true.")
    shelved_until: datetime | None


class AlarmList(BaseModel):
    total: int
    counts: dict[str, int] = Field(description="Alarms per state over the whole plant.")
    items: list[AlarmOut]


class AlarmEventOut(BaseModel):
    """One stored transition of an alarm."""

    seq: int
    ts: datetime
    alarm: str
    twin: str
    rule: str
    event: Event
    state: AlarmState
    previous: AlarmState
    priority: AlarmPriority
    value: float | None
    user: str | None
    comment: str | None
    until: datetime | None = Field(None, description="A shelve's end.")


class AlarmEventList(BaseModel):
    events: list[AlarmEventOut]


class ActionIn(BaseModel):
    """An operator action's note (optional; required for a comment)."""

    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(None, max_length=2000)


class ShelveIn(ActionIn):
    """Shelve for ``seconds`` (at most the maximum shelve time), or until the condition clears with ``one_shot``."""

    seconds: float = Field(gt=0, le=365 * 86_400, description="How long (the service's maximum applies).")
    one_shot: bool = Field(False, description="Also end the shelve when the condition next clears.")


def _service(request: Request) -> AlarmService:
    svc: AlarmService = get_platform(request).alarms
    return svc


def _out(d: dict[str, Any]) -> AlarmOut:
    return AlarmOut.model_validate(d)


def _window(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    now = datetime.now(UTC)
    t0, t1 = parse_time(since, "since", now), parse_time(until, "until", now)
    if t0 is not None and t1 is not None and t0 >= t1:
        raise InputError(f"since ({t0.isoformat()}) must be before until ({t1.isoformat()})")
    return (None if t0 is None else to_us(t0)), (None if t1 is None else to_us(t1))


@router.get("", response_model=AlarmList, summary="List alarms",
            dependencies=[Depends(require(Permission.ALARM_READ))])  # fmt: skip
def list_alarms(
    request: Request,
    state: Annotated[list[AlarmState] | None, Query(description="States to list (repeat); default: all but normal.")]
    = None,
    priority: Annotated[list[AlarmPriority] | None, Query(description="Priorities to list (repeat).")] = None,
    twin: Annotated[str | None, Query(description="Only alarms of this twin's subtree.")] = None,
    since: Annotated[str | None, Query(description="Last change at or after: ISO 8601, 'now' or -1h.")] = None,
    until: Annotated[str | None, Query(description="Last change before: ISO 8601, 'now' or relative.")] = None,
    id: Annotated[list[str] | None, Query(description="Only these alarms ('<twin>:<rule>', repeat), in any state "
                                                      "unless 'state' is given.")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> AlarmList:
    """Alarms most urgent first, then newest change first."""
    svc = _service(request)
    t0, t1 = _window(since, until)
    if id is not None:
        for alarm_id in id:
            svc.get(alarm_id)  # 404 for an unknown id
        if state is None:
            state = list(AlarmState)
    alarms = svc.list(states=state, priorities=priority, within=twin, start_us=t0, end_us=t1)
    if id is not None:
        wanted = set(id)
        alarms = [a for a in alarms if a.id in wanted]
    return AlarmList(total=len(alarms), counts=svc.counts(), items=[_out(a.to_dict()) for a in alarms[:limit]])


@router.get("/events", response_model=AlarmEventList, summary="Alarm events",
            dependencies=[Depends(require(Permission.ALARM_READ))])  # fmt: skip
def alarm_events(
    request: Request,
    alarm: Annotated[str | None, Query(description="Only this alarm's events.")] = None,
    twin: Annotated[str | None, Query(description="Only events of this twin's subtree.")] = None,
    since: Annotated[str | None, Query(description="ISO 8601, 'now' or relative like -1h.")] = None,
    until: Annotated[str | None, Query(description="ISO 8601, 'now' or relative.")] = None,
    after: Annotated[int, Query(ge=0, le=2**62, description="Only events after this sequence number.")] = 0,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> AlarmEventList:
    """Stored transitions in sequence order: raises, clears, suppressions and operator actions."""
    svc = _service(request)
    if alarm is not None:
        svc.get(alarm)
    twins = svc.plant.subtree(twin) if twin is not None else None
    t0, t1 = _window(since, until)
    events = svc.journal.query(alarm=alarm, twins=twins, start_us=t0, end_us=t1, after_seq=after, limit=limit)
    return AlarmEventList(events=[AlarmEventOut.model_validate(e.to_dict()) for e in events])


class Period(BaseModel):
    start: datetime
    count: int


class Flood(BaseModel):
    start: datetime
    end: datetime
    minutes: float
    peak_10min: int = Field(description="The most alarms in 10 minutes during the flood.")


class Chattering(BaseModel):
    alarm: str
    raises: int = Field(description="Raises in the window (shelved or not).")
    max_per_minute: int = Field(description="The most raises within 60 s.")


class Stale(BaseModel):
    alarm: str
    since: datetime
    hours: float
    state: str


class Contributor(BaseModel):
    alarm: str
    count: int
    share: float = Field(description="Percent of all alarms in the window.")


class AreaRate(BaseModel):
    area: str
    alarms: int
    per_hour: float


class AlarmKpis(BaseModel):
    """Alarm-system KPIs per ISA-18.2 / EEMUA 191 over a window (docs/alarms.md has the definitions)."""

    area: str
    start: datetime
    end: datetime
    hours: float
    alarms: int = Field(description="Annunciated raises.")
    per_hour: float
    per_10min: float
    peak_10min: int = Field(description="The largest count of an epoch-aligned 10-minute period.")
    peak_10min_sliding: int = Field(description="The most alarms in any 10 minutes.")
    periods_over_10: int = Field(description="10-minute periods with more than 10 alarms.")
    periods: list[Period]
    flood_minutes: float = Field(description="Time in flood: above 10 alarms per 10 min, until below 5.")
    flood_percent: float
    floods: list[Flood]
    chattering: list[Chattering] = Field(description="Alarms raised 3 or more times within 60 s.")
    stale: list[Stale] = Field(description="Alarms active for more than 24 h at the window's end.")
    top10: list[Contributor]
    top10_share: float = Field(description="Percent of all alarms from the ten most frequent.")
    areas: list[AreaRate] = Field(description="Alarms of each child of the area.")


@router.get("/kpis", response_model=AlarmKpis, summary="Alarm KPIs (ISA-18.2, EEMUA 191)",
            dependencies=[Depends(require(Permission.ALARM_READ))])  # fmt: skip
def alarm_kpis(
    request: Request,
    start: Annotated[str, Query(alias="from", description="ISO 8601, 'now' or relative like -24h.")] = "-24h",
    end: Annotated[str, Query(alias="to", description="ISO 8601, 'now' or relative.")] = "now",
    area: Annotated[str | None, Query(description="A twin whose subtree is the area (default: the plant).")] = None,
) -> AlarmKpis:
    """Alarm rates, floods, chattering and stale alarms and the top contributors, from the stored events."""
    svc = _service(request)
    now = datetime.now(UTC)
    t0, t1 = parse_time(start, "from", now) or now, parse_time(end, "to", now) or now
    if t0 >= t1:
        raise InputError(f"from ({t0.isoformat()}) must be before to ({t1.isoformat()})")
    return AlarmKpis.model_validate(area_kpis(svc.journal, svc.plant, to_us(t0), to_us(t1), area))


async def _act(request: Request, alarm_id: str, event: Event, body: ActionIn, **kw: Any) -> AlarmEventOut:
    svc = _service(request)
    user = current_principal(request).id
    ev = await run_in_threadpool(svc.act, alarm_id, event, user=user, comment=body.comment, **kw)
    await audit(request, f"alarm.{event.value}", f"alarm:{alarm_id}",
                {"state": ev.state, "previous": ev.previous, **({"comment": body.comment} if body.comment else {})})
    return AlarmEventOut.model_validate(ev.to_dict())


_Action = Annotated[ActionIn, Depends(JsonBody(ActionIn))]
_CONFLICT = problem_responses(409)


@router.post("/{alarm_id:path}/ack", response_model=AlarmEventOut, summary="Acknowledge an alarm",
             dependencies=[Depends(require(Permission.ALARM_ACK))], responses=_CONFLICT)  # fmt: skip
async def ack(request: Request, alarm_id: str, body: _Action) -> AlarmEventOut:
    """Acknowledge an unacknowledged (or returned-to-normal unacknowledged) alarm; 409 if it needs none."""
    return await _act(request, alarm_id, Event.ACK, body)


@router.post("/{alarm_id:path}/comment", response_model=AlarmEventOut, summary="Comment on an alarm",
             dependencies=[Depends(require(Permission.ALARM_ACK))])  # fmt: skip
async def comment(request: Request, alarm_id: str, body: _Action) -> AlarmEventOut:
    """Add a note to the alarm's events (``comment`` is required); the state does not change."""
    return await _act(request, alarm_id, Event.COMMENT, body)


@router.post("/{alarm_id:path}/shelve", response_model=AlarmEventOut, summary="Shelve an alarm",
             dependencies=[Depends(require(Permission.ALARM_SHELVE))], responses=_CONFLICT)  # fmt: skip
async def shelve(request: Request, alarm_id: str,
                 body: Annotated[ShelveIn, Depends(JsonBody(ShelveIn))]) -> AlarmEventOut:  # fmt: skip
    """Take the alarm out of the operator's list for ``seconds`` (422 above the maximum shelve time)."""
    return await _act(request, alarm_id, Event.SHELVE, body, seconds=body.seconds, one_shot=body.one_shot)


@router.post("/{alarm_id:path}/unshelve", response_model=AlarmEventOut, summary="Unshelve an alarm",
             dependencies=[Depends(require(Permission.ALARM_SHELVE))], responses=_CONFLICT)  # fmt: skip
async def unshelve(request: Request, alarm_id: str, body: _Action) -> AlarmEventOut:
    """End a shelve now; an alarm whose condition is active is annunciated again."""
    return await _act(request, alarm_id, Event.UNSHELVE, body)


@router.post("/{alarm_id:path}/out-of-service", response_model=AlarmEventOut, summary="Take an alarm out of service",
             dependencies=[Depends(require(Permission.ALARM_SERVICE))], responses=_CONFLICT)  # fmt: skip
async def out_of_service(request: Request, alarm_id: str, body: _Action) -> AlarmEventOut:
    """Remove the alarm from service (maintenance); it stays so until put back in service."""
    return await _act(request, alarm_id, Event.OUT_OF_SERVICE, body)


@router.post("/{alarm_id:path}/in-service", response_model=AlarmEventOut, summary="Return an alarm to service",
             dependencies=[Depends(require(Permission.ALARM_SERVICE))], responses=_CONFLICT)  # fmt: skip
async def in_service(request: Request, alarm_id: str, body: _Action) -> AlarmEventOut:
    """Return an out-of-service alarm to service; an active condition is annunciated."""
    return await _act(request, alarm_id, Event.IN_SERVICE, body)
