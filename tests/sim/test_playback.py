"""Playback: a run's station states and buffer levels sampled over model time."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from twinverse.api import create_app
from twinverse.config import Settings
from twinverse.errors import RunConfigError
from twinverse.model import load_plant
from twinverse.sim import RunConfig, loads_network, simulate
from twinverse.sim.spec import network_from_plant

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: Parts arrive every 2 (from 2 on); s1 takes 1, s2 takes 3 behind a buffer of one place.
TWO = """
simulation:
  sources: {a: {interarrival: {dist: constant, mean: 2}, to: q}}
  buffers: {q: {capacity: 10}, b: {capacity: 1}}
  stations:
    s1: {from: q, process: {dist: constant, mean: 1}, to: b}
    s2: {from: b, process: {dist: constant, mean: 3}, to: out}
  sinks: [out]
"""


def test_samples_are_the_states_at_each_tick() -> None:
    r = simulate(loads_network(TWO), RunConfig(until=12, seed=1, playback_every=1))
    assert r.playback is not None
    d = r.playback.to_dict([s.id for s in r.stations], [b.id for b in r.buffers])
    assert d["t"] == [float(t) for t in range(13)]
    # s1 works [2,3), [4,5), … and is blocked at 11 (b full, s2 busy until 12); a tick on an
    # event's time shows the state after it.
    assert d["stations"]["s1"] == ["idle", "idle", "running", "idle", "running", "idle", "running", "idle",
                                   "running", "idle", "running", "blocked", "running"]  # fmt: skip
    assert d["stations"]["s2"] == ["starved"] * 3 + ["running"] * 10
    assert d["buffers"] == {"q": [0] * 13, "b": [0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1]}


def test_recording_changes_no_result_and_follows_the_shift_calendar() -> None:
    net = network_from_plant(load_plant(EXAMPLES / "bottling.yaml"))
    plain = simulate(net, RunConfig(until=28_800, warmup=600, seed=1))
    traced = simulate(net, RunConfig(until=28_800, warmup=600, seed=1, playback_every=60))
    assert dataclasses.replace(traced, playback=None) == plain
    pb = traced.playback
    assert pb is not None and pb.state.shape == (481, 8) and pb.level.shape == (481, 8)
    d = pb.to_dict([s.id for s in traced.stations], [b.id for b in traced.buffers])
    # the break is [14400, 16200): 30 ticks, every station off, nothing else off
    for states in d["stations"].values():
        off = [t for t, s in zip(d["t"], states, strict=True) if s == "off"]
        assert off == [14_400.0 + 60 * k for k in range(30)]
    assert all(0 <= v <= 400 for b in ("c1", "c2", "c3") for v in d["buffers"][b])
    assert simulate(net, RunConfig(until=600, seed=1, reps=2, playback_every=60), rep=1).playback is None


def test_a_playback_is_validated() -> None:
    with pytest.raises(RunConfigError, match=r"at most 10000 samples: playback_every must be at least 2\.88"):
        RunConfig(until=28_800, playback_every=1)
    with pytest.raises(RunConfigError, match="a playback needs a stop time"):
        RunConfig(parts=100, playback_every=1)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", plant=EXAMPLES / "bottling.yaml", store=":memory:")
    with TestClient(create_app(settings)) as c:
        yield c


def _done(c: TestClient, run_id: str) -> dict[str, Any]:
    for _ in range(600):
        run: dict[str, Any] = c.get(f"/api/sim/runs/{run_id}").json()
        if run["status"] in ("done", "failed", "cancelled"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def test_a_run_over_http_carries_its_playback(client: TestClient) -> None:
    r = client.post("/api/sim/runs", json={"until": 3600, "reps": 2, "seed": 3, "playback": 60})
    assert r.status_code == 202, r.text
    run = _done(client, r.json()["id"])
    assert run["status"] == "done", run
    pb = run["result"]["playback"]
    assert pb["every"] == 60 and pb["t"][:3] == [0.0, 60.0, 120.0] and len(pb["t"]) == 61
    assert set(pb["stations"]) == {"depal", "rinser", "filler", "capper", "labeller", "inspector", "packer",
                                   "palletiser"}  # fmt: skip
    assert len(pb["buffers"]["c3"]) == 61
    bad = client.post("/api/sim/runs", json={"until": 28800, "reps": 1, "playback": 1})
    assert bad.status_code == 422 and "at most 10000 samples" in bad.json()["detail"]
