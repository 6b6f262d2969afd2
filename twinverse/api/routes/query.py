"""SQL over the twin: ``POST /api/query`` and the next pages of a result.

The route parses, asks the platform's :class:`~twinverse.query.QueryService` (which checks,
scopes by the caller's role, runs and limits) and formats: JSON pages with a cursor for the
next one, or the whole result as an Arrow IPC stream written batch by batch.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import orjson
import pyarrow as pa
from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ...ingest.http import ARROW_STREAM
from ...query import Page
from ..body import JsonBody
from ..params import get_platform
from ..schemas import problem_responses
from ..security import Permission, current_principal, require

__all__ = ["QueryIn", "QueryOut", "router"]

router = APIRouter(prefix="/api", tags=["query"])

FILLER_SQL = (
    "SELECT t.id, max(h.value) AS peak FROM downstream('bottling/line1/depal') d "
    "JOIN twins t ON t.id = d.id AND t.type = 'filler' "
    "JOIN history h ON h.twin = t.id AND h.signal = 'temperature' "
    "WHERE h.ts >= now() - INTERVAL 7 DAY GROUP BY t.id"
)


class QueryIn(BaseModel):
    """A read-only SQL query (DuckDB dialect) over the virtual tables of docs/query.md."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"sql": FILLER_SQL}]})

    sql: str = Field(
        description="One SELECT over twins, relationships, signals, states, live, history, quarantine, alarms, "
        "alarm_events, annotations and kpis(start, end[, twin])."
    )
    format: Literal["json", "arrow"] = Field(
        "json", description="json: pages of rows with a cursor; arrow: the whole result as an Arrow IPC stream."
    )
    page_rows: int = Field(10_000, ge=1, le=1_000_000, description="Rows per JSON page.")


_PAGE_EXAMPLE: dict[str, Any] = {
    "columns": [{"name": "id", "type": "string"}, {"name": "peak", "type": "double"}],
    "rows": [["bottling/line1/filler", 81.5]],
    "offset": 0,
    "total": 1,
    "next": None,
}


class Column(BaseModel):
    name: str
    type: str = Field(description="Arrow type of the column, e.g. string, double, timestamp[us, tz=UTC].")


class QueryOut(BaseModel):
    """One page of a result: columns, rows (lists in column order), and the cursor of the next page."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PAGE_EXAMPLE]})
    columns: list[Column]
    rows: list[list[Any]]
    offset: int = Field(description="Row number of the first row of this page in the whole result.")
    total: int = Field(description="Rows in the whole result.")
    next: str | None = Field(description="Cursor of the next page (GET /api/query/{cursor}); null on the last.")


def _page_body(page: Page) -> bytes:
    t = page.table
    columns = [c.to_pylist() for c in t.columns]
    body = {
        "columns": [{"name": f.name, "type": str(f.type)} for f in t.schema],
        "rows": [list(r) for r in zip(*columns, strict=True)] if columns else [],
        "offset": page.offset,
        "total": page.total,
        "next": page.cursor,
    }
    # orjson writes datetimes as RFC 3339 and NaN as null; anything else odd (decimals) as text.
    return orjson.dumps(body, default=str)


def _arrow_stream(table: pa.Table) -> Iterator[bytes]:
    """One Arrow IPC stream, handed out batch by batch (the bytes each batch adds)."""
    buf = io.BytesIO()
    writer = pa.ipc.new_stream(pa.PythonFile(buf, mode="w"), table.schema)
    for batch in table.to_batches(max_chunksize=65_536):
        writer.write_batch(batch)
        yield _drain(buf)
    writer.close()
    yield _drain(buf)


def _drain(buf: io.BytesIO) -> bytes:
    out = buf.getvalue()
    buf.seek(0)
    buf.truncate(0)
    return out


def _owner(request: Request) -> str:
    p = current_principal(request)
    return f"{p.tenant}/{p.id}/{p.token_id}"


@router.post(
    "/query",
    response_model=QueryOut,
    summary="Run a read-only SQL query",
    dependencies=[Depends(require(Permission.PLANT_READ))],
    responses={
        200: {
            "description": "A page of rows (JSON) or the whole result (Arrow IPC stream).",
            "content": {ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(422),
    },
)
async def query(request: Request, body: Annotated[QueryIn, Depends(JsonBody(QueryIn))]) -> Response:
    """Ask the twin in SQL: the model, the live state and history in one statement.

    Checked before it runs (one SELECT, the virtual tables, allow-listed functions); the
    caller's role decides which tables it may read (``live``, ``history``: data:read;
    ``quarantine``: quarantine:read); time and rows are limited by the settings
    ``query_timeout`` and ``query_max_rows``. A refused query answers 422 with ``reason``
    and ``position`` (line, column). See docs/query.md.
    """
    service = get_platform(request).query
    principal = current_principal(request)
    if body.format == "arrow":
        table = await run_in_threadpool(service.run, body.sql, principal.can)
        return StreamingResponse(
            _arrow_stream(table), media_type=ARROW_STREAM, headers={"X-Query-Rows": str(table.num_rows)}
        )
    page = await run_in_threadpool(service.open, body.sql, _owner(request), body.page_rows, principal.can)
    return Response(_page_body(page), media_type="application/json")


@router.get(
    "/query/{cursor}",
    response_model=QueryOut,
    summary="Next page of a query result",
    dependencies=[Depends(require(Permission.PLANT_READ))],
    responses=problem_responses(404, 422),
)
def query_page(
    request: Request,
    cursor: Annotated[str, Path(description="The ``next`` cursor of the previous page.", max_length=200)],
    page_rows: int = 10_000,
) -> Response:
    """The page a cursor points at; only the caller who ran the query can read it."""
    page = get_platform(request).query.page(cursor, _owner(request), max(1, min(page_rows, 1_000_000)))
    return Response(_page_body(page), media_type="application/json")
