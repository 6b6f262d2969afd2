"""Compose a running platform from settings: plant, store, engine, hub, connectors."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from .config import Settings
from .ingest.base import Connector
from .live.engine import Engine
from .live.hub import Hub
from .model import Plant, load_plant
from .sim.runner import SimRunner
from .store import Store, open_store
from .trust import HistorySealer, TrustService

__all__ = ["Platform", "example_path"]

log = logging.getLogger("twinverse")


def example_path(name: str = "bottling.yaml") -> Path:
    """Path of a bundled example plant (inside the wheel, or ``examples/`` in a checkout)."""
    packaged = resources.files("twinverse") / "examples" / name
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[1] / "examples" / name


class Platform:
    """The services of one twinverse process, composed (not inherited)."""

    def __init__(self, settings: Settings, plant: Plant | None = None, store: Store | None = None) -> None:
        self.settings = settings
        if plant is None:
            if settings.plant is None:
                from .errors import ConfigError

                raise ConfigError("no plant given: pass --plant FILE or set TWINVERSE_PLANT")
            plant = load_plant(settings.plant)
        self.plant = plant
        self.store = store if store is not None else open_store(settings.store, settings.data_dir)
        self.engine = Engine(plant, self.store)
        self.trust = TrustService(settings.data_dir, open_mode=settings.auth == "open")
        self.sealer: HistorySealer | None = None
        if settings.seal_history:
            self.sealer = HistorySealer.from_settings(self.store, self.trust, settings, plant_id=plant.id)
        self.hub = Hub(self.engine)
        self.sim = SimRunner()  # simulation jobs (``/api/sim/runs``); closed with the platform
        self.connectors: list[Connector] = []
        self._started = False

    def add_connector(self, connector: Connector) -> None:
        self.connectors.append(connector)
        if self._started:
            connector.start(self.engine)

    def record_model(self) -> int | None:
        """Log the plant model if it changed since the last start: its file's SHA-256 and summary.

        Returns the log index, or None when the model is the one already logged
        (:meth:`TrustService.record_model <twinverse.trust.TrustService.record_model>`).
        """
        return self.trust.record_model(self.plant, tenant=self.settings.tenant)

    def start(self) -> None:
        self.record_model()
        for c in self.connectors:
            log.info("starting connector: %s", c.describe())
            c.start(self.engine)
        if self.sealer is not None:
            self.sealer.start()
        self.sim.start()
        self._started = True

    def stop(self) -> None:
        for c in reversed(self.connectors):
            try:
                c.stop()
            except Exception:  # a failing connector must not keep the store open
                log.exception("connector %s failed to stop", c.describe())
        self._started = False
        self.sim.close()  # cancels running simulations instead of waiting for them
        if self.sealer is not None:
            self.sealer.stop()
        self.hub.close()
        self.store.close()
        self.trust.close()
