"""The shared scene: who is here and the notes pinned to machines, on a CRDT document.

Presence is Yjs awareness and the notes are a Yjs map, synchronised with the y-websocket
protocol; the server side is pycrdt (yrs). See ``docs/collaboration.md``.
"""

from __future__ import annotations

from .notes import MAX_NOTE_TEXT, STATUSES, NoteChange, check_changes
from .room import NOTES, Identity, Peer, Received, Room, colour_of
from .service import Collab

__all__ = [
    "MAX_NOTE_TEXT",
    "NOTES",
    "STATUSES",
    "Collab",
    "Identity",
    "NoteChange",
    "Peer",
    "Received",
    "Room",
    "check_changes",
    "colour_of",
]
