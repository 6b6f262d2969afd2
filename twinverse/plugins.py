"""One door for built-ins and plugins: sources and stores by name, from one registry.

Built-in implementations are listed here as ``module:attr`` strings (like datasette's
``DEFAULT_PLUGINS``) and third-party ones come from entry points; both are found and
loaded by the same functions, lazily, so this module imports nothing of twinverse but
the exception tree and sits on the ground floor.

Entry-point groups:

``twinverse.sources``
    A factory ``f(plant, settings) -> source``; the source has ``start(engine)``,
    ``stop()`` and ``describe()`` (:class:`twinverse.ingest.Source`). Sources named in the
    ``sources`` setting start with the platform. A field connector (``modbus``, ``opcua``)
    is a :class:`twinverse.ingest.spec.FieldKind` as well: it parses its entries of the
    plant's ``sources:`` section and builds one source per entry.
``twinverse.stores``
    A factory ``f(url, data_dir) -> store`` (:class:`twinverse.store.Store` or the small
    protocols it needs), chosen by the URL scheme of the ``store`` setting: ``duckdb``,
    ``postgresql``, or a plugin's own scheme.
``twinverse.detectors``
    A streaming anomaly detector kind (:class:`twinverse.ops.anomaly.DetectorKind`): its
    parameters' model and ``create(params, slots)``; named by ``detector:`` in a plant's
    ``anomaly:`` section.

A third-party package declares, in its ``pyproject.toml``::

    [project.entry-points."twinverse.sources"]
    opcua = "my_package.opcua:make_source"

>>> sorted(available(SOURCES))[:2]
['jetstream', 'modbus']
>>> available(STORES)["duckdb"].origin
'twinverse'
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from .errors import ConfigError

__all__ = [
    "DEFAULT_DETECTORS",
    "DEFAULT_SOURCES",
    "DEFAULT_STORES",
    "DETECTORS",
    "SOURCES",
    "STORES",
    "Plugin",
    "available",
    "load",
]

log = logging.getLogger("twinverse.plugins")

#: Entry-point group of data sources.
SOURCES = "twinverse.sources"
#: Entry-point group of history stores (keyed by URL scheme).
STORES = "twinverse.stores"
#: Entry-point group of streaming anomaly detectors.
DETECTORS = "twinverse.detectors"

#: Built-in sources, loaded the way plugins are.
DEFAULT_SOURCES: dict[str, str] = {
    "jetstream": "twinverse.ingest.jetstream:jetstream_source",
    "modbus": "twinverse.ingest.modbus:MODBUS",
    "mqtt": "twinverse.ingest.mqtt:mqtt_source",
    "opcua": "twinverse.ingest.opcua:OPCUA",
    "sparkplug": "twinverse.ingest.sparkplug:SPARKPLUG",
    "synthetic": "twinverse.ingest.synthetic:synthetic_source",
}
#: Built-in stores by URL scheme.
DEFAULT_STORES: dict[str, str] = {
    "duckdb": "twinverse.store.duckdb:open_duckdb",
    "postgresql": "twinverse.store.postgres:open_postgres",
    "postgres": "twinverse.store.postgres:open_postgres",
}

#: Built-in anomaly detectors.
DEFAULT_DETECTORS: dict[str, str] = {
    "gaussian": "twinverse.ops.anomaly.gaussian:GAUSSIAN",
    "context": "twinverse.ops.anomaly.context:CONTEXT",
}

_DEFAULTS = {SOURCES: DEFAULT_SOURCES, STORES: DEFAULT_STORES, DETECTORS: DEFAULT_DETECTORS}


@dataclass(frozen=True)
class Plugin:
    """One implementation: its group, name, ``module:attr`` and where it comes from."""

    group: str
    name: str
    value: str
    origin: str  # "twinverse" for built-ins, else the distribution that declares it

    def load(self) -> Any:
        """Import the implementation; :class:`ConfigError` naming the plugin if that fails."""
        module, _, attr = self.value.partition(":")
        try:
            obj: Any = importlib.import_module(module)
            for part in attr.split(".") if attr else ():
                obj = getattr(obj, part)
        except Exception as exc:  # a broken plugin must say which one, not crash with its traceback
            raise ConfigError(
                f"{self.group} plugin {self.name!r} ({self.value}, from {self.origin}) cannot be loaded: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return obj


def available(group: str) -> dict[str, Plugin]:
    """Every implementation of ``group``: built-ins first; a plugin may not replace a built-in."""
    if group not in _DEFAULTS:
        raise ConfigError(f"unknown plugin group {group!r} (groups: {', '.join(sorted(_DEFAULTS))})")
    found = {name: Plugin(group, name, value, "twinverse") for name, value in _DEFAULTS[group].items()}
    for ep in entry_points(group=group):
        origin = ep.dist.name if ep.dist is not None else "?"
        if ep.name in found:
            if found[ep.name].value != ep.value:
                log.warning("%s plugin %r from %s ignored: the name is built in", group, ep.name, origin)
            continue
        found[ep.name] = Plugin(group, ep.name, ep.value, origin)
    return found


def load(group: str, name: str) -> Any:
    """The implementation called ``name`` in ``group``; :class:`ConfigError` if none or broken."""
    plugins = available(group)
    plugin = plugins.get(name)
    if plugin is None:
        raise ConfigError(f"no {group} plugin named {name!r} (installed: {', '.join(sorted(plugins))})")
    return plugin.load()
