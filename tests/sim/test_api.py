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


@pytest.fixture
def client_without_breaks(tmp_path: Path) -> Iterator[TestClient]:
    """The example plant with its stations off the shift calendar: a run starting at wall-clock time
    inside the mid-shift break would see the filler off, not down, whatever the hour CI runs."""
    text = (EXAMPLES / "bottling.yaml").read_text()
    for line in ("    calendar: shift",):
        assert line in text
        text = text.replace(line, "", 1)
    plant = tmp_path / "bottling.yaml"
    plant.write_text(text)
    settings = Settings(data_dir=tmp_path / "data", plant=plant, store=":memory:")
    with TestClient(create_app(settings)) as c:
        yield c


def test_run_from_the_live_state(client_without_breaks: TestClient) -> None:
    client = client_without_breaks
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
        ("/api/sim/model", "GET"): ("sim:read",),
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


def limited(tmp_path: Path, **limits: Any) -> TestClient:
    settings = Settings(data_dir=tmp_path / "d", plant=EXAMPLES / "bottling.yaml", store=":memory:", **limits)
    return TestClient(create_app(settings))


LONG_RUN = {"parts": 100_000_000, "reps": 1, "from_live": False}


def wait_running(c: TestClient, rid: str) -> None:
    for _ in range(500):
        if c.get(f"/api/sim/runs/{rid}").json()["status"] == "running":
            return
        time.sleep(0.02)
    raise AssertionError("the run never started")


def test_options_over_the_limits_are_422_naming_field_and_limit(client: TestClient) -> None:
    r = client.post("/api/sim/runs", json={"until": 1e300, "reps": 1000})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["detail"] == "until: 1e+300 is above the limit of 1e+09 model time units"
    assert [(e["path"], e["message"]) for e in body["errors"]] == [
        ("until", "1e+300 is above the limit of 1e+09 model time units"),
        ("reps", "1000 is above the limit of 100 replications"),
    ]
    r = client.post("/api/sim/runs", json={"parts": 10, "warmup": 1e10})
    assert r.status_code == 422 and r.json()["detail"] == "warmup: 1e+10 is above the limit of 1e+09 model time units"
    assert client.get("/api/sim/runs").json()["runs"] == []  # nothing was accepted


def test_a_full_queue_is_429_with_retry_after(tmp_path: Path) -> None:
    with limited(tmp_path, sim_max_concurrent=1, sim_max_queued=5, sim_max_queued_per_tenant=1) as c:
        first = c.post("/api/sim/runs", json=LONG_RUN).json()["id"]
        wait_running(c, first)
        assert c.post("/api/sim/runs", json=LONG_RUN).status_code == 202  # waits
        r = c.post("/api/sim/runs", json=LONG_RUN)
        assert r.status_code == 429 and r.headers["retry-after"] == "10"
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["detail"] == ("the simulation queue of tenant 'default' is full (1 of at most 1 runs "
                                      "waiting); try again later")
    with limited(tmp_path / "two", sim_max_concurrent=1, sim_max_queued=0) as c:
        first_r = c.post("/api/sim/runs", json=LONG_RUN)
        assert first_r.status_code == 202, first_r.json()
        wait_running(c, first_r.json()["id"])
        r = c.post("/api/sim/runs", json=LONG_RUN)
        assert r.status_code == 429 and r.headers["retry-after"] == "10"
        assert r.json()["detail"] == "the simulation queue is full (0 of at most 0 runs waiting); try again later"


def test_a_run_over_its_event_budget_fails_with_the_reason(tmp_path: Path) -> None:
    with limited(tmp_path, sim_max_events=100_000) as c:
        body = wait_done(c, c.post("/api/sim/runs", json=LONG_RUN).json()["id"])
    assert body["status"] == "failed" and body["result"] is None
    assert body["error"] == ("the run was stopped after 100001 events, above its limit of 100000 events; "
                             "shorten the horizon (until), or ask for fewer parts or replications")


def test_cancel_a_queued_and_a_running_run(tmp_path: Path) -> None:
    with limited(tmp_path, sim_max_concurrent=1) as c:
        running = c.post("/api/sim/runs", json=LONG_RUN).json()["id"]
        wait_running(c, running)
        queued = c.post("/api/sim/runs", json=LONG_RUN).json()["id"]
        r = c.delete(f"/api/sim/runs/{queued}")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"  # at once: it never started
        assert c.get(f"/api/sim/runs/{running}").json()["status"] == "running"
        assert c.delete(f"/api/sim/runs/{running}").status_code == 200
        assert wait_done(c, running)["status"] == "cancelled"
        assert wait_done(c, queued)["error"] == "cancelled"


def test_stopping_the_server_cancels_queued_and_running_runs(tmp_path: Path) -> None:
    c = limited(tmp_path, sim_max_concurrent=1)
    with c:
        running = c.post("/api/sim/runs", json=LONG_RUN).json()["id"]
        wait_running(c, running)
        queued = c.post("/api/sim/runs", json=LONG_RUN).json()["id"]
    runner = c.app.state.platform.sim  # type: ignore[attr-defined]
    for rid in (running, queued):
        job = runner.wait(rid, timeout=60)
        assert job.status == "cancelled" and job.error == "the server stopped during the run"
