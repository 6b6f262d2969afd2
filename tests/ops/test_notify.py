"""Webhook notifications against a real local HTTP server: batches, rate limit, escalation, failures."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from twinverse.core import make_batch
from twinverse.model import loads_plant
from twinverse.model.rules import AlarmPriority
from twinverse.ops import AlarmService, Event
from twinverse.ops.notify import WebhookNotifier

S = 1_000_000
T0 = 1_700_000_000 * S
PLANT = """
plant: p
types:
  m:
    signals:
      x: {unit: m}
    alarms:
      hi: {kind: hi, signal: x, limit: 10, priority: high}
      lo: {kind: lo, signal: x, limit: 0, priority: low}
twins:
  - {id: m, type: m, count: 3}
"""


class Hook:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers["Content-Length"])
                hook.bodies.append(json.loads(self.rfile.read(n)))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.server.shutdown()
    h.server.server_close()


def feed(svc: AlarmService, twin: str, values: list[float], start: int) -> None:
    """A stored batch as the engine hands it to the service."""
    sid = svc.plant.signals.sid(f"p/{twin}", "x")
    n = len(values)
    svc.on_batch(make_batch(np.arange(n, dtype=np.int64) * S + start, np.full(n, sid, np.int32),
                            np.array(values, float)))  # fmt: skip


def test_events_go_out_batched_and_filtered_by_priority(hook: Hook) -> None:
    svc = AlarmService(loads_plant(PLANT), clock=lambda: T0)
    n = WebhookNotifier(svc, hook.url, min_priority=AlarmPriority.HIGH)
    feed(svc, "m1", [5, 20, -5, 5], T0)  # hi raises and clears, lo (low priority) raises and clears
    assert n.flush(T0) == 1
    assert [(e["alarm"], e["event"]) for e in hook.bodies[0]["events"]] == [("p/m1:hi", "raise"), ("p/m1:hi", "clear")]
    assert hook.bodies[0]["plant"] == "p" and hook.bodies[0]["dropped"] == 0
    assert n.flush(T0) == 0  # nothing pending: no request
    n.close()


def test_a_flood_is_rate_limited_and_counted(hook: Hook) -> None:
    svc = AlarmService(loads_plant(PLANT), clock=lambda: T0)
    n = WebhookNotifier(svc, hook.url, max_per_minute=2, max_batch=5)
    for i in range(10):
        feed(svc, f"m{i % 3 + 1}", [20, 5], T0 + i * S)  # 20 events
        n.flush(T0 + i * S)
    assert len(hook.bodies) == 2  # at most two requests in the minute, whatever the flood
    assert sum(len(b["events"]) + b["dropped"] for b in hook.bodies) <= 20
    assert hook.bodies[0]["events"][0]["event"] == "raise"
    feed(svc, "m1", [20], T0 + 100 * S)
    assert n.flush(T0 + 61 * S) == 1  # a minute later: sends again, with what piled up counted
    assert hook.bodies[-1]["dropped"] > 0
    n.close()


def test_escalation_of_an_alarm_left_unacknowledged(hook: Hook) -> None:
    svc = AlarmService(loads_plant(PLANT), clock=lambda: T0)
    n = WebhookNotifier(svc, hook.url, escalate_after_s=600)
    feed(svc, "m2", [20], T0)
    n.flush(T0)
    assert n.flush(T0 + 599 * S) == 0
    assert n.flush(T0 + 600 * S) == 1
    assert hook.bodies[-1]["type"] == "escalation" and [a["id"] for a in hook.bodies[-1]["alarms"]] == ["p/m2:hi"]
    assert n.flush(T0 + 1200 * S) == 0  # once per occurrence
    svc.act("p/m2:hi", Event.ACK)
    n.close()


def test_a_failing_endpoint_keeps_the_events_for_the_next_flush(hook: Hook) -> None:
    svc = AlarmService(loads_plant(PLANT), clock=lambda: T0)
    n = WebhookNotifier(svc, hook.url)
    hook.status = 500
    feed(svc, "m3", [20], T0)
    assert n.flush(T0) == 0 and n.failed == 1
    hook.status = 200
    assert n.flush(T0 + S) == 1
    assert [e["alarm"] for e in hook.bodies[-1]["events"]] == ["p/m3:hi"]
    n.close()
    with pytest.raises(ValueError, match="http"):
        WebhookNotifier(svc, "file:///etc/passwd")


def test_the_platform_sends_to_its_configured_webhook(hook: Hook, tmp_path: Any) -> None:
    from twinverse.config import Settings
    from twinverse.core.clock import now_us
    from twinverse.platform import Platform

    f = tmp_path / "p.yaml"
    f.write_text(PLANT)
    p = Platform(Settings(data_dir=tmp_path / "d", plant=f, store=":memory:", alarm_webhook=hook.url))
    assert p.notifier is not None
    p.start()
    sid = p.plant.signals.sid("p/m1", "x")
    p.engine.ingest(make_batch(np.array([now_us() - S]), np.array([sid], np.int32), np.array([50.0])))
    p.stop()  # the last flush goes out before the platform stops
    events = [e for b in hook.bodies for e in b.get("events", [])]
    assert [(e["alarm"], e["event"]) for e in events] == [("p/m1:hi", "raise")]
