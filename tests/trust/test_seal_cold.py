"""Sealed history stays verifiable after its days move to Parquet, and tampering with a cold file is caught."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from twinverse.core import make_batch
from twinverse.store import DuckDBStore
from twinverse.store.cold import DAY_US
from twinverse.trust import HistorySealer, ProblemKind, TrustService, check_history, verify_history

T0 = 1_767_225_600_000_000  # 2026-01-01T00:00Z
PLANT = "bottling"


def at(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1e6, UTC)


@pytest.fixture
def sealed(tmp_path: Path) -> Iterator[tuple[DuckDBStore, TrustService, int]]:
    """Two days of three signals, a point a minute, sealed in 6-hour segments; then the first day moved."""
    store = DuckDBStore(tmp_path / "twinverse.duckdb")
    trust = TrustService(tmp_path / "trust", synchronous="OFF")
    ts = T0 + np.arange(0, 2 * DAY_US, 60_000_000)
    for sid in range(3):
        store.append(make_batch(ts + sid, np.full(len(ts), sid, np.int32), np.sin(ts / 1e9 + sid)))
    sealer = HistorySealer(store, trust, plant_id=PLANT, tenant="default", segment=timedelta(hours=6), lag=timedelta(0))
    segs = sealer.seal_due(at(T0 + 2 * DAY_US))
    assert len(segs) == 8 and sum(s.rows for s in segs) == 3 * len(ts)
    yield store, trust, len(segs)
    store.close()
    trust.close()


def test_sealed_segments_verify_after_the_move(sealed: tuple[DuckDBStore, TrustService, int]) -> None:
    store, trust, n = sealed
    moved = store.archive(T0 + DAY_US)
    assert [f.day.isoformat() for f in moved] == ["2026-01-01"]
    report = check_history(store, trust, plant_id=PLANT)
    assert report.ok and (report.segments, report.rows) == (n, 3 * 2 * 1440)
    # and after a restart, when the store reads the day from its file list only
    path = Path(store.path)
    store.close()
    again = DuckDBStore(path)
    try:
        assert verify_history(again, trust, plant_id=PLANT) == []
    finally:
        again.close()


def test_a_changed_cold_file_fails_verification(sealed: tuple[DuckDBStore, TrustService, int]) -> None:
    store, trust, _ = sealed
    [f] = store.archive(T0 + DAY_US)
    assert store.cold is not None
    file = store.cold.root / f.name
    table = pq.read_table(file)
    hit = pc.equal(table.column("ts"), pa.scalar(T0 + 7 * 3600 * 1_000_000 + 1, pa.timestamp("us", tz="UTC")))
    value = pc.if_else(hit, pa.scalar(42.0), table.column("value"))
    pq.write_table(table.set_column(2, "value", value), file)  # an attacker with file access
    [p] = verify_history(store, trust, plant_id=PLANT)
    assert p.kind is ProblemKind.CHANGED and (p.start, p.end) == (at(T0 + 6 * 3600 * 1_000_000), at(T0 + DAY_US // 2))
    assert p.rows == p.sealed_rows == 3 * 360


def test_retention_shows_as_deleted_rows(sealed: tuple[DuckDBStore, TrustService, int]) -> None:
    """Dropping history for retention is a deletion the seals report (by design: the log says what was there)."""
    from twinverse.store.retention import RetentionPolicy

    store, trust, _ = sealed
    store.archive(T0 + DAY_US)
    store.expire(RetentionPolicy.uniform(raw_days=1.0), T0 + 2 * DAY_US)  # cutoff: the end of day 1
    problems = verify_history(store, trust, plant_id=PLANT)
    assert [p.kind for p in problems] == [ProblemKind.DELETED] * 4
    assert [p.start for p in problems] == [at(T0 + k * 6 * 3600 * 1_000_000) for k in range(4)]
