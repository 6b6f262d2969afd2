"""``/api/plant/versions``: saving a model version switches the running twin and keeps history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.platform import Platform, example_path
from twinverse.trust import Role

TEXT = example_path("bottling.yaml").read_text()
F, C, AIR = "bottling/line1/filler", "bottling/line1/capper", "bottling/utilities/air"
CAPPER = "      - {id: capper, name: Capper, type: capper}\n"
#: Version 2: a spare capper, a new capper signal, the compressor's 'running' signal removed.
V2 = (
    TEXT.replace(CAPPER, CAPPER + "      - {id: spare, name: Spare, type: capper}\n")
    .replace("      torque: {unit: N*m, range: [0, 10]}\n",
             "      torque: {unit: N*m, range: [0, 10]}\n      vibration: {unit: mm/s, range: [0, 50]}\n")
    .replace("      running: {kind: bool}\n", "")
)  # fmt: skip
T0 = "2026-01-05T08:00:00Z"
T1 = "2026-01-05T08:00:01Z"


def _settings(data: Path) -> Settings:
    return Settings(data_dir=data, plant=example_path(), auth="token")


def _tokens(platform: Platform) -> dict[str, str]:
    admin = platform.trust.local_admin("default")
    out = {}
    for name, role in (("olga", Role.OPERATOR), ("erik", Role.ENGINEER)):
        ident, _ = platform.trust.access.create_identity(admin, "default", name, role=role)
        out[name] = platform.trust.access.create_token(admin, ident.did, "default")[1]
    return out


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    platform = Platform(_settings(tmp_path / "data"))
    heads = {n: {"Authorization": f"Bearer {t}"} for n, t in _tokens(platform).items()}
    with TestClient(create_app(platform=platform)) as c:
        yield c, heads


def _ingest(c: TestClient, h: dict[str, str], points: list[dict[str, Any]]) -> dict[str, Any]:
    r = c.post("/api/ingest", json=points, headers=h, params={"partial": "true"})
    assert r.status_code in (200, 207), r.text
    out: dict[str, Any] = r.json()
    return out


def _history(c: TestClient, h: dict[str, str], twin: str, signal: str) -> list[Any]:
    r = c.get(f"/api/twins/{twin}/history", params={"signal": signal, "start": "2026-01-05T07:00:00Z"}, headers=h)
    assert r.status_code == 200, r.text
    values: list[Any] = r.json()["series"][0]["value"]
    return values


def test_a_saved_version_runs_at_once_and_keeps_history(env: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    c, h = env
    e = h["erik"]
    _ingest(c, e, [{"twin": F, "signal": "speed", "ts": T0, "value": 598.0},
                   {"twin": C, "signal": "torque", "ts": T0, "value": 2.5},
                   {"twin": AIR, "signal": "running", "ts": T0, "value": True}])  # fmt: skip
    assert c.get("/api/plant/versions", headers=e).json() == {"current": None, "versions": []}

    refused = c.post("/api/plant/versions", json={"text": V2}, headers=h["olga"])
    assert (refused.status_code, refused.json()["detail"]) == (403, "permission 'model:write' required")
    r = c.post("/api/plant/versions", json={"text": V2, "message": "a spare capper"}, headers=e)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["number"], body["author"], body["message"], body["current"]) == (2, "erik", "a spare capper", True)
    assert body["summary"]["twins"] == 20  # one more than the 19 of the file

    # The live model changed: the new twin and signal exist, the removed signal does not.
    assert c.get("/api/plant", headers=e).json()["twins"] == 20
    assert "vibration" in c.get(f"/api/twins/{C}", headers=e).json()["signals"]
    assert c.get("/api/twins/bottling/line1/spare", headers=e).status_code == 200
    res = _ingest(c, e, [{"twin": C, "signal": "vibration", "ts": T1, "value": 4.0},
                         {"twin": F, "signal": "speed", "ts": T1, "value": 601.0},
                         {"twin": AIR, "signal": "running", "ts": T1, "value": False}])  # fmt: skip
    assert (res["accepted"], res["rejected"]) == (2, 1)
    # History written before the switch is still its signals' history, new points join it.
    assert _history(c, e, F, "speed") == [598.0, 601.0]
    assert _history(c, e, C, "torque") == [2.5]
    assert _history(c, e, C, "vibration") == [4.0]
    live = {v["signal"]: v["value"] for v in c.get(f"/api/twins/{F}/live", headers=e).json()}
    assert live["speed"] == 601.0

    # Versions, texts and the diff are readable; the editor now opens the new version.
    listed = c.get("/api/plant/versions", headers=h["olga"]).json()
    assert listed["current"] == 2
    assert [(v["number"], v["author"]) for v in listed["versions"]] == [(1, "file"), (2, "erik")]
    assert c.get("/api/plant/versions/1", headers=e).json()["text"] == TEXT
    diff = c.get("/api/plant/versions/2/diff", headers=e).json()
    assert diff["diff"].startswith("--- bottling.yaml@1\n+++ bottling.yaml@2\n")
    changed = [ln for ln in diff["diff"].splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert changed == ["+      vibration: {unit: mm/s, range: [0, 50]}", "-      running: {kind: bool}",
                       "+      - {id: spare, name: Spare, type: capper}"]  # fmt: skip
    src = c.get("/api/plant/source", headers=e).json()
    assert (src["text"], src["version"]) == (V2, 2)

    # The save is in the tamper-evident log with the text's digest.
    platform = c.app.state.platform  # type: ignore[attr-defined]
    [entry] = [x.record() for x in platform.trust.ledger.entries_by_action("plant.model.version", "plant:bottling")]
    assert entry["body_sha256"] == body["sha256"] and entry["details"]["version"] == 2


def test_a_bad_version_is_refused_with_its_errors_and_the_running_one_stays(
    env: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    c, h = env
    e = h["erik"]
    bad = V2.replace("kind: state", "kind: stat", 1)
    r = c.post("/api/plant/versions", json={"text": bad}, headers=e)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0] == {"message": "Input should be 'float', 'int', 'bool' or 'state'",
                                     "file": "bottling.yaml", "line": 13,
                                     "path": "types.machine.signals.state.kind"}  # fmt: skip
    other = c.post("/api/plant/versions", json={"text": TEXT.replace("plant: bottling", "plant: other")}, headers=e)
    assert other.status_code == 422
    assert other.json()["errors"][0]["message"] == "a new version must keep the plant id 'bottling', not 'other'"
    assert c.get("/api/plant", headers=e).json()["twins"] == 19
    assert c.get("/api/plant/versions", headers=e).json()["versions"] == []
    assert c.get("/api/plant/source", headers=e).json()["text"] == TEXT


def test_a_restart_serves_the_newest_version_with_the_same_sids(tmp_path: Path) -> None:
    data = tmp_path / "data"
    platform = Platform(_settings(data))
    e = {"Authorization": f"Bearer {_tokens(platform)['erik']}"}
    with TestClient(create_app(platform=platform)) as c:
        assert c.post("/api/plant/versions", json={"text": V2}, headers=e).status_code == 201
        _ingest(c, e, [{"twin": C, "signal": "vibration", "ts": T0, "value": 3.0},
                       {"twin": "bottling/line1/spare", "signal": "torque", "ts": T0, "value": 1.5}])  # fmt: skip
        sids = platform.plant.signals.layout()
    again = Platform(_settings(data))
    assert again.plant.signals.layout() == sids and again.plant.summary()["twins"] == 20
    with TestClient(create_app(platform=again)) as c:
        assert _history(c, e, C, "vibration") == [3.0]
        assert _history(c, e, "bottling/line1/spare", "torque") == [1.5]
