"""Group commit: batches handed in while the writer is busy are stored together, answered apart.

The writer is held on its lock while batches queue up, so the grouping is deterministic:
the first batch is a group of one, everything queued behind it is the second group.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from twinverse.core import make_batch
from twinverse.live import Engine, GroupWriter, IngestResult
from twinverse.model import Plant
from twinverse.store import DuckDBStore, HistoryQuery
from twinverse.trust import TrustService
from twinverse.trust.service import IngestAudit

T0 = 1_700_000_000_000_000
S = 1_000_000


@pytest.fixture
def engine(plant: Plant, tmp_path: Path) -> Iterator[Engine]:
    store = DuckDBStore(tmp_path / "g.duckdb")
    eng = Engine(plant, store)
    yield eng
    eng.close()
    store.close()


def _sids(plant: Plant) -> list[int]:
    """Float signals of the bottling plant that accept every value in [0, 10]."""
    idx = plant.signals
    return [s for s in range(len(idx)) if idx.kind[s] == 0 and idx.lo[s] <= 0 and idx.hi[s] >= 10]


def _held(engine: Engine, submit: list[Future[IngestResult]], *batches: object) -> list[IngestResult]:
    """Submit the first batch, hold the writer on it, queue the rest, then let go."""
    first, *rest = batches
    with engine._lock:  # the writer takes this lock around every group
        submit.append(engine.submit(engine.prepare(first)))  # type: ignore[arg-type]
        while engine.writer_stats.groups == 0:  # the writer has taken the first one
            threading.Event().wait(0.001)
        submit += [engine.submit(engine.prepare(b)) for b in rest]  # type: ignore[arg-type]
    return [f.result(timeout=30) for f in submit]


def test_queued_batches_are_one_store_append_with_their_own_results(plant: Plant, engine: Engine) -> None:
    sids = _sids(plant)[:5]
    appends: list[int] = []
    real = engine.store.append
    engine.store.append = lambda b: appends.append(b.num_rows) or real(b)  # type: ignore[method-assign]
    batches = [make_batch(np.array([T0 + k * S, T0 + (k + 10) * S]), [s, s], [1.0 * k, 2.0 * k])
               for k, s in enumerate(sids)]
    # One more with an unknown sid: its reject is its own, the others are untouched.
    bad = make_batch(np.array([T0]), [len(plant.signals) + 7], [1.0])
    results = _held(engine, [], *batches, bad)
    assert [(r.received, r.accepted, r.rejected, r.stored) for r in results] == [(2, 2, 0, 2)] * 5 + [(1, 0, 1, 0)]
    assert results[-1].errors[0]["reason"] == f"unknown signal id {len(plant.signals) + 7}"
    assert appends == [2, 8]  # the first alone, the next four in one append
    stats = engine.writer_stats
    assert (stats.groups, stats.items, stats.largest) == (2, 6, 5)
    stored = engine.store.history(HistoryQuery(tuple(sids)))
    assert stored.num_rows == 10
    assert engine.stats()["received"] == 11 and engine.stats()["rejected"] == 1
    assert engine.value[sids[4]] == 8.0  # the newest of the last batch


def test_the_same_point_twice_in_a_group_is_counted_once(plant: Plant, engine: Engine) -> None:
    s = _sids(plant)[0]
    one = make_batch(np.array([T0]), [s], [1.0])
    same = make_batch(np.array([T0 + S, T0 + 2 * S]), [s, s], [2.0, 3.0])
    again = make_batch(np.array([T0 + S]), [s], [9.0])  # a redelivery of a point of `same`
    results = _held(engine, [], one, same, again)
    assert [r.stored for r in results] == [1, 2, 0]
    assert engine.store.history(HistoryQuery((s,))).column("value").to_pylist() == [1.0, 2.0, 3.0]


def test_a_failing_commit_fails_every_caller_of_its_group(plant: Plant, engine: Engine) -> None:
    from twinverse.errors import StoreError

    s = _sids(plant)[0]
    real = engine.store.append

    def broken(batch: object) -> int:
        raise StoreError("disk full")

    engine.store.append = broken  # type: ignore[method-assign,assignment]
    futures: list[Future[IngestResult]] = []
    with pytest.raises(StoreError, match="disk full"):
        _held(engine, futures, make_batch(np.array([T0]), [s], [1.0]), make_batch(np.array([T0 + S]), [s], [2.0]))
    assert all(isinstance(f.exception(), StoreError) for f in futures)
    engine.store.append = real  # type: ignore[method-assign]
    assert engine.ingest(make_batch(np.array([T0 + 5 * S]), [s], [5.0])).stored == 1  # the writer lives on


def test_one_log_entry_per_sender_lists_every_body(plant: Plant, engine: Engine, tmp_path: Path) -> None:
    trust = TrustService(tmp_path / "trust")
    engine.on_commit(trust.log_ingest)
    admin = trust.authenticate(trust.ensure_admin_token())
    sids = _sids(plant)[:4]
    target = f"plant:{plant.id}"
    futures = []
    with engine._lock:
        futures.append(engine.submit(engine.prepare(make_batch(np.array([T0]), [sids[0]], [0.0])),
                                     tag=IngestAudit(admin, "a" * 64, target)))
        while engine.writer_stats.groups == 0:
            threading.Event().wait(0.001)
        for k, s in enumerate(sids[1:], 1):
            futures.append(engine.submit(engine.prepare(make_batch(np.array([T0]), [s], [1.0])),
                                         tag=IngestAudit(admin, f"{k}" * 64, target)))
        futures.append(engine.submit(engine.prepare(make_batch(np.array([T0 + S]), [sids[0]], [1.0]))))  # no tag
    [f.result(timeout=30) for f in futures]
    entries = [e.record() for e in trust.ledger.entries_by_action("data.ingest", target)]
    assert len(entries) == 2
    assert entries[0]["body_sha256"] == "a" * 64 and entries[0]["details"] == {"received": 1, "stored": 1}
    assert "body_sha256" not in entries[1]
    assert entries[1]["actor"] == admin.id
    assert entries[1]["details"] == {
        "received": 3,
        "stored": 3,
        "requests": [{"sha256": f"{k}" * 64, "received": 1, "stored": 1} for k in (1, 2, 3)],
    }
    trust.close()


def test_a_lone_caller_never_lingers() -> None:
    """After a group of one the writer commits the next batch at once; after company it waits a moment."""
    seen: list[list[int]] = []
    writer: GroupWriter[int, int] = GroupWriter(lambda items: seen.append(items) or items, linger=30.0)
    assert writer.submit(1).result(timeout=5) == 1  # would take 30 s if it lingered
    assert writer.submit(2).result(timeout=5) == 2
    writer.close()
    assert seen == [[1], [2]]
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(3)


def _held_points(engine: Engine, *requests: tuple[list[int], list[int], list[float]]) -> list[IngestResult | None]:
    """Like :func:`_held` for small requests (:meth:`Engine.submit_points`), after one normal batch."""
    futs: list[Future[IngestResult | None]] = []
    with engine._lock:
        first = engine.submit(engine.prepare(make_batch(np.array([T0 - S]), [_sids(engine.plant)[-1]], [0.0])))
        while engine.writer_stats.groups == 0:
            threading.Event().wait(0.001)
        for sids, ts, values in requests:
            futs.append(engine.submit_points(np.array(sids, np.int32), np.array(ts, np.int64),
                                             np.array(values, np.float64), tag=len(futs)))
    first.result(timeout=30)
    return [f.result(timeout=30) for f in futs]


def test_small_requests_are_validated_and_written_together(plant: Plant, engine: Engine) -> None:
    a, b, c = _sids(plant)[:3]
    appends: list[int] = []
    tags: list[list[object]] = []
    real = engine.store.append
    engine.store.append = lambda batch: appends.append(batch.num_rows) or real(batch)  # type: ignore[method-assign]
    engine.on_commit(lambda items: tags.append([t for t, _ in items]))
    results = _held_points(engine, ([a, b], [T0, T0], [1.0, 2.0]), ([c], [T0 + S], [3.0]), ([a], [T0 + S], [4.0]))
    assert [(r.received, r.accepted, r.rejected, r.stored) for r in results if r] == [(2, 2, 0, 2), (1, 1, 0, 1),
                                                                                       (1, 1, 0, 1)]
    assert appends == [1, 4]  # the first batch alone, the three requests in one append
    assert tags[-1] == [0, 1, 2]  # every request reaches the audit hook with its own tag
    assert engine.value[a] == 4.0 and engine.value[c] == 3.0
    assert engine.stats()["received"] == 5 and engine.stats()["stored"] == 5


def test_a_small_request_with_a_bad_point_is_refused_whole_and_the_others_stored(plant: Plant, engine: Engine) -> None:
    a, b = _sids(plant)[:2]
    hi = plant.signals.hi[b]
    tags: list[list[object]] = []
    engine.on_commit(lambda items: tags.append([t for t, _ in items]))
    results = _held_points(engine, ([a], [T0], [1.0]), ([a, b], [T0 + S, T0 + S], [2.0, hi + 1]),
                           ([b], [T0 + 2 * S], [3.0]))
    assert results[1] is None  # refused: the caller takes the general path, which quarantines it
    assert [(r.received, r.stored) for r in results if r] == [(1, 1), (1, 1)]
    assert tags[-1] == [0, 2]
    assert engine.store.quarantine().num_rows == 0  # nothing of the refused request was kept
    assert engine.value[a] == 1.0 and engine.value[b] == 3.0
    assert engine.stats()["rejected"] == 0


def test_small_requests_repeating_a_point_are_counted_exactly(plant: Plant, engine: Engine) -> None:
    a = _sids(plant)[0]
    engine.ingest(make_batch(np.array([T0]), [a], [1.0]))
    # The first repeats a stored point, the next two share one: each is then written on its own.
    results = _held_points(engine, ([a], [T0], [5.0]), ([a], [T0 + S], [2.0]), ([a], [T0 + S], [7.0]))
    assert [(r.received, r.accepted, r.stored) for r in results if r] == [(1, 1, 0), (1, 1, 1), (1, 1, 0)]
    assert engine.store.history(HistoryQuery((a,))).column("value").to_pylist() == [1.0, 2.0]


def test_a_small_request_for_a_retired_signal_is_refused(plant: Plant, engine: Engine) -> None:
    a, b = _sids(plant)[:2]
    retired = np.zeros(len(plant.signals), dtype=bool)
    retired[a] = True  # as a model version that removed the signal leaves it (Engine.switch)
    engine._retired = retired
    results = _held_points(engine, ([a], [T0], [1.0]), ([b], [T0], [2.0]))
    assert results[0] is None and results[1] is not None and results[1].stored == 1
    general = engine.ingest(make_batch(np.array([T0]), [a], [1.0]))
    assert (general.rejected, general.errors[0]["reason"]) == (1, f"unknown signal id {a}")
