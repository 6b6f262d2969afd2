"""Ingest with 1,000 active alarm rules against ingest without rules, in the same run.

A plant of 1,000 machines with two float signals each; every machine's ``x0`` carries one
alarm rule, the kinds taking turns (hi with deadband, lo, hihi, rate of change), so half of
all points meet a rule. The same N points (every signal at every tick, time-major, in
batches of 100k rows) go through:

- baseline: :class:`Engine` over a fresh DuckDB file, no rules;
- rules: the same, with an :class:`AlarmService` subscribed (compiled rules evaluated on
  every stored batch, transitions journalled to SQLite in the same directory).

Values stay inside the limits except rare excursions (one point in 20,000 jumps above every
limit), so alarms do raise and clear, as on a real plant, without turning the run into a
flood. Targets: with rules >= 1,000,000 points/s and >= 50% of the rule-free rate.

``--new-kinds`` adds two kinds to the rotation (six in turn): a hi rule with an on-delay and
an off-delay of 50 ms (5 ticks), and an expression rule over both signals
(``x0 > 95 and x1 < 99``, last value carried forward).

Run: ``python benchmarks/bench_rules.py`` (4M points) or ``--quick`` (1M points).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import table
from twinverse.core import make_batch
from twinverse.live import Engine
from twinverse.model import Plant, loads_plant
from twinverse.ops import AlarmService, Journal
from twinverse.store.duckdb import DuckDBStore

TICK_US = 10_000
KINDS = {
    "hi": "{kind: hi, signal: x0, limit: 95, deadband: 2}",
    "lo": "{kind: lo, signal: x0, limit: 5, deadband: 2}",
    "hihi": "{kind: hihi, signal: x0, limit: 98}",
    "rate": "{kind: rate, signal: x0, limit: 5000, deadband: 100}",
}
NEW_KINDS = {
    "delay": "{kind: hi, signal: x0, limit: 95, deadband: 2, on_delay: 0.05, off_delay: 0.05}",
    "expr": "{kind: expr, expr: 'x0 > 95 and x1 < 99'}",
}


def rules_plant(machines: int, kinds: dict[str, str] = KINDS) -> Plant:
    """``machines`` twins, a type per kind, one rule each (the kinds in turn)."""
    types = "".join(
        f"  m_{k}:\n    signals:\n      x0: {{unit: degC}}\n      x1: {{unit: degC}}\n    alarms:\n      r: {rule}\n"
        for k, rule in kinds.items()
    )
    twins = "".join(f"  - {{id: m{i}, type: m_{list(kinds)[i % len(kinds)]}}}\n" for i in range(machines))
    return loads_plant(f"plant: bench\ntypes:\n{types}twins:\n{twins}")


def make_points(plant: Plant, n: int, seed: int) -> pa.RecordBatch:
    rng = np.random.default_rng(seed)
    nsig = len(plant.signals)
    ticks = -(-n // nsig)
    start = int(time.time() * 1e6) - 30 * 86_400_000_000
    ts = np.repeat(start + np.arange(ticks, dtype=np.int64) * TICK_US, nsig)[:n]
    sid = np.tile(np.arange(nsig, dtype=np.int32), ticks)[:n]
    value = rng.uniform(40.0, 60.0, n)
    value[rng.random(n) < 1 / 20_000] = 99.5  # rare excursions: every kind raises, then clears
    return make_batch(ts, sid, value, np.zeros(n, np.uint8))


def run(plant: Plant, points: pa.RecordBatch, size: int, path: Path, rules: bool) -> tuple[float, int]:
    store = DuckDBStore(path / "h.duckdb")
    engine = Engine(plant, store)
    service = AlarmService(plant, engine, journal=Journal(path / "alarms.sqlite")) if rules else None
    batches = [points.slice(i, size) for i in range(0, points.num_rows, size)]
    t = time.perf_counter()
    for b in batches:
        engine.ingest(b)
    elapsed = time.perf_counter() - t
    events = service.journal.last_seq if service is not None else 0
    assert store.count() == points.num_rows and engine.stats()["rejected"] == 0
    if service is not None:
        service.close()
    engine.close()
    store.close()
    return elapsed, events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1M points instead of 4M")
    ap.add_argument("--points", type=int, default=None)
    ap.add_argument("--size", type=int, default=100_000, help="rows per batch")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each side (best counts)")
    ap.add_argument("--new-kinds", action="store_true", help="add delayed and expression rules to the rotation")
    args = ap.parse_args()
    n = args.points or (1_000_000 if args.quick else 4_000_000)
    plant = rules_plant(1000, {**KINDS, **NEW_KINDS} if args.new_kinds else KINDS)
    assert len(plant.alarm_rules()) == 1000
    points = make_points(plant, n, seed=7)
    kinds = "hi, lo, hihi, rate, delayed hi, expr" if args.new_kinds else "hi, lo, hihi, rate"
    print(f"{n:,} points of {len(plant.signals)} signals, {len(plant.alarm_rules())} active rules ({kinds}), "
          f"batches of {args.size:,}")  # fmt: skip
    base = with_rules = float("inf")
    events = 0
    with tempfile.TemporaryDirectory(prefix="twinverse-bench-") as tmp:
        for k in range(args.repeat):  # interleaved, best of each: the machine is shared
            d0, d1 = Path(tmp) / f"base{k}", Path(tmp) / f"rules{k}"
            d0.mkdir()
            d1.mkdir()
            base = min(base, run(plant, points, args.size, d0, rules=False)[0])
            t, events = run(plant, points, args.size, d1, rules=True)
            with_rules = min(with_rules, t)
    rows = [(f"{n / base:,.0f}", f"{n / with_rules:,.0f}", f"{base / with_rules:.0%}", f"{events:,}")]
    print(table(rows, ("no rules (pts/s)", "1,000 rules (pts/s)", "rules / none", "alarm events")))
    print("targets: with rules >= 1,000,000 pts/s and >= 50% of the rule-free rate")


if __name__ == "__main__":
    main()
