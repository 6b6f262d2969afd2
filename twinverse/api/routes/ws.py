"""``/ws``: follow live values of twin subtrees.

Protocol (JSON text frames)::

    → {"op": "subscribe", "twin": "bottling/line1"}      # a subtree; repeat to add more
    ← {"type": "snapshot", "twin": …, "signals": [{"sid", "twin", "signal", "unit", "kind", "states"}],
       "sid": [...], "value": [...], "ts": [...], "quality": [...]}  # current values (ts: epoch ms)
    ← {"type": "delta", "seq": 812, "sid": [...], "value": [...], "ts": [...], "quality": [...]}
    → {"op": "unsubscribe", "twin": "bottling/line1"}
    → {"op": "rate", "max": 5}                           # at most 5 frames/s for me
    ← {"type": "rate", "max": 5.0}                       # the rate granted (≤ ws_max_rate)
    ← {"type": "error", "detail": "..."}                 # the connection stays open
    → {"op": "alarms", "follow": true}                   # alarm frames too (or /ws?alarms=1)
    ← {"type": "alarms_follow", "follow": true}
    ← {"type": "alarms", "twin": …, "alarms": [...]}     # per subscription: the subtree's alarms not normal
    ← {"type": "alarm_events", "events": [...]}          # transitions of alarms in subscribed subtrees

``quality`` is 0 good, 1 uncertain, 2 bad (a source lost its device: the last value, stale);
a change of quality alone is a change and travels in the next delta.

Alarm frames go only to clients that ask and hold ``alarm:read``; an event is the record of
``GET /api/alarms/events`` (seq, ts, alarm, twin, rule, event, state, previous, …).

``/ws?twin=ID&rate=N`` subscribes and sets the rate at connect. Deltas carry only signals
changed since the last frame, at most ``ws_max_rate`` frames per second per client or the
rate it asked for; a change after a quiet spell goes out at once, later ones coalesce into
the next frame. A token holds at most ``ws_max_clients`` connections and a connection at
most ``ws_max_subscriptions`` subtrees (refusals close with 1008).
Each connection is one :class:`~twinverse.api.ws.LiveSession`.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from ..params import get_platform
from ..ws import LiveSession

router = APIRouter()


@router.websocket("/ws")
async def live_ws(websocket: WebSocket) -> None:
    """Subscribe to twin subtrees and receive coalesced live deltas."""
    await LiveSession(websocket, get_platform(websocket)).run()
