"""``/ws/collab/{plant}``: the y-websocket room, spoken by a pycrdt document as the client.

Token mode with real identities (an operator and a viewer): the handshake is authorised,
an operator's note is applied, persisted, logged and sent to the others; a viewer's is
refused with a permission-denied frame and changes nothing; presence carries the server's
name and role whatever the client claims.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pycrdt import Doc, Map
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from twinverse.api import create_app
from twinverse.collab.protocol import AwarenessEntry, MessageType, SyncStep, awareness_frame, parse_frame, sync_frame
from twinverse.config import Settings
from twinverse.platform import example_path
from twinverse.trust import Role

FILLER = "bottling/line1/filler"


@pytest.fixture
def app_and_tokens(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app = create_app(Settings(data_dir=tmp_path / "data", plant=example_path(), auth="token"))
    trust = app.state.platform.trust
    admin = trust.local_admin()
    tokens = {}
    for name, role in (("Ada", Role.OPERATOR), ("Vic", Role.VIEWER), ("Bo", Role.OPERATOR)):
        ident, _ = trust.access.create_identity(admin, "default", name, role=role)
        _, tokens[name] = trust.access.create_token(admin, ident.did, "default", name=name)
    with TestClient(app) as c:
        yield c, tokens


class YClient:
    """A y-websocket client: a pycrdt document synchronised over one TestClient websocket."""

    def __init__(self, ws: WebSocketTestSession) -> None:
        self.ws = ws
        self.doc: Doc[Any] = Doc()
        self.notes: Map[Any] = self.doc.get("annotations", type=Map)
        self.denied: list[str] = []
        self.presence: dict[int, Any] = {}
        first = parse_frame(ws.receive_bytes())  # the server's state vector
        assert first.type is MessageType.SYNC and first.step is SyncStep.STEP1
        self.server_state = first.payload
        ws.send_bytes(sync_frame(SyncStep.STEP1, self.doc.get_state()))
        self.until(lambda f: f.type is MessageType.SYNC and f.step is SyncStep.STEP2)

    def until(self, done: Any) -> None:
        """Read frames (applying them) until one satisfies ``done``."""
        for _ in range(50):
            f = parse_frame(self.ws.receive_bytes())
            if f.type is MessageType.SYNC and f.step in (SyncStep.STEP2, SyncStep.UPDATE):
                self.doc.apply_update(f.payload)
            elif f.type is MessageType.AUTH:
                self.denied.append(f.payload.decode() if f.payload else "")
            elif f.type is MessageType.AWARENESS:
                from twinverse.collab.protocol import decode_awareness

                for e in decode_awareness(f.payload):
                    self.presence[e.client] = e.state
            if done(f):
                return
        raise AssertionError("the expected frame did not come")

    def write_note(self, note_id: str, **note: Any) -> None:
        before = self.doc.get_state()
        self.notes[note_id] = note
        self.ws.send_bytes(sync_frame(SyncStep.UPDATE, self.doc.get_update(before)))


def _note(note_id: str, author: str, author_id: str, text: str = "check the seal") -> dict[str, Any]:
    return {"id": note_id, "twin": FILLER, "text": text, "author": author, "author_id": author_id,
            "created": 1764740000000, "status": "open"}  # fmt: skip


def _did(client: TestClient, token: str) -> str:
    me = client.get("/api/collab/me", headers={"authorization": f"Bearer {token}"}).json()
    return str(me["id"])


def test_handshake_needs_a_token(app_and_tokens: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = app_and_tokens
    with client.websocket_connect("/ws/collab/bottling") as ws, pytest.raises(WebSocketDisconnect) as err:
        ws.receive_bytes()
    assert err.value.code == 1008 and err.value.reason == "a valid bearer token is required"


def test_another_plant_is_refused(app_and_tokens: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app_and_tokens
    with client.websocket_connect(f"/ws/collab/other?access_token={tokens['Ada']}") as ws, pytest.raises(
        WebSocketDisconnect
    ) as err:
        ws.receive_bytes()
    assert err.value.code == 1008 and "no plant 'other' here" in err.value.reason


def test_operator_writes_viewer_reads_and_is_refused(app_and_tokens: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app_and_tokens
    ada, vic = _did(client, tokens["Ada"]), _did(client, tokens["Vic"])
    log_before = client.app.state.platform.trust.ledger.size  # type: ignore[attr-defined]
    with client.websocket_connect(f"/ws/collab/bottling?access_token={tokens['Ada']}") as wa, \
         client.websocket_connect(f"/ws/collab/bottling?access_token={tokens['Vic']}") as wv:  # fmt: skip
        a, v = YClient(wa), YClient(wv)
        a.write_note("n1", **_note("n1", "Ada", ada))
        v.until(lambda f: f.type is MessageType.SYNC and f.step is SyncStep.UPDATE)
        assert v.notes.to_py()["n1"]["text"] == "check the seal"

        v.write_note("n2", **_note("n2", "Vic", vic, "viewer was here"))
        v.until(lambda f: f.type is MessageType.AUTH)
        assert v.denied == ["viewers read annotations; writing needs an operator (permission 'annotation:write')"]

        # the operator may resolve it; it may not delete it nor pose as someone else
        note = dict(a.notes.to_py()["n1"], status="resolved", resolved_by="Ada", resolved_at=1764740001000)
        a.write_note("n1", **note)
        a.write_note("n3", **_note("n3", "Vic", vic))
        a.until(lambda f: f.type is MessageType.AUTH)
        assert a.denied == [f"annotation 'n3': 'author_id' must be your own identity ({ada})"]

    notes = client.get("/api/collab/annotations", headers={"authorization": f"Bearer {tokens['Vic']}"}).json()
    assert [(n["id"], n["status"], n["author"]) for n in notes] == [("n1", "resolved", "Ada")]
    trust = client.app.state.platform.trust  # type: ignore[attr-defined]
    entries = [json.loads(e) for e in trust.ledger.entries(log_before, trust.ledger.size)]
    mine = [(e["action"], e["target"], e["actor"]) for e in entries if e["action"].startswith("annotation.")]
    target = "annotation:bottling/n1"
    assert mine == [("annotation.create", target, ada), ("annotation.resolve", target, ada)]


def test_notes_survive_a_restart(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", plant=example_path(), auth="open")
    with TestClient(create_app(settings)) as c, c.websocket_connect("/ws/collab/bottling") as ws:
        y = YClient(ws)
        y.write_note("n1", **_note("n1", "guest", "open"))
        ws.send_bytes(sync_frame(SyncStep.STEP1, y.doc.get_state()))  # a round trip: the update was handled
        y.until(lambda f: f.type is MessageType.SYNC and f.step is SyncStep.STEP2)
        assert y.denied == []
    assert (tmp_path / "data" / "collab" / "bottling.ydoc").exists()
    with TestClient(create_app(settings)) as c:
        notes = c.get("/api/collab/annotations").json()
    assert [(n["id"], n["twin"], n["text"]) for n in notes] == [("n1", FILLER, "check the seal")]


def test_presence_is_stamped_by_the_server(app_and_tokens: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app_and_tokens
    with client.websocket_connect(f"/ws/collab/bottling?access_token={tokens['Vic']}") as wv, \
         client.websocket_connect(f"/ws/collab/bottling?access_token={tokens['Bo']}") as wb:  # fmt: skip
        v, b = YClient(wv), YClient(wb)
        claim = {"user": {"name": "The Boss", "role": "admin"}, "camera": {"p": [1, 2, 3], "t": [0, 0, 0]}}
        wv.send_bytes(awareness_frame([AwarenessEntry(4242, 1, claim)]))
        b.until(lambda f: f.type is MessageType.AWARENESS and 4242 in b.presence)
        seen = b.presence[4242]
        assert seen["user"]["name"] == "Vic" and seen["user"]["role"] == "viewer" and seen["user"]["canWrite"] is False
        assert seen["camera"] == {"p": [1, 2, 3], "t": [0, 0, 0]}
        who = client.get("/api/collab/presence", headers={"authorization": f"Bearer {tokens['Bo']}"}).json()
        assert [(w["client"], w["user"]["name"]) for w in who] == [(4242, "Vic")]
        wv.close()
        b.until(lambda f: f.type is MessageType.AWARENESS and b.presence.get(4242, 1) is None)
    del v


def test_an_unreadable_document_closes_the_room_with_a_reason(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "collab"
    folder.mkdir(parents=True)
    (folder / "bottling.ydoc").write_bytes(b"not a yjs update")
    settings = Settings(data_dir=tmp_path / "data", plant=example_path(), auth="open")
    with TestClient(create_app(settings)) as c:
        with c.websocket_connect("/ws/collab/bottling") as ws, pytest.raises(WebSocketDisconnect) as err:
            ws.receive_bytes()
        assert err.value.code == 1011 and err.value.reason.startswith("the shared document ")
        r = c.get("/api/collab/annotations")
    assert r.status_code == 503 and r.json()["detail"].startswith("the shared document ")


def test_a_client_that_falls_behind_is_closed_not_queued_forever() -> None:
    """Past QUEUE frames waiting, the session stops queueing and its sender closes with 1013."""
    import asyncio

    from twinverse.api.room import QUEUE, RoomSession

    class Socket:
        def __init__(self) -> None:
            self.sent: list[bytes] = []
            self.closed: tuple[int, str] | None = None

        async def send_bytes(self, data: bytes) -> None:
            self.sent.append(data)

        async def close(self, code: int, reason: str) -> None:
            self.closed = (code, reason)

    sock = Socket()
    session = RoomSession(sock, None, "bottling")  # type: ignore[arg-type]
    for k in range(QUEUE + 10):
        session.push(bytes([k % 256]))
    assert session.overflowed and session.queue.qsize() == QUEUE
    asyncio.run(session._send_loop())
    assert sock.closed == (1013, "too slow: reconnect to resynchronise") and sock.sent == []
