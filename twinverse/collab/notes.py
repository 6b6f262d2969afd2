"""Annotations: the rules a change to a plant's notes must follow, checked before it lands.

The shared document holds one map, ``annotations``: note id → a JSON object::

    {"id": "n-…", "twin": "bottling/line1/filler", "text": "check the seal", "author": "Ada",
     "author_id": "did:key:…", "created": 1764740000000, "status": "open",
     "resolved_by": null, "resolved_at": null}

:func:`check_changes` compares the notes before and after an update and says what changed
(:class:`NoteChange`, one per note, each logged) or refuses the whole update with a
:class:`~twinverse.errors.PermissionDenied` (a rule of ownership) or an
:class:`~twinverse.errors.InputError` (a malformed note). Notes are resolved, never deleted,
so the log and the document tell the same story.
"""

from __future__ import annotations

import hashlib
from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..core.batch import TS_TYPE
from ..errors import InputError, PermissionDenied

__all__ = ["MAX_NOTES", "MAX_NOTE_TEXT", "STATUSES", "NoteChange", "check_changes", "notes_table"]

#: Longest note text (characters).
MAX_NOTE_TEXT = 2000
#: Most notes one plant keeps.
MAX_NOTES = 5000
STATUSES = ("open", "resolved")
_FIELDS = {"id", "twin", "text", "author", "author_id", "created", "status", "resolved_by", "resolved_at"}
_FIXED = ("id", "twin", "author", "author_id", "created")


@dataclass(frozen=True)
class NoteChange:
    """One note created, edited, resolved or reopened: the log entry it becomes."""

    action: str  # annotation.create | annotation.edit | annotation.resolve | annotation.reopen
    note: str
    twin: str
    status: str
    text_sha256: str

    def details(self) -> dict[str, Any]:
        return {"note": self.note, "twin": self.twin, "status": self.status, "text_sha256": self.text_sha256}


def _well_formed(key: str, note: Any, twins: Container[str]) -> dict[str, Any]:
    if not isinstance(note, dict):
        raise InputError(f"annotation {key!r}: must be an object")
    extra = set(note) - _FIELDS
    if extra:
        raise InputError(f"annotation {key!r}: unknown field(s) {sorted(extra)}")
    if note.get("id") != key:
        raise InputError(f"annotation {key!r}: 'id' must equal its key")
    if not isinstance(note.get("twin"), str) or note["twin"] not in twins:
        raise InputError(f"annotation {key!r}: 'twin' must name a twin of this plant, got {note.get('twin')!r}")
    text = note.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_NOTE_TEXT:
        raise InputError(f"annotation {key!r}: 'text' must be 1 to {MAX_NOTE_TEXT} characters")
    if note.get("status") not in STATUSES:
        raise InputError(f"annotation {key!r}: 'status' must be one of {list(STATUSES)}")
    created = note.get("created")
    if isinstance(created, bool) or not isinstance(created, (int, float)):
        raise InputError(f"annotation {key!r}: 'created' must be epoch milliseconds")
    return note


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def check_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], *, author_id: str, twins: Container[str]
) -> list[NoteChange]:
    """What an update by ``author_id`` changes in the notes; raises if any change breaks a rule.

    >>> note = {"id": "n1", "twin": "p/m", "text": "hi", "author": "Ada", "author_id": "did:a",
    ...         "created": 1, "status": "open"}
    >>> [c.action for c in check_changes({}, {"n1": note}, author_id="did:a", twins={"p/m"})]
    ['annotation.create']
    """
    gone = sorted(set(before) - set(after))
    if gone:
        raise PermissionDenied(f"annotations are resolved, not deleted: {gone[0]!r}")
    if len(after) > MAX_NOTES:
        raise InputError(f"at most {MAX_NOTES} annotations per plant")
    out = []
    for key in sorted(after):
        new = after[key]
        old = before.get(key)
        if old == new:
            continue
        note = _well_formed(key, new, twins)
        if old is None:
            if note["author_id"] != author_id:
                raise PermissionDenied(f"annotation {key!r}: 'author_id' must be your own identity ({author_id})")
            if note["status"] != "open":
                raise InputError(f"annotation {key!r}: a new annotation is open")
            action = "annotation.create"
        else:
            for name in _FIXED:
                if old.get(name) != note.get(name):
                    raise PermissionDenied(f"annotation {key!r}: {name!r} cannot change")
            if old.get("text") != note["text"]:
                if note["author_id"] != author_id:
                    raise PermissionDenied(f"annotation {key!r}: only its author edits its text")
                action = "annotation.edit"
            elif old.get("status") != note["status"]:
                action = "annotation.resolve" if note["status"] == "resolved" else "annotation.reopen"
            else:
                action = "annotation.edit"
        out.append(NoteChange(action, key, note["twin"], note["status"], _sha(note["text"])))
    return out


def notes_table(notes: list[dict[str, Any]]) -> pa.Table:
    """Notes (:meth:`Room.annotations <twinverse.collab.room.Room.annotations>`) as the query service's
    ``annotations`` table; ``created`` and ``resolved_at`` are epoch milliseconds in the document."""

    def col(name: str) -> pa.Array:
        return pa.array([n.get(name) if isinstance(n.get(name), str) else None for n in notes], pa.string())

    def ms(name: str) -> pa.Array:
        v = [n.get(name) for n in notes]
        us = [int(x * 1000) if isinstance(x, (int, float)) and not isinstance(x, bool) else None for x in v]
        return pa.array(us, pa.int64()).cast(TS_TYPE)

    return pa.table({
        "id": col("id"), "twin": col("twin"), "text": col("text"), "author": col("author"),
        "author_id": col("author_id"), "created": ms("created"), "status": col("status"),
        "resolved_by": col("resolved_by"), "resolved_at": ms("resolved_at"),
    })  # fmt: skip
