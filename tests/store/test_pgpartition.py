"""Time-partitioned PostgreSQL history on a real server: partitions ahead, pruning, retention by dropping."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest

from twinverse.config import Settings
from twinverse.core import make_batch
from twinverse.errors import ConfigError
from twinverse.store.base import HistoryQuery
from twinverse.store.pgpartition import PartitionManager, partitions_from_settings, period_start
from twinverse.store.postgres import PostgresStore

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def us(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


def where(url: str) -> dict[str, int]:
    """Rows per partition."""
    with psycopg.connect(url) as con:
        return {r[0]: r[1] for r in con.execute("SELECT tableoid::regclass::text, count(*) FROM points GROUP BY 1")}


def test_period_starts() -> None:
    assert period_start(date(2026, 12, 3), "day") == date(2026, 12, 3)
    assert period_start(date(2026, 12, 6), "week") == date(2026, 11, 30)  # ISO weeks start on Monday
    assert period_start(date(2026, 12, 31), "month") == date(2026, 12, 1)


def test_partitions_are_created_ahead_and_rows_land_in_theirs(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        m = PartitionManager(store, "day", ahead=2)
        m.setup(NOW)
        assert m.partitions() == ["points_p20261203", "points_p20261204", "points_p20261205"]
        assert m.maintain(NOW) == ([], [])  # idempotent
        assert m.maintain(NOW + timedelta(days=1)) == (["points_p20261206"], [])
        t = [us(NOW), us(NOW + timedelta(days=1)), us(NOW - timedelta(days=30))]
        assert store.append(make_batch(np.array(t), [0, 0, 1], [1.0, 2.0, 3.0])) == 3
        assert where(pg_url) == {"points_p20261203": 1, "points_p20261204": 1, "points_default": 1}
        # The store works as before on the partitioned table: redelivery, history, latest.
        other = PostgresStore(pg_url)  # another process: its watermarks come from the table
        assert other.append(make_batch(np.array(t), [0, 0, 1], [9.0, 9.0, 9.0])) == 0
        other.close()
        h = store.history(HistoryQuery(sids=(0,), start=NOW - timedelta(hours=1), end=NOW + timedelta(days=2)))
        assert h.column("value").to_pylist() == [1.0, 2.0]
        assert store.latest().column("value").to_pylist() == [2.0, 3.0]
        assert store.count() == 3
    finally:
        store.close()


def test_retention_drops_whole_partitions(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        past = NOW - timedelta(days=10)
        keep = PartitionManager(store, "day", ahead=1)
        keep.setup(past)  # partitions for ten days ago, as a deployment running then would have made
        keep.maintain(NOW)
        m = PartitionManager(store, "day", ahead=1, retention_days=5)
        old = [us(past), us(past + timedelta(hours=1)), us(NOW - timedelta(days=30))]
        new = [us(NOW), us(NOW + timedelta(minutes=1))]
        store.append(make_batch(np.array(old + new), [0, 0, 0, 0, 0], [1.0, 2.0, 3.0, 4.0, 5.0]))
        assert where(pg_url) == {"points_p20261123": 2, "points_default": 1, "points_p20261203": 2}
        created, dropped = m.maintain(NOW)
        assert created == [] and dropped == ["points_p20261123", "points_p20261124"]
        assert where(pg_url) == {"points_p20261203": 2}  # the default partition's old row deleted too
        assert m.partitions() == ["points_p20261203", "points_p20261204"]
        assert store.count() == 2
    finally:
        store.close()


def test_weeks_and_months(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        PartitionManager(store, "month", ahead=1).setup(NOW)
        with psycopg.connect(pg_url) as con:
            bound = con.execute(
                "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'points_p20270101'"
            ).fetchone()
        assert bound is not None and "2027-01-01" in bound[0] and "2027-02-01" in bound[0]
    finally:
        store.close()


def test_a_plain_table_with_rows_is_refused(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        store.append(make_batch(np.array([us(NOW)]), [0], [1.0]))
        with pytest.raises(ConfigError, match="plain table that holds rows"):
            PartitionManager(store, "day").setup(NOW)
        assert store.count() == 1
    finally:
        store.close()


def test_settings(pg_url: str, tmp_path: Path) -> None:
    store = PostgresStore(pg_url)
    try:
        assert partitions_from_settings(store, Settings(data_dir=tmp_path)) is None
        m = partitions_from_settings(store, Settings(data_dir=tmp_path, pg_partition="week", retention_raw_days=90))
        assert m is not None and m.period == "week" and m.retention_days == 90
        assert len(m.partitions()) == 4  # this week and three ahead
        # A second process sets up the same database: nothing changes.
        other = PostgresStore(pg_url)
        partitions_from_settings(other, Settings(data_dir=tmp_path, pg_partition="week"))
        other.close()
        assert len(m.partitions()) == 4
    finally:
        store.close()
    with pytest.raises(ConfigError):
        PartitionManager(store, "year")  # type: ignore[arg-type]


def test_the_platform_sets_up_and_maintains_partitions(pg_url: str, tmp_path: Path) -> None:
    from twinverse.platform import Platform, example_path

    p = Platform(Settings(data_dir=tmp_path, plant=example_path(), store=pg_url, pg_partition="day",
                          pg_partitions_ahead=1, retention_raw_days=30))  # fmt: skip
    try:
        p.start()
        today = f"points_p{datetime.now(UTC):%Y%m%d}"
        assert p.partitions is not None and today in p.partitions.partitions()
        r = p.engine.ingest(make_batch(np.array([us(datetime.now(UTC))]), [0], [1.0]))
        assert r.stored == 1 and where(pg_url) == {today: 1}
    finally:
        p.stop()
