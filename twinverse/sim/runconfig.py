"""How a run is configured: when to stop, what to observe, where to start.

These records sit below both engines (the event engine of :mod:`twinverse.sim.engine` and
the serial-line recursion of :mod:`twinverse.sim.fastline`), so neither imports the other
for them. Both are validated when built: a bad value fails here, not deep in a run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import RunConfigError

__all__ = ["InitialState", "RunConfig"]


@dataclass(frozen=True)
class RunConfig:
    """How long to run and how to observe.

    Stop at model time ``until``, or once ``parts`` parts have left after the warm-up
    (whichever comes first when both are given). Statistics start at ``warmup``.
    ``method``: ``"engine"`` (general event engine), ``"fast"`` (serial-line recursion,
    see fastline.py), or ``"auto"`` (fast when the model allows it).
    """

    until: float | None = None
    parts: int | None = None
    warmup: float = 0.0
    reps: int = 1
    seed: int = 0
    method: str = "engine"
    track_bottleneck: bool = True
    start_offset: float = 0.0  # where time 0 falls in the calendars' periods
    #: Sample replication 0's states every this much model time for playback (None: no playback).
    playback_every: float | None = None

    def __post_init__(self) -> None:
        if self.until is None and self.parts is None:
            raise RunConfigError("give a stop time (until) or a number of parts")
        if self.until is not None and not (self.until > 0 and math.isfinite(self.until)):
            raise RunConfigError(f"until must be a finite time > 0, got {self.until}")
        if self.parts is not None and self.parts < 1:
            raise RunConfigError(f"parts must be >= 1, got {self.parts}")
        if not (self.warmup >= 0 and math.isfinite(self.warmup)):
            raise RunConfigError(f"warmup must be >= 0, got {self.warmup}")
        if self.until is not None and self.warmup >= self.until:
            raise RunConfigError(f"warmup ({self.warmup}) must end before until ({self.until})")
        if self.reps < 1:
            raise RunConfigError(f"reps must be >= 1, got {self.reps}")
        if self.playback_every is not None:
            if not (self.playback_every > 0 and math.isfinite(self.playback_every)):
                raise RunConfigError(f"playback_every must be a finite time > 0, got {self.playback_every}")
            if self.until is None:
                raise RunConfigError("a playback needs a stop time (until)")
            if self.until / self.playback_every > 10_000:
                raise RunConfigError(f"a playback takes at most 10000 samples: playback_every must be at least "
                                     f"{self.until / 10_000:g} for until={self.until:g}")  # fmt: skip
        if self.method not in ("engine", "fast", "auto"):
            raise RunConfigError(f"method must be engine, fast or auto, got {self.method!r}")


@dataclass(frozen=True)
class InitialState:
    """Where a run starts: buffer levels, stations under repair, busy servers.

    ``down`` maps a station to the time its repair has already taken; the remaining
    repair time is drawn from its first failure mode's repair distribution conditioned
    on exceeding the elapsed time.
    """

    levels: Mapping[str, int] = field(default_factory=dict)
    down: Mapping[str, float] = field(default_factory=dict)
    busy: Mapping[str, int] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.levels or self.down or self.busy)
