"""Many plants in one process: start time, memory, threads and ingest, beside one plant of the same size.

A park of N plants of M machines (5 signals each) is built and started as ``twinverse serve``
builds it (:class:`twinverse.park.Park`), then every plant ingests B-point batches in turn
through its engine (validated, stored durably in its own DuckDB file, live state updated).
The baseline, measured in the same run: one plant with all N × M machines in one store.
What a plant costs beyond its twins is the difference (its own store, engine writer,
alarm and simulation services).

    python benchmarks/bench_park.py            # 1, 10 and 40 plants of 100 machines
    python benchmarks/bench_park.py --quick    # 1, 4 and 10 plants
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import rss_kib, table
from twinverse.config import PlantEntry, Settings
from twinverse.core import make_batch
from twinverse.park import Park

SIGNALS = 5


def plant_yaml(plant_id: str, machines: int) -> str:
    sigs = "\n".join(f"      x{j}: {{unit: degC}}" for j in range(SIGNALS))
    return f"plant: {plant_id}\ntypes:\n  m:\n    signals:\n{sigs}\ntwins:\n  - {{id: m, type: m, count: {machines}}}\n"


def measure(label: str, plants: list[tuple[str, int]], batches: int, batch: int) -> tuple[str, ...]:
    """Build, start and feed a park of ``plants`` (id, machines); one row of the table."""
    with tempfile.TemporaryDirectory(prefix="twinverse-park-") as tmp:
        root = Path(tmp)
        files = []
        for pid, machines in plants:
            (root / f"{pid}.yaml").write_text(plant_yaml(pid, machines))
            files.append(root / f"{pid}.yaml")
        settings = Settings(data_dir=root / "data", plant=files[0], auth="token", seal_history=False,
                            rollup_every=0, plants=[PlantEntry(file=f) for f in files[1:]])  # fmt: skip
        rss0, threads0 = rss_kib(os.getpid()) / 1024, threading.active_count()
        t = time.perf_counter()
        park = Park(settings)
        park.start()
        start_s = time.perf_counter() - t
        rss1, threads1 = rss_kib(os.getpid()) / 1024, threading.active_count()
        rng = np.random.default_rng(1)
        engines = [p.platform.engine for p in park]
        counts = [len(p.platform.plant.signals) for p in park]
        t0 = int(time.time() * 1e6) - 3_600_000_000
        t = time.perf_counter()
        for k in range(batches):
            i = k % len(engines)
            ts = t0 + k * batch + np.arange(batch, dtype=np.int64)
            engines[i].ingest(make_batch(ts, rng.integers(0, counts[i], batch).astype(np.int32),
                                         rng.normal(20, 5, batch)))  # fmt: skip
        ingest_s = time.perf_counter() - t
        stored = sum(p.platform.store.count() for p in park)
        park.stop()
    assert stored == batches * batch, (stored, batches * batch)
    return (label, f"{sum(m for _, m in plants) * SIGNALS:,}", f"{start_s:.2f}", f"{rss1 - rss0:,.0f}",
            str(threads1 - threads0), f"{batches * batch / ingest_s:,.0f}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1, 4 and 10 plants")
    ap.add_argument("--machines", type=int, default=100, help="machines per plant")
    ap.add_argument("--batch", type=int, default=10_000, help="points per ingest batch")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # throwaway keys are unencrypted on purpose
    sizes = (1, 4, 10) if args.quick else (1, 10, 40)
    measure("warm-up", [("warm", 10)], 2, 1000)  # imports and first-use costs, not a plant's
    rows = []
    for n in sizes:
        batches = max(20, 2 * n)
        ids = [f"p{i}" for i in range(n)]
        if n > 1:  # the baseline first: the same twins in one plant, the same batches
            rows.append(measure(f"baseline: 1 plant of {n * args.machines} machines", [("one", n * args.machines)],
                                batches, args.batch))  # fmt: skip
        rows.append(measure(f"{n} plant{'s' if n > 1 else ''} of {args.machines} machines",
                            [(i, args.machines) for i in ids], batches, args.batch))  # fmt: skip
    print(f"Plants in one process ({SIGNALS} signals per machine, {args.batch:,}-point batches through each "
          "plant's engine in turn, DuckDB store per plant):")  # fmt: skip
    print(table(rows, ("park", "signals", "start s", "RSS MB", "threads", "ingest points/s")))


if __name__ == "__main__":
    main()
