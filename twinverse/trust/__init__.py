"""Trust: identities (Ed25519, did:key), access control, a transparency log, a data-asset registry.

The pieces compose in :class:`TrustService`; each is usable alone:

- :mod:`~twinverse.trust.identity` — key pairs, ``did:key``, DID documents, keys at rest;
- :mod:`~twinverse.trust.access` — tenants, roles, scoped expiring revocable API tokens;
- :mod:`~twinverse.trust.merkle`, :mod:`~twinverse.trust.note`, :mod:`~twinverse.trust.ledger` —
  the RFC 9162 log with C2SP checkpoints;
- :mod:`~twinverse.trust.assets` — content-addressed assets with licences, lineage,
  GB/T 43697 classification and grants;
- :mod:`~twinverse.trust.bundle` — log export and the offline verifier;
- :mod:`~twinverse.trust.seal`, :mod:`~twinverse.trust.seal_check` — sealed history:
  completed segments of a plant's history committed to the log, and checked against it.
"""

from __future__ import annotations

from .access import AccessControl, join_challenge, token_sha256
from .assets import AssetRegistry, AssetView
from .blobs import BlobStore
from .bundle import ExportResult, VerifyReport, export_bundle, verify_bundle
from .errors import AuthenticationError, ConflictError, IntegrityError, PermissionDenied, ProofError
from .identity import Keypair, did_document, did_from_public_key, public_key_from_did, verify_signature
from .ledger import AppendResult, ConsistencyProof, InclusionProof, Ledger, LogEntry, make_entry
from .licenses import normalize_license
from .merkle import MerkleTree, leaf_hash, node_hash, verify_consistency, verify_inclusion
from .note import Checkpoint, NoteSigner, NoteVerifier, open_note, sign_note
from .records import (
    ROLE_PERMISSIONS,
    Asset,
    AssetVersion,
    Classification,
    Grant,
    GrantStatus,
    Identity,
    IdentityKind,
    JoinProof,
    Permission,
    Principal,
    Role,
    Tenant,
    TokenRecord,
)
from .seal import SEAL_ACTION, HistorySealer, SealedSegment
from .seal_check import HistoryProblem, HistoryReport, ProblemKind, check_history, sealed_segments, verify_history
from .service import OPEN_PRINCIPAL, TrustService
from .store import SqliteTrustStore, TrustStore

__all__ = [
    "OPEN_PRINCIPAL",
    "ROLE_PERMISSIONS",
    "SEAL_ACTION",
    "AccessControl",
    "AppendResult",
    "Asset",
    "AssetRegistry",
    "AssetVersion",
    "AssetView",
    "AuthenticationError",
    "BlobStore",
    "Checkpoint",
    "Classification",
    "ConflictError",
    "ConsistencyProof",
    "ExportResult",
    "Grant",
    "GrantStatus",
    "HistoryProblem",
    "HistoryReport",
    "HistorySealer",
    "Identity",
    "IdentityKind",
    "InclusionProof",
    "IntegrityError",
    "JoinProof",
    "Keypair",
    "Ledger",
    "LogEntry",
    "MerkleTree",
    "NoteSigner",
    "NoteVerifier",
    "Permission",
    "PermissionDenied",
    "Principal",
    "ProblemKind",
    "ProofError",
    "Role",
    "SealedSegment",
    "SqliteTrustStore",
    "Tenant",
    "TokenRecord",
    "TrustService",
    "TrustStore",
    "VerifyReport",
    "check_history",
    "did_document",
    "did_from_public_key",
    "export_bundle",
    "join_challenge",
    "leaf_hash",
    "make_entry",
    "node_hash",
    "normalize_license",
    "open_note",
    "public_key_from_did",
    "sealed_segments",
    "sign_note",
    "token_sha256",
    "verify_bundle",
    "verify_consistency",
    "verify_history",
    "verify_inclusion",
    "verify_signature",
]
