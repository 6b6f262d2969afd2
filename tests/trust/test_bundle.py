"""The offline verifier: every tampering case of issue 6 is detected with a precise message."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinverse.trust import TrustService, verify_bundle
from twinverse.trust.bundle import CHECKPOINTS, ENTRIES, LEAVES, MANIFEST
from twinverse.trust.identity import Keypair
from twinverse.trust.merkle import MerkleTree, leaf_hash
from twinverse.trust.note import Checkpoint, NoteSigner


def _fill(trust: TrustService, batches: list[int]) -> None:
    n = 0
    for size in batches:
        trust.ledger.append([f"entry {n + i} payload".encode() for i in range(size)])
        n += size


@pytest.fixture
def bundle(trust: TrustService, tmp_path: Path) -> Path:
    _fill(trust, [3, 4, 1, 5])  # checkpoints at sizes 0, 3, 7, 8, 13
    out = tmp_path / "bundle"
    trust.export_log(out)
    return out


def read_entries(path: Path) -> list[bytes]:
    data, out, pos = (path / ENTRIES).read_bytes(), [], 0
    while pos < len(data):
        n = int.from_bytes(data[pos : pos + 4], "big")
        out.append(data[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return out


def write_entries(path: Path, entries: list[bytes], *, leaves: bool = False) -> None:
    (path / ENTRIES).write_bytes(b"".join(len(e).to_bytes(4, "big") + e for e in entries))
    if leaves:
        (path / LEAVES).write_bytes(b"".join(leaf_hash(e) for e in entries))


def notes(path: Path) -> list[str]:
    return [orjson.loads(line) for line in (path / CHECKPOINTS).read_bytes().splitlines()]


def write_notes(path: Path, items: list[str]) -> None:
    (path / CHECKPOINTS).write_bytes(b"".join(orjson.dumps(n) + b"\n" for n in items))


def messages(path: Path, **kw: str) -> list[str]:
    return [str(p) for p in verify_bundle(path, **kw).problems]


def test_an_untouched_bundle_verifies(bundle: Path, trust: TrustService) -> None:
    report = verify_bundle(bundle, key=trust.ledger.verifier.key)
    assert report.ok, report.problems
    assert (report.entries, report.checkpoints, report.size) == (13, 5, 13)
    assert report.root == trust.ledger.root()
    assert report.summary().startswith("OK: 13 entries and 5 signed checkpoints verified")


def test_changed_byte_in_an_entry_names_the_entry(bundle: Path) -> None:
    entries = read_entries(bundle)
    entries[5] = entries[5][:3] + bytes([entries[5][3] ^ 1]) + entries[5][4:]
    write_entries(bundle, entries)
    msg, later = messages(bundle)
    assert msg.startswith("entries.bin: entry 5: entry 5 was altered: its bytes hash to")
    assert "checkpoints.jsonl:3 (size 7)" in msg
    assert later == "checkpoints.jsonl: 2 later checkpoint(s) fail for the same reason"


def test_changed_entry_with_forged_leaf_hashes_is_located_between_checkpoints(bundle: Path) -> None:
    entries = read_entries(bundle)
    entries[5] = b"forged"
    write_entries(bundle, entries, leaves=True)
    msgs = messages(bundle)
    assert msgs[0].startswith("checkpoints.jsonl:3: entries 3..6 were changed, removed or inserted")
    assert "later checkpoint(s) fail" in msgs[1]


def test_removed_entry_is_named(bundle: Path) -> None:
    entries = read_entries(bundle)
    del entries[4]
    write_entries(bundle, entries)
    msgs = messages(bundle)
    assert any("entry 4 was removed" in m for m in msgs), msgs
    assert any("manifest says 13 entries, entries.bin holds 12" in m for m in msgs)


def test_removed_last_entry_is_missing_from_the_last_checkpoint(bundle: Path) -> None:
    entries = read_entries(bundle)
    write_entries(bundle, entries[:-1], leaves=True)
    msgs = messages(bundle)
    assert any("signs tree size 13 but the bundle holds only 12 entries" in m for m in msgs), msgs


def test_rolled_back_log_is_detected_with_an_earlier_checkpoint(
    bundle: Path, trust: TrustService, tmp_path: Path
) -> None:
    later = trust.ledger.checkpoint()  # size 13
    # The operator rolls the log back to size 8: drop the newer entries and checkpoints.
    write_entries(bundle, read_entries(bundle)[:8], leaves=True)
    write_notes(bundle, notes(bundle)[:4])
    manifest = orjson.loads((bundle / MANIFEST).read_bytes())
    manifest["size"] = 8
    (bundle / MANIFEST).write_bytes(orjson.dumps(manifest))
    assert verify_bundle(bundle).ok  # alone, a shorter log looks fine ...
    msgs = messages(bundle, since=later)  # ... but not next to what the auditor saw before
    assert msgs == [
        "--since: rolled back: the earlier checkpoint commits to 13 entries but this log's latest checkpoint "
        "only to 8 (5 entries gone)"
    ]


def test_since_an_earlier_checkpoint_passes_with_a_consistency_proof(trust: TrustService, tmp_path: Path) -> None:
    _fill(trust, [6])
    earlier = trust.ledger.checkpoint()
    _fill(trust, [7, 2])
    trust.export_log(tmp_path / "b")
    report = verify_bundle(tmp_path / "b", since=earlier)
    assert report.ok and report.since == 6
    assert any("consistency proof from size 6 to 15 verified" in n for n in report.notes)


def test_rewritten_history_is_detected_against_an_earlier_checkpoint(trust: TrustService, tmp_path: Path) -> None:
    _fill(trust, [4])
    honest = Checkpoint.open(trust.ledger.checkpoint(), trust.ledger.verifier)
    _fill(trust, [2])
    out = tmp_path / "b"
    trust.export_log(out)
    # The operator, holding the key, rewrites entry 1 and re-signs every checkpoint.
    entries = read_entries(out)
    entries[1] = b"rewritten"
    write_entries(out, entries, leaves=True)
    tree, signer = MerkleTree([leaf_hash(e) for e in entries]), trust.ledger.signer
    write_notes(out, [Checkpoint(trust.ledger.origin, s, tree.root(s)).sign(signer) for s in (0, 4, 6)])
    assert verify_bundle(out).ok  # self-consistent forgery ...
    msgs = messages(out, since=Checkpoint(honest.origin, honest.size, honest.root).sign(signer))
    # ... but the auditor's earlier checkpoint proves the fork
    assert any("fork: --since and checkpoints.jsonl:2 are both validly signed for tree size 4" in m for m in msgs)
    assert any("rewritten: the log's first 4 entries now hash to root" in m for m in msgs), msgs


def test_checkpoint_signed_by_another_key(bundle: Path, trust: TrustService) -> None:
    items = notes(bundle)
    cp = Checkpoint.parse(items[2].split("\n\n")[0] + "\n")
    mallory = NoteSigner(trust.ledger.origin, Keypair.from_seed(bytes(31) + b"\x07"))
    items[2] = cp.sign(mallory)
    write_notes(bundle, items)
    (msg,) = messages(bundle)
    assert msg.startswith(f"checkpoints.jsonl:3: checkpoint (size 7): not signed by the log key {trust.ledger.origin}+")
    assert "(signed by: " in msg


def test_whole_bundle_resigned_with_another_key_fails_against_the_pinned_key(bundle: Path, trust: TrustService) -> None:
    pinned = trust.ledger.verifier.key
    mallory = NoteSigner(trust.ledger.origin, Keypair.from_seed(bytes(31) + b"\x07"))
    items = [Checkpoint.parse(n.split("\n\n")[0] + "\n").sign(mallory) for n in notes(bundle)]
    write_notes(bundle, items)
    manifest = orjson.loads((bundle / MANIFEST).read_bytes())
    manifest["log_key"] = mallory.verifier.key
    (bundle / MANIFEST).write_bytes(orjson.dumps(manifest))
    msgs = messages(bundle, key=pinned)
    assert (
        msgs[0]
        == f"manifest.json: log_key: the bundle's log key {mallory.verifier.key} is not the expected key {pinned}"
    )
    assert sum("not signed by the log key" in m for m in msgs) == 5
    assert msgs[-1] == "checkpoints.jsonl: no checkpoint signed by the log key: nothing vouches for these entries"


def test_altered_checkpoint_text_fails_its_signature(bundle: Path) -> None:
    items = notes(bundle)
    items[1] = items[1].replace("\n3\n", "\n4\n", 1)
    write_notes(bundle, items)
    (msg,) = messages(bundle)
    assert msg.startswith("checkpoints.jsonl:2: checkpoint (size 4): the signature by")
    assert msg.endswith("does not verify: the text was altered")


def test_two_checkpoints_of_one_size_with_different_roots(bundle: Path, trust: TrustService) -> None:
    items = notes(bundle)
    forged = Checkpoint(trust.ledger.origin, 7, leaf_hash(b"another history")).sign(trust.ledger.signer)
    write_notes(bundle, [*items, forged])
    msgs = messages(bundle)
    assert msgs[0].startswith(
        "checkpoints.jsonl:6: fork: checkpoints.jsonl:3 and checkpoints.jsonl:6 are both validly signed for tree size 7"
    )


def test_entries_past_the_last_checkpoint_are_flagged(bundle: Path) -> None:
    entries = read_entries(bundle)
    write_entries(bundle, [*entries, b"smuggled in"], leaves=True)
    msgs = messages(bundle)
    assert "entries.bin: entry 13: entries 13..13 are not covered by any signed checkpoint" in msgs[-1]


def test_not_a_bundle(tmp_path: Path) -> None:
    assert messages(tmp_path) == ["manifest.json: missing: not a log bundle (no manifest.json)"]


def test_truncated_entries_file(bundle: Path) -> None:
    data = (bundle / ENTRIES).read_bytes()
    (bundle / ENTRIES).write_bytes(data[:-3])
    msgs = messages(bundle)
    assert msgs[0].startswith("entries.bin: entry 12: truncated: entry claims")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_tampering_is_detected(data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Random logs, one random change to a copy of their bundle: verify always objects."""
    tmp = tmp_path_factory.mktemp("hyp")
    t = TrustService(tmp / "data", synchronous="OFF")
    batches = data.draw(st.lists(st.integers(1, 6), min_size=1, max_size=5))
    _fill(t, batches)
    base = tmp / "b0"
    t.export_log(base)
    t.close()
    n = sum(batches)
    out = tmp / "b1"
    shutil.copytree(base, out)
    entries = read_entries(out)
    kind = data.draw(st.sampled_from(["flip", "drop", "insert", "swap", "checkpoint-bit"]))
    sync_leaves = data.draw(st.booleans())
    if kind == "flip":
        i = data.draw(st.integers(0, n - 1))
        j = data.draw(st.integers(0, len(entries[i]) - 1))
        entries[i] = entries[i][:j] + bytes([entries[i][j] ^ (1 << data.draw(st.integers(0, 7)))]) + entries[i][j + 1 :]
    elif kind == "drop":
        del entries[data.draw(st.integers(0, n - 1))]
    elif kind == "insert":
        entries.insert(data.draw(st.integers(0, n)), b"inserted")
    elif kind == "swap":
        if n == 1:
            return  # nothing to swap
        i = data.draw(st.integers(0, n - 2))
        entries[i], entries[i + 1] = entries[i + 1], entries[i]
    if kind == "checkpoint-bit":
        items = notes(out)
        k = data.draw(st.integers(0, len(items) - 1))
        pos = data.draw(st.integers(0, items[k].index("\n\n") - 1))
        items[k] = items[k][:pos] + chr(ord(items[k][pos]) ^ 1) + items[k][pos + 1 :]
        write_notes(out, items)
    else:
        write_entries(out, entries, leaves=sync_leaves)
    assert not verify_bundle(out).ok
