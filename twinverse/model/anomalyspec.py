"""One anomaly detector declared on a signal (resolved by :mod:`twinverse.model.anomalydoc`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_DETECTOR", "AnomalySpec"]

#: The detector used when a declaration names none.
DEFAULT_DETECTOR = "context"


@dataclass(frozen=True)
class AnomalySpec:
    """One detector on one signal: its kind, parameters, score signal and where it was declared."""

    signal: str
    detector: str = DEFAULT_DETECTOR
    params: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True
    score: str = ""
    path: tuple[str | int, ...] = ()  # of the declaration (params are located at path + (name,))
