"""Commands: write a value of a twin's signal to its device, through the source that feeds it.

``GET /api/twins/{id}/commands`` lists the twin's writable signals and the source that would
write each (``plant:read``). ``POST /api/twins/{id}/commands`` with ``{"signal": "setpoint", "value": 42.5}`` needs
``command:send`` (operators and up). It returns once the device accepted the value; the live
value then shows the device's read-back, not the request. Every attempt on a known signal
is recorded in the tamper-evident log (``twin.command``, target ``twin:<id>``) with the actor,
the signal, the value, the source and, when it failed, why.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from ...errors import TwinverseError
from ...ingest.command import feeder, send_command, source_key
from ..body import JsonBody
from ..params import get_platform
from ..schemas import problem_responses
from ..security import Permission, audit, require

__all__ = ["router"]

router = APIRouter(prefix="/api/twins", tags=["commands"])

_RESPONSES = problem_responses(404, 409, 422, 502)
_RESPONSES[409]["description"] = "The signal is not writable, or no source feeds it."
_RESPONSES[502]["description"] = ("The device refused the write (the detail names the OPC UA StatusCode or the "
                                  "Modbus exception) or did not answer in time, or its source is not connected.")


class CommandIn(BaseModel):
    """A value for one signal of the twin."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"signal": "setpoint", "value": 42.5}]})

    signal: str = Field(min_length=1, max_length=200)
    value: float | bool | str = Field(description="A number, true/false, or a state name.")
    timeout: float = Field(5.0, gt=0, le=60, description="Seconds to wait for the device to accept it.")


class WritableOut(BaseModel):
    """A signal of the twin that commands may set."""

    signal: str
    kind: str
    unit: str | None
    range: tuple[float, float] | None
    states: list[str] | None
    source: str | None = Field(description="The source that writes it ('kind:name'); null when none feeds it "
                                            "(a command answers 409).")  # fmt: skip


class WritableList(BaseModel):
    twin: str
    writable: list[WritableOut]


class CommandOut(BaseModel):
    """A command the device accepted."""

    twin: str
    signal: str
    value: float = Field(description="The value sent (the signal's unit); the live value follows the read-back.")
    source: str = Field(description="The source that wrote it, 'kind:name'.")
    log_index: int = Field(description="Its entry in the tamper-evident log.")


@router.get("/{twin_id:path}/commands", response_model=WritableList, summary="Writable signals of a twin",
            dependencies=[Depends(require(Permission.PLANT_READ))], responses=problem_responses(404))  # fmt: skip
def writable(request: Request, twin_id: str) -> WritableList:
    """The signals a command may set: declared writable in the type or in the mapping of the source feeding them."""
    platform = get_platform(request)
    plant = platform.plant
    plant.twin(twin_id)
    out = []
    for sid in plant.signals.of_twin(twin_id):
        sig = plant.signals.signal[sid]
        src = feeder(platform.sources, sid)
        if sig.writable or (src is not None and sid in getattr(src, "writable_sids", ())):
            out.append(WritableOut(signal=sig.name, kind=sig.kind.value, unit=sig.unit, range=sig.range,
                                   states=list(sig.states) if sig.states else None,
                                   source=source_key(src) if src is not None else None))  # fmt: skip
    return WritableList(twin=twin_id, writable=out)


@router.post("/{twin_id:path}/commands", response_model=CommandOut, summary="Send a command to a twin's device",
             dependencies=[Depends(require(Permission.COMMAND_SEND))], responses=_RESPONSES)  # fmt: skip
async def send(request: Request, twin_id: str,
               body: Annotated[CommandIn, Depends(JsonBody(CommandIn))]) -> CommandOut:  # fmt: skip
    """Write ``value`` to the signal's device; 409 when the signal is not writable, 502 when the device refuses."""
    platform = get_platform(request)
    plant = platform.plant
    plant.twin(twin_id)
    sid = plant.signals.sid(twin_id, body.signal)  # 404s before anything is logged
    src = feeder(platform.sources, sid)
    details = {"signal": body.signal, "value": body.value, "source": source_key(src) if src is not None else None}
    try:
        result = await run_in_threadpool(send_command, platform.sources, plant, twin_id, body.signal, body.value,
                                         timeout=body.timeout)  # fmt: skip
    except TwinverseError as exc:
        await audit(request, "twin.command", f"twin:{twin_id}", {**details, "refused": f"{exc.status}: {exc.message}"})
        raise
    index = await audit(request, "twin.command", f"twin:{twin_id}", {**details, "value": result.value})
    return CommandOut(twin=twin_id, signal=body.signal, value=result.value, source=result.source, log_index=index)
