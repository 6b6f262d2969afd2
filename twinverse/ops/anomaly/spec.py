"""Check the parameters of a plant's anomaly detectors against each detector's own model.

The model loader resolves the ``anomaly:`` sections (:mod:`twinverse.model.anomalydoc`): the
signal, the detector's name, inheritance and overrides. Here each declaration's parameters
are validated by the detector kind's pydantic model, with the same located problems
(``file:line: types.m.anomaly.temperature.window: …``); ``twinverse validate`` and the
:class:`~twinverse.ops.anomaly.service.AnomalyService` both call :func:`load_detector_specs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from ...errors import ConfigError, ModelLoadError, Problem
from ...model import Plant
from .base import DetectorKind, detector_kind

__all__ = ["DetectorSpec", "load_detector_specs"]


@dataclass(frozen=True)
class DetectorSpec:
    """One detector on one twin's signal, parameters validated: its input and score sids."""

    twin: str
    signal: str
    score: str
    kind: DetectorKind
    params: BaseModel
    sid: int
    score_sid: int


def _where(plant: Plant, path: tuple[str | int, ...], message: str) -> Problem:
    doc: Any = plant.located_doc
    if doc is None:
        return Problem(message)
    return doc.problem(path, message)  # type: ignore[no-any-return]


def load_detector_specs(plant: Plant) -> list[DetectorSpec]:
    """Every enabled detector of ``plant``, validated; :class:`ModelLoadError` lists every problem.

    >>> from twinverse.model import loads_plant
    >>> p = loads_plant("plant: p\\ntypes:\\n  m:\\n    signals: {t: {}}\\n"
    ...                 "    anomaly: {t: {detector: gaussian, window: 1}}\\ntwins: [{id: m1, type: m}]")
    >>> load_detector_specs(p)
    Traceback (most recent call last):
    ...
    twinverse.errors.ModelLoadError: <string>:5: types.m.anomaly.t.window: Input should be greater than or equal to 2
    """
    problems: list[Problem] = []
    out: list[DetectorSpec] = []
    checked: dict[int, BaseModel | None] = {}  # one check per declaration, not per twin
    kinds: dict[str, DetectorKind | ConfigError] = {}  # one plugin look-up per detector name
    for twin, spec in plant.anomaly_detectors():
        if spec.detector not in kinds:
            try:
                kinds[spec.detector] = detector_kind(spec.detector)
            except ConfigError as exc:
                kinds[spec.detector] = exc
        kind = kinds[spec.detector]
        if isinstance(kind, ConfigError):
            problems.append(_where(plant, (*spec.path, "detector"), str(kind)))
            continue
        key = id(spec)
        if key not in checked:
            try:
                checked[key] = kind.params.model_validate(dict(spec.params))
            except ValidationError as exc:
                checked[key] = None
                for err in exc.errors(include_url=False):
                    loc = tuple(p for p in err["loc"] if isinstance(p, str))
                    msg = (
                        f"unknown parameter {loc[-1]!r} of detector {spec.detector!r}"
                        if err["type"] == "extra_forbidden" and loc
                        else err["msg"].removeprefix("Value error, ")
                    )
                    problems.append(_where(plant, (*spec.path, *loc), msg))
        params = checked[key]
        if params is None:
            continue
        idx = plant.signals
        out.append(DetectorSpec(twin, spec.signal, spec.score, kind, params, idx.sid(twin, spec.signal),
                                idx.sid(twin, spec.score)))  # fmt: skip
    if problems:
        unique = {str(p): p for p in problems}
        raise ModelLoadError(sorted(unique.values(), key=lambda p: p.location.line or 0))
    return out
