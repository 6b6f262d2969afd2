"""Cost of recording a playback: an 8-hour shift of the demo line, with and without sampling.

Prints the median time of each over a few runs (after one warm-up run that compiles the
kernel) and their ratio; the baseline (no playback) is measured in the same run.

    python benchmarks/bench_playback.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from twinverse.model import load_plant
from twinverse.platform import example_path
from twinverse.sim import RunConfig, simulate
from twinverse.sim.spec import network_from_plant


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    net = network_from_plant(load_plant(example_path()))
    simulate(net, RunConfig(until=600, seed=1, playback_every=60))  # compile the kernel
    cases = {"baseline (no playback)": None, "playback every 60 s": 60.0, "playback every 7.5 s": 7.5}
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(args.runs):
        for name, every in cases.items():  # interleaved: the shared machine's noise hits all alike
            t0 = time.perf_counter()
            simulate(net, RunConfig(until=28_800, warmup=600, seed=1, playback_every=every))
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["baseline (no playback)"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:26s} median {med * 1000:7.1f} ms   ×{med / base:4.2f} of the baseline")


if __name__ == "__main__":
    main()
