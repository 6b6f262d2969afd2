"""The DuckDB store's staging file: new rows are durable once synced there, and every read sees them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from twinverse.core import make_batch
from twinverse.errors import ConfigError
from twinverse.store.base import HistoryQuery
from twinverse.store.duckdb import DuckDBStore, open_duckdb
from twinverse.store.staging import StagingLog, recover

T0 = 1_765_000_000_000_000  # µs


def _batch(k: int, n: int = 10, value: float = 1.0) -> pa.RecordBatch:
    """``n`` signals, one point each at ``T0 + k`` seconds."""
    return make_batch(np.full(n, T0 + k * 1_000_000), np.arange(n, dtype=np.int32), np.full(n, value + k))


def _rows(t: pa.Table | pa.RecordBatch) -> list[tuple[int, int, float]]:
    ts = t.column("ts").cast(pa.int64()).to_pylist()
    return sorted(zip(t.column("sid").to_pylist(), ts, t.column("value").to_pylist(), strict=True))


def test_records_come_back_and_a_torn_tail_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "s.staged"
    log = StagingLog(path)
    batches = [_batch(k, n=3 + k) for k in range(4)]
    for b in batches:
        log.append(b)
    assert log.rows == sum(b.num_rows for b in batches)
    log.close()
    got = recover(path)
    assert [_rows(b) for b in got] == [_rows(b) for b in batches]
    whole = path.read_bytes()
    path.write_bytes(whole[:-5])  # the last record cut short (a crash during its write)
    assert [_rows(b) for b in recover(path)] == [_rows(b) for b in batches[:3]]
    damaged = bytearray(whole)
    damaged[len(whole) // 2] ^= 0xFF  # a flipped byte inside a middle record: it and what follows are not read
    path.write_bytes(bytes(damaged))
    assert 0 < len(recover(path)) < 4
    assert recover(tmp_path / "none.staged") == []


def test_reads_see_staged_rows_and_late_rows_are_checked_against_them(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "h.duckdb")
    assert store.append(_batch(0)) == 10 and store.append(_batch(1)) == 10
    assert (tmp_path / "h.duckdb.staged").stat().st_size > 0  # still staged
    q = HistoryQuery(sids=(3,), start=datetime.fromtimestamp(T0 / 1e6 - 1, UTC), end=None)
    assert [r[2] for r in _rows(store.history(q))] == [1.0, 2.0]
    assert store.count() == 20
    assert (tmp_path / "h.duckdb.staged").stat().st_size == 0  # the read moved them
    store.append(_batch(2))
    # a redelivery of the staged batch plus ten new rows (sorted by sid, ts): only the new ones count
    sid = np.repeat(np.arange(10, dtype=np.int32), 2)
    ts = np.tile([T0 + 2_000_000, T0 + 3_000_000], 10)
    assert store.append(make_batch(ts, sid, np.tile([3.0, 4.0], 10))) == 10
    assert store.count() == 40
    store.close()
    reopened = DuckDBStore(tmp_path / "h.duckdb")
    assert reopened.count() == 40
    reopened.close()


_CRASH = """
import os, sys
import numpy as np
from twinverse.core import make_batch
from twinverse.store.duckdb import DuckDBStore
store = DuckDBStore(sys.argv[1])
for k in range(50):
    n = store.append(make_batch(np.full(4, {t0} + k * 1_000_000), np.arange(4, dtype=np.int32), np.full(4, float(k))))
    assert n == 4
print(os.path.getsize(sys.argv[1] + ".staged"), flush=True)
os._exit(0)  # no close, nothing flushed: as a SIGKILL would leave it
"""


def test_rows_acknowledged_before_a_crash_are_in_the_store_after_it(tmp_path: Path) -> None:
    path = tmp_path / "h.duckdb"
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(_CRASH.format(t0=T0)), str(path)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert int(out.stdout) > 0, "the rows should still have been staged at the crash"
    store = DuckDBStore(path)
    got = _rows(store.history(HistoryQuery(sids=(0, 1, 2, 3), start=None, end=None)))
    assert len(got) == 200 and {v for _, _, v in got} == {float(k) for k in range(50)}
    assert (tmp_path / "h.duckdb.staged").stat().st_size == 0  # taken in, then emptied
    store.close()
    # a second restart takes nothing in twice
    store = DuckDBStore(path)
    assert store.count() == 200
    store.close()


def test_staging_can_be_turned_off_in_the_url(tmp_path: Path) -> None:
    store = open_duckdb(f"duckdb:///{tmp_path}/h.duckdb?staging=off")
    store.append(_batch(0))
    assert not (tmp_path / "h.duckdb.staged").exists()
    store.close()
    with pytest.raises(ConfigError, match="staging"):
        open_duckdb(f"duckdb:///{tmp_path}/h.duckdb?staging=maybe")


def test_the_oldest_staged_row_waits_at_most_stage_seconds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import twinverse.store.duckdb as mod

    monkeypatch.setattr(mod, "STAGE_SECONDS", 0.0)  # every append moves what is staged
    store = DuckDBStore(tmp_path / "h.duckdb")
    store.append(_batch(0))
    assert (tmp_path / "h.duckdb.staged").stat().st_size == 0
    monkeypatch.setattr(mod, "STAGE_SECONDS", 3600.0)
    monkeypatch.setattr(mod, "STAGE_ROWS", 25)
    store.append(_batch(1))
    store.append(_batch(2))
    assert (tmp_path / "h.duckdb.staged").stat().st_size > 0
    store.append(_batch(3))  # 30 staged ≥ 25: moved
    assert (tmp_path / "h.duckdb.staged").stat().st_size == 0
    assert store.count() == 40 and store.earliest() == datetime.fromtimestamp(T0 / 1e6, UTC)
    assert store.earliest(datetime.fromtimestamp(T0 / 1e6, UTC) + timedelta(seconds=2)) is not None
    store.close()
