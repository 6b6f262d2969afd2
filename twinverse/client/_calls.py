"""What each client method sends and how it reads the answer, shared by the sync and async clients.

A :class:`Call` is one HTTP request plus the function that decodes its answer; the two
clients differ only in how they send it (and both retry 429 and 503 with back-off).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa

from ._results import Result, arrow_from_ipc, arrow_to_ipc, table_from_data

__all__ = ["ARROW_STREAM", "FINISHED", "RETRY_STATUSES", "Call", "Calls", "body_of", "retry_delay"]

ARROW_STREAM = "application/vnd.apache.arrow.stream"

#: Answers worth retrying after a pause: a full queue (429), an unavailable store (503).
RETRY_STATUSES = frozenset({429, 503})

#: Simulation run states that do not change any more.
FINISHED = frozenset({"done", "failed", "cancelled"})


def body_of(response: Any) -> Any:
    """An error answer's JSON body, or its first 500 characters as the detail."""
    try:
        return response.json()
    except ValueError:
        return {"detail": response.text[:500]}


@dataclass(frozen=True)
class Call:
    """One request: method, path, query parameters, body; ``decode`` turns the answer into the result."""

    method: str
    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    decode: Callable[[bytes, Mapping[str, str]], Any] = lambda body, _h: orjson.loads(body) if body else None


def retry_delay(attempt: int, backoff: float, retry_after: str | None) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): the server's Retry-After, else doubling back-off.

    >>> retry_delay(0, 0.5, None), retry_delay(2, 0.5, None), retry_delay(0, 0.5, "3")
    (0.5, 2.0, 3.0)
    """
    if retry_after is not None:
        try:
            return min(60.0, max(0.0, float(retry_after)))
        except ValueError:
            pass
    return float(backoff * (2**attempt))


def _json(body: Any) -> tuple[bytes, dict[str, str]]:
    return orjson.dumps(body), {"content-type": "application/json"}


def _time(t: str | datetime | None) -> str | None:
    return t.isoformat() if isinstance(t, datetime) else t


def _history_table(doc: dict[str, Any]) -> pa.Table:
    twin, signal, ts, value = [], [], [], []
    for s in doc["series"]:
        n = len(s["ts"])
        twin += [doc["twin"]] * n
        signal += [s["signal"]] * n
        ts += s["ts"]
        value += s["value"]
    return pa.table({
        "twin": pa.array(twin, pa.string()),
        "signal": pa.array(signal, pa.string()),
        "ts": pa.array(ts, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
        "value": pa.array(value, pa.float64()),
    })  # fmt: skip


class Calls:
    """The requests of the client API (see :class:`~twinverse.client.Client` for each method)."""

    @staticmethod
    def plant() -> Call:
        return Call("GET", "/api/plant")

    @staticmethod
    def plants() -> Call:
        return Call("GET", "/api/plants", decode=lambda b, _h: orjson.loads(b)["items"])

    @staticmethod
    def add_plant(text: str, tenant: str | None, file: str) -> Call:
        body, headers = _json({"text": text, "file": file, **({"tenant": tenant} if tenant else {})})
        return Call("POST", "/api/plants", content=body, headers=headers)

    @staticmethod
    def save_version(text: str, message: str) -> Call:
        body, headers = _json({"text": text, "message": message})
        return Call("POST", "/api/plant/versions", content=body, headers=headers)

    @staticmethod
    def remove_plant(plant_id: str) -> Call:
        return Call("DELETE", f"/api/plants/{plant_id}")

    @staticmethod
    def twins(type: str | None, within: str | None, q: str | None, machines: bool, limit: int) -> Call:
        params = {k: v for k, v in {"type": type, "within": within, "q": q}.items() if v is not None}
        return Call("GET", "/api/twins", {**params, "machines": machines, "limit": limit},
                    decode=lambda b, _h: orjson.loads(b)["items"])  # fmt: skip

    @staticmethod
    def twin(twin: str) -> Call:
        return Call("GET", f"/api/twins/{twin}")

    @staticmethod
    def graph(twin: str, query: str, relation: str) -> Call:
        return Call("GET", f"/api/twins/{twin}/graph/{query}", {"relation": relation})

    @staticmethod
    def live(twin: str) -> Call:
        return Call("GET", f"/api/twins/{twin}/live")

    @staticmethod
    def history(
        twin: str,
        signals: Sequence[str] | None,
        start: str | datetime | None,
        end: str | datetime | None,
        interval: str | None,
        agg: str,
        limit: int,
    ) -> Call:
        params: dict[str, Any] = {"start": _time(start), "agg": agg, "limit": limit}
        if signals:
            params["signal"] = list(signals)
        if end is not None:
            params["end"] = _time(end)
        if interval is not None:
            params["interval"] = interval
        return Call("GET", f"/api/twins/{twin}/history", params,
                    decode=lambda b, _h: Result(_history_table(orjson.loads(b))))  # fmt: skip

    @staticmethod
    def alarms(twin: str | None, state: Sequence[str] | None, limit: int) -> Call:
        params: dict[str, Any] = {"limit": limit, **({"twin": twin} if twin else {})}
        if state:
            params["state"] = list(state)
        return Call("GET", "/api/alarms", params, decode=lambda b, _h: orjson.loads(b)["items"])

    @staticmethod
    def ack(alarm_id: str, comment: str) -> Call:
        body, headers = _json({"comment": comment} if comment else {})
        return Call("POST", f"/api/alarms/{alarm_id}/ack", content=body, headers=headers)

    @staticmethod
    def kpis(twin: str | None, start: str, end: str, shift: str | None) -> Call:
        params = {"start": start, "end": end, **({"twin": twin} if twin else {}), **({"shift": shift} if shift else {})}
        return Call("GET", "/api/kpis", params)

    @staticmethod
    def live_all(within: str | None) -> Call:
        params = {"format": "arrow", **({"within": within} if within else {})}
        return Call("GET", "/api/live", params, decode=lambda b, _h: Result(arrow_from_ipc(b)))

    @staticmethod
    def query(sql: str) -> Call:
        body, headers = _json({"sql": sql, "format": "arrow"})
        return Call("POST", "/api/query", content=body, headers=headers,
                    decode=lambda b, _h: Result(arrow_from_ipc(b)))  # fmt: skip

    @staticmethod
    def ingest(data: Any, partial: bool) -> Call:
        body = arrow_to_ipc(table_from_data(data))
        return Call("POST", "/api/ingest", {"partial": partial}, content=body, headers={"content-type": ARROW_STREAM})

    @staticmethod
    def sim_start(request: Mapping[str, Any]) -> Call:
        body, headers = _json(dict(request))
        return Call("POST", "/api/sim/runs", content=body, headers=headers)

    @staticmethod
    def sim_run(run_id: str) -> Call:
        return Call("GET", f"/api/sim/runs/{run_id}")

    @staticmethod
    def sim_runs() -> Call:
        return Call("GET", "/api/sim/runs", decode=lambda b, _h: orjson.loads(b)["runs"])

    @staticmethod
    def sim_cancel(run_id: str) -> Call:
        return Call("DELETE", f"/api/sim/runs/{run_id}")
