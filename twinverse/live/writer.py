"""Group commit: one writer thread stores, in one go, everything handed in while it was busy.

Callers on any thread (the API's event loop, MQTT flush threads, replay) :meth:`submit
<GroupWriter.submit>` work and get a :class:`~concurrent.futures.Future`; the writer takes
all that is queued, runs ``commit`` once over the lot and settles each future with its own
result. Under load the groups grow by themselves: the longer a commit takes, the more the
next one carries. Alone, a caller waits for exactly one commit, as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

__all__ = ["GroupWriter", "WriterStats"]

T = TypeVar("T")
R = TypeVar("R")


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
    group fails with the exception. The thread starts on the first :meth:`submit`.
    """

    def __init__(
        self, commit: Callable[[list[T]], list[R]], *, linger: float = 0.002, name: str = "twinverse-writer"
    ) -> None:
        self._commit = commit
        self.linger = linger
        self._last = 1  # size of the previous group
        self._name = name
        self._cond = threading.Condition()
        self._queue: list[tuple[T, Future[R]]] = []
        self._thread: threading.Thread | None = None
        self._closing = False
        self.stats = WriterStats()

    def submit(self, item: T) -> Future[R]:
        """Queue ``item`` for the next group commit; the future holds its result."""
        fut: Future[R] = Future()
        if threading.current_thread() is self._thread:  # a hook writing again: do it now
            self._run([(item, fut)])
            return fut
        with self._cond:
            if self._closing:
                raise RuntimeError("the writer is closed")
            self._queue.append((item, fut))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return fut

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                # Under concurrent load (the last group had company) wait a moment for this
                # group to fill up as much: a store commit costs about the same for 1 or 100
                # batches. A lone caller never waits.
                if self._last > 1 and self.linger > 0 and not self._closing:
                    deadline = time.monotonic() + self.linger
                    while len(self._queue) < self._last and (left := deadline - time.monotonic()) > 0:
                        self._cond.wait(left)
                group, self._queue = self._queue, []
                self._last = len(group)
            self._run(group)

    def _run(self, group: list[tuple[T, Future[R]]]) -> None:
        live = [(item, fut) for item, fut in group if fut.set_running_or_notify_cancel()]
        if not live:
            return
        s = self.stats
        s.groups += 1
        s.items += len(live)
        s.largest = max(s.largest, len(live))
        try:
            results = self._commit([item for item, _ in live])
        except BaseException as exc:
            s.failures += 1
            for _, fut in live:
                fut.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, fut), result in zip(live, results, strict=True):
            fut.set_result(result)

    def close(self, timeout: float | None = 30.0) -> None:
        """Commit what is queued, then stop the thread (later submits raise)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
