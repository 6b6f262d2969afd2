"""The source extension point: what feeds live data into the engine.

A source moves data from somewhere (a broker, a file, a device, a simulation) into an
:class:`~twinverse.live.Engine`. It runs on its own thread(s) between ``start`` and
``stop``, turns wire data into batches (:mod:`twinverse.core.batch`), maps names to sids
once per distinct name, and never acknowledges anything upstream before
``engine.ingest`` has returned (the rows are then durable).

A source may also report its health with an optional ``health()`` method returning a flat
dict (see :func:`source_health`): ``kind`` names it in metrics, ``connected`` says whether
it reaches its far side (readiness waits for it), ``running`` whether its thread runs, and
counters such as ``reconnects`` are exported as they are.

A source that may find twins the model lacks is :class:`Growing` (see
:meth:`Platform.request_growth <twinverse.platform.Platform.request_growth>`).

A source that can also send values to its far side (setpoints, commands) is
:class:`Writable`: ``write(sid, value)`` blocks until the device accepted the value and
raises a :class:`~twinverse.errors.TwinverseError` (usually
:class:`~twinverse.errors.CommandRefused`) when it did not. Which signals a source feeds is
its ``sids`` attribute; which of those it may write is the signal's ``writable`` flag (the
type's declaration) or its ``writable_sids`` attribute (the source mapping's).

Sources are found by name through :mod:`twinverse.plugins` (group ``twinverse.sources``):
the built-ins the same way as third-party ones. A plugin is a factory
``f(plant, settings) -> Source``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeAlias, runtime_checkable

from .. import plugins
from ..config import Settings
from ..live.engine import Engine
from ..model import Plant
from ..model.grow import Growth

__all__ = ["Growing", "Health", "Source", "SourceFactory", "Writable", "available_sources", "make_source",
           "source_health"]  # fmt: skip

#: What ``health()`` returns: flat and JSON-ready (``kind``, ``connected``, ``running``, counters).
Health: TypeAlias = dict[str, bool | int | float | str]


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


@runtime_checkable
class Writable(Protocol):
    """A source that can write a value of one of its signals to the device."""

    def write(self, sid: int, value: float, *, timeout: float = 5.0) -> None:
        """Send ``value`` (in the signal's unit) for ``sid``; return once the device accepted it.

        Raises a :class:`~twinverse.errors.TwinverseError` subclass on failure:
        :class:`~twinverse.errors.CommandRefused` when the device refused or did not answer
        within ``timeout`` seconds, :class:`~twinverse.errors.ConflictError` when the signal is
        not writable through this source, :class:`~twinverse.errors.InputError` when the value
        does not fit the device's type. The live value follows the device's read-back.
        """
        ...


@runtime_checkable
class Growing(Protocol):
    """A source that may find twins and signals the model lacks (a Sparkplug host with ``create``).

    The platform sets ``on_grow``; the source calls it with each :class:`~twinverse.model.grow.Growth`
    from its own thread, and it returns at once (the new version is saved on another thread).
    """

    on_grow: Callable[[Growth], None] | None


def source_health(source: Source) -> Health:
    """``source.health()`` when the source has one, else ``{}``; ``kind`` is always filled in.

    ``kind`` defaults to the source's class name in lower case. A ``health()`` that fails
    reports ``{"kind": …, "error": message}`` rather than breaking a health check.
    """
    report = getattr(source, "health", None)
    health: Health = {}
    if callable(report):
        try:
            health = dict(report())
        except Exception as exc:  # a health probe must answer even when a plugin's health() fails
            health = {"error": f"{type(exc).__name__}: {exc}"}
    health.setdefault("kind", type(source).__name__.lower())
    return health


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
