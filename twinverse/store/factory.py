"""Open the store a URL names, through the store registry (:mod:`twinverse.plugins`).

The URL's scheme picks the plugin (``duckdb``, ``postgresql``, or a third party's own);
a URL without a scheme is a DuckDB file path (or ``duckdb`` / ``:memory:``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import plugins
from ..errors import ConfigError
from .base import Store

__all__ = ["open_store", "store_scheme"]


def store_scheme(url: str) -> str:
    """The plugin name a store URL asks for.

    >>> store_scheme("postgresql://127.0.0.1/test"), store_scheme("data/x.duckdb"), store_scheme("duckdb")
    ('postgresql', 'duckdb', 'duckdb')
    """
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep else "duckdb"


def open_store(url: str, data_dir: Path | None = None) -> Store:
    """``duckdb`` / ``duckdb:///path.duckdb`` / a file path / ``:memory:`` / ``postgresql://…`` / a plugin's URL."""
    scheme = store_scheme(url)
    stores = plugins.available(plugins.STORES)
    if scheme not in stores:
        known = ", ".join(f"{s}://" for s in sorted(stores))
        raise ConfigError(f"unknown store URL {url!r}: use 'duckdb', a file path, or one of {known}")
    factory: Any = stores[scheme].load()
    store: Store = factory(url, data_dir)
    return store
