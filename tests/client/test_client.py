"""The Python client against a real ``twinverse serve`` process (token auth, a DuckDB file)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from twinverse.client import AsyncClient, Client
from twinverse.errors import AuthenticationError, InputError, NotFoundError, QueryError, TooManyRequests
from twinverse.platform import example_path

from ..server import Server

F = "bottling/line1/filler"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    work = tmp_path_factory.mktemp("client")
    saved = {k: os.environ.get(k) for k in ("TWINVERSE_SIM_MAX_QUEUED", "TWINVERSE_SIM_MAX_CONCURRENT")}
    os.environ["TWINVERSE_SIM_MAX_CONCURRENT"] = "1"
    s = Server(["serve", "--plant", str(example_path()), "--data-dir", str(work / "data"), "--auth", "token",
                "--store", str(work / "data" / "h.duckdb")], work)  # fmt: skip
    try:
        s.start()
        yield s, (work / "data" / "admin.token").read_text().strip()
    finally:
        s.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def points(n: int, start: datetime) -> pd.DataFrame:
    return pd.DataFrame({
        "twin": [F] * n,
        "signal": ["temperature"] * n,
        "ts": [start + timedelta(seconds=i) for i in range(n)],
        "value": [50.0 + i for i in range(n)],
    })  # fmt: skip


def test_sync_client_end_to_end(server: tuple[Server, str]) -> None:
    s, token = server
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    with Client(s.url, token) as tv:
        assert tv.plant()["twins"] == 19
        assert [t["id"] for t in tv.twins(type="filler")] == [F]
        assert tv.graph("bottling/line1/depal", "downstream")[:2] == ["bottling/line1/c1", "bottling/line1/rinser"]
        assert tv.twin(F)["type"] == "filler"
        # Ingest a DataFrame (Arrow IPC on the wire), then read it back three ways.
        assert tv.ingest(points(40, start))["stored"] == 40
        hist = tv.history(F, ["temperature"], start=start.isoformat())
        df = hist.to_pandas()
        assert len(hist) == 40 and df["value"].tolist() == [50.0 + i for i in range(40)]
        live = {v["signal"]: v["value"] for v in tv.live(F)}
        assert live["temperature"] == 89.0
        result = tv.query(f"SELECT count(*) AS n, max(value) AS peak, sum(value) AS total FROM history "
                          f"WHERE twin = '{F}' AND signal = 'temperature'")  # fmt: skip
        assert isinstance(result.to_arrow(), pa.Table)
        assert result.rows() == [{"n": 40, "peak": 89.0, "total": sum(50.0 + i for i in range(40))}]
        # An Arrow table works as well as a DataFrame.
        later = pa.Table.from_pandas(points(5, start + timedelta(minutes=5)), preserve_index=False)
        assert tv.ingest(later)["stored"] == 5


def test_errors_are_the_servers_classes(server: tuple[Server, str]) -> None:
    s, token = server
    with Client(s.url, token) as tv:
        with pytest.raises(QueryError) as err:
            tv.query("SELECT id FROM twins\nWHERE read_csv('x') IS NULL")
        assert (err.value.reason, err.value.line, err.value.column) == ("function", 2, 7)
        with pytest.raises(NotFoundError):
            tv.twin("bottling/nope")
        with pytest.raises(InputError, match="rejected"):
            tv.ingest(pd.DataFrame({"twin": [F], "signal": ["temperature"], "ts": [datetime.now(UTC)],
                                    "value": [1e6]}))  # fmt: skip
    with Client(s.url, "tvk_000000000000_" + "x" * 43) as bad, pytest.raises(AuthenticationError):
        bad.plant()


def test_simulation_runs(server: tuple[Server, str]) -> None:
    s, token = server
    with Client(s.url, token) as tv:
        job = tv.start_run(until=600, reps=1, from_live=False)
        done = tv.wait_run(job["id"], poll=0.1)
        assert done["status"] == "done" and done["result"] is not None
        assert job["id"] in [r["id"] for r in tv.runs()]


def test_retries_then_raises_too_many_requests(tmp_path: Path) -> None:
    """A server whose simulation queue takes nothing answers 429: retried, then TooManyRequests."""
    saved = os.environ.get("TWINVERSE_SIM_MAX_QUEUED"), os.environ.get("TWINVERSE_SIM_MAX_CONCURRENT")
    os.environ["TWINVERSE_SIM_MAX_QUEUED"] = "0"
    os.environ["TWINVERSE_SIM_MAX_CONCURRENT"] = "1"
    s = Server(["serve", "--plant", str(example_path()), "--data-dir", str(tmp_path / "d"), "--auth", "open",
                "--store", ":memory:"], tmp_path)  # fmt: skip
    try:
        s.start()
        with Client(s.url, retries=1, backoff=0.01) as tv:
            tv.start_run(until=10_000_000, reps=100, from_live=False)  # takes the one slot
            with pytest.raises(TooManyRequests) as err:
                tv.start_run(until=600, reps=1, from_live=False)
            assert err.value.retry_after >= 1
    finally:
        s.stop()
        for k, v in zip(("TWINVERSE_SIM_MAX_QUEUED", "TWINVERSE_SIM_MAX_CONCURRENT"), saved, strict=True):
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_async_client_and_live_deltas(server: tuple[Server, str]) -> None:
    s, token = server

    async def main() -> tuple[list[dict[str, object]], float]:
        async with AsyncClient(s.url, token) as tv:
            frames: list[dict[str, object]] = []
            stream = tv.subscribe(F)
            async for frame in stream:
                frames.append(frame)
                if frame["type"] == "snapshot":
                    await tv.ingest(points(1, datetime.now(UTC)).assign(value=[77.0]))
                if frame["type"] == "delta":
                    break
            await stream.aclose()  # type: ignore[attr-defined]
            n = (await tv.query("SELECT count(*) AS n FROM twins")).rows()[0]["n"]
            return frames, float(n)

    frames, n = asyncio.run(asyncio.wait_for(main(), 60))
    assert frames[0]["type"] == "snapshot" and frames[-1]["type"] == "delta"
    assert n == 19
    assert "77" in str(frames[-1])


def test_cli_query_asks_a_server(server: tuple[Server, str], capsys: pytest.CaptureFixture[str]) -> None:
    from twinverse.cli import main

    s, token = server
    try:
        main(["query", "SELECT count(*) AS n FROM twins", "--url", s.url, "--token", token, "--format", "csv"])
    except SystemExit as exc:
        assert not exc.code
    assert capsys.readouterr().out.splitlines() == ['"n"', "19"]


def test_alarms_ack_and_kpis(server: tuple[Server, str]) -> None:
    """Alarms and KPIs through the client: the filler's temperature_hi (limit 12 °C) raised, acknowledged."""
    s, token = server
    now = datetime.now(UTC).replace(microsecond=0)
    alarm = f"{F}:temperature_hi"
    with Client(s.url, token) as tv:
        tv.ingest(pd.DataFrame({"twin": [F], "signal": ["temperature"], "ts": [now], "value": [60.0]}))
        deadline = time.monotonic() + 30
        while not [a for a in tv.alarms(F) if a["id"] == alarm and a["active"]]:
            assert time.monotonic() < deadline, tv.alarms(F)
            time.sleep(0.05)
        event = tv.ack(alarm, comment="seen, product held")
        assert (event["alarm"], event["event"]) == (alarm, "ack"), event
        assert [a["acknowledged"] for a in tv.alarms(F) if a["id"] == alarm] == [True]
        report = tv.kpis("bottling/line1", start="-1h")
        assert report["twin"] == "bottling/line1" and F in report["machines"]
