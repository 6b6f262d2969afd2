"""One shared room per plant: a pycrdt document of annotations and the presence of who is here.

A :class:`Room` is the server's side of the y-websocket protocol (:mod:`.protocol`) for
every client of one plant. It owns the CRDT document (pycrdt, the Rust ``yrs`` port of
Yjs), relays presence (Yjs awareness) and keeps the document durable: after every accepted
change the whole state is written to ``<data_dir>/collab/<plant>.ydoc`` (write, fsync,
rename), and read back when the room opens.

Unlike pycrdt-websocket's ``YRoom``, whose message hook sees bytes but not the sender, a
room here knows who sent each frame (a :class:`Peer`), so it can

* refuse a read-only peer's change (answered with a y-protocols *permission denied* frame;
  the room's document and everyone else stay as they were),
* check a writer's change against the annotation rules (:func:`.notes.check_changes`) on a
  scratch copy *before* applying it, and say which notes it changed, for the log,
* stamp each presence state with the identity the server authenticated (name, role,
  colour), so nobody appears under another's name.

A room does no I/O of its own beyond its file: peers get frames through
:meth:`Peer.push`, which must not block (a session queues them).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pycrdt import Doc, Map

from ..errors import InputError, PermissionDenied, StoreError, TwinverseError
from .notes import NoteChange, check_changes
from .protocol import (
    AwarenessEntry,
    MessageType,
    SyncStep,
    auth_denied,
    awareness_frame,
    decode_awareness,
    parse_frame,
    sync_frame,
)

__all__ = ["NOTES", "Identity", "Peer", "Received", "Room", "colour_of"]

log = logging.getLogger("twinverse.collab")

#: The root map of the shared document that holds the annotations.
NOTES = "annotations"
_EMPTY_UPDATE = b"\x00\x00"
_READ_ONLY = "viewers read annotations; writing needs an operator (permission 'annotation:write')"
#: Distinct, readable on the dark floor; a peer's colour is picked by its identity.
PALETTE = ("#ff6b6b", "#4dabf7", "#69db7c", "#ffd43b", "#da77f2", "#ff922b", "#38d9a9", "#f783ac", "#a9e34b", "#74c0fc")


def colour_of(key: str) -> str:
    """A stable colour for an identity (or, in open demo mode, a browser's Yjs client id)."""
    return PALETTE[int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % len(PALETTE)]


@dataclass(frozen=True)
class Identity:
    """Who a peer is, as the server authenticated it."""

    id: str
    name: str
    role: str
    can_write: bool
    #: In open demo mode every browser is the same principal: names and colours are the browsers' own.
    shared: bool = False

    def user(self, client: int, asked: Any) -> dict[str, Any]:
        """The ``user`` field of a presence state: the server's facts, not the client's claims."""
        name = self.name
        if self.shared and isinstance(asked, dict) and isinstance(asked.get("name"), str) and asked["name"].strip():
            name = asked["name"].strip()[:60]
        colour = colour_of(f"{self.id}:{client}" if self.shared else self.id)
        return {"id": self.id, "name": name, "role": self.role, "colour": colour, "canWrite": self.can_write}


class Peer(Protocol):
    """One connected client of a room."""

    identity: Identity

    def push(self, frame: bytes) -> None:
        """Queue ``frame`` for the client (must not block)."""


@dataclass
class Received:
    """What one frame from a peer did: notes it changed (to log) and a refusal, if any."""

    changes: list[NoteChange] = field(default_factory=list)
    update: bytes | None = None  # the accepted document update (its hash goes to the log)
    refused: str | None = None


class Room:
    """The shared document and presence of one plant."""

    def __init__(self, plant_id: str, path: Path | None, twins: Container[str]) -> None:
        self.plant_id = plant_id
        self.path = path
        self.twins = twins
        self.doc: Doc[Any] = Doc()
        self.notes: Map[Any] = self.doc.get(NOTES, type=Map)
        if path is not None and path.exists():
            try:
                self.doc.apply_update(path.read_bytes())
            except Exception as exc:  # yrs refuses bytes that are not a document update
                raise StoreError(f"the shared document {path} cannot be read: {exc}") from exc
        self.peers: dict[Peer, set[int]] = {}  # peer → the awareness client ids it speaks for
        self.presence: dict[int, AwarenessEntry] = {}

    # -- membership -------------------------------------------------------------------------
    def join(self, peer: Peer) -> None:
        """Admit ``peer``: it gets the server's state vector (so it sends what the room lacks) and who is here."""
        self.peers[peer] = set()
        peer.push(sync_frame(SyncStep.STEP1, self.doc.get_state()))
        if self.presence:
            peer.push(awareness_frame(list(self.presence.values())))

    def leave(self, peer: Peer) -> None:
        """``peer`` is gone: its presence states leave with it, for everyone."""
        clients = self.peers.pop(peer, set())
        gone = [AwarenessEntry(c, self.presence[c].clock + 1, None) for c in clients if c in self.presence]
        for e in gone:
            del self.presence[e.client]
        if gone:
            self._broadcast(awareness_frame(gone))

    # -- frames -----------------------------------------------------------------------------
    def receive(self, peer: Peer, raw: bytes) -> Received:
        """Handle one frame from ``peer``; a refused change is answered to it, never applied."""
        frame = parse_frame(raw)
        if frame.type is MessageType.SYNC:
            if frame.step is SyncStep.STEP1:
                peer.push(sync_frame(SyncStep.STEP2, self.doc.get_update(frame.payload)))
                return Received()
            return self._update(peer, frame.payload)
        if frame.type is MessageType.AWARENESS:
            self._presence(peer, frame.payload)
        elif frame.type is MessageType.QUERY_AWARENESS and self.presence:
            peer.push(awareness_frame(list(self.presence.values())))
        return Received()

    def _update(self, peer: Peer, update: bytes) -> Received:
        if update == _EMPTY_UPDATE:
            return Received()
        scratch: Doc[Any] = Doc()
        scratch.apply_update(self.doc.get_update())
        try:
            scratch.apply_update(update)
        except Exception as exc:  # yrs rejects undecodable bytes
            raise InputError(f"malformed document update: {exc}") from exc
        before = self.notes.to_py() or {}
        after = scratch.get(NOTES, type=Map).to_py() or {}
        if after == before and scratch.get_state() == self.doc.get_state():
            return Received()  # nothing new (a peer's step 2 of what the room has)
        try:
            if not peer.identity.can_write:
                raise PermissionDenied(_READ_ONLY)
            changes = check_changes(before, after, author_id=peer.identity.id, twins=self.twins)
        except TwinverseError as exc:
            log.info("refused a change to %s by %s: %s", self.plant_id, peer.identity.id, exc.message)
            peer.push(auth_denied(exc.message))
            return Received(refused=exc.message)
        self.doc.apply_update(update)
        self._save()
        self._broadcast(sync_frame(SyncStep.UPDATE, update), skip=peer)
        return Received(changes=changes, update=update)

    def _presence(self, peer: Peer, payload: bytes) -> None:
        entries = []
        for e in decode_awareness(payload):
            owned = self.peers.setdefault(peer, set())
            if e.client not in owned and any(e.client in ids for p, ids in self.peers.items() if p is not peer):
                continue  # another connection speaks for this client id
            known = self.presence.get(e.client)
            if known is not None and e.clock < known.clock:
                continue  # stale
            if e.state is None:
                owned.discard(e.client)
                self.presence.pop(e.client, None)
                entries.append(e)
                continue
            owned.add(e.client)
            state = {**e.state, "user": peer.identity.user(e.client, e.state.get("user"))}
            entry = AwarenessEntry(e.client, e.clock, state)
            self.presence[e.client] = entry
            entries.append(entry)
        if entries:
            # Everyone, the sender too: y-websocket counts it as a sign of life of the connection.
            self._broadcast(awareness_frame(entries))

    # -- internals --------------------------------------------------------------------------
    def _broadcast(self, frame: bytes, skip: Peer | None = None) -> None:
        for p in list(self.peers):
            if p is not skip:
                p.push(frame)

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            f.write(self.doc.get_update())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def annotations(self) -> list[dict[str, Any]]:
        """Every note, oldest first."""
        notes = self.notes.to_py() or {}
        return sorted((dict(v) for v in notes.values()), key=lambda n: (n.get("created", 0), n.get("id", "")))

    def who(self) -> list[dict[str, Any]]:
        """The presence state of everyone here (``user`` as the server stamped it)."""
        return [dict(e.state, client=e.client) for e in self.presence.values() if e.state is not None]
