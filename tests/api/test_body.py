"""Every POST/PUT body is limited, whether it declares its length or streams (chunked)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.platform import Platform, example_path

LIMIT = 2048


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(plant=example_path(), data_dir=tmp_path, store=":memory:", auth="open",
                        max_body_bytes=LIMIT, seal_history=False)
    with TestClient(create_app(platform=Platform(settings))) as c:
        yield c


def _points(n_bytes: int) -> bytes:
    """A JSON ingest body of exactly ``n_bytes`` bytes (padded with spaces)."""
    body = b'[{"twin":"bottling/line1/filler","signal":"speed","ts":"2026-01-01T00:00:00Z","value":600}]'
    assert len(body) <= n_bytes
    return body + b" " * (n_bytes - len(body))


def _chunks(body: bytes, size: int = 512) -> Iterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i : i + size]


@pytest.mark.parametrize("path", ["/api/ingest", "/api/sim/runs", "/api/tokens", "/api/assets?name=x"])
def test_declared_length_over_the_limit_is_413(client: TestClient, path: str) -> None:
    r = client.post(path, content=_points(LIMIT + 1), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == f"body of {LIMIT + 1} bytes exceeds the limit of {LIMIT} bytes"


@pytest.mark.parametrize("path", ["/api/ingest", "/api/sim/runs", "/api/assets?name=x"])
def test_streamed_body_over_the_limit_is_413(client: TestClient, path: str) -> None:
    r = client.post(path, content=_chunks(_points(LIMIT + 1)), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers  # really chunked
    assert r.status_code == 413, r.text
    assert r.json()["detail"] == f"body exceeds the limit of {LIMIT} bytes"


def test_body_at_the_limit_is_accepted_both_ways(client: TestClient) -> None:
    for content in (_points(LIMIT), _chunks(_points(LIMIT))):
        r = client.post("/api/ingest", content=content, headers={"content-type": "application/json"})
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == 1


def test_bad_content_length_is_400(client: TestClient) -> None:
    r = client.post("/api/ingest", content=b"[]", headers={"content-type": "application/json", "content-length": "-5"})
    assert r.status_code == 400
