"""The export service (twinverse/store/export.py): what CLI and API both call."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from twinverse.errors import InputError, NotFoundError
from twinverse.model import Plant
from twinverse.store import ExportFormat, export_history
from twinverse.store.export import MEDIA_TYPES, format_for


class Recorder:
    """A store that records the export it was asked for and reports 7 rows."""

    def __init__(self) -> None:
        self.calls: list[tuple[Path, ExportFormat, pa.Table, tuple[int, ...] | None, object, object]] = []

    def export(
        self,
        path: Path,
        fmt: ExportFormat,
        names: pa.Table,
        sids: tuple[int, ...] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> int:
        self.calls.append((path, fmt, names, sids, start, end))
        return 7


def test_a_twin_exports_its_subtree_with_names(plant: Plant, tmp_path: Path) -> None:
    store = Recorder()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    result = export_history(store, plant, tmp_path / "h.csv", twin="bottling/line1/filler", start=t0)
    assert (result.rows, result.format, result.media_type) == (7, ExportFormat.CSV, "text/csv")
    path, fmt, names, sids, start, end = store.calls[0]
    assert (path, fmt, start, end) == (tmp_path / "h.csv", ExportFormat.CSV, t0, None)
    expected = sorted(int(s) for t in plant.subtree("bottling/line1/filler") for s in plant.signals.of_twin(t))
    assert sids == tuple(expected) and len(expected) > 0
    assert names.column_names[:3] == ["sid", "twin", "signal"] and names.num_rows == len(plant.signals)


def test_no_twin_exports_everything_and_format_overrides_the_suffix(plant: Plant, tmp_path: Path) -> None:
    store = Recorder()
    result = export_history(store, plant, tmp_path / "download", ExportFormat.PARQUET)
    assert store.calls[0][3] is None
    assert result.media_type == MEDIA_TYPES[ExportFormat.PARQUET] == "application/vnd.apache.parquet"


def test_unknown_twin_and_suffix_are_input_errors(plant: Plant, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        export_history(Recorder(), plant, tmp_path / "h.parquet", twin="bottling/nope")
    with pytest.raises(InputError, match=r"h\.xlsx: use a \.parquet or \.csv file name$"):
        format_for(tmp_path / "h.xlsx")
    assert format_for(Path("a.PQ")) is ExportFormat.PARQUET
