"""Ed25519 identities named by ``did:key``, their DID documents, and key files at rest.

A ``did:key`` for Ed25519 is ``did:key:z`` + base58btc(``0xed 0x01`` ‖ 32-byte public key)
(multicodec ``ed25519-pub``), so every Ed25519 DID starts ``did:key:z6Mk``.

>>> Keypair.from_seed(bytes(32)).did
'did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp'

Private keys at rest are PKCS#8 PEM files encrypted with a passphrase (AES-256 under a
key derived from the passphrase, as chosen by ``cryptography``'s best available
encryption). Without a passphrase the file is written readable by its owner only
(mode 0600) and a warning is logged, because anyone who can read it can sign as the key.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import InputError
from .errors import AuthenticationError

__all__ = [
    "ED25519_MULTICODEC",
    "X25519_MULTICODEC",
    "Keypair",
    "did_document",
    "did_from_public_key",
    "public_key_from_did",
    "verify_signature",
    "x25519_from_ed25519",
]

log = logging.getLogger("twinverse.trust")

ED25519_MULTICODEC = b"\xed\x01"
X25519_MULTICODEC = b"\xec\x01"
_DID_KEY = "did:key:"
_P = 2**255 - 19  # the field prime of Curve25519 / edwards25519


def _multibase(codec: bytes, key: bytes) -> str:
    return "z" + base58.b58encode(codec + key).decode("ascii")


def did_from_public_key(public_key: bytes) -> str:
    """The ``did:key`` of a raw 32-byte Ed25519 public key."""
    if len(public_key) != 32:
        raise InputError(f"an Ed25519 public key is 32 bytes, got {len(public_key)}")
    return _DID_KEY + _multibase(ED25519_MULTICODEC, public_key)


def public_key_from_did(did: str) -> bytes:
    """The raw Ed25519 public key named by ``did``; :class:`InputError` says what is wrong."""
    if not did.startswith(_DID_KEY):
        raise InputError(f"{did!r} is not a did:key identifier (expected 'did:key:z6Mk…')")
    mb = did[len(_DID_KEY) :].split("#", 1)[0]
    if not mb.startswith("z"):
        raise InputError(f"{did!r}: only base58btc multibase ('z') is supported")
    try:
        raw = base58.b58decode(mb[1:])
    except ValueError as exc:
        raise InputError(f"{did!r}: invalid base58btc: {exc}") from exc
    if raw[:2] != ED25519_MULTICODEC:
        raise InputError(f"{did!r}: multicodec 0x{raw[:2].hex()} is not ed25519-pub (0xed01)")
    if len(raw) != 34:
        raise InputError(f"{did!r}: an Ed25519 key is 32 bytes, got {len(raw) - 2}")
    return raw[2:]


def verify_signature(did: str, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` over ``message`` was made by the key of ``did``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key_from_did(did)).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def x25519_from_ed25519(public_key: bytes) -> bytes:
    """The X25519 key-agreement key derived from an Ed25519 key (u = (1 + y) / (1 − y) mod p)."""
    y = int.from_bytes(public_key, "little") & ((1 << 255) - 1)
    u = (1 + y) * pow(1 - y, _P - 2, _P) % _P
    return u.to_bytes(32, "little")


def did_document(did: str) -> dict[str, Any]:
    """Resolve a ``did:key`` to its DID document (did:key method, Ed25519 2020 suites)."""
    pub = public_key_from_did(did)
    fingerprint = did[len(_DID_KEY) :].split("#", 1)[0]
    vm_id = f"{did}#{fingerprint}"
    x_mb = _multibase(X25519_MULTICODEC, x25519_from_ed25519(pub))
    return {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/suites/ed25519-2020/v1",
            "https://w3id.org/security/suites/x25519-2020/v1",
        ],
        "id": did,
        "verificationMethod": [
            {
                "id": vm_id,
                "type": "Ed25519VerificationKey2020",
                "controller": did,
                "publicKeyMultibase": fingerprint,
            }
        ],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityDelegation": [vm_id],
        "capabilityInvocation": [vm_id],
        "keyAgreement": [
            {
                "id": f"{did}#{x_mb}",
                "type": "X25519KeyAgreementKey2020",
                "controller": did,
                "publicKeyMultibase": x_mb,
            }
        ],
    }


@dataclass(frozen=True)
class Keypair:
    """An Ed25519 private key with its public key and DID."""

    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> Keypair:
        """A fresh key from the operating system's random source."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Keypair:
        """The key whose 32-byte RFC 8032 private seed is ``seed`` (tests, known answers)."""
        if len(seed) != 32:
            raise InputError(f"an Ed25519 seed is 32 bytes, got {len(seed)}")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @cached_property
    def public_bytes(self) -> bytes:
        """The raw 32-byte public key."""
        return self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def seed(self) -> bytes:
        """The raw 32-byte private seed (handle with care)."""
        return self.private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    @property
    def did(self) -> str:
        """``did:key:z6Mk…``."""
        return did_from_public_key(self.public_bytes)

    def sign(self, message: bytes) -> bytes:
        """A 64-byte Ed25519 signature."""
        return self.private.sign(message)

    # -- at rest ----------------------------------------------------------------------
    def to_pem(self, passphrase: str | None) -> bytes:
        """PKCS#8 PEM, encrypted when ``passphrase`` is given."""
        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
        )
        return self.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)

    def save(self, path: Path, passphrase: str | None = None) -> None:
        """Write the key to ``path`` (mode 0600), encrypted when ``passphrase`` is given."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = self.to_pem(passphrase)
        # Create with 0600 from the start so the key is never readable by others, even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(path, 0o600)
        if not passphrase:
            log.warning(
                "private key %s is stored unencrypted (readable by its owner only); set a passphrase to encrypt it",
                path,
            )

    @classmethod
    def load(cls, path: Path, passphrase: str | None = None) -> Keypair:
        """Read a key written by :meth:`save`; a wrong or missing passphrase is a clear error."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read private key: {exc.strerror}") from exc
        encrypted = b"ENCRYPTED" in data.split(b"\n", 1)[0]
        if encrypted and not passphrase:
            raise AuthenticationError(f"{path}: the private key is encrypted; a passphrase is required")
        if not encrypted:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                log.warning("unencrypted private key %s is readable by others (mode %o); chmod 600 it", path, mode)
        try:
            key = serialization.load_pem_private_key(data, passphrase.encode() if encrypted and passphrase else None)
        except ValueError as exc:
            if encrypted:
                raise AuthenticationError(f"{path}: wrong passphrase for the private key") from exc
            raise InputError(f"{path}: not a PEM private key: {exc}") from exc
        except TypeError as exc:
            raise InputError(f"{path}: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise InputError(f"{path}: not an Ed25519 private key ({type(key).__name__})")
        return cls(key)
