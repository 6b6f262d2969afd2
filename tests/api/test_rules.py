"""Alarm rules managed over HTTP: validated like the plant file, logged, persisted, in force without a restart."""

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
      temp: {unit: degC}
    alarms:
      slow: {kind: lo, signal: speed, limit: 100, priority: high}
  m2:
    extends: m
twins:
  - id: line
    type: line
    children:
      - {id: m, type: m, count: 2}
      - {id: x, type: m2}
"""
S = 1_000_000


def _platform(tmp_path: Path) -> Platform:
    f = tmp_path / "p.yaml"
    f.write_text(PLANT)
    # a DuckDB file in the data directory: the second platform of a test is a restart
    return Platform(Settings(data_dir=tmp_path / "data", plant=f, store="duckdb", auth="token", seal_history=False,
                             rollup_every=0))  # fmt: skip


@pytest.fixture
def platform(tmp_path: Path) -> Platform:
    return _platform(tmp_path)


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform=platform)) as c:
        yield c


def token(platform: Platform, role: Role, name: str) -> dict[str, str]:
    admin = platform.trust.local_admin("default")
    ident, _ = platform.trust.access.create_identity(admin, "default", name, role=role)
    return {"Authorization": f"Bearer {platform.trust.access.create_token(admin, ident.did, 'default')[1]}"}


def put(platform: Platform, twin: str, signal: str, values: list[float], start_s: int = 60) -> None:
    sid = platform.plant.signals.sid(f"p/line/{twin}", signal)
    n = len(values)
    t0 = now_us() - start_s * S
    platform.engine.ingest(make_batch(np.arange(n, dtype=np.int64) * S + t0, np.full(n, sid, np.int32),
                                      np.array(values, dtype=np.float64)))  # fmt: skip


def alarm_ids(client: TestClient, headers: dict[str, str]) -> list[str]:
    return [a["id"] for a in client.get("/api/alarms", headers=headers).json()["items"]]


def test_rules_over_http(platform: Platform, client: TestClient, tmp_path: Path) -> None:
    viewer = token(platform, Role.VIEWER, "vera")
    operator = token(platform, Role.OPERATOR, "otto")
    engineer = token(platform, Role.ENGINEER, "erin")
    r = client.get("/api/rules/types/m", headers=viewer)
    assert r.status_code == 200, r.text
    assert r.json() == {"type": "m", "rules": {"slow": {"kind": "lo", "signal": "speed", "limit": 100.0,
                                                        "priority": "high"}}, "changed": {}}  # fmt: skip

    # only an engineer may change rules; the document is checked like the plant file's
    hot = {"kind": "hi", "signal": "temp", "limit": 80, "on_delay": 0}
    assert client.put("/api/rules/types/m/hot", json=hot, headers=operator).status_code == 403
    r = client.put("/api/rules/types/m/hot", json={**hot, "signal": "tmp"}, headers=engineer)
    assert r.status_code == 422
    assert r.json()["detail"] == "types.m.alarms.hot.signal: type 'm' has no signal 'tmp' (signals: speed, state, temp)"
    assert r.json()["errors"][0]["path"] == "types.m.alarms.hot.signal"
    r = client.put("/api/rules/types/m/hot", json={"kind": "expr", "expr": "temp > 80 and sped < 3"}, headers=engineer)
    assert r.status_code == 422
    assert r.json()["detail"] == ("types.m.alarms.hot.expr: column 15: unknown signal 'sped' "
                                  "(signals: speed, state, temp)")  # fmt: skip
    r = client.put("/api/rules/types/m/hot", json={"kind": "hi", "signal": "temp"}, headers=engineer)
    assert (r.status_code, r.json()["detail"]) == (422, "types.m.alarms.hot: a 'hi' rule needs a 'limit'")
    assert client.put("/api/rules/types/nope/hot", json=hot, headers=engineer).status_code == 404
    assert client.put("/api/rules/types/m/a:b", json=hot, headers=engineer).status_code == 422

    # a new type rule is in force at once, for the type and the types extending it
    r = client.put("/api/rules/types/m/hot", json=hot, headers=engineer)
    assert r.status_code == 200, r.text
    assert r.json() == {"scope": "type", "target": "m", "name": "hot",
                        "rule": {"kind": "hi", "signal": "temp", "limit": 80.0}}  # fmt: skip
    put(platform, "m1", "temp", [85])
    put(platform, "x", "temp", [90])
    assert sorted(alarm_ids(client, viewer)) == ["p/line/m1:hot", "p/line/x:hot"]

    # a twin override: fields over the inherited rule; the alarm keeps its state, the new limit decides next
    r = client.put("/api/rules/twins/p/line/m1/hot", json={"limit": 95}, headers=engineer)
    assert r.status_code == 200, r.text
    assert r.json()["rule"] == {"kind": "hi", "signal": "temp", "limit": 95.0}
    assert client.get("/api/alarms?id=p/line/m1:hot", headers=viewer).json()["items"][0]["state"] == "unacknowledged"
    put(platform, "m1", "temp", [90], start_s=30)  # 90 < 95: cleared by the next sample
    assert client.get("/api/alarms?id=p/line/m1:hot", headers=viewer).json()["items"][0]["state"] == \
        "rtn_unacknowledged"  # fmt: skip
    r = client.put("/api/rules/twins/p/line/m2/hot", json={"limit": "high"}, headers=engineer)
    assert r.status_code == 422
    assert r.json()["detail"] == "twins.p/line/m2.alarms.hot.limit: Input should be a valid number, unable to parse " \
        "string as a number"  # fmt: skip
    assert client.put("/api/rules/twins/p/line/m2/slow", json={"enabled": False}, headers=engineer).status_code == 200
    got = client.get("/api/rules/twins/p/line/m2/slow", headers=viewer).json()
    assert got == {
        "twin": "p/line/m2",
        "type": "m",
        "name": "slow",
        "override": {"enabled": False},
        "rule": {"kind": "lo", "signal": "speed", "limit": 100.0, "priority": "high", "enabled": False},
    }
    listed = {r["id"]: r for r in client.get("/api/rules?twin=p/line/m1", headers=viewer).json()["items"]}
    assert sorted(listed) == ["p/line/m1:hot", "p/line/m1:slow"] and listed["p/line/m1:hot"]["override"] == {
        "limit": 95}  # fmt: skip
    assert "p/line/m2:slow" not in [r["id"] for r in client.get("/api/rules", headers=viewer).json()["items"]]
    assert client.get("/api/rules/twins/p/line/nope/slow", headers=viewer).status_code == 404

    # every change is in the tamper-evident log
    ledger = platform.trust.ledger
    logged = [orjson.loads(e) for e in ledger.entries(0, ledger.size)]
    assert [(e["action"], e["target"]) for e in logged if e["action"].startswith("rule.")] == [
        ("rule.put", "rule:type:m:hot"), ("rule.put", "rule:twin:p/line/m1:hot"),
        ("rule.put", "rule:twin:p/line/m2:slow")]  # fmt: skip


def test_rule_changes_survive_a_restart(tmp_path: Path) -> None:
    p1 = _platform(tmp_path)
    engineer = token(p1, Role.ENGINEER, "erin")
    with TestClient(create_app(platform=p1)) as c:
        assert c.put("/api/rules/types/m/hot", json={"kind": "hi", "signal": "temp", "limit": 80},
                     headers=engineer).status_code == 200  # fmt: skip
        assert c.delete("/api/rules/types/m/slow", headers=engineer).status_code == 200
        assert c.put("/api/rules/twins/p/line/m1/hot", json={"limit": 60}, headers=engineer).status_code == 200
        assert c.delete("/api/rules/types/m/slow", headers=engineer).status_code == 404  # gone already
        assert c.delete("/api/rules/twins/p/line/m2/hot", headers=engineer).status_code == 404  # no override there
    p2 = _platform(tmp_path)
    viewer = token(p2, Role.VIEWER, "vera")
    with TestClient(create_app(platform=p2)) as c:
        rules = {r["id"]: r["rule"] for r in c.get("/api/rules", headers=viewer).json()["items"]}
        assert rules == {"p/line/m1:hot": {"kind": "hi", "signal": "temp", "limit": 60.0},
                         "p/line/m2:hot": {"kind": "hi", "signal": "temp", "limit": 80.0},
                         "p/line/x:hot": {"kind": "hi", "signal": "temp", "limit": 80.0}}  # fmt: skip
        put(p2, "m1", "temp", [70])
        assert alarm_ids(c, viewer) == ["p/line/m1:hot"]
        # removing the override returns the twin to the type's rule (80): the next sample clears
        engineer = token(p2, Role.ENGINEER, "erin2")
        r = c.delete("/api/rules/twins/p/line/m1/hot", headers=engineer)
        assert r.status_code == 200 and r.json()["override"] is None and r.json()["rule"]["limit"] == 80
        put(p2, "m1", "temp", [71], start_s=30)
        assert client_state(c, viewer, "p/line/m1:hot") == "rtn_unacknowledged"


def client_state(c: TestClient, headers: dict[str, str], alarm: str) -> str:
    state: str = c.get(f"/api/alarms?id={alarm}", headers=headers).json()["items"][0]["state"]
    return state


PATH_VALUES = {"type_name": "m", "rule": "slow", "twin_id": "p/line/m1"}


def test_rule_routes_by_role(platform: Platform, client: TestClient) -> None:
    """Every /api/rules route × every role: without the permission 403, with it never 401/403."""
    from twinverse.api import route_table
    from twinverse.trust import ROLE_PERMISSIONS, Permission

    tokens = {role: token(platform, role, f"matrix-{role.value}") for role in Role}
    table = [r for r in route_table(client.app) if r.path.startswith("/api/rules")]  # type: ignore[arg-type]
    assert sorted((m, r.path, r.permissions) for r in table for m in r.methods) == [
        ("DELETE", "/api/rules/twins/{twin_id:path}/{rule}", ("rule:write",)),
        ("DELETE", "/api/rules/types/{type_name}/{rule}", ("rule:write",)),
        ("GET", "/api/rules", ("alarm:read",)),
        ("GET", "/api/rules/twins/{twin_id:path}/{rule}", ("alarm:read",)),
        ("GET", "/api/rules/types/{type_name}", ("alarm:read",)),
        ("PUT", "/api/rules/twins/{twin_id:path}/{rule}", ("rule:write",)),
        ("PUT", "/api/rules/types/{type_name}/{rule}", ("rule:write",)),
    ]
    checked = 0
    for route in table:
        path = route.path.replace(":path", "").format(**PATH_VALUES)
        for method in route.methods:
            assert client.request(method, path, json={}).status_code == 401, (method, path)
            for role, headers in tokens.items():
                r = client.request(method, path, json={"kind": "lo", "signal": "speed", "limit": 5}, headers=headers)
                if all(Permission(p) in ROLE_PERMISSIONS[role] for p in route.permissions):
                    assert r.status_code not in (401, 403), (method, path, role, r.text)
                else:
                    assert r.status_code == 403, (method, path, role, r.text)
                checked += 1
    assert checked == 7 * 4
