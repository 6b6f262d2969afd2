"""Errors of the simulation, in the platform's exception tree."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InputError, ModelError

__all__ = ["DeadlockError", "RunConfigError"]


class DeadlockError(ModelError):
    """The model deadlocked: every element of ``cycle`` waits for the next one, forever."""

    title = "Simulation deadlock"

    def __init__(self, time: float, cycle: Sequence[str]) -> None:
        self.time = time
        self.cycle = tuple(cycle)
        loop = " → ".join((*self.cycle, self.cycle[0])) if self.cycle else "?"
        super().__init__(
            f"deadlock at t={time:.6g}: {loop} (each buffer in the cycle is full and each station "
            "holds a part it cannot pass on); add capacity to the loop or limit the parts in it"
        )


class RunConfigError(InputError):
    """Run options are invalid (e.g. neither a stop time nor a part count)."""
