"""The Numenta Anomaly Benchmark: its corpus, results layout and scoring method.

Written from NAB's description and its scorer (``nab/sweeper.py``, ``nab/optimizer.py``,
``nab/scorer.py``, ``nab/runner.py`` in numenta/NAB), vectorised:

- **windows**: each labelled anomaly is a window of timestamps (``labels/combined_windows.json``);
- **probationary period**: the first ``min(floor(0.15 n), 750)`` rows of a file are not scored;
- **per-row weights**: a detection at relative position ``p`` of a window (``-1`` its left
  edge, ``0`` just after its right edge) earns ``A_tp · σ(p) / σ(-1)`` with the scaled sigmoid
  ``σ(p) = 2 / (1 + e^{5p}) - 1``; only the best (earliest) detection in a window counts, a
  window with none costs ``-A_fn``; a detection outside every window costs ``A_fp · σ(q)``
  where ``q`` is its distance past the previous window's right edge in window widths
  (``-A_fp`` before the first window or ``q > 3``);
- **application profiles** (``standard``, ``reward_low_FP_rate``, ``reward_low_FN_rate``): the
  cost matrices above (:data:`PROFILES`);
- **threshold optimisation**: the corpus-wide score is computed for every distinct anomaly
  score as a threshold (a row detects when its score is ``>=`` the threshold) and the best is
  kept, one threshold per profile for the whole corpus;
- **normalisation**: ``100 · (S - S_null) / (S_perfect - S_null)`` with the null detector (a
  constant score) and the perfect one (every window detected at its left edge: the number of
  windows × ``A_tp``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

__all__ = [
    "PROFILES",
    "NabFile",
    "ProfileScore",
    "load_corpus",
    "probation_length",
    "read_scores",
    "score_corpus",
    "write_results",
]

_F = npt.NDArray[np.float64]

#: NAB's application profiles (``config/profiles.json``): weights of a true positive, a false
#: negative and a false positive.
PROFILES: dict[str, dict[str, float]] = {
    "standard": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11},
    "reward_low_FP_rate": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.22},
    "reward_low_FN_rate": {"tpWeight": 1.0, "fnWeight": 2.0, "fpWeight": 0.11},
}
PROBATION_PERCENT = 0.15


@dataclass
class NabFile:
    """One corpus file: its name (``category/file.csv``), timestamps (µs), values and windows (row ranges)."""

    name: str
    ts_us: npt.NDArray[np.int64]
    value: _F
    windows: list[tuple[int, int]]  # inclusive (first row, last row)

    @property
    def category(self) -> str:
        return self.name.split("/")[0]

    def labels(self) -> npt.NDArray[np.int8]:
        out = np.zeros(len(self.ts_us), dtype=np.int8)
        for a, b in self.windows:
            out[a : b + 1] = 1
        return out


def _ts_us(col: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.int64]:
    if pa.types.is_timestamp(col.type):
        return np.asarray(col.cast(pa.timestamp("us")).to_numpy(), dtype="datetime64[us]").astype(np.int64)
    return np.array(col.to_pylist(), dtype="datetime64[us]").astype(np.int64)


def _read(path: Path) -> pa.Table:
    opts = pacsv.ConvertOptions(column_types={"timestamp": pa.timestamp("us")})
    return pacsv.read_csv(path, convert_options=opts)


def load_corpus(root: str | Path, windows_file: str = "labels/combined_windows.json") -> list[NabFile]:
    """Every labelled file of a NAB data directory (``root/<category>/<file>.csv``), in name order."""
    root = Path(root)
    windows = json.loads((root / windows_file).read_text())
    out = []
    for name in sorted(windows):
        table = _read(root / name)
        ts = _ts_us(table.column("timestamp"))
        rows = []
        for a, b in windows[name]:
            ia, ib = (int(np.searchsorted(ts, np.datetime64(t, "us").astype(np.int64))) for t in (a, b))
            rows.append((ia, ib))
        value = np.asarray(table.column("value").to_numpy(), dtype=np.float64)
        out.append(NabFile(name, ts, value, rows))
    return out


def probation_length(n: int, percent: float = PROBATION_PERCENT) -> int:
    """Rows of a file of ``n`` rows that are fed to a detector but not scored."""
    return int(min(math.floor(percent * n), percent * 5000))


def _scaled_sigmoid(p: _F) -> _F:
    out: _F = np.where(p > 3.0, -1.0, 2.0 / (1.0 + np.exp(np.minimum(5.0 * p, 700.0))) - 1.0)
    return out


def _row_weights(f: NabFile, tp: float, fp: float) -> tuple[_F, npt.NDArray[np.int64]]:
    """Per row: what a detection there is worth, and the window it falls in (-1 outside any)."""
    n = len(f.ts_us)
    pos = np.arange(n)
    window = np.full(n, -1, dtype=np.int64)
    weight = np.empty(n)
    max_tp = 2.0 / (1.0 + math.exp(-5.0)) - 1.0
    prev_right = np.full(n, -1, dtype=np.int64)
    prev_width = np.zeros(n)
    for k, (a, b) in enumerate(f.windows):
        width = float(b - a + 1)
        window[a : b + 1] = k
        weight[a : b + 1] = _scaled_sigmoid(-(b - pos[a : b + 1] + 1) / width) * tp / max_tp
        prev_right[b + 1 :] = b
        prev_width[b + 1 :] = width
    out = window < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        past = np.abs(prev_right - pos) / (prev_width - 1.0)
    fp_w = np.where(prev_right < 0, -1.0, _scaled_sigmoid(past))
    weight[out] = fp_w[out] * fp
    return weight, window


@numba.njit(cache=True)
def _sweep(order: npt.NDArray[np.int64], score: _F, weight: _F, window: npt.NDArray[np.int64],
           nwin: int, fn: float) -> tuple[_F, _F]:  # fmt: skip
    """Corpus score at each distinct threshold (rows visited by decreasing score)."""
    best = np.full(nwin, -fn)
    total = -fn * nwin
    thresholds = np.empty(len(order) + 1)
    totals = np.empty(len(order) + 1)
    m = 0
    cur = 1.1
    for j in range(len(order)):
        i = order[j]
        if score[i] != cur:
            thresholds[m] = cur
            totals[m] = total
            m += 1
            cur = score[i]
        w = window[i]
        if w < 0:
            total += weight[i]
        elif weight[i] > best[w]:
            total += weight[i] - best[w]
            best[w] = weight[i]
    thresholds[m] = cur
    totals[m] = total
    m += 1
    return thresholds[:m], totals[:m]


@dataclass(frozen=True)
class ProfileScore:
    """A detector's result on one profile: raw score, threshold, normalised score, counts."""

    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float
    tp: int
    fp: int
    fn: int  # windows missed

    @property
    def normalised(self) -> float:
        return 100.0 * (self.raw - self.null) / (self.perfect - self.null)


def _best(files: list[NabFile], scores: list[_F], cost: Mapping[str, float]) -> tuple[float, float, int, int, int]:
    weights, windows, values = [], [], []
    offset = 0
    for f, s in zip(files, scores, strict=True):
        w, win = _row_weights(f, cost["tpWeight"], cost["fpWeight"])
        keep = np.arange(len(w)) >= probation_length(len(w))
        # A window's rows in the probationary period are not scored: such a window is not counted.
        win = np.where(win >= 0, win + offset, -1)
        offset += len(f.windows)
        weights.append(w[keep])
        windows.append(win[keep])
        values.append(np.asarray(s, dtype=np.float64)[keep])
    weight, window, score = np.concatenate(weights), np.concatenate(windows), np.concatenate(values)
    # Renumber the windows that have scorable rows (NAB counts only those as misses).
    present, window_c = np.unique(window[window >= 0], return_inverse=True)
    win = np.full(len(window), -1, dtype=np.int64)
    win[window >= 0] = window_c
    order = np.argsort(-score, kind="stable").astype(np.int64)
    th, tot = _sweep(order, score, weight, win, len(present), float(cost["fnWeight"]))
    k = int(np.argmax(tot))  # the first (highest) threshold of the best score, as NAB's stable sort
    t = float(th[k])
    hit = score >= t
    tp = int((hit & (win >= 0)).sum())
    fp = int((hit & (win < 0)).sum())
    detected = len(np.unique(win[hit & (win >= 0)]))
    return t, float(tot[k]), tp, fp, len(present) - detected


def score_corpus(
    files: list[NabFile], scores: list[_F], profiles: Mapping[str, Mapping[str, float]] | None = None
) -> dict[str, ProfileScore]:
    """Score a detector's anomaly scores (one array per file, in ``files`` order) on every profile."""
    profiles = profiles or PROFILES
    nwin = sum(len(f.windows) for f in files)
    null = [np.full(len(f.ts_us), 0.5) for f in files]
    out = {}
    for name, cost in profiles.items():
        t, raw, tp, fp, fn = _best(files, scores, cost)
        _, base, _, _, _ = _best(files, null, cost)
        out[name] = ProfileScore(name, t, raw, base, nwin * float(cost["tpWeight"]), tp, fp, fn)
    return out


def results_path(root: str | Path, detector: str, name: str) -> Path:
    """Where NAB keeps a detector's results for a corpus file: ``<detector>/<category>/<detector>_<file>``."""
    category, file = name.split("/")
    return Path(root) / detector / category / f"{detector}_{file}"


def write_results(root: str | Path, detector: str, files: Iterable[NabFile], scores: Iterable[_F]) -> None:
    """Write NAB results files (``timestamp,value,anomaly_score,label``) under ``root``."""
    for f, s in zip(files, scores, strict=True):
        path = results_path(root, detector, f.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        ts = pa.array(np.asarray(f.ts_us, np.int64), pa.timestamp("us")).cast(pa.timestamp("s"))
        table = pa.table({
            "timestamp": pc.strftime(ts, "%Y-%m-%d %H:%M:%S"),
            "value": pa.array(f.value), "anomaly_score": pa.array(np.asarray(s, np.float64)),
            "label": pa.array(f.labels().astype(np.int64)),
        })  # fmt: skip
        with path.open("wb") as out:
            out.write(b"timestamp,value,anomaly_score,label\n")
            pacsv.write_csv(table, out, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def read_scores(root: str | Path, detector: str, files: Iterable[NabFile]) -> Iterator[_F]:
    """The ``anomaly_score`` column of each file's results under ``root`` (NAB's layout)."""
    for f in files:
        table = _read(results_path(root, detector, f.name))
        yield np.asarray(table.column("anomaly_score").to_numpy(), dtype=np.float64)
