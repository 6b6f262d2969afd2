"""A deployment of several plants: one :class:`Platform` per plant, one trust service for all.

Line, factory, park (产线级、工厂级、园区级): one process serves any number of plants, each
owned by a tenant. Every plant keeps its own store, engine, live state, alarms, KPIs, SQL
tables, rooms and model versions; identities, tokens and the transparency log are shared
(entries carry their tenant). The plant of ``settings.plant`` keeps the data directory's top
level (as a one-plant deployment always did); every other plant lives in
``<data_dir>/plants/<id>/``: its DuckDB file (``twinverse.duckdb``), or its own schema on a PostgreSQL store.

Plants come from three places, in this order: ``settings.plant``, ``settings.plants`` (file and
tenant each) and the plants added over the API (``POST /api/plants``), which are remembered in
``<data_dir>/park.json`` with their model versions in their own folder, so a restart serves
them again. Added plants can be removed (``DELETE /api/plants/{id}``) without a restart; their
folder moves to ``<data_dir>/removed/`` (history is kept, not deleted).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .config import Settings
from .core.clock import iso, now_us
from .errors import ConfigError, ConflictError, Location, ModelLoadError, NotFoundError, Problem
from .model import Plant, load_plant, loads_plant
from .model.versions import VersionStore
from .platform import Platform, check_plant_text
from .store.factory import plant_store_url
from .trust import Principal, TrustService
from .trust.access import check
from .trust.records import Permission

__all__ = ["PARK_FILE", "Park", "ParkPlant"]

log = logging.getLogger("twinverse.park")

#: Where the plants added over the API are remembered (in the data directory).
PARK_FILE = "park.json"
#: Ids of the plants of a park: a URL path segment and a folder name.
_PLANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")

Origin = Literal["settings", "api"]


@dataclass(frozen=True)
class ParkPlant:
    """One plant of the park: who owns it, where it came from, the platform that serves it."""

    id: str
    tenant: str
    origin: Origin
    added: str
    platform: Platform

    def describe(self) -> dict[str, Any]:
        """The public record of the plant (``GET /api/plants``)."""
        plant = self.platform.plant
        return {"id": self.id, "name": plant.name, "tenant": self.tenant, "origin": self.origin,
                "added": self.added, "path": f"/plants/{self.id}/", **plant.summary()}  # fmt: skip


class Park:
    """The plants one process serves; thread-safe (requests add and remove plants while others run).

    ``Park(settings)`` builds every plant's platform; :meth:`start` and :meth:`stop` run them
    all; :meth:`get` finds one by id; iterating gives them in order, the first one first.
    """

    def __init__(self, settings: Settings, *, platform: Platform | None = None) -> None:
        """Serve ``settings.plant`` (or ``platform``, already built on the same settings), ``settings.plants``
        and the plants remembered in ``park.json``. Bad entries raise located errors before anything runs."""
        self.settings = settings
        self.root = Path(settings.data_dir)
        self._lock = threading.RLock()
        self._plants: dict[str, ParkPlant] = {}
        self._started = False
        #: Called with the plant id after a plant was added or removed (the API drops its app).
        self.on_change: list[Callable[[str], None]] = []
        built: list[Platform] = []
        try:
            self._owns_trust = platform is None  # else the given platform closes it, as it made it
            if platform is not None:
                self.trust = platform.trust
            else:
                self.trust = TrustService(self.root, open_mode=settings.auth == "open")
                if settings.plant is not None:
                    platform = Platform(settings, trust=self.trust)
            if platform is not None:
                built.append(platform)
                self._put(ParkPlant(platform.plant.id, settings.tenant, "settings", "", platform))
            for i, entry in enumerate(settings.plants):
                plant = load_plant(entry.file)
                self._check_new(plant.id, Location(path=f"plants[{i}].file"))
                built.append(p := Platform(self._settings_for(plant.id, entry.tenant, entry.file), plant,
                                           trust=self.trust))  # fmt: skip
                self._put(ParkPlant(plant.id, entry.tenant, "settings", "", p))
            for rec in self._read_registry():
                if rec["id"] in self._plants:
                    log.warning("park.json: plant %r is also in the settings; the settings' one is served", rec["id"])
                    continue
                plant = self._saved_plant(rec["id"])
                built.append(p := Platform(self._settings_for(rec["id"], rec["tenant"]), plant, trust=self.trust))
                self._put(ParkPlant(rec["id"], rec["tenant"], "api", rec.get("added", ""), p))
        except BaseException:
            for p in built:
                p.stop()
            raise

    # -- reading -------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[ParkPlant]:
        with self._lock:
            return iter(list(self._plants.values()))

    def __len__(self) -> int:
        return len(self._plants)

    def get(self, plant_id: str) -> ParkPlant | None:
        return self._plants.get(plant_id)

    @property
    def default(self) -> ParkPlant | None:
        """The plant served at the top-level paths (``/api/…``): the first one."""
        with self._lock:
            return next(iter(self._plants.values()), None)

    def visible(self, principal: Principal) -> list[ParkPlant]:
        """The plants ``principal`` may see: its tenant's (every plant for the platform operator)."""
        return [p for p in self if "*" in principal.permissions or p.tenant == principal.tenant]

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            for plant in self._plants.values():
                plant.platform.start()
            self._started = True

    def stop(self) -> None:
        with self._lock:
            self._started = False
            for plant in reversed(self._plants.values()):
                try:
                    plant.platform.stop()
                except Exception:  # one plant failing to stop must not keep the others running
                    log.exception("plant %s failed to stop", plant.id)
            if self._owns_trust:
                self.trust.close()

    # -- adding and removing -------------------------------------------------------------------
    def add(self, text: str, tenant: str, actor: Principal, *, file: str = "plant.yaml") -> ParkPlant:
        """Add the plant of YAML ``text`` for ``tenant`` and serve it at once (started if the park is).

        Needs ``plant:admin`` in ``tenant``. A text that does not load raises
        :class:`ModelLoadError` (every problem located in ``file``); an id in use, 409; a
        tenant that does not exist, 404. The text is the plant's model version 1; the
        addition is logged (``plant.add``, the text's SHA-256 as body hash).
        """
        check(actor, Permission.PLANT_ADMIN, tenant)
        self.trust.access.tenant(tenant)  # 404 for a tenant that does not exist
        plant = check_plant_text(text, file)
        loc = plant.located_doc.locate(("plant",)) if plant.located_doc is not None else Location(file=file)
        with self._lock:
            self._check_new(plant.id, loc)
            folder = self.root / "plants" / plant.id
            if folder.exists():  # left by a failed add: nothing of it is served or remembered
                shutil.rmtree(folder)
            platform = Platform(self._settings_for(plant.id, tenant), plant, trust=self.trust)
            created = iso(now_us())
            try:
                ident = self.trust.store.get_identity(actor.id)
                version = platform.versions.add(
                    text, plant.signals.layout(), author=ident.name if ident is not None else actor.id,
                    author_id=actor.id, created=created, message="the plant as added", summary=plant.summary(),
                )  # fmt: skip
                self.trust.log_action(actor, "plant.add", f"plant:{plant.id}", body_sha256=version.sha256,
                                      details={"tenant": tenant, **plant.summary()})  # fmt: skip
                entry = ParkPlant(plant.id, tenant, "api", created, platform)
                self._put(entry)
                self._write_registry()
                if self._started:
                    platform.start()
            except BaseException:
                self._plants.pop(plant.id, None)
                platform.stop()
                raise
        self._changed(plant.id)
        return entry

    def remove(self, plant_id: str, actor: Principal) -> ParkPlant:
        """Stop serving ``plant_id`` (added over the API) and move its folder to ``<data_dir>/removed/``.

        Needs ``plant:admin`` in the plant's tenant; a plant of the settings is a 409 (it
        would come back at the next start: remove it from the settings instead).
        """
        with self._lock:
            entry = self._plants.get(plant_id)
            if entry is None or not ("*" in actor.permissions or entry.tenant == actor.tenant):
                raise NotFoundError(f"no plant {plant_id!r}")
            check(actor, Permission.PLANT_ADMIN, entry.tenant)
            if entry.origin != "api":
                raise ConflictError(f"plant {plant_id!r} comes from the settings; remove it there and restart")
            del self._plants[plant_id]
            self._write_registry()
            try:
                entry.platform.stop()
            finally:
                stamp = iso(now_us()).replace(":", "").replace("-", "")
                target = self.root / "removed" / f"{plant_id}-{stamp}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(self.root / "plants" / plant_id), str(target))
                self.trust.log_action(actor, "plant.remove", f"plant:{plant_id}",
                                      details={"tenant": entry.tenant, "kept_in": str(target.relative_to(self.root))})
        self._changed(plant_id)
        return entry

    # -- internals -----------------------------------------------------------------------------
    def _put(self, entry: ParkPlant) -> None:
        self._plants[entry.id] = entry

    def _changed(self, plant_id: str) -> None:
        for hook in self.on_change:
            hook(plant_id)

    def _check_new(self, plant_id: str, loc: Location) -> None:
        if not _PLANT_ID.match(plant_id):
            raise ModelLoadError([Problem(f"plant id {plant_id!r} cannot name a plant of a park: use 1-63 of "
                                          "A-Z, a-z, 0-9, '_' and '-', starting alphanumeric", loc)])  # fmt: skip
        if plant_id in self._plants:
            raise ConflictError(f"a plant {plant_id!r} is served already", details=[Problem("id in use", loc)])

    def _settings_for(self, plant_id: str, tenant: str, file: Path | None = None) -> Settings:
        """The settings of a plant beside the first: its own folder, store, MQTT session and NOTIFY channel."""
        data_dir = self.root / "plants" / plant_id
        data_dir.mkdir(parents=True, exist_ok=True)
        s = self.settings
        return s.model_copy(update={
            "data_dir": data_dir, "plant": file, "plants": [], "tenant": tenant,
            "store": plant_store_url(s.store, plant_id),
            "mqtt_client_id": f"{s.mqtt_client_id}-{plant_id}",
            "live_channel": f"{s.live_channel}_{plant_id.lower().replace('-', '_')}",
        })  # fmt: skip

    def _saved_plant(self, plant_id: str) -> Plant:
        versions = VersionStore(self.root / "plants" / plant_id / "models" / plant_id)
        current = versions.current
        if current is None:
            raise ConfigError(f"{self.root / PARK_FILE}: plant {plant_id!r} has no saved model version",
                              details=[Problem("no model version", Location(str(self.root / PARK_FILE)))])
        return loads_plant(versions.text(current.number), f"{plant_id}.yaml")

    def _read_registry(self) -> list[dict[str, str]]:
        path = self.root / PARK_FILE
        if not path.is_file():
            return []
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            plants = [{"id": str(p["id"]), "tenant": str(p["tenant"]), "added": str(p.get("added", ""))}
                      for p in doc["plants"]]  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: not a park file: {exc}",
                              details=[Problem(str(exc), Location(str(path)))]) from exc  # fmt: skip
        return plants

    def _write_registry(self) -> None:
        path = self.root / PARK_FILE
        doc = {"plants": [{"id": p.id, "tenant": p.tenant, "added": p.added}
                          for p in self._plants.values() if p.origin == "api"]}  # fmt: skip
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
