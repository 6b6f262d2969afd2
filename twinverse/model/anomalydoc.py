"""Resolve the ``anomaly:`` sections of a plant file: a streaming detector per signal.

::

    types:
      machine:
        signals:
          temperature: {unit: degC}
        anomaly:
          temperature: {detector: context, bins: 30}   # adds the signal temperature_anomaly
        alarms:
          temperature_anomalous: {kind: hi, signal: temperature_anomaly, limit: 0.999}
    twins:
      - {id: m1, type: machine, anomaly: {temperature: {warmup: 500}}}   # override per twin

Declared on a type, a detector adds a score signal (``<signal>_anomaly``, or ``score:``) of
kind float in [0, 1] to the type, so alarm rules, charts and the store treat it as any other
signal. A type inherits the detectors of the type it extends; a type or twin naming an
inherited one overrides the parameters it gives (a different ``detector`` starts from no
parameters), and ``{enabled: false}`` turns it off. A twin may only override detectors of its
type (the score signal belongs to the type). Here only the structure, the signal and the
detector's name are checked; the parameters are checked against the detector's own model by
:mod:`twinverse.ops.anomaly.spec` (``twinverse validate`` reports both, located).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..plugins import DETECTORS, available
from .anomalyspec import DEFAULT_DETECTOR, AnomalySpec
from .types import Signal, SignalKind

__all__ = ["DEFAULT_DETECTOR", "AnomalySpec", "resolve_anomaly", "score_signal"]

_OWN = ("detector", "enabled", "score")


def score_signal(spec: AnomalySpec) -> Signal:
    """The score signal a detector adds to its type."""
    return Signal(name=spec.score, kind=SignalKind.FLOAT, range=(0.0, 1.0),
                  description=f"anomaly score of {spec.signal} ({spec.detector} detector)")  # fmt: skip


def resolve_anomaly(
    docs: Mapping[str, Any],
    inherited: Mapping[str, AnomalySpec],
    signals: Mapping[str, Signal],
    path: tuple[str | int, ...],
    fail: Callable[[tuple[str | int, ...], str], None],
    *,
    twin: bool = False,
) -> dict[str, AnomalySpec]:
    """``inherited`` with the declarations of ``docs`` added or overridden; problems go to ``fail``."""
    out = dict(inherited)
    kinds = None
    for sname, raw in docs.items():
        spath = (*path, sname)
        raw = {} if raw is None else raw
        if not isinstance(raw, Mapping):
            fail(spath, "an anomaly detector must be a mapping, e.g. {detector: context}")
            continue
        base = inherited.get(sname)
        if twin and base is None:
            fail(spath, f"no detector on {sname!r} in the twin's type to override; declare it on the type "
                        "(it adds the score signal there)")  # fmt: skip
            continue
        sig = signals.get(sname)
        if sig is None:
            fail(spath, f"no signal {sname!r} to watch (signals: {', '.join(sorted(signals)) or 'none'})")
            continue
        if sig.kind not in (SignalKind.FLOAT, SignalKind.INT):
            fail(spath, f"an anomaly detector needs a float or int signal; {sname!r} is {sig.kind.value}")
            continue
        detector = raw.get("detector", base.detector if base is not None else DEFAULT_DETECTOR)
        if kinds is None:
            kinds = available(DETECTORS)
        if not isinstance(detector, str) or detector not in kinds:
            fail((*spath, "detector"), f"unknown detector {detector!r} (detectors: {', '.join(sorted(kinds))})")
            continue
        enabled = raw.get("enabled", base.enabled if base is not None else True)
        if not isinstance(enabled, bool):
            fail((*spath, "enabled"), f"'enabled' must be true or false, got {enabled!r}")
            continue
        score = raw.get("score", base.score if base is not None else f"{sname}_anomaly")
        if not isinstance(score, str) or not score:
            fail((*spath, "score"), f"'score' must be a signal name, got {score!r}")
            continue
        if base is not None and score != base.score:
            fail((*spath, "score"), f"the score signal of an inherited detector stays {base.score!r}")
            continue
        if base is None and score in signals:
            where = (*spath, "score") if "score" in raw else spath
            fail(where, f"the score signal {score!r} would replace a signal of that name; name another with 'score:'")
            continue
        own = {k: v for k, v in raw.items() if k not in _OWN}
        params = {**base.params, **own} if base is not None and base.detector == detector else own
        # Parameters keep the location of the declaration that gave them last.
        out[sname] = AnomalySpec(sname, detector, params, enabled, score, spath)
    return out
