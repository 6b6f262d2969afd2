"""POST /api/twins/{id}/commands over a platform fed by a real Modbus server: permission, log, faults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from tests.api.test_alarms import token
from tests.ingest.field import wait_until
from tests.ingest.modbus_server import ModbusServer
from tests.ingest.test_commands import modbus_plant
from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.platform import Platform
from twinverse.trust import Role

URL = "/api/twins/p/press1/commands"


@pytest.fixture
def server() -> Iterator[ModbusServer]:
    s = ModbusServer().start()
    yield s
    s.stop()


@pytest.fixture
def platform(tmp_path: Path, server: ModbusServer) -> Platform:
    f = tmp_path / "p.yaml"
    f.write_text(modbus_plant(server.port))
    return Platform(Settings(data_dir=tmp_path / "data", plant=f, store=":memory:", auth="token"))


def test_commands_need_the_operator_permission_are_logged_and_show_the_read_back(
    platform: Platform, server: ModbusServer,
) -> None:  # fmt: skip
    with TestClient(create_app(platform=platform)) as client:
        viewer, operator = token(platform, Role.VIEWER, "vera"), token(platform, Role.OPERATOR, "otto")
        wait_until(lambda: client.get("/readyz").status_code == 200, "the Modbus source to connect")
        r = client.get(URL, headers=viewer)
        assert r.status_code == 200
        assert [(w["signal"], w["source"]) for w in r.json()["writable"]] == [
            ("setpoint", "modbus:plc"), ("strokes", "modbus:plc"), ("scaled", "modbus:plc"), ("door", "modbus:plc"),
            ("lamp", "modbus:plc"), ("far", "modbus:plc"), ("limited", "modbus:plc")]  # fmt: skip
        assert client.get("/api/twins/p/nothere/commands", headers=viewer).status_code == 404
        body = {"signal": "scaled", "value": 12.34}
        assert client.post(URL, json=body).status_code == 401
        r = client.post(URL, json=body, headers=viewer)
        assert r.status_code == 403 and "command:send" in r.json()["detail"]
        r = client.post(URL, json=body, headers=operator)
        assert r.status_code == 200, r.text
        out = r.json()
        assert (out["twin"], out["signal"], out["value"], out["source"]) == ("p/press1", "scaled", 12.34, "modbus:plc")
        assert server.get(1, 3, 23, 1) == [223]

        def live() -> float:
            [v] = [v for v in client.get("/api/twins/p/press1/live", headers=viewer).json() if v["signal"] == "scaled"]
            return float(v["value"])

        wait_until(lambda: live() == pytest.approx(12.3), "the device's read-back (12.3), not the request (12.34)")

        answers = [
            ({"signal": "readonly", "value": 1}, 409, "not writable"),
            ({"signal": "far", "value": 1}, 502, "exception 2 (illegal data address)"),
            ({"signal": "limited", "value": 500}, 422, "outside the range"),
            ({"signal": "nope", "value": 1}, 404, "no signal 'nope'"),
            ({"signal": "scaled", "value": "high"}, 422, "finite number"),
        ]
        for req, status, text in answers:
            r = client.post(URL, json=req, headers=operator)
            assert (r.status_code, r.headers["content-type"]) == (status, "application/problem+json"), (req, r.text)
            assert text in r.json()["detail"], r.json()
        r = client.post("/api/twins/p/nothere/commands", json=body, headers=operator)
        assert r.status_code == 404

        ledger = platform.trust.ledger
        logged = [orjson.loads(x) for x in ledger.entries(0, ledger.size)]
        commands = [x for x in logged if x["action"] == "twin.command"]
        otto = platform.trust.authenticate(operator["Authorization"].split()[1]).id
        assert [(c["target"], c["actor"], c["details"]["signal"], c["details"]["value"]) for c in commands] == [
            ("twin:p/press1", otto, "scaled", 12.34), ("twin:p/press1", otto, "readonly", 1),
            ("twin:p/press1", otto, "far", 1), ("twin:p/press1", otto, "limited", 500),
            ("twin:p/press1", otto, "scaled", "high")]  # fmt: skip
        assert "refused" not in commands[0]["details"]
        assert [c["details"]["refused"][:3] for c in commands[1:]] == ["409", "502", "422", "422"]
        assert out["log_index"] == logged.index(commands[0])


def test_openapi_documents_the_command_route(platform: Platform) -> None:
    with TestClient(create_app(platform=platform)) as client:
        op = client.get("/openapi.json").json()["paths"]["/api/twins/{twin_id}/commands"]["post"]
    assert {"401", "403", "404", "409", "422", "502"} <= set(op["responses"])
    assert "not writable" in op["responses"]["409"]["description"]
