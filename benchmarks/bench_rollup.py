"""Downsampled history from rollups against the same query over raw rows (DuckDB file store).

A store of N rows (default 10M: 1,000 signals × 10,000 points, one every ~8.6 s over a day)
is filled and its rollups refreshed (timed). Then each query runs with the rollups and
without (``use_rollups=False``: the raw-row SQL, the baseline), best of 3, and the answers
are checked equal.

    python benchmarks/bench_rollup.py [--rows 10000000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table

from twinverse.core import make_batch
from twinverse.store import Aggregate, DuckDBStore, HistoryQuery

DAY_US = 86_400_000_000


def best(f: object, n: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(n):
        t = time.perf_counter()
        out = f()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--signals", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="1M rows")
    args = ap.parse_args()
    rows = 1_000_000 if args.quick else args.rows
    per = rows // args.signals
    t0 = (int(time.time() * 1e6) // DAY_US - 2) * DAY_US
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(Path(tmp) / "h.duckdb")
        step = DAY_US // per
        rng = np.random.default_rng(1)
        chunk = max(1, 1_000_000 // args.signals)
        for i in range(0, per, chunk):
            k = min(chunk, per - i)
            ts = np.repeat(t0 + (np.arange(i, i + k) * step), args.signals)
            sid = np.tile(np.arange(args.signals, dtype=np.int32), k)
            store.append(make_batch(ts, sid, rng.normal(50, 10, len(ts))))
        t = time.perf_counter()
        steps = store.refresh_rollups()
        refresh = time.perf_counter() - t
        day = (datetime.fromtimestamp(t0 / 1e6, UTC), datetime.fromtimestamp((t0 + DAY_US) / 1e6, UTC))
        queries = [
            ("10 signals, 1 h avg, one day", (tuple(range(10)), timedelta(hours=1), Aggregate.AVG)),
            ("10 signals, 5 min max, one day", (tuple(range(10)), timedelta(minutes=5), Aggregate.MAX)),
            ("all signals, 1 h last, one day", (tuple(range(args.signals)), timedelta(hours=1), Aggregate.LAST)),
        ]
        out = []
        for name, (sids, iv, agg) in queries:
            q = HistoryQuery(sids=sids, start=day[0], end=day[1], interval=iv, aggregate=agg)
            raw_t, raw = best(lambda q=q: store.history(HistoryQuery(**{**q.__dict__, "use_rollups": False})))
            rol_t, rol = best(lambda q=q: store.history(q))
            same = raw.column("n").to_pylist() == rol.column("n").to_pylist()  # type: ignore[attr-defined]
            out.append((name, f"{raw_t * 1e3:,.1f}", f"{rol_t * 1e3:,.1f}", f"{raw_t / rol_t:,.1f}x",
                        "yes" if same else "NO"))
        store.close()
    print(f"{rows:,} rows, {args.signals:,} signals over one day; rollup refresh {refresh:.2f} s ({steps} steps)")
    print(table(out, ("query", "raw rows ms (baseline)", "rollups ms", "speed-up", "same buckets")))


if __name__ == "__main__":
    main()
