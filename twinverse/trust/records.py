"""Records of the trust layer: permissions, roles, principals, identities, tokens, assets, grants.

Plain frozen dataclasses and enums, free of any web or storage dependency, so the API, the
CLI and the stores share them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = [
    "ROLE_PERMISSIONS",
    "Asset",
    "AssetVersion",
    "Classification",
    "Grant",
    "GrantStatus",
    "Identity",
    "IdentityKind",
    "JoinProof",
    "Permission",
    "Principal",
    "Role",
    "Tenant",
    "TokenRecord",
]


class Permission(StrEnum):
    """What a route or operation needs; roles are documented sets of these."""

    HEALTH = "health"
    PLANT_READ = "plant:read"
    DATA_READ = "data:read"
    DATA_WRITE = "data:write"
    DATA_EXPORT = "data:export"
    QUARANTINE_READ = "quarantine:read"
    SIM_READ = "sim:read"
    SIM_RUN = "sim:run"
    ALARM_READ = "alarm:read"
    ALARM_ACK = "alarm:ack"
    ALARM_SHELVE = "alarm:shelve"
    ALARM_SERVICE = "alarm:service"
    RULE_WRITE = "rule:write"
    ANNOTATION_WRITE = "annotation:write"
    MODEL_WRITE = "model:write"
    COMMAND_SEND = "command:send"
    PLANT_LIST = "plant:list"
    PLANT_ADMIN = "plant:admin"
    ASSET_READ = "asset:read"
    ASSET_WRITE = "asset:write"
    ASSET_GRANT = "asset:grant"
    ASSET_APPROVE = "asset:approve"
    AAS_WRITE = "aas:write"
    LOG_READ = "log:read"
    LOG_EXPORT = "log:export"
    IDENTITY_READ = "identity:read"
    IDENTITY_ADMIN = "identity:admin"
    TOKEN_CREATE = "token:create"
    TOKEN_ADMIN = "token:admin"


class Role(StrEnum):
    """Roles per tenant, from least to most trusted."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ENGINEER = "engineer"
    ADMIN = "admin"


_P = Permission
_VIEWER = frozenset(
    {
        _P.HEALTH,
        _P.PLANT_LIST,
        _P.PLANT_READ,
        _P.DATA_READ,
        _P.SIM_READ,
        _P.ALARM_READ,
        _P.ASSET_READ,
        _P.LOG_READ,
        _P.IDENTITY_READ,
        _P.TOKEN_CREATE,
    }
)
_OPERATOR = _VIEWER | {_P.DATA_WRITE, _P.SIM_RUN, _P.ALARM_ACK, _P.ALARM_SHELVE, _P.ANNOTATION_WRITE,
                       _P.COMMAND_SEND}
_ENGINEER = _OPERATOR | {
    _P.DATA_EXPORT,
    _P.QUARANTINE_READ,
    _P.ALARM_SERVICE,
    _P.RULE_WRITE,
    _P.ASSET_WRITE,
    _P.ASSET_GRANT,
    _P.AAS_WRITE,
    _P.MODEL_WRITE,
}
_ADMIN = _ENGINEER | {_P.PLANT_ADMIN, _P.ASSET_APPROVE, _P.LOG_EXPORT, _P.IDENTITY_ADMIN, _P.TOKEN_ADMIN}

#: The documented permission set of each role (docs/trust.md prints this table).
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: _VIEWER,
    Role.OPERATOR: frozenset(_OPERATOR),
    Role.ENGINEER: frozenset(_ENGINEER),
    Role.ADMIN: frozenset(_ADMIN),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: an identity (DID), its tenant, and the permissions granted to it.

    ``permissions`` containing ``"*"`` means everything (open demo mode only).
    """

    id: str
    tenant: str = "default"
    permissions: frozenset[str] = field(default_factory=frozenset)
    role: str | None = None
    token_id: str | None = None

    def can(self, permission: str) -> bool:
        """Whether this principal holds ``permission``."""
        return permission in self.permissions or "*" in self.permissions


@dataclass(frozen=True)
class Tenant:
    """An organisation whose twins, data and assets are isolated from every other tenant."""

    id: str
    name: str
    created: datetime


class IdentityKind(StrEnum):
    """A person or a machine (service, gateway, edge device)."""

    USER = "user"
    MACHINE = "machine"


@dataclass(frozen=True)
class Identity:
    """A registered ``did:key`` with a display name, as one tenant records it.

    Name, kind and date are the tenant's own (another tenant registering the same key
    keeps its own); ``verified`` says the holder proved control of the key when it joined
    the tenant; ``disabled`` belongs to the key itself, on the whole platform.
    """

    did: str
    name: str
    kind: IdentityKind
    created: datetime
    disabled: bool = False
    verified: bool = False


@dataclass(frozen=True)
class JoinProof:
    """The holder's consent to join a tenant: its key's Ed25519 signature of the join challenge.

    The challenge is ``twinverse-join:v1:<tenant>:<did>:<signed_at>`` (see
    :func:`~twinverse.trust.access.join_challenge`); ``signed_at`` is Unix seconds and must be
    within a few minutes of the server's clock.
    """

    signed_at: int
    signature: bytes


@dataclass(frozen=True)
class TokenRecord:
    """What the store keeps of an API token: never the token, only its SHA-256."""

    id: str
    sha256: bytes
    did: str
    tenant: str
    name: str
    scopes: frozenset[str] | None
    created: datetime
    expires: datetime | None
    revoked: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.revoked is None and (self.expires is None or now < self.expires)


class Classification(StrEnum):
    """Data classification levels of GB/T 43697-2024 (数据安全技术 数据分类分级规则)."""

    GENERAL = "general"
    IMPORTANT = "important"
    CORE = "core"

    @property
    def rank(self) -> int:
        return {"general": 0, "important": 1, "core": 2}[self.value]


@dataclass(frozen=True)
class Asset:
    """A registered data asset; its bytes live in versions."""

    id: str
    tenant: str
    name: str
    owner: str
    description: str
    license: str
    classification: Classification
    created: datetime


@dataclass(frozen=True)
class AssetVersion:
    """One content-addressed version of an asset."""

    asset: str
    version: int
    sha256: str
    size: int
    media_type: str
    created: datetime
    created_by: str
    derived_from: tuple[str, ...] = ()
    log_index: int | None = None

    @property
    def ref(self) -> str:
        return f"{self.asset}@{self.version}"


class GrantStatus(StrEnum):
    """A grant waits for an admin's approval (important data) or is in force."""

    PENDING = "pending"
    ACTIVE = "active"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Grant:
    """Read access to an asset for another tenant, until ``expires``."""

    id: str
    asset: str
    tenant: str
    status: GrantStatus
    created: datetime
    created_by: str
    expires: datetime
    approved_by: str | None = None
    revoked: datetime | None = None

    def in_force(self, now: datetime) -> bool:
        return self.status is GrantStatus.ACTIVE and now < self.expires
