"""Run a detector over the whole NAB corpus, write NAB's results layout, score all three profiles.

One parameter set for every file (no per-file tuning). Each file is one signal fed from its
first row; NAB's probationary period (the first 15% of a file, at most 750 rows) is fed but
not scored. Results go to ``benchmarks/results/<detector>/<category>/<detector>_<file>.csv``
(``timestamp,value,anomaly_score,label``), NAB's layout; scores are printed with NAB's
reference detector (windowed Gaussian, from ``../shared/data/nab/reference``) rescored by the
same scorer beside them.

Run: ``python benchmarks/nab_run.py [--detector context] [--param bins=30 ...]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import table
from twinverse.ops.anomaly import detector_kind
from twinverse.ops.anomaly.nab import load_corpus, read_scores, score_corpus, write_results

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TWINVERSE_SHARED_DATA") or ROOT / ".." / "shared" / "data") / "nab"


def run(name: str, params: dict[str, object], files: list) -> tuple[list[np.ndarray], float]:  # type: ignore[type-arg]
    kind = detector_kind(name)
    p = kind.params(**params)
    kind.create(p, 1).update(np.zeros(10, np.intp), np.arange(10.0), np.arange(10))  # compile before timing
    out, t0 = [], time.perf_counter()
    for f in files:
        det = kind.create(p, 1)
        # Twelve decimals, as NAB's results files hold them (near-1 scores become ties at 1.0 there).
        out.append(np.round(det.update(np.zeros(len(f.value), np.intp), f.value, f.ts_us), 12))
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--detector", action="append", help="detector kind(s) (default: gaussian and context)")
    ap.add_argument("--param", action="append", default=[], help="name=value for the (single) detector")
    ap.add_argument("--results", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args()
    files = load_corpus(DATA)
    rows = []
    ref = list(read_scores(DATA / "reference", "windowedGaussian", files))
    for prof, s in score_corpus(files, ref).items():
        rows.append(["windowedGaussian (NAB's results)", prof, f"{s.normalised:.2f}", f"{s.raw:.2f}",
                     f"{s.threshold:.4g}", s.tp, s.fp, s.fn, ""])  # fmt: skip
    names = args.detector or ["gaussian", "context"]
    params = {k: float(v) if "." in v else int(v) for k, v in (p.split("=", 1) for p in args.param)}
    for name in names:
        scores, secs = run(name, params if len(names) == 1 else {}, files)
        write_results(args.results, name, files, scores)
        n = sum(len(f.value) for f in files)
        for prof, s in score_corpus(files, scores).items():
            rows.append([name, prof, f"{s.normalised:.2f}", f"{s.raw:.2f}", f"{s.threshold:.6g}", s.tp, s.fp, s.fn,
                         f"{n / secs:,.0f}"])  # fmt: skip
    print(f"NAB corpus: {len(files)} files, {sum(len(f.value) for f in files):,} rows, "
          f"{sum(len(f.windows) for f in files)} windows; results in {args.results}")  # fmt: skip
    print(
        table(
            [tuple(map(str, r)) for r in rows],
            ("detector", "profile", "score", "raw", "threshold", "TP rows", "FP rows", "missed", "points/s, run"),
        )
    )


if __name__ == "__main__":
    main()
