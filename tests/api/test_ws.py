"""The /ws websocket: subtree snapshots, deltas of changed signals only, coalescing, rate, errors.

Delta tests run against a real uvicorn server on 127.0.0.1 with a real websocket client, so a
missing frame times out instead of hanging; request/answer tests use the TestClient.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient
from websockets.sync.client import ClientConnection, connect

from tests.conftest import free_port
from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.core import make_batch
from twinverse.platform import Platform, example_path

L = "bottling/line1"
F = f"{L}/filler"


def settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", plant=example_path(), **kw)


def now_us() -> int:
    return int(time.time() * 1e6)


# -- TestClient: answers to messages -----------------------------------------------------------
@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings(tmp_path))) as c:
        yield c


def test_snapshot_of_a_subtree(client: TestClient) -> None:
    plant = client.app.state.platform.plant  # type: ignore[attr-defined]
    with client.websocket_connect("/ws") as ws:
        ws.send_text(json.dumps({"op": "subscribe", "twin": f"{L}/c3"}))
        snap = ws.receive_json()
    assert snap["type"] == "snapshot" and snap["twin"] == f"{L}/c3"
    assert snap["sid"] == list(plant.signals.of_twin(f"{L}/c3"))
    assert [s["signal"] for s in snap["signals"]] == ["state", "level", "motor_current"]
    assert {s["twin"] for s in snap["signals"]} == {f"{L}/c3"}
    assert snap["signals"][1] == {"sid": snap["sid"][1], "twin": f"{L}/c3", "signal": "level", "unit": "bottle",
                                  "kind": "float", "states": None}  # fmt: skip
    assert snap["value"] == [None, None, None] and snap["ts"] == [None, None, None]


def test_snapshot_carries_current_values(client: TestClient) -> None:
    t = now_us() // 1000
    body = [
        {"twin": F, "signal": "state", "ts": t, "value": "blocked"},
        {"twin": F, "signal": "speed", "ts": t, "value": 12},
    ]
    assert client.post("/api/ingest", json=body).status_code == 200
    with client.websocket_connect(f"/ws?twin={L}") as ws:
        snap = ws.receive_json()
    plant = client.app.state.platform.plant  # type: ignore[attr-defined]
    assert snap["sid"] == plant.signals.of_twins(plant.subtree(L)).tolist()
    assert len(snap["sid"]) == 71 - 3  # every signal but the compressor's three
    values = dict(zip(snap["sid"], snap["value"], strict=True))
    assert values[plant.signals.sid(F, "state")] == "blocked"
    assert values[plant.signals.sid(F, "speed")] == 12.0
    stamps = dict(zip(snap["sid"], snap["ts"], strict=True))
    assert stamps[plant.signals.sid(F, "state")] == t


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        ("garbage", "malformed JSON: "),
        ("[1, 2]", 'send {"op": "subscribe"|"unsubscribe", "twin": ID}'),
        ('{"op": "dance", "twin": "x"}', 'send {"op": "subscribe"|"unsubscribe", "twin": ID}'),
        ('{"op": "subscribe", "twin": 5}', "'twin' must be a twin id string"),
        ('{"op": "subscribe"}', "'twin' must be a twin id string"),
        ('{"op": "subscribe", "twin": "bottling/nope"}', "no twin 'bottling/nope' in plant 'bottling'"),
        ("x" * 70_000, "message above 65536 bytes"),
    ],
)
def test_bad_messages_get_an_error_and_the_connection_stays(client: TestClient, message: str, detail: str) -> None:
    with client.websocket_connect("/ws") as ws:
        ws.send_text(message)
        err = ws.receive_json()
        assert err["type"] == "error" and err["detail"].startswith(detail)
        ws.send_bytes(b"\x00\x01")  # binary frames too
        assert ws.receive_json() == {"type": "error", "detail": "send JSON text frames, not binary"}
        ws.send_text(json.dumps({"op": "subscribe", "twin": F}))
        assert ws.receive_json()["type"] == "snapshot"


def test_unknown_twin_at_connect(client: TestClient) -> None:
    with client.websocket_connect("/ws?twin=bottling/nope") as ws:
        assert ws.receive_json() == {"type": "error", "detail": "no twin 'bottling/nope' in plant 'bottling'"}
        ws.send_text(json.dumps({"op": "subscribe", "twin": F}))
        assert ws.receive_json()["type"] == "snapshot"


def test_unsubscribe(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        ws.send_text(json.dumps({"op": "subscribe", "twin": F}))
        assert ws.receive_json()["type"] == "snapshot"
        ws.send_text(json.dumps({"op": "unsubscribe", "twin": F}))
        assert ws.receive_json() == {"type": "unsubscribed", "twin": F}


# -- a real server -----------------------------------------------------------------------------
class Server:
    """uvicorn on 127.0.0.1 in a thread, with the platform at hand for direct ingest."""

    def __init__(self, tmp_path: Path, **kw: Any) -> None:
        self.platform = Platform(settings(tmp_path, **kw))
        self.port = free_port()
        config = uvicorn.Config(create_app(platform=self.platform), host="127.0.0.1", port=self.port,
                                log_level="warning", ws="websockets-sansio")  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn-test", daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    def ws(self, query: str = "") -> ClientConnection:
        return connect(f"ws://127.0.0.1:{self.port}/ws{query}", open_timeout=10)

    def wait_closed(self, timeout: float = 30.0) -> None:
        """Until the server has let go of every session (a client's close reaches it a moment later)."""
        deadline = time.monotonic() + timeout
        while sum(getattr(self.server.config.app.state, "ws_sessions", {}).values()) > 0:
            assert time.monotonic() < deadline, "the server still counts closed websocket sessions"
            time.sleep(0.01)

    def ingest(self, twin: str, signal: str, value: float, ts: int | None = None) -> None:
        sid = self.platform.plant.signals.sid(twin, signal)
        r = self.platform.engine.ingest(make_batch([ts or now_us()], [sid], [value]))
        assert r.accepted == 1


@pytest.fixture
def server(tmp_path: Path) -> Callable[..., Server]:
    return lambda **kw: Server(tmp_path, **kw)


def recv(ws: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    return msg


def test_delta_has_only_changed_signals_of_the_subtree(server: Callable[..., Server]) -> None:
    with server() as srv, srv.ws(f"?twin={L}/c3") as ws:
        idx = srv.platform.plant.signals
        snap = recv(ws)
        assert snap["type"] == "snapshot"
        t = now_us()
        srv.ingest(F, "speed", 100.0, t)  # outside the subtree: no frame for it
        srv.ingest(f"{L}/c3", "level", 42.0, t)
        delta = recv(ws)
        assert delta["type"] == "delta"
        assert delta["sid"] == [idx.sid(f"{L}/c3", "level")]
        assert delta["value"] == [42.0]
        assert delta["ts"] == [t // 1000]
        srv.ingest(f"{L}/c3", "state", 3.0)
        delta = recv(ws)
        assert (delta["sid"], delta["value"]) == ([idx.sid(f"{L}/c3", "state")], ["blocked"])
        assert delta["seq"] == srv.platform.engine.sequence


def test_quality_travels_in_snapshots_and_deltas_even_when_the_value_stays(server: Callable[..., Server]) -> None:
    with server() as srv, srv.ws(f"?twin={L}/c3") as ws:
        sid = srv.platform.plant.signals.sid(f"{L}/c3", "level")
        t = now_us()
        srv.ingest(f"{L}/c3", "level", 42.0, t)
        snap = recv(ws)
        assert snap["type"] == "snapshot" and len(snap["quality"]) == len(snap["sid"])
        while (d := recv(ws))["type"] != "delta":
            pass
        assert d["quality"] == [0]
        # a source lost its device: the same value again, BAD (what FieldSource.mark_bad stores)
        r = srv.platform.engine.ingest(make_batch([t + 1000], [sid], [42.0], [2]))
        assert r.accepted == 1
        delta = recv(ws)
        assert (delta["sid"], delta["value"], delta["quality"]) == ([sid], [42.0], [2])
        srv.ingest(f"{L}/c3", "level", 43.0, t + 2000)
        assert recv(ws)["quality"] == [0]


def test_bursts_coalesce(server: Callable[..., Server]) -> None:
    with server(ws_max_rate=5) as srv, srv.ws(f"?twin={F}") as ws:
        recv(ws)  # snapshot
        t0 = now_us()
        start = time.monotonic()
        for i in range(100):
            srv.ingest(F, "speed", float(i), t0 + i)
        frames = []
        while True:
            frames.append(recv(ws))
            if frames[-1]["value"] == [99.0]:
                break
        elapsed = time.monotonic() - start
        assert all(f["type"] == "delta" for f in frames)
        # 100 changes, far fewer frames: at most 5 a second however long the burst took
        assert len(frames) <= 5 * elapsed * 1.5 + 2
        assert len(frames) < 50
        sid = srv.platform.plant.signals.sid(F, "speed")
        assert all(f["sid"] == [sid] for f in frames)
        assert frames[-1]["ts"] == [(t0 + 99) // 1000]
        values = [f["value"][0] for f in frames]
        assert values == sorted(values)  # never an older value after a newer one


def test_frame_rate_is_bounded(server: Callable[..., Server]) -> None:
    rate = 10.0
    with server(ws_max_rate=rate) as srv, srv.ws(f"?twin={F}") as ws:
        recv(ws)  # snapshot
        stop = threading.Event()

        def feed() -> None:
            i = 0
            while not stop.is_set():
                srv.ingest(F, "temperature", float(i % 50), now_us())
                i += 1
                time.sleep(0.002)

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        try:
            count = 0
            start = time.monotonic()
            while time.monotonic() - start < 1.5:
                try:
                    msg = recv(ws, timeout=0.5)
                except TimeoutError:
                    continue
                count += msg["type"] == "delta"
            elapsed = time.monotonic() - start
        finally:
            stop.set()
            feeder.join(10)
        # an upper bound only: a slow machine sends fewer frames, never more than the rate allows
        assert 1 <= count <= rate * elapsed * 1.5 + 2


def test_several_clients_and_http_ingest(server: Callable[..., Server]) -> None:
    import httpx2 as httpx

    with server() as srv, srv.ws(f"?twin={L}") as a, srv.ws("?twin=bottling/utilities") as b:
        recv(a)
        recv(b)
        t = now_us() // 1000
        body = [{"twin": "bottling/utilities/air", "signal": "pressure", "ts": t, "value": 7.5},
                {"twin": F, "signal": "pressure", "ts": t, "value": 3.5}]  # fmt: skip
        r = httpx.post(f"http://127.0.0.1:{srv.port}/api/ingest", json=body, timeout=30)
        assert r.status_code == 200 and r.json()["stored"] == 2
        da, db = recv(a), recv(b)
        idx = srv.platform.plant.signals
        assert (da["sid"], da["value"]) == ([idx.sid(F, "pressure")], [3.5])
        assert (db["sid"], db["value"]) == ([idx.sid("bottling/utilities/air", "pressure")], [7.5])
        h = httpx.get(f"http://127.0.0.1:{srv.port}/healthz", timeout=30).json()
        assert h["subscribers"] == 2
        assert np.isclose(srv.platform.engine.value[idx.sid(F, "pressure")], 3.5)


def test_refusals_close_with_1008_and_a_reason(server: Callable[..., Server]) -> None:
    """A refused client gets a websocket (not an HTTP 403 at the handshake) closed with 1008 and why."""
    from websockets.exceptions import ConnectionClosedError

    with server(auth="token") as srv:
        trust = srv.platform.trust
        trust.access.create_tenant(None, "acme")
        acme = trust.local_admin("acme")
        foreign = trust.access.create_token(acme, acme.id, "acme")[1]
        admin = trust.local_admin("default")
        scoped = trust.access.create_token(admin, admin.id, "default", scopes=["asset:read"])[1]
        for query, reason in [
            ("", "a valid bearer token is required"),
            ("?access_token=tvk_000000000000_" + "A" * 43, "a valid bearer token is required"),
            (f"?access_token={scoped}", "permission 'data:read' required"),
            (f"?access_token={foreign}", "the plant belongs to another tenant"),
        ]:
            with srv.ws(query) as ws, pytest.raises(ConnectionClosedError) as exc:
                ws.recv(timeout=10)
            assert exc.value.rcvd is not None
            assert (exc.value.rcvd.code, exc.value.rcvd.reason) == (1008, reason)
        token = trust.access.create_token(admin, admin.id, "default")[1]
        with srv.ws(f"?access_token={token}&twin={F}") as ws:
            assert recv(ws)["type"] == "snapshot"


# -- rate, leading edge, limits --------------------------------------------------------------------
def test_a_client_asks_for_its_own_rate_within_the_server_bound(client: TestClient) -> None:
    with client.websocket_connect(f"/ws?twin={F}&rate=2") as ws:
        ws.receive_json()  # snapshot
        ws.send_text(json.dumps({"op": "rate", "max": 1000}))
        assert ws.receive_json() == {"type": "rate", "max": 30.0}  # clamped to ws_max_rate
        ws.send_text(json.dumps({"op": "rate", "max": 0.001}))
        assert ws.receive_json() == {"type": "rate", "max": 0.1}  # and to MIN_RATE
        for bad in (0, -1, "fast", True, None):
            ws.send_text(json.dumps({"op": "rate", "max": bad}))
            assert ws.receive_json()["type"] == "error"


def test_leading_edge_then_coalesce_until_the_next_frame(server: Callable[..., Server]) -> None:
    """At 0.1 frames/s a first change goes out at once; the next waits (10 s) unless the rate rises."""
    with server() as srv, srv.ws(f"?twin={F}&rate=0.1") as ws:
        sid = srv.platform.plant.signals.sid(F, "speed")
        recv(ws)  # snapshot
        srv.ingest(F, "speed", 1.0)
        assert recv(ws)["value"] == [1.0]  # no quiet-period wait
        srv.ingest(F, "speed", 2.0)
        srv.ingest(F, "speed", 3.0)
        with pytest.raises(TimeoutError):
            recv(ws, timeout=0.5)  # held back: the next frame is due 10 s after the first
        ws.send(json.dumps({"op": "rate", "max": 30}))
        frames = [recv(ws), recv(ws)]
        assert {"type": "rate", "max": 30.0} in frames
        delta = next(f for f in frames if f["type"] == "delta")
        assert (delta["sid"], delta["value"]) == ([sid], [3.0])  # the two changes as one frame


def test_subscriptions_and_connections_are_bounded(server: Callable[..., Server]) -> None:
    from websockets.exceptions import ConnectionClosed

    with server(ws_max_subscriptions=2, ws_max_clients=2) as srv:
        with srv.ws() as ws:
            for twin in (F, f"{L}/c3"):
                ws.send(json.dumps({"op": "subscribe", "twin": twin}))
                assert recv(ws)["type"] == "snapshot"
            ws.send(json.dumps({"op": "subscribe", "twin": L}))
            assert recv(ws) == {"type": "error",
                                "detail": "at most 2 subscriptions per connection: unsubscribe one first"}
            ws.send(json.dumps({"op": "subscribe", "twin": F}))  # again: not a new one
            assert recv(ws)["type"] == "snapshot"
        srv.wait_closed()
        with srv.ws() as a, srv.ws() as b, srv.ws() as c:  # open mode: all three are the same principal
            with pytest.raises(ConnectionClosed) as refused:
                c.recv(timeout=10)
            assert (refused.value.rcvd.code, refused.value.rcvd.reason) == (
                1008, "at most 2 websocket connections per token")
            for ws in (a, b):
                ws.send(json.dumps({"op": "subscribe", "twin": F}))
                assert recv(ws)["type"] == "snapshot"
        srv.wait_closed()
        with srv.ws() as again:  # the closed ones no longer count
            again.send(json.dumps({"op": "subscribe", "twin": F}))
            assert recv(again)["type"] == "snapshot"
