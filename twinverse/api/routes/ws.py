"""``/ws``: follow live values of twin subtrees.

Protocol (JSON text frames)::

    → {"op": "subscribe", "twin": "bottling/line1"}      # a subtree; repeat to add more
    ← {"type": "snapshot", "twin": …, "signals": [{"sid", "twin", "signal", "unit", "kind", "states"}],
       "sid": [...], "value": [...], "ts": [...]}        # current values (ts: epoch ms)
    ← {"type": "delta", "seq": 812, "sid": [...], "value": [...], "ts": [...]}
    → {"op": "unsubscribe", "twin": "bottling/line1"}
    ← {"type": "error", "detail": "..."}                 # the connection stays open

``/ws?twin=ID`` subscribes at connect. Deltas carry only signals changed since the last
frame, at most ``ws_max_rate`` frames per second per client (changes coalesce between).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ...errors import NotFoundError, TwinverseError
from ...live.hub import Subscription
from ...platform import Platform
from ..security import Permission, authorize_ws

router = APIRouter()

MAX_FRAME = 64 * 1024


def _values(platform: Platform, sids: npt.NDArray[np.int32]) -> dict[str, Any]:
    eng = platform.engine
    return platform.plant.signals.format.columns(sids, eng.value[sids], eng.ts[sids])


def _describe(platform: Platform, sids: npt.NDArray[np.int32]) -> list[dict[str, Any]]:
    idx = platform.plant.signals
    out = []
    for s in sids.tolist():
        sig = idx.signal[s]
        out.append(
            {"sid": s, "twin": idx.twin[s], "signal": sig.name, "unit": sig.unit, "kind": sig.kind.value,
             "states": list(sig.states) if sig.states else None}
        )
    return out


@router.websocket("/ws")
async def live_ws(websocket: WebSocket) -> None:
    """Subscribe to twin subtrees and receive coalesced live deltas."""
    platform: Platform = websocket.app.state.platform
    principal = await authorize_ws(websocket, Permission.DATA_READ)
    if principal is None:
        return
    await websocket.accept()
    sub = platform.hub.subscribe()
    subtrees: dict[str, npt.NDArray[np.int32]] = {}
    send_lock = asyncio.Lock()

    async def send(msg: dict[str, Any]) -> None:
        async with send_lock:
            await websocket.send_text(orjson.dumps(msg).decode())

    async def subscribe(twin: str) -> None:
        sids = platform.plant.signals.of_twins(platform.plant.subtree(twin))
        subtrees[twin] = sids
        sub.set_sids(np.concatenate(list(subtrees.values())) if subtrees else [])
        await send({"type": "snapshot", "twin": twin, "seq": platform.engine.sequence,
                    "signals": _describe(platform, sids), **_values(platform, sids)})

    async def reader() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            raw = message.get("text")
            if raw is None:  # a binary frame: answer, do not drop the connection
                await send({"type": "error", "detail": "send JSON text frames, not binary"})
                continue
            if len(raw) > MAX_FRAME:
                await send({"type": "error", "detail": f"message above {MAX_FRAME} bytes"})
                continue
            try:
                msg = orjson.loads(raw)
                if not isinstance(msg, dict) or msg.get("op") not in ("subscribe", "unsubscribe"):
                    raise ValueError("send {\"op\": \"subscribe\"|\"unsubscribe\", \"twin\": ID}")
                twin = msg.get("twin")
                if not isinstance(twin, str):
                    raise ValueError("'twin' must be a twin id string")
                if msg["op"] == "subscribe":
                    await subscribe(twin)
                else:
                    subtrees.pop(twin, None)
                    sub.set_sids(np.concatenate(list(subtrees.values())) if subtrees else [])
                    await send({"type": "unsubscribed", "twin": twin})
            except orjson.JSONDecodeError as exc:
                await send({"type": "error", "detail": f"malformed JSON: {exc}"})
            except ValueError as exc:
                await send({"type": "error", "detail": str(exc)})
            except TwinverseError as exc:
                await send({"type": "error", "detail": exc.message})

    async def pusher(sub: Subscription) -> None:
        min_gap = 1.0 / platform.settings.ws_max_rate
        last_sent = 0.0
        while True:
            await sub.wait(timeout=5.0)
            gap = time.monotonic() - last_sent
            if gap < min_gap:
                await asyncio.sleep(min_gap - gap)
            changed = sub.changed()
            if len(changed):
                last_sent = time.monotonic()
                await send({"type": "delta", "seq": sub.last, **_values(platform, changed)})

    initial = websocket.query_params.get("twin")
    tasks: list[asyncio.Task[None]] = []
    try:
        if initial:
            try:
                await subscribe(initial)
            except NotFoundError as exc:
                await send({"type": "error", "detail": exc.message})
        tasks = [asyncio.create_task(reader()), asyncio.create_task(pusher(sub))]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in done:
            failure = t.exception()
            if failure is not None and not isinstance(failure, WebSocketDisconnect):
                raise failure
    except WebSocketDisconnect:
        pass
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        sub.close()
