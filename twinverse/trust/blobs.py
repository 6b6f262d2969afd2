"""Content-addressed blob storage: files named by their SHA-256, verified on every read."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError, NotFoundError, StoreError
from .errors import IntegrityError

__all__ = ["BlobStore"]

_CHUNK = 1 << 20
_HEX = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    """Blobs under ``root/sha256/ab/cdef…``; a blob whose bytes no longer hash to its name is refused."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if not _HEX.match(sha256):
            raise InputError(f"{sha256!r} is not a lowercase hex SHA-256")
        return self.root / "sha256" / sha256[:2] / sha256[2:]

    def put(self, source: bytes | Path | BinaryIO) -> tuple[str, int]:
        """Store bytes (or a file's content); returns (sha256 hex, size). Idempotent."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in _chunks(source):
                    h.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = h.hexdigest()
            dest = self.path(digest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            # Replacing an existing blob is harmless (same bytes) and repairs a corrupted copy.
            os.replace(tmp, dest)
            os.chmod(dest, 0o444)  # blobs are immutable; a read-only mode guards against slips
        except OSError as exc:
            raise StoreError(f"cannot store blob: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        return digest, size

    def read(self, sha256: str) -> bytes:
        """The blob's bytes after checking they still hash to ``sha256``."""
        p = self.path(sha256)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"blob {sha256} is missing from {self.root}") from None
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise IntegrityError(f"blob {sha256} is corrupt: its bytes now hash to {got}; refusing to serve it")
        return data

    def copy_to(self, sha256: str, dest: Path) -> int:
        """Copy the blob to ``dest`` while hashing; on a mismatch nothing is left at ``dest``."""
        src = self.path(sha256)
        if not src.exists():
            raise NotFoundError(f"blob {sha256} is missing from {self.root}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".partial-")
        tmp = Path(tmp_name)
        try:
            with src.open("rb") as f, os.fdopen(fd, "wb") as out:
                while chunk := f.read(_CHUNK):
                    h.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            if h.hexdigest() != sha256:
                raise IntegrityError(
                    f"blob {sha256} is corrupt: its bytes now hash to {h.hexdigest()}; refusing to serve it"
                )
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        return size


def _chunks(source: bytes | Path | BinaryIO) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray):
        yield bytes(source)
        return
    if isinstance(source, Path):
        try:
            f = source.open("rb")
        except OSError as exc:
            raise InputError(f"{source}: cannot read: {exc.strerror}") from exc
        with f:
            while chunk := f.read(_CHUNK):
                yield chunk
        return
    while chunk := source.read(_CHUNK):
        yield chunk
