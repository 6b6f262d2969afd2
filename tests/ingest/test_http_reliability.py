"""Crash test: SIGKILL `twinverse serve` while HTTP ingest flows; every acknowledged point is stored, once.

``POST /api/ingest`` answers 2xx only once its points are durable, so the points of every
2xx answer are what the store must still hold after a crash. Client threads post distinct
batches (each point its own signal and timestamp); once a quarter of them are acknowledged
the server is killed with SIGKILL, mid-request for some clients, and restarted on the same
store and data directory. Through the API: every acknowledged point is there, none twice.
The clients then resend every batch without a 2xx (as a client retries; some of those were
stored before the kill) and, with the server stopped, the store itself is read: every point
exactly once, with its value. On both stores: a DuckDB file and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2 as httpx
import pytest

from tests.ingest.stored import stored_points
from tests.server import Server
from twinverse.model import Plant

pytestmark = pytest.mark.slow

SIGNALS = [("bottling/line1/filler", "speed"), ("bottling/line1/capper", "speed"),
           ("bottling/line1/labeller", "speed"), ("bottling/line1/packer", "speed")]
BATCHES, POINTS, CLIENTS = 400, 250, 4  # 100,000 points with distinct (signal, ts)
Batch = list[dict[str, Any]]


def make_batches(base_ms: int) -> list[Batch]:
    """``BATCHES`` requests; a point's value is a function of its timestamp, so it identifies it."""
    out = []
    for b in range(BATCHES):
        twin, signal = SIGNALS[b % len(SIGNALS)]
        k0 = (b // len(SIGNALS)) * POINTS
        out.append([{"twin": twin, "signal": signal, "ts": base_ms + k0 + i, "value": ((k0 + i) % 2400) / 2}
                    for i in range(POINTS)])
    return out


class Stream:
    """``CLIENTS`` threads posting the given batches; each thread stops at its first failure."""

    def __init__(self, url: str, batches: list[Batch], indices: Iterable[int]) -> None:
        self.url, self.batches = url, batches
        self._todo = iter(list(indices))
        self._lock = threading.Lock()
        self.acked: list[int] = []  # batches answered 2xx
        self.refused: list[tuple[int, int, str]] = []  # batches answered otherwise: (batch, status, body)
        self.broken: list[int] = []  # batches whose request failed (the server died under it, or was dead)
        self._threads = [threading.Thread(target=self._post, daemon=True) for _ in range(CLIENTS)]
        for t in self._threads:
            t.start()

    def _post(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while True:
                with self._lock:
                    i = next(self._todo, None)
                if i is None:
                    return
                try:
                    r = client.post("/api/ingest", json=self.batches[i])
                except httpx.HTTPError:
                    self.broken.append(i)
                    return
                if not r.is_success:
                    self.refused.append((i, r.status_code, r.text[:500]))
                    return
                self.acked.append(i)

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def join(self) -> None:
        for t in self._threads:
            t.join(120)
        assert not self.running, "a client thread hangs"


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A DuckDB file in the test's folder, or a fresh PostgreSQL database."""
    if request.param == "duckdb":
        return str(tmp_path / "crash.duckdb")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def server(store_url: str, bottling_path: Path, tmp_path: Path) -> Iterator[Server]:
    """`twinverse serve` on ``store_url`` with its data directory in the test's folder (not started)."""
    s = Server(["serve", "--plant", str(bottling_path), "--store", store_url, "--data-dir", str(tmp_path)], tmp_path)
    yield s
    s.kill()


def stored_through_api(server: Server, start_ms: int, end_ms: int) -> list[tuple[str, int, float]]:
    """Raw history of every test signal as (twin, ts ms, value), duplicates kept."""
    iso = [datetime.fromtimestamp(t / 1000, UTC).isoformat() for t in (start_ms, end_ms)]
    out = []
    for twin, signal in SIGNALS:
        query = urlencode({"signal": signal, "start": iso[0], "end": iso[1], "limit": 5_000_000})
        h = server.get(f"/api/twins/{twin}/history?{query}")
        (series,) = h["series"]
        out += [(twin, int(t), float(v)) for t, v in zip(series["ts"], series["value"], strict=True)]
    return out


def test_sigkill_mid_stream_keeps_every_acknowledged_point_once(
    server: Server, store_url: str, plant: Plant, tmp_path: Path
) -> None:
    base_ms = int(time.time() * 1000) - 86_400_000
    batches = make_batches(base_ms)
    span = (BATCHES // len(SIGNALS)) * POINTS
    server.start()
    first = Stream(server.url, batches, range(BATCHES))
    deadline = time.monotonic() + 120
    while len(first.acked) < BATCHES // 4:
        if not first.running or time.monotonic() > deadline:
            pytest.fail(f"the clients stopped before the kill: {first.refused or first.broken}\n{server.log_text()}")
        time.sleep(0.001)
    server.kill()
    first.join()
    assert not first.refused, first.refused  # every answer before the kill was a 2xx
    acked = sorted(first.acked)
    assert 0 < len(acked) < BATCHES, "the kill did not land mid-stream"

    server.start()  # the same store and data directory: whatever recovery it needs happens here
    seen = stored_through_api(server, base_ms, base_ms + span)
    assert len(seen) == len({(twin, ts) for twin, ts, _ in seen}), "a point is stored twice"
    expected = {(p["twin"], p["ts"], p["value"]) for i in acked for p in batches[i]}
    assert expected <= set(seen), f"{len(expected - set(seen))} acknowledged points are missing after the crash"

    # The client retries what got no 2xx; the (signal, ts) key absorbs those stored before the kill.
    retry = Stream(server.url, batches, sorted(set(range(BATCHES)) - set(acked)))
    retry.join()
    assert not retry.refused and not retry.broken, (retry.refused, retry.broken)
    server.stop()

    points = stored_points(store_url, plant, tmp_path)
    rows, distinct = len(points), len({(sid, ts) for sid, ts, _ in points})
    sids = {name: plant.signals.sid(*name) for name in SIGNALS}
    everything = {(sids[(p["twin"], p["signal"])], p["ts"] * 1000, p["value"]) for b in batches for p in b}
    assert rows == distinct == BATCHES * POINTS
    assert set(points) == everything
