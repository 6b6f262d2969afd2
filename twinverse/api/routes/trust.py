"""Trust routes: the transparency log and its proofs, data assets and grants, tokens, identities.

Thin shells over :class:`~twinverse.trust.TrustService`: parse, call, format. Tenancy,
classification rules and logging are enforced in the service, not here.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from ...errors import NotFoundError
from ...trust import TrustService, did_document, leaf_hash
from ...trust.assets import ASSET_NAME_PATTERN
from ..body import JsonBody, RawBody
from ..schemas import (
    AssetOut,
    CheckpointOut,
    ConsistencyProofOut,
    EntryOut,
    GrantIn,
    GrantOut,
    IdentityIn,
    IdentityOut,
    InclusionProofOut,
    LogInfo,
    PrincipalOut,
    RoleIn,
    TokenCreated,
    TokenIn,
    TokenOut,
)
from ..security import Permission, current_principal, require

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["trust"])

#: Largest log index or size a request may name (SQLite integers are 64-bit).
LOG_MAX = 2**62

_P = Permission


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _trust(request: Request) -> TrustService:
    trust: TrustService | None = getattr(request.app.state.platform, "trust", None)
    if trust is None:
        raise NotFoundError("this server runs without the trust layer")
    return trust


# -- log ---------------------------------------------------------------------------------------
@router.get("/log", response_model=LogInfo, dependencies=[Depends(require(_P.LOG_READ))], summary="Log state")
def log_info(request: Request) -> LogInfo:
    """The log's origin, key, size, root and latest signed checkpoint."""
    ledger = _trust(request).ledger
    return LogInfo.of(ledger, ledger.checkpoint())


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
    min_size: Annotated[int, Query(ge=0, le=LOG_MAX)] = 0,
    max_size: Annotated[int | None, Query(ge=0, le=LOG_MAX)] = None,
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
    request: Request,
    index: Annotated[int, Query(ge=0, le=LOG_MAX)],
    size: Annotated[int | None, Query(ge=1, le=LOG_MAX)] = None,
) -> InclusionProofOut:
    """Proof that entry ``index`` is in the tree of ``size`` entries (default: the current size)."""
    return InclusionProofOut.of(_trust(request).ledger.prove_inclusion(index, size))  # bad sizes: ProofError, a 422


@router.get(
    "/log/proof/consistency",
    response_model=ConsistencyProofOut,
    dependencies=[Depends(require(_P.LOG_READ))],
    summary="Consistency proof",
)
def consistency_proof(
    request: Request,
    first: Annotated[int, Query(ge=1, le=LOG_MAX)],
    second: Annotated[int | None, Query(ge=1, le=LOG_MAX)] = None,
) -> ConsistencyProofOut:
    """Proof that the tree of ``second`` entries extends the tree of ``first`` entries."""
    return ConsistencyProofOut.of(_trust(request).ledger.prove_consistency(first, second))


@router.get(
    "/log/entries/{index}",
    response_model=EntryOut,
    dependencies=[Depends(require(_P.LOG_READ))],
    summary="One log entry",
)
def log_entry(request: Request, index: Annotated[int, Path(ge=0, le=LOG_MAX)]) -> EntryOut:
    """An entry of your tenant (other tenants' entries answer 404; their proofs stay public)."""
    principal = current_principal(request)
    data = _trust(request).ledger.entry(index)
    record = orjson.loads(data)
    if record.get("tenant") != principal.tenant and "*" not in principal.permissions:
        raise NotFoundError(f"log entry {index} does not exist")
    return EntryOut.of(index, leaf_hash(data), record)


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
    name: Annotated[
        str,
        Query(pattern=ASSET_NAME_PATTERN, description="Name in your tenant; an existing name gets a new version."),
    ],
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
def asset_content(
    request: Request, asset_id: str, version: Annotated[int | None, Query(ge=1, le=LOG_MAX)] = None
) -> Response:
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
    return [GrantOut.model_validate(g) for g in _trust(request).assets.grants(current_principal(request), asset_id)]


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
    return GrantOut.model_validate(g)


@router.post("/grants/{grant_id}/approve", response_model=GrantOut, dependencies=[Depends(require(_P.ASSET_APPROVE))])
def approve_grant(request: Request, grant_id: str) -> GrantOut:
    """Approve a pending grant of important data (admins)."""
    return GrantOut.model_validate(_trust(request).assets.approve(current_principal(request), grant_id))


@router.delete("/grants/{grant_id}", response_model=GrantOut, dependencies=[Depends(require(_P.ASSET_GRANT))])
def revoke_grant(request: Request, grant_id: str) -> GrantOut:
    """End a grant now."""
    return GrantOut.model_validate(_trust(request).assets.revoke(current_principal(request), grant_id))


# -- tokens ------------------------------------------------------------------------------------
@router.get("/tokens", response_model=list[TokenOut], dependencies=[Depends(require(_P.TOKEN_CREATE))])
def list_tokens(request: Request) -> list[TokenOut]:
    """Your tokens (the whole tenant's with token:admin); never the secrets."""
    return [TokenOut.model_validate(t) for t in _trust(request).access.tokens(current_principal(request))]


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
    return TokenCreated.model_validate({**TokenOut.model_validate(rec).model_dump(), "token": token})


@router.delete("/tokens/{token_id}", response_model=TokenOut, dependencies=[Depends(require(_P.TOKEN_CREATE))])
def revoke_token(request: Request, token_id: str) -> TokenOut:
    """Revoke a token at once."""
    return TokenOut.model_validate(_trust(request).access.revoke_token(current_principal(request), token_id))


# -- identities --------------------------------------------------------------------------------
@router.get("/me", response_model=PrincipalOut, dependencies=[Depends(require(_P.IDENTITY_READ))])
def me(request: Request) -> PrincipalOut:
    """Who the token belongs to, in which tenant, with which permissions."""
    return PrincipalOut.model_validate(current_principal(request))


@router.get("/identities", response_model=list[IdentityOut], dependencies=[Depends(require(_P.IDENTITY_READ))])
def list_identities(request: Request) -> list[IdentityOut]:
    """Identities with a role in your tenant."""
    members = _trust(request).access.members(current_principal(request))
    return [IdentityOut.of(i, r) for i, r in members]


@router.post(
    "/identities", response_model=IdentityOut, status_code=201, dependencies=[Depends(require(_P.IDENTITY_ADMIN))]
)
def create_identity(request: Request, body: Annotated[IdentityIn, Depends(JsonBody(IdentityIn))]) -> IdentityOut:
    """Register a person's or machine's did:key in your tenant with a role (your own record of it)."""
    p = current_principal(request)
    proof = None if body.proof is None else body.proof.to_proof()
    ident, _ = _trust(request).access.create_identity(
        p, p.tenant, body.name, kind=body.kind, role=body.role, did=body.did, proof=proof
    )
    return IdentityOut.of(ident, body.role)


#: A did:key path segment (Ed25519 keys are ``did:key:z6Mk…``, 48 base58btc characters).
DidPath = Annotated[
    str, Path(pattern=r"^did:key:z[1-9A-HJ-NP-Za-km-z]{1,200}$", max_length=220, description="A did:key DID.")
]


@router.put("/identities/{did}/role", response_model=IdentityOut, dependencies=[Depends(require(_P.IDENTITY_ADMIN))])
def set_role(request: Request, did: DidPath, body: Annotated[RoleIn, Depends(JsonBody(RoleIn))]) -> IdentityOut:
    """Change (or remove) a member's role in your tenant; its tokens follow at once."""
    p = current_principal(request)
    return IdentityOut.of(_trust(request).access.set_role(p, did, p.tenant, body.role), body.role)


@router.get("/identities/{did}", response_model=IdentityOut, dependencies=[Depends(require(_P.IDENTITY_READ))])
def show_identity(request: Request, did: DidPath) -> IdentityOut:
    """An identity of your tenant (others answer 404)."""
    p = current_principal(request)
    return IdentityOut.of(*_trust(request).access.member(p, did, p.tenant))


@router.get("/did/{did}", dependencies=[Depends(require(_P.IDENTITY_READ))], summary="Resolve a did:key")
def resolve_did(did: DidPath) -> dict[str, Any]:
    """The DID document of any ``did:key`` (computed from the key itself; no registry involved)."""
    return did_document(did)
