"""Trust routes: the transparency log and its proofs, data assets and grants, tokens, identities.

Thin shells over :class:`~twinverse.trust.TrustService`: parse, call, format. Tenancy,
classification rules and logging are enforced in the service, not here.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from ...errors import NotFoundError
from ...trust import (
    Asset,
    AssetVersion,
    AssetView,
    Grant,
    IdentityKind,
    Role,
    TokenRecord,
    TrustService,
    did_document,
)
from ...trust.merkle import leaf_hash
from ..body import JsonBody, RawBody
from ..security import Permission, Principal, current_principal, require

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["trust"])

_P = Permission


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _trust(request: Request) -> TrustService:
    trust: TrustService | None = getattr(request.app.state.platform, "trust", None)
    if trust is None:
        raise NotFoundError("this server runs without the trust layer")
    return trust


# -- response models -------------------------------------------------------------------------
class LogInfo(BaseModel):
    """The log's identity and its latest signed state."""

    origin: str
    size: int
    root: str = Field(description="Base64 SHA-256 root hash at `size`.")
    checkpoint: str = Field(description="The latest C2SP checkpoint (signed note).")
    log_key: str = Field(description="Verifier key `name+keyid+base64`, for `twinverse verify --key`.")
    log_did: str


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


class ConsistencyProofOut(BaseModel):
    """RFC 9162 consistency proof between two tree sizes."""

    first: int
    second: int
    root1: str
    root2: str
    proof: list[str]


class EntryOut(BaseModel):
    index: int
    leaf_hash: str
    entry: dict[str, Any]


class VersionOut(BaseModel):
    version: int
    sha256: str
    size: int
    media_type: str
    created: datetime
    created_by: str
    derived_from: list[str]
    log_index: int | None

    @classmethod
    def of(cls, v: AssetVersion) -> VersionOut:
        return cls(
            version=v.version,
            sha256=v.sha256,
            size=v.size,
            media_type=v.media_type,
            created=v.created,
            created_by=v.created_by,
            derived_from=list(v.derived_from),
            log_index=v.log_index,
        )


class GrantOut(BaseModel):
    id: str
    asset: str
    tenant: str
    status: str
    created: datetime
    created_by: str
    expires: datetime
    approved_by: str | None
    revoked: datetime | None

    @classmethod
    def of(cls, g: Grant) -> GrantOut:
        return cls(
            id=g.id,
            asset=g.asset,
            tenant=g.tenant,
            status=g.status.value,
            created=g.created,
            created_by=g.created_by,
            expires=g.expires,
            approved_by=g.approved_by,
            revoked=g.revoked,
        )


class AssetOut(BaseModel):
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
        a: Asset = view.asset
        return cls(
            id=a.id,
            tenant=a.tenant,
            name=a.name,
            owner=a.owner,
            description=a.description,
            license=a.license,
            classification=a.classification.value,
            created=a.created,
            access=view.access,
            versions=[VersionOut.of(v) for v in view.versions],
            grants=[GrantOut.of(g) for g in view.grants],
        )


class GrantIn(BaseModel):
    tenant: str = Field(description="The tenant that may read the asset.")
    expires: datetime | None = Field(None, description="When the grant ends (default: in `ttl_days`).")
    ttl_days: float = Field(30, gt=0, le=3650)


class TokenOut(BaseModel):
    id: str
    name: str
    did: str
    tenant: str
    scopes: list[str] | None
    created: datetime
    expires: datetime | None
    revoked: datetime | None

    @classmethod
    def of(cls, t: TokenRecord) -> TokenOut:
        return cls(
            id=t.id,
            name=t.name,
            did=t.did,
            tenant=t.tenant,
            scopes=None if t.scopes is None else sorted(t.scopes),
            created=t.created,
            expires=t.expires,
            revoked=t.revoked,
        )


class TokenCreated(TokenOut):
    token: str = Field(description="The bearer token. Shown this once; only its SHA-256 is kept.")


class TokenIn(BaseModel):
    name: str = ""
    did: str | None = Field(None, description="Whose token (default: yours; others need token:admin).")
    scopes: list[str] | None = Field(None, description="Narrow the token to these permissions.")
    ttl_days: float | None = Field(90, gt=0, le=3650, description="Lifetime; null for no expiry.")


class IdentityIn(BaseModel):
    did: str = Field(description="The holder's did:key; the private key stays with the holder.")
    name: str
    kind: IdentityKind = IdentityKind.USER
    role: Role = Role.VIEWER


class RoleIn(BaseModel):
    role: Role | None = Field(description="The new role in your tenant; null removes the identity from it.")


class IdentityOut(BaseModel):
    did: str
    name: str
    kind: str
    role: str | None
    disabled: bool


class PrincipalOut(BaseModel):
    id: str
    tenant: str
    role: str | None
    permissions: list[str]
    token_id: str | None


# -- log ---------------------------------------------------------------------------------------
@router.get("/log", response_model=LogInfo, dependencies=[Depends(require(_P.LOG_READ))], summary="Log state")
def log_info(request: Request) -> LogInfo:
    """The log's origin, key, size, root and latest signed checkpoint."""
    t = _trust(request)
    note = t.ledger.checkpoint()
    lines = note.split("\n")
    return LogInfo(
        origin=t.ledger.origin,
        size=int(lines[1]),
        root=lines[2],
        checkpoint=note,
        log_key=t.ledger.verifier.key,
        log_did=t.ledger.verifier.did,
    )


@router.get(
    "/log/checkpoint",
    response_class=PlainTextResponse,
    dependencies=[Depends(require(_P.LOG_READ))],
    summary="Latest checkpoint (signed note)",
)
def log_checkpoint(request: Request) -> PlainTextResponse:
    """The latest checkpoint in the C2SP tlog-checkpoint text format."""
    return PlainTextResponse(_trust(request).ledger.checkpoint(), media_type="text/plain; charset=utf-8")


@router.get(
    "/log/checkpoints",
    response_model=list[CheckpointOut],
    dependencies=[Depends(require(_P.LOG_READ))],
    summary="Signed checkpoints",
)
def log_checkpoints(
    request: Request,
    min_size: Annotated[int, Query(ge=0)] = 0,
    max_size: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[CheckpointOut]:
    """Checkpoints with sizes in ``[min_size, max_size]``, oldest first."""
    cps = _trust(request).ledger.checkpoints(min_size, max_size)[:limit]
    return [CheckpointOut(size=s, checkpoint=n) for s, n in cps]


@router.get(
    "/log/proof/inclusion",
    response_model=InclusionProofOut,
    dependencies=[Depends(require(_P.LOG_READ))],
    summary="Inclusion proof",
)
def inclusion_proof(
    request: Request, index: Annotated[int, Query(ge=0)], size: Annotated[int | None, Query(ge=1)] = None
) -> InclusionProofOut:
    """Proof that entry ``index`` is in the tree of ``size`` entries (default: the current size)."""
    p = _trust(request).ledger.prove_inclusion(index, size)  # bad sizes: ProofError, a 422
    return InclusionProofOut(
        index=p.index, size=p.size, leaf_hash=_b64(p.leaf), root=_b64(p.root), proof=[_b64(h) for h in p.proof]
    )


@router.get(
    "/log/proof/consistency",
    response_model=ConsistencyProofOut,
    dependencies=[Depends(require(_P.LOG_READ))],
    summary="Consistency proof",
)
def consistency_proof(
    request: Request, first: Annotated[int, Query(ge=1)], second: Annotated[int | None, Query(ge=1)] = None
) -> ConsistencyProofOut:
    """Proof that the tree of ``second`` entries extends the tree of ``first`` entries."""
    p = _trust(request).ledger.prove_consistency(first, second)
    return ConsistencyProofOut(
        first=p.first, second=p.second, root1=_b64(p.root1), root2=_b64(p.root2), proof=[_b64(h) for h in p.proof]
    )


@router.get(
    "/log/entries/{index}",
    response_model=EntryOut,
    dependencies=[Depends(require(_P.LOG_READ))],
    summary="One log entry",
)
def log_entry(request: Request, index: int) -> EntryOut:
    """An entry of your tenant (other tenants' entries answer 404; their proofs stay public)."""
    principal = current_principal(request)
    data = _trust(request).ledger.entry(index)
    record = orjson.loads(data)
    if record.get("tenant") != principal.tenant and "*" not in principal.permissions:
        raise NotFoundError(f"log entry {index} does not exist")
    return EntryOut(index=index, leaf_hash=_b64(leaf_hash(data)), entry=record)


# -- assets ------------------------------------------------------------------------------------
@router.get("/assets", response_model=list[AssetOut], dependencies=[Depends(require(_P.ASSET_READ))])
def list_assets(request: Request) -> list[AssetOut]:
    """Your tenant's assets, then assets other tenants granted you."""
    return [AssetOut.of(v) for v in _trust(request).assets.list_assets(current_principal(request))]


@router.post(
    "/assets",
    response_model=AssetOut,
    status_code=201,
    dependencies=[Depends(require(_P.ASSET_WRITE))],
    summary="Register an asset or a new version",
    openapi_extra={"requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string"}}}}},
)
async def register_asset(
    request: Request,
    body: RawBody,
    name: Annotated[str, Query(description="Name in your tenant; an existing name gets a new version.")],
    license: Annotated[str | None, Query(description="SPDX licence expression (required for a new asset).")] = None,
    classification: Annotated[str | None, Query(description="general, important or core (GB/T 43697).")] = None,
    description: Annotated[str | None, Query()] = None,
    derived_from: Annotated[list[str] | None, Query(description="Source versions, like ast_0123456789ab@1.")] = None,
    media_type: Annotated[str | None, Query()] = None,
) -> AssetOut:
    """Upload the request body as a content-addressed asset version."""
    principal = current_principal(request)
    trust = _trust(request)
    mt = media_type or request.headers.get("content-type") or "application/octet-stream"
    asset, _ = await run_in_threadpool(
        trust.assets.register,
        principal,
        name,
        body,
        license=license,
        classification=classification,
        description=description,
        derived_from=derived_from or (),
        media_type=mt,
    )
    return AssetOut.of(trust.assets.show(principal, asset.id))


@router.get("/assets/{asset_id}", response_model=AssetOut, dependencies=[Depends(require(_P.ASSET_READ))])
def show_asset(request: Request, asset_id: str) -> AssetOut:
    """An asset with its versions (and its grants, for the owning tenant)."""
    return AssetOut.of(_trust(request).assets.show(current_principal(request), asset_id))


@router.get(
    "/assets/{asset_id}/content",
    dependencies=[Depends(require(_P.ASSET_READ))],
    responses={200: {"content": {"application/octet-stream": {}}}},
    summary="Download a version (verified against its hash)",
)
def asset_content(request: Request, asset_id: str, version: Annotated[int | None, Query(ge=1)] = None) -> Response:
    """The bytes of a version, checked against their SHA-256 first (a mismatch is refused)."""
    v, data = _trust(request).assets.read(current_principal(request), asset_id, version)
    return Response(
        data,
        media_type=v.media_type,
        headers={"ETag": f'"sha256:{v.sha256}"', "Repr-Digest": f"sha-256=:{_b64(bytes.fromhex(v.sha256))}:"},
    )


@router.get("/assets/{asset_id}/grants", response_model=list[GrantOut], dependencies=[Depends(require(_P.ASSET_READ))])
def asset_grants(request: Request, asset_id: str) -> list[GrantOut]:
    """Grants of one of your tenant's assets."""
    return [GrantOut.of(g) for g in _trust(request).assets.grants(current_principal(request), asset_id)]


@router.post(
    "/assets/{asset_id}/grants",
    response_model=GrantOut,
    status_code=201,
    dependencies=[Depends(require(_P.ASSET_GRANT))],
)
def grant_asset(request: Request, asset_id: str, body: Annotated[GrantIn, Depends(JsonBody(GrantIn))]) -> GrantOut:
    """Let another tenant read an asset until the grant expires (core data: refused)."""
    g = _trust(request).assets.grant(
        current_principal(request), asset_id, body.tenant, ttl=timedelta(days=body.ttl_days), expires=body.expires
    )
    return GrantOut.of(g)


@router.post("/grants/{grant_id}/approve", response_model=GrantOut, dependencies=[Depends(require(_P.ASSET_APPROVE))])
def approve_grant(request: Request, grant_id: str) -> GrantOut:
    """Approve a pending grant of important data (admins)."""
    return GrantOut.of(_trust(request).assets.approve(current_principal(request), grant_id))


@router.delete("/grants/{grant_id}", response_model=GrantOut, dependencies=[Depends(require(_P.ASSET_GRANT))])
def revoke_grant(request: Request, grant_id: str) -> GrantOut:
    """End a grant now."""
    return GrantOut.of(_trust(request).assets.revoke(current_principal(request), grant_id))


# -- tokens ------------------------------------------------------------------------------------
@router.get("/tokens", response_model=list[TokenOut], dependencies=[Depends(require(_P.TOKEN_CREATE))])
def list_tokens(request: Request) -> list[TokenOut]:
    """Your tokens (the whole tenant's with token:admin); never the secrets."""
    return [TokenOut.of(t) for t in _trust(request).access.tokens(current_principal(request))]


@router.post("/tokens", response_model=TokenCreated, status_code=201, dependencies=[Depends(require(_P.TOKEN_CREATE))])
def create_token(request: Request, body: Annotated[TokenIn, Depends(JsonBody(TokenIn))]) -> TokenCreated:
    """A new token; the response is the only time the secret is shown."""
    p = current_principal(request)
    rec, token = _trust(request).access.create_token(
        p,
        body.did or p.id,
        p.tenant,
        name=body.name,
        scopes=body.scopes,
        ttl=None if body.ttl_days is None else timedelta(days=body.ttl_days),
    )
    return TokenCreated(token=token, **TokenOut.of(rec).model_dump())


@router.delete("/tokens/{token_id}", response_model=TokenOut, dependencies=[Depends(require(_P.TOKEN_CREATE))])
def revoke_token(request: Request, token_id: str) -> TokenOut:
    """Revoke a token at once."""
    return TokenOut.of(_trust(request).access.revoke_token(current_principal(request), token_id))


# -- identities --------------------------------------------------------------------------------
@router.get("/me", response_model=PrincipalOut, dependencies=[Depends(require(_P.IDENTITY_READ))])
def me(request: Request) -> PrincipalOut:
    """Who the token belongs to, in which tenant, with which permissions."""
    p: Principal = current_principal(request)
    return PrincipalOut(id=p.id, tenant=p.tenant, role=p.role, permissions=sorted(p.permissions), token_id=p.token_id)


@router.get("/identities", response_model=list[IdentityOut], dependencies=[Depends(require(_P.IDENTITY_READ))])
def list_identities(request: Request) -> list[IdentityOut]:
    """Identities with a role in your tenant."""
    members = _trust(request).access.members(current_principal(request))
    return [
        IdentityOut(did=i.did, name=i.name, kind=i.kind.value, role=r.value, disabled=i.disabled) for i, r in members
    ]


@router.post(
    "/identities", response_model=IdentityOut, status_code=201, dependencies=[Depends(require(_P.IDENTITY_ADMIN))]
)
def create_identity(request: Request, body: Annotated[IdentityIn, Depends(JsonBody(IdentityIn))]) -> IdentityOut:
    """Register a person's or machine's did:key in your tenant with a role."""
    p = current_principal(request)
    ident, _ = _trust(request).access.create_identity(
        p, p.tenant, body.name, kind=body.kind, role=body.role, did=body.did
    )
    return IdentityOut(did=ident.did, name=ident.name, kind=ident.kind.value, role=body.role.value, disabled=False)


@router.put("/identities/{did}/role", response_model=IdentityOut, dependencies=[Depends(require(_P.IDENTITY_ADMIN))])
def set_role(request: Request, did: str, body: Annotated[RoleIn, Depends(JsonBody(RoleIn))]) -> IdentityOut:
    """Change (or remove) an identity's role in your tenant; its tokens follow at once."""
    p = current_principal(request)
    access = _trust(request).access
    access.set_role(p, did, p.tenant, body.role)
    i = access.identity(did)
    return IdentityOut(did=i.did, name=i.name, kind=i.kind.value, role=None if body.role is None else body.role.value,
                       disabled=i.disabled)  # fmt: skip


@router.get("/identities/{did}", response_model=IdentityOut, dependencies=[Depends(require(_P.IDENTITY_READ))])
def show_identity(request: Request, did: str) -> IdentityOut:
    """An identity of your tenant (others answer 404)."""
    p = current_principal(request)
    access = _trust(request).access
    role = access.role(did, p.tenant)
    if role is None:
        raise NotFoundError(f"identity {did} does not exist")
    i = access.identity(did)
    return IdentityOut(did=i.did, name=i.name, kind=i.kind.value, role=role.value, disabled=i.disabled)


@router.get("/did/{did}", dependencies=[Depends(require(_P.IDENTITY_READ))], summary="Resolve a did:key")
def resolve_did(did: str) -> dict[str, Any]:
    """The DID document of any ``did:key`` (computed from the key itself; no registry involved)."""
    return did_document(did)
