"""History that lasts, on PostgreSQL: bytes per point, rollups, a day's 1-minute downsample, latest values.

A fresh database is filled with N points (default 10M: 1,000 signals × 10,000 points, one
every 8.64 s over yesterday) through :class:`PostgresStore` with daily partitions and
rollups (``pg_partition = day``, ``pg_rollups``), and the rollups refreshed (timed). Then,
beside baselines measured in the same run:

- **bytes per point on disk**: the partitioned ``points`` (heap + primary key) and the
  rollups, against a plain table of the same rows without any index (``CREATE TABLE AS``);
- **a 1-minute average of all 1,000 signals over the day**: ``store.history`` from the
  rollups, against the same SQL run directly on the rollup table with psycopg (target: at
  most 1.2×), and against the raw-row query (``use_rollups=False``) and its SQL run directly;
- **latest values of all signals**: from the live state (``Engine.live`` over the engine's
  arrays, target < 1 ms), against ``store.latest()`` (one index probe per signal) and a read
  of the ``live_latest`` table.

The issue asks for 100M points; ``--points 100000000`` does it (about 5 minutes of load on
this 2-core machine, ~15 GB of disk). Figures are best of 3; the machine is shared.

Run: ``python benchmarks/bench_pg_history.py`` (``--points N``, ``--quick`` for 1M).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import bench_plant_yaml, best, fresh_database, table
from twinverse.config import Settings
from twinverse.core import make_batch
from twinverse.live.engine import Engine
from twinverse.model import load_plant
from twinverse.query import QueryService
from twinverse.store import Aggregate, HistoryQuery
from twinverse.store.pglive import share_live
from twinverse.store.pgpartition import PartitionManager
from twinverse.store.pgrollup import enable_rollups
from twinverse.store.postgres import PostgresStore

SERVER = os.environ.get("TWINVERSE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DAY_US = 86_400_000_000
SIGNALS = 1000


def size(url: str, *tables: str) -> int:
    with psycopg.connect(url) as con:
        total = 0
        for t in tables:
            r = con.execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "WHERE c.relname = %s OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = %s::regclass)",
                (t, t),
            ).fetchone()
            total += int(r[0]) if r else 0
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000_000)
    ap.add_argument("--quick", action="store_true", help="1M points")
    args = ap.parse_args()
    n = 1_000_000 if args.quick else args.points
    per = n // SIGNALS
    day0 = (int(time.time() * 1e6) // DAY_US - 1) * DAY_US  # yesterday, UTC
    step = DAY_US // per
    with tempfile.TemporaryDirectory() as tmp:
        plant_file = Path(tmp) / "plant.yaml"
        plant_file.write_text(bench_plant_yaml(SIGNALS))
        plant = load_plant(plant_file)
    rng = np.random.default_rng(5)
    with fresh_database(SERVER) as url:
        store = PostgresStore(url)
        PartitionManager(store, "day", ahead=1).setup(datetime.fromtimestamp(day0 / 1e6, UTC))
        PartitionManager(store, "day", ahead=1).maintain()
        share_live(store)
        rollups = enable_rollups(store)
        ts_one = day0 + np.arange(per, dtype=np.int64) * step
        t = time.perf_counter()
        chunk = max(1, 1_000_000 // per)  # signals per append: about a million rows
        for s0 in range(0, SIGNALS, chunk):
            sids = np.repeat(np.arange(s0, min(SIGNALS, s0 + chunk), dtype=np.int32), per)
            ts = np.tile(ts_one, len(sids) // per)
            store.append(make_batch(ts, sids, rng.normal(20, 5, len(sids)).round(2)))
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        steps = store.refresh_rollups()
        refresh_s = time.perf_counter() - t
        print(f"{n:,} points ({SIGNALS} signals x {per:,}, one every {step / 1e6:.2f} s over a day): load "
              f"{n / load_s:,.0f} points/s (daily partitions, live table, rollup log), rollup refresh "
              f"{refresh_s:.1f} s ({steps} steps)")  # fmt: skip
        with psycopg.connect(url, autocommit=True) as con:
            con.execute("CREATE TABLE plain AS SELECT * FROM points")
            con.execute("VACUUM ANALYZE")
        sizes = {"points (partitioned, primary key)": size(url, "points"), "plain table, no index": size(url, "plain"),
                 "rollup_1m + rollup_1h": size(url, "rollup_1m") + size(url, "rollup_1h")}  # fmt: skip
        plain = sizes["plain table, no index"]
        print(table([(k, f"{v / n:.1f}", f"{v / plain:.0%}") for k, v in sizes.items()],
                    ("on disk", "bytes per raw point", "vs plain table")))  # fmt: skip

        start, end = datetime.fromtimestamp(day0 / 1e6, UTC), datetime.fromtimestamp((day0 + DAY_US) / 1e6, UTC)
        q = HistoryQuery(tuple(range(SIGNALS)), start=start, end=end, interval=timedelta(minutes=1),
                         aggregate=Aggregate.AVG, limit=10_000_000)  # fmt: skip
        rolled = store.history(q)
        raw = store.history(HistoryQuery(**{**q.__dict__, "use_rollups": False}))
        assert rolled.num_rows == raw.num_rows == SIGNALS * min(1440, per), (rolled.num_rows, raw.num_rows)
        assert rolled.column("n").to_pylist() == raw.column("n").to_pylist()
        np.testing.assert_allclose(rolled.column("value").to_numpy(), raw.column("value").to_numpy(), rtol=1e-9)

        def direct(stmt: str) -> Callable[[], Any]:
            def run() -> Any:
                with psycopg.connect(url) as con:
                    return con.execute(stmt, (start, end)).fetchall()

            return run

        roll_sql = ("SELECT sid, bucket, vsum / n, n FROM rollup_1m WHERE bucket >= %s AND bucket < %s "
                    "ORDER BY 1, 2")  # fmt: skip
        raw_sql = ("SELECT sid, date_bin('1 minute', ts, timestamptz '1970-01-01 00:00:00+00') AS b, avg(value), "
                   "count(*) FROM points WHERE ts >= %s AND ts < %s GROUP BY 1, 2 ORDER BY 1, 2")  # fmt: skip
        times = {
            "store.history, from rollups": best(lambda: store.history(q)),
            "baseline: the rollup SQL run directly": best(direct(roll_sql)),
            "store.history, raw rows (use_rollups=False)": best(
                lambda: store.history(HistoryQuery(**{**q.__dict__, "use_rollups": False})), 2),
            "baseline: the raw-row SQL run directly": best(direct(raw_sql), 2),
        }  # fmt: skip
        ref = times["baseline: the rollup SQL run directly"]
        print(f"\n1-minute average of {SIGNALS} signals over the day ({rolled.num_rows:,} buckets), best of 3:")
        print(table([(k, f"{v * 1e3:,.0f}", f"{v / ref:.2f}x") for k, v in times.items()],
                    ("query", "ms", "vs rollup SQL direct")))  # fmt: skip

        engine = Engine(plant, store)
        every = range(SIGNALS)
        columns = QueryService(plant, engine, store, Settings(data_dir=Path(tempfile.mkdtemp())))
        latest = {
            "live table, columnar (GET /api/live)": best(columns.live_table, 5),
            "Engine.live, records (GET /api/twins/{id}/live)": best(lambda: engine.live(every), 5),
            "engine arrays copied (value, ts, quality)": best(
                lambda: (engine.value.copy(), engine.ts.copy(), engine.quality.copy()), 5),
            "store.latest() (index probe per signal)": best(store.latest, 3),
            "live_latest table read": best(direct("SELECT * FROM live_latest WHERE %s IS NOT NULL OR %s IS NULL"), 3),
        }  # fmt: skip
        print(f"\nlatest values of all {SIGNALS} signals:")
        print(table([(k, f"{v * 1e3:.3f}") for k, v in latest.items()], ("read", "ms")))
        columns.close()
        engine.close()
        store.close()
        del rollups


if __name__ == "__main__":
    main()
