"""Model versions: every saved plant file, numbered, with the sids its signals were given.

A plant's versions live in one folder (``<data_dir>/models/<plant>/``): ``NNNN.yaml`` is the
text of version ``N`` as it was saved, ``NNNN.sids.json`` the ``(twin, signal)`` of every sid
of its signal index (:meth:`SignalIndex.layout <twinverse.model.SignalIndex.layout>`), and
``index.json`` the list of versions (number, SHA-256 of the text, author, time, message) and
the SHA-256 of the plant file on disk they started from. Files are written, fsynced and
renamed into place, the index last, so a crash leaves the previous version current.

The sids matter because they are the keys of stored history: a new version keeps the sid of
every signal it still has (:meth:`SignalIndex.carried <twinverse.model.SignalIndex.carried>`),
and a restart must number them the same way, so the layout is saved with the text.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ModelVersion", "VersionStore", "sha256_text"]


def sha256_text(text: str) -> str:
    """The SHA-256 of ``text`` encoded as UTF-8, hex."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ModelVersion:
    """One saved version of a plant model."""

    number: int
    sha256: str  # of the YAML text
    created: str  # ISO 8601, UTC
    author: str  # the identity's name ("file" for the plant file as first seen)
    author_id: str
    message: str = ""
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class VersionStore:
    """The saved versions of one plant, in ``folder`` (created on the first save)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._index = self._read_index()

    def _read_index(self) -> dict[str, Any]:
        path = self.folder / "index.json"
        if not path.is_file():
            return {"base_sha256": None, "versions": []}
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    # -- reading -----------------------------------------------------------------------------
    def versions(self) -> list[ModelVersion]:
        """Every version, oldest first."""
        return [ModelVersion(**v) for v in self._index["versions"]]

    @property
    def current(self) -> ModelVersion | None:
        """The newest version (the one a platform serves), None before the first save."""
        vs = self._index["versions"]
        return ModelVersion(**vs[-1]) if vs else None

    @property
    def base_sha256(self) -> str | None:
        """SHA-256 of the plant file on disk when the versions last took it in."""
        base: str | None = self._index["base_sha256"]
        return base

    def get(self, number: int) -> ModelVersion | None:
        for v in self._index["versions"]:
            if v["number"] == number:
                return ModelVersion(**v)
        return None

    def text(self, number: int) -> str:
        return (self.folder / f"{number:04d}.yaml").read_text(encoding="utf-8")

    def layout(self, number: int) -> list[tuple[str, str]]:
        """``(twin, signal)`` by sid of version ``number``."""
        pairs = json.loads((self.folder / f"{number:04d}.sids.json").read_text())
        return [(str(t), str(s)) for t, s in pairs]

    def diff(self, old: int, new: int, *, name: str = "plant.yaml") -> str:
        """A unified diff from version ``old`` to version ``new`` (empty when they are equal)."""
        a, b = self.text(old), self.text(new)
        lines = difflib.unified_diff(
            a.splitlines(keepends=True), b.splitlines(keepends=True), f"{name}@{old}", f"{name}@{new}"
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

    # -- writing -----------------------------------------------------------------------------
    def add(
        self,
        text: str,
        layout: Sequence[tuple[str, str]],
        *,
        author: str,
        author_id: str,
        created: str,
        message: str = "",
        summary: dict[str, Any] | None = None,
        base_sha256: str | None = None,
    ) -> ModelVersion:
        """Save ``text`` as the next version with its sid layout; the index is written last."""
        self.folder.mkdir(parents=True, exist_ok=True)
        vs = self._index["versions"]
        number = vs[-1]["number"] + 1 if vs else 1
        version = ModelVersion(number, sha256_text(text), created, author, author_id, message, summary or {})
        _write(self.folder / f"{number:04d}.yaml", text.encode())
        _write(self.folder / f"{number:04d}.sids.json", json.dumps([list(p) for p in layout]).encode())
        index = {
            "base_sha256": base_sha256 if base_sha256 is not None else self._index["base_sha256"],
            "versions": [*vs, version.to_dict()],
        }
        _write(self.folder / "index.json", json.dumps(index, indent=1).encode())
        self._index = index
        return version
