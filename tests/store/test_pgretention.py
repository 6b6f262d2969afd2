"""Retention per signal class on a real PostgreSQL: shorter classes' rows deleted, the longest left to partitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest

from twinverse.config import Settings
from twinverse.core import make_batch
from twinverse.model import loads_plant
from twinverse.platform import Platform
from twinverse.store.retention import RetentionPolicy

PLANT = """\
plant: kiln
retention:
  telemetry: {raw: 30d, rollups: 2y}
types:
  kiln:
    retention: telemetry
    signals:
      temperature: {unit: degC}
      vibration: {unit: mm/s, retention: {raw: 7d}}
      counter: {kind: int, retention: {raw: forever}}
twins:
  - {id: k1, type: kiln}
"""


def us(t: datetime) -> int:
    return int(t.timestamp() * 1e6)


def test_shorter_classes_are_deleted_and_partitions_keep_the_longest(pg_url: str, tmp_path: Path) -> None:
    plant = loads_plant(PLANT.replace("counter: {kind: int, retention: {raw: forever}}",
                                      "counter: {kind: int, retention: {raw: 60d, rollups: 2y}}"))
    settings = Settings(data_dir=tmp_path, store=pg_url, pg_partition="day", retention_raw_days=10,
                        seal_history=False, rollup_every=0)  # fmt: skip
    p = Platform(settings, plant)
    try:
        # Partitions are dropped only past the longest class (60 d: the counter's), not the default's.
        assert p.partitions is not None and p.partitions.retention_days == 60
        assert p.keeper is not None
        now = datetime.now(UTC)
        sid = {n: p.plant.signals.get("kiln/k1", n) for n in ("temperature", "vibration", "counter")}
        ages = [1, 10, 40]  # days ago
        ts, sids = [], []
        for name in sid:
            for d in ages:
                ts.append(us(now - timedelta(days=d)))
                sids.append(sid[name])
        p.store.append(make_batch(np.array(ts), sids, np.arange(len(ts), dtype=float)))
        done = p.keeper.run_once()
        # vibration (7 d) loses 10 and 40 days; temperature (30 d) loses 40; counter (60 d) keeps all.
        assert done["raw_rows"] == 3, done
        with psycopg.connect(pg_url) as con:
            left = con.execute("SELECT sid, count(*) FROM points GROUP BY sid ORDER BY sid").fetchall()
        assert dict(left) == {sid["temperature"]: 2, sid["vibration"]: 1, sid["counter"]: 3}
        assert p.keeper.run_once()["raw_rows"] == 0  # nothing more to do
    finally:
        p.stop()


def test_a_uniform_plant_needs_no_job_on_postgres(pg_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, store=pg_url, retention_raw_days=10, seal_history=False, rollup_every=0)
    text = "plant: a\ntypes:\n  t:\n    signals: {x: {unit: degC}}\ntwins:\n  - {id: m, type: t}\n"
    p = Platform(settings, loads_plant(text))
    try:
        assert p.keeper is None  # partitions (when on) do it all
    finally:
        p.stop()


def test_longest_and_uniform() -> None:
    from twinverse.store.pgretention import longest_days, uniform

    day = 86_400.0
    varied = RetentionPolicy(np.array([7 * day, 30 * day]), np.array([730 * day, 730 * day]), 60 * day, 730 * day)
    assert (longest_days(varied, False), longest_days(varied, True), uniform(varied)) == (30.0, 730.0, False)
    forever = RetentionPolicy(np.array([7 * day, 0.0]), np.array([0.0, 0.0]))
    assert (longest_days(forever, False), uniform(forever)) == (0.0, False)
    assert uniform(RetentionPolicy(np.array([day, day]), np.array([0.0, 0.0])))


@pytest.mark.parametrize("text", [PLANT])
def test_forever_keeps_partitions(pg_url: str, tmp_path: Path, text: str) -> None:
    settings = Settings(data_dir=tmp_path, store=pg_url, pg_partition="day", retention_raw_days=60,
                        seal_history=False, rollup_every=0)  # fmt: skip
    p = Platform(settings, loads_plant(text))
    try:
        assert p.partitions is not None and p.partitions.retention_days == 0  # counter keeps for ever
    finally:
        p.stop()
