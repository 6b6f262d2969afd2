"""The synchronous client: ``Client(url, token)``."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx2 as httpx

from ..errors import ConnectorError, TwinverseError
from ._calls import FINISHED, RETRY_STATUSES, Call, Calls, body_of, retry_delay
from ._errors import error_from_response
from ._results import Result

__all__ = ["Client"]


class Client:
    """A twinverse server over HTTP: plant, live values, history, SQL, ingest, simulation runs.

    Errors are the server's own exception classes (:mod:`twinverse.errors`); 429 and 503
    are retried ``retries`` times with doubling back-off (or the server's Retry-After)::

        with Client("http://127.0.0.1:8000", token) as tv:
            hot = tv.query("SELECT twin, max(value) FROM history WHERE signal = 'temperature' GROUP BY 1")
            df = hot.to_pandas()
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout, transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def _send(self, call: Call) -> Any:
        for attempt in range(self.retries + 1):
            try:
                r = self._http.request(
                    call.method, call.path, params=dict(call.params), content=call.content, headers=dict(call.headers)
                )
            except httpx.TransportError as exc:
                raise ConnectorError(f"cannot reach twinverse at {self.url}: {exc}") from exc
            if r.status_code in RETRY_STATUSES and attempt < self.retries:
                time.sleep(retry_delay(attempt, self.backoff, r.headers.get("retry-after")))
                continue
            if r.status_code >= 400:
                raise error_from_response(r.status_code, body_of(r), r.headers)
            return call.decode(r.content, r.headers)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the model -------------------------------------------------------------------------
    def plant(self) -> dict[str, Any]:
        """The plant summary: id, name, counts, roots and types."""
        out: dict[str, Any] = self._send(Calls.plant())
        return out

    def plants(self) -> list[dict[str, Any]]:
        """The plants of the deployment the token's tenant owns (id, name, tenant, path, counts)."""
        out: list[dict[str, Any]] = self._send(Calls.plants())
        return out

    def add_plant(self, text: str, *, tenant: str | None = None, file: str = "plant.yaml") -> dict[str, Any]:
        """Add a plant from its YAML text (a tenant admin's token); served at once under its ``path``."""
        out: dict[str, Any] = self._send(Calls.add_plant(text, tenant, file))
        return out

    def save_version(self, text: str, *, message: str = "") -> dict[str, Any]:
        """Save ``text`` as the plant's next model version and serve it (an engineer's token); the version."""
        out: dict[str, Any] = self._send(Calls.save_version(text, message))
        return out

    def remove_plant(self, plant_id: str) -> None:
        """Stop serving a plant added over the API (its data is kept aside on the server)."""
        self._send(Calls.remove_plant(plant_id))

    def twins(
        self, *, type: str | None = None, within: str | None = None, q: str | None = None,
        machines: bool = False, limit: int = 1000,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Twins (id, type, name, parent), filtered by type, subtree, text or machines only."""
        out: list[dict[str, Any]] = self._send(Calls.twins(type, within, q, machines, limit))
        return out

    def twin(self, twin: str) -> dict[str, Any]:
        """One twin: properties, signals, relationships and live values."""
        out: dict[str, Any] = self._send(Calls.twin(twin))
        return out

    def graph(self, twin: str, query: str, relation: str = "feeds") -> list[str]:
        """children, subtree, ancestors, upstream or downstream (along ``relation``) of a twin."""
        out: list[str] = self._send(Calls.graph(twin, query, relation))
        return out

    # -- data ------------------------------------------------------------------------------
    def live(self, twin: str) -> list[dict[str, Any]]:
        """Live values of a twin's signals (states by name)."""
        out: list[dict[str, Any]] = self._send(Calls.live(twin))
        return out

    def history(
        self, twin: str, signals: Sequence[str] | None = None, *, start: str | datetime | None = "-1h",
        end: str | datetime | None = None, interval: str | None = None, agg: str = "avg", limit: int = 100_000,
    ) -> Result:  # fmt: skip
        """History as a table (twin, signal, ts, value): ``.to_arrow()``, ``.to_pandas()``."""
        out: Result = self._send(Calls.history(twin, signals, start, end, interval, agg, limit))
        return out

    def alarms(
        self, twin: str | None = None, *, state: Sequence[str] | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Alarms (of a twin's subtree, in some states; default all but normal), ISA-18.2 states."""
        out: list[dict[str, Any]] = self._send(Calls.alarms(twin, state, limit))
        return out

    def ack(self, alarm_id: str, *, comment: str = "") -> dict[str, Any]:
        """Acknowledge an alarm (``'<twin>:<rule>'``, an operator's token); the event it made."""
        out: dict[str, Any] = self._send(Calls.ack(alarm_id, comment))
        return out

    def kpis(
        self, twin: str | None = None, *, start: str = "-8h", end: str = "now", shift: str | None = None
    ) -> dict[str, Any]:
        """OEE and production KPIs (ISO 22400) of a machine or line over a range or a shift."""
        out: dict[str, Any] = self._send(Calls.kpis(twin, start, end, shift))
        return out

    def live_all(self, within: str | None = None) -> Result:
        """The newest value of every signal (of the subtree ``within``): twin, signal, value, state, ts, quality."""
        out: Result = self._send(Calls.live_all(within))
        return out

    def query(self, sql: str) -> Result:
        """Run read-only SQL (docs/query.md) and get the whole result as Arrow on the wire."""
        out: Result = self._send(Calls.query(sql))
        return out

    def ingest(self, data: Any, *, partial: bool = False) -> dict[str, Any]:
        """Ingest an Arrow table or DataFrame (twin, signal, ts, value[, quality, unit]) as Arrow IPC."""
        out: dict[str, Any] = self._send(Calls.ingest(data, partial))
        return out

    # -- simulation ------------------------------------------------------------------------
    def start_run(self, **request: Any) -> dict[str, Any]:
        """Start a simulation run (``until``, ``parts``, ``reps``, ``seed``, ``from_live``…); returns its summary."""
        out: dict[str, Any] = self._send(Calls.sim_start(request))
        return out

    def run(self, run_id: str) -> dict[str, Any]:
        """One simulation run with its result once done."""
        out: dict[str, Any] = self._send(Calls.sim_run(run_id))
        return out

    def runs(self) -> list[dict[str, Any]]:
        """Every simulation run the server keeps."""
        out: list[dict[str, Any]] = self._send(Calls.sim_runs())
        return out

    def cancel_run(self, run_id: str) -> dict[str, Any]:
        """Cancel a queued or running simulation run."""
        out: dict[str, Any] = self._send(Calls.sim_cancel(run_id))
        return out

    def wait_run(self, run_id: str, *, poll: float = 0.2, timeout: float = 600.0) -> dict[str, Any]:
        """Poll a run until it is done, failed or cancelled; returns it (with its result)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.run(run_id)
            if job["status"] in FINISHED:
                return job
            if time.monotonic() > deadline:
                raise TwinverseError(f"simulation run {run_id} did not finish within {timeout:g} s")
            time.sleep(poll)

