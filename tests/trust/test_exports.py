"""The public API of twinverse.trust is exactly its ``__all__``, and every name resolves."""

from __future__ import annotations

import twinverse.trust as trust


def test_all_names_resolve_once() -> None:
    assert len(set(trust.__all__)) == len(trust.__all__)
    for name in trust.__all__:
        assert getattr(trust, name) is not None, name


def test_core_entry_points_are_exported() -> None:
    assert {"TrustService", "verify_bundle", "MerkleTree", "Keypair", "Permission", "Principal"} <= set(trust.__all__)
