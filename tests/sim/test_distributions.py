"""Distributions: means, spreads, parameter checks, scaling for sweeps, the strategy protocol."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinverse.sim import RunConfig, simulate
from twinverse.sim.distributions import (
    Constant,
    Distribution,
    DistributionError,
    distribution_names,
    parse_distribution,
    register_distribution,
)

from .conftest import model

N = 400_000

SPECS: list[tuple[dict[str, Any], float, float]] = [  # spec, mean, sd
    ({"dist": "constant", "mean": 2.5}, 2.5, 0.0),
    ({"dist": "exponential", "mean": 2.0}, 2.0, 2.0),
    ({"dist": "exponential", "rate": 4.0}, 0.25, 0.25),
    ({"dist": "uniform", "low": 1, "high": 3}, 2.0, 2 / math.sqrt(12)),
    ({"dist": "triangular", "low": 0, "mode": 1, "high": 4}, 5 / 3, math.sqrt((0 + 1 + 16 - 0 - 0 - 4) / 18)),
    ({"dist": "normal", "mean": 10, "sd": 1}, 10.0, 1.0),
    ({"dist": "lognormal", "mean": 3, "cv": 0.5}, 3.0, 1.5),
    ({"dist": "erlang", "mean": 2, "k": 4}, 2.0, 1.0),
    ({"dist": "gamma", "mean": 2, "cv": 0.25}, 2.0, 0.5),
    ({"dist": "weibull", "mean": 1, "shape": 2}, 1.0, math.sqrt(math.gamma(2) / math.gamma(1.5) ** 2 - 1)),
    ({"dist": "empirical", "values": [1, 2, 3, 4]}, 2.5, math.sqrt(1.25)),
    ({"dist": "empirical", "values": [1, 2, 3, 4], "interpolate": True}, 2.5, math.sqrt(0.75)),
]


@pytest.mark.parametrize(("spec", "mean", "sd"), SPECS, ids=[f"{s['dist']}-{i}" for i, (s, _, _) in enumerate(SPECS)])
def test_sample_mean_and_spread(spec: dict[str, Any], mean: float, sd: float) -> None:
    d = parse_distribution(spec)
    assert isinstance(d, Distribution)
    assert d.mean == pytest.approx(mean, rel=1e-9)
    x = d.sample(np.random.default_rng(1), N)
    assert x.shape == (N,) and x.dtype == np.float64 and (x >= 0).all()
    se = max(sd, 1e-12) / math.sqrt(N)
    assert abs(x.mean() - mean) < 5 * se + 1e-12
    assert x.std() == pytest.approx(sd, rel=0.02, abs=1e-9)


def test_truncated_normal_mean_is_the_truncated_one() -> None:
    d = parse_distribution({"dist": "normal", "mean": 1, "sd": 1})
    x = d.sample(np.random.default_rng(2), N)
    assert (x >= 0).all()
    assert x.mean() == pytest.approx(d.mean, rel=0.01) and d.mean > 1.2  # truncation lifts the mean


def test_number_is_a_constant() -> None:
    assert parse_distribution(1.5) == Constant(1.5)


@pytest.mark.parametrize(("spec", "field", "text"), [
    ({"dist": "exponential", "mean": -1}, "mean", "must be a finite number > 0, got -1"),
    ({"dist": "exponential", "mean": 0}, "mean", "must be a finite number > 0, got 0"),
    ({"dist": "exponential"}, "mean", "missing required field 'mean'"),
    ({"dist": "exponential", "mean": 1, "rate": 1}, "rate", "not both"),
    ({"dist": "uniform", "low": 3, "high": 1}, "high", "high must be > low"),
    ({"dist": "lognormal", "mean": 1}, "sd", "needs 'sd' or 'cv'"),
    ({"dist": "erlang", "mean": 1, "k": 1.5}, "k", "k must be an integer >= 1"),
    ({"dist": "weibull", "mean": 1, "shape": 0}, "shape", "must be a finite number > 0"),
    ({"dist": "empirical", "values": []}, "values", "non-empty list"),
    ({"dist": "empirical", "values": [1, -2]}, "values[1]", "values[1] must be a finite number >= 0"),
    ({"dist": "gaussian", "mean": 1}, "dist", "unknown distribution 'gaussian'"),
    ({"mean": 1}, "dist", "missing required field 'dist'"),
    ({"dist": "exponential", "mean": 1, "shape": 2}, "shape", "unknown parameter 'shape'"),
    ({"dist": "constant", "mean": True}, "mean", "must be a number"),
])
def test_bad_parameters(spec: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(DistributionError) as info:
        parse_distribution(spec)
    assert text in str(info.value) and info.value.field == field


def test_empirical_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "times.csv").write_text("machine,seconds\nA,1.5\nA,2.5\nB,3.5\n")
    d = parse_distribution({"dist": "empirical", "file": "times.csv", "column": "seconds"}, tmp_path)
    assert d.mean == pytest.approx(2.5)
    (tmp_path / "plain.txt").write_text("# one per line\n4\n6\n")
    assert parse_distribution({"dist": "empirical", "file": "plain.txt"}, tmp_path).mean == 5
    with pytest.raises(DistributionError, match="cannot read"):
        parse_distribution({"dist": "empirical", "file": "missing.csv"}, tmp_path)
    with pytest.raises(DistributionError, match="column 'minutes' not in header"):
        parse_distribution({"dist": "empirical", "file": "times.csv", "column": "minutes"}, tmp_path)


@settings(max_examples=30, deadline=None)
@given(spec=st.sampled_from([s for s, _, _ in SPECS]), factor=st.floats(0.1, 10))
def test_scaled_keeps_the_shape_and_common_random_numbers(spec: dict[str, Any], factor: float) -> None:
    """Sweeps rescale means; the scaled variates are the same draws times the factor."""
    d = parse_distribution(spec)
    s = d.scaled(d.mean * factor)
    assert s.mean == pytest.approx(d.mean * factor, rel=1e-9)
    a = d.sample(np.random.default_rng(7), 1000)
    b = s.sample(np.random.default_rng(7), 1000)
    if spec["dist"] != "normal":  # redraws below 0 may differ after scaling
        assert np.allclose(b, a * factor, rtol=1e-9)


def test_third_party_distribution_registers_like_built_ins() -> None:
    class Twice:
        """Always 2 × mean / 2: a toy strategy object."""

        def __init__(self, mean: float) -> None:
            self.mean = mean

        def sample(self, rng: np.random.Generator, size: int) -> Any:
            return np.full(size, self.mean)

        def scaled(self, mean: float) -> Twice:
            return Twice(mean)

    register_distribution("toy", lambda p, base: Twice(float(p["mean"])))
    assert "toy" in distribution_names()
    net = model("""
sources: {s: {saturated: true, to: m}}
stations: {m: {process: {dist: toy, mean: 0.5}, to: out}}
sinks: [out]
""")
    r = simulate(net, RunConfig(until=100, seed=1))
    assert r.exits == 200

