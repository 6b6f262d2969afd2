"""RFC 9162 tree hashing, proofs and verification against published vectors and invariants.

The vectors (valid and deliberately broken proofs, Apache-2.0) are read where they are, in
``../shared/data/merkle`` (``inclusion/<set>/*.json``, ``consistency/<set>/*.json``): every
case found there is a test.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinverse.trust.errors import ProofError
from twinverse.trust.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

from ..conftest import SHARED_DATA

VECTORS = SHARED_DATA / "merkle"

# The reference leaves and roots of RFC 6962's test tree (certificate-transparency test data).
RFC_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
RFC_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _b(s: str | None) -> bytes:
    return base64.b64decode(s) if s else b""


def _case_files(kind: str) -> list[str]:
    """The vector files of ``kind`` (relative paths); a placeholder when the data is absent."""
    files = sorted(str(f.relative_to(VECTORS / kind)) for f in (VECTORS / kind).rglob("*.json"))
    return files or ["(vectors absent)"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for kind in ("inclusion", "consistency"):
        if f"{kind}_file" in metafunc.fixturenames:
            metafunc.parametrize(f"{kind}_file", _case_files(kind))


def _load(shared_data: Path, kind: str, name: str) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((shared_data / "merkle" / kind / name).read_text())
    return case


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH straight from the RFC's recursive definition."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def test_vectors_are_present(shared_data: Path) -> None:
    """At least the 65 + 57 cases of the RFC 6962 / 9162 set, each kind with valid and broken proofs."""
    for kind, least in (("inclusion", 65), ("consistency", 57)):
        cases = [json.loads(f.read_text()) for f in (shared_data / "merkle" / kind).rglob("*.json")]
        assert len(cases) >= least, kind
        assert {c["wantErr"] for c in cases} == {True, False}, kind


def test_inclusion_vectors(shared_data: Path, inclusion_file: str) -> None:
    case = _load(shared_data, "inclusion", inclusion_file)
    args = (_b(case["leafHash"]), case["leafIdx"], case["treeSize"], [_b(p) for p in case["proof"] or []])
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args, _b(case["root"]))
    else:
        verify_inclusion(*args, _b(case["root"]))


def test_consistency_vectors(shared_data: Path, consistency_file: str) -> None:
    case = _load(shared_data, "consistency", consistency_file)
    args = (case["size1"], case["size2"], [_b(p) for p in case["proof"] or []], _b(case["root1"]), _b(case["root2"]))
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_rfc6962_reference_roots() -> None:
    tree = MerkleTree([leaf_hash(x) for x in RFC_LEAVES])
    assert [tree.root(n).hex() for n in range(1, 9)] == RFC_ROOTS
    assert tree.root(0) == EMPTY_ROOT


def test_generated_proofs_equal_the_vectors_happy_paths(shared_data: Path) -> None:
    """Our proof generation reproduces the independent implementation's proofs byte for byte."""
    tree = MerkleTree([leaf_hash(x) for x in RFC_LEAVES])
    checked = 0
    vectors = shared_data / "merkle"
    for path in sorted(vectors.glob("inclusion/*/happy-path.json")):
        c = json.loads(path.read_text())
        assert tree.leaf(c["leafIdx"]) == _b(c["leafHash"])
        assert tree.inclusion_proof(c["leafIdx"], c["treeSize"]) == [_b(p) for p in c["proof"] or []]
        checked += 1
    for path in sorted(vectors.glob("consistency/*/happy-path.json")):
        c = json.loads(path.read_text())
        if c["size1"] == 0:
            continue
        assert tree.consistency_proof(c["size1"], c["size2"]) == [_b(p) for p in c["proof"] or []]
        checked += 1
    assert checked >= 5


def test_every_proof_of_small_trees_verifies() -> None:
    for n in range(1, 40):
        leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(n)]
        tree = MerkleTree(leaves)
        for size in range(1, n + 1):
            root = tree.root(size)
            assert root == reference_root(leaves[:size])
            for i in range(size):
                verify_inclusion(leaves[i], i, size, tree.inclusion_proof(i, size), root)
            for s1 in range(1, size + 1):
                verify_consistency(s1, size, tree.consistency_proof(s1, size), tree.root(s1), root)


def test_truncate_restores_an_earlier_tree() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(37)]
    tree = MerkleTree(leaves)
    tree.truncate(20)
    assert tree.size == 20 and tree.root() == reference_root(leaves[:20])
    tree.extend(leaves[20:])
    assert tree.root() == reference_root(leaves)


def test_bad_requests_name_the_problem() -> None:
    tree = MerkleTree([leaf_hash(b"a")])
    with pytest.raises(ProofError, match="outside a tree of size 1"):
        tree.inclusion_proof(1)
    with pytest.raises(ProofError, match="outside the log"):
        tree.root(2)
    with pytest.raises(ProofError, match="32"):
        verify_inclusion(b"short", 0, 1, [], tree.root())
    with pytest.raises(ValueError, match="32 bytes each"):
        tree.extend(b"\x00" * 33)


def consistency_shape(size1: int, size2: int) -> list[bool]:
    """The verifier's walk for a consistency proof (True: the proof hash goes on the left)."""
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    return path_shape(fn, sn + 1)


# -- Hypothesis: random trees, random tampering, 100 % detected ----------------------------
sizes = st.integers(min_value=1, max_value=300)


def path_shape(index: int, size: int) -> list[bool]:
    """Which side each proof hash goes on, as RFC 9162's verifier walks it (True: left)."""
    fn, sn, out = index, size - 1, []
    while sn:
        if fn & 1 or fn == sn:
            out.append(True)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            out.append(False)
        fn >>= 1
        sn >>= 1
    return out


@settings(max_examples=150, deadline=None)
@given(n=sizes, data=st.data())
def test_incremental_appends_match_the_definition(n: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    tree = MerkleTree()
    done = 0
    while done < n:
        step = data.draw(st.integers(1, n - done))
        tree.extend(leaves[done : done + step])
        done += step
    assert tree.root() == reference_root(leaves)


@settings(max_examples=300, deadline=None)
@given(n=sizes, data=st.data())
def test_inclusion_proofs_verify_and_any_tampering_is_detected(n: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    tree = MerkleTree(leaves)
    size = data.draw(st.integers(1, n))
    index = data.draw(st.integers(0, size - 1))
    root = tree.root(size)
    proof = tree.inclusion_proof(index, size)
    verify_inclusion(leaves[index], index, size, proof, root)
    assert root_from_inclusion_proof(leaves[index], index, size, proof) == root

    attack = data.draw(st.sampled_from(["bit", "leaf", "index", "size", "drop", "add", "root"]))
    bad_leaf, bad_index, bad_size, bad_proof, bad_root = leaves[index], index, size, list(proof), root
    if attack == "bit" and proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        p = bytearray(proof[i])
        p[bit // 8] ^= 1 << (bit % 8)
        bad_proof[i] = bytes(p)
    elif attack == "leaf":
        bad_leaf = leaf_hash(b"forged")
    elif attack == "index" and size > 1:
        bad_index = (index + data.draw(st.integers(1, size - 1))) % size
        if proof == tree.inclusion_proof(bad_index, size) and leaves[bad_index] == leaves[index]:
            return  # identical claim; nothing tampered
    elif attack == "size":
        bad_size = data.draw(st.integers(index + 1, 2 * n + 2).filter(lambda s: s != size))
        if path_shape(index, bad_size) == path_shape(index, size):
            # A root does not commit to its size (the signed checkpoint does): when both sizes
            # give the same path, the claim is the same computation and no proof can tell.
            return
    elif attack == "drop" and proof:
        del bad_proof[data.draw(st.integers(0, len(proof) - 1))]
    elif attack == "add":
        bad_proof.insert(data.draw(st.integers(0, len(proof))), leaf_hash(b"extra"))
    elif attack == "root":
        bad_root = leaf_hash(b"other root")
    else:
        return  # that attack needs a longer proof or tree
    with pytest.raises(ProofError):
        verify_inclusion(bad_leaf, bad_index, bad_size, bad_proof, bad_root)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(2, 300), data=st.data())
def test_consistency_proofs_verify_and_any_tampering_is_detected(n: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    tree = MerkleTree(leaves)
    size2 = data.draw(st.integers(2, n))
    size1 = data.draw(st.integers(1, size2 - 1))
    proof = tree.consistency_proof(size1, size2)
    r1, r2 = tree.root(size1), tree.root(size2)
    verify_consistency(size1, size2, proof, r1, r2)

    attack = data.draw(st.sampled_from(["bit", "old-root", "new-root", "size1", "size2", "drop", "add", "fork"]))
    s1, s2, bad, b1, b2 = size1, size2, list(proof), r1, r2
    if attack == "bit":
        i = data.draw(st.integers(0, len(proof) - 1))
        p = bytearray(proof[i])
        p[data.draw(st.integers(0, 31))] ^= 1 << data.draw(st.integers(0, 7))
        bad[i] = bytes(p)
    elif attack == "old-root":
        b1 = leaf_hash(b"rewritten history")
    elif attack == "new-root":
        b2 = leaf_hash(b"other head")
    elif attack == "size1":
        s1 = data.draw(st.integers(1, size2 - 1).filter(lambda s: s != size1))
        if tree.root(s1) == r1:
            return
    elif attack == "size2":
        s2 = data.draw(st.integers(size1 + 1, 2 * n).filter(lambda s: s != size2))
        if consistency_shape(size1, s2) == consistency_shape(size1, size2):
            return  # same computation for both sizes: only the signed checkpoint binds the size
    elif attack == "drop":
        del bad[data.draw(st.integers(0, len(proof) - 1))]
    elif attack == "add":
        bad.insert(data.draw(st.integers(0, len(proof))), leaf_hash(b"extra"))
    elif attack == "fork":
        # A log that rewrote one old entry and rebuilt everything on top of it.
        j = data.draw(st.integers(0, size1 - 1))
        forked = MerkleTree([leaf_hash(b"evil") if i == j else h for i, h in enumerate(leaves[:size2])])
        bad, b2 = forked.consistency_proof(size1, size2), forked.root(size2)
    with pytest.raises(ProofError):
        verify_consistency(s1, s2, bad, b1, b2)
