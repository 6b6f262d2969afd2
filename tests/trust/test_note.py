"""C2SP signed notes and checkpoints, against the Go reference implementation's example."""

from __future__ import annotations

import base64

import pytest

from twinverse.trust.errors import ProofError
from twinverse.trust.identity import Keypair
from twinverse.trust.note import Checkpoint, NoteSigner, NoteVerifier, open_note, sign_note, split_note

# golang.org/x/mod/sumdb/note's documented example (Ed25519 is deterministic, so our
# signature must match byte for byte).
VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
SIG = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"


def test_reference_note_is_reproduced() -> None:
    signer = NoteSigner.parse(SKEY)
    assert signer.verifier.key == VKEY
    assert signer.skey == SKEY
    assert sign_note(TEXT, signer) == TEXT + "\n" + SIG


def test_reference_note_opens_and_tampering_fails() -> None:
    v = NoteVerifier.parse(VKEY)
    note = TEXT + "\n" + SIG
    assert open_note(note, v) == TEXT
    with pytest.raises(ProofError, match="does not verify"):
        open_note(note.replace("cryptography", "cryptographY"), v)


def test_other_key_is_named() -> None:
    other = NoteSigner("Mallory", Keypair.from_seed(bytes(32)))
    note = sign_note(TEXT, other)
    with pytest.raises(ProofError, match=r"not signed by the log key PeterNeumann\+c74f20a3 \(signed by: Mallory\+"):
        open_note(note, NoteVerifier.parse(VKEY))


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+AhpcNT2zBpaKHVbu0cE+gbXR7q",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_bad_verifier_keys(vkey: str) -> None:
    with pytest.raises(ProofError):
        NoteVerifier.parse(vkey)


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (TEXT, "no blank line"),
        (TEXT + "\n" + SIG.rstrip("\n"), "end with a newline"),
        (TEXT + "\n- PeterNeumann abc=\n", "does not start with"),
        (TEXT + "\n", "no signatures"),
    ],
)
def test_malformed_notes(note: str, message: str) -> None:
    with pytest.raises(ProofError, match=message):
        split_note(note)


def test_checkpoint_round_trip() -> None:
    root = bytes(range(32))
    cp = Checkpoint("example.com/log", 1234, root, ("timestamp 1",))
    assert cp.text() == f"example.com/log\n1234\n{base64.b64encode(root).decode()}\ntimestamp 1\n"
    signer = NoteSigner("example.com/log", Keypair.from_seed(bytes(32)))
    assert Checkpoint.open(cp.sign(signer), signer.verifier) == cp


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("o\n12\n", "expected origin"),
        ("o\n012\nAAAA\n", "not a decimal"),
        ("o\nx\nAAAA\n", "not a decimal"),
        ("o\n1\n***\n", "not base64"),
        ("o\n1\nAAAA\n", "expected 32"),
        ("\n1\n" + base64.b64encode(bytes(32)).decode() + "\n", "empty origin"),
    ],
)
def test_malformed_checkpoints(text: str, message: str) -> None:
    with pytest.raises(ProofError, match=message):
        Checkpoint.parse(text)
