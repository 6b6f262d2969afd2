"""The y-websocket wire format, as ``y-protocols`` defines it, on top of pycrdt's codec.

A frame is a varuint message type and its payload:

* ``0`` sync: a varuint step (``0`` step 1 with a state vector, ``1`` step 2 with an update,
  ``2`` an update), then var-length bytes. pycrdt applies and answers them
  (:func:`pycrdt.handle_sync_message`); here they are only taken apart, so that a room can
  check an update before it reaches the document.
* ``1`` awareness: var-length bytes holding ``count`` entries of (client id, clock, JSON state;
  ``null`` means the client left).
* ``2`` auth: ``0`` (permission denied) and a reason; y-websocket reports it to the page.
* ``3`` query awareness: the peer asks for every state.

Strings are UTF-8 with their *byte* length (pycrdt's ``Encoder.write_var_string`` counts
characters, which breaks names outside ASCII, so strings are written here).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from pycrdt import Decoder, create_awareness_message, write_var_uint

from ..errors import InputError

__all__ = [
    "AwarenessEntry",
    "Frame",
    "MessageType",
    "SyncStep",
    "auth_denied",
    "awareness_frame",
    "decode_awareness",
    "parse_frame",
    "sync_frame",
]


class MessageType(IntEnum):
    """The first varuint of a y-websocket frame."""

    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3


class SyncStep(IntEnum):
    """The second varuint of a sync frame."""

    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its type, the sync step (sync frames only) and the payload bytes.

    The payload of a sync frame is a state vector or an update, of an awareness frame the
    awareness update, of an auth frame the UTF-8 reason.
    """

    type: MessageType
    payload: bytes
    step: SyncStep | None = None


@dataclass(frozen=True)
class AwarenessEntry:
    """One client's presence state at ``clock`` (``state`` None: the client left)."""

    client: int
    clock: int
    state: dict[str, Any] | None


def _bytes(data: bytes) -> bytes:
    return write_var_uint(len(data)) + data


def parse_frame(raw: bytes) -> Frame:
    """Take a y-websocket frame apart; :class:`InputError` for anything malformed."""
    try:
        dec = Decoder(raw)
        kind = MessageType(dec.read_var_uint())
        if kind is MessageType.SYNC:
            step = SyncStep(dec.read_var_uint())
            return Frame(kind, dec.read_message() or b"", step)
        if kind is MessageType.AWARENESS:
            return Frame(kind, dec.read_message() or b"")
        if kind is MessageType.AUTH:  # 0 (permission denied), then the reason
            dec.read_var_uint()
            return Frame(kind, dec.read_message() or b"")
        return Frame(kind, b"")
    except (ValueError, IndexError, RuntimeError) as exc:
        raise InputError(f"malformed y-websocket frame: {exc}") from exc


def sync_frame(step: SyncStep, data: bytes) -> bytes:
    """A sync frame: step 1 (``data`` a state vector), step 2 or an update (``data`` an update)."""
    return write_var_uint(MessageType.SYNC) + write_var_uint(step) + _bytes(data)


def auth_denied(reason: str) -> bytes:
    """The frame that tells a y-websocket client its change was refused, and why."""
    return write_var_uint(MessageType.AUTH) + write_var_uint(0) + _bytes(reason.encode())


def decode_awareness(payload: bytes) -> list[AwarenessEntry]:
    """The entries of an awareness update; :class:`InputError` when malformed."""
    try:
        dec = Decoder(payload)
        out = []
        for _ in range(dec.read_var_uint()):
            client = dec.read_var_uint()
            clock = dec.read_var_uint()
            text = (dec.read_message() or b"").decode()
            state = json.loads(text) if text else None
            if state is not None and not isinstance(state, dict):
                raise ValueError("a presence state is a JSON object or null")
            out.append(AwarenessEntry(client, clock, state))
        return out
    except (ValueError, IndexError, RuntimeError, UnicodeDecodeError) as exc:
        raise InputError(f"malformed awareness update: {exc}") from exc


def awareness_frame(entries: list[AwarenessEntry]) -> bytes:
    """An awareness frame carrying ``entries``."""
    body = write_var_uint(len(entries))
    for e in entries:
        text = json.dumps(e.state, separators=(",", ":"), ensure_ascii=False).encode()
        body += write_var_uint(e.client) + write_var_uint(e.clock) + _bytes(text)
    return bytes(create_awareness_message(body))
