"""``/api/plant/source`` and ``/api/plant/validate``: the plant editor's text and its validator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.model import loads_plant
from twinverse.platform import example_path

TEXT = example_path("bottling.yaml").read_text()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path / "data", plant=example_path(), store=":memory:"))) as c:
        yield c


def test_the_source_is_the_plant_file_with_its_vocabulary(client: TestClient) -> None:
    src = client.get("/api/plant/source").json()
    assert (src["file"], src["text"]) == ("bottling.yaml", TEXT)
    v = src["vocabulary"]
    assert v["kinds"] == ["float", "int", "bool", "state"] and v["shapes"] == ["box", "conveyor", "cylinder", "tank"]
    assert {"filler", "capper", "conveyor"} <= set(v["types"]) and {"bottle/min", "degC", "kW"} <= set(v["units"])


def test_a_valid_text_is_summarised(client: TestClient) -> None:
    r = client.post("/api/plant/validate", json={"text": TEXT, "file": "bottling.yaml"})
    assert r.status_code == 200
    assert r.json() == {"valid": True, "problems": [], "summary": loads_plant(TEXT).summary(), "scene": None}


def test_a_preview_is_the_layout_of_the_edited_text(client: TestClient) -> None:
    capper = "      - {id: capper, name: Capper, type: capper}\n"
    spare = TEXT.replace(capper, capper + "      - {id: spare, name: Spare, type: capper}\n")
    body = client.post("/api/plant/validate", json={"text": spare, "preview": True}).json()
    live = client.get("/api/scene").json()
    assert body["valid"] is True
    assert body["scene"]["objects"]["count"] == live["objects"]["count"] + 1
    new = "bottling/line1/spare"
    assert new in body["scene"]["objects"]["id"] and new not in live["objects"]["id"]
    assert client.post("/api/plant/validate", json={"text": TEXT}).json()["scene"] is None


def test_problems_come_back_located_as_the_loader_reports_them(client: TestClient) -> None:
    bad = TEXT.replace("kind: state", "kind: stat", 1)
    body = client.post("/api/plant/validate", json={"text": bad, "file": "bottling.yaml"}).json()
    assert body["valid"] is False and body["summary"] is None
    kind = "types.machine.signals.state.kind"
    assert body["problems"][0] == {"message": "Input should be 'float', 'int', 'bool' or 'state'",
                                   "file": "bottling.yaml", "line": 13, "path": kind}  # fmt: skip
    syntax = client.post("/api/plant/validate", json={"text": "plant: [", "file": "x.yaml"}).json()
    assert syntax["problems"] == [{"message": "YAML syntax error: expected the node content, but found '<stream end>'",
                                   "file": "x.yaml", "line": 1, "path": None}]  # fmt: skip


def test_the_simulation_section_is_checked_too(client: TestClient) -> None:
    bad = TEXT.replace("capper: {failures: [{mtbf: 2700, mttr: 60}]}", "capper: {failures: [{mtbf: -5, mttr: 60}]}")
    assert bad != TEXT
    body = client.post("/api/plant/validate", json={"text": bad}).json()
    assert body["valid"] is False
    where = [(p["file"], p["path"]) for p in body["problems"]]
    assert where == [("plant.yaml", "simulation.stations.capper.failures[0].mtbf.mean")]


def test_a_body_without_text_is_a_422(client: TestClient) -> None:
    r = client.post("/api/plant/validate", json={"file": "x.yaml"})
    assert r.status_code == 422 and r.json()["detail"] == "body.text: Field required"
