"""Data: ingest, history, quarantine and export."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from ...core.clock import NEVER, ms
from ...core.timetext import parse_duration, parse_time
from ...errors import InputError, NotFoundError
from ...ingest.http import ARROW_STREAM, decode_body
from ...live.engine import PreparedBatch
from ...model.types import SignalKind
from ...store import Aggregate, ExportFormat, HistoryQuery, export_history
from ...trust.service import IngestAudit
from ..body import RawBody
from ..fastpath import INLINE_BODY_BYTES
from ..params import get_platform
from ..schemas import HistoryOut, IngestOut, QuarantineOut, Series, problem_responses
from ..security import Permission, current_principal, require

router = APIRouter(prefix="/api", tags=["data"])

#: Rejected rows listed in an ingest response.
MAX_ERRORS = 50

#: Buckets aimed at when ``interval=auto``.
AUTO_BUCKETS = 600

_INGEST_EXAMPLES = {
    "points": {
        "summary": "A list of points",
        "value": [
            {"twin": "bottling/line1/filler", "signal": "temperature", "ts": "2026-11-25T08:00:00Z", "value": 4.2},
            {"twin": "bottling/line1/filler", "signal": "state", "ts": "2026-11-25T08:00:00Z", "value": "running"},
            {"twin": "bottling/line1/filler", "signal": "pressure", "ts": 1795593600000, "value": 14.5,
             "unit": "psi"},
        ],
    },
    "columns": {
        "summary": "Columns (one twin and signal for all rows)",
        "value": {"twin": "bottling/line1/filler", "signal": "speed", "ts": [1795593600000, 1795593601000],
                  "value": [598.0, 601.5]},
    },
}


@router.post(
    "/ingest",
    response_model=IngestOut,
    summary="Ingest observations",
    responses=problem_responses(413, 422),
    dependencies=[Depends(require(Permission.DATA_WRITE))],
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": (
                "JSON points or columns, or an Arrow IPC stream with columns (twin, signal, ts, value"
                "[, quality, unit]) or (ts, sid, value[, quality]). Timestamps: ISO 8601 or epoch "
                "milliseconds; missing means now. A point may name the `unit` it was measured in."
            ),
            "content": {
                "application/json": {"schema": {"type": ["array", "object"]}, "examples": _INGEST_EXAMPLES},
                ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}},
            },
        },
    },
)
async def ingest(
    request: Request,
    body: RawBody,
    partial: Annotated[
        bool, Query(description="Store the valid points even if some are rejected (default: all or nothing).")
    ] = False,
) -> IngestOut:
    """Ingest a batch of observations. Answers after the data is durable.

    Rejected points are quarantined with their reason. By default a request with any
    rejected point stores nothing and answers 422 listing the first errors.
    """
    platform = get_platform(request)
    ctype = request.headers.get("content-type", "")
    tag = IngestAudit(current_principal(request), hashlib.sha256(body).hexdigest(), f"plant:{platform.plant.id}")

    def prepare() -> PreparedBatch:
        decoded = decode_body(
            platform.plant, body, ctype,
            max_points=platform.settings.max_points, max_arrow_bytes=platform.settings.max_arrow_bytes,
        )
        return platform.engine.prepare(decoded.batch, source="http", atomic=not partial, rejects=decoded.rejects)

    # Devices send many small bodies: decoding one here costs less than a hop to a worker
    # thread. Then the engine's writer stores it with whatever else arrived meanwhile.
    prepared = prepare() if len(body) <= INLINE_BODY_BYTES else await run_in_threadpool(prepare)
    result = await asyncio.wrap_future(platform.engine.submit(prepared, tag=tag))
    # Row numbers of engine errors count within the decoded batch, not the request: leave them out.
    errors = [{k: v for k, v in e.items() if k != "row"} for e in result.errors]
    received, rejected = result.received, result.rejected
    if rejected and not partial:
        raise InputError(
            f"{rejected} of {received} points rejected, nothing stored: {errors[0]['reason']}",
            details=[_problem_detail(e) for e in errors[:MAX_ERRORS]],
        )
    return IngestOut(
        received=received,
        accepted=result.accepted,
        rejected=rejected,
        stored=result.stored,
        errors=errors[:MAX_ERRORS],
    )


def _problem_detail(e: dict[str, Any]) -> Any:
    from ...errors import Location, Problem

    path = "/".join(str(x) for x in (e.get("twin"), e.get("signal")) if x)
    return Problem(f"{e['reason']} (value {e.get('value')})", Location(path=path or None))


@router.get(
    "/twins/{twin_id:path}/history",
    response_model=HistoryOut,
    summary="Signal history",
    responses=problem_responses(404, 422),
    dependencies=[Depends(require(Permission.DATA_READ))],
)
def history(
    request: Request,
    twin_id: str,
    signal: Annotated[list[str] | None, Query(description="Signals to return (repeat); all by default.")] = None,
    start: Annotated[str | None, Query(description="ISO 8601 time, 'now' or relative like -1h.")] = "-1h",
    end: Annotated[str | None, Query(description="ISO 8601 time, 'now' or relative; default now.")] = None,
    interval: Annotated[
        str | None, Query(description="Downsample into buckets: 10s, 1m, 1h, PT5M, or 'auto'; raw if absent.")
    ] = None,
    agg: Annotated[Aggregate, Query(description="Aggregate per bucket.")] = Aggregate.AVG,
    limit: Annotated[int, Query(ge=1, le=5_000_000)] = 100_000,
) -> HistoryOut:
    """History of a twin's signals, raw or downsampled on the server."""
    platform = get_platform(request)
    plant = platform.plant
    plant.twin(twin_id)
    now = datetime.now(UTC)
    t0, t1 = parse_time(start, "start", now), parse_time(end, "end", now)
    if t0 is not None and t1 is not None and t0 >= t1:
        raise InputError(f"start ({t0.isoformat()}) must be before end ({t1.isoformat()})")
    names = signal or [str(plant.signals.name[s]) for s in plant.signals.of_twin(twin_id)]
    sids = []
    for name in names:
        sid = plant.signals.get(twin_id, name)
        if sid is None:
            raise NotFoundError(f"twin {twin_id!r} has no signal {name!r}")
        sids.append(sid)
    iv = None
    if interval == "auto":
        span = ((t1 or now) - (t0 or now)).total_seconds()
        iv = parse_duration(str(max(0.001, round(span / AUTO_BUCKETS, 3))), "interval") if span > 0 else None
    elif interval:
        iv = parse_duration(interval, "interval")
    table = platform.store.history(HistoryQuery(tuple(sids), t0, t1, iv, agg, limit))
    tbl_sid = np.asarray(table.column("sid").to_numpy(zero_copy_only=False))
    ts_ms = (np.asarray(table.column("ts").cast("int64").to_numpy(zero_copy_only=False)) // 1000).astype(np.int64)
    values = np.asarray(table.column("value").to_numpy(zero_copy_only=False), dtype=np.float64)
    counts = np.asarray(table.column("n").to_numpy(zero_copy_only=False)) if "n" in table.column_names else None
    series = []
    for name, sid in zip(names, sids, strict=True):
        m = tbl_sid == sid
        sig = plant.signal(twin_id, name)
        v = values[m]
        series.append(
            Series(
                signal=name,
                unit=sig.unit,
                kind=sig.kind.value,
                states=list(sig.states) if sig.kind is SignalKind.STATE and sig.states else None,
                ts=ts_ms[m].tolist(),
                value=[None if np.isnan(x) else float(x) for x in v] if np.isnan(v).any() else v.tolist(),
                n=counts[m].tolist() if counts is not None else None,
            )
        )
    return HistoryOut(
        twin=twin_id,
        start=t0.isoformat() if t0 else None,
        end=t1.isoformat() if t1 else None,
        interval_s=iv.total_seconds() if iv else None,
        aggregate=agg.value,
        series=series,
    )


@router.get(
    "/live",
    summary="Live values of every signal, as columns",
    dependencies=[Depends(require(Permission.DATA_READ))],
    responses={
        200: {
            "description": "Columns of equal length (JSON), or an Arrow IPC stream (`format=arrow`).",
            "content": {ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(404, 422),
    },
)
def live_columns(
    request: Request,
    within: Annotated[str | None, Query(description="Only the signals of this twin and its subtree.")] = None,
    format: Annotated[Literal["json", "arrow"], Query(description="'json' columns or an Arrow IPC stream.")] = "json",
) -> Response:
    """The newest value of every signal (of a subtree), read from the live state in a few array passes.

    Columns ``twin``, ``signal``, ``value`` (null before the first), ``state`` (the name of a
    state signal's value), ``ts`` (epoch milliseconds in JSON, a timestamp in Arrow) and
    ``quality``: for a dashboard or a script that wants the whole plant at once (one call,
    not one per twin).
    """
    platform = get_platform(request)
    table = platform.query.live_table()
    if within is not None:
        platform.plant.twin(within)  # 404 for an unknown twin
        twin = table.column("twin")
        table = table.filter(pc.or_(pc.equal(twin, within), pc.starts_with(twin, within + "/")))
    if format == "arrow":
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as w:
            w.write_table(table)
        return Response(sink.getvalue().to_pybytes(), media_type=ARROW_STREAM)
    cols = {name: table.column(name).to_pylist() for name in ("twin", "signal", "value", "state", "quality")}
    ts = table.column("ts").cast(pa.int64()).fill_null(NEVER).to_numpy()
    return Response(orjson.dumps({**cols, "ts": ms(ts)}), media_type="application/json")


@router.get(
    "/quarantine",
    response_model=QuarantineOut,
    summary="Quarantined observations",
    dependencies=[Depends(require(Permission.QUARANTINE_READ))],
    responses=problem_responses(422),
)
def quarantine(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**53)] = 0,
) -> QuarantineOut:
    """Rejected observations with their reasons, newest first."""
    store = get_platform(request).store
    rows = store.quarantine(limit, offset).to_pylist()
    for r in rows:
        for k in ("received", "ts"):
            if r[k] is not None:
                r[k] = r[k].isoformat().replace("+00:00", "Z")
    return QuarantineOut(total=store.quarantine_count(), items=rows)


@router.get(
    "/export",
    dependencies=[Depends(require(Permission.DATA_EXPORT))],
    response_class=FileResponse,
    summary="Export history",
    responses={
        200: {
            "description": "The history file.",
            "content": {
                "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
        **problem_responses(404, 422),
    },
)
def export(
    request: Request,
    format: Annotated[ExportFormat, Query(description="parquet or csv")] = ExportFormat.PARQUET,
    twin: Annotated[str | None, Query(description="Only this twin's subtree.")] = None,
    start: Annotated[str | None, Query(description="ISO 8601, 'now' or relative like -1h.")] = None,
    end: Annotated[str | None, Query()] = None,
) -> FileResponse:
    """Download history (ts, twin, signal, value, quality) as Parquet or CSV."""
    platform = get_platform(request)
    now = datetime.now(UTC)
    t0, t1 = parse_time(start, "start", now), parse_time(end, "end", now)
    tmp = Path(tempfile.mkdtemp(prefix="twinverse-export-"))
    out = tmp / f"{platform.plant.id}-history.{format.value}"
    try:
        result = export_history(platform.store, platform.plant, out, format, twin=twin, start=t0, end=t1)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    def cleanup() -> None:
        shutil.rmtree(tmp, ignore_errors=True)

    return FileResponse(out, media_type=result.media_type, filename=out.name, background=BackgroundTask(cleanup))
