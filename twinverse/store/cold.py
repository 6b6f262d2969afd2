"""Cold history of the DuckDB store: older days moved out of the database into Parquet files.

Layout: ``<history dir>/day=YYYY-MM-DD/<id>.parquet`` (UTC days; a day may hold several files
when late rows arrive after its move), rows ``(ts, sid, value, quality)`` sorted by
``(sid, ts)``, timestamps delta-encoded, zstd-compressed, in row groups whose statistics let a scan skip signals and
times a filter excludes.

The files that hold history are the ones the ``cold_files`` table of the store's database
lists, changed in the same transaction that deletes the moved rows from ``points`` (or that
drops a day for retention): a file written by a move that did not commit is not listed, so it
is never read, and the next open removes it. A file another program drops into the folder is
never read either.

Reading never goes through DuckDB's file functions: the database runs with
``enable_external_access = false``, so SQL on it — the query service's included — reaches no
file at all. The store opens the listed files as a pyarrow dataset and registers it on the
connection as an Arrow object; DuckDB scans it with projection and filter pushdown, and a
time range opens only the days it touches.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..core.batch import TS_TYPE
from ..errors import StoreError

__all__ = ["COLD_SCHEMA", "DAY_US", "ColdFile", "ColdHistory", "day_of", "day_start_us"]

log = logging.getLogger("twinverse.store.cold")

DAY_US = 86_400_000_000
#: The schema of every cold file (that of ``points``).
COLD_SCHEMA = pa.schema([("ts", TS_TYPE), ("sid", pa.int32()), ("value", pa.float64()), ("quality", pa.uint8())])
#: Timestamps as deltas (regular sampling packs into a few bits a row), the rest dictionary-encoded,
#: all zstd-compressed: 1.5 bytes a point for a sensor-like series against 2.6 with plain zstd.
WRITE_OPTIONS: dict[str, object] = {
    "compression": "zstd",
    "write_statistics": True,
    "use_dictionary": ["sid", "value", "quality"],
    "column_encoding": {"ts": "DELTA_BINARY_PACKED"},
}
#: Rows per Parquet row group: small enough that a filter on a few signals skips most of a day.
ROW_GROUP = 128 * 1024

INDEX_SQL = """CREATE TABLE IF NOT EXISTS cold_files (
    name VARCHAR PRIMARY KEY, day DATE NOT NULL, rows BIGINT NOT NULL, bytes BIGINT NOT NULL,
    min_us BIGINT NOT NULL, max_us BIGINT NOT NULL)"""

_EPOCH = date(1970, 1, 1)
_EMPTY = COLD_SCHEMA.empty_table()


def day_of(us: int) -> date:
    """The UTC day holding the time ``us``."""
    return _EPOCH + timedelta(days=us // DAY_US)


def day_start_us(day: date) -> int:
    """Microseconds at 00:00 UTC of ``day``."""
    return (day - _EPOCH).days * DAY_US


@dataclass(frozen=True)
class ColdFile:
    """One listed Parquet file of cold history."""

    name: str  # relative to the history folder: day=YYYY-MM-DD/<id>.parquet
    day: date
    rows: int
    bytes: int
    min_us: int
    max_us: int


class ColdHistory:
    """The listed cold files of one store and the pyarrow datasets over them.

    Changes (:meth:`write`, then :meth:`listed` / :meth:`unlisted` in the store's transaction)
    happen under the store's write lock; readers take :attr:`generation` and a dataset
    without it (the file list is replaced whole, never changed in place). Files dropped
    from the list are deleted at the next :meth:`sweep`, not at once, so a query that
    took the old list a moment before still finds them.
    """

    def __init__(self, root: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.root = root
        try:
            con.execute(INDEX_SQL)
            rows = con.execute("SELECT * FROM cold_files ORDER BY day, name").fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"cannot read the cold history index: {exc}") from exc
        self._files: tuple[ColdFile, ...] = tuple(ColdFile(n, d, *map(int, rest)) for n, d, *rest in rows)
        self.generation = 0
        self._trash: list[Path] = []
        self._all: ds.Dataset | None = None
        self._remove_strays()

    # -- reading -------------------------------------------------------------------------------
    @property
    def files(self) -> tuple[ColdFile, ...]:
        return self._files

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self._files)

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self._files)

    def days(self) -> list[date]:
        return sorted({f.day for f in self._files})

    def select(self, start_us: int | None = None, end_us: int | None = None) -> list[ColdFile]:
        """The files whose day meets ``[start, end)`` (either open)."""
        lo = None if start_us is None else day_of(start_us)
        hi = None if end_us is None else day_of(end_us - 1)
        return [f for f in self._files if (lo is None or f.day >= lo) and (hi is None or f.day <= hi)]

    def dataset(self, start_us: int | None = None, end_us: int | None = None) -> ds.Dataset | None:
        """A dataset of the files a time range touches; None when no file does."""
        files = self._files
        if start_us is None and end_us is None:
            if not files:
                return None
            if self._all is None:
                self._all = self.open(files)
            return self._all
        chosen = self.select(start_us, end_us)
        return self.open(chosen) if chosen else None

    def everything(self) -> ds.Dataset | pa.Table:
        """Every listed file, or an empty table of the same schema (something to register either way).

        The same object until the list changes, so a connection that registered it need not again.
        """
        return self.dataset() or _EMPTY

    def open(self, files: Iterable[ColdFile]) -> ds.Dataset:
        paths = [str(self.root / f.name) for f in files]
        return ds.dataset(paths, schema=COLD_SCHEMA, format="parquet")

    # -- writing -------------------------------------------------------------------------------
    def write(self, day: date, batches: Iterator[pa.RecordBatch]) -> ColdFile | None:
        """Write ``batches`` (sorted by sid, ts) as a new file of ``day``, durably; not listed yet."""
        folder = self.root / f"day={day.isoformat()}"
        name = f"day={day.isoformat()}/{uuid.uuid4().hex}.parquet"
        tmp = self.root / (name + ".tmp")
        rows = 0
        lo, hi = np.iinfo(np.int64).max, np.iinfo(np.int64).min
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with pq.ParquetWriter(str(tmp), COLD_SCHEMA, **WRITE_OPTIONS) as writer:
                for batch in batches:
                    if batch.num_rows:
                        batch = batch.cast(COLD_SCHEMA)
                        writer.write_batch(batch, row_group_size=ROW_GROUP)
                        rows += batch.num_rows
                        ts = batch.column("ts").cast(pa.int64()).to_numpy()
                        lo, hi = min(lo, int(ts.min())), max(hi, int(ts.max()))
            if rows == 0:
                tmp.unlink()
                return None
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            final = self.root / name
            tmp.rename(final)
            _fsync_dir(folder)
            return ColdFile(name, day, rows, final.stat().st_size, lo, hi)
        except (OSError, pa.ArrowException, duckdb.Error) as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot write cold history {self.root / name}: {exc}") from exc

    def listed(self, con: duckdb.DuckDBPyConnection, add: Iterable[ColdFile], drop: Iterable[ColdFile] = ()) -> None:
        """Change the list inside the caller's transaction (call :meth:`publish` after its commit)."""
        for f in drop:
            con.execute("DELETE FROM cold_files WHERE name = ?", [f.name])
        for f in add:
            con.execute(
                "INSERT INTO cold_files VALUES (?, ?, ?, ?, ?, ?)", [f.name, f.day, f.rows, f.bytes, f.min_us, f.max_us]
            )

    def publish(self, add: Iterable[ColdFile], drop: Iterable[ColdFile] = ()) -> None:
        """Make a committed change visible to readers; dropped files go to the trash."""
        gone = {f.name for f in drop}
        files = [*(f for f in self._files if f.name not in gone), *add]
        self._files = tuple(sorted(files, key=lambda f: (f.day, f.name)))
        self._trash.extend(self.root / n for n in gone)
        self._all = None
        self.generation += 1

    def discard(self, files: Iterable[ColdFile]) -> None:
        """Remove files written for a change that did not commit."""
        for f in files:
            (self.root / f.name).unlink(missing_ok=True)

    def sweep(self) -> int:
        """Delete files dropped from the list before the previous sweep, and empty day folders."""
        trash, self._trash = self._trash, []
        for path in trash:
            path.unlink(missing_ok=True)
        for folder in self.root.glob("day=*"):
            if folder.is_dir() and not any(folder.iterdir()):
                shutil.rmtree(folder, ignore_errors=True)
        return len(trash)

    def read(self, f: ColdFile, columns: list[str] | None = None) -> pa.Table:
        try:
            return pq.read_table(str(self.root / f.name), columns=columns, schema=COLD_SCHEMA)
        except (OSError, pa.ArrowException) as exc:
            raise StoreError(f"cannot read cold history {self.root / f.name}: {exc}") from exc

    def _remove_strays(self) -> None:
        """Files a move left behind without listing them (its transaction did not commit)."""
        if not self.root.is_dir():
            return
        known = {f.name for f in self._files}
        for path in self.root.glob("day=*/*"):
            rel = path.relative_to(self.root).as_posix()
            if rel not in known and (path.suffix == ".tmp" or path.suffix == ".parquet"):
                log.info("removing %s: no committed move lists it", path)
                path.unlink(missing_ok=True)
        missing = [f.name for f in self._files if not (self.root / f.name).exists()]
        if missing:
            raise StoreError(
                f"cold history files listed in the store are missing from {self.root}: {', '.join(missing[:5])}"
                + (" …" if len(missing) > 5 else "")
            )


def keep_rows(table: pa.Table, cutoff_us: np.ndarray[Any, np.dtype[np.int64]], default_us: int) -> pa.Table:
    """The rows of ``table`` at or after their signal's cutoff (``default_us`` past the array)."""
    sid = table.column("sid").to_numpy()
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    inside = sid < len(cutoff_us)
    cut = np.full(len(sid), default_us, dtype=np.int64)
    cut[inside] = cutoff_us[sid[inside]]
    return table.filter(pa.array(ts >= cut))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
