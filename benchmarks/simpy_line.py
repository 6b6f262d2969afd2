"""The benchmark's serial line written in SimPy: the baseline twinverse is measured against.

Five machines with exponential process times (mean 1), buffers of ``capacity`` places
between them, a saturated source (the first machine never waits for parts), blocking
after service (a machine that cannot put its finished part downstream holds it). This is
the idiomatic SimPy model: one process per machine, a ``Store`` per buffer.

    python benchmarks/simpy_line.py --parts 20000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import simpy


def run_line(parts: int, *, machines: int = 5, capacity: int = 5, mean: float = 1.0, seed: int = 1) -> dict[str, float]:
    """Simulate until ``parts`` parts have left the last machine; return throughput and timing."""
    env = simpy.Environment()
    rng = np.random.default_rng(seed)
    # Draw process times in blocks per machine (as fast as SimPy can be fed).
    block = 4096
    streams = [rng.exponential(mean, block) for _ in range(machines)]
    pos = [0] * machines
    buffers = [simpy.Store(env, capacity=capacity) for _ in range(machines - 1)]
    done = env.event()
    count = [0]

    def service(i: int) -> float:
        if pos[i] == block:
            streams[i] = rng.exponential(mean, block)
            pos[i] = 0
        pos[i] += 1
        return float(streams[i][pos[i] - 1])

    def machine(i: int) -> simpy.events.ProcessGenerator:
        while True:
            if i > 0:
                yield buffers[i - 1].get()  # starved until a part arrives
            yield env.timeout(service(i))
            if i < machines - 1:
                yield buffers[i].put(1)  # blocked (after service) until a place frees
            else:
                count[0] += 1
                if count[0] == parts:
                    done.succeed()

    for i in range(machines):
        env.process(machine(i))
    t0 = time.perf_counter()
    env.run(until=done)
    wall = time.perf_counter() - t0
    return {"parts": parts, "time": env.now, "throughput": parts / env.now, "wall_s": wall,
            "parts_per_s": parts / wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    r = run_line(args.parts, seed=args.seed)
    print(f"SimPy: {r['parts']:,} parts in {r['wall_s']:.2f} s = {r['parts_per_s']:,.0f} parts/s; "
          f"throughput {r['throughput']:.5f} parts per time unit")


if __name__ == "__main__":
    main()
