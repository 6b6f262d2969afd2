"""Time travel: the last value of each signal at or before a past moment, in both stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinverse.config import load_settings
from twinverse.core.batch import make_batch
from twinverse.model import Plant
from twinverse.platform import Platform
from twinverse.scene import SignalSet, state_at

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
FILLER = "bottling/line1/filler"
CAPPER = "bottling/line1/capper"


def us(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


@pytest.fixture(params=["duckdb", "postgres"])
def platform(request: pytest.FixtureRequest, plant: Plant, tmp_path: Path) -> Iterator[Platform]:
    store = str(tmp_path / "h.duckdb") if request.param == "duckdb" else request.getfixturevalue("pg_url")
    p = Platform(load_settings(store=store, data_dir=tmp_path), plant=plant)
    yield p
    p.stop()


def ingest(p: Platform, rows: list[tuple[datetime, str, str, float]]) -> None:
    idx = p.plant.signals
    batch = make_batch(
        np.array([us(t) for t, _, _, _ in rows], dtype=np.int64),
        [idx.sid(tw, s) for _, tw, s, _ in rows],
        [v for _, _, _, v in rows],
    )
    result = p.engine.ingest(batch, source="test")
    assert result.accepted == len(rows)


def state_of(snap: dict[str, object], p: Platform, twin: str, signal: str = "state") -> object:
    sid = p.plant.signals.sid(twin, signal)
    sids = snap["sid"]
    assert isinstance(sids, list)
    values = snap["value"]
    assert isinstance(values, list)
    return values[sids.index(sid)]


def test_state_at_replays_the_last_state(platform: Platform) -> None:
    states = platform.plant.state_names(FILLER)
    assert states is not None
    down, running, setup = states.index("down"), states.index("running"), states.index("setup")
    ingest(platform, [
        (T0, FILLER, "state", running),
        (T0 + timedelta(minutes=10), FILLER, "state", down),
        (T0 + timedelta(minutes=25), FILLER, "state", running),
        (T0 + timedelta(minutes=5), CAPPER, "state", setup),
        (T0 + timedelta(minutes=10), FILLER, "temperature", 7.25),
    ])
    p = platform

    def at(minutes: float, **kw: object) -> dict[str, object]:
        return state_at(p.plant, p.store, T0 + timedelta(minutes=minutes), **kw)  # type: ignore[arg-type]

    assert state_of(at(-1), p, FILLER) is None  # before any data
    assert state_of(at(0), p, FILLER) == "running"  # a value exactly at the moment counts
    assert state_of(at(9.99), p, FILLER) == "running"
    assert state_of(at(10), p, FILLER) == "down"
    assert state_of(at(24), p, FILLER) == "down"
    assert state_of(at(30), p, FILLER) == "running"
    assert state_of(at(30), p, CAPPER) == "setup"
    # only state signals by default: one per machine of the plant, ascending sids
    snap = at(30)
    sids = snap["sid"]
    assert isinstance(sids, list)
    assert sids == sorted(p.plant.signals.sid(t, "state") for t in p.plant.machines())
    # a look-back shorter than the gap since the last sample finds nothing
    assert state_of(at(24, lookback=timedelta(minutes=5)), p, FILLER) is None
    assert state_of(at(24, lookback=timedelta(minutes=15)), p, FILLER) == "down"
    # every signal of one subtree
    full = at(30, within=FILLER, signals=SignalSet.ALL)
    assert full["sid"] == list(p.plant.signals.of_twin(FILLER))
    assert state_of(full, p, FILLER, "temperature") == 7.25
    assert state_of(full, p, FILLER, "speed") is None


def test_display_values_follow_signal_kinds(plant: Plant) -> None:
    idx = plant.signals
    sids = np.array(
        [idx.sid(FILLER, "state"), idx.sid("bottling/utilities/air", "running"), idx.sid(FILLER, "good_count"),
         idx.sid(FILLER, "temperature"), idx.sid(FILLER, "pressure")],
        dtype=np.int32,
    )
    values = np.array([4.0, 1.0, 1234.0, 6.5, np.nan])
    assert plant.signals.format.values(sids, values) == ["down", True, 1234, 6.5, None]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3600), st.integers(0, 6)), min_size=1, max_size=30, unique_by=lambda r: r[0]),
       st.integers(-60, 3700))
def test_state_at_matches_a_linear_scan(plant: Plant, rows: list[tuple[int, int]], probe: int) -> None:
    """Against the definition: the value of the newest sample at or before the moment."""
    p = Platform(load_settings(store=":memory:"), plant=plant)
    try:
        sid = plant.signals.sid(FILLER, "state")
        p.engine.ingest(make_batch(np.array([us(T0) + s * 1_000_000 for s, _ in rows]), [sid] * len(rows),
                                   [float(v) for _, v in rows]), source="test")
        snap = state_at(plant, p.store, T0 + timedelta(seconds=probe), within=FILLER,
                        lookback=timedelta(hours=2))
        before = [(s, v) for s, v in rows if s <= probe]
        states = plant.state_names(FILLER)
        assert states is not None
        expected = states[max(before)[1]] if before else None
        assert snap["value"] == [expected]
    finally:
        p.stop()
