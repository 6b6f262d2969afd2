"""The one vocabulary of machine states, shared by the model, the simulator, live data and the viewer.

A twin type's ``state`` signal lists the states it reports; unless it declares its own list
it reports :data:`DEFAULT_STATES`, and a stored state value is the index into that list.
The simulator accounts time in the same states (a station "running" a part is what
queueing texts call busy) and the viewer colours machines by them: it reads
:func:`vocabulary` from ``GET /api/states`` rather than keeping a list of its own.

Other names people use for the same states (``busy``, ``fault``, ``offline`` …) are accepted
by :meth:`MachineState.parse`, so model files, simulation power tables and device payloads
may use them.

>>> MachineState.parse("busy")
<MachineState.RUNNING: 'running'>
>>> [s.value for s in MachineState][:3]
['running', 'idle', 'starved']
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = ["DEFAULT_STATES", "MachineState", "vocabulary"]


class MachineState(StrEnum):
    """What a machine is doing; the order is the default code order (``running`` is 0)."""

    RUNNING = "running"
    IDLE = "idle"
    STARVED = "starved"
    BLOCKED = "blocked"
    DOWN = "down"
    SETUP = "setup"
    OFF = "off"

    @property
    def code(self) -> int:
        """Index of the state in :data:`DEFAULT_STATES` (the stored value of a default state signal)."""
        return _CODES[self]

    @property
    def color(self) -> str:
        """The sRGB hex colour every view shows the state in."""
        return _COLORS[self]

    @property
    def alarm(self) -> bool:
        """True for states that need someone (the viewer pulses them)."""
        return self is MachineState.DOWN

    @property
    def label(self) -> str:
        """A short label for legends."""
        return _LABELS.get(self, self.value)

    @classmethod
    def parse(cls, name: str) -> MachineState | None:
        """The state a name (or one of its aliases) means, case-insensitively; None if none."""
        key = name.strip().lower()
        try:
            return cls(key)
        except ValueError:
            return ALIASES.get(key)


#: Other names for the states, as sources, simulation texts and people use them.
ALIASES: dict[str, MachineState] = {
    "busy": MachineState.RUNNING,
    "working": MachineState.RUNNING,
    "execute": MachineState.RUNNING,
    "waiting": MachineState.IDLE,
    "fault": MachineState.DOWN,
    "error": MachineState.DOWN,
    "alarm": MachineState.DOWN,
    "failed": MachineState.DOWN,
    "changeover": MachineState.SETUP,
    "offline": MachineState.OFF,
    "stopped": MachineState.OFF,
}

#: The states a type reports when it declares no list of its own, in code order.
DEFAULT_STATES: tuple[str, ...] = tuple(s.value for s in MachineState)

_CODES = {s: i for i, s in enumerate(MachineState)}
_COLORS = {
    MachineState.RUNNING: "#2f9e44",
    MachineState.IDLE: "#fab005",
    MachineState.STARVED: "#f76707",
    MachineState.BLOCKED: "#1c7ed6",
    MachineState.DOWN: "#e03131",
    MachineState.SETUP: "#9c36b5",
    MachineState.OFF: "#495057",
}
_LABELS = {MachineState.OFF: "off / no data"}


def vocabulary() -> dict[str, Any]:
    """The vocabulary as JSON for clients: states in order with colour and alarm flag, and aliases.

    >>> vocabulary()["states"][0]
    {'name': 'running', 'code': 0, 'color': '#2f9e44', 'alarm': False, 'label': 'running'}
    """
    return {
        "states": [
            {"name": s.value, "code": s.code, "color": s.color, "alarm": s.alarm, "label": s.label}
            for s in MachineState
        ],
        "aliases": {k: v.value for k, v in ALIASES.items()},
    }
