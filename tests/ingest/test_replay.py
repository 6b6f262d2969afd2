"""Replay of recorded series: the NAB machine-temperature file, pacing, units and bad files."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from twinverse.errors import InputError, NotFoundError
from twinverse.ingest import ReplayConnector, read_series
from twinverse.live import Engine
from twinverse.model import Plant
from twinverse.store import DuckDBStore, HistoryQuery

FILLER = "bottling/line1/filler"


def us(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1_000_000)


def nab_rows(nab_csv: Path) -> list[tuple[int, float]]:
    with nab_csv.open() as f:
        return [(us(r["timestamp"]), float(r["value"])) for r in csv.DictReader(f)]


@pytest.fixture
def engine(plant: Plant, tmp_path: Path) -> Iterator[Engine]:
    store = DuckDBStore(tmp_path / "replay.duckdb")
    yield Engine(plant, store)
    store.close()


def test_read_nab(nab_csv: Path) -> None:
    ts, v = read_series(nab_csv)
    rows = nab_rows(nab_csv)
    assert len(ts) == len(v) == 2000 == len(rows)
    assert ts[0] == us("2013-12-02T21:15:00") and v[0] == 73.96732207
    assert ts[-1] == us("2013-12-09T19:50:00") and v[-1] == 60.91248286
    assert ts.tolist() == [t for t, _ in rows]
    assert v.tolist() == [x for _, x in rows]
    assert (np.diff(ts) == 300_000_000).all()  # 5-minute samples


def test_read_parquet_and_epoch_ms(tmp_path: Path) -> None:
    p = tmp_path / "s.parquet"
    pq.write_table(pa.table({"t": pa.array([1_700_000_001_000, 1_700_000_000_000]), "v": [2.0, 1.0]}), p)
    ts, v = read_series(p, "t", "v")
    assert ts.tolist() == [1_700_000_000_000_000, 1_700_000_001_000_000]  # numbers are ms; sorted by time
    assert v.tolist() == [1.0, 2.0]
    p2 = tmp_path / "tz.parquet"
    stamps = pa.array([datetime(2024, 1, 1, tzinfo=UTC)], pa.timestamp("ns", tz="UTC"))
    pq.write_table(pa.table({"timestamp": stamps, "value": [3.5]}), p2)
    assert read_series(p2)[0].tolist() == [us("2024-01-01T00:00:00")]


def test_speed_zero_covers_all_rows_in_order(plant: Plant, nab_csv: Path) -> None:
    conn = ReplayConnector(plant, nab_csv, FILLER, "temperature", speed=0, batch_rows=300)
    pairs = list(conn.batches())
    assert [due for due, _ in pairs] == [0.0] * 7
    assert [b.num_rows for _, b in pairs] == [300] * 6 + [200]
    table = pa.Table.from_batches([b for _, b in pairs])
    rows = nab_rows(nab_csv)
    assert table.column("ts").cast(pa.int64()).to_pylist() == [t for t, _ in rows]
    assert table.column("value").to_pylist() == [v for _, v in rows]
    assert set(table.column("sid").to_pylist()) == {plant.signals.sid(FILLER, "temperature")}


@pytest.mark.parametrize("speed", [600.0, 60_000.0])
def test_speed_factor_schedules_offset_over_speed(plant: Plant, speed: float, nab_csv: Path) -> None:
    conn = ReplayConnector(plant, nab_csv, FILLER, "temperature", speed=speed)
    pairs = list(conn.batches())
    ts0 = us("2013-12-02T21:15:00")
    table = pa.Table.from_batches([b for _, b in pairs])
    assert table.num_rows == 2000
    assert table.column("ts").cast(pa.int64()).to_pylist() == [t for t, _ in nab_rows(nab_csv)]
    for due, batch in pairs:
        first = batch.column("ts").cast(pa.int64())[0].as_py()
        assert due == pytest.approx((first - ts0) / 1e6 / speed, abs=1e-9)
    dues = [d for d, _ in pairs]
    assert dues == sorted(dues)
    if speed == 600.0:  # 300 s per row / 600 = 0.5 s apart: one row per batch
        assert len(pairs) == 2000 and dues[-1] == pytest.approx(1999 * 0.5)
    else:  # 5 ms per row: batches gather the rows of each 50 ms of wall time
        assert len(pairs) < 2000 / 5
        assert dues[-1] == pytest.approx(1999 * 0.005, abs=0.05)


def test_rebase_moves_the_first_row_to_now(plant: Plant, nab_csv: Path) -> None:
    conn = ReplayConnector(plant, nab_csv, FILLER, "temperature", speed=0, rebase=True)
    now = 1_800_000_000_000_000
    (_due, batch), *_ = list(conn.batches(now_us=now))
    ts = batch.column("ts").cast(pa.int64()).to_pylist()
    assert ts[0] == now and ts[1] == now + 300_000_000


def test_run_paces_and_delivers_everything(plant: Plant, tmp_path: Path) -> None:
    f = tmp_path / "short.csv"
    f.write_text("timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:00:01,2\n2024-01-01 00:00:02,3\n")
    got: list[float] = []
    counted: list[int] = []
    conn = ReplayConnector(plant, f, FILLER, "temperature", speed=40, on_batch=counted.append)
    assert conn.run(lambda b: got.extend(b.column("value").to_pylist())) == 3
    assert got == [1.0, 2.0, 3.0]
    assert sum(counted) == 3 and conn.sent == 3
    assert conn.describe() == f"replay short.csv → {FILLER}.temperature (3 rows, at 40x)"


def test_degf_to_degc_through_the_engine(plant: Plant, engine: Engine, nab_csv: Path) -> None:
    conn = ReplayConnector(plant, nab_csv, FILLER, "temperature", speed=0, unit="degF")
    results = [engine.ingest(b, source="replay") for _, b in conn.batches()]
    assert sum(r.accepted for r in results) == 2000
    assert sum(r.rejected for r in results) == 0
    sid = plant.signals.sid(FILLER, "temperature")
    hist = engine.store.history(HistoryQuery((sid,)))
    rows = nab_rows(nab_csv)
    expected = [(f - 32) * 5 / 9 for _, f in rows]
    np.testing.assert_allclose(hist.column("value").to_numpy(), expected, rtol=1e-12, atol=1e-12)
    assert hist.column("value")[0].as_py() == pytest.approx((73.96732207 - 32) * 5 / 9, rel=1e-12)
    assert engine.value[sid] == pytest.approx((60.91248286 - 32) * 5 / 9, rel=1e-12)


def test_rows_outside_the_range_are_quarantined(plant: Plant, engine: Engine, nab_csv: Path) -> None:
    """Played without its unit, the °F series exceeds the filler's 90 °C limit in 129 rows."""
    conn = ReplayConnector(plant, nab_csv, FILLER, "temperature", speed=0)
    for _, b in conn.batches():
        engine.ingest(b, source="replay:nab")
    v = np.array([x for _, x in nab_rows(nab_csv)])
    assert engine.stats()["rejected"] == int((v > 90).sum()) == 129
    assert engine.store.count() == 2000 - 129
    q = engine.store.quarantine(limit=1000)
    assert q.num_rows == 129
    reasons = set(q.column("reason").to_pylist())
    assert all(r.startswith("value out of range: ") and r.endswith(" not in [-10, 90]") for r in reasons)
    assert set(q.column("twin").to_pylist()) == {FILLER}
    assert set(q.column("signal").to_pylist()) == {"temperature"}
    assert set(q.column("source").to_pylist()) == {"replay:nab"}
    assert sorted(float(x) for x in q.column("value").to_pylist()) == sorted(v[v > 90].tolist())


def test_start_stop_as_a_connector(plant: Plant, engine: Engine, nab_csv: Path) -> None:
    conn = ReplayConnector(plant, nab_csv, FILLER, "temperature", speed=0, unit="degF")
    conn.start(engine)
    assert conn._thread is not None
    conn._thread.join(120)  # speed 0: plays the whole file, then the thread ends
    conn.stop()
    assert not conn._thread.is_alive()
    assert conn.sent == engine.store.count() == 2000
    assert engine.stats()["rejected"] == 0


# -- bad files and arguments -------------------------------------------------------------------
def test_missing_column(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("time,value\n2024-01-01 00:00:00,1\n")
    with pytest.raises(InputError, match=r"x.csv: no column 'timestamp' \(columns: time, value\)"):
        read_series(f)


def test_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_series(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="no such file"):
        read_series(tmp_path)


def test_unreadable_contents(tmp_path: Path) -> None:
    bad_value = tmp_path / "v.csv"
    bad_value.write_text("timestamp,value\n2024-01-01 00:00:00,abc\n")
    with pytest.raises(InputError, match=r"v\.csv: cannot read column types"):
        read_series(bad_value)
    bad_ts = tmp_path / "t.csv"
    bad_ts.write_text("timestamp,value\n2024-01-01 00:00:00,1\ngarbage,2\n")
    with pytest.raises(InputError, match=r"t\.csv: cannot read column types"):
        read_series(bad_ts)
    no_ts = tmp_path / "n.csv"
    no_ts.write_text("timestamp,value\n2024-01-01 00:00:00,1\n,2\n")
    with pytest.raises(InputError, match=r"n.csv: 1 rows have no 'timestamp' \(first: data row 2\)"):
        read_series(no_ts)
    not_parquet = tmp_path / "p.parquet"
    not_parquet.write_text("hello")
    with pytest.raises(InputError, match=r"p\.parquet: cannot read"):
        read_series(not_parquet)


def test_bad_arguments(plant: Plant, nab_csv: Path) -> None:
    with pytest.raises(InputError, match="speed must be >= 0"):
        ReplayConnector(plant, nab_csv, FILLER, "temperature", speed=-1)
    with pytest.raises(NotFoundError, match="no twin 'nope'"):
        ReplayConnector(plant, nab_csv, "nope", "temperature")
    with pytest.raises(NotFoundError, match="has no signal 'nope'"):
        ReplayConnector(plant, nab_csv, FILLER, "nope")
