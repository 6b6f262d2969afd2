"""The transparency log: batched appends, checkpoints, proofs, append-only storage."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinverse.trust import TrustService
from twinverse.trust.errors import ProofError
from twinverse.trust.identity import Keypair
from twinverse.trust.ledger import Ledger, make_entry
from twinverse.trust.merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from twinverse.trust.note import Checkpoint
from twinverse.trust.store import SqliteTrustStore


def _ledger(tmp_path: Path) -> Ledger:
    return Ledger(SqliteTrustStore(tmp_path / "t.sqlite", synchronous="OFF"), Keypair.from_seed(bytes(32)), "test/log")


def test_a_batch_gets_one_checkpoint(tmp_path: Path) -> None:
    log = _ledger(tmp_path)
    entries = [f"entry {i}".encode() for i in range(100)]
    r = log.append(entries)
    assert (r.start, r.size) == (0, 100)
    assert r.root == MerkleTree([leaf_hash(e) for e in entries]).root()
    assert [s for s, _ in log.checkpoints()] == [0, 100]  # the empty tree, then this batch
    cp = Checkpoint.open(log.checkpoint(), log.verifier)
    assert (cp.origin, cp.size, cp.root) == ("test/log", 100, r.root)


def test_proofs_verify_against_signed_checkpoints(tmp_path: Path) -> None:
    log = _ledger(tmp_path)
    log.append([b"a", b"b", b"c"])
    old = Checkpoint.open(log.checkpoint(), log.verifier)
    log.append([b"d", b"e"])
    new = Checkpoint.open(log.checkpoint(), log.verifier)
    for i, e in enumerate([b"a", b"b", b"c", b"d", b"e"]):
        assert log.entry(i) == e
        verify_inclusion(leaf_hash(e), i, new.size, log.inclusion_proof(i), new.root)
    verify_consistency(old.size, new.size, log.consistency_proof(old.size, new.size), old.root, new.root)
    with pytest.raises(ProofError, match="beyond the log"):
        log.consistency_proof(1, 99)


def test_failed_transaction_leaves_no_trace(tmp_path: Path) -> None:
    log = _ledger(tmp_path)
    log.append([b"kept"])
    with pytest.raises(RuntimeError), log.transaction():
        log.record("thing.change", "thing:1")
        raise RuntimeError("the change failed")
    assert log.size == 1 and log.store.log_size() == 1
    log.append([b"next"])
    assert log.root() == MerkleTree([leaf_hash(b"kept"), leaf_hash(b"next")]).root()


def test_storage_is_append_only(tmp_path: Path) -> None:
    log = _ledger(tmp_path)
    log.append([b"a", b"b"])
    con = sqlite3.connect(tmp_path / "t.sqlite")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE log_entries SET data = x'00' WHERE idx = 0")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM log_entries WHERE idx = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM checkpoints")
    con.close()


def test_a_second_process_sees_and_extends_the_same_log(tmp_path: Path) -> None:
    a = TrustService(tmp_path, synchronous="OFF")
    b = TrustService(tmp_path, synchronous="OFF")
    assert a.ledger.origin == b.ledger.origin
    a.log_action(None, "x.one", "x:1")
    b.log_action(None, "x.two", "x:2")  # b syncs a's entry before appending
    assert a.ledger.root() == b.ledger.root()
    assert a.ledger.size == b.ledger.size == 2
    a.close()
    b.close()


def test_reopening_needs_the_same_key(tmp_path: Path) -> None:
    t = TrustService(tmp_path, passphrase="s3cret", synchronous="OFF")
    t.log_action(None, "x", "y")
    origin = t.ledger.origin
    t.close()
    again = TrustService(tmp_path, passphrase="s3cret", synchronous="OFF")
    assert again.ledger.origin == origin and again.ledger.size == 1
    again.close()
    (tmp_path / "keys" / "log.pem").unlink()
    from twinverse.errors import ConfigError

    with pytest.raises(ConfigError, match="signing key is missing"):
        TrustService(tmp_path, synchronous="OFF")


def test_entries_are_canonical_json() -> None:
    from datetime import UTC, datetime

    e = make_entry(
        time=datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        action="plant.update",
        target="twin:plant/line1",
        actor="did:key:z6Mk",
        tenant="acme",
        body_sha256="ab" * 32,
    )
    assert e == (
        b'{"action":"plant.update","actor":"did:key:z6Mk","body_sha256":"'
        + b"ab" * 32
        + b'","target":"twin:plant/line1",'
        b'"tenant":"acme","time":"2025-01-02T03:04:05.000006Z","v":1}'
    )


def test_log_action_records_who_did_what(trust: TrustService) -> None:
    admin = trust.local_admin()
    i = trust.log_action(admin, "plant.update", "twin:plant/line1", body_sha256="00" * 32)
    rec = orjson.loads(trust.ledger.entry(i))
    assert rec["actor"] == admin.id and rec["tenant"] == "default" and rec["action"] == "plant.update"
    assert rec["body_sha256"] == "00" * 32


# -- the reader by action ----------------------------------------------------------------------
def _logged(log: Ledger, records: list[tuple[str, str]]) -> None:
    with log.transaction():
        for action, target in records:
            log.record(action, target)


def _naive(log: Ledger, action: str, prefix: str, start: int, stop: int) -> list[int]:
    """The reader's answer by its definition: parse every entry, compare the fields."""
    out = []
    for i, data in enumerate(log.entries(start, stop), start):
        rec = orjson.loads(data)
        if rec["action"] == action and rec["target"].startswith(prefix):
            out.append(i)
    return out


def test_entries_by_action_picks_action_and_target_prefix(tmp_path: Path) -> None:
    log = _ledger(tmp_path)
    _logged(
        log,
        [
            ("history.segment.sealed", "history:a:2025-01-01T00:00:00Z"),
            ("history.segment.sealed", "history:ab:2025-01-01T00:00:00Z"),  # another plant, same prefix start
            ("plant.update", "history:a:2025-01-01T00:10:00Z"),
            ("history.segment.sealed", "history:a:2025-01-01T00:10:00Z"),
        ],
    )
    found = list(log.entries_by_action("history.segment.sealed", "history:a:"))
    assert [e.index for e in found] == [0, 3] and all(e.intact for e in found)
    assert found[1].record()["target"] == "history:a:2025-01-01T00:10:00Z" and found[1].data == log.entry(3)
    newest = log.entries_by_action("history.segment.sealed", "history:a:", newest_first=True)
    assert [e.index for e in newest] == [3, 0]
    assert [e.index for e in log.entries_by_action("history.segment.sealed")] == [0, 1, 3]
    assert [e.index for e in log.entries_by_action("history.segment.sealed", start=1, stop=3)] == [1]
    assert list(log.entries_by_action("plant.update", "twin:")) == []


def test_entries_by_action_ignores_fields_of_the_same_name_inside_details(tmp_path: Path) -> None:
    log = _ledger(tmp_path)
    with log.transaction():
        log.record("note", "note:1", details={"action": "plant.update", "target": "plant:x"})
        log.record("plant.update", "plant:x")
    assert [e.index for e in log.entries_by_action("plant.update", "plant:")] == [1]


def test_a_candidate_that_is_not_json_is_yielded_for_the_caller_to_report(tmp_path: Path) -> None:
    log = _ledger(tmp_path)
    log.append([b'{"action":"plant.update","target":"plant:x" broken', b"unrelated"])
    [e] = log.entries_by_action("plant.update", "plant:")
    assert (e.index, e.intact) == (0, True)
    with pytest.raises(ValueError):
        e.record()


def test_check_leaves_flags_an_altered_entry_whatever_its_target(tmp_path: Path) -> None:
    log = _ledger(tmp_path)
    _logged(log, [("plant.update", "plant:x"), ("plant.update", "plant:x"), ("plant.update", "plant:y")])
    con = sqlite3.connect(tmp_path / "t.sqlite")
    con.execute("DROP TRIGGER log_no_update")
    # Entry 1 rewritten to name another plant: its target can no longer be trusted.
    altered = log.entry(1).replace(b"plant:x", b"plant:z")
    con.execute("UPDATE log_entries SET data = ? WHERE idx = 1", (altered,))
    con.commit()
    con.close()
    assert [e.index for e in log.entries_by_action("plant.update", "plant:x")] == [0]  # unchecked: missed
    checked = list(log.entries_by_action("plant.update", "plant:x", check_leaves=True))
    assert [(e.index, e.intact) for e in checked] == [(0, True), (1, False)]
    back = log.entries_by_action("plant.update", "plant:x", check_leaves=True, newest_first=True)
    assert [(e.index, e.intact) for e in back] == [(1, False), (0, True)]


@pytest.mark.parametrize("newest_first", [False, True])
@pytest.mark.parametrize("check_leaves", [False, True])
def test_entries_by_action_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newest_first: bool, check_leaves: bool
) -> None:
    import twinverse.trust.ledger as ledger_module

    monkeypatch.setattr(ledger_module, "_FORWARD_CHUNK", 3)
    monkeypatch.setattr(ledger_module, "_BACKWARD_CHUNK", 4)
    log = _ledger(tmp_path)
    _logged(log, [("a" if i % 3 else "b", f"t:{i}") for i in range(23)])
    for start, stop in [(0, 23), (1, 22), (5, 6), (7, 7), (4, 19)]:
        got = [
            e.index
            for e in log.entries_by_action(
                "a", "t:", start=start, stop=stop, newest_first=newest_first, check_leaves=check_leaves
            )
        ]
        want = _naive(log, "a", "t:", start, stop)
        assert got == (want[::-1] if newest_first else want), (start, stop)


@settings(max_examples=60, deadline=None)
@given(
    records=st.lists(st.tuples(st.sampled_from(["x.y", "x.z", "x"]), st.sampled_from(["p:1", "p:12", "q:1", "p:"]))),
    prefix=st.sampled_from(["", "p:", "p:1", "q"]),
    data=st.data(),
)
def test_entries_by_action_equals_parsing_every_entry(
    records: list[tuple[str, str]], prefix: str, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = _ledger(Path(tmp))
        try:
            if records:
                _logged(log, records)
            start = data.draw(st.integers(0, len(records)))
            stop = data.draw(st.integers(start, len(records)))
            for action in ("x.y", "x.z", "x"):
                want = _naive(log, action, prefix, start, stop)
                fwd = [e.index for e in log.entries_by_action(action, prefix, start=start, stop=stop)]
                back = [
                    e.index for e in log.entries_by_action(action, prefix, start=start, stop=stop, newest_first=True)
                ]
                assert fwd == want and back == want[::-1]
        finally:
            log.store.close()
