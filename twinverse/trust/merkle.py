"""RFC 9162 Merkle trees: hashing, an append-only tree with proofs, and proof verification.

Leaf hash ``SHA-256(0x00 ‖ data)``, node hash ``SHA-256(0x01 ‖ left ‖ right)``; the tree over
``n`` leaves splits at the largest power of two below ``n`` (RFC 9162 §2.1.1).

:class:`MerkleTree` keeps, for every level ``k``, the hashes of all *complete* subtrees of
``2**k`` leaves in one flat ``bytearray`` (32 bytes each). A complete subtree never changes
once its last leaf exists, so appends only add hashes, and any root, inclusion proof or
consistency proof for any tree size up to the current one needs ``O(log n)`` lookups plus
at most ``O(log n)`` hashes over the ragged right edge. The two children of node ``i`` at
level ``k + 1`` are the adjacent 64 bytes ``level[k][64 i : 64 i + 64]``, so building a level
is one hash over a contiguous slice per node. A million leaves take 64 MB.

>>> t = MerkleTree()
>>> t.extend([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")])
>>> proof = t.inclusion_proof(2, 3)
>>> verify_inclusion(leaf_hash(b"c"), 2, 3, proof, t.root())
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from .errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleTree",
    "leaf_hash",
    "leaf_hashes",
    "node_hash",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF = b"\x00"
_NODE = b"\x01"
_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 ‖ data)``: the hash of one log entry."""
    return _sha256(_LEAF + data).digest()


def leaf_hashes(entries: Iterable[bytes]) -> bytes:
    """The leaf hashes of ``entries`` concatenated (32 bytes each)."""
    return b"".join([_sha256(_LEAF + d).digest() for d in entries])


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 ‖ left ‖ right)``: the hash of an interior node."""
    return _sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only RFC 9162 tree that answers roots and proofs for every past size."""

    __slots__ = ("_levels", "_size")

    def __init__(self, hashes: bytes | Sequence[bytes] = b"") -> None:
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0
        if hashes:
            self.extend(hashes)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return self._size

    def __len__(self) -> int:
        return self._size

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index``."""
        if not 0 <= index < self._size:
            raise IndexError(f"leaf {index} outside a tree of {self._size}")
        return bytes(self._levels[0][index * HASH_SIZE : (index + 1) * HASH_SIZE])

    def leaves(self, start: int = 0, stop: int | None = None) -> bytes:
        """Leaf hashes ``[start, stop)`` concatenated."""
        stop = self._size if stop is None else stop
        return bytes(self._levels[0][start * HASH_SIZE : stop * HASH_SIZE])

    def extend(self, hashes: bytes | Sequence[bytes]) -> None:
        """Append leaf hashes (a sequence of 32-byte hashes, or their concatenation)."""
        flat = hashes if isinstance(hashes, bytes | bytearray) else b"".join(hashes)
        if len(flat) % HASH_SIZE:
            raise ValueError(f"leaf hashes must be {HASH_SIZE} bytes each, got {len(flat)} bytes in all")
        self._levels[0] += flat
        self._size += len(flat) // HASH_SIZE
        self._build()

    def _build(self) -> None:
        """Hash every complete subtree that the new leaves finished, level by level."""
        n = self._size
        k = 0
        sha, node = _sha256, _NODE
        while n >> (k + 1):
            if len(self._levels) == k + 1:
                self._levels.append(bytearray())
            below, above = self._levels[k], self._levels[k + 1]
            have, want = len(above) // HASH_SIZE, n >> (k + 1)
            if have < want:
                # One bytes copy of the needed children, then one hash per 64-byte pair.
                chunk = bytes(below[have * 64 : want * 64])
                above += b"".join([sha(node + chunk[j : j + 64]).digest() for j in range(0, len(chunk), 64)])
            k += 1

    def truncate(self, size: int) -> None:
        """Forget leaves past ``size`` (undoes an append whose commit failed)."""
        if not 0 <= size <= self._size:
            raise ValueError(f"cannot truncate a tree of {self._size} to {size}")
        for k, level in enumerate(self._levels):
            del level[(size >> k) * HASH_SIZE :]
        self._size = size

    # -- hashes of ranges -------------------------------------------------------------
    def _complete(self, lo: int, width: int) -> bytes:
        k = width.bit_length() - 1
        i = lo >> k
        return bytes(self._levels[k][i * HASH_SIZE : (i + 1) * HASH_SIZE])

    def _mth(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for ranges that the RFC recursion produces (``lo`` aligned)."""
        n = hi - lo
        if n & (n - 1) == 0:
            return self._complete(lo, n)
        k = _split(n)
        return node_hash(self._complete(lo, k), self._mth(lo + k, hi))

    def root(self, size: int | None = None) -> bytes:
        """The root hash of the first ``size`` leaves (default: all)."""
        size = self._size if size is None else size
        self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        return self._mth(0, size)

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self._size:
            raise ProofError(f"tree size {size} outside the log (it has {self._size} entries)")

    # -- proofs -----------------------------------------------------------------------
    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
        size = self._size if size is None else size
        self._check_size(size)
        if not 0 <= index < size:
            raise ProofError(f"leaf index {index} outside a tree of size {size}")
        path: list[bytes] = []
        lo, hi = 0, size
        # Walk down from the root; the RFC lists siblings from the leaf up, so reverse.
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                path.append(self._mth(lo + k, hi))
                hi = lo + k
            else:
                path.append(self._complete(lo, k))
                lo += k
        path.reverse()
        return path

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """RFC 9162 consistency proof between tree sizes ``size1`` and ``size2``."""
        size2 = self._size if size2 is None else size2
        self._check_size(size2)
        if not 0 < size1 <= size2:
            raise ProofError(f"no consistency proof from size {size1} to size {size2}: need 0 < size1 <= size2")
        path: list[bytes] = []
        m, lo, hi, whole = size1, 0, size2, True
        while hi != m:
            n = hi - lo
            k = _split(n)
            if m - lo <= k:
                path.append(self._mth(lo + k, hi))
                hi = lo + k
            else:
                path.append(self._complete(lo, k))
                lo += k
                whole = False
        if not whole:
            path.append(self._mth(lo, hi))
        path.reverse()
        return path


# -- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) -------------------------------------
def _check_hashes(proof: Sequence[bytes], what: str) -> None:
    for i, h in enumerate(proof):
        if len(h) != HASH_SIZE:
            raise ProofError(f"{what} element {i} is {len(h)} bytes, expected {HASH_SIZE}")


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` implies for ``leaf`` at ``index`` in a tree of ``size``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} outside a tree of size {size}")
    if len(leaf) != HASH_SIZE:
        raise ProofError(f"leaf hash is {len(leaf)} bytes, expected {HASH_SIZE}")
    _check_hashes(proof, "inclusion proof")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError(f"inclusion proof has {len(proof)} elements, too many for index {index} of {size}")
        if fn & 1 or fn == sn:
            r = _sha256(_NODE + p + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _sha256(_NODE + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"inclusion proof has {len(proof)} elements, too few for index {index} of {size}")
    return r


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf`` is at ``index`` in the tree of ``size`` with ``root``; raise :class:`ProofError`."""
    got = root_from_inclusion_proof(leaf, index, size, proof)
    if got != root:
        raise ProofError(
            f"inclusion proof of leaf {index} in tree size {size} gives root {got.hex()}, expected {root.hex()}"
        )


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Check that the tree (``size2``, ``root2``) extends (``size1``, ``root1``); raise :class:`ProofError`."""
    if size1 > size2:
        raise ProofError(f"size1 {size1} is larger than size2 {size2}: the log shrank")
    if size1 == 0:
        # The empty tree is a prefix of every tree; a proof from it says nothing, so we refuse
        # to treat it as one (as the vectors require) rather than answer a vacuous yes.
        raise ProofError("consistency from the empty tree (size1 = 0) proves nothing")
    if size1 == size2:
        if proof:
            raise ProofError(f"sizes are equal ({size1}) but the proof has {len(proof)} elements, expected none")
        if root1 != root2:
            raise ProofError(f"two different roots for the same tree size {size1}: {root1.hex()} and {root2.hex()}")
        return
    if not proof:
        raise ProofError(f"empty consistency proof from size {size1} to {size2}")
    _check_hashes(proof, "consistency proof")
    if len(root1) != HASH_SIZE or len(root2) != HASH_SIZE:
        raise ProofError(f"roots must be {HASH_SIZE} bytes, got {len(root1)} and {len(root2)}")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof from {size1} to {size2} has too many elements ({len(proof)})")
        if fn & 1 or fn == sn:
            fr = _sha256(_NODE + c + fr).digest()
            sr = _sha256(_NODE + c + sr).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _sha256(_NODE + sr + c).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"consistency proof from {size1} to {size2} has too few elements ({len(proof)})")
    if fr != root1:
        raise ProofError(f"consistency proof gives old root {fr.hex()} for size {size1}, expected {root1.hex()}")
    if sr != root2:
        raise ProofError(f"consistency proof gives new root {sr.hex()} for size {size2}, expected {root2.hex()}")
