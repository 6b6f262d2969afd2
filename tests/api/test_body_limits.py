"""Every POST/PUT body is limited over real HTTP, whether it declares its length or streams (chunked)."""

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



def test_a_small_compressed_arrow_body_over_the_decoded_limits_is_413(tmp_path: Path) -> None:
    import numpy as np
    import pyarrow as pa

    schema = pa.schema([("ts", pa.int64()), ("sid", pa.int32()), ("value", pa.float64())])
    n = 50_000
    batch = pa.record_batch([pa.array(np.full(n, 1_767_225_600_000)), pa.array(np.zeros(n, np.int32)),
                             pa.array(np.ones(n))], schema=schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as w:
        for _ in range(20):  # a million rows of one constant: about 20 bytes a row decoded
            w.write_batch(batch)
    body = bytes(sink.getvalue().to_pybytes())
    assert len(body) < LIMIT * 20
    settings = Settings(plant=example_path(), data_dir=tmp_path, store=":memory:", auth="open",
                        max_points=120_000, max_arrow_bytes=2_000_000, seal_history=False)
    with TestClient(create_app(platform=Platform(settings))) as c:
        r = c.post("/api/ingest", content=body, headers={"content-type": "application/vnd.apache.arrow.stream"})
        assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["detail"] == "too many points in one request (150000 > 120000, the limit max_points)"
    settings = settings.model_copy(update={"max_points": 10_000_000, "data_dir": tmp_path / "b"})
    with TestClient(create_app(platform=Platform(settings))) as c:
        r = c.post("/api/ingest", content=body, headers={"content-type": "application/vnd.apache.arrow.stream"})
        assert r.status_code == 413
        assert r.json()["detail"] == (f"Arrow body decodes to more than 2000000 bytes (the limit max_arrow_bytes; "
                                      f"{len(body)} bytes were sent)")
