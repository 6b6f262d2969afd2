"""Several plants in one deployment: routing, isolation, tenants, adding and removing without a restart."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from twinverse.api import create_park_app, route_table
from twinverse.config import PlantEntry, Settings
from twinverse.park import Park
from twinverse.platform import example_path
from twinverse.trust import ROLE_PERMISSIONS, Permission, Role, TrustService

PRESS = example_path("press-shop.yaml")
T0 = (int(time.time()) - 600) * 1000

SMALL = """\
plant: {id}
name: Hall {id}
types:
  oven:
    signals:
      temperature: {{unit: degC, range: [0, 400]}}
twins:
  - {{id: o, type: oven, count: 2}}
"""


@dataclass
class World:
    park: Park
    client: TestClient
    tokens: dict[tuple[str, Role], str]  # (tenant, role) → token

    def h(self, tenant: str, role: Role = Role.ADMIN) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[(tenant, role)]}"}


def _tokens(trust: TrustService) -> dict[tuple[str, Role], str]:
    out = {}
    for tenant in ("default", "acme"):
        admin = trust.local_admin(tenant)
        for role in Role:
            ident, _ = trust.access.create_identity(admin, tenant, f"{tenant}-{role.value}", role=role)
            out[(tenant, role)] = trust.access.create_token(admin, ident.did, tenant)[1]
    return out


def _settings(data_dir: Path, **extra: Any) -> Settings:
    return Settings(data_dir=data_dir, plant=example_path(), auth="token", seal_history=False, rollup_every=0,
                    plants=[PlantEntry(file=PRESS, tenant="acme")], **extra)  # fmt: skip


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    park = Park(_settings(tmp_path / "data"))
    tokens = _tokens(park.trust)
    with TestClient(create_park_app(park)) as client:
        yield World(park, client, tokens)


def _ingest(w: World, prefix: str, twin: str, signal: str, values: list[float], tenant: str) -> Any:
    body = [{"twin": twin, "signal": signal, "ts": T0 + i * 1000, "value": v} for i, v in enumerate(values)]
    return w.client.post(f"{prefix}/api/ingest", content=orjson.dumps(body),
                         headers={**w.h(tenant, Role.OPERATOR), "content-type": "application/json"})  # fmt: skip


def test_each_plant_is_served_under_its_path_and_the_first_at_the_top(world: World) -> None:
    c = world.client
    assert c.get("/api/plant", headers=world.h("default")).json()["id"] == "bottling"
    assert c.get("/plants/bottling/api/plant", headers=world.h("default")).json()["id"] == "bottling"
    assert c.get("/plants/pressing/api/plant", headers=world.h("acme")).json()["id"] == "pressing"
    r = c.get("/plants/pressing", headers=world.h("acme"), follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (307, "/plants/pressing/")
    r = c.get("/plants/nowhere/api/plant", headers=world.h("acme"))
    assert (r.status_code, r.json()["detail"]) == (404, "no plant 'nowhere' is served here")
    # The page: the picker at / (two plants), each plant's viewer under its prefix, assets shared.
    assert 'id="plants"' in c.get("/").text
    page = c.get("/plants/pressing/").text
    assert 'src="static/viewer/viewer.js"' in page
    assert c.get("/plants/pressing/static/viewer/viewer.js").status_code == 200
    # Each plant's OpenAPI document knows where it is mounted.
    assert c.get("/plants/pressing/openapi.json").json()["servers"] == [{"url": "/plants/pressing"}]


def test_history_live_and_alarms_stay_in_their_plant(world: World) -> None:
    c = world.client
    r = _ingest(world, "/plants/pressing", "pressing/tandem/p1", "force", [7000.0, 7700.0, 7000.0], "acme")
    assert r.status_code == 200 and r.json()["accepted"] == 3, r.text
    r = _ingest(world, "", "bottling/line1/filler", "temperature", [4.0, 5.0], "default")
    assert r.json()["accepted"] == 2
    # A plant's names are unknown to the other one: refused there, not stored across.
    r = _ingest(world, "", "pressing/tandem/p1", "force", [1.0], "default")
    assert r.status_code == 422 and "unknown twin 'pressing/tandem/p1'" in r.text
    press = world.park.get("pressing")
    bottling = world.park.get("bottling")
    assert press is not None and bottling is not None
    assert press.platform.store is not bottling.platform.store
    assert (press.platform.store.count(), bottling.platform.store.count()) == (3, 2)
    assert Path(press.platform.settings.data_dir) == Path(world.park.root) / "plants" / "pressing"
    series = c.get("/plants/pressing/api/twins/pressing/tandem/p1/history",
                   params={"signal": "force", "start": "2000-01-01T00:00:00Z"}, headers=world.h("acme")).json()
    assert series["series"][0]["value"] == [7000.0, 7700.0, 7000.0]
    live = c.get("/plants/pressing/api/twins/pressing/tandem/p1", headers=world.h("acme")).json()["live"]
    assert {v["signal"]: v["value"] for v in live}["force"] == 7000.0
    # The overload alarm (limit 7600) is the press plant's, not the bottling plant's.
    assert _wait(lambda: [a["id"] for a in c.get("/plants/pressing/api/alarms", headers=world.h("acme")).json()
                          ["items"] if a["id"].endswith("overload")])  # fmt: skip
    bottling_alarms = c.get("/api/alarms", headers=world.h("default")).json()["items"]
    assert not [a for a in bottling_alarms if a["id"].startswith("pressing/")]
    # SQL over the twin sees its own plant only.
    q = c.post("/plants/pressing/api/query", json={"sql": "SELECT count(*) AS n FROM history"},
               headers=world.h("acme")).json()  # fmt: skip
    assert q["rows"] == [[3]], q


def _wait(probe: Any, timeout: float = 10.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = probe()
        if got:
            return got
        time.sleep(0.05)
    return probe()


def test_websockets_follow_their_own_plant(world: World) -> None:
    token = world.tokens[("acme", Role.VIEWER)]
    with world.client.websocket_connect(f"/plants/pressing/ws?access_token={token}") as ws:
        ws.send_json({"op": "subscribe", "twin": "pressing"})
        snap = ws.receive_json()
        assert snap["type"] == "snapshot"
        assert {s["twin"] for s in snap["signals"]} <= {"pressing", "pressing/tandem", "pressing/tandem/p1",
                                                        "pressing/tandem/p2", "pressing/tandem/p3"}  # fmt: skip
    # A tenant's token on the other tenant's plant: accepted, then closed with the reason (1008).
    with world.client.websocket_connect(f"/ws?access_token={token}") as ws:
        msg = ws.receive()
        assert (msg["type"], msg["code"], msg["reason"]) == ("websocket.close", 1008,
                                                             "the plant belongs to another tenant")


def test_the_top_level_readiness_is_every_plant_s(world: World) -> None:
    assert world.client.get("/readyz").status_code == 200
    press = world.park.get("pressing")
    assert press is not None
    press.platform.store.close()  # the press plant's store stops answering
    r = world.client.get("/readyz")
    assert r.status_code == 503 and [e["path"] for e in r.json()["errors"]] == ["plant:pressing/store"]
    assert world.client.get("/plants/bottling/readyz").status_code == 200  # a plant's own probe: its own parts


def test_listing_shows_each_tenant_its_own_plants(world: World) -> None:
    def ids(tenant: str, role: Role = Role.VIEWER) -> list[str]:
        r = world.client.get("/api/plants", headers=world.h(tenant, role))
        assert r.status_code == 200, r.text
        return [p["id"] for p in r.json()["items"]]

    assert ids("default") == ["bottling"]
    assert ids("acme") == ["pressing"]
    # The same answer on every plant's prefix (the routes are the park's).
    r = world.client.get("/plants/pressing/api/plants", headers=world.h("acme"))
    assert [p["id"] for p in r.json()["items"]] == ["pressing"]
    assert r.json()["items"][0]["path"] == "/plants/pressing/" and r.json()["items"][0]["tenant"] == "acme"


# -- route × role × tenant -----------------------------------------------------------------------
PATH_VALUES = {"twin_id": "pressing/tandem/p1", "did": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
               "plant_id": "pressing"}  # fmt: skip
#: Routes whose permission is not the plant's: they act in the caller's own tenant wherever asked.
TENANT_OWN = {"plant:list", "plant:admin", "asset:read", "asset:write", "asset:grant", "asset:approve", "log:read",
              "log:export", "identity:read", "identity:admin", "token:create", "token:admin"}  # fmt: skip


def test_route_role_tenant_matrix(world: World) -> None:
    """Every route of the press plant × every role × both tenants: the other tenant gets 403 on
    everything the plant owns (its twins, data, alarms, simulations…), never its data."""
    app = world.park.get("pressing")
    assert app is not None
    routes = route_table(create_park_app(world.park).app_of(app))
    checked = 0
    for route in routes:
        if route.websocket or not route.permissions or set(route.permissions) & TENANT_OWN:
            continue
        path = "/plants/pressing" + re.sub(r"\{(\w+)(?::path)?\}", lambda m: PATH_VALUES.get(m.group(1),
                                                                                              "x000000000000"),
                                           route.path)  # fmt: skip
        for method in set(route.methods) - {"HEAD"}:
            for tenant in ("acme", "default"):
                for role in Role:
                    r = world.client.request(method, path, json={}, headers=world.h(tenant, role))
                    allowed = all(Permission(p) in ROLE_PERMISSIONS[role] for p in route.permissions)
                    if tenant == "default":
                        assert r.status_code == 403, (method, path, role, r.text)
                        assert "7000" not in r.text
                    elif allowed:
                        assert r.status_code not in (401, 403), (method, path, role, r.text)
                    else:
                        assert r.status_code == 403, (method, path, role, r.text)
                    checked += 1
    assert checked > 400  # about sixty plant routes × 4 roles × 2 tenants


# -- adding and removing ------------------------------------------------------------------------
def test_a_tenant_admin_adds_and_removes_a_plant_without_a_restart(world: World, tmp_path: Path) -> None:
    c = world.client
    r = c.post("/api/plants", json={"text": SMALL.format(id="hall3")}, headers=world.h("acme"))
    assert r.status_code == 201, r.text
    assert {k: r.json()[k] for k in ("id", "tenant", "origin", "path", "twins")} == {
        "id": "hall3", "tenant": "acme", "origin": "api", "path": "/plants/hall3/", "twins": 3}  # fmt: skip
    # Served at once: ingest and read back.
    r = _ingest(world, "/plants/hall3", "hall3/o2", "temperature", [180.0], "acme")
    assert r.json()["accepted"] == 1
    live = c.get("/plants/hall3/api/twins/hall3/o2", headers=world.h("acme")).json()["live"]
    assert [(v["signal"], v["value"]) for v in live] == [("temperature", 180.0)]
    assert [p["id"] for p in c.get("/api/plants", headers=world.h("acme")).json()["items"]] == ["pressing", "hall3"]
    assert c.get("/plants/hall3/api/plant", headers=world.h("default")).status_code == 403
    # Its model is version 1 of its own history, and the log has the addition.
    versions = c.get("/plants/hall3/api/plant/versions", headers=world.h("acme")).json()
    assert versions["current"] == 1 and versions["versions"][0]["message"] == "the plant as added"
    assert json.loads((world.park.root / "park.json").read_text())["plants"][0]["id"] == "hall3"
    # Removed: gone from routing and listing, its folder kept aside.
    assert c.delete("/api/plants/hall3", headers=world.h("acme")).status_code == 204
    assert c.get("/plants/hall3/api/plant", headers=world.h("acme")).status_code == 404
    assert [p["id"] for p in c.get("/api/plants", headers=world.h("acme")).json()["items"]] == ["pressing"]
    kept = list((world.park.root / "removed").iterdir())
    assert len(kept) == 1 and kept[0].name.startswith("hall3-") and (kept[0] / "twinverse.duckdb").is_file()
    actions = [orjson.loads(world.park.trust.ledger.entry(i))["action"] for i in range(world.park.trust.ledger.size)]
    assert "plant.add" in actions and "plant.remove" in actions
    assert actions.index("plant.add") < actions.index("plant.remove")


def test_refusals_of_adding_and_removing(world: World) -> None:
    c = world.client
    bad = c.post("/api/plants", json={"text": "plant: x\ntwins:\n  - {id: a, type: nosuch}\n", "file": "x.yaml"},
                 headers=world.h("acme"))  # fmt: skip
    assert bad.status_code == 422 and bad.json()["errors"][0]["file"] == "x.yaml"
    assert bad.json()["errors"][0]["line"] == 3
    taken = c.post("/api/plants", json={"text": SMALL.format(id="pressing")}, headers=world.h("acme"))
    assert taken.status_code == 409
    odd = c.post("/api/plants", json={"text": SMALL.format(id="a.b")}, headers=world.h("acme"))
    assert odd.status_code == 422 and "cannot name a plant of a park" in odd.text
    foreign = c.post("/api/plants", json={"text": SMALL.format(id="h4"), "tenant": "default"},
                     headers=world.h("acme"))  # fmt: skip
    assert foreign.status_code == 403
    for role in (Role.VIEWER, Role.OPERATOR, Role.ENGINEER):
        r = c.post("/api/plants", json={"text": SMALL.format(id="h5")}, headers=world.h("acme", role))
        assert r.status_code == 403, role
    assert c.delete("/api/plants/pressing", headers=world.h("acme")).status_code == 409  # from the settings
    assert c.delete("/api/plants/pressing", headers=world.h("default")).status_code == 404  # not theirs: unseen
    assert c.delete("/api/plants/nowhere", headers=world.h("acme")).status_code == 404
    assert [p.id for p in world.park] == ["bottling", "pressing"]  # nothing half-added


def test_added_plants_come_back_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    park = Park(_settings(data))
    tokens = _tokens(park.trust)
    with TestClient(create_park_app(park)) as c:
        headers = {"Authorization": f"Bearer {tokens[('acme', Role.ADMIN)]}"}
        assert c.post("/api/plants", json={"text": SMALL.format(id="hall9")}, headers=headers).status_code == 201
        body = [{"twin": "hall9/o1", "signal": "temperature", "ts": T0, "value": 250.0}]
        assert c.post("/plants/hall9/api/ingest", json=body, headers=headers).json()["accepted"] == 1
    again = Park(_settings(data))
    with TestClient(create_park_app(again)) as c:
        assert [p.id for p in again] == ["bottling", "pressing", "hall9"]
        r = c.get("/plants/hall9/api/twins/hall9/o1/history", params={"signal": "temperature",
                  "start": "2000-01-01T00:00:00Z"}, headers=headers)  # fmt: skip
        assert r.json()["series"][0]["value"] == [250.0]
        assert again.get("hall9").tenant == "acme"  # type: ignore[union-attr]


def test_a_settings_plant_with_a_duplicate_id_is_a_located_error(tmp_path: Path) -> None:
    from twinverse.errors import ConflictError

    s = Settings(data_dir=tmp_path, plant=example_path(), plants=[PlantEntry(file=example_path())])
    with pytest.raises(ConflictError) as err:
        Park(s)
    assert err.value.details[0].location.path == "plants[0].file"


def test_postgres_plants_get_a_schema_each(pg_url: str, tmp_path: Path) -> None:
    import psycopg

    park = Park(_settings(tmp_path / "data", store=pg_url))
    tokens = _tokens(park.trust)
    with TestClient(create_park_app(park)) as c:
        for prefix, twin, signal, tenant in [("", "bottling/line1/filler", "temperature", "default"),
                                             ("/plants/pressing", "pressing/tandem/p2", "force", "acme")]:
            body = [{"twin": twin, "signal": signal, "ts": T0 + i, "value": 1.0} for i in range(5)]
            r = c.post(f"{prefix}/api/ingest", json=body,
                       headers={"Authorization": f"Bearer {tokens[(tenant, Role.OPERATOR)]}"})  # fmt: skip
            assert r.json()["accepted"] == 5, r.text
    with psycopg.connect(pg_url) as con:
        counts = dict(con.execute("SELECT table_schema, count(*) FROM information_schema.tables "
                                  "WHERE table_name = 'points' GROUP BY 1").fetchall())  # fmt: skip
        assert set(counts) == {"public", "twinverse_pressing"}
        n = {s: con.execute(f"SELECT count(*) FROM {s}.points").fetchone()[0]  # type: ignore[index]
             for s in ("public", "twinverse_pressing")}  # fmt: skip
    assert n == {"public": 5, "twinverse_pressing": 5}


def test_cli_and_client_add_list_and_remove_on_a_running_server(tmp_path: Path) -> None:
    """``twinverse plants …`` and the Python client against a real ``twinverse serve`` process."""
    from typer.testing import CliRunner

    from tests.server import Server
    from twinverse.cli import app
    from twinverse.client import Client
    from twinverse.errors import ConflictError

    server = Server(["serve", "--plant", str(example_path()), "--plants", f"{PRESS}@default", "--auth", "token"],
                    tmp_path)
    server.start()
    try:
        token = (tmp_path / "data" / "admin.token").read_text().strip()
        (tmp_path / "hall7.yaml").write_text(SMALL.format(id="hall7"))
        runner = CliRunner()
        args = ["--url", server.url, "--token", token]
        r = runner.invoke(app, ["plants", "add", str(tmp_path / "hall7.yaml"), *args])
        assert r.exit_code == 0 and f"{server.url}/plants/hall7/" in r.output, r.output
        r = runner.invoke(app, ["plants", "list", *args])
        assert [line.split()[0] for line in r.output.splitlines()] == ["bottling", "pressing", "hall7"], r.output
        (tmp_path / "hall7.yaml").write_text(SMALL.format(id="hall7").replace("count: 2", "count: 3"))
        r = runner.invoke(app, ["plants", "update", "hall7", str(tmp_path / "hall7.yaml"), "-m", "a third oven",
                                *args])  # fmt: skip
        assert r.exit_code == 0 and "plant hall7 runs version 2 (4 twins)" in r.output, r.output
        with Client(f"{server.url}/plants/hall7", token) as hall:
            assert hall.plant()["id"] == "hall7"
            assert hall.ingest(pa_table("hall7/o1", 99.0))["accepted"] == 1
            assert hall.live("hall7/o1")[0]["value"] == 99.0
            everything = hall.live_all().to_arrow()
            assert everything.column("twin").to_pylist() == ["hall7/o1", "hall7/o2", "hall7/o3"]
            assert everything.column("value").to_pylist() == [99.0, None, None]
        with Client(server.url, token) as tv:
            with pytest.raises(ConflictError):
                tv.add_plant(SMALL.format(id="hall7"))
            tv.remove_plant("hall7")
            assert [p["id"] for p in tv.plants()] == ["bottling", "pressing"]
        # As a user sees it: one line naming the problem, no traceback.
        import subprocess
        import sys

        done = subprocess.run([sys.executable, "-m", "twinverse", "plants", "remove", "pressing", *args],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode != 0 and "comes from the settings" in done.stderr + done.stdout
        assert "Traceback" not in done.stderr
    finally:
        server.stop()


def pa_table(twin: str, value: float) -> Any:
    import pyarrow as pa

    return pa.table({"twin": [twin], "signal": ["temperature"], "ts": pa.array([T0 * 1000], pa.timestamp("us", "UTC")),
                     "value": [value]})  # fmt: skip


def test_live_columns_of_a_plant(world: World) -> None:
    """``GET /api/live``: every signal's newest value as columns, from the live state (JSON or Arrow)."""
    import pyarrow as pa

    c = world.client
    assert _ingest(world, "/plants/pressing", "pressing/tandem/p2", "force", [10.0, 20.0], "acme").status_code == 200
    body = [{"twin": "pressing/tandem/p2", "signal": "state", "ts": T0 + 5000, "value": "down"}]
    c.post("/plants/pressing/api/ingest", json=body, headers=world.h("acme", Role.OPERATOR))
    r = c.get("/plants/pressing/api/live", params={"within": "pressing/tandem/p2"}, headers=world.h("acme"))
    cols = r.json()
    assert cols["signal"] == ["state", "force", "strokes", "power"] and set(cols["twin"]) == {"pressing/tandem/p2"}
    assert cols["value"][1] == 20.0 and cols["ts"][1] == T0 + 1000
    assert cols["state"][0] == "down" and cols["value"][0] == 2.0  # index of 'down' in [running, idle, down, off]
    assert cols["value"][2] is None and cols["ts"][2] is None  # never reported
    all_rows = c.get("/plants/pressing/api/live", headers=world.h("acme")).json()
    assert len(all_rows["signal"]) == 12  # the press shop's signals (twinverse validate says so)
    arrow = c.get("/plants/pressing/api/live", params={"format": "arrow"}, headers=world.h("acme"))
    table = pa.ipc.open_stream(arrow.content).read_all()
    assert table.column_names == ["twin", "signal", "value", "state", "ts", "quality"]
    assert table.num_rows == len(all_rows["signal"])
    assert c.get("/plants/pressing/api/live", params={"within": "nope"}, headers=world.h("acme")).status_code == 404
    assert c.get("/plants/pressing/api/live", headers=world.h("default")).status_code == 403
