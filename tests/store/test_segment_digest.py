"""``Store.segment_digest`` and ``Store.earliest``: the canonical segment encoding, on both stores.

The reference digest here packs every row with :mod:`struct` in pure Python, independently
of the NumPy record layout the stores use; a DuckDB file and a PostgreSQL database holding
the same rows must both agree with it, byte for byte.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import struct
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinverse.core import make_batch
from twinverse.store import DuckDBStore, Store
from twinverse.store.base import SEGMENT_RECORD, SegmentHasher

T0 = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z in µs
S = 1_000_000
DOCS = Path(__file__).parents[2] / "docs" / "trust.md"
EMPTY = hashlib.sha256(b"").hexdigest()

Opener = Callable[[], Store]


def at(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "duckdb":
        s: Store = DuckDBStore(tmp_path / "history.duckdb")
    else:
        from twinverse.store.postgres import PostgresStore

        s = PostgresStore(request.getfixturevalue("pg_url"))
    yield s
    s.close()


@pytest.fixture
def both(tmp_path: Path, pg_url: str) -> Iterator[tuple[Store, Store]]:
    """A DuckDB file and a PostgreSQL database, to be filled with the same rows."""
    from twinverse.store.postgres import PostgresStore

    d, p = DuckDBStore(tmp_path / "history.duckdb"), PostgresStore(pg_url)
    yield d, p
    d.close()
    p.close()


def reference(
    sid: npt.NDArray[np.int32],
    ts: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    quality: npt.NDArray[np.uint8],
    start: int,
    end: int,
) -> tuple[int, str]:
    """twinverse-seg-v1 by the letter of its definition: struct-packed rows in (sid, ts) order."""
    h = hashlib.sha256()
    keep = sorted(
        (int(s), int(t), float(v), int(q))
        for s, t, v, q in zip(sid, ts, value, quality, strict=True)
        if start <= t < end
    )
    for s, t, v, q in keep:
        h.update(struct.pack("<iqdB", s, t, float("nan") if v != v else v, q))
    return len(keep), h.hexdigest()


def random_rows(
    rng: np.random.Generator, n: int, span_us: int, nsid: int = 8
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.uint8]]:
    """Unique (sid, ts) rows sorted as the engine hands them over, with awkward values mixed in."""
    sid = rng.integers(0, nsid, n).astype(np.int32)
    ts = T0 + rng.integers(0, span_us, n)
    key = np.unique(np.stack([sid.astype(np.int64), ts]), axis=1)
    sid, ts = key[0].astype(np.int32), key[1].astype(np.int64)
    value = rng.normal(0, 1e6, len(sid))
    special = np.array([-0.0, 0.0, np.inf, -np.inf, np.nan, 5e-324, -1.7976931348623157e308])
    pick = rng.random(len(sid)) < 0.05
    value[pick] = rng.choice(special, int(pick.sum()))
    quality = rng.integers(0, 256, len(sid)).astype(np.uint8)
    return sid, ts, value, quality


def fill(
    stores: tuple[Store, ...],
    sid: npt.NDArray[np.int32],
    ts: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    quality: npt.NDArray[np.uint8],
    parts: int = 3,
) -> None:
    """Append in a few batches (each sorted by sid, ts, as the engine guarantees)."""
    for idx in np.array_split(np.arange(len(sid)), parts):
        order = idx[np.lexsort((ts[idx], sid[idx]))]
        batch = make_batch(ts[order], sid[order], value[order], quality[order])
        for s in stores:
            s.append(batch)


def test_the_docs_example_is_the_encoding() -> None:
    """docs/trust.md shows the record of one row and its digest: both follow from the definition."""
    text = DOCS.read_text()
    example = re.search(
        r"sid 1, ts 1 s \(1970-01-01T00:00:01Z\), value 1\.0, quality 0 encodes as\s+`([0-9a-f ]+)`", text
    )
    digest = re.search(r"whose SHA-256 is\s+`([0-9a-f]{64})`", text)
    assert example is not None and digest is not None, "the Sealed history section lost its worked example"
    packed = struct.pack("<iqdB", 1, S, 1.0, 0)
    assert bytes.fromhex(example.group(1).replace(" ", "")) == packed
    assert digest.group(1) == hashlib.sha256(packed).hexdigest()
    assert SEGMENT_RECORD.itemsize == len(packed) == 21
    h = SegmentHasher()
    h.update(np.array([1]), np.array([S]), np.array([1.0]), np.array([0]))
    assert h.result() == (1, hashlib.sha256(packed).hexdigest())


def test_store_digest_of_one_row_matches_the_docs_example(store: Store) -> None:
    store.append(make_batch([S], [1], [1.0], [0]))
    assert store.segment_digest(at(0), at(2 * S)) == (1, hashlib.sha256(struct.pack("<iqdB", 1, S, 1.0, 0)).hexdigest())


def test_empty_store_and_empty_ranges(store: Store) -> None:
    assert store.segment_digest(at(T0), at(T0 + 600 * S)) == (0, EMPTY)
    assert store.earliest() is None and store.earliest(at(T0)) is None
    store.append(make_batch([T0 + 10 * S], [3], [2.5], [1]))
    assert store.segment_digest(at(T0), at(T0 + 10 * S)) == (0, EMPTY)  # end is exclusive
    assert store.segment_digest(at(T0 + 10 * S), at(T0 + 10 * S + 1))[0] == 1  # start is inclusive
    assert store.segment_digest(at(T0 + 10 * S + 1), at(T0 + 20 * S)) == (0, EMPTY)


def test_digest_matches_the_reference_on_random_rows(store: Store) -> None:
    rng = np.random.default_rng(7)
    sid, ts, value, quality = random_rows(rng, 5000, 3600 * S)
    fill((store,), sid, ts, value, quality)
    for lo, hi in [(0, 3600), (0, 600), (600, 1200), (1799, 1801), (3599, 7200), (-60, 1)]:
        start, end = T0 + lo * S, T0 + hi * S
        assert store.segment_digest(at(start), at(end)) == reference(sid, ts, value, quality, start, end)


def test_digest_is_the_same_across_chunk_boundaries(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny read chunks (PostgreSQL: 7 rows, not a divisor of anything) change nothing."""
    rng = np.random.default_rng(11)
    sid, ts, value, quality = random_rows(rng, 3000, 600 * S)
    fill((store,), sid, ts, value, quality)
    want = reference(sid, ts, value, quality, T0, T0 + 600 * S)
    import twinverse.store.duckdb as dmod

    monkeypatch.setattr(dmod, "_DIGEST_CHUNK", 97)
    if type(store).__name__ == "PostgresStore":
        import twinverse.store.postgres as pmod

        monkeypatch.setattr(pmod, "_DIGEST_BYTES", 7 * pmod._POINT_ROW.itemsize)
    assert store.segment_digest(at(T0), at(T0 + 600 * S)) == want


def test_earliest(store: Store) -> None:
    store.append(make_batch([T0 + 5 * S, T0 + 9 * S], [2, 2], [1.0, 2.0], [0, 0]))
    store.append(make_batch([T0 + 7 * S], [0], [1.0], [0]))
    assert store.earliest() == at(T0 + 5 * S)
    assert store.earliest(at(T0 + 5 * S)) == at(T0 + 5 * S)  # inclusive
    assert store.earliest(at(T0 + 5 * S + 1)) == at(T0 + 7 * S)
    assert store.earliest(at(T0 + 8 * S)) == at(T0 + 9 * S)
    assert store.earliest(at(T0 + 9 * S + 1)) is None
    assert store.earliest(datetime(2023, 11, 14, 22, 13, 20)) == at(T0 + 5 * S)  # naive means UTC


@pytest.mark.postgres
def test_duckdb_file_and_postgresql_give_identical_digests(both: tuple[Store, Store], tmp_path: Path) -> None:
    duck, pg = both
    rng = np.random.default_rng(2024)
    sid, ts, value, quality = random_rows(rng, 20_000, 4 * 3600 * S, nsid=40)
    fill((duck, pg), sid, ts, value, quality, parts=5)
    for k in range(24):  # the 10-minute segments, and the whole span
        start, end = T0 + k * 600 * S, T0 + (k + 1) * 600 * S
        want = reference(sid, ts, value, quality, start, end)
        assert duck.segment_digest(at(start), at(end)) == want == pg.segment_digest(at(start), at(end))
    whole = (at(T0 - S), at(T0 + 5 * 3600 * S))
    assert (
        duck.segment_digest(*whole)
        == pg.segment_digest(*whole)
        == (len(sid), reference(sid, ts, value, quality, T0 - S, T0 + 5 * 3600 * S)[1])
    )
    assert duck.earliest() == pg.earliest() == at(int(ts.min()))
    # A reopened DuckDB file answers the same (the digest is of the stored rows, not a cache).
    duck.close()
    again = DuckDBStore(tmp_path / "history.duckdb")
    try:
        assert again.segment_digest(*whole) == pg.segment_digest(*whole)
    finally:
        again.close()


@pytest.mark.postgres
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lo=st.integers(-10, 130), width=st.integers(0, 140))
def test_any_range_agrees_between_the_stores(
    filled_pair: tuple[Store, Store, tuple[Any, ...]], lo: int, width: int
) -> None:
    duck, pg, (sid, ts, value, quality) = filled_pair
    start, end = T0 + lo * S, T0 + (lo + width) * S
    want = reference(sid, ts, value, quality, start, end)
    assert duck.segment_digest(at(start), at(end)) == want == pg.segment_digest(at(start), at(end))


@pytest.fixture
def filled_pair(both: tuple[Store, Store]) -> tuple[Store, Store, tuple[Any, ...]]:
    rng = np.random.default_rng(5)
    cols = random_rows(rng, 800, 120 * S, nsid=5)
    fill(both, *cols)
    return both[0], both[1], cols


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(0, 200), max_size=6))
def test_hasher_is_independent_of_chunking(seed: int, cuts: list[int]) -> None:
    rng = np.random.default_rng(seed)
    sid, ts, value, quality = random_rows(rng, 200, 60 * S, nsid=4)
    whole = SegmentHasher()
    whole.update(sid, ts, value, quality)
    parts = SegmentHasher()
    bounds = [0, *sorted(c for c in cuts if c <= len(sid)), len(sid)]
    for a, b in itertools.pairwise(bounds):
        parts.update(sid[a:b], ts[a:b], value[a:b], quality[a:b])
    assert whole.result() == parts.result() == reference(sid, ts, value, quality, T0, T0 + 60 * S)


def test_hasher_refuses_rows_out_of_order() -> None:
    h = SegmentHasher()
    with pytest.raises(ValueError, match=r"ordered by \(sid, ts\)"):
        h.update(np.array([2, 1]), np.array([0, 0]), np.array([0.0, 0.0]), np.array([0, 0]))
    h = SegmentHasher()
    h.update(np.array([1]), np.array([5]), np.array([0.0]), np.array([0]))
    with pytest.raises(ValueError, match=r"ordered by \(sid, ts\)"):
        h.update(np.array([1]), np.array([4]), np.array([0.0]), np.array([0]))


def test_every_nan_hashes_alike() -> None:
    """Databases need not keep NaN payload bits: every NaN is written as 0x7FF8000000000000."""
    quiet = np.array([0x7FF8_0000_0000_0000], dtype="<u8").view("<f8")
    other = np.array([0xFFF0_0000_0000_0123], dtype="<u8").view("<f8")  # a negative signalling NaN
    a, b = SegmentHasher(), SegmentHasher()
    a.update(np.array([1]), np.array([1]), quiet, np.array([0]))
    b.update(np.array([1]), np.array([1]), other, np.array([0]))
    assert a.result() == b.result()
    record = bytes.fromhex("010000000100000000000000000000000000f87f00")
    assert a.hexdigest() == hashlib.sha256(record).hexdigest()
    # -0.0 is a different value from 0.0 and hashes differently.
    c = SegmentHasher()
    c.update(np.array([1]), np.array([1]), np.array([-0.0]), np.array([0]))
    d = SegmentHasher()
    d.update(np.array([1]), np.array([1]), np.array([0.0]), np.array([0]))
    assert c.hexdigest() != d.hexdigest()


def test_hasher_docstring_example_runs() -> None:
    import doctest

    import twinverse.store.base

    result = doctest.testmod(twinverse.store.base)
    assert result.attempted > 0 and result.failed == 0
