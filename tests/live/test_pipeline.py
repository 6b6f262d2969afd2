"""The writer's second stage: a group's audit commit overlaps the next group's store commit.

Each test holds a stage on an event, so what runs while what is deterministic: the writer
stores group 2 while group 1's second stage is still running, yet no caller hears back before
both stages of its own group are done, and the second stages run in commit order.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_coroutine
from twinverse.core import make_batch
from twinverse.live import Engine, GroupWriter
from twinverse.model import Plant
from twinverse.store import DuckDBStore, HistoryQuery
from twinverse.trust import TrustService
from twinverse.trust.service import IngestAudit

T0 = 1_700_000_000_000_000
S = 1_000_000
WAIT = 30  # seconds: only ever reached if the code under test is broken


class Pipeline:
    """A writer whose stages record what they did; item 1's stages wait to be let go."""

    def __init__(self) -> None:
        self.committed: list[list[int]] = []
        self.finished: list[tuple[list[int], str]] = []  # items, finishing thread
        self.queued, self.entered, self.release = threading.Event(), threading.Event(), threading.Event()
        self.writer: GroupWriter[int, int] = GroupWriter(self.commit, finish=self.finish, linger=0)

    def commit(self, items: list[int]) -> list[int]:
        if items == [1]:
            assert self.queued.wait(WAIT)
        self.committed.append(items)
        return [i * 10 for i in items]

    def finish(self, items: list[int], results: list[int]) -> None:
        if items == [1]:
            self.entered.set()
            assert self.release.wait(WAIT)
        if items == [13]:
            raise OSError("audit log: disk full")
        self.finished.append((items, threading.current_thread().name))

    def hold_first(self) -> Future[int]:
        """Submit item 1 and queue item 2 while 1 is being stored."""
        first = self.writer.submit(1)
        while self.writer.stats.groups == 0:
            threading.Event().wait(0.001)
        return first


def test_the_next_group_is_stored_while_the_previous_one_finishes_and_nobody_hears_early() -> None:
    p = Pipeline()
    first = p.hold_first()
    second = p.writer.submit(2)
    p.queued.set()  # group 1 is stored with group 2 queued behind it...
    assert p.entered.wait(WAIT)  # ...so its second stage runs on the second thread (held there)
    while p.committed != [[1], [2]]:  # and the writer stores group 2 meanwhile
        threading.Event().wait(0.001)
    assert not first.done() and not second.done()  # neither is durable in both stages yet
    p.release.set()
    assert (first.result(WAIT), second.result(WAIT)) == (10, 20)
    assert [items for items, _ in p.finished] == [[1], [2]]  # in commit order
    assert p.finished[0][1] == "twinverse-writer-finish"
    p.writer.close()


def test_a_group_with_nothing_behind_it_is_finished_by_the_writer() -> None:
    p = Pipeline()
    p.queued.set()
    p.release.set()
    assert p.writer.submit(3).result(WAIT) == 30
    assert p.finished == [([3], "twinverse-writer")]  # no hand-off when there is nothing to overlap
    p.writer.close()


def test_a_failing_second_stage_fails_its_own_group_only() -> None:
    p = Pipeline()
    p.queued.set()
    p.release.set()
    bad = p.writer.submit(13)
    with pytest.raises(OSError, match="disk full"):
        bad.result(WAIT)
    assert p.writer.submit(4).result(WAIT) == 40
    assert p.committed == [[13], [4]] and [items for items, _ in p.finished] == [[4]]
    assert p.writer.stats.failures == 1
    p.writer.close()


def test_close_finishes_what_was_stored() -> None:
    p = Pipeline()
    futures = [p.hold_first(), p.writer.submit(2), p.writer.submit(3)]
    p.queued.set()
    assert p.entered.wait(WAIT)
    closer = threading.Thread(target=p.writer.close)
    closer.start()
    p.release.set()
    closer.join(WAIT)
    assert [f.result(0) for f in futures] == [10, 20, 30]
    assert [i for items, _ in p.finished for i in items] == [1, 2, 3]


def test_coroutines_get_their_results_on_their_loop() -> None:
    p = Pipeline()
    p.queued.set()
    p.release.set()
    writer, committed = p.writer, p.committed

    async def main() -> tuple[list[int], bool]:
        results = await asyncio.gather(*(writer.submit_async(k) for k in (5, 6, 7)))
        # Cancelled before the writer took it: left out of its group, as with submit().
        gate = threading.Event()

        def held_commit(items: list[int]) -> list[int]:
            assert gate.wait(WAIT)
            return items

        block = GroupWriter[int, int](held_commit)
        held = block.submit_async(0)
        while block.stats.groups == 0:  # the writer is busy with this one...
            await asyncio.sleep(0.001)
        gone = block.submit_async(1)  # ...while this one waits in the queue
        gone.cancel()
        gate.set()
        await held
        block.close()
        return list(results), gone.cancelled() and block.stats.items == 1

    results, left_out = run_coroutine(main())
    assert results == [50, 60, 70] and left_out
    assert sorted(i for group in committed for i in group) == [5, 6, 7]
    writer.close()


@pytest.fixture
def audited(plant: Plant, tmp_path: Path) -> Iterator[tuple[Engine, TrustService]]:
    store = DuckDBStore(tmp_path / "p.duckdb")
    trust = TrustService(tmp_path / "trust")
    engine = Engine(plant, store)
    engine.on_commit(trust.log_ingest)
    yield engine, trust
    engine.close()
    store.close()
    trust.close()


def test_an_engine_result_means_stored_and_audited(plant: Plant, audited: tuple[Engine, TrustService]) -> None:
    engine, trust = audited
    admin = trust.authenticate(trust.ensure_admin_token())
    sid = next(s for s in range(len(plant.signals)) if plant.signals.kind[s] == 0 and plant.signals.hi[s] >= 10)
    target = f"plant:{plant.id}"
    seen: list[tuple[int, int]] = []
    # A hook after the audit one sees, for every group, its rows in the store and its entry in the log.
    engine.on_commit(
        lambda items: seen.append(
            (
                engine.store.history(HistoryQuery((sid,))).num_rows,
                len(list(trust.ledger.entries_by_action("data.ingest", target))),
            )
        )
    )
    futures = [engine.submit(engine.prepare(make_batch(np.array([T0 + k * S]), [sid], [float(k)])),
                             tag=IngestAudit(admin, f"{k:x}" * 64, target)) for k in range(1, 6)]  # fmt: skip
    for k, f in enumerate(futures, 1):
        assert f.result(WAIT).stored == 1
        # Answered: both the point and the log entry naming its body are already committed.
        assert engine.store.history(HistoryQuery((sid,))).num_rows >= k
        entries = [e.record() for e in trust.ledger.entries_by_action("data.ingest", target)]
        bodies = {e.get("body_sha256") for e in entries} | {
            r["sha256"] for e in entries for r in e["details"].get("requests", [])
        }
        assert f"{k:x}" * 64 in bodies
    assert seen[-1] == (5, len(seen))  # one log entry per group, all five points stored


def test_a_failing_audit_fails_its_callers(plant: Plant, audited: tuple[Engine, TrustService]) -> None:
    engine, _ = audited
    sid = next(s for s in range(len(plant.signals)) if plant.signals.kind[s] == 0 and plant.signals.hi[s] >= 10)

    def broken(items: object) -> None:
        raise OSError("audit log: disk full")

    unhook = engine.on_commit(broken)
    with pytest.raises(OSError, match="disk full"):
        engine.ingest(make_batch(np.array([T0]), [sid], [1.0]), tag="t")
    unhook()
    assert engine.ingest(make_batch(np.array([T0 + S]), [sid], [2.0])).stored == 1  # the writer lives on
