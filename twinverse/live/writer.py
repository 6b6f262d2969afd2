"""Group commit: one writer thread stores, in one go, everything handed in while it was busy.

Callers on any thread (the API's event loop, MQTT flush threads, replay) :meth:`submit
<GroupWriter.submit>` work and get a :class:`~concurrent.futures.Future`; the writer takes
all that is queued, runs ``commit`` once over the lot and settles each future with its own
result. Under load the groups grow by themselves: the longer a commit takes, the more the
next one carries. Alone, a caller waits for exactly one commit, as before. A caller on an
event loop can wait on an asyncio future instead (:meth:`GroupWriter.submit_async`): the
results of a group reach each loop in one wake-up, not one per request.

An optional second stage, ``finish``, runs on its own thread: the writer hands it each
committed group, in order, and takes the next group at once, so that the second stage of a
group (the engine's audit-log commit) overlaps the first stage of the next (its store
commit). A group's futures are settled only after both stages, so a caller's result still
means "durable in both"; if ``finish`` raises, every caller of that group gets the exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

__all__ = ["GroupWriter", "WriterStats"]

T = TypeVar("T")
R = TypeVar("R")

#: Who waits for an item: a thread (a concurrent future) or a coroutine (an asyncio future).
Waiter = Future[R] | asyncio.Future[R]


class WriterStats:
    """Counters of a :class:`GroupWriter` (read without a lock: monotonic ints)."""

    def __init__(self) -> None:
        self.groups = 0
        self.items = 0
        self.largest = 0
        self.failures = 0


class GroupWriter(Generic[T, R]):
    """A writer thread that applies ``commit(items) -> results`` to whatever queued meanwhile.

    ``commit`` returns one result per item, in order, or raises: then every item of that
    group fails with the exception. ``finish(items, results)``, if given, is the second
    stage (see the module doc): it runs on a second thread, one group at a time in commit
    order, before the group's futures are settled. The threads start on the first :meth:`submit`.
    A submit from either thread (a hook writing again) is committed and finished at once on
    that thread, so ``commit`` may then run on both threads: it must do its own locking (the
    engine's does, with its write lock).
    """

    def __init__(
        self,
        commit: Callable[[list[T]], list[R]],
        *,
        finish: Callable[[list[T], list[R]], object] | None = None,
        linger: float = 0.002,
        name: str = "twinverse-writer",
    ) -> None:
        self._commit = commit
        self._finish = finish
        self.linger = linger
        self._last = 1  # size of the previous group
        self._name = name
        self._cond = threading.Condition()
        self._queue: list[tuple[T, Waiter[R]]] = []
        self._thread: threading.Thread | None = None
        self._closing = False
        self._wake_at = 0  # queue length at which a waiting writer wants waking (0: it is not waiting)
        # The second stage: committed groups waiting for ``finish``, oldest first.
        self._done_cond = threading.Condition()
        self._done: list[tuple[list[tuple[T, Waiter[R]]], list[R]]] = []
        self._finisher: threading.Thread | None = None
        self._stop_finisher = False
        self._finishing = False  # the second thread is finishing a group
        self.stats = WriterStats()

    def submit(self, item: T) -> Future[R]:
        """Queue ``item`` for the next group commit; the future holds its result."""
        fut: Future[R] = Future()
        self._enqueue(item, fut)
        return fut

    def submit_async(self, item: T) -> asyncio.Future[R]:
        """:meth:`submit` for a coroutine: call it on the event loop's thread and await the result.

        The writer settles the futures of a group on each loop with one
        ``call_soon_threadsafe``; an item whose future was cancelled before its group was
        taken is left out, as with :meth:`submit`.
        """
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._enqueue(item, fut)
        return fut

    def _enqueue(self, item: T, fut: Waiter[R]) -> None:
        if threading.current_thread() in (self._thread, self._finisher):  # a hook writing again: do it now
            self._run([(item, fut)], inline=True)
            return
        with self._cond:
            if self._closing:
                raise RuntimeError("the writer is closed")
            self._queue.append((item, fut))
            if self._thread is None:
                if self._finish is not None:
                    self._finisher = threading.Thread(
                        target=self._finish_loop, name=f"{self._name}-finish", daemon=True
                    )
                    self._finisher.start()
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            if 0 < self._wake_at <= len(self._queue):
                self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._wake_at = 1
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                # Under concurrent load (the last group had company) wait a moment for this
                # group to fill up as much: a store commit costs about the same for 1 or 100
                # batches. A lone caller never waits. Submitters wake the writer only once the
                # group is full (``_wake_at``), not once per item: each wake-up would take the
                # GIL from the event loop only to wait again.
                if self._last > 1 and self.linger > 0 and not self._closing:
                    self._wake_at = self._last
                    deadline = time.monotonic() + self.linger
                    while len(self._queue) < self._last and (left := deadline - time.monotonic()) > 0:
                        self._cond.wait(left)
                self._wake_at = 0  # busy: it looks at the queue again before it waits
                group, self._queue = self._queue, []
                self._last = len(group)
            self._run(group)

    def _run(self, group: list[tuple[T, Waiter[R]]], *, inline: bool = False) -> None:
        live = [(item, fut) for item, fut in group if _start(fut)]
        if not live:
            return
        s = self.stats
        s.groups += 1
        s.items += len(live)
        s.largest = max(s.largest, len(live))
        try:
            results = self._commit([item for item, _ in live])
        except BaseException as exc:
            self._fail(live, exc)
            return
        if self._finish is None or inline or self._finisher is None:
            self._settle(live, results)
            return
        with self._done_cond:
            # Nothing to overlap (no next group queued) and nothing before it to finish: the
            # writer finishes the group itself, sparing a thread wake-up on the callers' way back.
            alone = not self._queue and not self._done and not self._finishing
            if not alone:
                self._done.append((live, results))
                self._done_cond.notify()
        if alone:
            self._settle(live, results)

    def _finish_loop(self) -> None:
        while True:
            with self._done_cond:
                while not self._done and not self._stop_finisher:
                    self._done_cond.wait()
                if not self._done:
                    return
                live, results = self._done.pop(0)
                self._finishing = True
            try:
                self._settle(live, results)
            finally:
                with self._done_cond:
                    self._finishing = False

    def _settle(self, live: list[tuple[T, Waiter[R]]], results: list[R]) -> None:
        """Run the second stage (if any) and settle the futures of a committed group."""
        if self._finish is not None:
            try:
                self._finish([item for item, _ in live], results)
            except BaseException as exc:
                self._fail(live, exc)
                return
        _resolve([(fut, result, None) for (_, fut), result in zip(live, results, strict=True)])

    def _fail(self, live: list[tuple[T, Waiter[R]]], exc: BaseException) -> None:
        self.stats.failures += 1
        _resolve([(fut, None, exc) for _, fut in live])
        if not isinstance(exc, Exception):
            raise exc

    def close(self, timeout: float | None = 30.0) -> None:
        """Commit and finish what is queued, then stop the threads (later submits raise)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        me = threading.current_thread()
        if thread is not None and thread is not me:
            thread.join(timeout)
        with self._done_cond:
            self._stop_finisher = True
            self._done_cond.notify_all()
        if self._finisher is not None and self._finisher is not me:
            self._finisher.join(timeout)


def _start(fut: Waiter[R]) -> bool:
    """Mark a waiter's item as taken; False if its caller cancelled it (the item is left out)."""
    if isinstance(fut, Future):
        return fut.set_running_or_notify_cancel()
    return not fut.cancelled()  # an attribute read: safe from the writer's thread


_Outcome = tuple[Any, Any, BaseException | None]  # (waiter, result, exception)


def _resolve(outcomes: list[_Outcome]) -> None:
    """Settle waiters: concurrent futures at once, asyncio futures in one callback per loop."""
    loops: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for fut, result, exc in outcomes:
        if isinstance(fut, Future):
            if exc is None:
                fut.set_result(result)
            else:
                fut.set_exception(exc)
        else:
            loops.setdefault(fut.get_loop(), []).append((fut, result, exc))
    for loop, settled in loops.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(_settle_on_loop, settled)


def _settle_on_loop(settled: list[_Outcome]) -> None:
    for fut, result, exc in settled:
        if fut.done():  # cancelled meanwhile (the client went away): its item is stored all the same
            continue
        if exc is None:
            fut.set_result(result)
        else:
            fut.set_exception(exc)
