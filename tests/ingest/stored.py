"""What a store holds, read back after the server that wrote it has stopped: for the crash tests."""

from __future__ import annotations

from pathlib import Path

from twinverse.model import Plant
from twinverse.store import HistoryQuery, open_store


def stored_points(store_url: str, plant: Plant, data_dir: Path | None = None) -> list[tuple[int, int, float]]:
    """Every row of the store as (sid, ts in epoch µs, value), duplicates kept, in (sid, ts) order."""
    store = open_store(store_url, data_dir)
    try:
        query = HistoryQuery(tuple(range(len(plant.signals))), limit=100_000_000)
        table = store.history(query)
    finally:
        store.close()
    sids = table.column("sid").to_pylist()
    ts = table.column("ts").cast("int64").to_pylist()
    values = table.column("value").to_pylist()
    return list(zip(sids, ts, values, strict=True))
