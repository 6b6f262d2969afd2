"""Probes, health and metrics: /livez, /readyz, /healthz and /metrics against a real DuckDB file.

Metrics are parsed with prometheus_client's own parser and compared with exact counts of
known points, so a renamed series or a miscounted reason fails here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.core import LATENCY_BUCKETS, SIZE_BUCKETS
from twinverse.live import Engine
from twinverse.platform import Platform, example_path
from twinverse.trust import Role

F = "bottling/line1/filler"
PROBLEM = "application/problem+json"
NOW_MS = int(time.time() * 1000)
T0 = NOW_MS - 3_600_000


def pt(signal: str, value: Any, ts: Any = T0, twin: str = F) -> dict[str, Any]:
    return {"twin": twin, "signal": signal, "ts": ts, "value": value}


#: One request, stored with ?partial=true: 3 good points, 3 rejected by the engine (one
#: reason each), 2 rejected by the HTTP decoder before the engine ("source").
MIXED = [
    pt("temperature", 4.5),
    pt("temperature", 5.5, T0 + 1000),
    pt("pressure", 2.5),
    pt("temperature", 1e6),  # out_of_range
    pt("temperature", 20.0, 1000),  # 1970: too_old
    pt("temperature", 20.0, NOW_MS + 3 * 86_400_000),  # three days ahead: too_new
    pt("temperature", 1.0, twin="bottling/nope"),  # unknown twin: source
    pt("temperature", 1.0, "garbage"),  # unparsable timestamp: source
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path / "data", plant=example_path()))) as c:
        yield c


def ingest(c: TestClient, points: list[dict[str, Any]], *, partial: bool = True) -> int:
    r = c.post("/api/ingest", content=orjson.dumps(points), headers={"content-type": "application/json"},
               params={"partial": "true"} if partial else {})  # fmt: skip
    return r.status_code


def scrape(c: TestClient, headers: dict[str, str] | None = None) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """``{sample name: {sorted labels: value}}`` of one scrape, parsed by prometheus_client."""
    r = c.get("/metrics", headers=headers or {})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def by(samples: dict[tuple[tuple[str, str], ...], float], label: str) -> dict[str, float]:
    return {dict(k)[label]: v for k, v in samples.items()}


# -- probes -------------------------------------------------------------------------------------------
def test_livez_and_readyz_need_no_token_where_everything_else_does(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, plant=example_path(), auth="token")
    with TestClient(create_app(settings)) as c:
        assert (c.get("/livez").status_code, c.get("/livez").json()) == (200, {"status": "ok"})
        assert (c.get("/readyz").status_code, c.get("/readyz").json()) == (200, {"status": "ok"})
        for path in ("/healthz", "/metrics"):
            r = c.get(path)
            assert r.status_code == 401 and r.headers["content-type"] == PROBLEM, path


def test_readyz_is_503_naming_the_store_when_the_store_is_closed(tmp_path: Path) -> None:
    # No history sealer: its thread reads the store at start, and DuckDB refuses to close a busy connection.
    settings = Settings(data_dir=tmp_path, plant=example_path(), seal_history=False)
    with TestClient(create_app(settings)) as client:
        client.app.state.platform.store.close()  # type: ignore[attr-defined]
        _closed_store_is_not_ready(client)


def _closed_store_is_not_ready(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 503 and r.headers["content-type"] == PROBLEM
    body = r.json()
    assert (body["title"], body["detail"]) == ("Not ready", "not ready: store")
    assert [(e["path"], e["message"]) for e in body["errors"]] == [("store", "the store does not answer")]
    assert "Connection" not in r.text  # the backend's own message stays in the log
    assert client.get("/livez").status_code == 200  # alive all the same: a restart would not help
    health = client.get("/healthz").json()
    assert (health["status"], health["problems"]) == ("not ready", ["the store does not answer"])
    assert scrape(client)["twinverse_ready"] == {(): 0.0}


def test_readyz_is_503_before_start_and_names_a_disconnected_source(tmp_path: Path) -> None:
    platform = Platform(Settings(data_dir=tmp_path, plant=example_path()))
    c = TestClient(create_app(platform=platform))  # no lifespan: the platform never starts
    r = c.get("/readyz")
    assert r.status_code == 503
    assert [e["path"] for e in r.json()["errors"]] == ["platform"]

    class Broker:
        connected = False

        def start(self, engine: Engine) -> None: ...
        def stop(self) -> None: ...
        def describe(self) -> str:
            return "a broker"

        def health(self) -> dict[str, bool | int | float | str]:
            return {"kind": "mqtt", "connected": self.connected, "reconnects": 3}

    broker = Broker()
    platform.add_source(broker)
    with TestClient(create_app(platform=platform)) as c:
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["errors"] == [
            {"message": "source mqtt is not connected", "file": None, "line": None, "path": "source:mqtt"}
        ]
        m = scrape(c)
        assert m["twinverse_source_connected"] == {(("source", "mqtt"),): 0.0}
        assert m["twinverse_source_reconnects_total"] == {(("source", "mqtt"),): 3.0}
        broker.connected = True
        assert c.get("/readyz").status_code == 200
        assert scrape(c)["twinverse_source_connected"] == {(("source", "mqtt"),): 1.0}
        assert c.get("/healthz").json()["source_health"] == {
            "mqtt": {"kind": "mqtt", "connected": True, "reconnects": 3}
        }


# -- metrics ------------------------------------------------------------------------------------------
def test_metrics_count_known_points_by_outcome_and_reason(client: TestClient) -> None:
    assert ingest(client, MIXED) == 200
    assert ingest(client, [pt("temperature", 6.5, T0 + 2000), pt("pressure", 2.6, T0 + 2000)]) == 200
    assert ingest(client, [pt("pressure", 2.7, T0 + 3000), pt("pressure", 1e9)], partial=False) == 422  # atomic
    m = scrape(client)
    # received counts what reached the engine or its quarantine: 8 + 2 + 2
    assert by(m["twinverse_ingest_points_total"], "outcome") == {"received": 12, "accepted": 5, "rejected": 6}
    assert m["twinverse_ingest_stored_rows_total"] == {(): 5.0}
    reasons = by(m["twinverse_quarantined_points_total"], "reason")
    assert {k: v for k, v in reasons.items() if v} == {"source": 2, "out_of_range": 2, "too_old": 1, "too_new": 1}
    assert set(reasons) >= {"nan", "unit_mismatch", "unknown_signal"}  # zeros too: no series appears late
    assert sum(reasons.values()) == 6 == client.get("/api/quarantine").json()["total"]
    # Two store appends (the atomic request stored nothing): of 3 and 2 rows.
    assert m["twinverse_store_commit_seconds_count"] == {(): 2.0}
    assert m["twinverse_store_commit_seconds_bucket"][(("le", "+Inf"),)] == 2.0
    assert len(m["twinverse_store_commit_seconds_bucket"]) == len(LATENCY_BUCKETS) + 1
    assert 0 < m["twinverse_store_commit_seconds_sum"][()] < 10
    rows = by(m["twinverse_store_commit_rows_bucket"], "le")
    assert len(rows) == len(SIZE_BUCKETS) + 1
    assert (rows["1.0"], rows["10.0"], rows["+Inf"]) == (0, 2, 2)
    assert (m["twinverse_store_commit_rows_count"], m["twinverse_store_commit_rows_sum"]) == ({(): 2.0}, {(): 5.0})
    # One request after the other: three group commits of one batch each (the 422 one included).
    assert (m["twinverse_ingest_group_batches_count"], m["twinverse_ingest_group_batches_sum"]) == (
        {(): 3.0}, {(): 3.0})
    health = client.get("/healthz").json()
    assert health["ingest"] == {"received": 12, "accepted": 5, "rejected": 6, "stored": 5, "sequence": 2}
    assert health["rejected_by_reason"] == {"source": 2, "out_of_range": 2, "too_old": 1, "too_new": 1}


def test_metrics_of_the_other_services(client: TestClient) -> None:
    m = scrape(client)
    (labels, value), = m["twinverse_build_info"].items()
    assert (dict(labels)["plant"], dict(labels)["store"], value) == ("bottling", "DuckDBStore", 1.0)
    assert m["twinverse_ready"] == {(): 1.0}
    assert m["twinverse_ws_clients"] == {(): 0.0} and m["twinverse_ws_lag_batches"] == {(): 0.0}
    assert by(m["twinverse_sim_jobs"], "status") == {"queued": 0, "running": 0, "done": 0, "failed": 0,
                                                     "cancelled": 0}  # fmt: skip
    assert m["twinverse_sim_jobs_submitted_total"] == {(): 0.0}
    r = client.post("/api/sim/runs", json={"until": 60, "reps": 1, "warmup": 0})
    assert r.status_code in (200, 201, 202), r.text
    client.app.state.platform.sim.wait(r.json()["id"], timeout=60)  # type: ignore[attr-defined]
    m = scrape(client)
    assert by(m["twinverse_sim_jobs"], "status")["done"] == 1
    assert m["twinverse_sim_jobs_submitted_total"] == {(): 1.0}


def test_every_app_has_its_own_registry(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path / "a", plant=example_path()))) as a, \
            TestClient(create_app(Settings(data_dir=tmp_path / "b", plant=example_path()))) as b:  # fmt: skip
        assert ingest(a, [pt("temperature", 4.5)]) == 200
        assert by(scrape(a)["twinverse_ingest_points_total"], "outcome")["accepted"] == 1
        assert by(scrape(b)["twinverse_ingest_points_total"], "outcome")["accepted"] == 0


def test_metrics_speak_openmetrics_when_asked(client: TestClient) -> None:
    r = client.get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/openmetrics-text")
    assert r.text.rstrip().endswith("# EOF")


def test_metrics_with_a_token_scoped_to_health(tmp_path: Path) -> None:
    """What a Prometheus scrape job does (docs/operations.md): a bearer token with only ``health``."""
    settings = Settings(data_dir=tmp_path, plant=example_path(), auth="token")
    with TestClient(create_app(settings)) as c:
        trust = c.app.state.platform.trust  # type: ignore[attr-defined]
        admin = trust.local_admin("default")
        _, scraper = trust.access.create_token(admin, admin.id, "default", name="prometheus", scopes=["health"])
        ident, _ = trust.access.create_identity(admin, "default", "robot", role=Role.VIEWER)
        _, narrow = trust.access.create_token(admin, ident.did, "default", scopes=["plant:read"])
        assert "twinverse_ready" in scrape(c, {"Authorization": f"Bearer {scraper}"})
        assert c.get("/healthz", headers={"Authorization": f"Bearer {scraper}"}).status_code == 200
        assert c.get("/api/twins", headers={"Authorization": f"Bearer {scraper}"}).status_code == 403
        assert c.get("/metrics", headers={"Authorization": f"Bearer {narrow}"}).status_code == 403


def test_probes_and_metrics_are_in_the_openapi_with_their_statuses(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/livez"]["get"]["responses"]) == {"200"}
    ready = paths["/readyz"]["get"]["responses"]
    assert set(ready) == {"200", "503"} and "Not ready" in ready["503"]["description"]
    assert set(ready["503"]["content"]) == {PROBLEM}
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
    assert paths["/healthz"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HealthOut"
    }
