"""C2SP signed notes and tlog checkpoints with Ed25519 signatures.

A signed note is UTF-8 text ending in a newline, a blank line, then one line per signature::

    <text>\\n
    \\n
    — <key name> <base64(key id ‖ signature)>\\n

The key id is the first 4 bytes of ``SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key)`` (0x01 is
the Ed25519 algorithm byte); a verifier key is written ``name+<key id hex>+<base64(0x01 ‖
public key)>``. A checkpoint (c2sp.org/tlog-checkpoint) is a note whose text is the log's
origin line, the tree size in decimal, the base64 root hash, then optional extension lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .errors import ProofError
from .identity import Keypair, did_from_public_key

__all__ = [
    "Checkpoint",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "open_note",
    "sign_note",
    "split_note",
]

ALG_ED25519 = 1
_DASH = "— "  # U+2014 EM DASH and a space start every signature line


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise ProofError(f"invalid key name {name!r}: must be non-empty without spaces or '+'")


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key id of an Ed25519 note key."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


@dataclass(frozen=True)
class NoteVerifier:
    """A named Ed25519 public key that checks note signatures."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != 32:
            raise ProofError(f"note key {self.name!r}: an Ed25519 key is 32 bytes, got {len(self.public_key)}")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @property
    def key(self) -> str:
        """The verifier key string ``name+hash+base64``."""
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()}"

    @property
    def did(self) -> str:
        return did_from_public_key(self.public_key)

    @classmethod
    def parse(cls, vkey: str) -> NoteVerifier:
        """Read a verifier key string; :class:`ProofError` says which part is wrong."""
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise ProofError(f"malformed verifier key {vkey!r}: expected name+hash+key")
        name, hexid, b64 = parts
        try:
            raw = base64.b64decode(b64, validate=True)
            kid = bytes.fromhex(hexid)
        except (binascii.Error, ValueError) as exc:
            raise ProofError(f"malformed verifier key {vkey!r}: {exc}") from exc
        if len(hexid) != 8 or not raw or raw[0] != ALG_ED25519 or len(raw) != 33:
            raise ProofError(f"verifier key {vkey!r} is not an Ed25519 note key")
        v = cls(name, raw[1:])
        if v.key_id != kid:
            raise ProofError(f"verifier key {vkey!r}: key hash {hexid} does not match the key")
        return v

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class NoteSigner:
    """A named Ed25519 private key that signs notes."""

    name: str
    keypair: Keypair

    def __post_init__(self) -> None:
        _check_name(self.name)

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, self.keypair.public_bytes)

    @property
    def skey(self) -> str:
        """The Go-compatible private key string ``PRIVATE+KEY+name+hash+base64`` (keep secret)."""
        kid = key_id(self.name, self.keypair.public_bytes).hex()
        return f"PRIVATE+KEY+{self.name}+{kid}+{base64.b64encode(bytes([ALG_ED25519]) + self.keypair.seed).decode()}"

    @classmethod
    def parse(cls, skey: str) -> NoteSigner:
        """Read a ``PRIVATE+KEY+…`` string."""
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise ProofError("malformed signer key: expected PRIVATE+KEY+name+hash+key")
        _, _, name, hexid, b64 = parts
        try:
            raw = base64.b64decode(b64, validate=True)
        except binascii.Error as exc:
            raise ProofError(f"malformed signer key: {exc}") from exc
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise ProofError("signer key is not an Ed25519 note key")
        signer = cls(name, Keypair.from_seed(raw[1:]))
        if signer.verifier.key_id.hex() != hexid:
            raise ProofError(f"signer key: key hash {hexid} does not match the key")
        return signer

    @cached_property
    def key_id(self) -> bytes:
        return key_id(self.name, self.keypair.public_bytes)

    def signature_line(self, text: bytes) -> str:
        blob = self.key_id + self.keypair.sign(text)
        return f"{_DASH}{self.name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note."""

    name: str
    key_id: bytes
    signature: bytes


def sign_note(text: str, *signers: NoteSigner) -> str:
    """``text`` (ending in a newline) followed by a blank line and one signature per signer."""
    if not text.endswith("\n"):
        raise ProofError("note text must end with a newline")
    raw = text.encode()
    return text + "\n" + "".join(s.signature_line(raw) for s in signers)


def split_note(note: str) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and signature lines; :class:`ProofError` if malformed."""
    if not note.endswith("\n"):
        raise ProofError("malformed note: it must end with a newline")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise ProofError("malformed note: no blank line before the signatures")
    text, sig_block = note[: cut + 1], note[cut + 2 :]
    sigs: list[NoteSignature] = []
    for n, line in enumerate(sig_block.splitlines(), 1):
        if not line.startswith(_DASH):
            raise ProofError(f"malformed note: signature line {n} does not start with '— '")
        name, _, b64 = line[len(_DASH) :].partition(" ")
        try:
            blob = base64.b64decode(b64, validate=True)
        except binascii.Error as exc:
            raise ProofError(f"malformed note: signature line {n} ({name}): bad base64") from exc
        if not name or len(blob) < 5:
            raise ProofError(f"malformed note: signature line {n} is incomplete")
        sigs.append(NoteSignature(name, blob[:4], blob[4:]))
    if not sigs:
        raise ProofError("malformed note: no signatures")
    return text, sigs


def open_note(note: str, verifier: NoteVerifier) -> str:
    """The text of ``note`` once ``verifier``'s signature on it checks out.

    The message names the failure: no signature by this key (and which keys did sign), or a
    signature by this key that does not verify (the text was altered).
    """
    text, sigs = split_note(note)
    mine = [s for s in sigs if s.name == verifier.name and s.key_id == verifier.key_id]
    if not mine:
        others = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in sigs)
        raise ProofError(f"not signed by the log key {verifier.name}+{verifier.key_id.hex()} (signed by: {others})")
    raw = text.encode()
    if not any(verifier.verify(raw, s.signature) for s in mine):
        raise ProofError(
            f"the signature by {verifier.name}+{verifier.key_id.hex()} does not verify: the text was altered"
        )
    return text


@dataclass(frozen=True)
class Checkpoint:
    """A tlog checkpoint body: origin, tree size, root hash, extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = field(default=())

    def text(self) -> str:
        """The note text of this checkpoint."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "\n".join(lines) + "\n"

    def sign(self, signer: NoteSigner) -> str:
        """The signed note of this checkpoint."""
        return sign_note(self.text(), signer)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint's note text (not its signatures); :class:`ProofError` if malformed."""
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise ProofError("malformed checkpoint: expected origin, size and root hash lines")
        origin, size_s, root_s, *ext = lines[:-1]
        if not origin:
            raise ProofError("malformed checkpoint: empty origin line")
        if not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
            raise ProofError(f"malformed checkpoint: tree size {size_s!r} is not a decimal number")
        try:
            root = base64.b64decode(root_s, validate=True)
        except binascii.Error as exc:
            raise ProofError(f"malformed checkpoint: root hash {root_s!r} is not base64") from exc
        if len(root) != 32:
            raise ProofError(f"malformed checkpoint: root hash is {len(root)} bytes, expected 32")
        if any(not e for e in ext):
            raise ProofError("malformed checkpoint: empty extension line")
        return cls(origin, int(size_s), root, tuple(ext))

    @classmethod
    def open(cls, note: str, verifier: NoteVerifier) -> Checkpoint:
        """Verify the signature of a checkpoint note and parse it."""
        return cls.parse(open_note(note, verifier))
