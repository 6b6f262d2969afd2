"""Open the store a URL names, through the store registry (:mod:`twinverse.plugins`).

The URL's scheme picks the plugin (``duckdb``, ``postgresql``, or a third party's own);
a URL without a scheme is a DuckDB file path (or ``duckdb`` / ``:memory:``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import plugins
from ..errors import ConfigError, StoreError
from .base import Store

__all__ = ["open_store", "plant_store_url", "postgres_url", "store_scheme"]


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


def postgres_url(store: Store) -> str | None:
    """The connection URL when ``store`` is the PostgreSQL store (None without psycopg or for others)."""
    try:
        from .postgres import PostgresStore
    except StoreError:  # psycopg is not installed: no store can be a PostgresStore
        return None
    return store.url if isinstance(store, PostgresStore) else None


def plant_store_url(url: str, plant_id: str) -> str:
    """The store URL of a further plant of a park, beside the first plant's ``url``.

    DuckDB (``duckdb`` or a file): the plant's own ``twinverse.duckdb`` in its folder.
    PostgreSQL: the same database, a schema of the plant's own (``twinverse_<id>``, created
    here; its tables are made there as in ``public``) through libpq's ``options`` parameter.
    Another store's URL is used as it is: its plugin keeps plants apart itself, or cannot.

    >>> plant_store_url("data/x.duckdb", "p2"), plant_store_url("postgresql://h/db", "Hall-2")
    ('duckdb', 'postgresql://h/db?options=-csearch_path%3Dtwinverse_hall_2')
    """
    scheme = store_scheme(url)
    if scheme == "duckdb":
        return "duckdb" if url != ":memory:" else url
    if scheme not in ("postgresql", "postgres"):
        return url
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    schema = "twinverse_" + plant_id.lower().replace("-", "_")
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query, safe="")))


