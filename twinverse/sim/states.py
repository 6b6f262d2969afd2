"""The machine states a station's time is accounted in, in the core vocabulary.

The simulator books every server's time in one of the states of
:class:`twinverse.core.states.MachineState` (a station "running" a part is what queueing
texts call busy). The kernel indexes them by small ints; :data:`STATION_STATES` is the one
map from kernel index to state, read from the kernel's own declaration so the two cannot
drift. Results report states by these names, in this order; input (power tables) accepts
the aliases of :meth:`MachineState.parse` too (``busy`` means ``running``).

    >>> [s.value for s in STATION_STATES]
    ['idle', 'starved', 'running', 'blocked', 'down', 'setup', 'off']
    >>> parse_state("busy")
    <MachineState.RUNNING: 'running'>
"""

from __future__ import annotations

from ..core.states import MachineState
from . import kernel as K

__all__ = ["STATE_NAMES", "STATION_STATES", "parse_state"]

#: Accounting states in kernel index order: ``STATION_STATES[K.RUNNING] is MachineState.RUNNING``.
STATION_STATES: tuple[MachineState, ...] = tuple(MachineState(name) for name in K.ACC_STATES)

#: Their names (the keys results use), in the same order.
STATE_NAMES: tuple[str, ...] = tuple(s.value for s in STATION_STATES)


def parse_state(name: str) -> MachineState | None:
    """The accounting state a name or alias means (``busy`` → running), None if it names none."""
    state = MachineState.parse(name)
    return state if state in STATION_STATES else None

