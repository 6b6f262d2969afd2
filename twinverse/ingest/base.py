"""The connector extension point.

A connector moves data from a source into an :class:`~twinverse.live.Engine`. It runs on
its own thread(s) between ``start`` and ``stop``. Built-in connectors register under the
``twinverse.connectors`` entry-point group, the same way third-party ones do.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from ..live.engine import Engine

__all__ = ["Connector", "available_connectors"]


@runtime_checkable
class Connector(Protocol):
    """Something that feeds an engine. ``describe`` says where from, for start-up logs."""

    def start(self, engine: Engine) -> None:
        """Begin delivering batches to ``engine.ingest``; returns once running."""
        ...

    def stop(self) -> None:
        """Stop and release resources; data acknowledged to the source is already stored."""
        ...

    def describe(self) -> str:
        ...


def available_connectors() -> dict[str, str]:
    """Installed connectors by name → ``module:Class`` (from the entry-point group)."""
    return {ep.name: ep.value for ep in entry_points(group="twinverse.connectors")}
