"""The hub: subscribers get exactly the sids of their set changed since they last looked."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from twinverse.core import make_batch
from twinverse.live import Engine, Hub
from twinverse.model import Plant
from twinverse.store import DuckDBStore

T0 = 1_700_000_000_000_000
FILLER = "bottling/line1/filler"
T = TypeVar("T")


@pytest.fixture
def engine(plant: Plant, tmp_path: Path) -> Iterator[Engine]:
    store = DuckDBStore(tmp_path / "hub.duckdb")
    yield Engine(plant, store)
    store.close()


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a fresh event loop in its own thread.

    A session-scoped Playwright (sync API) keeps a loop running on the main thread, where
    ``asyncio.run`` refuses to start; the hub is meant to be used from any loop anyway.
    """
    out: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            out.append(asyncio.run(coro))
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if errors:
        raise errors[0]
    return out[0]


def _ingest(engine: Engine, sids: list[int], t: int = 0) -> None:
    engine.ingest(make_batch(np.full(len(sids), T0 + t), sids, np.ones(len(sids))))


def test_changed_is_the_seq_diff_of_the_subscribed_sids(engine: Engine, plant: Plant) -> None:
    idx = plant.signals
    temp, speed = idx.sid(FILLER, "temperature"), idx.sid(FILLER, "speed")
    other = idx.sid("bottling/utilities/air", "running")

    async def scenario() -> list[list[int]]:
        hub = Hub(engine)
        sub = hub.subscribe()
        sub.set_sids([speed, temp, temp])  # duplicates collapse
        seen = [sub.changed().tolist()]  # nothing yet
        _ingest(engine, [temp, other])
        seen.append(sub.changed().tolist())
        seen.append(sub.changed().tolist())  # already sent
        _ingest(engine, [speed], 1)
        _ingest(engine, [temp], 2)
        _ingest(engine, [speed], 3)  # three batches coalesce into one answer
        seen.append(sub.changed().tolist())
        _ingest(engine, [other], 4)  # outside the set
        seen.append(sub.changed().tolist())
        hub.close()
        return seen

    assert run(scenario()) == [[], [temp], [], sorted([speed, temp]), []]


def test_a_batch_wakes_every_waiter_even_from_another_thread(engine: Engine, plant: Plant) -> None:
    sid = plant.signals.sid(FILLER, "temperature")

    async def scenario() -> tuple[bool, bool, bool, int]:
        hub = Hub(engine)
        a, b = hub.subscribe(), hub.subscribe()
        timed_out = await a.wait(timeout=0.01)
        t = threading.Thread(target=_ingest, args=(engine, [sid]))
        t.start()
        t.join()
        woke_a = await a.wait(timeout=10)
        woke_b = await b.wait(timeout=10)
        n = len(hub)
        hub.close()
        return timed_out, woke_a, woke_b, n

    assert run(scenario()) == (False, True, True, 2)


def test_closed_subscriptions_and_hubs_stop_listening(engine: Engine, plant: Plant) -> None:
    sid = plant.signals.sid(FILLER, "temperature")

    async def scenario() -> tuple[int, bool]:
        hub = Hub(engine)
        a, b = hub.subscribe(), hub.subscribe()
        a.close()
        a.close()  # idempotent
        after_close = len(hub)
        hub.close()
        _ingest(engine, [sid])  # the hub no longer hears the engine
        await asyncio.sleep(0)  # a wake-up would have been scheduled on this loop
        return after_close, b.event.is_set()

    assert run(scenario()) == (1, False)


def test_lag_is_how_many_batches_the_slowest_subscriber_is_behind(engine: Engine, plant: Plant) -> None:
    sid = plant.signals.sid(FILLER, "temperature")

    async def scenario() -> list[int]:
        hub = Hub(engine)
        seen = [hub.lag()]  # nobody subscribed
        fast, slow = hub.subscribe(), hub.subscribe()
        for t in range(3):
            _ingest(engine, [sid], t)
        fast.changed()  # catches up; slow does not look
        seen.append(hub.lag())
        slow.changed()
        seen.append(hub.lag())
        _ingest(engine, [sid], 3)
        seen.append(hub.lag())
        slow.close()
        fast.close()
        seen.append(hub.lag())
        hub.close()
        return seen

    assert run(scenario()) == [0, 3, 0, 1, 0]
