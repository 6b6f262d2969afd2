"""Export of history to Parquet and CSV, checked by reading the files back (both stores)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from twinverse.core.batch import TS_TYPE
from twinverse.errors import StoreError
from twinverse.store import ExportFormat, Store

from . import test_store as suite
from .test_store import T0, S, at, grid, sorted_batch

# The same parametrised fixtures as the store suite: every test runs on DuckDB and PostgreSQL.
open_store = suite.open_store
store = suite.store

EXPORT_SCHEMA = pa.schema(
    [("ts", TS_TYPE), ("twin", pa.string()), ("signal", pa.string()), ("value", pa.float64()), ("quality", pa.uint8())]
)
# Names deliberately not in sid order: the export is ordered by twin, signal, ts.
NAMES = pa.table(
    {
        "sid": pa.array([0, 1, 2], pa.int32()),
        "twin": ["plant/b", "plant/a", "plant/a"],
        "signal": ["speed", "temp", "power"],
    }
)


def expected(
    sid: npt.NDArray[np.int32],
    ts: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    q: npt.NDArray[np.uint8],
    keep: npt.NDArray[np.bool_],
) -> pa.Table:
    """What an export of the kept rows must contain, computed from the inputs."""
    lookup = dict(
        zip(
            NAMES.column("sid").to_pylist(),
            zip(NAMES.column("twin").to_pylist(), NAMES.column("signal").to_pylist(), strict=True),
            strict=True,
        )
    )
    names = [lookup[int(s)] for s in sid[keep]]
    t = pa.table(
        {
            "ts": pa.array(ts[keep]).cast(TS_TYPE),
            "twin": [n[0] for n in names],
            "signal": [n[1] for n in names],
            "value": value[keep],
            "quality": pa.array(q[keep]),
        },
        schema=EXPORT_SCHEMA,
    )
    return t.sort_by([("twin", "ascending"), ("signal", "ascending"), ("ts", "ascending")])


def read(path: Path, fmt: ExportFormat) -> pa.Table:
    if fmt is ExportFormat.PARQUET:
        return pq.read_table(path).cast(EXPORT_SCHEMA)
    opts = pacsv.ConvertOptions(column_types={"ts": TS_TYPE, "quality": pa.uint8(), "value": pa.float64()})
    return pacsv.read_csv(path, convert_options=opts).cast(EXPORT_SCHEMA)


Columns = tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.uint8]]
Filled = tuple[Store, Columns]


@pytest.fixture
def filled(store: Store) -> Filled:
    """A store holding three signals × 40 ticks, and the columns that went in."""
    sid, ts, value = grid(3, 40)
    q = (np.arange(len(sid)) % 3).astype(np.uint8)
    store.append(sorted_batch(sid, ts, value, q))
    return store, (sid, ts, value, q)


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_export_round_trip(filled: Filled, tmp_path: Path, fmt: ExportFormat) -> None:
    store, (sid, ts, value, q) = filled
    path = tmp_path / f"all.{fmt.value}"
    assert store.export(path, fmt, NAMES) == len(sid)
    assert read(path, fmt).equals(expected(sid, ts, value, q, np.ones(len(sid), bool)))


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_export_selects_signals_and_time_range(filled: Filled, tmp_path: Path, fmt: ExportFormat) -> None:
    store, (sid, ts, value, q) = filled
    path = tmp_path / f"part.{fmt.value}"
    start, end = T0 + 5 * S, T0 + 25 * S  # start inclusive, end exclusive
    n = store.export(path, fmt, NAMES, sids=(0, 2), start=at(start), end=at(end))
    keep = np.isin(sid, [0, 2]) & (ts >= start) & (ts < end)
    assert n == int(keep.sum())
    assert read(path, fmt).equals(expected(sid, ts, value, q, keep))


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_export_leaves_out_signals_without_names(filled: Filled, tmp_path: Path, fmt: ExportFormat) -> None:
    store, (sid, ts, value, q) = filled
    path = tmp_path / f"named.{fmt.value}"
    n = store.export(path, fmt, NAMES.filter(pa.array([True, False, True])))
    keep = sid != 1
    assert n == int(keep.sum())  # the count is of rows written, not rows stored
    assert read(path, fmt).equals(expected(sid, ts, value, q, keep))


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_empty_export_writes_a_readable_file(store: Store, tmp_path: Path, fmt: ExportFormat) -> None:
    path = tmp_path / f"empty.{fmt.value}"
    assert store.export(path, fmt, NAMES) == 0
    if fmt is ExportFormat.PARQUET:
        back = pq.read_table(path)
        assert back.num_rows == 0 and back.schema.names == EXPORT_SCHEMA.names
    else:
        assert path.read_text().splitlines()[0].replace('"', "") == ",".join(EXPORT_SCHEMA.names)


def test_export_to_a_missing_directory_is_a_store_error(filled: Filled, tmp_path: Path) -> None:
    store, _ = filled
    with pytest.raises(StoreError, match="export failed"):
        store.export(tmp_path / "no" / "such" / "dir" / "x.parquet", ExportFormat.PARQUET, NAMES)


@pytest.mark.postgres
def test_postgres_export_pages_through_long_histories(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows leave PostgreSQL in pages; the page seams must not lose or repeat a row."""
    from twinverse.store import postgres

    monkeypatch.setattr(postgres, "_EXPORT_PAGE", 7)
    s = postgres.PostgresStore(pg_url)
    try:
        sid, ts, value = grid(3, 30)
        q = np.zeros(len(sid), np.uint8)
        s.append(sorted_batch(sid, ts, value, q))
        path = tmp_path / "paged.parquet"
        assert s.export(path, ExportFormat.PARQUET, NAMES) == 90
        assert read(path, ExportFormat.PARQUET).equals(expected(sid, ts, value, q, np.ones(90, bool)))
    finally:
        s.close()
