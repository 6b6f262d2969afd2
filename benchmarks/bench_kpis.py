"""The ISO 22400-2 time model of a day of 1 Hz machine states: vectorised vs a per-sample loop, same run.

One machine's day: 86,400 state samples (a state change every second, states drawn at
random), three 8-hour shifts with a 30-minute break each (the demo plant's calendar), and
good/reject counters at 1 Hz. ``production_from_series`` (NumPy over the samples) against a
baseline that walks the samples in Python and clips each one to the planned intervals —
the same answer (checked), computed the obvious way.

Run: ``python benchmarks/bench_kpis.py`` (10 machine-days) or ``--quick`` (2).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from twinverse.core.clock import to_us
from twinverse.model import load_plant
from twinverse.ops.kpis import production_from_series

STATES = ("running", "idle", "starved", "blocked", "down", "setup", "off")
S = 1_000_000


def naive(ts: list[int], code: list[int], start: int, end: int, ps: list[int], pe: list[int]) -> list[float]:
    """Seconds of planned time per state, one sample at a time."""
    out = [0.0] * len(STATES)
    for k in range(len(ts)):
        a = max(ts[k], start)
        b = min(ts[k + 1] if k + 1 < len(ts) else end, end)
        for lo, hi in zip(ps, pe, strict=True):
            x, y = max(a, lo), min(b, hi)
            if x < y:
                out[code[k]] += (y - x) / S
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    days = 2 if ap.parse_args().quick else 10
    cal = load_plant(Path(__file__).resolve().parents[1] / "examples" / "bottling.yaml").shifts
    assert cal is not None
    start = to_us(datetime(2026, 12, 3, tzinfo=UTC))
    end = start + 86_400 * S
    planned = cal.planned(start, end)
    rng = np.random.default_rng(1)
    ts = start + np.arange(86_400, dtype=np.int64) * S
    codes = [rng.integers(0, 7, 86_400).astype(float) for _ in range(days)]
    good = np.cumsum(rng.integers(0, 10, 86_400)).astype(float)
    t0 = time.perf_counter()
    fast = [production_from_series(STATES, ts, c, start, end, good=good, good_ts=ts, pru_s=0.1, planned=planned,
                                   power_kw={"running": 8.0}) for c in codes]  # fmt: skip
    t_fast = time.perf_counter() - t0
    ps, pe = planned[0].tolist(), planned[1].tolist()
    t0 = time.perf_counter()
    slow = [naive(ts.tolist(), c.astype(int).tolist(), start, end, ps, pe) for c in codes]
    t_slow = time.perf_counter() - t0
    for f, s in zip(fast, slow, strict=True):
        assert np.allclose([f.state_s[x] for x in STATES], s), "the two disagree"
    n = days * 86_400
    print(f"machine-days: {days}, state samples: {n:,}, planned intervals per day: {len(ps)}")
    print(f"vectorised time model: {t_fast:.3f} s, {n / t_fast:,.0f} samples/s")
    print(f"per-sample loop (baseline, same run): {t_slow:.3f} s, {n / t_slow:,.0f} samples/s")
    print(f"ratio: {t_slow / t_fast:.1f}x")


if __name__ == "__main__":
    main()
