"""Response bodies of the API, with examples for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "HealthOut",
    "HistoryOut",
    "IngestOut",
    "LiveValue",
    "PlantOut",
    "ProblemDetail",
    "ProblemOut",
    "QuarantineOut",
    "Series",
    "StateInfo",
    "StateVocabulary",
    "TwinList",
    "TwinOut",
    "TwinSummary",
    "problem_responses",
]

FILLER = "bottling/line1/filler"


def _ex(example: Any) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


class LiveValue(BaseModel):
    model_config = _ex(
        {"twin": FILLER, "signal": "state", "value": "running", "ts": "2026-11-25T08:00:00Z", "quality": 0,
         "unit": None}
    )
    twin: str
    signal: str
    value: Any = Field(description="State name, bool, int or float; null before the first observation.")
    ts: str | None = Field(description="Time of the observation (ISO 8601, UTC).")
    quality: int = Field(description="0 good, 1 uncertain, 2 bad.")
    unit: str | None


class StateInfo(BaseModel):
    name: str
    code: int = Field(description="Stored value of the state in a type that keeps the default list.")
    color: str = Field(description="sRGB hex colour views show the state in.")
    alarm: bool = Field(description="The machine needs someone (the viewer pulses it).")
    label: str


class StateVocabulary(BaseModel):
    model_config = _ex(
        {"states": [{"name": "running", "code": 0, "color": "#2f9e44", "alarm": False, "label": "running"}],
         "aliases": {"busy": "running", "offline": "off"}}
    )
    states: list[StateInfo]
    aliases: dict[str, str] = Field(description="Other names accepted for the states.")


class TwinSummary(BaseModel):
    model_config = _ex({"id": FILLER, "type": "filler", "name": "Filler", "parent": "bottling/line1"})
    id: str
    type: str
    name: str
    parent: str | None


class TwinList(BaseModel):
    total: int
    items: list[TwinSummary]


class TwinOut(BaseModel):
    model_config = _ex(
        {
            "id": FILLER,
            "type": "filler",
            "name": "Filler",
            "parent": "bottling/line1",
            "properties": {"rated_speed": 600},
            "placement": None,
            "signals": {"temperature": {"kind": "float", "unit": "degC", "range": [-10, 90]}},
            "power": {"running": 22.0},
            "children": [],
            "relationships": [{"source": FILLER, "name": "feeds", "target": "bottling/line1/c3"}],
            "live": [],
        }
    )
    id: str
    type: str
    name: str
    parent: str | None
    properties: dict[str, Any]
    placement: dict[str, float] | None
    signals: dict[str, dict[str, Any]]
    power: dict[str, float]
    children: list[str]
    relationships: list[dict[str, str]]
    live: list[LiveValue]


class PlantOut(BaseModel):
    model_config = _ex(
        {"id": "bottling", "name": "Bottling plant", "description": "", "twins": 19, "types": 16, "signals": 71,
         "relationships": 33, "roots": ["bottling"], "types_detail": {}}
    )
    id: str
    name: str
    description: str
    twins: int
    types: int
    signals: int
    relationships: int
    roots: list[str]
    types_detail: dict[str, dict[str, Any]]


class IngestOut(BaseModel):
    model_config = _ex({"received": 3, "accepted": 3, "rejected": 0, "stored": 3, "errors": []})
    received: int
    accepted: int
    rejected: int
    stored: int = Field(description="New rows written; redelivered (sid, ts) pairs are not stored twice.")
    errors: list[dict[str, Any]] = Field(default_factory=list, description="First rejected rows with reasons.")


class Series(BaseModel):
    signal: str
    unit: str | None
    kind: str
    states: list[str] | None = None
    ts: list[int] = Field(description="Milliseconds since the Unix epoch (bucket start when downsampled).")
    value: list[float | None]
    n: list[int] | None = Field(None, description="Points per bucket (downsampled only).")


class HistoryOut(BaseModel):
    model_config = _ex(
        {"twin": FILLER, "start": "2026-11-25T07:00:00Z", "end": "2026-11-25T08:00:00Z", "interval_s": 60,
         "aggregate": "avg", "series": [{"signal": "temperature", "unit": "degC", "kind": "float",
                                         "ts": [1795590000000], "value": [4.2], "n": [60]}]}
    )
    twin: str
    start: str | None
    end: str | None
    interval_s: float | None
    aggregate: str
    series: list[Series]


class QuarantineOut(BaseModel):
    model_config = _ex(
        {"total": 1, "items": [{"received": "2026-11-25T08:00:01Z", "ts": "2026-11-25T08:00:00Z", "twin": "nope",
                                "signal": "x", "value": "1.0", "reason": "unknown twin 'nope'", "source": "http"}]}
    )
    total: int
    items: list[dict[str, Any]]


class HealthOut(BaseModel):
    model_config = _ex(
        {"status": "ok", "version": "0.1.0", "plant": "bottling", "store": "DuckDBStore", "history_rows": 1200,
         "ingest": {"received": 1300, "accepted": 1200, "rejected": 100, "sequence": 40}, "connectors": [],
         "subscribers": 1}
    )
    status: str
    version: str
    plant: str
    store: str
    history_rows: int
    ingest: dict[str, int]
    connectors: list[str]
    subscribers: int


class ProblemDetail(BaseModel):
    """One located problem of an error response."""

    message: str
    file: str | None = None
    line: int | None = None
    path: str | None = Field(None, description="Field path, or twin/signal for rejected points.")


class ProblemOut(BaseModel):
    """An RFC 9457 ``application/problem+json`` error body."""

    model_config = _ex(
        {"type": "about:blank", "title": "Invalid input", "status": 422,
         "detail": "1 of 1 points rejected, nothing stored: value is not a number (NaN)",
         "errors": [{"message": "value is not a number (NaN) (value nan)", "file": None, "line": None,
                     "path": f"{FILLER}/temperature"}]}
    )
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[ProblemDetail] | None = None


_PROBLEM_TEXT = {
    404: "No such twin, signal or object.",
    413: "Body above the configured size limit (max_body_bytes).",
    422: "Invalid request: the errors name each field, twin/signal and reason.",
    503: "The store is unavailable.",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses, all ``application/problem+json``."""
    return {
        code: {
            "model": ProblemOut,
            "description": _PROBLEM_TEXT[code],
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemOut"}}},
        }
        for code in codes
    }
