"""PostgreSQL ingest throughput: ``Engine.ingest`` into :class:`PostgresStore` against raw COPY.

The same N points of the bottling plant (as in ``bench_ingest.py``: every signal at every
tick, time order) are written in Arrow batches, each batch committed before the next:

- baseline 1: raw psycopg binary COPY of the batch's rows (buffer built with NumPy, the
  fastest client path we know) into a plain table ``(ts, sid, value, quality)``, no index;
- baseline 2: the same into a table with the primary key (sid, ts) that the store keeps,
  rows as delivered (time order), and again with each batch pre-sorted by (sid, ts) outside
  the timed loop (the order the engine hands the store, kinder to the B-tree);
- twinverse: :class:`Engine` (validation, sorting, de-duplication, live state) over
  :class:`PostgresStore` (watermark check, binary COPY, primary key).

Each run uses a fresh database on the server, dropped afterwards.

Run: ``python benchmarks/bench_postgres.py`` (2M points) or ``--quick`` (200k points).
Server URL: ``TWINVERSE_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import psycopg
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fresh_database, table
from benchmarks.bench_ingest import make_points
from twinverse.core.batch import ts_to_us
from twinverse.live import Engine
from twinverse.model import load_plant
from twinverse.platform import example_path
from twinverse.store.postgres import _COPY_HEADER, _COPY_TRAILER, PostgresStore, _copy_buffer

SERVER = os.environ.get("TWINVERSE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")




def raw_copy(url: str, batches: list[pa.RecordBatch], *, primary_key: bool) -> float:
    """Binary COPY of each batch into a plain table, one transaction per batch."""
    key = ", PRIMARY KEY (sid, ts)" if primary_key else ""
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(
            f"CREATE TABLE raw (ts timestamptz NOT NULL, sid integer NOT NULL, value double precision NOT NULL, "
            f"quality smallint NOT NULL{key})"
        )
        t = time.perf_counter()
        for b in batches:
            body = _copy_buffer(
                ts_to_us(b.column("ts")),
                b.column("sid").to_numpy(),
                b.column("value").to_numpy(),
                b.column("quality").to_numpy(),
            )
            with con.transaction(), con.cursor().copy("COPY raw FROM STDIN (FORMAT BINARY)") as cp:
                cp.write(_COPY_HEADER)
                cp.write(body.data)
                cp.write(_COPY_TRAILER)
        elapsed = time.perf_counter() - t
        row = con.execute("SELECT count(*) FROM raw").fetchone()
    assert row is not None and row[0] == sum(b.num_rows for b in batches), row
    return elapsed


def engine_postgres(url: str, batches: list[pa.RecordBatch]) -> float:
    plant = load_plant(example_path("bottling.yaml"))
    store = PostgresStore(url)
    try:
        engine = Engine(plant, store)
        t = time.perf_counter()
        for b in batches:
            engine.ingest(b)
        elapsed = time.perf_counter() - t
        n = sum(b.num_rows for b in batches)
        assert store.count() == n and engine.stats()["rejected"] == 0, (store.count(), engine.stats())
    finally:
        store.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200k points instead of 2M")
    ap.add_argument("--points", type=int, default=None, help="number of points (overrides --quick)")
    ap.add_argument("--batch", type=int, default=100_000, help="rows per batch")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each path (best counts)")
    args = ap.parse_args()
    n = args.points or (200_000 if args.quick else 2_000_000)
    try:
        with psycopg.connect(SERVER, connect_timeout=3) as con:
            version = con.execute("SHOW server_version").fetchone()
    except psycopg.OperationalError as exc:
        sys.exit(f"PostgreSQL not reachable at {SERVER}: {exc}")
    plant = load_plant(example_path("bottling.yaml"))
    points = make_points(plant, n, seed=42)
    batches = [points.slice(i, args.batch) for i in range(0, n, args.batch)]
    by_key = [b.sort_by([("sid", "ascending"), ("ts", "ascending")]) for b in batches]
    print(
        f"{n:,} points in batches of {args.batch:,}, PostgreSQL {version[0] if version else '?'}, "
        f"psycopg {psycopg.__version__}"
    )
    results: dict[str, float] = {}
    runs = (
        ("raw COPY, plain table", lambda url: raw_copy(url, batches, primary_key=False)),
        ("raw COPY, primary key (sid, ts)", lambda url: raw_copy(url, batches, primary_key=True)),
        ("raw COPY, primary key, rows pre-sorted", lambda url: raw_copy(url, by_key, primary_key=True)),
        ("Engine.ingest -> PostgresStore", lambda url: engine_postgres(url, batches)),
    )
    # Interleaved repeats, best of each: the server is shared, so one slow run says little.
    for _ in range(args.repeat):
        for name, run in runs:
            with fresh_database(SERVER) as url:
                results[name] = min(results.get(name, float("inf")), run(url))
    plain = results["raw COPY, plain table"]
    keyed = results["raw COPY, primary key, rows pre-sorted"]
    rows = [(name, f"{n / el:,.0f}", f"{plain / el:.0%}", f"{keyed / el:.0%}") for name, el in results.items()]
    print(table(rows, ("path", "points/s", "vs raw COPY (plain)", "vs raw COPY (same key, sorted)")))


if __name__ == "__main__":
    main()
