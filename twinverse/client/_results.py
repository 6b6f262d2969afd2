"""Tabular answers of the client: Arrow first, pandas on request."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

__all__ = ["Result", "arrow_from_ipc", "arrow_to_ipc", "table_from_data"]


@dataclass(frozen=True)
class Result:
    """A table the server answered with: ``to_arrow()``, ``to_pandas()``, ``rows()``."""

    table: pa.Table

    def to_arrow(self) -> pa.Table:
        """The answer as an Arrow table (no copy)."""
        return self.table

    def to_pandas(self) -> Any:
        """The answer as a pandas DataFrame (needs pandas: ``pip install 'twinverse[pandas]'``)."""
        return self.table.to_pandas()

    def rows(self) -> list[dict[str, Any]]:
        """The answer as a list of dicts, one per row."""
        out: list[dict[str, Any]] = self.table.to_pylist()
        return out

    def __len__(self) -> int:
        return int(self.table.num_rows)


def arrow_from_ipc(data: bytes) -> pa.Table:
    """An Arrow IPC stream's table."""
    return pa.ipc.open_stream(io.BytesIO(data)).read_all()


def arrow_to_ipc(table: pa.Table) -> bytes:
    """An Arrow table as an IPC stream (what ``POST /api/ingest`` reads)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def table_from_data(data: Any) -> pa.Table:
    """An Arrow table from an Arrow table or batch, or a pandas DataFrame."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # a pandas DataFrame
        return pa.Table.from_pandas(data, preserve_index=False)
    raise TypeError(f"ingest takes an Arrow table or a pandas DataFrame, not {type(data).__name__}")
