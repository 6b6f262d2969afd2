"""History export: the one use case behind ``twinverse export`` and ``GET /api/export``.

Both shells parse their input (a file name, query parameters), call :func:`export_history`
and format the outcome (a line on the console, a file download); which signals a twin's
subtree holds, how rows get their twin and signal names and which store method writes the
file is decided here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import InputError
from ..model import Plant
from .base import Exporter, ExportFormat

__all__ = ["MEDIA_TYPES", "ExportResult", "export_history", "format_for"]

#: The media type of each export format (the HTTP download's Content-Type).
MEDIA_TYPES: dict[ExportFormat, str] = {
    ExportFormat.PARQUET: "application/vnd.apache.parquet",
    ExportFormat.CSV: "text/csv",
}

_SUFFIXES = {".parquet": ExportFormat.PARQUET, ".pq": ExportFormat.PARQUET, ".csv": ExportFormat.CSV}


@dataclass(frozen=True)
class ExportResult:
    """A written export: where, in which format, how many rows."""

    path: Path
    format: ExportFormat
    rows: int

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


def format_for(path: Path) -> ExportFormat:
    """The export format a file name asks for (``.parquet``, ``.pq`` or ``.csv``).

    >>> format_for(Path("history.csv"))
    <ExportFormat.CSV: 'csv'>
    """
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: use a .parquet or .csv file name")
    return fmt


def export_history(
    store: Exporter,
    plant: Plant,
    out: Path,
    fmt: ExportFormat | None = None,
    *,
    twin: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> ExportResult:
    """Write the history of ``plant`` (``twin``'s subtree only, if given) to ``out``.

    Rows are ``(ts, twin, signal, value, quality)`` with ``start <= ts < end`` (either open);
    the format follows ``out``'s suffix unless ``fmt`` is given. An unknown ``twin`` is a
    :class:`~twinverse.errors.NotFoundError`.
    """
    fmt = fmt or format_for(out)
    signals = plant.signals
    sids = tuple(int(s) for s in signals.of_twins(plant.subtree(twin))) if twin else None
    rows = store.export(out, fmt, signals.as_table(), sids, start, end)
    return ExportResult(out, fmt, rows)
