"""Alarm rules as the plant YAML declares them: per type, instantiated for every twin, overridable.

A rule names one signal of its twin and one condition on it::

    types:
      filler:
        alarms:
          temperature_hi: {kind: hi, signal: temperature, limit: 80, deadband: 1, priority: high}
          temperature_rate: {kind: rate, signal: temperature, limit: 2}      # |d/dt| > 2 units/s
          down_long: {kind: state, signal: state, state: down, for: 300}    # down for 300 s
          no_speed: {kind: stale, signal: speed, for: 60}                   # no data for 60 s
          hot_slow: {kind: expr, expr: "temperature > 70 and speed < 100", on_delay: 10}
    twins:
      - id: filler
        type: filler
        alarms:
          temperature_hi: {limit: 75}          # this twin only: a lower limit
          no_speed: {enabled: false}           # and no staleness alarm

The model layer checks the rule documents (fields, the signal exists, a limit rule is on a
number, a state rule's state is one of the signal's) with ``file:line`` locations; the
operations layer (:mod:`twinverse.ops`) compiles them into vectorised checks.
"""

from __future__ import annotations

import math
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["AlarmPriority", "AlarmRule", "RuleKind"]


class RuleKind(StrEnum):
    """What a rule checks."""

    HIHI = "hihi"
    HI = "hi"
    LO = "lo"
    LOLO = "lolo"
    RATE = "rate"
    STATE = "state"
    STALE = "stale"
    EXPR = "expr"

    @property
    def is_limit(self) -> bool:
        return self in (RuleKind.HIHI, RuleKind.HI, RuleKind.LO, RuleKind.LOLO)

    @property
    def is_high(self) -> bool:
        """True for the kinds that alarm above their limit (``rate`` alarms above ``|rate|``)."""
        return self in (RuleKind.HIHI, RuleKind.HI, RuleKind.RATE)


class AlarmPriority(StrEnum):
    """ISA-18.2 priorities, from least to most urgent."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return list(AlarmPriority).index(self)


class AlarmRule(BaseModel):
    """One rule: its kind, signal, limit or duration, priority and suppression.

    ``limit`` is the threshold of a limit rule (in the signal's unit) or of a rate rule (the
    signal's unit per second, compared with the absolute rate). ``deadband`` is the
    hysteresis: a hi alarm raised above ``limit`` clears at or below ``limit - deadband``
    (a lo alarm at or above ``limit + deadband``). ``for`` is the seconds a ``state`` rule's
    state must last and the seconds without data after which a ``stale`` rule alarms.
    ``suppress_in`` names states of the twin's ``state`` signal during which the alarm is
    suppressed by design (a line that is ``off`` raises no low-speed alarm).
    ``expr`` is the condition of an ``expr`` rule over several signals of the twin
    (:mod:`twinverse.model.expr`), which names no ``signal`` of its own.
    ``on_delay`` and ``off_delay`` (seconds, any kind): the alarm raises only once its
    condition has held ``on_delay`` seconds and clears only once it has been gone
    ``off_delay`` seconds (ISA-18.2's on-delay and off-delay).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    kind: RuleKind
    signal: str = ""
    expr: str | None = Field(None, max_length=2000)
    limit: float | None = None
    deadband: float = Field(0.0, ge=0)
    state: str | None = None
    seconds: float | None = Field(None, alias="for", gt=0, le=365 * 86_400)
    priority: AlarmPriority = AlarmPriority.MEDIUM
    suppress_in: tuple[str, ...] = ()
    message: str = ""
    enabled: bool = True
    on_delay: float = Field(0.0, ge=0, le=365 * 86_400)
    off_delay: float = Field(0.0, ge=0, le=365 * 86_400)

    @model_validator(mode="after")
    def _fields_of_kind(self) -> AlarmRule:
        k = self.kind
        if k is RuleKind.EXPR:
            if self.expr is None:
                raise ValueError("an 'expr' rule needs 'expr', e.g. 'temperature > 80 and speed < 100'")
            if self.signal:
                raise ValueError("'signal' does not apply to an 'expr' rule: the expression names its signals")
            if self.limit is not None or self.deadband or self.seconds is not None or self.state is not None:
                raise ValueError("'limit', 'deadband', 'for' and 'state' do not apply to an 'expr' rule")
            return self
        if self.expr is not None:
            raise ValueError(f"'expr' does not apply to a {k.value!r} rule")
        if not self.signal:
            raise ValueError(f"a {k.value!r} rule needs a 'signal'")
        if k.is_limit or k is RuleKind.RATE:
            if self.limit is None:
                raise ValueError(f"a {k.value!r} rule needs a 'limit'")
            if not math.isfinite(self.limit):
                raise ValueError("'limit' must be a finite number")
            if k is RuleKind.RATE and self.limit <= 0:
                raise ValueError("the 'limit' of a rate rule is |change per second| and must be > 0")
            if self.seconds is not None:
                raise ValueError(f"'for' does not apply to a {k.value!r} rule")
        else:
            if self.limit is not None or self.deadband:
                raise ValueError(f"'limit' and 'deadband' do not apply to a {k.value!r} rule")
            if self.seconds is None:
                raise ValueError(f"a {k.value!r} rule needs 'for' (seconds)")
        if (k is RuleKind.STATE) != (self.state is not None):
            raise ValueError("a 'state' rule needs 'state'" if k is RuleKind.STATE
                             else f"'state' does not apply to a {k.value!r} rule")
        return self
