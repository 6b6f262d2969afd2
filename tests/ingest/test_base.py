"""The source extension point: optional health reports, the same for built-ins and plugins."""

from __future__ import annotations

from pathlib import Path

from twinverse.ingest import MqttConnector, SyntheticPlant, source_health
from twinverse.live import Engine
from twinverse.model import Plant
from twinverse.store import DuckDBStore


class Bare:
    """A third-party source without ``health()``."""

    def start(self, engine: Engine) -> None: ...
    def stop(self) -> None: ...
    def describe(self) -> str:
        return "bare"


class Broken(Bare):
    def health(self) -> dict[str, bool | int | float | str]:
        raise RuntimeError("boom")


def test_a_source_without_health_reports_its_kind_only() -> None:
    assert source_health(Bare()) == {"kind": "bare"}


def test_a_failing_health_is_reported_not_raised() -> None:
    assert source_health(Broken()) == {"kind": "broken", "error": "RuntimeError: boom"}


def test_mqtt_health_before_connecting() -> None:
    c = MqttConnector("mqtt://127.0.0.1:1")
    assert source_health(c) == {"kind": "mqtt", "connected": False, "reconnects": 0, "pending": 0}


def test_synthetic_health_follows_its_thread(plant: Plant, tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    sp = SyntheticPlant(plant, rate=50.0)
    assert source_health(sp) == {"kind": "synthetic", "running": False, "ticks": 0}
    sp.start(Engine(plant, store))
    try:
        assert source_health(sp)["running"] is True
    finally:
        sp.stop()
        store.close()
    assert source_health(sp)["running"] is False
