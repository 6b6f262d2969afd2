"""Errors of the simulation; they live in the one tree of :mod:`twinverse.errors`."""

from __future__ import annotations

from ..errors import DeadlockError, EventLimitError, RunConfigError

__all__ = ["DeadlockError", "EventLimitError", "RunConfigError"]
