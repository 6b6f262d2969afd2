"""The detector extension point: a kind (parameters and a factory) and the bank it makes.

A :class:`DetectorKind` is what the entry-point group ``twinverse.detectors`` names: a
pydantic model of its parameters (``params``; unknown fields are errors) and
``create(params, slots)``, which returns a :class:`Detector` for ``slots`` signals. The
detector keeps the state of all its signals in arrays and scores a whole batch at once:
``update(slot, values, ts_us)`` takes rows grouped by slot, each slot's rows in time order,
and returns one score in ``[0, 1]`` per row (NaN where it has none, e.g. a NaN value). It must
not keep a Python object per point or per signal on its hot path.

>>> from twinverse.ops.anomaly import detector_kind
>>> kind = detector_kind("gaussian")
>>> det = kind.create(kind.params(window=4, step=1), slots=1)
>>> det.update(np.zeros(6, np.intp), np.array([1.0, 2, 1, 2, 1, 9]), np.arange(6)).round(3).tolist()
[0.0, 1.0, 0.841, 0.921, 0.841, 1.0]
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from ...errors import ConfigError
from ...plugins import DETECTORS, load

__all__ = ["Detector", "DetectorKind", "detector_kind"]


@runtime_checkable
class Detector(Protocol):
    """Streaming anomaly scores for a bank of signals (slots ``0 .. slots-1``)."""

    def update(
        self, slot: npt.NDArray[np.intp], values: npt.NDArray[np.float64], ts_us: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """Scores in [0, 1] for rows grouped by slot (time order within a slot); updates the state."""
        ...


@runtime_checkable
class DetectorKind(Protocol):
    """A kind of detector: its name, its parameters' model, and a factory."""

    name: str
    params: type[BaseModel]

    def create(self, params: Any, slots: int) -> Detector:
        """A detector for ``slots`` signals with these (validated) parameters."""
        ...


def detector_kind(name: str) -> DetectorKind:
    """The detector kind registered as ``name`` (built in or from a plugin)."""
    kind = load(DETECTORS, name)
    if not isinstance(kind, DetectorKind):
        raise ConfigError(f"twinverse.detectors plugin {name!r} is not a detector kind (needs name, params, create)")
    return kind
