"""Open the store a URL names: a DuckDB path (default) or ``postgresql://…``."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from .base import Store

__all__ = ["open_store"]


def open_store(url: str, data_dir: Path | None = None) -> Store:
    """``duckdb`` / ``duckdb:///path.duckdb`` / a file path / ``:memory:`` / ``postgresql://…``."""
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(url)
    from .duckdb import DuckDBStore

    if url in ("", "duckdb"):
        return DuckDBStore((data_dir or Path("data")) / "twinverse.duckdb")
    if url.startswith("duckdb://"):
        path = url.removeprefix("duckdb://")  # duckdb:///abs/file.duckdb, duckdb://rel.duckdb
        return DuckDBStore(":memory:" if path in (":memory:", "/:memory:") else path)
    if "://" in url:
        raise ConfigError(f"unknown store URL {url!r}: use 'duckdb', a file path, or postgresql://…")
    return DuckDBStore(url)
