"""The NAB scorer: hand-worked answers, and NAB's published numbers from its reference results."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from twinverse.ops.anomaly.nab import (
    NabFile,
    load_corpus,
    probation_length,
    read_scores,
    results_path,
    score_corpus,
    write_results,
)

S = 1_000_000


def _sig(p: float) -> float:
    return 2.0 / (1.0 + math.exp(5.0 * p)) - 1.0


def test_probation_is_fifteen_percent_capped_at_750_rows() -> None:
    assert [probation_length(n) for n in (100, 1000, 4000, 5000, 22695)] == [15, 150, 600, 750, 750]


def test_one_window_by_hand() -> None:
    # 100 rows, probation 15; one window of rows 50..59 (10 rows).
    f = NabFile("art/x.csv", np.arange(100, dtype=np.int64) * S, np.zeros(100), [(50, 59)])
    s = np.zeros(100)
    s[52] = 0.9  # a detection at the third row of the window
    s[70] = 0.8  # a false positive 11 rows after its right edge
    s[10] = 1.0  # in the probationary period: not scored
    r = score_corpus([f], [s])
    max_tp = _sig(-1.0)
    tp = _sig(-(59 - 52 + 1) / 10) / max_tp
    fp = _sig(11 / 9)
    std = r["standard"]
    # best threshold 0.9 (the detection alone): raw = tp; at 0.8 the false positive costs 0.11 * fp
    assert (std.threshold, std.tp, std.fp, std.fn) == (0.9, 1, 0, 0)
    assert std.raw == pytest.approx(tp)
    assert (std.null, std.perfect) == (-1.0, 1.0)
    assert std.normalised == pytest.approx(100 * (tp + 1) / 2)
    low_fn = r["reward_low_FN_rate"]
    assert low_fn.null == -2.0 and low_fn.normalised == pytest.approx(100 * (tp + 2) / 3)
    # Without the detection, the window is missed; a false positive before any window costs the full weight.
    s2 = np.zeros(100)
    s2[30] = 1.0
    r2 = score_corpus([f], [s2])["standard"]
    assert r2.threshold == 1.1 and r2.raw == -1.0  # detecting nothing beats -1 - 0.11
    assert fp < 0


def test_results_layout_round_trips(tmp_path: Path) -> None:
    f = NabFile("realX/y.csv", np.array([0, 300 * S]) + 1_400_000_000 * S, np.array([1.5, 2.0]), [(1, 1)])
    write_results(tmp_path, "det", [f], [np.array([0.25, 0.75])])
    path = results_path(tmp_path, "det", "realX/y.csv")
    assert path == tmp_path / "det" / "realX" / "det_y.csv"
    assert path.read_text().splitlines() == [
        "timestamp,value,anomaly_score,label",
        "2014-05-13 16:53:20,1.5,0.25,0",
        "2014-05-13 16:58:20,2,0.75,1",
    ]
    assert next(read_scores(tmp_path, "det", [f])).tolist() == [0.25, 0.75]


def test_reproduces_nabs_published_windowed_gaussian_scores(shared_data: Path) -> None:
    root = shared_data / "nab"
    if not (root / "reference" / "windowedGaussian").is_dir():
        pytest.skip("NAB reference results are absent from the shared data")
    files = load_corpus(root)
    assert (len(files), sum(len(f.windows) for f in files)) == (58, 116)
    r = score_corpus(files, list(read_scores(root / "reference", "windowedGaussian", files)))
    assert {k: round(v.normalised, 2) for k, v in r.items()} == {
        "standard": 39.65, "reward_low_FP_rate": 20.87, "reward_low_FN_rate": 47.41}  # fmt: skip
    # NAB's own totals (windowedGaussian_standard_scores.csv): raw -24.0131054891, null -116
    assert round(r["standard"].raw, 6) == -24.013105
    assert (r["standard"].null, r["reward_low_FN_rate"].null) == (-116.0, -232.0)
    assert (r["standard"].tp, r["standard"].fp) == (521, 409)  # NAB's TP and FP row counts


def test_our_windowed_gaussian_reproduces_nabs_results_files(shared_data: Path) -> None:
    from twinverse.ops.anomaly import detector_kind

    root = shared_data / "nab"
    if not (root / "reference" / "windowedGaussian").is_dir():
        pytest.skip("NAB reference results are absent from the shared data")
    files = load_corpus(root)
    kind = detector_kind("gaussian")
    ours, worst = [], 0.0
    for f, ref in zip(files, read_scores(root / "reference", "windowedGaussian", files), strict=True):
        s = kind.create(kind.params(), 1).update(np.zeros(len(f.value), np.intp), f.value, f.ts_us)
        worst = max(worst, float(np.abs(s - ref).max()))
        ours.append(np.round(s, 12))  # NAB's files hold 12 decimals
    assert worst < 1e-11
    r = score_corpus(files, ours)
    assert [round(r[p].normalised, 2) for p in ("standard", "reward_low_FP_rate", "reward_low_FN_rate")] == [
        39.65, 20.87, 47.41]  # fmt: skip
