"""Rows acknowledged before they reach DuckDB: an append-only file, synced on every append.

A DuckDB statement costs about a millisecond however few rows it carries (its binding,
planning and commit; BASELINES.md), and every group of small ingest requests paid one
before its callers heard back. Appending the rows to a plain file and syncing it costs a
fifth of that (``fdatasync`` of a few kilobytes: ~0.2 ms here). So the DuckDB store writes
rows that are certainly new (after their signal's watermark) here first: once this file
is synced they are durable and the store answers; they move into DuckDB in larger batches
(:meth:`StagingLog.take`, then :meth:`clear`), and before anything reads the database.

The file is a sequence of records, each ``TVS1``, the row count and the CRC-32 of the
payload (three little-endian ``uint32``), then the columns: ts (int64 µs), sid (int32),
value (float64), quality (uint8). After a crash :func:`recover` reads every complete record;
a torn or damaged record ends the readable part (it was never synced, so never
acknowledged, unless the disk itself lost data: then it says how much it could not read).
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..core.batch import make_batch, ts_to_us
from ..errors import StoreError

__all__ = ["StagingLog", "recover"]

log = logging.getLogger(__name__)

_MAGIC = b"TVS1"
_HEADER = struct.Struct("<4sII")
_ROW_BYTES = 8 + 4 + 8 + 1


def _encode(batch: pa.RecordBatch) -> bytes:
    ts = np.ascontiguousarray(ts_to_us(batch.column("ts")), dtype="<i8")
    sid = np.ascontiguousarray(batch.column("sid").to_numpy(), dtype="<i4")
    value = np.ascontiguousarray(batch.column("value").to_numpy(), dtype="<f8")
    quality = np.ascontiguousarray(batch.column("quality").to_numpy(), dtype=np.uint8)
    payload = b"".join((ts.tobytes(), sid.tobytes(), value.tobytes(), quality.tobytes()))
    return _HEADER.pack(_MAGIC, batch.num_rows, zlib.crc32(payload)) + payload


def _decode(n: int, payload: bytes) -> pa.RecordBatch:
    ts, sid = np.frombuffer(payload, "<i8", n, 0), np.frombuffer(payload, "<i4", n, 8 * n)
    value, quality = np.frombuffer(payload, "<f8", n, 12 * n), np.frombuffer(payload, np.uint8, n, 20 * n)
    return make_batch(ts, sid, value, quality)


def recover(path: Path) -> list[pa.RecordBatch]:
    """The batches of every complete record of a staging file (none if there is no file)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    out: list[pa.RecordBatch] = []
    at = 0
    while at + _HEADER.size <= len(data):
        magic, n, crc = _HEADER.unpack_from(data, at)
        end = at + _HEADER.size + n * _ROW_BYTES
        payload = data[at + _HEADER.size : end]
        if magic != _MAGIC or end > len(data) or zlib.crc32(payload) != crc:
            break
        out.append(_decode(n, payload))
        at = end
    if at < len(data):
        log.warning("%s: %d bytes after the last complete record could not be read (a write cut short "
                    "by the crash: never acknowledged)", path, len(data) - at)  # fmt: skip
    return out


class StagingLog:
    """The staging file of a DuckDB store and the batches in it not yet moved into the database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._batches: list[pa.RecordBatch] = []
        #: Rows staged and not yet moved (0: the database holds everything).
        self.rows = 0

    @classmethod
    def open(cls, path: Path, take_in: Callable[[pa.RecordBatch], object]) -> StagingLog:
        """The staging file at ``path``, after handing what a previous process left in it to ``take_in``.

        ``take_in`` must store the batches idempotently (rows moved before a crash are still
        in the file); the file is emptied once it returned for all of them.
        """
        recovered = recover(path)
        for batch in recovered:
            take_in(batch)
        try:
            staging = cls(path)
            if recovered or path.stat().st_size:
                staging.clear()
        except OSError as exc:
            raise StoreError(f"cannot open the staging file {path}: {exc}") from exc
        if recovered:
            log.info("%s: %d staged rows taken in after a restart", path, sum(b.num_rows for b in recovered))
        return staging

    def append(self, batch: pa.RecordBatch) -> None:
        """Write a batch and sync the file: when this returns, the rows survive a crash."""
        data = _encode(batch)
        written = os.write(self._fd, data)
        if written != len(data):  # a full disk: drop the partial record so that the file stays readable
            os.ftruncate(self._fd, os.lseek(self._fd, 0, os.SEEK_END) - written)
            raise OSError(f"{self.path}: short write ({written} of {len(data)} bytes)")
        os.fdatasync(self._fd)
        self._batches.append(batch)
        self.rows += batch.num_rows

    def take(self) -> list[pa.RecordBatch]:
        """The staged batches, oldest first (still in the file until :meth:`clear`)."""
        return list(self._batches)

    def clear(self) -> None:
        """Forget the staged rows: call once the database holds them durably."""
        os.ftruncate(self._fd, 0)
        os.fdatasync(self._fd)
        self._batches = []
        self.rows = 0

    def close(self) -> None:
        os.close(self._fd)
