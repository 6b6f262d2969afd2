"""The shared rooms of a deployment: one :class:`~.room.Room` per plant, opened on first use."""

from __future__ import annotations

import threading
from pathlib import Path

from ..errors import NotFoundError
from ..model import Plant
from .room import Room

__all__ = ["Collab"]


class Collab:
    """Rooms of the platform's plant, their documents kept under ``<data_dir>/collab/``.

    ``data_dir`` None keeps documents in memory only (tests, ``:memory:`` stores).
    """

    def __init__(self, plant: Plant, data_dir: Path | None) -> None:
        self.plant = plant
        self.folder = None if data_dir is None else Path(data_dir) / "collab"
        self._rooms: dict[str, Room] = {}
        self._lock = threading.Lock()

    def switch(self, plant: Plant) -> None:
        """Serve a new version of the plant: notes may now be pinned to its twins (old notes stay)."""
        with self._lock:
            self.plant = plant
            for room in self._rooms.values():
                room.twins = frozenset(plant.twins)

    def room(self, plant_id: str) -> Room:
        """The room of ``plant_id``; :class:`NotFoundError` for a plant this platform does not serve."""
        if plant_id != self.plant.id:
            raise NotFoundError(f"no plant {plant_id!r} here (this server serves {self.plant.id!r})")
        with self._lock:
            room = self._rooms.get(plant_id)
            if room is None:
                path = None if self.folder is None else self.folder / f"{plant_id}.ydoc"
                room = self._rooms[plant_id] = Room(plant_id, path, frozenset(self.plant.twins))
            return room
