"""Moving old days of the DuckDB store to Parquet, and dropping what retention no longer keeps.

Both run under the store's write lock (appends wait), a day at a time for the move: read
the day's rows from ``points`` sorted by ``(sid, ts)``, write them as one Parquet file
(:mod:`.cold`), then in one transaction delete them from ``points`` and list the file. A
crash before that commit leaves the rows in ``points`` and an unlisted file that the next
open removes; after it, the rows are in the file only. Sealed segments hash the same rows
either way (the store reads both), so they stay verifiable after a move.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Protocol

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ..errors import StoreError
from .cold import DAY_US, ColdFile, ColdHistory, day_of, day_start_us, keep_rows
from .common import Watermarks
from .retention import KEEP_ALL, RetentionPolicy


class DuckDBStore(Protocol):
    """What these functions use of :class:`~twinverse.store.DuckDBStore` (no import: it imports this module)."""

    path: str
    cold: ColdHistory | None
    raw_floor_us: int | None
    _lock: threading.RLock
    _con: duckdb.DuckDBPyConnection
    _hw: Watermarks

    def settle(self) -> None: ...


__all__ = ["archive", "expire"]

_BATCH = 1 << 20


def archive(store: DuckDBStore, before_us: int, *, max_days: int = 10_000) -> list[ColdFile]:
    """Move every whole UTC day of ``points`` that ends at or before ``before_us`` to a Parquet file."""
    cold = store.cold
    if cold is None:
        return []
    cutoff = (before_us // DAY_US) * DAY_US
    moved: list[ColdFile] = []
    while len(moved) < max_days:
        with store._lock:
            store.settle()  # staged rows too (:mod:`.staging`)
            con = store._con
            try:
                rows = con.execute("SELECT epoch_us(min(ts)) FROM points WHERE ts < make_timestamp(?)",
                                   [cutoff]).fetchall()  # fmt: skip
                if not rows or rows[0][0] is None:
                    break
                a = (int(rows[0][0]) // DAY_US) * DAY_US
                reader = con.sql(
                    """SELECT ts, sid, value, quality FROM points
                       WHERE ts >= make_timestamp(?) AND ts < make_timestamp(?) ORDER BY sid, ts""",
                    params=[a, a + DAY_US],
                ).to_arrow_reader(_BATCH)
            except duckdb.Error as exc:
                raise StoreError(f"DuckDB archive failed: {exc}") from exc
            f = cold.write(day_of(a), iter(reader))
            if f is None:
                break
            try:
                con.execute("BEGIN TRANSACTION")
                con.execute("DELETE FROM points WHERE ts >= make_timestamp(?) AND ts < make_timestamp(?)",
                            [a, a + DAY_US])  # fmt: skip
                cold.listed(con, [f])
                con.execute("COMMIT")
            except duckdb.Error as exc:
                con.execute("ROLLBACK")
                cold.discard([f])
                raise StoreError(f"DuckDB archive failed: {exc}") from exc
            cold.publish([f])
            store._hw.floor = max(store._hw.floor, f.max_us)
            moved.append(f)
    if moved:
        _checkpoint(store)
    return moved


def expire(store: DuckDBStore, policy: RetentionPolicy, now_us: int) -> dict[str, int]:
    """Drop raw rows, cold day files and rollups past their signals' retention; counts of what went."""
    raw_cut, raw_default = policy.cutoffs(False, now_us)
    roll_cut, roll_default = policy.cutoffs(True, now_us)
    out = {"raw_rows": 0, "cold_files": 0, "cold_rows": 0, "rollup_rows": 0}
    cold = store.cold
    if cold is not None:
        cold.sweep()  # files dropped in an earlier round: no query can still be reading them
    with store._lock:
        store.settle()
        con = store._con
        try:
            con.execute("BEGIN TRANSACTION")
            out["raw_rows"] = _delete(con, "points", "ts", raw_cut, raw_default)
            out["rollup_rows"] = _delete(con, "rollup_1m", "bucket", roll_cut, roll_default)
            out["rollup_rows"] += _delete(con, "rollup_1h", "bucket", roll_cut, roll_default)
            floor = _max_cut(raw_cut, raw_default)
            if floor is not None and (store.raw_floor_us is None or floor > store.raw_floor_us):
                con.execute("INSERT OR REPLACE INTO rollup_state VALUES ('raw_floor', ?, NULL)", [floor])
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise StoreError(f"DuckDB retention failed: {exc}") from exc
        finally:
            con.unregister("expire_cut")
        if floor is not None and (store.raw_floor_us is None or floor > store.raw_floor_us):
            store.raw_floor_us = floor
        if cold is not None:
            files, rows = _expire_cold(store, raw_cut, raw_default)
            out["cold_files"], out["cold_rows"] = files, rows
    if out["raw_rows"] or out["rollup_rows"]:
        _checkpoint(store)
    return out


def _max_cut(cut: npt.NDArray[np.int64], default: int) -> int | None:
    """The newest cutoff applied: no raw row of any signal before it is certain to remain."""
    values = [int(cut.max())] if len(cut) else []
    values.append(default)
    best = max(values)
    return None if best == KEEP_ALL else best


def _delete(con: duckdb.DuckDBPyConnection, table: str, col: str, cut: npt.NDArray[np.int64], default: int) -> int:
    """``DELETE`` the rows of ``table`` before their sid's cutoff (``default`` for sids past the array)."""
    deleted = 0
    keep = cut != KEEP_ALL
    if keep.any():
        sids = np.flatnonzero(keep).astype(np.int32)
        con.register("expire_cut", pa.table({"sid": sids, "cut": cut[keep]}))
        row = con.execute(
            f"""DELETE FROM {table} USING expire_cut c
                WHERE {table}.sid = c.sid AND {table}.{col} < make_timestamp(c.cut)
                  AND {table}.{col} < make_timestamp(?)""",
            [int(cut[keep].max())],
        ).fetchone()
        deleted += int(row[0]) if row else 0
    if default != KEEP_ALL:
        row = con.execute(f"DELETE FROM {table} WHERE sid >= ? AND {col} < make_timestamp(?)",
                          [len(cut), default]).fetchone()  # fmt: skip
        deleted += int(row[0]) if row else 0
    return deleted


def _expire_cold(store: DuckDBStore, cut: npt.NDArray[np.int64], default: int) -> tuple[int, int]:
    """Whole days of cold files: a signal's rows of a day go once the day has ended before its cutoff."""
    cold = store.cold
    assert cold is not None
    newest = _max_cut(cut, default)
    if newest is None:
        return 0, 0
    # Cutoffs rounded down to a day: a file is rewritten once per class crossing it, not every round.
    day_cut = np.where(cut == KEEP_ALL, KEEP_ALL, (cut // DAY_US) * DAY_US)
    day_default = KEEP_ALL if default == KEEP_ALL else (default // DAY_US) * DAY_US
    files = rows = 0
    for f in cold.files:
        end = day_start_us(f.day) + DAY_US
        if end > newest:
            continue  # no signal's cutoff has passed this day yet
        sids = np.unique(cold.read(f, ["sid"]).column("sid").to_numpy())
        inside = sids < len(day_cut)
        cuts = np.full(len(sids), day_default, dtype=np.int64)
        cuts[inside] = day_cut[sids[inside]]
        gone = cuts >= end
        if not gone.any():
            continue
        if gone.all():
            new: list[ColdFile] = []
        else:
            table = keep_rows(cold.read(f), day_cut, day_default)
            kept = cold.write(f.day, iter(table.to_batches(_BATCH)))
            new = [] if kept is None else [kept]
        con = store._con
        try:
            con.execute("BEGIN TRANSACTION")
            cold.listed(con, new, [f])
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            cold.discard(new)
            raise StoreError(f"DuckDB retention of {f.name} failed: {exc}") from exc
        cold.publish(new, [f])
        files += 1
        rows += f.rows - sum(n.rows for n in new)
    return files, rows


def _checkpoint(store: DuckDBStore) -> None:
    """Let DuckDB give the freed blocks back to its file (a checkpoint), outside any transaction."""
    if store.path == ":memory:":
        return
    # A reader's transaction may hold it off: the next checkpoint does it.
    with store._lock, contextlib.suppress(duckdb.Error):
        store._con.execute("CHECKPOINT")
