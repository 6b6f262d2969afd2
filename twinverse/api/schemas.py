"""Request and response bodies of the API, with examples for the OpenAPI document.

Trust bodies (the log, assets, grants, tokens, identities) are built from the trust
layer's records with ``model_validate(record)`` (``from_attributes``) or, where one body
joins several records, a ``of`` classmethod.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..trust import IdentityKind, JoinProof, Role

if TYPE_CHECKING:
    from ..trust import AssetView, ConsistencyProof, Identity, InclusionProof, Ledger

__all__ = [
    "AnnotationOut",
    "AssetOut",
    "CheckpointOut",
    "CollabMeOut",
    "ConsistencyProofOut",
    "EntryOut",
    "GrantIn",
    "GrantOut",
    "HealthOut",
    "HistoryOut",
    "IdentityIn",
    "IdentityOut",
    "InclusionProofOut",
    "IngestOut",
    "JoinProofIn",
    "LiveValue",
    "LogInfo",
    "PlantOut",
    "PresenceOut",
    "PrincipalOut",
    "ProblemDetail",
    "ProblemOut",
    "QuarantineOut",
    "RoleIn",
    "Series",
    "StateInfo",
    "StateVocabulary",
    "StatusOut",
    "TokenCreated",
    "TokenIn",
    "TokenOut",
    "TwinList",
    "TwinOut",
    "TwinSummary",
    "VersionOut",
    "problem_responses",
]

FILLER = "bottling/line1/filler"


def _ex(example: Any) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


class LiveValue(BaseModel):
    model_config = _ex(
        {"twin": FILLER, "signal": "state", "value": "running", "ts": "2026-11-25T08:00:00Z", "quality": 0,
         "unit": None}
    )
    twin: str
    signal: str
    value: Any = Field(description="State name, bool, int or float; null before the first observation.")
    ts: str | None = Field(description="Time of the observation (ISO 8601, UTC).")
    quality: int = Field(description="0 good, 1 uncertain, 2 bad.")
    unit: str | None


class StateInfo(BaseModel):
    name: str
    code: int = Field(description="Stored value of the state in a type that keeps the default list.")
    color: str = Field(description="sRGB hex colour views show the state in.")
    alarm: bool = Field(description="The machine needs someone (the viewer pulses it).")
    label: str


class StateVocabulary(BaseModel):
    model_config = _ex(
        {"states": [{"name": "running", "code": 0, "color": "#2f9e44", "alarm": False, "label": "running"}],
         "aliases": {"busy": "running", "offline": "off"}}
    )
    states: list[StateInfo]
    aliases: dict[str, str] = Field(description="Other names accepted for the states.")


class TwinSummary(BaseModel):
    model_config = _ex({"id": FILLER, "type": "filler", "name": "Filler", "parent": "bottling/line1"})
    id: str
    type: str
    name: str
    parent: str | None


class TwinList(BaseModel):
    total: int
    items: list[TwinSummary]


class TwinOut(BaseModel):
    model_config = _ex(
        {
            "id": FILLER,
            "type": "filler",
            "name": "Filler",
            "parent": "bottling/line1",
            "properties": {"rated_speed": 600},
            "placement": None,
            "signals": {"temperature": {"kind": "float", "unit": "degC", "range": [-10, 90]}},
            "power": {"running": 22.0},
            "children": [],
            "relationships": [{"source": FILLER, "name": "feeds", "target": "bottling/line1/c3"}],
            "live": [],
        }
    )
    id: str
    type: str
    name: str
    parent: str | None
    properties: dict[str, Any]
    placement: dict[str, float] | None
    signals: dict[str, dict[str, Any]]
    power: dict[str, float]
    children: list[str]
    relationships: list[dict[str, str]]
    live: list[LiveValue]


class PlantOut(BaseModel):
    model_config = _ex(
        {"id": "bottling", "name": "Bottling plant", "description": "", "twins": 19, "types": 16, "signals": 71,
         "relationships": 33, "roots": ["bottling"], "types_detail": {}}
    )
    id: str
    name: str
    description: str
    twins: int
    types: int
    signals: int
    relationships: int
    roots: list[str]
    types_detail: dict[str, dict[str, Any]]


class IngestOut(BaseModel):
    model_config = _ex({"received": 3, "accepted": 3, "rejected": 0, "stored": 3, "errors": []})
    received: int
    accepted: int
    rejected: int
    stored: int = Field(description="New rows written; redelivered (sid, ts) pairs are not stored twice.")
    errors: list[dict[str, Any]] = Field(default_factory=list, description="First rejected rows with reasons.")


class Series(BaseModel):
    signal: str
    unit: str | None
    kind: str
    states: list[str] | None = None
    ts: list[int] = Field(description="Milliseconds since the Unix epoch (bucket start when downsampled).")
    value: list[float | None]
    n: list[int] | None = Field(None, description="Points per bucket (downsampled only).")


class HistoryOut(BaseModel):
    model_config = _ex(
        {"twin": FILLER, "start": "2026-11-25T07:00:00Z", "end": "2026-11-25T08:00:00Z", "interval_s": 60,
         "aggregate": "avg", "series": [{"signal": "temperature", "unit": "degC", "kind": "float",
                                         "ts": [1795590000000], "value": [4.2], "n": [60]}]}
    )
    twin: str
    start: str | None
    end: str | None
    interval_s: float | None
    aggregate: str
    series: list[Series]


class QuarantineOut(BaseModel):
    model_config = _ex(
        {"total": 1, "items": [{"received": "2026-11-25T08:00:01Z", "ts": "2026-11-25T08:00:00Z", "twin": "nope",
                                "signal": "x", "value": "1.0", "reason": "unknown twin 'nope'", "source": "http"}]}
    )
    total: int
    items: list[dict[str, Any]]


class StatusOut(BaseModel):
    """The body of a probe that passed (``/livez``, ``/readyz``)."""

    model_config = _ex({"status": "ok"})
    status: str = "ok"


class HealthOut(BaseModel):
    """Detailed health: readiness, ingest counters and sources; nothing that scans the store."""

    model_config = _ex(
        {"status": "ok", "version": "0.1.0", "plant": "bottling", "store": "DuckDBStore", "problems": [],
         "ingest": {"received": 1300, "accepted": 1200, "rejected": 100, "stored": 1200, "sequence": 40},
         "rejected_by_reason": {"source": 10, "out_of_range": 90}, "sources": [],
         "source_health": {"mqtt": {"kind": "mqtt", "connected": True, "reconnects": 0, "pending": 0}},
         "subscribers": 1}
    )  # fmt: skip
    status: str = Field(description="'ok', or 'not ready' when problems lists something (as /readyz answers 503).")
    version: str
    plant: str
    store: str
    problems: list[str] = Field(description="What is not ready, one line each (empty when ready).")
    ingest: dict[str, int] = Field(description="Points received, accepted, rejected, rows stored since start.")
    rejected_by_reason: dict[str, int] = Field(description="Rejected points since start by reason.")
    sources: list[str] = Field(description="The running sources, one line each.")
    source_health: dict[str, dict[str, bool | int | float | str]] = Field(
        description="What each source reports about itself (connected, reconnects, …)."
    )
    subscribers: int


class ProblemDetail(BaseModel):
    """One located problem of an error response."""

    message: str
    file: str | None = None
    line: int | None = None
    path: str | None = Field(None, description="Field path, or twin/signal for rejected points.")


class ProblemOut(BaseModel):
    """An RFC 9457 ``application/problem+json`` error body."""

    model_config = _ex(
        {"type": "about:blank", "title": "Invalid input", "status": 422,
         "detail": "1 of 1 points rejected, nothing stored: value is not a number (NaN)",
         "errors": [{"message": "value is not a number (NaN) (value nan)", "file": None, "line": None,
                     "path": f"{FILLER}/temperature"}]}
    )
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[ProblemDetail] | None = None
    reason: str | None = Field(
        None, description="Refused SQL (POST /api/query) only: syntax, statement, table, function, too_long, "
        "timeout, too_many_rows or failed (docs/query.md).",
    )
    position: dict[str, int] | None = Field(
        None, description="Refused SQL only: where the error is, {line, column} (1-based)."
    )


_PROBLEM_TEXT = {
    401: "No valid bearer token (missing, malformed, unknown, expired or revoked).",
    403: "The token lacks the permission, or the object belongs to another tenant.",
    404: "No such twin, signal or object.",
    409: "Conflicts with the current state (revoked already, last admin, exists).",
    413: "Body above the configured size limit (max_body_bytes, max_points, max_arrow_bytes).",
    422: "Invalid request: the errors name each field, twin/signal and reason.",
    429: "Too many requests or jobs: retry after the Retry-After header's seconds.",
    502: "A device or far side refused the request or did not answer.",
    503: "The store is unavailable.",
}
_PROBLEM_TEXT_NOT_READY = "Not ready: the errors name each part (platform, store, source:NAME) and what is wrong."


def problem_responses(*codes: int, not_ready: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses, all ``application/problem+json``.

    ``not_ready`` describes a 503 as a readiness failure rather than a failing store.
    """
    return {
        code: {
            "model": ProblemOut,
            "description": _PROBLEM_TEXT_NOT_READY if code == 503 and not_ready else _PROBLEM_TEXT[code],
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemOut"}}},
        }
        for code in codes
    }


# -- trust: the log and its proofs, assets and grants, tokens, identities ---------------------------
_RECORD = ConfigDict(from_attributes=True)


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


class LogInfo(BaseModel):
    """The log's identity and its latest signed state."""

    origin: str
    size: int
    root: str = Field(description="Base64 SHA-256 root hash at `size`.")
    checkpoint: str = Field(description="The latest C2SP checkpoint (signed note).")
    log_key: str = Field(description="Verifier key `name+keyid+base64`, for `twinverse verify --key`.")
    log_did: str

    @classmethod
    def of(cls, ledger: Ledger, checkpoint: str) -> LogInfo:
        """``ledger``'s identity and the size and root its signed ``checkpoint`` states."""
        lines = checkpoint.split("\n")
        return cls(
            origin=ledger.origin,
            size=int(lines[1]),
            root=lines[2],
            checkpoint=checkpoint,
            log_key=ledger.verifier.key,
            log_did=ledger.verifier.did,
        )


class CheckpointOut(BaseModel):
    size: int
    checkpoint: str


class InclusionProofOut(BaseModel):
    """RFC 9162 inclusion proof (base64 hashes, leaf to root)."""

    index: int
    size: int
    leaf_hash: str
    root: str
    proof: list[str]

    @classmethod
    def of(cls, p: InclusionProof) -> InclusionProofOut:
        return cls(index=p.index, size=p.size, leaf_hash=_b64(p.leaf), root=_b64(p.root),
                   proof=[_b64(h) for h in p.proof])  # fmt: skip


class ConsistencyProofOut(BaseModel):
    """RFC 9162 consistency proof between two tree sizes."""

    first: int
    second: int
    root1: str
    root2: str
    proof: list[str]

    @classmethod
    def of(cls, p: ConsistencyProof) -> ConsistencyProofOut:
        return cls(first=p.first, second=p.second, root1=_b64(p.root1), root2=_b64(p.root2),
                   proof=[_b64(h) for h in p.proof])  # fmt: skip


class EntryOut(BaseModel):
    index: int
    leaf_hash: str
    entry: dict[str, Any]

    @classmethod
    def of(cls, index: int, leaf: bytes, entry: dict[str, Any]) -> EntryOut:
        return cls(index=index, leaf_hash=_b64(leaf), entry=entry)


class VersionOut(BaseModel):
    model_config = _RECORD

    version: int
    sha256: str
    size: int
    media_type: str
    created: datetime
    created_by: str
    derived_from: list[str]
    log_index: int | None


class GrantOut(BaseModel):
    model_config = _RECORD

    id: str
    asset: str
    tenant: str
    status: str
    created: datetime
    created_by: str
    expires: datetime
    approved_by: str | None
    revoked: datetime | None


class AssetOut(BaseModel):
    model_config = _RECORD

    id: str
    tenant: str
    name: str
    owner: str
    description: str
    license: str
    classification: str
    created: datetime
    access: str = Field(description="`owner` (your tenant's) or `grant` (shared with you).")
    versions: list[VersionOut]
    grants: list[GrantOut]

    @classmethod
    def of(cls, view: AssetView) -> AssetOut:
        """The asset with what ``view`` shows of it: its versions, grants and how it is reached."""
        return cls.model_validate(
            {**asdict(view.asset), "access": view.access, "versions": view.versions, "grants": view.grants}
        )


class GrantIn(BaseModel):
    tenant: str = Field(description="The tenant that may read the asset.")
    expires: datetime | None = Field(None, description="When the grant ends (default: in `ttl_days`).")
    ttl_days: float = Field(30, gt=0, le=3650)


class TokenOut(BaseModel):
    model_config = _RECORD

    id: str
    name: str
    did: str
    tenant: str
    scopes: list[str] | None
    created: datetime
    expires: datetime | None
    revoked: datetime | None

    @field_validator("scopes", mode="before")
    @classmethod
    def _sorted(cls, scopes: Any) -> Any:
        return None if scopes is None else sorted(scopes)


class TokenCreated(TokenOut):
    token: str = Field(description="The bearer token. Shown this once; only its SHA-256 is kept.")


class TokenIn(BaseModel):
    name: str = ""
    did: str | None = Field(None, description="Whose token (default: yours; others need token:admin).")
    scopes: list[str] | None = Field(None, description="Narrow the token to these permissions.")
    ttl_days: float | None = Field(90, gt=0, le=3650, description="Lifetime; null for no expiry.")


class JoinProofIn(BaseModel):
    signed_at: int = Field(description="When the holder signed, in Unix seconds (within 5 minutes of the server).")
    signature: str = Field(
        description="Base64 of the DID key's Ed25519 signature of `twinverse-join:v1:<tenant>:<did>:<signed_at>`."
    )

    @field_validator("signature")
    @classmethod
    def _base64(cls, signature: str) -> str:
        try:
            raw = base64.b64decode(signature, validate=True)
        except binascii.Error:
            raise ValueError("signature must be base64") from None
        if len(raw) != 64:
            raise ValueError(f"an Ed25519 signature is 64 bytes, got {len(raw)}")
        return signature

    def to_proof(self) -> JoinProof:
        return JoinProof(self.signed_at, base64.b64decode(self.signature))


class IdentityIn(BaseModel):
    did: str = Field(description="The holder's did:key; the private key stays with the holder.")
    name: str
    kind: IdentityKind = IdentityKind.USER
    role: Role = Role.VIEWER
    proof: JoinProofIn | None = Field(
        None, description="The holder's consent to join your tenant; the membership is then `verified`."
    )


class RoleIn(BaseModel):
    role: Role | None = Field(description="The new role in your tenant; null removes the identity from it.")


class IdentityOut(BaseModel):
    did: str
    name: str = Field(description="Your tenant's name for it (another tenant's name for the same key is its own).")
    kind: str
    role: str | None
    disabled: bool = Field(description="The key is disabled on the whole platform.")
    verified: bool = Field(description="Its holder proved control of the key to your tenant (or it was made here).")

    @classmethod
    def of(cls, identity: Identity, role: Role | None) -> IdentityOut:
        """``identity`` with its ``role`` in the caller's tenant (None: none)."""
        return cls.model_validate({**asdict(identity), "role": role})


class PrincipalOut(BaseModel):
    model_config = _RECORD

    id: str
    tenant: str
    role: str | None
    permissions: list[str]
    token_id: str | None

    @field_validator("permissions", mode="before")
    @classmethod
    def _sorted(cls, permissions: Any) -> Any:
        return sorted(permissions)


class AnnotationOut(BaseModel):
    """A note pinned to a machine, from the plant's shared document."""

    model_config = ConfigDict(extra="allow")
    id: str
    twin: str
    text: str
    author: str
    author_id: str
    created: float = Field(description="Epoch milliseconds.")
    status: str = Field(description="'open' or 'resolved'.")
    resolved_by: str | None = None
    resolved_at: float | None = None


class CollabMeOut(BaseModel):
    """How the shared room shows the caller."""

    id: str
    name: str
    role: str
    colour: str
    canWrite: bool
    plant: str


class PresenceOut(BaseModel):
    """One connected browser's presence state (``user`` as the server stamped it)."""

    model_config = ConfigDict(extra="allow")
    client: int
    user: dict[str, Any]
    camera: dict[str, Any] | None = None
