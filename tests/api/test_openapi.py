"""The OpenAPI document: every route summarised and described, examples, errors documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.platform import example_path


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("openapi"), plant=example_path())
    doc: dict[str, Any] = create_app(settings).openapi()
    return doc


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def test_info(spec: dict[str, Any]) -> None:
    assert spec["info"]["title"] == "twinverse"
    assert spec["info"]["version"] == "0.1.0"
    assert "problem+json" in spec["info"]["description"]
    assert {t["name"] for t in spec["tags"]} >= {"plant", "data", "system"}


def test_core_routes_present(spec: dict[str, Any]) -> None:
    paths = set(spec["paths"])
    assert {
        "/healthz", "/api/ingest", "/api/plant", "/api/twins", "/api/twins/{twin_id}", "/api/twins/{twin_id}/live",
        "/api/twins/{twin_id}/history", "/api/twins/{twin_id}/graph/{query}", "/api/quarantine", "/api/export",
    } <= paths  # fmt: skip


def test_every_route_has_summary_description_and_tag(spec: dict[str, Any]) -> None:
    for path, method, op in operations(spec):
        assert op.get("summary"), f"{method} {path} has no summary"
        assert len(op.get("description", "")) >= 10, f"{method} {path} has no description"
        assert op.get("tags"), f"{method} {path} has no tag"
        assert any(c.startswith("2") for c in op["responses"]), f"{method} {path} documents no success"
        for code, resp in op["responses"].items():
            assert resp.get("description"), f"{method} {path} {code} has no description"


def test_errors_documented_as_problem_json(spec: dict[str, Any]) -> None:
    """problem+json everywhere but in the AAS API, which answers its specified Result body (not for 401/403)."""
    for path, method, op in operations(spec):
        if "{twin_id}" in path:
            assert "404" in op["responses"], f"{method} {path} does not document 404"
        for code, resp in op["responses"].items():
            if not code.startswith(("4", "5")):
                continue
            if path.startswith("/aas/v3.0/") and code not in ("401", "403"):
                assert resp["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/AasResult"}}}
            else:
                assert set(resp["content"]) == {"application/problem+json"}, f"{method} {path} {code}"
                assert resp["content"]["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/ProblemOut"
                }
    schemas = spec["components"]["schemas"]
    # reason and position: only refused SQL carries them (docs/query.md).
    assert set(schemas["ProblemOut"]["properties"]) == {"type", "title", "status", "detail", "errors",
                                                        "reason", "position"}  # fmt: skip
    assert set(schemas["ProblemDetail"]["properties"]) == {"message", "file", "line", "path"}
    assert "HTTPValidationError" not in schemas  # FastAPI's own error body is never sent


def test_ingest_body_documented_with_examples(spec: dict[str, Any]) -> None:
    op = spec["paths"]["/api/ingest"]["post"]
    body = op["requestBody"]
    assert body["required"] is True
    assert "Arrow" in body["description"] and "epoch" in body["description"]
    examples = body["content"]["application/json"]["examples"]
    assert set(examples) == {"points", "columns"}
    points = examples["points"]["value"]
    assert {"twin", "signal", "ts", "value"} <= set(points[0])
    assert any("unit" in p for p in points)
    assert set(examples["columns"]["value"]) == {"twin", "signal", "ts", "value"}
    assert "application/vnd.apache.arrow.stream" in body["content"]
    assert {"200", "413", "422"} <= set(op["responses"])
    partial = next(p for p in op["parameters"] if p["name"] == "partial")
    assert partial["schema"]["default"] is False and partial["description"]


def test_response_schemas_have_examples(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name in ("LiveValue", "TwinOut", "PlantOut", "IngestOut", "HistoryOut", "QuarantineOut", "HealthOut"):
        assert schemas[name].get("examples"), f"{name} has no example"


def test_query_parameters_described(spec: dict[str, Any]) -> None:
    params = {p["name"]: p for p in spec["paths"]["/api/twins/{twin_id}/history"]["get"]["parameters"]}
    for name in ("signal", "start", "end", "interval", "agg"):
        assert params[name].get("description"), name


def test_docs_page(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_app(Settings(data_dir=tmp_path, plant=example_path()))) as c:
        assert c.get("/docs").status_code == 200
        assert c.get("/openapi.json").json()["openapi"].startswith("3.")
