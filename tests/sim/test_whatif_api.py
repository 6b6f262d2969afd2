"""What-if runs over ``/api/sim``: the model's parameters, and runs that change them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from twinverse.api import create_app
from twinverse.config import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", plant=EXAMPLES / "bottling.yaml", store=":memory:")
    with TestClient(create_app(settings)) as c:
        yield c


def _done(c: TestClient, run_id: str) -> dict[str, Any]:
    for _ in range(600):
        run: dict[str, Any] = c.get(f"/api/sim/runs/{run_id}").json()
        if run["status"] in ("done", "failed", "cancelled"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def test_the_model_lists_what_a_run_may_change(client: TestClient) -> None:
    m = client.get("/api/sim/model").json()
    assert (m["name"], m["time_unit"]) == ("bottling line 1", "s")
    assert m["run"] == {"until": 28800.0, "warmup": 600.0, "reps": 5, "seed": 1}
    params = {p["name"]: p for p in m["params"]}
    c3 = {"name": "buffer.c3.capacity", "kind": "buffer", "element": "c3", "attr": "capacity", "value": 400.0,
          "twin": "bottling/line1/c3"}  # fmt: skip
    assert params["buffer.c3.capacity"] == c3
    assert params["station.capper.mtbf"]["value"] == 2700.0 and params["station.capper.mttr"]["value"] == 60.0
    assert params["station.filler.process_mean"]["value"] == pytest.approx(0.1)
    assert {"id": "capper", "twin": "bottling/line1/capper"} in m["stations"]


def test_a_bad_parameter_is_a_422_naming_it(client: TestClient) -> None:
    r = client.post("/api/sim/runs", json={"until": 600, "reps": 2, "params": {"buffer.nope.capacity": 4}})
    assert r.status_code == 422
    buffers = "c1, c2, c3, c4, c5, c6, c7, depal.in"
    assert r.json()["detail"] == f"parameter buffer.nope.capacity: no buffer 'nope' (buffers: {buffers})"
    r = client.post("/api/sim/runs", json={"until": 600, "reps": 2, "params": {"capacity": 4}})
    assert r.status_code == 422
    assert r.json()["detail"] == "parameter 'capacity': expected kind.id.attr (e.g. station.filler.process_mean)"
    r = client.post("/api/sim/runs", json={"until": 600, "reps": 2, "params": {"buffer.c3.speed": 4}})
    assert r.status_code == 422 and r.json()["detail"].startswith("parameter 'buffer.c3.speed': cannot set 'speed'")
    r = client.post("/api/sim/runs", json={"until": 600, "reps": 2, "params": {"station.capper.mtbf": -1}})
    assert r.status_code == 422 and r.json()["detail"] == "parameter station.capper.mtbf: a mean must be > 0, got -1.0"


def test_a_slower_filler_lowers_throughput_with_the_same_random_numbers(client: TestClient) -> None:
    body = {"until": 1800, "reps": 2, "seed": 3, "from_live": False}
    base = client.post("/api/sim/runs", json=body)
    slow = client.post("/api/sim/runs", json={**body, "params": {"station.filler.process_mean": 0.2}})
    assert base.status_code == slow.status_code == 202
    assert slow.json()["request"]["params"] == {"station.filler.process_mean": 0.2}
    b, s = _done(client, base.json()["id"])["result"], _done(client, slow.json()["id"])["result"]
    # The filler at 0.2 s per bottle caps the line at 5 bottles/s; the baseline runs near 10.
    assert s["throughput"]["mean"] <= 5.0 < b["throughput"]["mean"]
    assert s["bottleneck"]["station"] == "filler"


def test_a_shift_pattern_can_change_for_one_run(client: TestClient) -> None:
    assert client.get("/api/sim/model").json()["calendars"] == [{"id": "shift", "period": 28800.0,
                                                                 "off": [[14400.0, 16200.0]]}]  # fmt: skip
    for shift, detail in [
        ({"nope": {"period": 10}}, "calendar 'nope': no such calendar (calendars: shift)"),
        ({"shift": {"period": 100, "off": [[50, 120]]}},
         "calendar 'shift': need 0 <= start < end <= period, got [50, 120]"),
        ({"shift": {"period": 100, "off": [[50, 60], [55, 70]]}},
         "calendar 'shift': off intervals must be sorted and must not overlap"),
        ({"shift": {"period": 100, "off": [[0, 100]]}},
         "calendar 'shift': a calendar must leave some working time in each period"),
    ]:
        r = client.post("/api/sim/runs", json={"until": 600, "reps": 2, "calendars": shift})
        assert (r.status_code, r.json()["detail"]) == (422, detail)
    # the whole horizon inside the break: nothing leaves the line; without the break, bottles do
    body = {"until": 1200, "reps": 2, "seed": 3, "from_live": False}
    no_work = {"shift": {"period": 28800, "off": [[0, 14400]]}}
    stopped = client.post("/api/sim/runs", json={**body, "calendars": no_work})
    open_ = client.post("/api/sim/runs", json={**body, "calendars": {"shift": {"period": 28800, "off": []}}})
    assert stopped.status_code == open_.status_code == 202
    s, o = _done(client, stopped.json()["id"])["result"], _done(client, open_.json()["id"])["result"]
    assert s["exits"]["mean"] == 0 and o["exits"]["mean"] > 5000
