"""Ed25519 identities: did:key known answers, DID documents, signatures, keys at rest."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinverse.errors import InputError
from twinverse.trust.errors import AuthenticationError
from twinverse.trust.identity import (
    Keypair,
    did_document,
    did_from_public_key,
    public_key_from_did,
    verify_signature,
)

# Known answers given in issue 6 (RFC 8032 seeds of 32 zero bytes, and 31 zero bytes then 01).
ZERO_DID = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
ONE_DID = "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG"
# The did:key method specification's example and its derived X25519 key-agreement key.
SPEC_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
SPEC_X25519 = "z6LSj72tK8brWgZja8NLRwPigth2T9QRiG1uH9oKZuKjdh9p"
# RFC 8032 §7.1 test 1: secret key 9d61…7f60 has public key d75a…511a.
RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUB = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_SIG = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)


def test_known_did_key_answers() -> None:
    assert Keypair.from_seed(bytes(32)).did == ZERO_DID
    assert Keypair.from_seed(bytes(31) + b"\x01").did == ONE_DID


def test_rfc8032_vector() -> None:
    k = Keypair.from_seed(RFC8032_SEED)
    assert k.public_bytes == RFC8032_PUB
    assert k.sign(b"") == RFC8032_SIG
    assert verify_signature(k.did, b"", RFC8032_SIG)
    assert not verify_signature(k.did, b"x", RFC8032_SIG)


def test_did_document_of_the_spec_example() -> None:
    doc = did_document(SPEC_DID)
    fragment = SPEC_DID.removeprefix("did:key:")
    assert doc["id"] == SPEC_DID
    assert doc["verificationMethod"][0]["id"] == f"{SPEC_DID}#{fragment}"
    assert doc["verificationMethod"][0]["type"] == "Ed25519VerificationKey2020"
    assert doc["authentication"] == doc["assertionMethod"] == [f"{SPEC_DID}#{fragment}"]
    assert doc["keyAgreement"][0]["publicKeyMultibase"] == SPEC_X25519
    assert doc["keyAgreement"][0]["id"] == f"{SPEC_DID}#{SPEC_X25519}"


@pytest.mark.parametrize(
    ("did", "message"),
    [
        ("did:web:example.com", "not a did:key"),
        ("did:key:f0123", "base58btc"),
        ("did:key:z0OIl", "invalid base58btc"),
        ("did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv", "not ed25519-pub"),
        ("did:key:z" + base58.b58encode(b"\xed\x01" + bytes(31)).decode(), "32 bytes, got 31"),
    ],
)
def test_bad_dids_are_named(did: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        public_key_from_did(did)


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_did_round_trip(pub: bytes) -> None:
    did = did_from_public_key(pub)
    assert did.startswith("did:key:z6Mk")
    assert public_key_from_did(did) == pub


def test_encrypted_key_round_trip(tmp_path: Path) -> None:
    k = Keypair.generate()
    path = tmp_path / "k.pem"
    k.save(path, "correct horse")
    assert b"ENCRYPTED" in path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Keypair.load(path, "correct horse").did == k.did
    with pytest.raises(AuthenticationError, match="wrong passphrase"):
        Keypair.load(path, "wrong")
    with pytest.raises(AuthenticationError, match="passphrase is required"):
        Keypair.load(path)


def test_unencrypted_key_is_owner_only_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    k = Keypair.generate()
    path = tmp_path / "k.pem"
    with caplog.at_level(logging.WARNING, "twinverse.trust"):
        k.save(path)
    assert "unencrypted" in caplog.text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    caplog.clear()
    with caplog.at_level(logging.WARNING, "twinverse.trust"):
        assert Keypair.load(path).did == k.did
    assert "readable by others" in caplog.text


def test_load_rejects_garbage(tmp_path: Path) -> None:
    p = tmp_path / "bad.pem"
    p.write_bytes(b"not a key")
    with pytest.raises(InputError, match="not a PEM private key"):
        Keypair.load(p)
    with pytest.raises(InputError, match="cannot read"):
        Keypair.load(tmp_path / "missing.pem")
