"""Errors of the simulation; they live in the one tree of :mod:`twinverse.errors`."""

from __future__ import annotations

from ..errors import DeadlockError, RunConfigError

__all__ = ["DeadlockError", "RunConfigError"]
