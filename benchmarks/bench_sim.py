"""Simulation speed against SimPy, measured in the same run on the same model.

Model: five stations in series, exponential process times with mean 1, buffers of 5
places between them, a saturated source, blocking after service (benchmarks/simpy_line.py
is the SimPy version). Figures:

1. SimPy on ``--simpy-parts`` parts (default 100,000), as parts per second of wall time;
2. twinverse's general event engine on ``--parts`` parts (default 1,000,000), without and
   with the bottleneck analysis;
3. twinverse's serial-line fast path (numba departure recursion) on the same parts;
4. that all three throughputs agree within the confidence interval of a reference
   estimate (20 independent fast-path replications);
5. a sweep of 100 scenarios × 10 replications (10,000 parts each) in this process and with
   1 and 2 worker processes.

SimPy runs fewer parts because it is slow; its rate (parts/s) does not depend on the run
length, so the speed-ups compare rates. One-off costs (loading the compiled kernels) are
reported separately and excluded from the rates.

    python benchmarks/bench_sim.py            # full size, about a minute
    python benchmarks/bench_sim.py --quick    # smoke test, a few seconds
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simpy_line import run_line

from twinverse.sim import RunConfig, loads_network, simulate
from twinverse.sim.sweep import parse_param, run_sweep

LINE = """
simulation:
  name: five-station line
  sources: {supply: {saturated: true, to: m1}}
  buffers: {b1: {capacity: 5}, b2: {capacity: 5}, b3: {capacity: 5}, b4: {capacity: 5}}
  stations:
    m1: {process: {dist: exponential, mean: 1}, to: b1}
    m2: {from: b1, process: {dist: exponential, mean: 1}, to: b2}
    m3: {from: b2, process: {dist: exponential, mean: 1}, to: b3}
    m4: {from: b3, process: {dist: exponential, mean: 1}, to: b4}
    m5: {from: b4, process: {dist: exponential, mean: 1}, to: out}
  sinks: [out]
"""


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description="twinverse simulation vs SimPy")
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke test")
    ap.add_argument("--parts", type=int, default=None)
    ap.add_argument("--simpy-parts", type=int, default=None)
    ap.add_argument("--scenarios", type=int, default=None)
    ap.add_argument("--sweep-reps", type=int, default=None)
    ap.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    a = ap.parse_args()
    parts = a.parts or (100_000 if a.quick else 1_000_000)
    simpy_parts = a.simpy_parts or (20_000 if a.quick else 100_000)
    scenarios = a.scenarios or (16 if a.quick else 100)
    sweep_reps = a.sweep_reps or (3 if a.quick else 10)
    net = loads_network(LINE)
    fig: dict[str, object] = {"parts": parts, "simpy_parts": simpy_parts}

    # One-off: load (or compile) the kernels.
    _, t_load = timed(lambda: (simulate(net, RunConfig(parts=1000, method="engine")),
                               simulate(net, RunConfig(parts=1000, method="fast"))))
    print(f"kernel load/compile (one-off, excluded below): {t_load:.2f} s")

    simpy = run_line(simpy_parts, seed=1)
    s_rate = simpy["parts_per_s"]
    print(f"SimPy          {simpy_parts:>10,} parts  {simpy['wall_s']:7.2f} s  {s_rate:>12,.0f} parts/s"
          f"  throughput {simpy['throughput']:.5f}   (baseline)")

    rows = []
    for label, cfg in (("engine", RunConfig(parts=parts, seed=1, method="engine", track_bottleneck=False)),
                       ("engine+bneck", RunConfig(parts=parts, seed=1, method="engine", track_bottleneck=True)),
                       ("fast path", RunConfig(parts=parts, seed=1, method="fast"))):
        r, dt = timed(lambda cfg=cfg: simulate(net, cfg))
        rate = parts / dt
        rows.append((label, r.throughput, rate))
        print(f"{label:<14} {parts:>10,} parts  {dt:7.2f} s  {rate:>12,.0f} parts/s  throughput {r.throughput:.5f}"
              f"   {rate / s_rate:6.1f}× SimPy")
        fig[label] = {"seconds": dt, "parts_per_s": rate, "throughput": r.throughput, "speedup": rate / s_rate}
    fig["simpy"] = {"seconds": simpy["wall_s"], "parts_per_s": s_rate, "throughput": simpy["throughput"]}

    # Agreement: a reference CI from independent fast-path replications of n_ref parts.
    n_ref, k = 100_000, 20
    ref = [simulate(net, RunConfig(parts=n_ref, seed=1000 + i, method="fast")).throughput for i in range(k)]
    mean, sd = statistics.fmean(ref), statistics.stdev(ref)
    hw = 2.093 * sd / math.sqrt(k)  # t(0.975, 19)
    print(f"reference throughput {mean:.5f} ± {hw:.5f} (95 % CI, {k} × {n_ref:,} parts)")
    ok_all = True
    for label, thr, n in [("simpy", simpy["throughput"], simpy_parts)] + [(lb, t, parts) for lb, t, _ in rows]:
        tol = hw + 2.58 * sd * math.sqrt(n_ref / n)  # the estimate's own 99 % sampling error on top
        ok = abs(thr - mean) <= tol
        ok_all &= ok
        verdict = "agrees" if ok else "DIFFERS"
        print(f"  {label:<13} {thr:.5f}  |Δ| = {abs(thr - mean):.5f}  tolerance {tol:.5f}  {verdict}")
    fig["agree"] = ok_all

    # Sweep: scenarios × replications with 1 and 2 worker processes.
    side = max(int(math.sqrt(scenarios)), 1)
    caps = ",".join(str(c) for c in range(1, side + 1))
    means = ",".join(f"{0.8 + 0.4 * i / max(side - 1, 1):.3f}" for i in range(side))
    params = [parse_param(f"buffer.b2.capacity={caps}", net), parse_param(f"station.m3.process_mean={means}", net)]
    rep_parts = 2_000 if a.quick else 10_000
    cfg = RunConfig(parts=rep_parts, reps=sweep_reps, seed=7, method="engine")
    walls = {}
    for w in (0, 1, 2):
        res = run_sweep(net, params, cfg, workers=w)
        walls[w] = res.wall_s
        where = "in this process" if w == 0 else f"{w} worker process{'es' if w > 1 else ''}"
        print(f"sweep {len(res.scenarios)} scenarios × {sweep_reps} reps × {rep_parts:,} parts, {where:<18}"
              f" {res.wall_s:6.2f} s")
    print(f"  speed-up of 2 workers over 1: {walls[1] / walls[2]:.2f}× (worker start-up of ~1 s included)")
    fig["sweep"] = {"scenarios": side * side, "reps": sweep_reps, "parts": rep_parts, "wall_0": walls[0],
                    "wall_1": walls[1], "wall_2": walls[2]}
    if a.json:
        print(json.dumps(fig))


if __name__ == "__main__":
    main()
