"""The asyncio client: ``AsyncClient(url, token)``, with live deltas as an async iterator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx2 as httpx
import orjson

from ..errors import ConnectorError, TwinverseError
from ._calls import FINISHED, RETRY_STATUSES, Call, Calls, body_of, retry_delay
from ._errors import error_from_response
from ._results import Result

__all__ = ["AsyncClient"]


class AsyncClient:
    """The :class:`~twinverse.client.Client` API for asyncio, plus :meth:`subscribe`::

        async with AsyncClient("http://127.0.0.1:8000", token) as tv:
            async for frame in tv.subscribe("bottling/line1"):
                print(frame["type"], frame.get("values"))
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.retries = retries
        self.backoff = backoff
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(base_url=self.url, headers=headers, timeout=timeout, transport=transport)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def _send(self, call: Call) -> Any:
        for attempt in range(self.retries + 1):
            try:
                r = await self._http.request(
                    call.method, call.path, params=dict(call.params), content=call.content, headers=dict(call.headers)
                )
            except httpx.TransportError as exc:
                raise ConnectorError(f"cannot reach twinverse at {self.url}: {exc}") from exc
            if r.status_code in RETRY_STATUSES and attempt < self.retries:
                await asyncio.sleep(retry_delay(attempt, self.backoff, r.headers.get("retry-after")))
                continue
            if r.status_code >= 400:
                raise error_from_response(r.status_code, body_of(r), r.headers)
            return call.decode(r.content, r.headers)
        raise AssertionError("unreachable")  # pragma: no cover

    async def plant(self) -> dict[str, Any]:
        """The plant summary."""
        out: dict[str, Any] = await self._send(Calls.plant())
        return out

    async def plants(self) -> list[dict[str, Any]]:
        """The plants of the deployment the token's tenant owns (id, name, tenant, path, counts)."""
        out: list[dict[str, Any]] = await self._send(Calls.plants())
        return out

    async def add_plant(self, text: str, *, tenant: str | None = None, file: str = "plant.yaml") -> dict[str, Any]:
        """Add a plant from its YAML text (a tenant admin's token); served at once under its ``path``."""
        out: dict[str, Any] = await self._send(Calls.add_plant(text, tenant, file))
        return out

    async def save_version(self, text: str, *, message: str = "") -> dict[str, Any]:
        """Save ``text`` as the plant's next model version and serve it (an engineer's token); the version."""
        out: dict[str, Any] = await self._send(Calls.save_version(text, message))
        return out

    async def remove_plant(self, plant_id: str) -> None:
        """Stop serving a plant added over the API (its data is kept aside on the server)."""
        await self._send(Calls.remove_plant(plant_id))

    async def twins(
        self, *, type: str | None = None, within: str | None = None, q: str | None = None,
        machines: bool = False, limit: int = 1000,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Twins, filtered as :meth:`Client.twins <twinverse.client.Client.twins>`."""
        out: list[dict[str, Any]] = await self._send(Calls.twins(type, within, q, machines, limit))
        return out

    async def twin(self, twin: str) -> dict[str, Any]:
        """One twin."""
        out: dict[str, Any] = await self._send(Calls.twin(twin))
        return out

    async def graph(self, twin: str, query: str, relation: str = "feeds") -> list[str]:
        """A graph query of a twin."""
        out: list[str] = await self._send(Calls.graph(twin, query, relation))
        return out

    async def live(self, twin: str) -> list[dict[str, Any]]:
        """Live values of a twin's signals."""
        out: list[dict[str, Any]] = await self._send(Calls.live(twin))
        return out

    async def history(
        self, twin: str, signals: Sequence[str] | None = None, *, start: str | datetime | None = "-1h",
        end: str | datetime | None = None, interval: str | None = None, agg: str = "avg", limit: int = 100_000,
    ) -> Result:  # fmt: skip
        """History as a table (twin, signal, ts, value)."""
        out: Result = await self._send(Calls.history(twin, signals, start, end, interval, agg, limit))
        return out

    async def alarms(
        self, twin: str | None = None, *, state: Sequence[str] | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Alarms (of a twin's subtree, in some states; default all but normal), ISA-18.2 states."""
        out: list[dict[str, Any]] = await self._send(Calls.alarms(twin, state, limit))
        return out

    async def ack(self, alarm_id: str, *, comment: str = "") -> dict[str, Any]:
        """Acknowledge an alarm (``'<twin>:<rule>'``, an operator's token); the event it made."""
        out: dict[str, Any] = await self._send(Calls.ack(alarm_id, comment))
        return out

    async def kpis(
        self, twin: str | None = None, *, start: str = "-8h", end: str = "now", shift: str | None = None
    ) -> dict[str, Any]:
        """OEE and production KPIs (ISO 22400) of a machine or line over a range or a shift."""
        out: dict[str, Any] = await self._send(Calls.kpis(twin, start, end, shift))
        return out

    async def live_all(self, within: str | None = None) -> Result:
        """The newest value of every signal (of the subtree ``within``): twin, signal, value, state, ts, quality."""
        out: Result = await self._send(Calls.live_all(within))
        return out

    async def query(self, sql: str) -> Result:
        """Run read-only SQL; the result comes as Arrow."""
        out: Result = await self._send(Calls.query(sql))
        return out

    async def ingest(self, data: Any, *, partial: bool = False) -> dict[str, Any]:
        """Ingest an Arrow table or DataFrame as Arrow IPC."""
        out: dict[str, Any] = await self._send(Calls.ingest(data, partial))
        return out

    async def start_run(self, **request: Any) -> dict[str, Any]:
        """Start a simulation run."""
        out: dict[str, Any] = await self._send(Calls.sim_start(request))
        return out

    async def run(self, run_id: str) -> dict[str, Any]:
        """One simulation run."""
        out: dict[str, Any] = await self._send(Calls.sim_run(run_id))
        return out

    async def runs(self) -> list[dict[str, Any]]:
        """Every simulation run the server keeps."""
        out: list[dict[str, Any]] = await self._send(Calls.sim_runs())
        return out

    async def cancel_run(self, run_id: str) -> dict[str, Any]:
        """Cancel a simulation run."""
        out: dict[str, Any] = await self._send(Calls.sim_cancel(run_id))
        return out

    async def wait_run(self, run_id: str, *, poll: float = 0.2, timeout: float = 600.0) -> dict[str, Any]:
        """Poll a run until it finishes; returns it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            job = await self.run(run_id)
            if job["status"] in FINISHED:
                return job
            if loop.time() > deadline:
                raise TwinverseError(f"simulation run {run_id} did not finish within {timeout:g} s")
            await asyncio.sleep(poll)

    async def subscribe(self, *twins: str, rate: float | None = None) -> AsyncIterator[dict[str, Any]]:
        """Live frames of twin subtrees over ``/ws``: a ``snapshot`` per twin, then ``delta`` frames.

        Needs the ``websockets`` package (installed with uvicorn[standard]). An ``error``
        frame from the server raises :class:`~twinverse.errors.TwinverseError`.
        """
        import websockets

        base = self.url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        query = f"?access_token={quote(self.token)}" if self.token else ""
        try:
            async with websockets.connect(f"{base}/ws{query}", max_size=1 << 24) as ws:
                for twin in twins:
                    await ws.send(orjson.dumps({"op": "subscribe", "twin": twin}).decode())
                if rate is not None:
                    await ws.send(orjson.dumps({"op": "rate", "max": rate}).decode())
                async for message in ws:
                    frame = orjson.loads(message)
                    if frame.get("type") == "error":
                        raise TwinverseError(str(frame.get("detail")))
                    yield frame
        except websockets.ConnectionClosedError as exc:
            raise ConnectorError(f"the live connection to {self.url} closed: {exc}") from exc
        except OSError as exc:
            raise ConnectorError(f"cannot reach twinverse at {self.url}: {exc}") from exc
