"""Embedded ingest throughput: ``Engine.ingest`` into a DuckDB file against DuckDB alone.

The same N points of the bottling plant (every signal at every tick, ticks 10 ms apart, in
time order as a connector delivers them) are written in Arrow batches of 10k and 100k rows:

- baseline: raw DuckDB, ``INSERT INTO t SELECT * FROM batch`` into a table of the same
  columns in a fresh file, one auto-committed statement per batch;
- twinverse: :class:`Engine` (validation, units, sort and de-duplication by (sid, ts), live
  arrays) over :class:`DuckDBStore` (duplicate-safe append, one transaction per batch) in
  a fresh file.

Both sides commit once per batch, so both pay for the same WAL syncs. Targets: at least
1,000,000 points/s and at least half the raw rate.

Run: ``python benchmarks/bench_ingest.py`` (10M points) or ``--quick`` (1M points).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import table
from twinverse.core import make_batch
from twinverse.live import Engine
from twinverse.model import Plant, load_plant
from twinverse.model.types import KindCode
from twinverse.platform import example_path
from twinverse.store.duckdb import DuckDBStore

TICK_US = 10_000


def make_points(plant: Plant, n: int, seed: int) -> pa.RecordBatch:
    """``n`` valid points: every signal at every tick, time-major, values inside their ranges."""
    rng = np.random.default_rng(seed)
    idx = plant.signals
    nsig = len(idx)
    ticks = -(-n // nsig)
    start = int(time.time() * 1e6) - 30 * 86_400_000_000  # a month ago: never in the future
    ts = np.repeat(start + np.arange(ticks, dtype=np.int64) * TICK_US, nsig)[:n]
    sid = np.tile(np.arange(nsig, dtype=np.int32), ticks)[:n]
    lo, hi, kind = idx.lo[sid], idx.hi[sid], idx.kind[sid]
    value = rng.uniform(np.maximum(lo, -1e3), np.minimum(hi, 1e3))
    integral = kind != KindCode.FLOAT
    value[integral] = np.floor(value[integral])
    return make_batch(ts, sid, value, rng.integers(0, 2, n).astype(np.uint8))


def raw_duckdb(points: pa.RecordBatch, size: int, path: Path) -> float:
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE TABLE t (ts TIMESTAMPTZ NOT NULL, sid INTEGER NOT NULL, value DOUBLE NOT NULL, "
        "quality UTINYINT NOT NULL)"
    )
    batches = [points.slice(i, size) for i in range(0, points.num_rows, size)]
    t = time.perf_counter()
    for b in batches:  # noqa: B007 - read by DuckDB's replacement scan
        con.execute("INSERT INTO t SELECT * FROM b")
    elapsed = time.perf_counter() - t
    (count,) = con.execute("SELECT count(*) FROM t").fetchone() or (0,)
    con.close()
    assert count == points.num_rows, count
    return elapsed


def engine_duckdb(plant: Plant, points: pa.RecordBatch, size: int, path: Path) -> float:
    store = DuckDBStore(path)
    engine = Engine(plant, store)
    batches = [points.slice(i, size) for i in range(0, points.num_rows, size)]
    t = time.perf_counter()
    for b in batches:
        engine.ingest(b)
    elapsed = time.perf_counter() - t
    count = store.count()
    store.close()
    assert count == points.num_rows and engine.stats()["rejected"] == 0, (count, engine.stats())
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1M points instead of 10M")
    ap.add_argument("--points", type=int, default=None, help="number of points (overrides --quick)")
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated batch sizes")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each side (best counts)")
    ap.add_argument("--only", choices=["raw", "engine"], default=None, help="run one side (for profiling)")
    args = ap.parse_args()
    n = args.points or (1_000_000 if args.quick else 10_000_000)
    plant = load_plant(example_path("bottling.yaml"))
    points = make_points(plant, n, seed=42)
    print(f"{n:,} points of {len(plant.signals)} signals (bottling plant), DuckDB {duckdb.__version__}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="twinverse-bench-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            raw = eng = float("inf")
            # Interleaved repeats, best of each: the machine is shared, one slow run says little.
            for k in range(args.repeat):
                if args.only != "engine":
                    raw = min(raw, raw_duckdb(points, size, Path(tmp) / f"raw{size}-{k}.duckdb"))
                if args.only != "raw":
                    eng = min(eng, engine_duckdb(plant, points, size, Path(tmp) / f"engine{size}-{k}.duckdb"))
            rows.append((f"{size:,}", f"{n / raw:,.0f}", f"{n / eng:,.0f}", f"{raw / eng:.0%}"))
    print(table(rows, ("batch", "raw DuckDB insert (pts/s)", "Engine.ingest (pts/s)", "engine / raw")))
    print("targets: Engine.ingest >= 1,000,000 pts/s and >= 50% of raw")


if __name__ == "__main__":
    main()
