"""The typed plant model: signal kinds, twin types, twins and relationships."""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from ..core.states import DEFAULT_STATES
from ..core.values import KindCode
from .anomalyspec import AnomalySpec
from .rules import AlarmRule

__all__ = [
    "DEFAULT_STATES",
    "Placement",
    "Relationship",
    "Retention",
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


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|min|m|h|d|w|y)\s*$")
_UNIT_S = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400, "y": 365 * 86_400}


def parse_duration(v: object) -> float:
    """Seconds of a retention such as ``30d``, ``12h``, ``2y`` (365 days), ``90min``; ``forever`` is 0.

    >>> parse_duration("30d"), parse_duration("2y"), parse_duration("forever")
    (2592000.0, 63072000.0, 0.0)
    """
    if isinstance(v, str) and v.strip().lower() == "forever":
        return 0.0
    m = _DURATION.match(v) if isinstance(v, str) else None
    if m is None:
        raise ValueError(f"a retention is a duration such as 30d, 12h, 2y (s, min, h, d, w, y) or 'forever', not {v!r}")
    seconds = float(m.group(1)) * _UNIT_S[m.group(2)]
    if seconds <= 0:
        raise ValueError(f"a retention must be longer than 0 (use 'forever' to keep everything), not {v!r}")
    return seconds


class Retention(_Strict):
    """How long a signal's raw rows and its rollups are kept, in seconds (0: for ever).

    None means the deployment's default (``retention_raw_days``, ``retention_rollup_days``).
    In YAML: ``retention: {raw: 30d, rollups: 2y}`` or the name of a class declared in the
    plant's ``retention`` section.
    """

    raw: float | None = None
    rollups: float | None = None

    @field_validator("raw", "rollups", mode="before")
    @classmethod
    def _duration(cls, v: object) -> object:
        return v if v is None or isinstance(v, float) else parse_duration(v)

    @model_validator(mode="after")
    def _rollups_outlive_raw(self) -> Retention:
        if self.raw and self.rollups is not None and 0 < self.rollups < self.raw:
            raise ValueError("rollups must be kept at least as long as the raw rows they summarise")
        return self


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
    #: How long its history is kept; a string names a class of the plant's ``retention`` section
    #: (the loader replaces it by that class's :class:`Retention`).
    retention: Annotated[
        Annotated[Retention, Tag("Retention")] | Annotated[str, Tag("str")],
        Discriminator(lambda v: "str" if isinstance(v, str) else "Retention"),
    ] | None = None

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
