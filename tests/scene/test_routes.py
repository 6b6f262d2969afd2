"""The scene routes: layout JSON, glTF downloads, time travel, permissions, errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient

from twinverse.api import create_app, route_table
from twinverse.config import load_settings
from twinverse.model import Plant
from twinverse.platform import Platform
from twinverse.scene import build_scene, scene_dict, to_glb, to_gltf

FILLER = "bottling/line1/filler"


@pytest.fixture
def client(plant: Plant) -> Iterator[TestClient]:
    app = create_app(platform=Platform(load_settings(store=":memory:"), plant=plant))
    with TestClient(app) as c:
        yield c


def test_layout_json_is_the_scene(client: TestClient, plant: Plant) -> None:
    r = client.get("/api/scene")
    assert r.status_code == 200
    assert r.json() == scene_dict(build_scene(plant))


def test_gltf_downloads(client: TestClient, plant: Plant) -> None:
    scene = build_scene(plant)
    r = client.get("/api/scene.glb")
    assert r.status_code == 200 and r.headers["content-type"] == "model/gltf-binary"
    assert r.content == to_glb(scene)
    assert 'filename="bottling.glb"' in r.headers["content-disposition"]
    r = client.get("/api/scene.gltf")
    assert r.status_code == 200 and r.headers["content-type"] == "model/gltf+json"
    assert r.content == to_gltf(scene)


def test_state_at_a_past_moment(client: TestClient, plant: Plant) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    past = (now - timedelta(minutes=20)).isoformat()
    r = client.post("/api/ingest", json=[
        {"twin": FILLER, "signal": "state", "ts": (now - timedelta(minutes=30)).isoformat(), "value": "down"},
        {"twin": FILLER, "signal": "state", "ts": (now - timedelta(minutes=1)).isoformat(), "value": "running"},
    ])
    assert r.status_code == 200, r.text
    sid = plant.signals.sid(FILLER, "state")
    body = client.get("/api/scene/state", params={"at": past}).json()
    assert body["at"] == int((now - timedelta(minutes=20)).timestamp() * 1000)
    assert body["value"][body["sid"].index(sid)] == "down"
    body = client.get("/api/scene/state", params={"at": "now"}).json()
    assert body["value"][body["sid"].index(sid)] == "running"
    body = client.get("/api/scene/state", params={"at": "-20m", "within": FILLER, "signals": "all"}).json()
    assert body["sid"] == list(plant.signals.of_twin(FILLER))
    values = dict(zip(body["sid"], body["value"], strict=True))
    assert values[sid] == "down"
    assert np.all([values[s] is None for s in body["sid"] if s != sid])


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        ({"at": "yesterday"}, 422, "at: cannot read time 'yesterday'"),
        ({"at": ""}, 422, "at: give a time"),
        ({"lookback": "8d"}, 422, "lookback: at most 7d"),
        ({"lookback": "-1h"}, 422, "lookback: cannot read duration"),
        ({"within": "bottling/nowhere"}, 404, "no twin 'bottling/nowhere'"),
        ({"signals": "some"}, 422, "query.signals"),
    ],
)
def test_state_errors_name_the_parameter(client: TestClient, params: dict[str, str], status: int, detail: str) -> None:
    r = client.get("/api/scene/state", params=params)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert detail in r.json()["detail"]


def test_scene_routes_declare_permissions(client: TestClient) -> None:
    table = {r.path: r.permissions for r in route_table(client.app)}  # type: ignore[arg-type]
    assert table["/api/scene"] == ("plant:read",)
    assert table["/api/scene.glb"] == ("plant:read",)
    assert table["/api/scene.gltf"] == ("plant:read",)
    assert table["/api/scene/state"] == ("plant:read", "data:read")


def test_bad_shape_is_a_problem_response() -> None:
    from twinverse.model import loads_plant

    plant = loads_plant("plant: p\ntypes:\n  m: {shape: blob}\ntwins:\n  - {id: a, type: m}\n", "p.yaml")
    app = create_app(platform=Platform(load_settings(store=":memory:"), plant=plant))
    with TestClient(app) as c:
        r = c.get("/api/scene")
    assert r.status_code == 422
    body = r.json()
    assert body["errors"][0]["file"] == "p.yaml" and body["errors"][0]["line"] == 3
    assert "unknown shape 'blob'" in body["detail"]
