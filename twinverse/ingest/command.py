"""Commands: route a value for a twin signal to the source that feeds it, and check it first.

``send_command(sources, plant, twin, signal, value)`` finds the one source whose ``sids``
contain the signal, checks that the signal is writable (the type's ``writable: true`` or the
source mapping's) and that the value fits the signal (finite, within its range, a state
name or index, a boolean), and calls the source's :meth:`~twinverse.ingest.base.Writable.write`,
which blocks until the device accepted it. The live value then follows the device's
read-back, never the request. What answers what::

    unknown twin or signal                   NotFoundError     404
    value not a number / outside the range   InputError        422
    signal not writable, no source feeds it  ConflictError     409
    the device refused or did not answer     CommandRefused    502
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import ConflictError, InputError
from ..model import Plant, SignalKind
from .base import Source, Writable

__all__ = ["CommandResult", "feeder", "send_command", "source_key"]


@dataclass(frozen=True)
class CommandResult:
    """A command the device accepted: what was sent, to what, through which source."""

    twin: str
    signal: str
    sid: int
    value: float
    source: str  # ``kind:name``


def source_key(source: Source) -> str:
    """``kind:name`` of a field source (``modbus:press``), else its class name."""
    kind = getattr(source, "kind", type(source).__name__.lower())
    name = getattr(source, "name", None)
    return f"{kind}:{name}" if isinstance(name, str) else str(kind)


def feeder(sources: Iterable[Source], sid: int) -> Source | None:
    """The source whose ``sids`` contain ``sid`` (None when no source feeds it)."""
    for source in sources:
        sids = getattr(source, "sids", None)
        if sids is not None and sid in set(map(int, sids)):
            return source
    return None


def command_value(plant: Plant, sid: int, value: float | bool | str) -> float:
    """``value`` as the stored float of the signal: a state name or index, a boolean, a number in range."""
    sig = plant.signals.signal[sid]
    name = f"{plant.signals.twin[sid]}.{sig.name}"
    if sig.kind is SignalKind.STATE and isinstance(value, str):
        states = sig.states or ()
        if value not in states:
            raise InputError(f"{name} has no state {value!r} (states: {', '.join(states)})")
        return float(states.index(value))
    if isinstance(value, str) or not math.isfinite(float(value)):
        raise InputError(f"value for {name} must be a finite number{' or a state name' if sig.states else ''}, "
                         f"got {value!r}")  # fmt: skip
    v = float(value)
    if sig.kind is SignalKind.BOOL and v not in (0.0, 1.0):
        raise InputError(f"{name} is a bool: value must be true/false or 0/1, got {value!r}")
    if sig.kind in (SignalKind.INT, SignalKind.STATE) and not v.is_integer():
        raise InputError(f"{name} is an {sig.kind.value}: value must be a whole number, got {value!r}")
    if sig.kind is SignalKind.STATE and not 0 <= v < len(sig.states or ()):
        raise InputError(f"{name} has states 0..{len(sig.states or ()) - 1}, got {value!r}")
    if sig.range is not None and not sig.range[0] <= v <= sig.range[1]:
        raise InputError(f"{v:g} is outside the range of {name} [{sig.range[0]:g}, {sig.range[1]:g}]")
    return v


def send_command(
    sources: Iterable[Source], plant: Plant, twin: str, signal: str, value: float | bool | str, *, timeout: float = 5.0
) -> CommandResult:
    """Write ``value`` to the device feeding ``twin.signal``; returns once the device accepted it."""
    plant.twin(twin)  # NotFoundError for an unknown twin
    sid = plant.signals.sid(twin, signal)
    v = command_value(plant, sid, value)
    source = feeder(sources, sid)
    if source is None:
        raise ConflictError(f"no source feeds {twin}.{signal}: a command has nowhere to go (map it in 'sources:')")
    key = source_key(source)
    writable = plant.signals.signal[sid].writable or sid in getattr(source, "writable_sids", ())
    if not writable:
        raise ConflictError(f"{twin}.{signal} is not writable (declare 'writable: true' in type "
                            f"{plant.twins[twin].type!r} or in the mapping of source {key})")  # fmt: skip
    if not isinstance(source, Writable):
        raise ConflictError(f"source {key} feeds {twin}.{signal} but cannot write to its device")
    source.write(sid, v, timeout=timeout)
    return CommandResult(twin, signal, sid, v, key)
