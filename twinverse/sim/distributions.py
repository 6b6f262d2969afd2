"""Random-variate distributions as strategy objects.

A distribution is anything with a ``mean`` and a ``sample(rng, size)`` method that
returns ``size`` non-negative float64 variates drawn with the given
``numpy.random.Generator``. The engine draws variates in blocks, so one call costs a
single vectorised NumPy pass, and a third-party distribution needs no compiled code.

Built-in distributions are registered by name, the same way third-party ones are
(entry-point group ``twinverse.distributions``, or :func:`register_distribution`)::

    >>> import numpy as np
    >>> d = parse_distribution({"dist": "erlang", "mean": 2.0, "k": 4})
    >>> d.mean, d.cv
    (2.0, 0.5)
    >>> d.sample(np.random.default_rng(1), 3).shape
    (3,)

Every distribution is parameterised by its mean where that is natural, so a sweep can
rescale process times with :meth:`Distribution.scaled`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = [
    "Constant",
    "Distribution",
    "DistributionError",
    "Empirical",
    "Exponential",
    "Gamma",
    "Lognormal",
    "Normal",
    "Triangular",
    "Uniform",
    "Weibull",
    "distribution_names",
    "parse_distribution",
    "register_distribution",
]

FloatArray = npt.NDArray[np.float64]


class DistributionError(ValueError):
    """A distribution spec is invalid; ``field`` names the offending key (relative)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@runtime_checkable
class Distribution(Protocol):
    """What the engine needs from a distribution: a mean and bulk sampling."""

    @property
    def mean(self) -> float: ...

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray: ...

    def scaled(self, mean: float) -> Distribution: ...


def _who(name: str) -> str:
    # A plain key is named by the error's field path already; an element of a list is not.
    return "" if name.isidentifier() else f"{name} "


def _positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DistributionError(f"{_who(name)}must be a number, got {value!r}", name)
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise DistributionError(f"{_who(name)}must be a finite number > 0, got {value!r}", name)
    return v


def _non_negative(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DistributionError(f"{_who(name)}must be a number, got {value!r}", name)
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise DistributionError(f"{_who(name)}must be a finite number >= 0, got {value!r}", name)
    return v


def _spread(params: Mapping[str, Any], mean: float) -> float:
    """Standard deviation from ``sd`` or ``cv`` (exactly one of them)."""
    if "sd" in params and "cv" in params:
        raise DistributionError("give either 'sd' or 'cv', not both", "cv")
    if "sd" in params:
        return _positive(params["sd"], "sd")
    if "cv" in params:
        return _positive(params["cv"], "cv") * mean
    raise DistributionError("needs 'sd' or 'cv'", "sd")


@dataclass(frozen=True)
class Constant:
    """Always ``mean`` (deterministic times)."""

    mean: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return np.full(size, self.mean)

    def scaled(self, mean: float) -> Constant:
        return Constant(mean)

    @property
    def cv(self) -> float:
        return 0.0


@dataclass(frozen=True)
class Exponential:
    """Exponential with the given mean (rate 1/mean): memoryless times."""

    mean: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        # standard_exponential * mean keeps common random numbers across means.
        return rng.standard_exponential(size) * self.mean

    def scaled(self, mean: float) -> Exponential:
        return Exponential(mean)

    @property
    def cv(self) -> float:
        return 1.0


@dataclass(frozen=True)
class Uniform:
    """Uniform on ``[low, high]``."""

    low: float
    high: float

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return self.low + (self.high - self.low) * rng.random(size)

    def scaled(self, mean: float) -> Uniform:
        f = mean / self.mean
        return Uniform(self.low * f, self.high * f)


@dataclass(frozen=True)
class Triangular:
    """Triangular on ``[low, high]`` with peak at ``mode``."""

    low: float
    mode: float
    high: float

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        # Inverse CDF from uniforms (not rng.triangular) so CRN holds across parameters.
        u = rng.random(size)
        lo, mo, hi = self.low, self.mode, self.high
        if hi == lo:
            return np.full(size, lo)
        fc = (mo - lo) / (hi - lo)
        left = lo + np.sqrt(u * (hi - lo) * (mo - lo))
        right = hi - np.sqrt((1 - u) * (hi - lo) * (hi - mo))
        return np.where(u < fc, left, right)

    def scaled(self, mean: float) -> Triangular:
        f = mean / self.mean
        return Triangular(self.low * f, self.mode * f, self.high * f)


@dataclass(frozen=True)
class Normal:
    """Normal with ``mean`` and ``sd``, truncated at 0 (negative draws are redrawn).

    ``mean`` and ``sd`` are those of the untruncated normal; with ``sd`` well below the
    mean (cv < 0.3) truncation changes the mean by less than 0.01 %.
    """

    mu: float
    sd: float

    @property
    def mean(self) -> float:
        a = -self.mu / self.sd
        phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
        tail = 0.5 * math.erfc(a / math.sqrt(2))
        return self.mu + self.sd * phi / tail

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        out = self.mu + self.sd * rng.standard_normal(size)
        bad = out < 0
        while bad.any():
            out[bad] = self.mu + self.sd * rng.standard_normal(int(bad.sum()))
            bad = out < 0
        return out

    def scaled(self, mean: float) -> Normal:
        f = mean / self.mean
        return Normal(self.mu * f, self.sd * f)

    @property
    def cv(self) -> float:
        return self.sd / self.mu


@dataclass(frozen=True)
class Lognormal:
    """Lognormal given by its own mean and standard deviation (not those of its log)."""

    mean: float
    sd: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        s2 = math.log1p((self.sd / self.mean) ** 2)
        mu = math.log(self.mean) - s2 / 2
        return np.exp(mu + math.sqrt(s2) * rng.standard_normal(size))

    def scaled(self, mean: float) -> Lognormal:
        return Lognormal(mean, self.sd * mean / self.mean)

    @property
    def cv(self) -> float:
        return self.sd / self.mean


@dataclass(frozen=True)
class Gamma:
    """Gamma with ``mean`` and ``shape`` k (Erlang-k when k is an integer); cv = 1/sqrt(k)."""

    mean: float
    shape: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.standard_gamma(self.shape, size) * (self.mean / self.shape)

    def scaled(self, mean: float) -> Gamma:
        return Gamma(mean, self.shape)

    @property
    def cv(self) -> float:
        return 1 / math.sqrt(self.shape)


@dataclass(frozen=True)
class Weibull:
    """Weibull with ``mean`` and ``shape`` k; scale = mean / Γ(1 + 1/k)."""

    mean: float
    shape: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        scale = self.mean / math.gamma(1 + 1 / self.shape)
        return scale * rng.weibull(self.shape, size)

    def scaled(self, mean: float) -> Weibull:
        return Weibull(mean, self.shape)


@dataclass(frozen=True)
class Empirical:
    """Resample observed values (with replacement), or interpolate their empirical CDF.

    With ``interpolate`` the variates are continuous: the inverse of the piecewise-linear
    CDF through the sorted observations.
    """

    values: tuple[float, ...]
    interpolate: bool = False
    _sorted: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_sorted", np.sort(np.asarray(self.values, dtype=np.float64)))

    @property
    def mean(self) -> float:
        return float(self._sorted.mean())

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        n = len(self._sorted)
        u = rng.random(size)
        if not self.interpolate or n == 1:
            return self._sorted[np.minimum((u * n).astype(np.int64), n - 1)]
        return np.interp(u * (n - 1), np.arange(n, dtype=np.float64), self._sorted)

    def scaled(self, mean: float) -> Empirical:
        f = mean / self.mean
        return replace(self, values=tuple(v * f for v in self.values))


# -- parsing ---------------------------------------------------------------------------------
Factory = Callable[[Mapping[str, Any], Path | None], Distribution]


def _mean(params: Mapping[str, Any]) -> float:
    if "mean" in params and "rate" in params:
        raise DistributionError("give either 'mean' or 'rate', not both", "rate")
    if "rate" in params:
        return 1 / _positive(params["rate"], "rate")
    if "mean" not in params:
        raise DistributionError("missing required field 'mean'", "mean")
    return _positive(params["mean"], "mean")


def _constant(p: Mapping[str, Any], base: Path | None) -> Distribution:
    _allowed(p, {"mean", "value"})
    if "value" in p:
        return Constant(_positive(p["value"], "value"))
    return Constant(_mean(p))


def _exponential(p: Mapping[str, Any], base: Path | None) -> Distribution:
    _allowed(p, {"mean", "rate"})
    return Exponential(_mean(p))


def _uniform(p: Mapping[str, Any], base: Path | None) -> Distribution:
    _allowed(p, {"low", "high"})
    for k in ("low", "high"):
        if k not in p:
            raise DistributionError(f"missing required field {k!r}", k)
    lo, hi = _non_negative(p["low"], "low"), _non_negative(p["high"], "high")
    if hi <= lo:
        raise DistributionError(f"high must be > low, got low={lo}, high={hi}", "high")
    return Uniform(lo, hi)


def _triangular(p: Mapping[str, Any], base: Path | None) -> Distribution:
    _allowed(p, {"low", "mode", "high"})
    for k in ("low", "mode", "high"):
        if k not in p:
            raise DistributionError(f"missing required field {k!r}", k)
    lo, mo, hi = (_non_negative(p[k], k) for k in ("low", "mode", "high"))
    if not lo <= mo <= hi or hi <= lo:
        raise DistributionError(f"need low <= mode <= high and low < high, got {lo}, {mo}, {hi}", "mode")
    return Triangular(lo, mo, hi)


def _normal(p: Mapping[str, Any], base: Path | None) -> Distribution:
    _allowed(p, {"mean", "sd", "cv"})
    mu = _mean(p)
    return Normal(mu, _spread(p, mu))


def _lognormal(p: Mapping[str, Any], base: Path | None) -> Distribution:
    _allowed(p, {"mean", "sd", "cv", "rate"})
    mu = _mean(p)
    return Lognormal(mu, _spread(p, mu))


def _gamma(p: Mapping[str, Any], base: Path | None) -> Distribution:
    _allowed(p, {"mean", "rate", "shape", "cv"})
    mu = _mean(p)
    if "shape" in p and "cv" in p:
        raise DistributionError("give either 'shape' or 'cv', not both", "cv")
    if "cv" in p:
        return Gamma(mu, 1 / _positive(p["cv"], "cv") ** 2)
    if "shape" not in p:
        raise DistributionError("missing required field 'shape' (or 'cv')", "shape")
    return Gamma(mu, _positive(p["shape"], "shape"))


def _erlang(p: Mapping[str, Any], base: Path | None) -> Distribution:
    _allowed(p, {"mean", "rate", "k"})
    mu = _mean(p)
    k = p.get("k")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise DistributionError(f"k must be an integer >= 1, got {k!r}", "k")
    return Gamma(mu, float(k))


def _weibull(p: Mapping[str, Any], base: Path | None) -> Distribution:
    _allowed(p, {"mean", "rate", "shape"})
    mu = _mean(p)
    if "shape" not in p:
        raise DistributionError("missing required field 'shape'", "shape")
    return Weibull(mu, _positive(p["shape"], "shape"))


def _empirical(p: Mapping[str, Any], base: Path | None) -> Distribution:
    _allowed(p, {"values", "file", "column", "interpolate"})
    if ("values" in p) == ("file" in p):
        raise DistributionError("give exactly one of 'values' or 'file'", "values")
    if "values" in p:
        raw = p["values"]
        if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
            raise DistributionError("values must be a non-empty list of numbers", "values")
        vals = [_non_negative(v, f"values[{i}]") for i, v in enumerate(raw)]
        # (the parser reports these at the 'values' field)
    else:
        vals = _read_values(p["file"], p.get("column"), base)
    if max(vals) <= 0:
        raise DistributionError("the values must have a mean > 0", "values")
    interp = p.get("interpolate", False)
    if not isinstance(interp, bool):
        raise DistributionError("interpolate must be true or false", "interpolate")
    return Empirical(tuple(vals), interp)


def _read_values(file: Any, column: Any, base: Path | None) -> list[float]:
    """Numbers from a text/CSV file (one per line, or one named column with a header)."""
    if not isinstance(file, str):
        raise DistributionError("file must be a path", "file")
    path = Path(file)
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DistributionError(f"cannot read {str(path)!r}: {exc.strerror}", "file") from exc
    rows = [ln.split(",") for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    col = 0
    if column is not None:
        header = [h.strip() for h in rows[0]] if rows else []
        if column not in header:
            raise DistributionError(f"column {column!r} not in header {header}", "column")
        col, rows = header.index(column), rows[1:]
    out: list[float] = []
    for i, row in enumerate(rows):
        try:
            out.append(_non_negative(float(row[col]), "value"))
        except (ValueError, IndexError, DistributionError):
            if i == 0 and column is None:
                continue  # a header line
            raise DistributionError(f"{path.name}: row {i + 1} is not a number >= 0: {row!r}", "file") from None
    if not out:
        raise DistributionError(f"{path.name} holds no values", "file")
    return out


def _allowed(p: Mapping[str, Any], keys: set[str]) -> None:
    for k in p:
        if k not in keys:
            raise DistributionError(f"unknown parameter {k!r} (allowed: {', '.join(sorted(keys))})", k)


_REGISTRY: dict[str, Factory] = {
    "constant": _constant,
    "deterministic": _constant,
    "exponential": _exponential,
    "exp": _exponential,
    "uniform": _uniform,
    "triangular": _triangular,
    "normal": _normal,
    "lognormal": _lognormal,
    "gamma": _gamma,
    "erlang": _erlang,
    "weibull": _weibull,
    "empirical": _empirical,
}
_entry_points_loaded = False


def register_distribution(name: str, factory: Factory) -> None:
    """Make ``name`` usable in ``{dist: name, ...}``; ``factory(params, base_dir)`` builds it."""
    _REGISTRY[name] = factory


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group="twinverse.distributions"):
        _REGISTRY.setdefault(ep.name, ep.load())


def distribution_names() -> list[str]:
    """Names accepted in ``dist:``."""
    _load_entry_points()
    return sorted(_REGISTRY)


def parse_distribution(spec: Any, base: Path | None = None) -> Distribution:
    """Build a distribution from ``{dist: name, ...params}`` or a number (a constant).

    Raises :class:`DistributionError` whose ``field`` names the bad key.
    """
    if isinstance(spec, bool):
        raise DistributionError(f"expected a number or a mapping with 'dist', got {spec!r}")
    if isinstance(spec, (int, float)):
        return Constant(_positive(spec, "value"))
    if not isinstance(spec, Mapping):
        raise DistributionError(f"expected a number or a mapping with 'dist', got {spec!r}")
    name = spec.get("dist")
    if name is None:
        raise DistributionError("missing required field 'dist'", "dist")
    _load_entry_points()
    factory = _REGISTRY.get(str(name))
    if factory is None:
        raise DistributionError(
            f"unknown distribution {name!r} (known: {', '.join(sorted(_REGISTRY))})", "dist"
        )
    params = {k: v for k, v in spec.items() if k != "dist"}
    dist = factory(params, base)
    if not math.isfinite(dist.mean) or dist.mean <= 0:
        raise DistributionError(f"the mean must be > 0, got {dist.mean}", "mean")
    return dist
