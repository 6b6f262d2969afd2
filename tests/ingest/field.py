"""What the field-connector tests (Modbus, OPC UA) share: engines on DuckDB files, a source started from a plant."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from twinverse.ingest.spec import build_field_sources
from twinverse.live.engine import Engine
from twinverse.model import Plant
from twinverse.store.duckdb import DuckDBStore

S = TypeVar("S")


def wait_until(pred: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll until ``pred()``; fail naming ``what`` if it never happens (a deadline, not a speed check)."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def engines(tmp_path: Path) -> Iterator[Callable[[Plant], Engine]]:
    """A factory of engines, each on its own DuckDB file; all closed afterwards."""
    made: list[Engine] = []

    def make(plant: Plant) -> Engine:
        e = Engine(plant, DuckDBStore(tmp_path / f"s{len(made)}.duckdb"))
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()
        e.store.close()


def start_source(plant: Plant, engine: Engine, kind: type[S]) -> S:
    """The plant's one field source, checked to be a ``kind``, started on ``engine``."""
    [source] = build_field_sources(plant)
    assert isinstance(source, kind)
    source.start(engine)  # type: ignore[attr-defined]
    return source
