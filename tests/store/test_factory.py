"""open_store picks the implementation a URL names."""

from __future__ import annotations

from pathlib import Path

import pytest

from twinverse.errors import ConfigError
from twinverse.store import DuckDBStore, open_store


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("duckdb", "DATA/twinverse.duckdb"),
        ("", "DATA/twinverse.duckdb"),
        (":memory:", ":memory:"),
        ("duckdb://:memory:", ":memory:"),
        ("duckdb:///:memory:", ":memory:"),
        ("duckdb:///ABS/x.duckdb", "/ABS/x.duckdb"),
        ("FILE", "FILE"),
    ],
)
def test_duckdb_urls(tmp_path: Path, url: str, expected: str) -> None:
    data = tmp_path / "data"
    url = url.replace("ABS", str(tmp_path).lstrip("/")).replace("FILE", str(tmp_path / "f.duckdb"))
    want = (
        expected.replace("DATA", str(data)).replace("/ABS", str(tmp_path)).replace("FILE", str(tmp_path / "f.duckdb"))
    )
    store = open_store(url, data)
    try:
        assert isinstance(store, DuckDBStore)
        assert store.path == want
    finally:
        store.close()


def test_unknown_scheme_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown store URL 'mysql://x'"):
        open_store("mysql://x", tmp_path)
