"""The typed plant model: signal kinds, twin types, twins and relationships."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..core.states import DEFAULT_STATES
from ..core.values import KindCode
from .anomalyspec import AnomalySpec
from .rules import AlarmRule

__all__ = [
    "DEFAULT_STATES",
    "Placement",
    "Relationship",
    "Signal",
    "SignalKind",
    "Twin",
    "TwinType",
]

class SignalKind(StrEnum):
    """What the values of a signal mean."""

    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    STATE = "state"

    @property
    def code(self) -> int:
        return _KIND_CODES[self]


_KIND_CODES = {
    SignalKind.FLOAT: KindCode.FLOAT,
    SignalKind.INT: KindCode.INT,
    SignalKind.BOOL: KindCode.BOOL,
    SignalKind.STATE: KindCode.STATE,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Signal(_Strict):
    """One measured or reported quantity of a twin type.

    ``range`` is the physically plausible range: values outside it are quarantined.
    Enumerated states are stored as their index in ``states``.
    """

    name: str = ""
    kind: SignalKind = SignalKind.FLOAT
    unit: str | None = None
    range: tuple[float, float] | None = None
    states: tuple[str, ...] | None = None
    description: str = ""
    #: Commands may set it (``POST /api/twins/{id}/commands``) through the source that feeds it.
    writable: bool = False

    @field_validator("range")
    @classmethod
    def _range_ordered(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None:
            lo, hi = v
            if math.isnan(lo) or math.isnan(hi) or lo > hi:
                raise ValueError(f"range must be [low, high] with low <= high, got [{lo}, {hi}]")
        return v

    @model_validator(mode="after")
    def _states_match_kind(self) -> Signal:
        if self.kind is SignalKind.STATE:
            if not self.states:
                raise ValueError("a signal of kind 'state' needs a non-empty 'states' list")
            if len(set(self.states)) != len(self.states):
                raise ValueError("'states' must not repeat a state")
        elif self.states is not None:
            raise ValueError("'states' is only allowed on signals of kind 'state'")
        return self

    def bounds(self) -> tuple[float, float]:
        """Accepted value range as floats (state codes and bools included)."""
        if self.kind is SignalKind.STATE:
            assert self.states is not None
            return 0.0, float(len(self.states) - 1)
        if self.kind is SignalKind.BOOL:
            return 0.0, 1.0
        if self.range is not None:
            return float(self.range[0]), float(self.range[1])
        return -math.inf, math.inf


class ModelRef(_Strict):
    """A glTF model drawn for every twin of a type instead of its parametric shape.

    ``file`` is a ``.glb`` or ``.gltf`` path relative to the plant file's folder (no ``..``,
    not absolute); the model is placed with its origin at the twin's position (the centre of
    its footprint, on the floor), scaled by ``scale`` and turned ``rotation`` degrees about the
    vertical axis on top of the twin's own rotation. In YAML either ``model: models/filler.glb``
    or ``model: {file: models/filler.glb, scale: 1.2, rotation: 90}``.
    """

    file: str
    scale: float = Field(1.0, gt=0, le=1000)
    rotation: float = 0.0

    @field_validator("file")
    @classmethod
    def _relative_glb(cls, v: str) -> str:
        p = v.replace("\\", "/")
        if not p.lower().endswith((".glb", ".gltf")):
            raise ValueError(f"a model is a .glb or .gltf file, got {v!r}")
        if p.startswith("/") or ":" in p.split("/")[0] or ".." in p.split("/"):
            raise ValueError(f"a model file is a path inside the plant's folder (no '..', not absolute), got {v!r}")
        return p


class TwinType(_Strict):
    """A kind of asset: its signals, default properties, power per state, shape hints."""

    name: str
    extends: str | None = None
    description: str = ""
    signals: dict[str, Signal] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)
    power: dict[str, float] = Field(default_factory=dict, description="kW drawn in each state")
    shape: str | None = None
    size: tuple[float, float, float] | None = None
    model: ModelRef | None = None
    container: bool = False
    alarms: dict[str, AlarmRule] = Field(default_factory=dict, description="alarm rules of every twin of the type")
    anomaly: dict[str, AnomalySpec] = Field(default_factory=dict, description="anomaly detectors by signal")

    def state_signal(self) -> Signal | None:
        """The signal named ``state`` if the type has one of kind state."""
        sig = self.signals.get("state")
        return sig if sig is not None and sig.kind is SignalKind.STATE else None


class Placement(_Strict):
    """Where a twin sits in the 3D scene (metres); absent means lay out automatically."""

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    rotation: float = 0.0


class Relationship(_Strict):
    """A directed, named edge between two twins (``contains``, ``feeds``, …)."""

    source: str
    name: str
    target: str


class Twin(_Strict):
    """One asset instance; ``id`` is its path from the plant root, e.g. ``bottling/line1/filler``."""

    id: str
    type: str
    name: str
    parent: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    placement: Placement | None = None
