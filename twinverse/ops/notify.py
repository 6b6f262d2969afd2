"""Alarm notifications by webhook: batched, rate-limited, with escalation of unacknowledged alarms.

A :class:`WebhookNotifier` listens to an :class:`~twinverse.ops.AlarmService` and POSTs JSON to
one URL::

    {"plant": "bottling", "type": "alarm_events", "events": [...], "dropped": 0}
    {"plant": "bottling", "type": "escalation", "alarms": [...]}   # unacknowledged for too long

Events gather in memory and go out in one request per :meth:`~WebhookNotifier.flush` (the
notifier's thread flushes every second); at most ``max_per_minute`` requests leave per
minute, so a flood of alarms becomes a few requests carrying many events, never a storm.
What does not fit (more than ``max_batch`` events in a request, or a full queue) is counted
in ``dropped``. A failed delivery is logged and retried with the next flush (its events
kept, up to the batch limit). Only events of alarms at or above ``min_priority`` are sent.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from ..core.clock import now_us as _now_us
from ..model.rules import AlarmPriority
from .alarms import AlarmService
from .journal import AlarmEvent
from .lifecycle import AlarmState

__all__ = ["WebhookNotifier"]

log = logging.getLogger("twinverse.ops.notify")

_MINUTE_US = 60_000_000


class WebhookNotifier:
    """POST the events of ``service`` to ``url``; :meth:`start` its thread, :meth:`close` to stop."""

    def __init__(
        self,
        service: AlarmService,
        url: str,
        *,
        min_priority: AlarmPriority = AlarmPriority.LOW,
        max_per_minute: int = 30,
        max_batch: int = 1000,
        escalate_after_s: float | None = None,
        timeout_s: float = 5.0,
        clock: Callable[[], int] = _now_us,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"a webhook URL starts with http:// or https://, got {url!r}")
        self.service = service
        self.url = url
        self.min_rank = min_priority.rank
        self.max_per_minute = max_per_minute
        self.max_batch = max_batch
        self.escalate_after_us = None if escalate_after_s is None else int(escalate_after_s * 1e6)
        self.timeout_s = timeout_s
        self.clock = clock
        self._pending: deque[AlarmEvent] = deque()
        self._dropped = 0
        self._sent: deque[int] = deque()  # times of the requests of the last minute
        self._escalated: set[tuple[str, int]] = set()  # (alarm, raise time) already escalated
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = 0  # requests answered 2xx
        self.failed = 0
        self._unlisten = service.on_events(self._on_events)

    def _on_events(self, events: Sequence[AlarmEvent]) -> None:
        keep = [e for e in events if AlarmPriority(e.priority).rank >= self.min_rank]
        with self._lock:
            room = 10 * self.max_batch - len(self._pending)
            self._pending.extend(keep[: max(room, 0)])
            self._dropped += max(len(keep) - max(room, 0), 0)

    def _allowed(self, now: int) -> bool:
        while self._sent and self._sent[0] <= now - _MINUTE_US:
            self._sent.popleft()
        return len(self._sent) < self.max_per_minute

    def flush(self, now: int | None = None) -> int:
        """Send what is pending (and any escalations) if the rate allows; returns the requests made."""
        t = self.clock() if now is None else now
        made = 0
        escalate = self._due_escalations(t)
        if escalate and self._allowed(t):
            made += self._post({"type": "escalation", "alarms": escalate}, t)
        with self._lock:
            if not self._pending or not self._allowed(t):
                return made
            batch = [self._pending.popleft() for _ in range(min(self.max_batch, len(self._pending)))]
            dropped, self._dropped = self._dropped + len(self._pending), 0
            self._pending.clear()  # beyond one batch per request: counted, not queued for ever
        body = {"type": "alarm_events", "events": [e.to_dict() for e in batch], "dropped": dropped}
        if self._post(body, t):
            return made + 1
        with self._lock:  # keep the events for the next flush
            self._pending.extendleft(reversed(batch[: self.max_batch - len(self._pending)]))
            self._dropped += dropped
        return made

    def _due_escalations(self, now: int) -> list[dict[str, Any]]:
        if self.escalate_after_us is None:
            return []
        out = []
        for a in self.service.list(states=[AlarmState.UNACKNOWLEDGED]):
            key = (a.id, a.raised_us or 0)
            if a.rule.priority.rank >= self.min_rank and a.raised_us is not None and key not in self._escalated \
                    and now - a.raised_us >= self.escalate_after_us:  # fmt: skip
                self._escalated.add(key)
                out.append(a.to_dict())
        return out

    def _post(self, body: dict[str, Any], now: int) -> bool:
        self._sent.append(now)
        data = orjson.dumps({"plant": self.service.plant.id, **body})
        req = urllib.request.Request(self.url, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                ok = bool(200 <= resp.status < 300)
        except (urllib.error.URLError, OSError) as exc:
            log.warning("alarm webhook %s failed: %s", self.url, exc)
            ok = False
        if ok:
            self.delivered += 1
        else:
            self.failed += 1
        return ok

    def start(self, interval_s: float = 1.0) -> None:
        if self._thread is not None:
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.flush()
                except Exception:  # the notifier must outlive one bad flush
                    log.exception("alarm webhook flush failed")

        self._thread = threading.Thread(target=run, name="twinverse-webhook", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread (one last flush first) and stop listening."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_s + 5)
            self._thread = None
            self.flush()
        self._unlisten()
