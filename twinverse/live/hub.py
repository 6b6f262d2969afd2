"""Fan live changes out to asynchronous subscribers (websocket clients).

The engine stamps every changed signal with an ingest sequence number. A subscriber
remembers the last sequence it sent and, when woken, sends only the signals of its
subtree whose stamp is newer: deltas coalesce for free, however fast data arrives.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from .engine import Engine

__all__ = ["Hub", "Subscription"]


class Subscription:
    """One subscriber's set of sids and the sequence it has seen up to."""

    def __init__(self, hub: Hub, loop: asyncio.AbstractEventLoop) -> None:
        self.hub = hub
        self.loop = loop
        self.event = asyncio.Event()
        self.sids: npt.NDArray[np.int32] = np.empty(0, dtype=np.int32)
        self.last = hub.engine.sequence

    def set_sids(self, sids: Iterable[int] | npt.NDArray[np.int32]) -> None:
        self.sids = np.unique(np.asarray(list(sids) if not isinstance(sids, np.ndarray) else sids, dtype=np.int32))

    def changed(self) -> npt.NDArray[np.int32]:
        """Sids of this subscription changed since the last call."""
        engine = self.hub.engine
        current = engine.sequence
        if current == self.last or len(self.sids) == 0:
            self.last = current
            return np.empty(0, dtype=np.int32)
        out = self.sids[engine.seq[self.sids] > self.last]
        self.last = current
        return out

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until something was ingested (True) or ``timeout`` passed (False)."""
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            return False
        self.event.clear()
        return True

    def close(self) -> None:
        self.hub._remove(self)


class Hub:
    """Wakes every subscription after each ingested batch; thread-safe."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()
        self._unsubscribe = engine.subscribe(self._on_batch)

    def subscribe(self) -> Subscription:
        sub = Subscription(self, asyncio.get_running_loop())
        with self._lock:
            self._subs.append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def _on_batch(self, batch: pa.RecordBatch) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub.event.set)
            except RuntimeError:  # the subscriber's loop has closed
                self._remove(sub)

    def __len__(self) -> int:
        return len(self._subs)

    def lag(self) -> int:
        """Ingested batches the slowest subscriber has not caught up with yet (0 when none lags).

        A subscriber catches up each time it looks for changes (a websocket client: when it
        sends its next frame), so a lag that keeps growing means a client that cannot keep up.
        """
        with self._lock:
            oldest = min((sub.last for sub in self._subs), default=None)
        return 0 if oldest is None else max(self.engine.sequence - oldest, 0)

    def close(self) -> None:
        self._unsubscribe()
