"""``twinverse query "SELECT …"``: SQL over the twin, on the local store or a server, as a table, CSV or Parquet."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer
from rich.table import Table

from ..config import load_settings
from ..errors import InputError
from ..platform import Platform
from .output import console

__all__ = ["OutputFormat", "query", "register", "write_result"]


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    PARQUET = "parquet"
    JSON = "json"


def write_result(table: pa.Table, fmt: OutputFormat, out: Path | None, max_rows: int = 100) -> None:
    """Print ``table`` (a Rich table of at most ``max_rows`` rows, CSV, JSON lines) or write it to ``out``."""
    if fmt is OutputFormat.PARQUET:
        if out is None:
            raise InputError("--format parquet needs --out FILE")
        pq.write_table(table, str(out), compression="zstd")
    elif fmt is OutputFormat.CSV:
        if out is not None:
            pacsv.write_csv(table, str(out))
        else:
            sink = pa.BufferOutputStream()
            pacsv.write_csv(table, sink)
            sys.stdout.write(sink.getvalue().to_pybytes().decode())
    elif fmt is OutputFormat.JSON:
        import orjson

        lines = b"".join(orjson.dumps(r, default=str) + b"\n" for r in table.to_pylist())
        if out is not None:
            out.write_bytes(lines)
        else:
            sys.stdout.write(lines.decode())
    else:
        view = Table(*table.column_names)
        for row in table.slice(0, max_rows).to_pylist():
            view.add_row(*("" if v is None else str(v) for v in row.values()))
        console.print(view)
        more = f" (first {max_rows} shown)" if table.num_rows > max_rows else ""
        console.print(f"{table.num_rows} row(s){more}", markup=False)
    if out is not None:
        console.print(f"wrote {table.num_rows} rows to {out}", markup=False)


def query(
    sql: str = typer.Argument(..., help="One SELECT (DuckDB dialect) over the virtual tables; '-' reads stdin."),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, csv, json or parquet."),
    out: Path = typer.Option(None, "--out", "-o", help="Write to this file instead of the terminal."),
    url: str = typer.Option(None, "--url", help="Ask this server (http://…) instead of opening the store."),
    token: str = typer.Option(None, "--token", help="Bearer token for --url (default: $TWINVERSE_TOKEN)."),
    plant: Path = typer.Option(None, "--plant", "-p", help="Plant YAML file (or TWINVERSE_PLANT)."),
    store: str = typer.Option(None, "--store", help="duckdb, a DuckDB file, or a postgresql:// URL."),
    data_dir: Path = typer.Option(None, "--data-dir", help="Data directory (default ./data)."),
    max_rows: int = typer.Option(100, "--max-rows", min=1, help="Rows shown by --format table."),
) -> None:
    """Ask the twin in SQL: tables twins, relationships, signals, states, live, history, quarantine (docs/query.md)."""
    text = sys.stdin.read() if sql == "-" else sql
    if url:
        from ..client import Client

        with Client(url, token or os.environ.get("TWINVERSE_TOKEN")) as client:
            table = client.query(text).to_arrow()
    else:
        platform = Platform(load_settings(plant=plant, store=store, data_dir=data_dir, seal_history=False))
        try:
            table = platform.query.run(text)
        finally:
            platform.stop()
    write_result(table, fmt, out, max_rows)


def register(app: typer.Typer) -> None:
    """Add ``twinverse query`` to ``app``."""
    app.command("query")(query)
