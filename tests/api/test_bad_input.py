"""Input that used to crash the server (issue 10, D1–D5) gets a 4xx that says what is wrong."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.platform import Platform, example_path

FILLER = "bottling/line1/filler"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(plant=example_path(), data_dir=tmp_path_factory.mktemp("bad"), store=":memory:",
                        auth="open", seal_history=False)
    with TestClient(create_app(platform=Platform(settings)), raise_server_exceptions=False) as c:
        yield c


def arrow(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue()


@pytest.mark.parametrize("ts", [2**53 + 1, -(2**53) - 1, 2**63 - 1, -(2**63)])
def test_d1_huge_integer_timestamps_are_rejected_with_a_reason(client: TestClient, ts: int) -> None:
    body = f'[{{"twin":"{FILLER}","signal":"temperature","ts":{ts},"value":4.2}}]'
    r = client.post("/api/ingest", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    [err] = r.json()["errors"]
    assert "timestamp" in err["message"]


def test_d2_deeply_nested_value_is_rejected_not_a_500(client: TestClient) -> None:
    value = "[" * 1000 + "]" * 1000
    body = f'[{{"twin":"{FILLER}","signal":"temperature","ts":"2026-01-01T00:00:00Z","value":{value}}}]'
    r = client.post("/api/ingest", content=body, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, r.text


@pytest.mark.parametrize(
    "table",
    [
        pa.table({"twin": pa.array([1], pa.int64()), "signal": ["temperature"], "ts": [1_790_000_000_000],
                  "value": [4.0]}),
        pa.table({"twin": [FILLER], "signal": ["temperature"], "ts": pa.array([10**15], pa.timestamp("s")),
                  "value": [4.0]}),
        pa.table({"twin": [FILLER], "signal": ["temperature"], "ts": pa.array([2**63 - 1], pa.timestamp("ns")),
                  "value": [4.0]}),
        pa.table({"twin": [FILLER], "signal": ["temperature"], "ts": pa.array([-(2**63)], pa.int64()),
                  "value": [4.0]}),
    ],
    ids=["twin-int64", "ts-seconds-1e15", "ts-ns-max", "ts-int64-min"],
)
def test_d3_arrow_streams_with_odd_columns_are_4xx(client: TestClient, table: pa.Table) -> None:
    headers = {"content-type": "application/vnd.apache.arrow.stream"}
    r = client.post("/api/ingest", content=arrow(table), headers=headers)
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_d4_a_moment_before_the_lookback_can_reach_is_422(client: TestClient) -> None:
    r = client.get("/api/scene/state", params={"at": "0001-01-01T00:00:00Z"})
    assert r.status_code == 422, r.text
    assert "at" in r.json()["detail"]


def test_d5_huge_quarantine_offset_is_422_without_sql(client: TestClient) -> None:
    r = client.get("/api/quarantine", params={"offset": str(2**63)})
    assert r.status_code == 422, r.text
    assert "SELECT" not in r.text and "offset" in r.text


def test_in_range_input_still_works(client: TestClient, tmp_path: Path) -> None:
    body = f'[{{"twin":"{FILLER}","signal":"temperature","ts":1790000000000,"value":4.2}}]'
    r = client.post("/api/ingest", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["stored"] == 1


def test_malformed_dids_and_asset_names_are_refused_as_documented(client: TestClient) -> None:
    """The OpenAPI pattern is what the server enforces: 422 naming the parameter, not 404 or 500."""
    for path in ("/api/identities/not-a-did", "/api/did/did:web:example.com", "/api/identities/did:key:z0OIl"):
        r = client.get(path)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["errors"][0]["path"] == "path.did"
    r = client.post("/api/assets?name=../etc&license=MIT", content=b"x")
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "query.name"
    r = client.post("/api/assets?name=ok/name-1.csv&license=MIT", content=b"x")
    assert r.status_code == 201, r.text
    spec = client.app.openapi()  # type: ignore[attr-defined]
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/identities/{did}"]["get"]["parameters"]}
    assert params["did"]["pattern"].startswith("^did:key:z")
