"""Replay a recorded series (CSV or Parquet) into a twin's signal at a speed factor.

The file needs a timestamp column and a value column (names configurable; the NAB
corpus uses ``timestamp,value``). At ``speed=60`` an hour of data plays in a minute;
``speed=0`` imports as fast as the store takes it. ``rebase=True`` shifts timestamps so
that the first row is "now", making an old recording look live.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..core.batch import TS_TYPE, make_batch, ts_to_us
from ..core.clock import now_us as _now_us
from ..errors import InputError, NotFoundError
from ..live.engine import Engine
from ..model import Plant
from .base import Health

__all__ = ["ReplayConnector", "read_series"]


def read_series(
    path: str | Path, ts_column: str = "timestamp", value_column: str = "value"
) -> tuple[np.ndarray, np.ndarray]:
    """``(ts_us, values)`` sorted by time from a CSV or Parquet file."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    try:
        table = pq.read_table(p) if p.suffix.lower() in (".parquet", ".pq") else pacsv.read_csv(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{p}: cannot read: {exc}") from exc
    for col in (ts_column, value_column):
        if col not in table.column_names:
            raise InputError(f"{p}: no column {col!r} (columns: {', '.join(table.column_names)})")
    ts = table.column(ts_column)
    try:
        if pa.types.is_string(ts.type):
            ts = pc.cast(ts, TS_TYPE)
        elif pa.types.is_timestamp(ts.type) and ts.type.tz is None:
            ts = pc.assume_timezone(ts, "UTC")
        elif not pa.types.is_timestamp(ts.type):
            # numbers are epoch milliseconds, as everywhere else in twinverse
            ts = pc.cast(pc.multiply(ts.cast(pa.float64()), 1000.0).cast(pa.int64()), TS_TYPE)
        values = table.column(value_column).cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputError(f"{p}: cannot read column types: {exc}") from exc
    ts = ts.combine_chunks() if isinstance(ts, pa.ChunkedArray) else ts
    if ts.null_count:
        # A row without a time cannot be placed (nor paced): say where instead of guessing.
        first = int(np.flatnonzero(np.asarray(ts.is_null().to_numpy(zero_copy_only=False)))[0])
        raise InputError(f"{p}: {ts.null_count} rows have no {ts_column!r} (first: data row {first + 1})")
    us = ts_to_us(ts)
    v = np.asarray(values.combine_chunks().fill_null(np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)
    order = np.argsort(us, kind="stable")
    return us[order], v[order]


class ReplayConnector:
    """Plays a file into one (twin, signal) of a plant: a :class:`Connector`."""

    def __init__(
        self,
        plant: Plant,
        path: str | Path,
        twin: str,
        signal: str,
        *,
        speed: float = 1.0,
        rebase: bool = False,
        unit: str | None = None,
        ts_column: str = "timestamp",
        value_column: str = "value",
        batch_rows: int = 10_000,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        if speed < 0:
            raise InputError(f"speed must be >= 0 (0 = as fast as possible), got {speed}")
        if twin not in plant.twins:
            raise NotFoundError(f"no twin {twin!r} in plant {plant.id!r}")
        self.sid = plant.signals.sid(twin, signal)
        self.path, self.twin, self.signal = Path(path), twin, signal
        self.speed, self.rebase, self.unit = speed, rebase, unit
        self.batch_rows = batch_rows
        self.on_batch = on_batch
        self.ts, self.values = read_series(path, ts_column, value_column)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0

    def __len__(self) -> int:
        return len(self.ts)

    def batches(self, now_us: int | None = None) -> Iterator[tuple[float, pa.RecordBatch]]:
        """``(due_offset_seconds, batch)`` pairs; offsets are wall time from the start."""
        if len(self.ts) == 0:
            return
        ts = self.ts
        if self.rebase:
            ts = ts - ts[0] + (_now_us() if now_us is None else now_us)
        rel = (self.ts - self.ts[0]) / 1e6
        if self.speed == 0:
            edges = np.arange(0, len(ts), self.batch_rows)
            due = np.zeros(len(edges))
        else:
            # One batch per 50 ms of wall time (or per batch_rows rows, whichever is smaller).
            wall = rel / self.speed
            slot = np.floor(wall / 0.05).astype(np.int64)
            edges = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
            edges = np.unique(np.concatenate([edges, np.arange(0, len(ts), self.batch_rows)]))
            due = wall[edges]
        bounds = np.r_[edges, len(ts)]
        for i in range(len(edges)):
            a, b = int(bounds[i]), int(bounds[i + 1])
            n = b - a
            yield (
                float(due[i]),
                make_batch(
                    ts[a:b], np.full(n, self.sid, np.int32), self.values[a:b], unit=self.unit if self.unit else None
                ),
            )

    def run(self, sink: Callable[[pa.RecordBatch], object]) -> int:
        """Play the whole file into ``sink`` (blocking); returns rows sent."""
        start = time.monotonic()
        for due, batch in self.batches():
            if self._stop.is_set():
                break
            wait = due - (time.monotonic() - start)
            if wait > 0 and self._stop.wait(wait):
                break
            sink(batch)
            self.sent += batch.num_rows
            if self.on_batch is not None:
                self.on_batch(batch.num_rows)
        return self.sent

    def start(self, engine: Engine) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run,
            args=(lambda b: engine.ingest(b, source=f"replay:{self.path.name}"),),
            name="twinverse-replay",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def health(self) -> Health:
        """``kind``, ``running`` (false once the file is played) and ``sent`` rows."""
        return {"kind": "replay", "running": self._thread is not None and self._thread.is_alive(), "sent": self.sent}

    def describe(self) -> str:
        pace = "as fast as possible" if self.speed == 0 else f"at {self.speed:g}x"
        return f"replay {self.path.name} → {self.twin}.{self.signal} ({len(self.ts)} rows, {pace})"
