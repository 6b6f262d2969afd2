"""KPI routes over a real platform: a window, the current shift, a day and the list of shifts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.core import make_batch
from twinverse.core.clock import to_us
from twinverse.platform import Platform

PLANT = """
plant: p
types:
  m:
    signals:
      state: {kind: state, states: [running, idle, starved, blocked, down, setup, off]}
      good_count: {kind: int, range: [0, 1.0e12]}
    properties: {rated_speed: 600}
    power: {running: 10}
twins:
  - id: line
    type: line
    children: [{id: m, type: m}]
shifts:
  timezone: UTC
  a: {start: "00:00", end: "12:00"}
  b: {start: "12:00", end: "00:00"}
energy: {grid: south, year: 2023, instruments: [{name: PPA, share: 0.5}]}
"""
S = 1_000_000


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Platform]]:
    f = tmp_path / "p.yaml"
    f.write_text(PLANT)
    p = Platform(Settings(data_dir=tmp_path / "data", plant=f, store=":memory:", auth="open"))
    with TestClient(create_app(platform=p)) as c:
        yield c, p


def test_current_shift_day_and_shift_list(client: tuple[TestClient, Platform]) -> None:
    c, platform = client
    now = datetime.now(UTC)
    t = to_us(now - timedelta(hours=30))
    idx = platform.plant.signals
    platform.engine.ingest(
        make_batch(np.array([t]), np.array([idx.sid("p/line/m", "state")], np.int32), np.array([0.0]))
    )  # fmt: skip  running since 30 h ago
    r = c.get("/api/kpis", params={"twin": "p/line", "shift": "current"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["shift"]["shift"] == ("a" if now.hour < 12 else "b") and body["shift"]["complete"] is False
    m = body["machines"]["p/line/m"]
    assert m["kpis"]["availability"] == 1.0 and m["kpis"]["technical_efficiency"] == 1.0
    assert m["co2e_market_kg"] == pytest.approx(m["co2e_kg"] / 2)  # half under a zero-carbon PPA
    assert body["grid_factor"] == {**body["grid_factor"], "grid": "south", "kg_per_kwh": 0.4042}
    prev = c.get("/api/kpis", params={"twin": "p/line/m", "shift": "previous"}).json()
    assert prev["shift"]["complete"] is True and prev["total"]["pot_s"] == 12 * 3600
    assert prev["total"]["energy_kwh"] == pytest.approx(120.0)  # 12 h at 10 kW
    day = c.get("/api/kpis", params={"twin": "p/line", "day": (now - timedelta(days=1)).date().isoformat()}).json()
    assert day["total"]["pot_s"] == 86400
    listed = c.get("/api/kpis/shifts", params={"twin": "p/line", "start": "-24h"}).json()
    assert [s["shift"]["complete"] for s in listed["shifts"]][-1] is False
    assert [x["name"] for x in listed["calendar"]["shifts"]] == ["a", "b"]
    assert c.get("/api/kpis", params={"shift": "c"}).status_code == 422
    assert c.get("/api/kpis", params={"day": "3 Dec"}).status_code == 422
