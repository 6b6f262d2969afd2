"""The source extension point: what feeds live data into the engine.

A source moves data from somewhere (a broker, a file, a device, a simulation) into an
:class:`~twinverse.live.Engine`. It runs on its own thread(s) between ``start`` and
``stop``, turns wire data into batches (:mod:`twinverse.core.batch`), maps names to sids
once per distinct name, and never acknowledges anything upstream before
``engine.ingest`` has returned (the rows are then durable).

Sources are found by name through :mod:`twinverse.plugins` (group ``twinverse.sources``):
the built-ins the same way as third-party ones. A plugin is a factory
``f(plant, settings) -> Source``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .. import plugins
from ..config import Settings
from ..live.engine import Engine
from ..model import Plant

__all__ = ["Source", "SourceFactory", "available_sources", "make_source"]


@runtime_checkable
class Source(Protocol):
    """Something that feeds an engine. ``describe`` says where from, for start-up logs and health."""

    def start(self, engine: Engine) -> None:
        """Begin delivering batches to ``engine.ingest``; returns once running."""
        ...

    def stop(self) -> None:
        """Stop and release resources; data acknowledged to the far side is already stored."""
        ...

    def describe(self) -> str:
        """One line: the kind of source and where it reads from."""
        ...


class SourceFactory(Protocol):
    """What a ``twinverse.sources`` entry point names."""

    def __call__(self, plant: Plant, settings: Settings) -> Source:
        """A source for ``plant`` configured from ``settings``."""
        ...


def available_sources() -> dict[str, str]:
    """Installed sources by name → ``module:attr`` (built-ins and entry points)."""
    return {name: p.value for name, p in plugins.available(plugins.SOURCES).items()}


def make_source(name: str, plant: Plant, settings: Settings) -> Source:
    """The source called ``name``, built for ``plant`` from ``settings``."""
    factory: SourceFactory = plugins.load(plugins.SOURCES, name)
    return factory(plant, settings)
