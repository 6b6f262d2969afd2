"""HTTP Arrow batch ingest end to end (uvicorn on 127.0.0.1) vs. the Python API, same rows.

Baseline: ``Engine.ingest`` of the same Arrow batches in-process into a DuckDB file.
Figure: POST /api/ingest with Arrow IPC stream bodies to a `twinverse serve` subprocess
(DuckDB file store), one request at a time on a keep-alive connection.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx
import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_plant_yaml, server, table

from twinverse.core import make_batch
from twinverse.live import Engine
from twinverse.model import loads_plant
from twinverse.store import DuckDBStore

MACHINES = 1000


def batches(total: int, size: int, nsig: int) -> list[pa.RecordBatch]:
    rng = np.random.default_rng(1)
    t0 = int((time.time() - 86_400) * 1e6)
    out = []
    for i in range(0, total, size):
        n = min(size, total - i)
        ts = t0 + np.arange(i, i + n, dtype=np.int64)  # globally unique (sid, ts)
        out.append(make_batch(ts, rng.integers(0, nsig, n).astype(np.int32), rng.normal(20, 5, n)))
    return out


def ipc(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as w:
        w.write_batch(batch)
    return sink.getvalue().to_pybytes()


def run(total: int, size: int) -> tuple[str, ...]:
    yaml = bench_plant_yaml(MACHINES)
    plant = loads_plant(yaml)
    data = batches(total, size, len(plant.signals))
    bodies = [ipc(b) for b in data]
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(plant, DuckDBStore(Path(tmp) / "b.duckdb"))
        t = time.perf_counter()
        for b in data:
            engine.ingest(b)
        py = total / (time.perf_counter() - t)
        engine.store.close()
    with (
        server(yaml) as (url, token),
        httpx.Client(base_url=url, timeout=120, headers={"authorization": f"Bearer {token}"}) as client,
    ):
        client.post("/api/ingest", content=bodies[0], headers={"content-type": "application/vnd.apache.arrow.stream"})
        t = time.perf_counter()
        for body in bodies[1:]:
            r = client.post(
                "/api/ingest", content=body, headers={"content-type": "application/vnd.apache.arrow.stream"}
            )
            r.raise_for_status()
        http = (total - data[0].num_rows) / (time.perf_counter() - t)
    return (f"{size:,}", f"{total:,}", f"{py:,.0f}", f"{http:,.0f}", f"{http / py:.0%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer rows")
    args = ap.parse_args()
    total = 500_000 if args.quick else 3_000_000
    rows = [run(total, size) for size in (10_000, 100_000)]
    print("HTTP Arrow ingest (uvicorn, 127.0.0.1) vs. Engine.ingest in-process, DuckDB file store")
    print(table(rows, ("batch rows", "points", "python API pts/s", "HTTP pts/s", "HTTP/API")))


if __name__ == "__main__":
    main()
