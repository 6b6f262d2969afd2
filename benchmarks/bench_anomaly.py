"""Anomaly detectors' throughput, one core, beside a plain NumPy pass over the same data.

A bank of ``signals`` signals with ``points`` values each (a noisy daily pattern with rare
spikes), handed to each built-in detector in batches of rows grouped by signal, as the
engine publishes them. Baseline, measured in the same run: a vectorised NumPy z-score
against a trailing window (cumulative sums; one array pass per batch), i.e. what the hot
path costs with no per-point state machine at all. Also shown: the detectors driven through
:class:`AnomalyService` (gather by sid, score, scatter to score sids) without an engine.

Target: >= 100,000 points/s per detector per core.

Run: ``python benchmarks/bench_anomaly.py`` (1,000 signals × 2,000 points) or ``--quick``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import table
from twinverse.model import loads_plant
from twinverse.ops.anomaly import AnomalyService, detector_kind


def data(signals: int, points: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(points)
    x = 50 + 10 * np.sin(2 * np.pi * t / 288)[None, :] + rng.normal(0, 1, (signals, points))
    spikes = rng.random((signals, points)) < 1e-3
    x[spikes] += 15
    return x


def numpy_baseline(x: np.ndarray, batch: int, window: int = 100) -> np.ndarray:
    """Trailing-window z-scores, vectorised over signals and points of a batch (no carried state)."""
    out = np.empty_like(x)
    for a in range(0, x.shape[1], batch):
        b = x[:, max(0, a - window) : a + batch]
        c1 = np.cumsum(b, axis=1)
        c2 = np.cumsum(b * b, axis=1)
        k = min(window, a)
        n = np.minimum(np.arange(b.shape[1]) + 1, window)[None, :]
        s1 = c1 - np.pad(c1, ((0, 0), (window, 0)))[:, : b.shape[1]]
        s2 = c2 - np.pad(c2, ((0, 0), (window, 0)))[:, : b.shape[1]]
        m = s1 / n
        sd = np.sqrt(np.maximum(s2 / n - m * m, 1e-12))
        out[:, a : a + batch] = (np.abs(b - m) / sd)[:, k:]
    return out


def timed(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--signals", type=int, default=1000)
    ap.add_argument("--points", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=100, help="points per signal per batch")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.signals, args.points, args.repeat = 200, 1000, 2
    x = data(args.signals, args.points)
    n = x.size
    batches = []
    for a in range(0, args.points, args.batch):
        blk = x[:, a : a + args.batch]
        slot = np.repeat(np.arange(args.signals, dtype=np.intp), blk.shape[1])
        ts = np.tile(np.arange(a, a + blk.shape[1], dtype=np.int64), args.signals)
        batches.append((slot, np.ascontiguousarray(blk).ravel(), ts))
    rows = []
    base = timed(lambda: numpy_baseline(x, args.batch), args.repeat)
    rows.append(("numpy trailing z-score (baseline)", f"{n / base:,.0f}", "1.00"))
    for name, params in (("gaussian", {}), ("gaussian", {"window": 500, "step": 10}), ("context", {})):
        kind = detector_kind(name)
        p = kind.params(**params)
        kind.create(p, 1).update(np.zeros(10, np.intp), np.ones(10), np.arange(10))  # compile

        def go(kind=kind, p=p) -> None:  # type: ignore[no-untyped-def]
            det = kind.create(p, args.signals)
            for slot, v, ts in batches:
                det.update(slot, v, ts)

        secs = timed(go, args.repeat)
        label = name + (" " + ", ".join(f"{k}={v}" for k, v in params.items()) if params else "")
        rows.append((label, f"{n / secs:,.0f}", f"{base / secs:.2f}"))
    # Through the service: sids of a plant, score sids out (what each stored batch costs).
    plant = loads_plant("plant: b\ntypes:\n  m:\n    signals: {x: {}}\n    anomaly: {x: {detector: context}}\n"
                        f"twins:\n  - {{id: m, type: m, count: {args.signals}}}\n")  # fmt: skip
    sids = np.array([plant.signals.sid(f"b/m{i + 1}", "x") for i in range(args.signals)], np.int32)

    def service() -> None:
        svc = AnomalyService(plant)
        for slot, v, ts in batches:
            svc.score(sids[slot], ts, v)

    secs = timed(service, args.repeat)
    rows.append(("context via AnomalyService.score", f"{n / secs:,.0f}", f"{base / secs:.2f}"))
    print(f"{args.signals:,} signals × {args.points:,} points = {n:,} points, batches of {args.batch} "
          f"points per signal, one thread; best of {args.repeat}")  # fmt: skip
    print(table(rows, ("detector", "points/s", "vs baseline")))


if __name__ == "__main__":
    main()
