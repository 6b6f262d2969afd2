"""One session per ``/ws/collab/{plant}`` connection: a peer of the plant's shared room.

The y-websocket protocol is binary; :class:`RoomSession` authorises the handshake as
``/ws`` does (:func:`~twinverse.api.security.authorize_ws`, permission ``plant:read``),
then hands each frame to the plant's :class:`~twinverse.collab.Room` and logs the
annotation changes it accepted (one transparency-log entry per note changed, with the
SHA-256 of the update). Frames to the client go through a bounded queue and one sender
task: a room never waits for a slow client, and a client that falls ``QUEUE`` frames
behind is closed (1013) and resynchronises when it reconnects (a CRDT loses nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

from fastapi import WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from ..collab import Identity, Received, Room
from ..collab.protocol import auth_denied
from ..errors import NotFoundError, TwinverseError
from ..platform import Platform
from ..trust.records import Principal
from .security import OPEN, Permission, authorize_ws

__all__ = ["MAX_COLLAB_FRAME", "QUEUE", "RoomSession", "identity_of"]

log = logging.getLogger("twinverse.api.room")

#: Largest frame a client may send (bytes).
MAX_COLLAB_FRAME = 256 * 1024
#: Frames queued for one client before it is dropped as too slow.
QUEUE = 512


def identity_of(platform: Platform, principal: Principal) -> Identity:
    """What a room shows of a principal: its registered name, role and write permission."""
    shared = principal.id == OPEN.id  # open demo mode: every browser is this one principal
    name = "guest"
    if not shared:
        ident = platform.trust.store.get_identity(principal.id)
        name = ident.name if ident is not None else principal.id[-8:]
    return Identity(
        id=principal.id,
        name=name,
        role=principal.role or "viewer",
        can_write=principal.can(Permission.ANNOTATION_WRITE),
        shared=shared,
    )


class RoomSession:
    """The state and event handlers of one room client; :meth:`run` drives them."""

    permission = Permission.PLANT_READ

    def __init__(self, websocket: WebSocket, platform: Platform, plant_id: str) -> None:
        self.websocket = websocket
        self.platform = platform
        self.plant_id = plant_id
        self.room: Room | None = None
        self.principal: Principal | None = None
        self.identity = Identity("", "", "viewer", False)
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE)
        self.overflowed = False  # fell QUEUE frames behind: the sender closes the connection
        self.refused = 0

    def push(self, frame: bytes) -> None:
        """Queue a frame for this client (the room calls it; never blocks)."""
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.overflowed = True

    async def run(self) -> None:
        if not await self.on_connect():
            return
        sender = asyncio.create_task(self._send_loop())
        code = 1000
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    code = message.get("code", 1000)
                    break
                await self.on_receive(message.get("bytes"))
                if sender.done():
                    break
        except WebSocketDisconnect as exc:
            code = exc.code
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
            self.on_disconnect(code)

    # -- events ---------------------------------------------------------------------------
    async def on_connect(self) -> bool:
        """Authorise (close 1008 if not), find the room (close 1008 for another plant), join."""
        principal = await authorize_ws(self.websocket, self.permission)
        if principal is None:
            return False
        try:
            room = self.platform.collab.room(self.plant_id)
        except TwinverseError as exc:  # another plant (1008), an unreadable document (1011)
            log.warning("shared room %r refused: %s", self.plant_id, exc.message)
            await self.websocket.accept()
            await self.websocket.close(code=1008 if isinstance(exc, NotFoundError) else 1011, reason=exc.message[:120])
            return False
        self.principal = principal
        self.identity = identity_of(self.platform, principal)
        await self.websocket.accept()
        self.room = room
        room.join(self)
        return True

    async def on_receive(self, raw: bytes | None) -> None:
        """One frame: a bad one is answered with a permission-denied frame, the connection stays."""
        assert self.room is not None
        if raw is None or len(raw) > MAX_COLLAB_FRAME:
            self.push(auth_denied(f"send binary y-websocket frames of at most {MAX_COLLAB_FRAME} bytes"))
            return
        try:
            got = self.room.receive(self, raw)
        except TwinverseError as exc:
            self.push(auth_denied(exc.message))
            return
        if got.refused is not None:
            self.refused += 1
        if got.changes:
            await run_in_threadpool(self._log, got)

    def on_disconnect(self, code: int) -> None:
        if self.room is not None:
            self.room.leave(self)
            self.room = None

    # -- internals --------------------------------------------------------------------------
    def _log(self, got: Received) -> None:
        digest = hashlib.sha256(got.update or b"").hexdigest()
        for c in got.changes:
            self.platform.trust.log_action(
                self.principal, c.action, f"annotation:{self.plant_id}/{c.note}", digest, c.details()
            )

    async def _send_loop(self) -> None:
        while True:
            frame = await self.queue.get()
            if self.overflowed:
                await self.websocket.close(code=1013, reason="too slow: reconnect to resynchronise")
                return
            await self.websocket.send_bytes(frame)
