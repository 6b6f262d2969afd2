"""Tenants, identities, roles and API tokens; every change goes into the log.

Tokens are ``tvk_<id>_<secret>``: 12 hex characters of public id (to list and revoke it)
and 256 random bits. Only ``SHA-256(token)`` is stored; the token itself is shown once,
at creation. A token acts for one identity in one tenant with the permissions of the
identity's *current* role there, narrowed to the token's scopes, until it expires or is
revoked; removing the role or disabling the identity disables its tokens at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

from ..config import TENANT_PATTERN
from ..errors import InputError, NotFoundError, ProofError
from .errors import AuthenticationError, ConflictError, PermissionDenied
from .identity import Keypair, public_key_from_did, verify_signature
from .ledger import Ledger
from .records import (
    ROLE_PERMISSIONS,
    Identity,
    IdentityKind,
    JoinProof,
    Permission,
    Principal,
    Role,
    Tenant,
    TokenRecord,
)
from .store import TrustStore

__all__ = [
    "DEFAULT_TOKEN_TTL",
    "JOIN_PROOF_WINDOW",
    "TOKEN_PREFIX",
    "AccessControl",
    "check",
    "join_challenge",
    "token_sha256",
]

log = logging.getLogger("twinverse.trust")

TOKEN_PREFIX = "tvk_"
DEFAULT_TOKEN_TTL = timedelta(days=90)
_TOKEN_RE = re.compile(r"^tvk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_TENANT_RE = re.compile(TENANT_PATTERN)


#: How far the time in a join proof may be from the server's clock.
JOIN_PROOF_WINDOW = timedelta(minutes=5)
#: What a token needs to count as an admin token (the last one cannot be revoked).
_ADMIN_SCOPES = frozenset({Permission.IDENTITY_ADMIN.value, Permission.TOKEN_ADMIN.value})


def join_challenge(tenant: str, did: str, signed_at: int) -> bytes:
    """The bytes the holder of ``did`` signs to join ``tenant`` at ``signed_at`` (Unix seconds).

    >>> join_challenge("acme", "did:key:z6MkX", 1748779200)
    b'twinverse-join:v1:acme:did:key:z6MkX:1748779200'
    """
    return f"twinverse-join:v1:{tenant}:{did}:{signed_at}".encode()


def token_sha256(token: str) -> bytes:
    """The SHA-256 under which a token is stored."""
    return hashlib.sha256(token.encode()).digest()


def check(principal: Principal, permission: Permission, tenant: str | None = None) -> None:
    """Raise :class:`PermissionDenied` unless ``principal`` holds ``permission`` (in ``tenant``)."""
    if not principal.can(permission):
        raise PermissionDenied(f"permission {permission.value!r} required")
    if tenant is not None and principal.tenant != tenant and "*" not in principal.permissions:
        raise PermissionDenied(f"principal of tenant {principal.tenant!r} cannot act in tenant {tenant!r}")


def _scopes(raw: Iterable[str] | None) -> frozenset[str] | None:
    if raw is None:
        return None
    out: set[str] = set()
    for s in raw:
        try:
            out.add(Permission(s).value)
        except ValueError:
            known = ", ".join(p.value for p in Permission)
            raise InputError(f"unknown scope {s!r}; known scopes: {known}") from None
    return frozenset(out)


#: How long a successful authentication is remembered (seconds). A token revoked or a role
#: changed through this process takes effect at once; by another process (the CLI against
#: the same data directory), within this time.
AUTH_CACHE_SECONDS = 2.0
_AUTH_CACHE_MAX = 10_000


class AccessControl:
    """Tenants, identities, memberships and tokens over a :class:`TrustStore` and a :class:`Ledger`."""

    def __init__(self, store: TrustStore, ledger: Ledger, key_dir: Path, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.ledger = ledger
        self.key_dir = key_dir
        self.clock = clock
        # token SHA-256 → (principal, monotonic time until which it may be reused, token expiry)
        self._recent: dict[bytes, tuple[Principal, float, datetime | None]] = {}

    def forget_sessions(self) -> None:
        """Drop remembered authentications (after anything that can take a permission away)."""
        self._recent.clear()

    # -- tenants ----------------------------------------------------------------------
    def create_tenant(self, actor: Principal | None, tenant_id: str, name: str = "") -> Tenant:
        """Create a tenant (``actor`` None means the local operator bootstrapping the platform)."""
        if not _TENANT_RE.match(tenant_id):
            raise InputError(f"tenant id {tenant_id!r} must be 1-63 of a-z, 0-9, '-', '_', starting alphanumeric")
        if actor is not None and "*" not in actor.permissions:
            raise PermissionDenied("only the platform operator creates tenants")
        with self.ledger.transaction():
            if self.store.get_tenant(tenant_id) is not None:
                raise ConflictError(f"tenant {tenant_id!r} exists already")
            tenant = Tenant(tenant_id, name or tenant_id, self.clock())
            self.store.add_tenant(tenant)
            self.ledger.record(
                "tenant.create",
                f"tenant:{tenant_id}",
                actor=_actor(actor),
                tenant=tenant_id,
                details={"name": tenant.name},
            )
        return tenant

    def tenant(self, tenant_id: str) -> Tenant:
        t = self.store.get_tenant(tenant_id)
        if t is None:
            raise NotFoundError(f"tenant {tenant_id!r} does not exist")
        return t

    # -- identities -------------------------------------------------------------------
    def create_identity(
        self,
        actor: Principal | None,
        tenant: str,
        name: str,
        *,
        kind: IdentityKind = IdentityKind.USER,
        role: Role = Role.VIEWER,
        did: str | None = None,
        passphrase: str | None = None,
        key_path: Path | None = None,
        proof: JoinProof | None = None,
    ) -> tuple[Identity, Path | None]:
        """Register an identity in ``tenant`` with ``role``; returns the tenant's record of it.

        With ``did`` the holder keeps their own key (only the public DID is registered);
        without it a key pair is generated and written to ``key_path`` (default
        ``<data_dir>/keys/<name>.pem``), encrypted when ``passphrase`` is given.

        The record (name, kind) is the tenant's own, whether or not another tenant
        registered the same key: the answer is the same either way, so it reveals nothing
        about other tenants. ``proof`` (the holder's signature over :func:`join_challenge`)
        marks the membership ``verified``; a generated key is verified by construction.
        """
        if actor is not None:
            check(actor, Permission.IDENTITY_ADMIN, tenant)
        name = name.strip()
        if not name or len(name) > 200 or "\n" in name:
            raise InputError("identity name must be 1-200 characters on one line")
        self.tenant(tenant)
        key_file: Path | None = None
        keypair: Keypair | None = None
        if did is None:
            if proof is not None:
                raise InputError("a join proof needs the did it was signed for")
            keypair = Keypair.generate()
            did = keypair.did
            key_file = key_path or self.key_dir / f"{_safe(name)}-{did[-8:]}.pem"
        else:
            public_key_from_did(did)  # validates, with a precise message
            if proof is not None:
                self._check_proof(tenant, did, proof)
        now = self.clock()
        with self.ledger.transaction():
            if self.store.get_role(did, tenant) is not None:
                raise ConflictError(f"{did} is already a member of tenant {tenant!r}")
            if self.store.get_identity(did) is None:
                self.store.add_identity(Identity(did, name, IdentityKind(kind), now))
            verified = keypair is not None or proof is not None
            self.store.add_member(Identity(did, name, IdentityKind(kind), now, verified=verified), tenant, Role(role))
            # One action whether the key is new to the platform or not: tenants read their entries.
            self.ledger.record(
                "identity.create",
                f"identity:{did}",
                actor=_actor(actor),
                tenant=tenant,
                details={"name": name, "kind": IdentityKind(kind).value, "role": Role(role).value,
                         "verified": verified},
            )  # fmt: skip
            if keypair is not None and key_file is not None:
                # Written inside the transaction so a failed write leaves no orphan identity.
                keypair.save(key_file, passphrase)
            member = self.store.get_member(did, tenant)
        assert member is not None
        return member[0], key_file

    def _check_proof(self, tenant: str, did: str, proof: JoinProof) -> None:
        """:class:`ProofError` unless ``proof`` is ``did``'s fresh signature of the challenge for ``tenant``."""
        skew = abs(self.clock().timestamp() - proof.signed_at)
        if skew > JOIN_PROOF_WINDOW.total_seconds():
            window = int(JOIN_PROOF_WINDOW.total_seconds())
            raise ProofError(f"join proof signed at {proof.signed_at} is not within {window} s of the server's clock")
        if not verify_signature(did, join_challenge(tenant, did, proof.signed_at), proof.signature):
            raise ProofError(
                f"the join proof is not a signature by {did} of 'twinverse-join:v1:{tenant}:{did}:{proof.signed_at}'"
            )

    def member(self, actor: Principal | None, did: str, tenant: str) -> tuple[Identity, Role]:
        """``tenant``'s record of ``did`` and its role; a non-member answers like an unknown DID."""
        if actor is not None:
            check(actor, Permission.IDENTITY_READ, tenant)
        found = self.store.get_member(did, tenant)
        if found is None:
            raise NotFoundError(f"identity {did} does not exist")
        return found

    def members(self, actor: Principal, tenant: str | None = None) -> list[tuple[Identity, Role]]:
        tenant = tenant or actor.tenant
        check(actor, Permission.IDENTITY_READ, tenant)
        return self.store.list_members(tenant)

    def set_role(self, actor: Principal | None, did: str, tenant: str, role: Role | None) -> Identity:
        """Change a member's role in ``tenant`` (None removes it, which disables its tokens there).

        Only members of ``tenant`` can be changed (others answer 404, like unknown DIDs);
        joining goes through :meth:`create_identity`. The tenant's last admin keeps its role
        (:class:`ConflictError`), so a tenant is never left without one. Returns the record.
        """
        if actor is not None:
            check(actor, Permission.IDENTITY_ADMIN, tenant)
        self.forget_sessions()
        with self.ledger.transaction():
            ident, old = self.member(None, did, tenant)
            if old is Role.ADMIN and role is not Role.ADMIN and not self._other_admins(tenant, did):
                raise ConflictError(
                    f"{did} is the last admin of tenant {tenant!r}: make another identity admin before "
                    f"{'removing' if role is None else 'demoting'} it"
                )
            self.store.set_role(did, tenant, role)
            self.ledger.record(
                "identity.role",
                f"identity:{did}",
                actor=_actor(actor),
                tenant=tenant,
                details={"role": None if role is None else role.value},
            )
        return ident

    def _other_admins(self, tenant: str, did: str) -> list[str]:
        """The enabled admins of ``tenant`` other than ``did``."""
        members = self.store.list_members(tenant)
        return [i.did for i, r in members if r is Role.ADMIN and i.did != did and not i.disabled]

    def role(self, did: str, tenant: str) -> Role | None:
        return self.store.get_role(did, tenant)

    # -- tokens -----------------------------------------------------------------------
    def create_token(
        self,
        actor: Principal | None,
        did: str,
        tenant: str,
        *,
        name: str = "",
        scopes: Iterable[str] | None = None,
        ttl: timedelta | None = DEFAULT_TOKEN_TTL,
    ) -> tuple[TokenRecord, str]:
        """A new token for ``did`` in ``tenant``; returns the record and the token (shown once).

        A token never carries more than its creator holds: scopes beyond the actor's own
        permissions are refused.
        """
        if actor is not None:
            own = actor.id == did and actor.tenant == tenant
            check(actor, Permission.TOKEN_CREATE if own else Permission.TOKEN_ADMIN, tenant)
        role = self.store.get_role(did, tenant)
        if role is None:
            raise NotFoundError(f"{did} has no role in tenant {tenant!r}")
        wanted = _scopes(scopes)
        allowed = {p.value for p in ROLE_PERMISSIONS[role]}
        if actor is not None and "*" not in actor.permissions:
            allowed &= set(actor.permissions)
        if wanted is not None and not wanted <= allowed:
            extra = ", ".join(sorted(wanted - allowed))
            raise PermissionDenied(f"scopes beyond what may be delegated: {extra}")
        if ttl is not None and ttl <= timedelta(0):
            raise InputError(f"token lifetime must be positive, got {ttl}")
        if wanted is None and actor is not None and "*" not in actor.permissions:
            # An admin's token for someone else may still not exceed the admin's own rights.
            wanted = frozenset(allowed) if allowed != {p.value for p in ROLE_PERMISSIONS[role]} else None
        token_id = secrets.token_hex(6)
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        now = self.clock()
        record = TokenRecord(
            token_id,
            token_sha256(token),
            did,
            tenant,
            name.strip() or token_id,
            wanted,
            now,
            None if ttl is None else now + ttl,
        )
        with self.ledger.transaction():
            self.store.add_token(record)
            self.ledger.record(
                "token.create",
                f"token:{token_id}",
                actor=_actor(actor),
                tenant=tenant,
                details={
                    "did": did,
                    "sha256": record.sha256.hex(),
                    "scopes": None if wanted is None else sorted(wanted),
                    "expires": None if record.expires is None else record.expires.isoformat(),
                },
            )
        return record, token

    def tokens(self, actor: Principal, tenant: str | None = None) -> list[TokenRecord]:
        """Tokens the actor may see: its own, or the whole tenant's with ``token:admin``."""
        tenant = tenant or actor.tenant
        if actor.can(Permission.TOKEN_ADMIN):
            check(actor, Permission.TOKEN_ADMIN, tenant)
            return self.store.list_tokens(tenant)
        check(actor, Permission.TOKEN_CREATE, tenant)
        return self.store.list_tokens(tenant, actor.id)

    def revoke_token(self, actor: Principal | None, token_id: str) -> TokenRecord:
        """Revoke a token at once; other tenants' tokens look like missing ones."""
        rec = self.store.get_token(token_id)
        if rec is None or (actor is not None and "*" not in actor.permissions and rec.tenant != actor.tenant):
            raise NotFoundError(f"token {token_id!r} does not exist")
        if actor is not None:
            own = actor.id == rec.did
            check(actor, Permission.TOKEN_CREATE if own else Permission.TOKEN_ADMIN, rec.tenant)
        if rec.revoked is not None:
            raise ConflictError(f"token {token_id!r} was revoked already")
        self.forget_sessions()
        with self.ledger.transaction():
            now = self.clock()
            if self._admin_token(rec, now) and not any(
                self._admin_token(t, now) for t in self.store.list_tokens(rec.tenant) if t.id != rec.id
            ):
                raise ConflictError(
                    f"token {token_id!r} is the last active admin token of tenant {rec.tenant!r}: "
                    "create another admin token before revoking it"
                )
            self.store.revoke_token(token_id, now)
            self.ledger.record(
                "token.revoke",
                f"token:{token_id}",
                actor=_actor(actor),
                tenant=rec.tenant,
                details={"sha256": rec.sha256.hex()},
            )
        revoked = self.store.get_token(token_id)
        assert revoked is not None
        return revoked

    def _admin_token(self, rec: TokenRecord, now: datetime) -> bool:
        """Whether ``rec`` works now and can administer identities and tokens in its tenant."""
        if not rec.active(now) or self.store.get_role(rec.did, rec.tenant) is not Role.ADMIN:
            return False
        if rec.scopes is not None and not rec.scopes >= _ADMIN_SCOPES:
            return False
        ident = self.store.get_identity(rec.did)
        return ident is not None and not ident.disabled

    def authenticate(self, token: str) -> Principal:
        """The principal a bearer token stands for; :class:`AuthenticationError` otherwise.

        The client only ever hears "invalid token"; the reason goes to the server log.
        """
        m = _TOKEN_RE.match(token)
        if m is None:
            raise AuthenticationError("invalid bearer token", reason="malformed token")
        digest = token_sha256(token)
        hit = self._recent.get(digest)
        if hit is not None and time.monotonic() < hit[1] and (hit[2] is None or self.clock() < hit[2]):
            return hit[0]  # a device sending many requests pays three database reads per 2 s, not per request
        principal, expires = self._authenticate(digest, m.group(1))
        if len(self._recent) >= _AUTH_CACHE_MAX:
            self._recent.clear()
        self._recent[digest] = (principal, time.monotonic() + AUTH_CACHE_SECONDS, expires)
        return principal

    def _authenticate(self, digest: bytes, token_id: str) -> tuple[Principal, datetime | None]:
        rec = self.store.token_by_hash(digest)
        if rec is None or not hmac.compare_digest(rec.id, token_id):
            raise AuthenticationError("invalid bearer token", reason=f"unknown token {token_id}")
        now = self.clock()
        if rec.revoked is not None:
            raise AuthenticationError("invalid bearer token", reason=f"token {rec.id} revoked at {rec.revoked}")
        if rec.expires is not None and now >= rec.expires:
            raise AuthenticationError("invalid bearer token", reason=f"token {rec.id} expired at {rec.expires}")
        ident = self.store.get_identity(rec.did)
        if ident is None or ident.disabled:
            raise AuthenticationError("invalid bearer token", reason=f"identity {rec.did} disabled")
        role = self.store.get_role(rec.did, rec.tenant)
        if role is None:
            raise AuthenticationError("invalid bearer token", reason=f"{rec.did} has no role in {rec.tenant}")
        perms = {p.value for p in ROLE_PERMISSIONS[role]}
        if rec.scopes is not None:
            perms &= rec.scopes
        return Principal(rec.did, rec.tenant, frozenset(perms), role.value, rec.id), rec.expires

    def principal(self, did: str, tenant: str) -> Principal:
        """The principal of ``did`` acting in ``tenant`` with its full role (local CLI use)."""
        role = self.store.get_role(did, tenant)
        if role is None:
            raise NotFoundError(f"{did} has no role in tenant {tenant!r}")
        return Principal(did, tenant, frozenset(p.value for p in ROLE_PERMISSIONS[role]), role.value)


def _actor(actor: Principal | None) -> str | None:
    return None if actor is None else actor.id


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")[:60] or "key"
