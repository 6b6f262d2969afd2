"""``/api/sim``: runs started from the live twin, listed with progress, fetched with results."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from twinverse.api import create_app
from twinverse.api.app import route_table
from twinverse.config import Settings
from twinverse.core.batch import make_batch
from twinverse.sim.results import SCHEMA

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
L = "bottling/line1"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", plant=EXAMPLES / "bottling.yaml", store=":memory:")
    with TestClient(create_app(settings)) as c:
        yield c


def feed_live_state(c: TestClient) -> None:
    """The filler went down 120 s ago (after running), the capper runs, conveyor c3 holds 150 bottles."""
    platform = c.app.state.platform  # type: ignore[attr-defined]
    plant, engine = platform.plant, platform.engine
    states = plant.state_names(f"{L}/filler")
    now = int(time.time() * 1e6)
    sid = plant.signals.sid
    rows = [
        (now - 300_000_000, sid(f"{L}/filler", "state"), states.index("running")),
        (now - 120_000_000, sid(f"{L}/filler", "state"), states.index("down")),
        (now - 10_000_000, sid(f"{L}/filler", "state"), states.index("down")),  # reported again
        (now - 5_000_000, sid(f"{L}/capper", "state"), states.index("running")),
        (now - 5_000_000, sid(f"{L}/c3", "level"), 150.0),
    ]
    ts, sids, vals = zip(*rows, strict=True)
    res = engine.ingest(make_batch(np.array(ts), list(sids), list(vals)))
    assert res.rejected == 0


def wait_done(c: TestClient, rid: str) -> dict[str, Any]:
    for _ in range(600):
        r = c.get(f"/api/sim/runs/{rid}")
        assert r.status_code == 200
        body = r.json()
        if body["status"] in ("done", "failed", "cancelled"):
            return dict(body)
        time.sleep(0.05)
    raise AssertionError("the run did not finish")


def test_run_from_the_live_state(client: TestClient) -> None:
    feed_live_state(client)
    r = client.post("/api/sim/runs", json={"until": 900, "reps": 2, "seed": 3})
    assert r.status_code == 202, r.text
    run = r.json()
    assert r.headers["location"] == f"/api/sim/runs/{run['id']}"
    assert run["status"] in ("queued", "running", "done") and run["request"]["until"] == 900
    body = wait_done(client, run["id"])
    assert body["status"] == "done" and body["progress"] == 1.0, body.get("error")
    snap = body["snapshot"]
    assert snap["down"]["filler"] == pytest.approx(120, abs=3)  # seconds since it went down, from history
    assert snap["levels"] == {"c3": 150} and snap["busy"] == {"capper": 1}
    assert any(n.startswith("filler: down for") for n in snap["notes"])
    res = body["result"]
    assert res["schema"] == SCHEMA and res["replications"] == 2 and res["time_unit"] == "s"
    filler = next(s for s in res["stations"] if s["id"] == "filler")
    assert filler["states"]["down"]["mean"] > 0.01  # the repair under way shows in the forecast
    listed = client.get("/api/sim/runs").json()["runs"]
    assert [x["id"] for x in listed] == [run["id"]] and listed[0]["status"] == "done"


def test_run_from_an_empty_plant(client: TestClient) -> None:
    r = client.post("/api/sim/runs", json={"parts": 500, "reps": 1, "from_live": False})
    body = wait_done(client, r.json()["id"])
    assert body["status"] == "done" and body["snapshot"] is None
    assert body["result"]["exits"]["mean"] == 500


def test_errors_are_problems(client: TestClient) -> None:
    r = client.get("/api/sim/runs/nope")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    r = client.post("/api/sim/runs", json={"until": -5})
    assert r.status_code == 422
    r = client.post("/api/sim/runs", json={"reps": 2})
    assert r.status_code == 422 and "give a stop time" in r.json()["detail"]
    r = client.post("/api/sim/runs", json={"until": 10, "colour": "red"})
    assert r.status_code == 422


def test_plant_without_simulation_section(tmp_path: Path) -> None:
    live_only = tmp_path / "live.yaml"
    live_only.write_text((EXAMPLES / "bottling.yaml").read_text().split("\nsimulation:", 1)[0])
    settings = Settings(data_dir=tmp_path / "d", plant=live_only, store=":memory:")
    with TestClient(create_app(settings)) as c:
        assert c.app.state.platform.plant.simulation_doc is None  # type: ignore[attr-defined]
        r = c.post("/api/sim/runs", json={"until": 10})
        assert r.status_code == 422 and "no 'simulation:' section" in r.json()["detail"]


def test_every_sim_route_declares_its_permission(client: TestClient) -> None:
    routes = {(r.path, m): r.permissions for r in route_table(client.app) for m in r.methods  # type: ignore[arg-type]
              if r.path.startswith("/api/sim")}
    assert routes == {
        ("/api/sim/runs", "POST"): ("sim:run",),
        ("/api/sim/runs", "GET"): ("sim:read",),
        ("/api/sim/runs/{run_id}", "GET"): ("sim:read",),
        ("/api/sim/runs/{run_id}", "DELETE"): ("sim:run",),
    }


def test_stopping_the_server_stops_running_simulations(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", plant=EXAMPLES / "bottling.yaml", store=":memory:")
    app = create_app(settings)
    with TestClient(app) as c:
        rid = c.post("/api/sim/runs", json={"parts": 100_000_000, "reps": 1, "from_live": False}).json()["id"]
        for _ in range(200):  # until it is under way
            if c.get(f"/api/sim/runs/{rid}").json()["status"] == "running":
                break
            time.sleep(0.02)
    runner = app.state.platform.sim
    job = runner.wait(rid, timeout=60)
    assert job.status == "cancelled" and job.error == "the server stopped during the run"


def test_cancel_a_run(client: TestClient) -> None:
    rid = client.post("/api/sim/runs", json={"parts": 100_000_000, "reps": 1, "from_live": False}).json()["id"]
    r = client.delete(f"/api/sim/runs/{rid}")
    assert r.status_code == 200 and r.json()["id"] == rid
    body = wait_done(client, rid)
    assert body["status"] == "cancelled" and body["error"] == "cancelled" and body["result"] is None
    assert client.delete(f"/api/sim/runs/{rid}").json()["status"] == "cancelled"  # again: unchanged
    assert client.delete("/api/sim/runs/nope").status_code == 404
