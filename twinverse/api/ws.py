"""One session per ``/ws`` connection, in the style of Starlette's ``WebSocketEndpoint``.

:class:`LiveSession` holds what one client follows (its subscribed subtrees and its hub
subscription) and reacts to three events: :meth:`~LiveSession.on_connect` (authorise,
accept, optional ``?twin=`` subscription), :meth:`~LiveSession.on_receive` (one text frame:
subscribe, unsubscribe or rate) and :meth:`~LiveSession.on_disconnect` (release the
subscription). Alongside the receive loop a pusher sends coalesced deltas, at most
``ws_max_rate`` frames per second (or the client's own lower rate): a change after a quiet
spell goes out at once, later ones gather until the next frame is due. Nothing queues per
client: a frame carries the current value of every signal changed since the previous one,
so a slow reader (its socket full) gets fresher frames, never a backlog. Values are
formatted by the plant's one formatter (``plant.signals.format.columns``), as REST and time
travel format them. The protocol is described in :mod:`twinverse.api.routes.ws`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from fastapi import WebSocket, WebSocketDisconnect

from ..errors import NotFoundError, TwinverseError
from ..live.hub import Subscription
from ..ops import AlarmWatch
from ..platform import Platform
from .security import Permission, Principal, authorize_ws

__all__ = ["MAX_FRAME", "MIN_RATE", "LiveSession"]

#: Largest client message accepted (bytes of text).
MAX_FRAME = 64 * 1024
_USAGE = ('send {"op": "subscribe"|"unsubscribe", "twin": ID}, {"op": "rate", "max": FRAMES_PER_SECOND} '
          'or {"op": "alarms", "follow": true|false}')
#: Lowest frame rate a client may ask for.
MIN_RATE = 0.1


class LiveSession:
    """The state and event handlers of one websocket client; :meth:`run` drives them."""

    #: What a client needs to connect (checked at the handshake; a refusal closes with 1008).
    permission = Permission.DATA_READ

    def __init__(self, websocket: WebSocket, platform: Platform) -> None:
        self.websocket = websocket
        self.platform = platform
        self.subtrees: dict[str, npt.NDArray[np.int32]] = {}
        self.sub: Subscription | None = None
        self._send_lock = asyncio.Lock()
        self.max_rate = platform.settings.ws_max_rate
        self.rate = self.max_rate  # frames per second this client gets
        self._rate_changed = asyncio.Event()
        self._key: str | None = None  # what the per-token connection limit counts
        self.twins: dict[str, frozenset[str]] = {}  # twin ids of each subscribed subtree (alarm events)
        self.alarm_watch: AlarmWatch | None = None  # set while the client follows alarms (?alarms=1)
        self._alarm_task: asyncio.Task[None] | None = None
        self.principal: Principal | None = None

    async def run(self) -> None:
        """Connect, then receive and push until the client goes or a task fails."""
        if not await self.on_connect():
            return
        tasks = [asyncio.create_task(self._receive_loop()), asyncio.create_task(self._push_loop())]
        close_code = 1000
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for t in done:
                failure = t.exception()
                if isinstance(failure, WebSocketDisconnect):
                    close_code = failure.code
                elif failure is not None:
                    raise failure
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            await self.on_disconnect(close_code)

    # -- events ---------------------------------------------------------------------------
    async def on_connect(self) -> bool:
        """Authorise (close 1008 if not), accept, subscribe to ``?twin=`` if given."""
        principal = await authorize_ws(self.websocket, self.permission)
        if principal is None:
            return False
        open_now = _open_sessions(self.websocket)
        key = principal.token_id or principal.id
        limit = self.platform.settings.ws_max_clients
        if open_now[key] >= limit:
            await self.websocket.accept()
            await self.websocket.close(code=1008, reason=f"at most {limit} websocket connections per token")
            return False
        open_now[key] += 1
        self._key = key
        await self.websocket.accept()
        self.sub = self.platform.hub.subscribe()
        self.principal = principal
        if self.websocket.query_params.get("alarms") in ("1", "true"):
            try:
                self.follow_alarms(True)
            except ValueError as exc:  # no alarm:read: the live values still flow
                await self.send({"type": "error", "detail": str(exc)})
        asked = self.websocket.query_params.get("rate")
        if asked is not None:
            try:
                self.set_rate(float(asked))
            except ValueError as exc:
                await self.send({"type": "error", "detail": f"rate: {exc}"})
        initial = self.websocket.query_params.get("twin")
        if initial:
            try:
                await self.subscribe(initial)
            except NotFoundError as exc:
                await self.send({"type": "error", "detail": exc.message})
            except BaseException:
                await self.on_disconnect(1011)
                raise
        return True

    async def on_receive(self, raw: str) -> None:
        """One text frame from the client; a bad one gets an error frame, the connection stays."""
        if len(raw) > MAX_FRAME:
            await self.send({"type": "error", "detail": f"message above {MAX_FRAME} bytes"})
            return
        try:
            msg = orjson.loads(raw)
            if not isinstance(msg, dict) or msg.get("op") not in ("subscribe", "unsubscribe", "rate", "alarms"):
                raise ValueError(_USAGE)
            if msg["op"] == "alarms":
                follow = msg.get("follow")
                if not isinstance(follow, bool):
                    raise ValueError("'follow' must be true or false")
                self.follow_alarms(follow)
                await self.send({"type": "alarms_follow", "follow": follow})
                if follow:
                    for root in list(self.subtrees):
                        await self._send_alarms(root)
                return
            if msg["op"] == "rate":
                value = msg.get("max")
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError("'max' must be a number of frames per second")
                self.set_rate(float(value))
                await self.send({"type": "rate", "max": self.rate})
                return
            twin = msg.get("twin")
            if not isinstance(twin, str):
                raise ValueError("'twin' must be a twin id string")
            if msg["op"] == "subscribe":
                await self.subscribe(twin)
            else:
                await self.unsubscribe(twin)
        except orjson.JSONDecodeError as exc:
            await self.send({"type": "error", "detail": f"malformed JSON: {exc}"})
        except ValueError as exc:
            await self.send({"type": "error", "detail": str(exc)})
        except TwinverseError as exc:
            await self.send({"type": "error", "detail": exc.message})

    async def on_disconnect(self, close_code: int) -> None:
        """Release the hub subscription (the client is gone or the session failed)."""
        if self.sub is not None:
            self.sub.close()
            self.sub = None
        if self.alarm_watch is not None:
            self.follow_alarms(False)
        if self._key is not None:
            counts = _open_sessions(self.websocket)
            counts[self._key] -= 1
            if counts[self._key] <= 0:
                del counts[self._key]
            self._key = None

    def follow_alarms(self, on: bool) -> None:
        """Start (or stop) sending the alarm frames of the subscribed subtrees; needs ``alarm:read``."""
        if on and (self.principal is None or not self.principal.can(Permission.ALARM_READ)):
            raise ValueError(f"permission {Permission.ALARM_READ.value!r} required for alarm frames")
        if on and self.alarm_watch is None:
            self.alarm_watch = self.platform.alarms.watch()
            self._alarm_task = asyncio.create_task(self._alarm_loop())
        elif not on and self.alarm_watch is not None:
            if self._alarm_task is not None:
                self._alarm_task.cancel()
                self._alarm_task = None
            self.alarm_watch.close()
            self.alarm_watch = None

    def set_rate(self, rate: float) -> None:
        """Push at most ``rate`` frames per second, clamped to [MIN_RATE, ws_max_rate]."""
        if not np.isfinite(rate) or rate <= 0:
            raise ValueError(f"must be a positive number of frames per second, got {rate!r}")
        self.rate = min(max(rate, MIN_RATE), self.max_rate)
        self._rate_changed.set()

    # -- actions --------------------------------------------------------------------------
    async def send(self, msg: dict[str, Any]) -> None:
        """One JSON text frame (receive and push loops share the socket: one sender at a time)."""
        async with self._send_lock:
            await self.websocket.send_text(orjson.dumps(msg).decode())

    async def subscribe(self, twin: str) -> None:
        """Follow ``twin``'s subtree: snapshot now, deltas from here on."""
        plant = self.platform.plant
        limit = self.platform.settings.ws_max_subscriptions
        if twin not in self.subtrees and len(self.subtrees) >= limit:
            raise ValueError(f"at most {limit} subscriptions per connection: unsubscribe one first")
        members = plant.subtree(twin)
        sids = plant.signals.of_twins(members)
        self.subtrees[twin] = sids
        self.twins[twin] = frozenset(members)
        self._follow()
        await self.send({"type": "snapshot", "twin": twin, "seq": self.platform.engine.sequence,
                         "signals": self._describe(sids), **self._values(sids)})  # fmt: skip
        if self.alarm_watch is not None:
            await self._send_alarms(twin)

    async def _send_alarms(self, twin: str) -> None:
        alarms = self.platform.alarms.list(within=twin)
        await self.send({"type": "alarms", "twin": twin, "alarms": [a.to_dict() for a in alarms]})

    async def unsubscribe(self, twin: str) -> None:
        self.subtrees.pop(twin, None)
        self.twins.pop(twin, None)
        self._follow()
        await self.send({"type": "unsubscribed", "twin": twin})

    # -- internals ------------------------------------------------------------------------
    def _follow(self) -> None:
        assert self.sub is not None
        self.sub.set_sids(np.concatenate(list(self.subtrees.values())) if self.subtrees else [])

    def _values(self, sids: npt.NDArray[np.int32]) -> dict[str, Any]:
        eng = self.platform.engine
        out = self.platform.plant.signals.format.columns(sids, eng.value[sids], eng.ts[sids])
        out["quality"] = eng.quality[sids].tolist()
        return out

    def _describe(self, sids: npt.NDArray[np.int32]) -> list[dict[str, Any]]:
        idx = self.platform.plant.signals
        out = []
        for s in sids.tolist():
            sig = idx.signal[s]
            out.append({"sid": s, "twin": idx.twin[s], "signal": sig.name, "unit": sig.unit, "kind": sig.kind.value,
                        "states": list(sig.states) if sig.states else None})  # fmt: skip
        return out

    async def _receive_loop(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            raw = message.get("text")
            if raw is None:  # a binary frame: answer, do not drop the connection
                await self.send({"type": "error", "detail": "send JSON text frames, not binary"})
                continue
            await self.on_receive(raw)

    async def _push_loop(self) -> None:
        sub = self.sub
        assert sub is not None
        last_sent = 0.0
        plant = self.platform.plant
        while True:
            await sub.wait(timeout=5.0)
            if self.platform.plant is not plant:  # a new model version runs: the client reloads the layout
                plant = self.platform.plant
                if self.alarm_watch is not None:  # the alarm service was rebuilt on the new model
                    self.follow_alarms(False)
                    self.follow_alarms(True)
                current = self.platform.versions.current
                await self.send({"type": "model", "version": current.number if current is not None else None})
            # Leading edge: after a quiet spell the change goes out now; otherwise it waits
            # for the next frame and travels with everything else changed by then.
            while (left := last_sent + 1.0 / self.rate - time.monotonic()) > 0:
                self._rate_changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._rate_changed.wait(), left)
            changed = sub.changed()
            if len(changed):
                last_sent = time.monotonic()
                await self.send({"type": "delta", "seq": sub.last, **self._values(changed)})


    async def _alarm_loop(self) -> None:
        """Alarm transitions of the subscribed subtrees, as they are stored (alarms change rarely: no coalescing)."""
        watch = self.alarm_watch
        assert watch is not None
        while True:
            await watch.wait(timeout=5.0)
            events = watch.changed()
            if not self.twins or not events:
                continue
            followed = frozenset().union(*self.twins.values())
            mine = [e.to_dict() for e in events if e.twin in followed]
            if mine:
                await self.send({"type": "alarm_events", "events": mine})


def _open_sessions(websocket: WebSocket) -> Counter[str]:
    """Open sessions per token of this app (the ``ws_max_clients`` limit)."""
    state = websocket.app.state
    counts: Counter[str] | None = getattr(state, "ws_sessions", None)
    if counts is None:
        counts = state.ws_sessions = Counter()
    return counts
