"""Scenarios, sweeps (in-process, worker processes, Ray) and buffer optimisation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from twinverse.errors import InputError
from twinverse.sim import RunConfig, simulate
from twinverse.sim.optimise import even_allocation, line_buffers, optimise_buffers
from twinverse.sim.scenario import run_scenario
from twinverse.sim.sweep import apply_params, grid, parse_param, run_sweep

from .conftest import check_all, line, model


def test_common_random_numbers_across_scenarios() -> None:
    """Same seed: a station that did not change sees the same process times in both scenarios."""
    net = line([1.0, 1.0, 1.0], [2, 2])
    slower = apply_params(net, {"station.m3.process_mean": 1.3})
    a = simulate(net, RunConfig(parts=5_000, seed=4))
    b = simulate(slower, RunConfig(parts=5_000, seed=4))
    # m1's and m2's variates are shared; only m3's are scaled (by exactly 1.3)
    assert a.stations[0].processed == pytest.approx(b.stations[0].processed, rel=0.05)
    assert b.throughput < a.throughput
    # with CRN the paired difference is far less noisy than independent runs would be
    diffs = [simulate(slower, RunConfig(parts=5_000, seed=s)).throughput
             - simulate(net, RunConfig(parts=5_000, seed=s)).throughput for s in range(8)]
    indep = [simulate(slower, RunConfig(parts=5_000, seed=100 + s)).throughput
             - simulate(net, RunConfig(parts=5_000, seed=s)).throughput for s in range(8)]
    spread = max(diffs) - min(diffs)
    assert spread < 0.5 * (max(indep) - min(indep))


def test_scenario_replications_use_distinct_streams() -> None:
    res = check_all(run_scenario(line([1, 1], [1]), RunConfig(parts=2_000, reps=4, seed=9)))
    thr = [r.throughput for r in res.reps]
    assert len(set(thr)) == 4 and res.throughput.half_width is not None and res.throughput.n == 4
    again = run_scenario(line([1, 1], [1]), RunConfig(parts=2_000, reps=4, seed=9))
    assert [r.throughput for r in again.reps] == thr  # fixed seeds: reproducible


def test_parse_and_apply_params() -> None:
    net = model("""
sources: {a: {interarrival: {dist: exponential, mean: 2}, to: q}}
buffers: {q: {capacity: 5}}
stations:
  s: {from: q, process: {dist: gamma, mean: 1, shape: 2}, failures: [{mtbf: 50, mttr: 5}], to: out}
sinks: [out]
""")
    p = parse_param("station.s.process_mean=0.8, 1.2", net)
    assert p.values == (0.8, 1.2) and p.name == "station.s.process_mean"
    m = apply_params(net, {"station.s.process_mean": 0.8, "buffer.q.capacity": math.inf,
                           "source.a.rate": 0.25, "station.s.mttr": 10, "station.s.servers": 2})
    s = m.station("s")
    assert s.process_mean == pytest.approx(0.8) and s.servers == 2
    assert s.failures[0].ttr.mean == pytest.approx(10) and s.failures[0].ttf.mean == pytest.approx(50)
    assert m.buffer("q").capacity == math.inf and m.source("a").interarrival.mean == pytest.approx(4)
    assert grid([parse_param("buffer.q.capacity=1,2"), parse_param("station.s.servers=1,2,3")])[4] == {
        "buffer.q.capacity": 2.0, "station.s.servers": 2.0}


@pytest.mark.parametrize(("spec", "msg"), [
    ("buffer.q.capacity", "expected kind.id.attr=v1,v2"),
    ("buffer.q.size=1", "cannot set 'size' of a buffer"),
    ("robot.r1.speed=1", "unknown kind 'robot'"),
    ("buffer.nope.capacity=1", "no buffer 'nope' (buffers: q)"),
    ("buffer.q.capacity=1.5", "capacity must be an integer >= 0"),
    ("station.s.process_mean=0", "a mean must be > 0"),
    ("station.s.scrap=1.5", "probability must be in [0, 1]"),
    ("station.s.mtbf=10", "has no failures"),
    ("station.s.servers=x", "'x' is not a number"),
    ("source.a.rate=-1", "rate must be > 0"),
])
def test_bad_params(spec: str, msg: str) -> None:
    net = model("""
sources: {a: {interarrival: 1.0, to: q}}
buffers: {q: {capacity: 5}}
stations: {s: {from: q, process: 0.5, to: out}}
sinks: [out]
""")
    with pytest.raises(InputError, match=msg.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        parse_param(spec, net)


def test_sweep_in_process_and_in_two_workers(tmp_path: Path) -> None:
    net = line([1.0, 1.0, 1.0], [1, 1])
    params = [parse_param("buffer.b1.capacity=0,4", net), parse_param("station.m2.process_mean=0.9,1.2", net)]
    cfg = RunConfig(parts=3_000, reps=3, seed=2)
    seen: list[tuple[int, int]] = []
    local = run_sweep(net, params, cfg, workers=0, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (4, 4) and [s.params for s in local.scenarios] == grid(params)
    for sc in local.scenarios:
        check_all(sc)
    thr = {(r["buffer.b1.capacity"], r["station.m2.process_mean"]): r["throughput"] for r in local.table()}
    assert thr[(4, 0.9)] > thr[(0, 0.9)] and thr[(0, 0.9)] > thr[(0, 1.2)]
    pool = run_sweep(net, params, cfg, workers=2)
    assert [r["throughput"] for r in pool.table()] == [r["throughput"] for r in local.table()]
    assert pool.workers == 2 and pool.backend == "local"
    local.write_csv(tmp_path / "s.csv")
    local.write_parquet(tmp_path / "s.parquet")
    local.write_html(tmp_path / "s.html")
    assert pcsv.read_csv(tmp_path / "s.csv").num_rows == 4
    assert pq.read_table(tmp_path / "s.parquet").column("throughput").to_pylist() == [r["throughput"]
                                                                                     for r in local.table()]
    html = (tmp_path / "s.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "<table>" in html
    json.dumps(local.table())  # JSON-ready rows


def test_sweep_on_a_local_ray_instance() -> None:
    pytest.importorskip("ray")
    net = line([1.0, 1.0], [1])
    params = [parse_param("buffer.b1.capacity=0,2,5", net)]
    cfg = RunConfig(parts=2_000, reps=2, seed=3)
    res = run_sweep(net, params, cfg, backend="ray", workers=2)
    assert res.backend == "ray"
    local = run_sweep(net, params, cfg)
    assert [r["throughput"] for r in res.table()] == [r["throughput"] for r in local.table()]


def test_unknown_backend() -> None:
    net = line([1.0, 1.0], [1])
    with pytest.raises(InputError, match="unknown backend 'dask'"):
        run_sweep(net, [parse_param("buffer.b1.capacity=1", net)], RunConfig(parts=10), backend="dask")


def test_even_allocation() -> None:
    assert even_allocation(10, 4) == (2, 3, 3, 2)
    assert even_allocation(3, 3) == (1, 1, 1) and sum(even_allocation(17, 5)) == 17


def test_optimiser_beats_the_even_allocation_on_an_unbalanced_line() -> None:
    """A slow last station: places belong in front of it, where blocking starts."""
    net = line([1.0, 1.0, 1.0, 1.3], [1, 1, 1])
    assert line_buffers(net) == ["b1", "b2", "b3"]
    plan = optimise_buffers(net, 9, RunConfig(parts=20_000, reps=4, seed=5))
    assert sum(plan.best) == 9 and plan.even == (3, 3, 3)
    assert plan.best_throughput.mean >= plan.even_throughput.mean
    assert plan.gain.mean > 0 and plan.gain.low > 0  # a real gain, paired over replications
    assert plan.best[2] >= plan.best[0]  # more room nearer the slow station
    d = plan.to_dict()
    assert d["schema"] == "twinverse.sim.buffers/1" and d["best"] == dict(zip(plan.buffers, plan.best, strict=True))


def test_optimiser_rejects_unknown_buffers() -> None:
    with pytest.raises(InputError, match="no buffer 'b9'"):
        optimise_buffers(line([1, 1], [1]), 4, RunConfig(parts=100), buffers=["b9"])
