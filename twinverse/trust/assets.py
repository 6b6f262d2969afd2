"""The data-asset registry: content-addressed versions, licences, lineage, classification, grants.

Handling by classification (GB/T 43697-2024 levels), enforced here and not in the routes:

========== ========================================= ==================================
level      grants to other tenants                   access logging
========== ========================================= ==================================
general    allowed (``asset:grant``), in force now    grantee reads are logged
important  pending until an admin approves each one   every read is logged
core       refused, and the refusal is logged         every read is logged; no export
========== ========================================= ==================================

An asset derived from others is classified at least as high as its highest source. A
tenant sees its own assets and those granted to it (in force, not expired); anything else
answers exactly like a missing asset, so probing reveals nothing.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError, NotFoundError
from .access import check
from .blobs import BlobStore
from .errors import ConflictError, IntegrityError, PermissionDenied
from .ledger import Ledger
from .licenses import normalize_license
from .records import (
    Asset,
    AssetVersion,
    Classification,
    Grant,
    GrantStatus,
    Permission,
    Principal,
)
from .store import TrustStore

__all__ = ["ASSET_NAME_PATTERN", "DEFAULT_GRANT_TTL", "AssetRegistry", "AssetView"]

DEFAULT_GRANT_TTL = timedelta(days=30)
#: What an asset name may be (letters, digits, ``_.-/``; at most 200 characters).
ASSET_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,199}$"
_NAME = re.compile(ASSET_NAME_PATTERN)
_REF = re.compile(r"^(ast_[0-9a-f]{12})@([1-9][0-9]*)$")


@dataclass(frozen=True)
class AssetView:
    """An asset as one principal may see it: versions always, grants only for the owner tenant."""

    asset: Asset
    versions: tuple[AssetVersion, ...]
    grants: tuple[Grant, ...]
    access: str  # "owner" or "grant"

    @property
    def latest(self) -> AssetVersion:
        return self.versions[-1]


def parse_classification(value: str | Classification) -> Classification:
    try:
        return Classification(value)
    except ValueError:
        raise InputError(
            f"classification {value!r} must be one of: {', '.join(c.value for c in Classification)}"
        ) from None


class AssetRegistry:
    """Register, find, grant and read data assets; every change is a log entry."""

    def __init__(self, store: TrustStore, ledger: Ledger, blobs: BlobStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.ledger = ledger
        self.blobs = blobs
        self.clock = clock

    # -- registration -----------------------------------------------------------------
    def register(
        self,
        actor: Principal,
        name: str,
        content: bytes | Path | BinaryIO,
        *,
        license: str | None = None,
        classification: str | Classification | None = None,
        description: str | None = None,
        derived_from: Iterable[str] = (),
        media_type: str = "application/octet-stream",
    ) -> tuple[Asset, AssetVersion]:
        """Register ``content`` as a new asset, or as the next version of ``name`` in the actor's tenant.

        A first version needs a licence; later versions may change licence, description and
        classification (lowering the classification needs ``asset:approve``). Registering
        bytes identical to the latest version changes nothing and returns it.
        """
        check(actor, Permission.ASSET_WRITE)
        if not _NAME.match(name):
            raise InputError(f"asset name {name!r}: 1-200 of letters, digits, '_', '.', '-', '/'")
        lic = None if license is None else normalize_license(license)
        level = None if classification is None else parse_classification(classification)
        parents = self._parents(actor, derived_from)
        floor = max((self._asset(p.asset).classification for p in parents), key=lambda c: c.rank, default=None)
        sha, size = self.blobs.put(content)
        with self.ledger.transaction():
            asset = self.store.find_asset(actor.tenant, name)
            now = self.clock()
            if asset is None:
                if lic is None:
                    raise InputError("license: a new asset needs an SPDX licence expression")
                level = level or Classification.GENERAL
                asset = Asset(
                    f"ast_{secrets.token_hex(6)}", actor.tenant, name, actor.id, description or "", lic, level, now
                )
                self.store.add_asset(asset)
                number, action = 1, "asset.register"
            else:
                versions = self.store.versions(asset.id)
                last = versions[-1]
                if (
                    last.sha256 == sha
                    and not parents
                    and lic in (None, asset.license)
                    and level
                    in (
                        None,
                        asset.classification,
                    )
                ):
                    return asset, last
                if level is not None and level.rank < asset.classification.rank:
                    check(actor, Permission.ASSET_APPROVE)
                asset = self._update(asset, lic, level, description)
                number, action = last.version + 1, "asset.version"
            if floor is not None and asset.classification.rank < floor.rank:
                raise InputError(
                    f"classification: {name!r} is derived from {floor.value} data and must be classified "
                    f"{floor.value} or higher, not {asset.classification.value}"
                )
            refs = tuple(sorted(p.ref for p in parents))
            index = self.ledger.record(
                action,
                f"asset:{asset.id}@{number}",
                actor=actor.id,
                tenant=actor.tenant,
                details={
                    "name": name,
                    "sha256": sha,
                    "size": size,
                    "license": asset.license,
                    "classification": asset.classification.value,
                    "derived_from": list(refs),
                    "media_type": media_type,
                },
            )
            version = AssetVersion(asset.id, number, sha, size, media_type, now, actor.id, refs, index)
            self.store.add_version(version)
        return asset, version

    def _update(self, asset: Asset, lic: str | None, level: Classification | None, description: str | None) -> Asset:
        updated = Asset(
            asset.id,
            asset.tenant,
            asset.name,
            asset.owner,
            asset.description if description is None else description,
            asset.license if lic is None else lic,
            asset.classification if level is None else level,
            asset.created,
        )
        if updated != asset:
            self.store.update_asset(updated)
        return updated

    def _parents(self, actor: Principal, refs: Iterable[str]) -> list[AssetVersion]:
        out: list[AssetVersion] = []
        for ref in refs:
            m = _REF.match(ref.strip())
            if m is None:
                raise InputError(f"derived_from: {ref!r} is not an asset version reference like 'ast_0123456789ab@1'")
            view = self._visible(actor, m.group(1), what=f"derived_from: {ref}")
            number = int(m.group(2))
            match = [v for v in view.versions if v.version == number]
            if not match:
                raise NotFoundError(f"derived_from: asset {m.group(1)} has no version {number}")
            out.append(match[0])
        return out

    # -- lookup -----------------------------------------------------------------------
    def _asset(self, asset_id: str) -> Asset:
        a = self.store.get_asset(asset_id)
        if a is None:
            raise NotFoundError(f"asset {asset_id!r} does not exist")
        return a

    def _visible(self, actor: Principal, asset_id: str, what: str = "") -> AssetView:
        """The asset if ``actor`` may see it; otherwise the same NotFoundError as a missing one."""
        check(actor, Permission.ASSET_READ)
        missing = NotFoundError(f"{what + ': ' if what else ''}asset {asset_id!r} does not exist")
        a = self.store.get_asset(asset_id)
        if a is None:
            raise missing
        versions = tuple(self.store.versions(a.id))
        if a.tenant == actor.tenant or "*" in actor.permissions:
            return AssetView(a, versions, tuple(self.store.grants(a.id)), "owner")
        now = self.clock()
        if any(g.tenant == actor.tenant and g.in_force(now) for g in self.store.grants(a.id)):
            return AssetView(a, versions, (), "grant")
        raise missing

    def show(self, actor: Principal, asset_id: str) -> AssetView:
        """An asset with its versions (and grants, for its own tenant)."""
        return self._visible(actor, asset_id)

    def list_assets(self, actor: Principal) -> list[AssetView]:
        """The actor's tenant's assets, then assets granted to it."""
        check(actor, Permission.ASSET_READ)
        views = [
            AssetView(a, tuple(self.store.versions(a.id)), tuple(self.store.grants(a.id)), "owner")
            for a in self.store.list_assets(actor.tenant)
        ]
        now = self.clock()
        seen: set[str] = set()
        for g in self.store.grants_to(actor.tenant):
            if g.in_force(now) and g.asset not in seen:
                seen.add(g.asset)
                a = self._asset(g.asset)
                views.append(AssetView(a, tuple(self.store.versions(a.id)), (), "grant"))
        return views

    def derived(self, actor: Principal, ref: str) -> list[str]:
        """Versions registered as derived from ``ref`` that the actor can see."""
        out = []
        for child in self.store.derived_from(ref):
            try:
                self._visible(actor, child.split("@", 1)[0])
            except NotFoundError:
                continue
            out.append(child)
        return out

    # -- reading ----------------------------------------------------------------------
    def _version(self, view: AssetView, version: int | None) -> AssetVersion:
        if version is None:
            return view.latest
        for v in view.versions:
            if v.version == version:
                return v
        raise NotFoundError(f"asset {view.asset.id} has no version {version}")

    def _must_log_read(self, view: AssetView) -> bool:
        return view.access == "grant" or view.asset.classification is not Classification.GENERAL

    def read(self, actor: Principal, asset_id: str, version: int | None = None) -> tuple[AssetVersion, bytes]:
        """The bytes of a version after checking their hash; a mismatch is refused and logged."""
        view = self._visible(actor, asset_id)
        v = self._version(view, version)
        try:
            data = self.blobs.read(v.sha256)
        except IntegrityError:
            self._log_now("asset.integrity_failure", actor, view.asset, v)
            raise
        if self._must_log_read(view):
            self._log_now("asset.read", actor, view.asset, v)
        return v, data

    def copy_to(self, actor: Principal, asset_id: str, dest: Path, version: int | None = None) -> AssetVersion:
        """Write a version to ``dest`` (verified while copying); logged like :meth:`read`."""
        view = self._visible(actor, asset_id)
        v = self._version(view, version)
        try:
            self.blobs.copy_to(v.sha256, dest)
        except IntegrityError:
            self._log_now("asset.integrity_failure", actor, view.asset, v)
            raise
        if self._must_log_read(view):
            self._log_now("asset.read", actor, view.asset, v)
        return v

    def _log_now(self, action: str, actor: Principal, asset: Asset, v: AssetVersion, **details: object) -> None:
        """Commit one log entry on its own (reads and refusals are logged even when the call fails)."""
        with self.ledger.transaction():
            self.ledger.record(
                action,
                f"asset:{asset.id}@{v.version}",
                actor=actor.id,
                tenant=actor.tenant,
                details={"owner_tenant": asset.tenant, "sha256": v.sha256, **details},
            )

    # -- grants -----------------------------------------------------------------------
    def grant(
        self,
        actor: Principal,
        asset_id: str,
        tenant: str,
        *,
        ttl: timedelta | None = None,
        expires: datetime | None = None,
    ) -> Grant:
        """Let ``tenant`` read the asset until ``expires`` (default: 30 days).

        Core data: refused (and the refusal logged). Important data: the grant waits for an
        admin's approval unless the actor is an admin, whose grant is its own approval.
        """
        view = self._visible(actor, asset_id)
        if view.access != "owner":
            raise NotFoundError(f"asset {asset_id!r} does not exist")
        check(actor, Permission.ASSET_GRANT)
        asset = view.asset
        if tenant == asset.tenant:
            raise InputError(f"tenant: {tenant!r} owns the asset already")
        if self.store.get_tenant(tenant) is None:
            raise NotFoundError(f"tenant {tenant!r} does not exist")
        now = self.clock()
        until = expires if expires is not None else now + (ttl or DEFAULT_GRANT_TTL)
        if until <= now:
            raise InputError(f"expires: {until.isoformat()} is not in the future")
        if asset.classification is Classification.CORE:
            self._log_now("asset.grant.refused", actor, asset, view.latest, grantee=tenant, reason="core data")
            raise PermissionDenied(f"asset {asset.id} is core data: it never leaves tenant {asset.tenant!r}")
        approved = asset.classification is Classification.GENERAL or actor.can(Permission.ASSET_APPROVE)
        g = Grant(
            f"grt_{secrets.token_hex(6)}",
            asset.id,
            tenant,
            GrantStatus.ACTIVE if approved else GrantStatus.PENDING,
            now,
            actor.id,
            until,
            actor.id if approved and asset.classification is not Classification.GENERAL else None,
        )
        with self.ledger.transaction():
            self.store.add_grant(g)
            self.ledger.record(
                "asset.grant",
                f"grant:{g.id}",
                actor=actor.id,
                tenant=actor.tenant,
                details={
                    "asset": asset.id,
                    "grantee": tenant,
                    "status": g.status.value,
                    "expires": until.isoformat(),
                    "classification": asset.classification.value,
                },
            )
        return g

    def _own_grant(self, actor: Principal, grant_id: str) -> tuple[Grant, Asset]:
        g = self.store.get_grant(grant_id)
        a = None if g is None else self.store.get_asset(g.asset)
        if g is None or a is None or (a.tenant != actor.tenant and "*" not in actor.permissions):
            raise NotFoundError(f"grant {grant_id!r} does not exist")
        return g, a

    def approve(self, actor: Principal, grant_id: str) -> Grant:
        """An admin approves a pending grant of important data."""
        g, a = self._own_grant(actor, grant_id)
        check(actor, Permission.ASSET_APPROVE, a.tenant)
        if g.status is not GrantStatus.PENDING:
            raise ConflictError(f"grant {grant_id} is {g.status.value}, not pending")
        new = Grant(g.id, g.asset, g.tenant, GrantStatus.ACTIVE, g.created, g.created_by, g.expires, actor.id)
        with self.ledger.transaction():
            self.store.update_grant(new)
            self.ledger.record(
                "asset.grant.approve", f"grant:{g.id}", actor=actor.id, tenant=actor.tenant, details={"asset": a.id}
            )
        return new

    def revoke(self, actor: Principal, grant_id: str) -> Grant:
        """End a grant now."""
        g, a = self._own_grant(actor, grant_id)
        check(actor, Permission.ASSET_GRANT, a.tenant)
        if g.status is GrantStatus.REVOKED:
            raise ConflictError(f"grant {grant_id} was revoked already")
        new = Grant(
            g.id,
            g.asset,
            g.tenant,
            GrantStatus.REVOKED,
            g.created,
            g.created_by,
            g.expires,
            g.approved_by,
            self.clock(),
        )
        with self.ledger.transaction():
            self.store.update_grant(new)
            self.ledger.record(
                "asset.grant.revoke", f"grant:{g.id}", actor=actor.id, tenant=actor.tenant, details={"asset": a.id}
            )
        return new

    def grants(self, actor: Principal, asset_id: str) -> Sequence[Grant]:
        view = self._visible(actor, asset_id)
        if view.access != "owner":
            raise NotFoundError(f"asset {asset_id!r} does not exist")
        return view.grants
