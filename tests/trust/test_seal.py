"""Sealed history: segments committed to the log, resumed after restarts, tampering detected.

Everything runs on real parts: DuckDB files tampered with through DuckDB itself, a real
PostgreSQL database, the trust layer's SQLite log.
"""

from __future__ import annotations

import hashlib
import itertools
import struct
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from twinverse.cli.history import app as history_app
from twinverse.config import Settings
from twinverse.core import make_batch
from twinverse.errors import ConfigError
from twinverse.platform import example_path
from twinverse.store import DuckDBStore, Store
from twinverse.trust import (
    SEAL_ACTION,
    HistoryProblem,
    HistorySealer,
    ProblemKind,
    SealedSegment,
    TrustService,
    check_history,
    sealed_segments,
    verify_history,
)
from twinverse.trust.merkle import leaf_hash

S = 1_000_000
MIN = 60 * S
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOON = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
NOON_US = (NOON - EPOCH) // timedelta(microseconds=1)
PLANT = "bottling"

Sealed = tuple[list[SealedSegment], TrustService]


def at(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def reference(rows: list[tuple[int, int, float, int]], start: int, end: int) -> tuple[int, str]:
    """twinverse-seg-v1 of the rows in [start, end), packed one by one (independent of the stores)."""
    h = hashlib.sha256()
    keep = sorted(r for r in rows if start <= r[1] < end)
    for s, t, v, q in keep:
        h.update(struct.pack("<iqdB", s, t, v, q))
    return len(keep), h.hexdigest()


def append(store: Store, rows: list[tuple[int, int, float, int]]) -> None:
    rows = sorted(rows)
    store.append(make_batch([r[1] for r in rows], [r[0] for r in rows], [r[2] for r in rows], [r[3] for r in rows]))


def minute_rows(first_min: int, last_min: int, sids: tuple[int, ...] = (0, 1, 2)) -> list[tuple[int, int, float, int]]:
    """One row per signal every minute from NOON + first_min to NOON + last_min inclusive, +3 s."""
    return [
        (s, NOON_US + m * MIN + 3 * S, float(10 * s + m), m % 3) for m in range(first_min, last_min + 1) for s in sids
    ]


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "history.duckdb", tmp_path / "data"


@pytest.fixture
def store(paths: tuple[Path, Path]) -> Iterator[DuckDBStore]:
    s = DuckDBStore(paths[0])
    yield s
    s.close()


@pytest.fixture
def trust(paths: tuple[Path, Path]) -> Iterator[TrustService]:
    # synchronous=OFF: durability of the log is tested in tests/trust; fsyncs only slow this down.
    t = TrustService(paths[1], synchronous="OFF")
    yield t
    t.close()


def sealer(store: Store, trust: TrustService, **kw: object) -> HistorySealer:
    return HistorySealer(store, trust, plant_id=PLANT, tenant="default", **kw)  # type: ignore[arg-type]


def tamper(path: Path, sql: str, params: list[object] | None = None) -> None:
    """Change the DuckDB file behind the store's back, as an attacker with file access would."""
    con = duckdb.connect(str(path))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(sql, params or [])
    finally:
        con.close()


# -- what gets sealed, and when ----------------------------------------------------------------
def test_due_segments_are_exactly_those_ending_lag_before_now(store: DuckDBStore, trust: TrustService) -> None:
    rows = minute_rows(3, 47)  # 12:03:03 .. 12:47:03
    append(store, rows)
    s = sealer(store, trust)  # 10-minute segments, 5 minutes lag
    # 12:54:59.999999 - 5 min = 12:49:59.999999: segments up to 12:40 are complete and due.
    first = s.seal_due(NOON + timedelta(minutes=54, seconds=59, microseconds=999_999))
    assert [(x.start, x.end) for x in first] == [
        (NOON + timedelta(minutes=10 * k), NOON + timedelta(minutes=10 * (k + 1))) for k in range(4)
    ]
    # At 12:55 exactly the segment [12:40, 12:50) ends at now - lag: due.
    second = s.seal_due(NOON + timedelta(minutes=55))
    assert [(x.start, x.end) for x in second] == [(NOON + timedelta(minutes=40), NOON + timedelta(minutes=50))]
    for seg in first + second:
        assert (seg.rows, seg.sha256) == reference(
            rows, (seg.start - EPOCH) // timedelta(microseconds=1), (seg.end - EPOCH) // timedelta(microseconds=1)
        )
    assert [x.rows for x in first + second] == [21, 30, 30, 30, 24]  # 12:03..12:09 is 7 minutes × 3 signals
    assert s.sealed_until == NOON + timedelta(minutes=50)
    assert verify_history(store, trust, plant_id=PLANT) == []


def test_log_entries_carry_the_documented_fields(store: DuckDBStore, trust: TrustService) -> None:
    append(store, minute_rows(0, 9))
    [seg] = sealer(store, trust).seal_due(NOON + timedelta(minutes=15))
    record = orjson.loads(trust.ledger.entry(seg.index))
    assert record["action"] == SEAL_ACTION == "history.segment.sealed"
    assert record["target"] == seg.target == "history:bottling:2025-06-01T12:00:00Z"
    assert record["details"] == {
        "from": "2025-06-01T12:00:00Z",
        "to": "2025-06-01T12:10:00Z",
        "rows": 30,
        "sha256": reference(minute_rows(0, 9), NOON_US, NOON_US + 10 * MIN)[1],
        "encoding": "twinverse-seg-v1",
    }
    assert record["tenant"] == "default" and record["actor"] == trust.ledger.verifier.did
    assert trust.ledger.prove_inclusion(seg.index).leaf == leaf_hash(trust.ledger.entry(seg.index))


def test_first_segment_starts_at_the_earliest_data_and_an_empty_store_seals_nothing(
    store: DuckDBStore, trust: TrustService
) -> None:
    s = sealer(store, trust, segment=timedelta(minutes=15))
    assert s.seal_due(NOON + timedelta(days=1)) == [] and s.next_due() is None and trust.ledger.size == 0
    append(store, [(4, NOON_US + 37 * MIN, 1.0, 0)])  # 12:37 lies in the segment [12:30, 12:45)
    assert s.next_due() == (NOON + timedelta(minutes=30), NOON + timedelta(minutes=45), NOON + timedelta(minutes=50))
    [seg] = s.seal_due(NOON + timedelta(minutes=50))
    assert (seg.start, seg.end, seg.rows) == (NOON + timedelta(minutes=30), NOON + timedelta(minutes=45), 1)


def test_sealing_is_idempotent(store: DuckDBStore, trust: TrustService) -> None:
    append(store, minute_rows(0, 35))
    s = sealer(store, trust)
    now = NOON + timedelta(hours=1)
    assert [x.rows for x in s.seal_due(now)] == [30, 30, 30, 18, 0]
    size = trust.ledger.size
    assert s.seal_due(now) == [] and s.seal_due(now - timedelta(minutes=20)) == []
    assert sealer(store, trust).seal_due(now) == []  # a fresh sealer reads the state from the log
    assert trust.ledger.size == size


def test_sealing_resumes_after_a_restart(paths: tuple[Path, Path]) -> None:
    db, data = paths
    store, trust = DuckDBStore(db), TrustService(data, synchronous="OFF")
    append(store, minute_rows(0, 29))
    first = sealer(store, trust).seal_due(NOON + timedelta(minutes=27))  # [12:00, 12:10), [12:10, 12:20)
    trust.log_action(None, "plant.update", "twin:x")  # other entries in between
    store.close()
    trust.close()

    store, trust = DuckDBStore(db), TrustService(data, synchronous="OFF")
    append(store, minute_rows(30, 59))
    later = sealer(store, trust).seal_due(NOON + timedelta(hours=1, minutes=5))
    assert [x.start for x in later] == [NOON + timedelta(minutes=m) for m in (20, 30, 40, 50)]
    everything = sealed_segments(trust, plant_id=PLANT)
    assert everything == first + later
    assert all(a.end == b.start for a, b in itertools.pairwise(everything))
    assert verify_history(store, trust, plant_id=PLANT) == []
    store.close()
    trust.close()


def test_a_run_of_empty_segments_is_one_entry_and_still_guarded(store: DuckDBStore, trust: TrustService) -> None:
    rows = minute_rows(0, 5) + minute_rows(24 * 60, 24 * 60 + 5)  # today noon and tomorrow noon
    append(store, rows)
    sealed = sealer(store, trust).seal_due(NOON + timedelta(days=1, minutes=30))
    assert [(x.start, x.end, x.rows) for x in sealed] == [
        (NOON, NOON + timedelta(minutes=10), 18),
        (NOON + timedelta(minutes=10), NOON + timedelta(days=1), 0),  # 143 empty segments, one entry
        (NOON + timedelta(days=1), NOON + timedelta(days=1, minutes=10), 18),
        (NOON + timedelta(days=1, minutes=10), NOON + timedelta(days=1, minutes=20), 0),
    ]
    assert sealed[1].sha256 == hashlib.sha256(b"").hexdigest()
    # A row forged into the quiet night is caught by the one empty entry.
    store.append(make_batch([NOON_US + 15 * 60 * MIN], [1], [3.0], [0]))
    [p] = verify_history(store, trust, plant_id=PLANT)
    assert (p.kind, p.index, p.rows, p.sealed_rows) == (ProblemKind.INSERTED, sealed[1].index, 1, 0)
    # While the plant is quiet and the sealer keeps up, each segment gets its own entry.
    s = sealer(store, trust)
    for m in (30, 40):
        [seg] = s.seal_due(NOON + timedelta(days=1, minutes=m + 5))
        assert (seg.start, seg.end, seg.rows) == (
            NOON + timedelta(days=1, minutes=m - 10),
            NOON + timedelta(days=1, minutes=m),
            0,
        )


def test_a_sealer_from_settings(store: DuckDBStore, trust: TrustService) -> None:
    settings = Settings(tenant="acme", seal_segment=120, seal_lag=30)
    s = HistorySealer.from_settings(store, trust, settings, plant_id=PLANT)
    assert (s.plant_id, s.tenant, s.segment, s.lag) == (PLANT, "acme", timedelta(minutes=2), timedelta(seconds=30))
    assert HistorySealer.from_settings(store, trust, settings, plant_id=PLANT, lag=timedelta(0)).lag == timedelta(0)


def test_validation_of_settings(store: DuckDBStore, trust: TrustService) -> None:
    with pytest.raises(ConfigError, match="seal_segment"):
        sealer(store, trust, segment=timedelta(0))
    with pytest.raises(ConfigError, match="seal_lag"):
        sealer(store, trust, lag=timedelta(seconds=-1))


# -- tampering --------------------------------------------------------------------------------
@pytest.fixture
def sealed(paths: tuple[Path, Path]) -> Iterator[tuple[list[SealedSegment], TrustService]]:
    """Three 10-minute segments sealed from a DuckDB file, which is then closed for tampering."""
    db, data = paths
    store, trust = DuckDBStore(db), TrustService(data, synchronous="OFF")
    append(store, minute_rows(0, 29))
    segs = sealer(store, trust).seal_due(NOON + timedelta(minutes=40))
    assert len(segs) == 3
    store.close()
    yield segs, trust
    trust.close()


def verify_file(db: Path, trust: TrustService) -> list[HistoryProblem]:
    store = DuckDBStore(db)
    try:
        return verify_history(store, trust, plant_id=PLANT)
    finally:
        store.close()


def test_untouched_history_verifies_clean(paths: tuple[Path, Path], sealed: Sealed) -> None:
    _, trust = sealed
    store = DuckDBStore(paths[0])
    try:
        report = check_history(store, trust, plant_id=PLANT)
    finally:
        store.close()
    assert report.ok and report.problems == []
    assert (report.segments, report.rows, report.sealed_until) == (3, 90, NOON + timedelta(minutes=30))
    assert report.summary() == (
        "history:bottling: 3 sealed segments (90 rows) up to 2025-06-01T12:30:00Z: every segment matches its log entry"
    )


def test_an_updated_value_is_detected(paths: tuple[Path, Path], sealed: Sealed) -> None:
    segs, trust = sealed
    tamper(
        paths[0],
        "UPDATE points SET value = value + 0.001 WHERE sid = 1 AND ts = make_timestamp(?)",
        [NOON_US + 14 * MIN + 3 * S],
    )
    [p] = verify_file(paths[0], trust)
    assert (p.kind, p.index, p.target, p.start, p.end) == (
        ProblemKind.CHANGED,
        segs[1].index,
        "history:bottling:2025-06-01T12:10:00Z",
        segs[1].start,
        segs[1].end,
    )
    assert (p.rows, p.sealed_rows, p.sealed_sha256) == (30, 30, segs[1].sha256) and p.sha256 != segs[1].sha256
    assert str(p).startswith(
        f"log entry #{segs[1].index} (history:bottling:2025-06-01T12:10:00Z, "
        "[2025-06-01T12:10:00Z, 2025-06-01T12:20:00Z)): rows changed after sealing"
    )


def test_a_deleted_row_is_detected(paths: tuple[Path, Path], sealed: Sealed) -> None:
    segs, trust = sealed
    tamper(paths[0], "DELETE FROM points WHERE sid = 2 AND ts = make_timestamp(?)", [NOON_US + 3 * S])
    [p] = verify_file(paths[0], trust)
    assert (p.kind, p.index, p.rows, p.sealed_rows) == (ProblemKind.DELETED, segs[0].index, 29, 30)
    assert "1 row(s) fewer than sealed: deleted after sealing" in str(p)


def test_a_late_inserted_row_is_detected(paths: tuple[Path, Path], sealed: Sealed) -> None:
    segs, trust = sealed
    store = DuckDBStore(paths[0])  # late data arrives through the store, as the engine would write it
    try:
        assert store.append(make_batch([NOON_US + 25 * MIN], [7], [1.0], [0])) == 1
        [p] = verify_history(store, trust, plant_id=PLANT)
    finally:
        store.close()
    assert (p.kind, p.index, p.target, p.rows, p.sealed_rows) == (
        ProblemKind.INSERTED,
        segs[2].index,
        "history:bottling:2025-06-01T12:20:00Z",
        31,
        30,
    )
    assert "1 more row(s) than sealed: inserted after sealing (late data or forged rows)" in str(p)


def test_rows_before_the_first_segment_are_flagged(paths: tuple[Path, Path], sealed: Sealed) -> None:
    segs, trust = sealed
    tamper(paths[0], "INSERT INTO points VALUES (make_timestamp(?), 0, 1.0, 0)", [NOON_US - 3 * MIN])
    [p] = verify_file(paths[0], trust)
    assert (p.kind, p.index, p.target, p.start, p.end, p.rows) == (
        ProblemKind.UNSEALED,
        None,
        "history:bottling",
        NOON - timedelta(minutes=3),
        NOON,
        1,
    )
    assert str(p) == (
        "(history:bottling, [2025-06-01T11:57:00Z, 2025-06-01T12:00:00Z)): 1 row(s) lie before the first sealed "
        f"segment, which log entry #{segs[0].index} seals from 2025-06-01T12:00:00Z: inserted after sealing began "
        "(late data or forged rows)"
    )


def test_changes_after_the_sealed_range_are_not_problems(paths: tuple[Path, Path], sealed: Sealed) -> None:
    _, trust = sealed
    tamper(paths[0], "INSERT INTO points VALUES (make_timestamp(?), 0, 1.0, 0)", [NOON_US + 31 * MIN])
    assert verify_file(paths[0], trust) == []


def test_an_altered_seal_entry_is_reported(paths: tuple[Path, Path], sealed: Sealed) -> None:
    """Someone rewrites a seal entry's digest in SQLite to match forged rows: the leaf hash gives it away."""
    segs, trust = sealed
    db = paths[1] / "trust.sqlite"
    import sqlite3

    con = sqlite3.connect(db)
    data = con.execute("SELECT data FROM log_entries WHERE idx = ?", (segs[1].index,)).fetchone()[0]
    con.execute("DROP TRIGGER log_no_update")
    con.execute(
        "UPDATE log_entries SET data = ? WHERE idx = ?",
        (bytes(data).replace(segs[1].sha256.encode(), b"0" * 64), segs[1].index),
    )
    con.commit()
    con.close()
    entry, gap = verify_file(paths[0], trust)
    assert (entry.kind, entry.index) == (ProblemKind.ENTRY, segs[1].index)
    assert "does not hash to its leaf" in entry.message
    # The altered entry vouches for nothing, so its rows are reported as covered by no seal.
    assert (gap.kind, gap.start, gap.end, gap.rows) == (ProblemKind.UNSEALED, segs[1].start, segs[1].end, 30)
    assert f"a gap no seal entry covers (the next one, log entry #{segs[2].index}, starts at" in str(gap)


# -- PostgreSQL ----------------------------------------------------------------------------------
@pytest.mark.postgres
def test_postgresql_store_seals_and_detects_tampering(
    pg_url: str, trust: TrustService, paths: tuple[Path, Path]
) -> None:
    import psycopg

    from twinverse.store.postgres import PostgresStore

    rows = minute_rows(0, 29)
    pg = PostgresStore(pg_url)
    try:
        append(pg, rows)
        segs = sealer(pg, trust).seal_due(NOON + timedelta(minutes=40))
        assert [(s.rows, s.sha256) for s in segs] == [
            reference(rows, NOON_US + k * 10 * MIN, NOON_US + (k + 1) * 10 * MIN) for k in range(3)
        ]
        assert verify_history(pg, trust, plant_id=PLANT) == []
        # The same rows in a DuckDB file verify against the same entries: one encoding.
        duck = DuckDBStore(paths[0])
        append(duck, rows)
        assert verify_history(duck, trust, plant_id=PLANT) == []
        duck.close()
        with psycopg.connect(pg_url, autocommit=True) as con:
            con.execute("UPDATE points SET quality = 2 WHERE sid = 0 AND ts = %s", (at(NOON_US + 21 * MIN + 3 * S),))
        [p] = verify_history(pg, trust, plant_id=PLANT)
        assert (p.kind, p.index) == (ProblemKind.CHANGED, segs[2].index)
    finally:
        pg.close()


# -- concurrency and the background thread ----------------------------------------------------
def test_two_sealers_at_once_never_seal_a_segment_twice(paths: tuple[Path, Path], store: DuckDBStore) -> None:
    """Two trust services on one data directory are two writers of one log (like server + CLI)."""
    append(store, minute_rows(0, 8 * 60))
    a, b = TrustService(paths[1], synchronous="OFF"), TrustService(paths[1], synchronous="OFF")
    try:
        now = NOON + timedelta(hours=9)
        results: list[list[SealedSegment]] = []
        go = threading.Barrier(2)

        def run(t: TrustService) -> None:
            s = sealer(store, t, batch=3)
            go.wait()
            results.append(s.seal_due(now))

        threads = [threading.Thread(target=run, args=(t,)) for t in (a, b)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        segs = sealed_segments(a, plant_id=PLANT)
        assert sorted(x.index for r in results for x in r) == [x.index for x in segs]
        assert [x.start for x in segs] == [NOON + timedelta(minutes=10 * k) for k in range(len(segs))]
        assert segs[-1].end == NOON + timedelta(hours=8, minutes=50)
        assert verify_history(store, a, plant_id=PLANT) == []
    finally:
        a.close()
        b.close()


def test_background_thread_seals_and_stops(store: DuckDBStore, trust: TrustService) -> None:
    append(store, minute_rows(0, 20))
    done = threading.Event()
    got: list[SealedSegment] = []

    def on_sealed(segs: list[SealedSegment]) -> None:
        got.extend(segs)
        done.set()

    s = sealer(store, trust, clock=lambda: NOON + timedelta(minutes=30), on_sealed=on_sealed)
    s.start()
    try:
        assert done.wait(60), "the sealer thread did not seal"
    finally:
        s.stop()
    assert [x.start for x in got] == [NOON, NOON + timedelta(minutes=10)]
    assert sealed_segments(trust, plant_id=PLANT) == got
    assert "segments of 0:10:00, lag 0:05:00" in s.describe()


# -- Hypothesis: any single-row tamper is detected --------------------------------------------
TAMPERS = ["value", "quality", "ts", "sid", "delete", "insert"]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(TAMPERS), pick=st.integers(0, 10**9))
def test_any_single_row_tamper_is_detected(seed: int, kind: str, pick: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 80))
    sid = rng.integers(0, 4, n).astype(np.int32)
    ts = NOON_US + rng.integers(0, 5 * MIN, n)  # five 1-minute segments, some possibly empty
    key = np.unique(np.stack([sid.astype(np.int64), ts]), axis=1)
    sid, ts = key[0].astype(np.int32), key[1]
    value = rng.normal(size=len(sid))
    quality = rng.integers(0, 3, len(sid)).astype(np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "h.duckdb"
        store, trust = DuckDBStore(db), TrustService(Path(tmp) / "data", synchronous="OFF")
        try:
            store.append(make_batch(ts, sid, value, quality))
            s = sealer(store, trust, segment=timedelta(minutes=1), lag=timedelta(0))
            segs = s.seal_due(NOON + timedelta(minutes=5))
            assert sum(x.rows for x in segs) == len(sid) and verify_history(store, trust, plant_id=PLANT) == []
            store.close()
            i = pick % len(sid)
            where = int(ts[i])
            row = "sid = ? AND ts = make_timestamp(?)"
            args: list[object] = [int(sid[i]), int(ts[i])]
            if kind == "value":
                tamper(db, f"UPDATE points SET value = ? WHERE {row}", [float(np.nextafter(value[i], np.inf)), *args])
            elif kind == "quality":
                tamper(db, f"UPDATE points SET quality = (quality + 1) % 256 WHERE {row}", args)
            elif kind == "ts":
                tamper(db, f"UPDATE points SET ts = ts + INTERVAL 1 MICROSECOND WHERE {row}", args)
            elif kind == "sid":
                tamper(db, f"UPDATE points SET sid = sid + 1 WHERE {row}", args)
            elif kind == "delete":
                tamper(db, f"DELETE FROM points WHERE {row}", args)
            else:
                taken = set(zip(sid.tolist(), ts.tolist(), strict=True))
                new_sid, where = int(rng.integers(0, 4)), int(rng.integers(0, 5 * MIN))
                while (new_sid, NOON_US + where) in taken:
                    where = (where + 1) % (5 * MIN)
                where += NOON_US
                tamper(db, "INSERT INTO points VALUES (make_timestamp(?), ?, 0.5, 0)", [where, new_sid])
            store = DuckDBStore(db)
            problems = verify_history(store, trust, plant_id=PLANT)
            hit = at(where)
            assert any(p.start is not None and p.end is not None and p.start <= hit < p.end for p in problems), (
                kind,
                problems,
            )
        finally:
            store.close()
            trust.close()


# -- the command line ------------------------------------------------------------------------------
def test_cli_seal_and_verify(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "data"
    plant = str(example_path("bottling.yaml"))
    store = DuckDBStore(data / "twinverse.duckdb")
    append(store, minute_rows(0, 25))
    store.close()
    args = ["--plant", plant, "--data-dir", str(data), "--store", "duckdb"]

    r = runner.invoke(history_app, ["seal", *args, "--lag", "0"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    # The three segments with data, then one entry for the quiet time up to the last completed
    # segment before the real clock's now.
    t = TrustService(data, synchronous="OFF")
    try:
        segs = sealed_segments(t, plant_id=PLANT)
    finally:
        t.close()
    assert [(x.start, x.rows) for x in segs] == [
        (NOON + timedelta(minutes=10 * k), n) for k, n in enumerate([30, 30, 18, 0])
    ]
    until = segs[-1].end.isoformat().replace("+00:00", "Z")
    assert r.output == (
        f"history:bottling: sealed 4 segment(s), 78 rows, [2025-06-01T12:00:00Z, {until}) "
        f"as log entries #{segs[0].index}..#{segs[-1].index}\n"
    )
    r = runner.invoke(history_app, ["seal", *args], catch_exceptions=False)
    assert r.exit_code == 0 and f"nothing due: sealed up to {until}" in r.output

    r = runner.invoke(history_app, ["verify", *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert (
        r.output
        == f"history:bottling: 4 sealed segments (78 rows) up to {until}: every segment matches its log entry\n"
    )

    tamper(
        data / "twinverse.duckdb",
        "UPDATE points SET value = -1 WHERE sid = 0 AND ts = make_timestamp(?)",
        [NOON_US + 23 * MIN + 3 * S],
    )
    r = runner.invoke(history_app, ["verify", *args], catch_exceptions=False)
    assert r.exit_code == 1
    assert "(history:bottling:2025-06-01T12:20:00Z, [2025-06-01T12:20:00Z, 2025-06-01T12:30:00Z)): rows changed" in (
        r.output
    )
    assert "1 problem(s)" in r.output


def test_module_docstring_example_runs() -> None:
    import doctest

    import twinverse.trust.seal

    result = doctest.testmod(twinverse.trust.seal, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
