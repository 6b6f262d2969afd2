"""The transparency log: batched appends, checkpoints, proofs, append-only storage."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

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
    import orjson

    rec = orjson.loads(trust.ledger.entry(i))
    assert rec["actor"] == admin.id and rec["tenant"] == "default" and rec["action"] == "plant.update"
    assert rec["body_sha256"] == "00" * 32
