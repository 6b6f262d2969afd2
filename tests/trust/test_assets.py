"""The data-asset registry: content addressing, versions, licences, lineage, classification, grants."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from twinverse.errors import InputError, NotFoundError
from twinverse.trust import GrantStatus, Principal, Role, TrustService
from twinverse.trust.errors import IntegrityError, PermissionDenied

from .conftest import Clock


@pytest.fixture
def acme(trust: TrustService) -> Principal:
    trust.access.create_tenant(None, "acme")
    return trust.local_admin("acme")


def _actions(trust: TrustService) -> list[str]:
    return [orjson.loads(e)["action"] for e in trust.ledger.entries(0, trust.ledger.size)]


def _last(trust: TrustService) -> dict[str, object]:
    return dict(orjson.loads(trust.ledger.entry(trust.ledger.size - 1)))


def test_register_is_content_addressed_and_logged(trust: TrustService, admin: Principal) -> None:
    data = b"ts,value\n2025-01-01T00:00:00Z,1.5\n"
    asset, v = trust.assets.register(admin, "line1/filler.csv", data, license="cc-by-4.0", media_type="text/csv")
    assert v.sha256 == hashlib.sha256(data).hexdigest() and v.size == len(data) and v.version == 1
    assert asset.license == "CC-BY-4.0" and asset.classification.value == "general" and asset.owner == admin.id
    assert trust.blobs.path(v.sha256).read_bytes() == data
    entry = _last(trust)
    assert entry["action"] == "asset.register" and entry["target"] == f"asset:{asset.id}@1"
    assert entry["details"]["sha256"] == v.sha256  # type: ignore[index]
    assert v.log_index == trust.ledger.size - 1
    assert trust.assets.read(admin, asset.id) == (v, data)


def test_versions_and_idempotence(trust: TrustService, admin: Principal) -> None:
    a, v1 = trust.assets.register(admin, "model.step", b"v1", license="MIT")
    size = trust.ledger.size
    assert trust.assets.register(admin, "model.step", b"v1") == (a, v1)  # same bytes: nothing new
    assert trust.ledger.size == size
    a2, v2 = trust.assets.register(admin, "model.step", b"v2", license="Apache-2.0")
    assert (a2.id, v2.version, a2.license) == (a.id, 2, "Apache-2.0")
    assert trust.assets.read(admin, a.id, version=1)[1] == b"v1"
    assert trust.assets.read(admin, a.id)[1] == b"v2"
    assert _actions(trust)[-1] == "asset.version"
    with pytest.raises(NotFoundError, match="no version 3"):
        trust.assets.read(admin, a.id, version=3)


@pytest.mark.parametrize(
    ("license", "message"),
    [("Foo-1.0", "unknown SPDX licence identifier"), ("MIT AND", "not a valid SPDX"), ("", "required")],
)
def test_licence_is_validated(trust: TrustService, admin: Principal, license: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        trust.assets.register(admin, "x", b"x", license=license)


def test_new_asset_needs_a_licence(trust: TrustService, admin: Principal) -> None:
    with pytest.raises(InputError, match="needs an SPDX licence"):
        trust.assets.register(admin, "x", b"x")


def test_lineage_and_inherited_classification(trust: TrustService, admin: Principal) -> None:
    src, sv = trust.assets.register(admin, "raw", b"raw", license="MIT", classification="important")
    with pytest.raises(InputError, match="derived from important data"):
        trust.assets.register(admin, "derived", b"d", license="MIT", derived_from=[sv.ref])
    _, dv = trust.assets.register(
        admin, "derived", b"d", license="MIT", classification="important", derived_from=[sv.ref]
    )
    assert dv.derived_from == (sv.ref,)
    assert trust.assets.derived(admin, sv.ref) == [dv.ref]
    with pytest.raises(InputError, match="not an asset version reference"):
        trust.assets.register(admin, "bad", b"b", license="MIT", derived_from=["raw"])
    with pytest.raises(NotFoundError, match="no version 9"):
        trust.assets.register(admin, "bad", b"b", license="MIT", derived_from=[f"{src.id}@9"])


def test_general_grant_gives_read_until_expiry_and_grantee_reads_are_logged(
    trust: TrustService, admin: Principal, acme: Principal, clock: Clock
) -> None:
    a, _ = trust.assets.register(admin, "open-data", b"o", license="CC0-1.0")
    with pytest.raises(NotFoundError):
        trust.assets.read(acme, a.id)  # not granted: indistinguishable from missing
    g = trust.assets.grant(admin, a.id, "acme", expires=clock.now + timedelta(days=1))
    assert g.status is GrantStatus.ACTIVE
    assert [v.asset.id for v in trust.assets.list_assets(acme)] == [a.id]
    assert trust.assets.show(acme, a.id).grants == ()  # grantees do not see other grants
    assert trust.assets.read(acme, a.id)[1] == b"o"
    assert _last(trust)["action"] == "asset.read" and _last(trust)["tenant"] == "acme"
    size = trust.ledger.size
    trust.assets.read(admin, a.id)  # owner reads of general data are not logged one by one
    assert trust.ledger.size == size
    clock.advance(days=1)
    with pytest.raises(NotFoundError):
        trust.assets.read(acme, a.id)


def test_important_grant_waits_for_an_admin(trust: TrustService, admin: Principal, acme: Principal) -> None:
    eng_ident, _ = trust.access.create_identity(admin, "default", "erin", role=Role.ENGINEER)
    eng = trust.access.principal(eng_ident.did, "default")
    a, _ = trust.assets.register(eng, "recipe", b"r", license="LicenseRef-acme", classification="important")
    g = trust.assets.grant(eng, a.id, "acme")
    assert g.status is GrantStatus.PENDING and g.approved_by is None
    with pytest.raises(NotFoundError):
        trust.assets.read(acme, a.id)
    with pytest.raises(PermissionDenied, match="asset:approve"):
        trust.assets.approve(eng, g.id)
    approved = trust.assets.approve(admin, g.id)
    assert approved.status is GrantStatus.ACTIVE and approved.approved_by == admin.id
    size = trust.ledger.size
    trust.assets.read(admin, a.id)  # important: even the owner's reads are logged
    assert trust.ledger.size == size + 1
    trust.assets.read(acme, a.id)
    trust.assets.revoke(admin, g.id)
    with pytest.raises(NotFoundError):
        trust.assets.read(acme, a.id)
    tail = _actions(trust)
    assert tail[tail.index("asset.grant") :] == [
        "asset.grant",
        "asset.grant.approve",
        "asset.read",
        "asset.read",
        "asset.grant.revoke",
    ]


def test_core_data_never_leaves_its_tenant(trust: TrustService, admin: Principal, acme: Principal) -> None:
    a, _ = trust.assets.register(admin, "process-secrets", b"s", license="LicenseRef-internal", classification="core")
    with pytest.raises(PermissionDenied, match="core data"):
        trust.assets.grant(admin, a.id, "acme")
    refusal = _last(trust)
    assert refusal["action"] == "asset.grant.refused"
    assert refusal["details"]["grantee"] == "acme"  # type: ignore[index]
    assert trust.assets.grants(admin, a.id) == ()
    with pytest.raises(NotFoundError):
        trust.assets.read(acme, a.id)


def test_lowering_classification_needs_an_admin(trust: TrustService, admin: Principal) -> None:
    eng_ident, _ = trust.access.create_identity(admin, "default", "erin", role=Role.ENGINEER)
    eng = trust.access.principal(eng_ident.did, "default")
    trust.assets.register(eng, "plan", b"1", license="MIT", classification="important")
    with pytest.raises(PermissionDenied, match="asset:approve"):
        trust.assets.register(eng, "plan", b"2", classification="general")
    a, _ = trust.assets.register(admin, "plan", b"2", classification="general")
    assert a.classification.value == "general"


def test_tampered_bytes_are_refused_on_read_and_logged(trust: TrustService, admin: Principal, tmp_path: Path) -> None:
    a, v = trust.assets.register(admin, "cad", b"original geometry", license="MIT")
    blob = trust.blobs.path(v.sha256)
    os.chmod(blob, 0o644)
    blob.write_bytes(b"Original geometry")
    with pytest.raises(IntegrityError, match=f"blob {v.sha256} is corrupt"):
        trust.assets.read(admin, a.id)
    with pytest.raises(IntegrityError):
        trust.assets.copy_to(admin, a.id, tmp_path / "out.bin")
    assert not (tmp_path / "out.bin").exists()
    assert _last(trust)["action"] == "asset.integrity_failure"


def test_viewer_cannot_register_and_foreign_grants_are_hidden(
    trust: TrustService, admin: Principal, acme: Principal
) -> None:
    viewer_ident, _ = trust.access.create_identity(admin, "default", "vic", role=Role.VIEWER)
    viewer = trust.access.principal(viewer_ident.did, "default")
    with pytest.raises(PermissionDenied, match="asset:write"):
        trust.assets.register(viewer, "x", b"x", license="MIT")
    a, _ = trust.assets.register(admin, "shared", b"x", license="MIT")
    g = trust.assets.grant(admin, a.id, "acme")
    with pytest.raises(NotFoundError):
        trust.assets.revoke(acme, g.id)  # the grantee cannot touch the owner's grant
    with pytest.raises(NotFoundError):
        trust.assets.grant(acme, a.id, "default")
    with pytest.raises(InputError, match="owns the asset already"):
        trust.assets.grant(admin, a.id, "default")
    with pytest.raises(NotFoundError, match="tenant 'nobody'"):
        trust.assets.grant(admin, a.id, "nobody")
