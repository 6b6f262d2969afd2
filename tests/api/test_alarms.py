"""Alarm routes over a real platform: list and filter, events, actions with permissions and the log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient

from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.core import make_batch
from twinverse.core.clock import now_us
from twinverse.platform import Platform
from twinverse.trust import Role

PLANT = """
plant: p
types:
  m:
    signals:
      state: {kind: state, states: [running, idle, down, off]}
      speed: {unit: bottle/min, range: [0, 1000]}
    alarms:
      slow: {kind: lo, signal: speed, limit: 100, priority: high, suppress_in: [off], message: speed below 100}
      fast: {kind: hi, signal: speed, limit: 900}
twins:
  - id: line
    type: line
    children:
      - {id: m, type: m, count: 2}
"""
S = 1_000_000


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    f = tmp_path / "p.yaml"
    f.write_text(PLANT)
    p = Platform(Settings(data_dir=tmp_path / "data", plant=f, store=":memory:", auth="token"))
    yield p


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform=platform)) as c:
        yield c


def token(platform: Platform, role: Role, name: str) -> dict[str, str]:
    admin = platform.trust.local_admin("default")
    ident, _ = platform.trust.access.create_identity(admin, "default", name, role=role)
    return {"Authorization": f"Bearer {platform.trust.access.create_token(admin, ident.did, 'default')[1]}"}


def put(platform: Platform, twin: str, values: list[float]) -> None:
    sid = platform.plant.signals.sid(f"p/line/{twin}", "speed")
    n = len(values)
    t0 = now_us() - 60 * S
    platform.engine.ingest(make_batch(np.arange(n, dtype=np.int64) * S + t0, np.full(n, sid, np.int32),
                                      np.array(values)))  # fmt: skip


def test_list_filter_and_act(platform: Platform, client: TestClient) -> None:
    viewer = token(platform, Role.VIEWER, "vera")
    operator = token(platform, Role.OPERATOR, "otto")
    engineer = token(platform, Role.ENGINEER, "erin")
    put(platform, "m1", [500, 50])
    put(platform, "m2", [950])
    r = client.get("/api/alarms", headers=viewer)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [a["id"] for a in body["items"]] == ["p/line/m1:slow", "p/line/m2:fast"]  # high priority first
    first = body["items"][0]
    assert (first["state"], first["value"], first["limit"], first["message"]) == ("unacknowledged", 50.0, 100.0,
                                                                                   "speed below 100")  # fmt: skip
    assert body["counts"]["unacknowledged"] == 2 and body["counts"]["normal"] == 2
    assert [a["id"] for a in client.get("/api/alarms?priority=medium", headers=viewer).json()["items"]] == [
        "p/line/m2:fast"]  # fmt: skip
    assert [a["id"] for a in client.get("/api/alarms?twin=p/line/m1", headers=viewer).json()["items"]] == [
        "p/line/m1:slow"]  # fmt: skip
    assert client.get("/api/alarms?state=normal", headers=viewer).json()["total"] == 2
    assert client.get("/api/alarms?since=now", headers=viewer).json()["total"] == 0

    # a viewer may read but not act; an operator acknowledges; out of service needs an engineer
    assert client.post("/api/alarms/p/line/m1:slow/ack", json={}, headers=viewer).status_code == 403
    r = client.post("/api/alarms/p/line/m1:slow/ack", json={"comment": "seen"}, headers=operator)
    assert r.status_code == 200, r.text
    assert (r.json()["event"], r.json()["state"], r.json()["previous"]) == ("ack", "acknowledged", "unacknowledged")
    assert client.post("/api/alarms/p/line/m1:slow/ack", json={}, headers=operator).status_code == 409
    assert client.post("/api/alarms/p/line/m2:fast/out-of-service", json={}, headers=operator).status_code == 403
    assert client.post("/api/alarms/p/line/m2:fast/out-of-service", json={}, headers=engineer).status_code == 200
    r = client.post("/api/alarms/p/line/m1:slow/shelve", json={"seconds": 10**6}, headers=operator)
    assert r.status_code == 422 and "maximum shelve time" in r.json()["detail"]
    r = client.post("/api/alarms/p/line/m1:slow/shelve", json={"seconds": 600, "comment": "cleaning"},
                    headers=operator)  # fmt: skip
    assert r.json()["state"] == "shelved"
    one = client.get("/api/alarms?id=p/line/m1:slow", headers=viewer).json()["items"]
    assert len(one) == 1 and one[0]["shelved_until"] is not None
    assert client.get("/api/alarms?id=p/line/m1:fast", headers=viewer).json()["items"][0]["state"] == "normal"
    assert client.post("/api/alarms/p/line/m1:slow/comment", json={}, headers=operator).status_code == 422
    assert client.post("/api/alarms/p/line/m9:slow/ack", json={}, headers=operator).status_code == 404

    events = client.get("/api/alarms/events?alarm=p/line/m1:slow", headers=viewer).json()["events"]
    assert [(e["event"], e["state"]) for e in events] == [("raise", "unacknowledged"), ("ack", "acknowledged"),
                                                          ("shelve", "shelved")]  # fmt: skip
    assert events[1]["comment"] == "seen" and events[1]["user"].startswith("did:key:")
    assert [e["alarm"] for e in client.get("/api/alarms/events?twin=p/line/m2", headers=viewer).json()["events"]] == [
        "p/line/m2:fast", "p/line/m2:fast"]  # fmt: skip

    # every action is in the tamper-evident log
    ledger = platform.trust.ledger
    logged = [orjson.loads(e) for e in ledger.entries(0, ledger.size)]
    actions = [(e["action"], e["target"]) for e in logged if e["action"].startswith("alarm.")]
    assert actions == [("alarm.ack", "alarm:p/line/m1:slow"), ("alarm.out_of_service", "alarm:p/line/m2:fast"),
                       ("alarm.shelve", "alarm:p/line/m1:slow")]  # fmt: skip


@pytest.mark.parametrize(
    "url",
    ["/api/alarms?state=bogus", "/api/alarms?priority=x", "/api/alarms?since=yesterday-ish", "/api/alarms?twin=nope",
     "/api/alarms?since=now&until=-1h", "/api/alarms?id=nope:x", "/api/alarms/events?alarm=nope:x",
     "/api/alarms/events?after=-1"],
)  # fmt: skip
def test_bad_queries_are_4xx_with_details(platform: Platform, client: TestClient, url: str) -> None:
    r = client.get(url, headers=token(platform, Role.VIEWER, "v"))
    assert r.status_code in (404, 422), (url, r.status_code, r.text)
    assert r.headers["content-type"] == "application/problem+json" and r.json()["detail"]


@pytest.mark.parametrize("body", [b"{", b'{"seconds": -1}', b'{"seconds": "x"}', b'{"seconds": 5, "x": 1}', b""])
def test_bad_bodies_are_422(platform: Platform, client: TestClient, body: bytes) -> None:
    put(platform, "m1", [10])
    r = client.post("/api/alarms/p/line/m1:slow/shelve", content=body,
                    headers={**token(platform, Role.OPERATOR, "o"), "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 422, r.text


def test_alarm_events_on_the_websocket(platform: Platform, client: TestClient) -> None:
    put(platform, "m2", [50])  # an alarm before the client connects: in the subscription's "alarms" frame
    bearer = token(platform, Role.VIEWER, "w")["Authorization"].split()[1]
    with client.websocket_connect(f"/ws?twin=p/line/m1&alarms=1&access_token={bearer}") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        assert ws.receive_json() == {"type": "alarms", "twin": "p/line/m1", "alarms": []}
        put(platform, "m2", [60, 950])  # another subtree: not sent
        put(platform, "m1", [500, 40])
        frame = ws.receive_json()
        while frame["type"] == "delta":
            frame = ws.receive_json()
        assert frame["type"] == "alarm_events"
        assert [(e["alarm"], e["event"], e["state"], e["value"]) for e in frame["events"]] == [
            ("p/line/m1:slow", "raise", "unacknowledged", 40.0)]  # fmt: skip


def test_kpis_route(platform: Platform, client: TestClient) -> None:
    viewer = token(platform, Role.VIEWER, "k")
    sid = platform.plant.signals.sid("p/line/m1", "state")
    t0 = now_us() - 3600 * S
    platform.engine.ingest(make_batch(np.array([t0, t0 + 1800 * S]), np.full(2, sid, np.int32), np.array([0.0, 2.0])))
    r = client.get("/api/kpis?twin=p/line/m1&start=-1h&end=now", headers=viewer)
    assert r.status_code == 200, r.text
    body = r.json()["machines"]["p/line/m1"]
    assert body["failures"] == 1 and body["kpis"]["availability"] == pytest.approx(0.5, abs=0.01)
    assert set(r.json()["machines"]) == {"p/line/m1"}
    for bad in ("twin=nope", "start=now&end=-1h", "start=garbage", "twin=p/line&start="):
        r = client.get(f"/api/kpis?{bad}", headers=viewer)
        assert r.status_code in (404, 422) and r.json()["detail"], (bad, r.text)


def test_alarm_frames_need_alarm_read_and_can_be_switched(platform: Platform, client: TestClient) -> None:
    admin = platform.trust.local_admin("default")
    ident, _ = platform.trust.access.create_identity(admin, "default", "narrow", role=Role.VIEWER)
    narrow = platform.trust.access.create_token(admin, ident.did, "default", scopes=["data:read"])[1]
    with client.websocket_connect(f"/ws?alarms=1&access_token={narrow}") as ws:
        assert ws.receive_json() == {"type": "error", "detail": "permission 'alarm:read' required for alarm frames"}
        ws.send_json({"op": "subscribe", "twin": "p/line"})
        assert ws.receive_json()["type"] == "snapshot"  # live values still flow
    bearer = token(platform, Role.VIEWER, "s")["Authorization"].split()[1]
    put(platform, "m1", [10])
    with client.websocket_connect(f"/ws?twin=p/line&access_token={bearer}") as ws:
        assert ws.receive_json()["type"] == "snapshot"  # no alarm frames unless asked
        ws.send_json({"op": "alarms", "follow": True})
        assert ws.receive_json() == {"type": "alarms_follow", "follow": True}
        frame = ws.receive_json()
        assert frame["type"] == "alarms" and [a["id"] for a in frame["alarms"]] == ["p/line/m1:slow"]
        ws.send_json({"op": "alarms", "follow": "yes"})
        assert ws.receive_json() == {"type": "error", "detail": "'follow' must be true or false"}


def test_alarm_kpis_over_http(platform: Platform, client: TestClient) -> None:
    viewer = token(platform, Role.VIEWER, "vera")
    put(platform, "m1", [500, 50, 500, 50, 500, 50])  # slow raised 3 times within 5 s: chattering
    put(platform, "m2", [950])
    r = client.get("/api/alarms/kpis?from=-2h&to=now", headers=viewer)
    assert r.status_code == 200, r.text
    k = r.json()
    assert (k["area"], k["alarms"], k["hours"]) == ("p", 4, 2.0)
    assert k["per_hour"] == 2.0 and k["peak_10min_sliding"] == 4
    assert k["chattering"] == [{"alarm": "p/line/m1:slow", "raises": 3, "max_per_minute": 3}]
    assert [(t["alarm"], t["count"]) for t in k["top10"]] == [("p/line/m1:slow", 3), ("p/line/m2:fast", 1)]
    assert k["top10_share"] == 100.0
    assert client.get("/api/alarms/kpis?area=p/line/m2", headers=viewer).json()["alarms"] == 1
    assert client.get("/api/alarms/kpis?area=nope", headers=viewer).status_code == 404
    r = client.get("/api/alarms/kpis?from=now&to=-1h", headers=viewer)
    assert r.status_code == 422 and r.json()["detail"].startswith("from (")
    assert client.get("/api/alarms/kpis").status_code == 401
