"""A platform with known history on each store (DuckDB file, PostgreSQL), for the query tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from twinverse.config import Settings
from twinverse.core import make_batch
from twinverse.platform import Platform, example_path

#: History starts here (µs): 2026-11-23T00:00:00Z, a Monday; one point a minute for 2 hours.
T0_US = 1_795_392_000_000_000
MINUTES = 120
FILLER = "bottling/line1/filler"


@dataclass
class Known:
    """A platform and the exact rows it stores: ``sid``, ``ts`` (µs), ``value`` per row."""

    platform: Platform
    sid: np.ndarray  # type: ignore[type-arg]
    ts: np.ndarray  # type: ignore[type-arg]
    value: np.ndarray  # type: ignore[type-arg]


def known_rows(platform: Platform) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    """Temperatures of every twin that has one, and states of every machine: deterministic, in range."""
    idx = platform.plant.signals
    rng = np.random.default_rng(7)
    sids, ts, vals = [], [], []
    minutes = T0_US + np.arange(MINUTES, dtype=np.int64) * 60_000_000
    for sid in range(len(idx)):
        sig = idx.signal[sid]
        if sig.name == "temperature":
            lo, hi = idx.lo[sid], min(idx.hi[sid], 95.0)
            v = np.round(rng.uniform(max(lo, 20.0), hi, MINUTES), 2)
        elif sig.name == "state" and sig.states:
            v = rng.integers(0, len(sig.states), MINUTES).astype(np.float64)
        else:
            continue
        sids.append(np.full(MINUTES, sid, dtype=np.int32))
        ts.append(minutes)
        vals.append(v)
    return np.concatenate(sids), np.concatenate(ts), np.concatenate(vals)


def build(tmp: Path, store: str, **settings: object) -> Known:
    platform = Platform(Settings(data_dir=tmp, plant=example_path(), store=store, seal_history=False, **settings))
    sid, ts, value = known_rows(platform)
    order = np.lexsort((ts, sid))
    result = platform.engine.ingest(make_batch(ts[order], sid[order], value[order]))
    assert result.rejected == 0 and result.stored == len(sid)
    return Known(platform, sid, ts, value)


@pytest.fixture(params=["duckdb", "postgresql"])
def known(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Known]:
    """The example plant with known history, on DuckDB and on PostgreSQL."""
    if request.param == "duckdb":
        k = build(tmp_path, str(tmp_path / "history.duckdb"))
    else:
        k = build(tmp_path, request.getfixturevalue("pg_url"))
    yield k
    k.platform.stop()


@pytest.fixture
def duck(tmp_path: Path) -> Iterator[Known]:
    """The example plant with known history on a DuckDB file."""
    k = build(tmp_path, str(tmp_path / "history.duckdb"))
    yield k
    k.platform.stop()
