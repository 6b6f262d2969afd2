"""One door for built-ins and plugins: a third-party source and store installed through entry points.

The plugin packages are real distributions on ``sys.path`` (a module plus a ``*.dist-info``
folder with ``entry_points.txt``), found by ``importlib.metadata`` exactly as pip-installed
ones are; nothing in twinverse is patched.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from twinverse import plugins
from twinverse.config import Settings
from twinverse.errors import ConfigError
from twinverse.ingest import available_sources
from twinverse.platform import Platform, example_path
from twinverse.store import DuckDBStore, HistoryQuery, open_store

SOURCE_MODULE = '''
"""A third-party source: three known temperatures of the filler, then nothing."""
import numpy as np

from twinverse.core import make_batch


class Thermo:
    def __init__(self, plant, settings):
        self.sid = plant.signals.sid("bottling/line1/filler", "temperature")
        self.started = False

    def start(self, engine):
        ts = np.array([1_790_000_000, 1_790_000_001, 1_790_000_002], dtype=np.int64) * 1_000_000
        engine.ingest(make_batch(ts, [self.sid] * 3, [4.0, 4.5, 5.25]), source="thermo")
        self.started = True

    def stop(self):
        pass

    def describe(self):
        return "thermo (a test plugin)"


def make(plant, settings):
    return Thermo(plant, settings)
'''

STORE_MODULE = '''
"""A third-party store: DuckDB under a scheme of its own, remembering the URL it was given."""
from twinverse.store import DuckDBStore

OPENED = []


def open_archive(url, data_dir):
    OPENED.append(url)
    return DuckDBStore(":memory:")
'''


def install(root: Path, dist: str, module: str, code: str, entry_points: str) -> None:
    """Write ``module`` and a ``dist``-1.0.dist-info declaring ``entry_points`` under ``root``."""
    (root / f"{module}.py").write_text(textwrap.dedent(code))
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    install(root, "tv_thermo", "tv_thermo", SOURCE_MODULE, "[twinverse.sources]\nthermo = tv_thermo:make\n")
    install(root, "tv_archive", "tv_archive", STORE_MODULE, "[twinverse.stores]\narchive = tv_archive:open_archive\n")
    install(root, "tv_broken", "tv_broken", "raise ImportError('needs libfoo')\n",
            "[twinverse.sources]\nbroken = tv_broken:make\n[twinverse.stores]\nmqtt = tv_broken:x\n")
    monkeypatch.syspath_prepend(str(root))
    return root


def test_builtins_come_through_the_same_door() -> None:
    sources = plugins.available(plugins.SOURCES)
    assert {n: p.origin for n, p in sources.items() if p.origin == "twinverse"} == {
        "jetstream": "twinverse", "modbus": "twinverse", "mqtt": "twinverse", "opcua": "twinverse",
        "sparkplug": "twinverse",
        "synthetic": "twinverse",
    }
    assert set(plugins.available(plugins.STORES)) >= {"duckdb", "postgresql"}
    assert isinstance(open_store(":memory:"), DuckDBStore)


def test_a_third_party_source_feeds_the_engine_and_the_store(site: Path, tmp_path: Path) -> None:
    assert available_sources()["thermo"] == "tv_thermo:make"
    assert plugins.available(plugins.SOURCES)["thermo"].origin == "tv_thermo"
    settings = Settings(plant=example_path(), data_dir=tmp_path / "d", store=":memory:", sources=["thermo"],
                        seal_history=False)
    platform = Platform(settings)
    try:
        assert [s.describe() for s in platform.sources] == ["thermo (a test plugin)"]
        platform.start()
        sid = platform.plant.signals.sid("bottling/line1/filler", "temperature")
        assert platform.engine.value[sid] == 5.25
        rows = platform.store.history(HistoryQuery((sid,)))
        assert rows.column("value").to_pylist() == [4.0, 4.5, 5.25]
        assert np.asarray(rows.column("ts").cast("int64")).tolist() == [1_790_000_000_000_000 + i * 1_000_000
                                                                          for i in range(3)]
    finally:
        platform.stop()


def test_a_third_party_store_is_chosen_by_its_url_scheme(site: Path) -> None:
    import tv_archive  # type: ignore[import-not-found]

    store = open_store("archive://plant-7")
    assert isinstance(store, DuckDBStore) and tv_archive.OPENED == ["archive://plant-7"]
    store.close()


def test_broken_and_unknown_plugins_say_which(site: Path) -> None:
    with pytest.raises(ConfigError, match=r"twinverse\.sources plugin 'broken' \(tv_broken:make, from tv_broken\) "
                                          r"cannot be loaded: ImportError: needs libfoo"):
        plugins.load(plugins.SOURCES, "broken")
    with pytest.raises(ConfigError, match=r"no twinverse\.sources plugin named 'profinet' \(installed: .*thermo"):
        plugins.load(plugins.SOURCES, "profinet")
    with pytest.raises(ConfigError, match=r"unknown store URL 'kafka://x'.*duckdb://"):
        open_store("kafka://x")


def test_a_plugin_cannot_replace_a_builtin(site: Path, caplog: pytest.LogCaptureFixture) -> None:
    install(site, "tv_evil", "tv_evil", "def make(p, s):\n    raise AssertionError\n",
            "[twinverse.sources]\nmqtt = tv_evil:make\n")
    assert plugins.available(plugins.SOURCES)["mqtt"].value == "twinverse.ingest.mqtt:mqtt_source"
    assert "tv_evil" in caplog.text
