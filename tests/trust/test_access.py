"""Tenants, identities, roles and tokens: hashed, scoped, expiring, revocable, logged."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from twinverse.errors import InputError, NotFoundError
from twinverse.trust import (
    ROLE_PERMISSIONS,
    IdentityKind,
    Keypair,
    Permission,
    Principal,
    Role,
    TrustService,
    token_sha256,
)
from twinverse.trust.errors import AuthenticationError, ConflictError, PermissionDenied

from .conftest import Clock


def _entries(trust: TrustService) -> list[dict[str, object]]:
    return [orjson.loads(e) for e in trust.ledger.entries(0, trust.ledger.size)]


def test_roles_are_nested_sets() -> None:
    v, o, e, a = (ROLE_PERMISSIONS[r] for r in Role)
    assert v < o < e < a
    assert a == frozenset(Permission)
    assert Permission.DATA_WRITE not in v and Permission.ASSET_APPROVE not in e


def test_token_is_shown_once_and_stored_as_its_hash(trust: TrustService, admin: Principal) -> None:
    rec, token = trust.access.create_token(admin, admin.id, "default", name="ci")
    assert token.startswith(f"tvk_{rec.id}_") and len(token) == 4 + 12 + 1 + 43
    assert rec.sha256 == token_sha256(token)
    raw = (trust.data_dir / "trust.sqlite").read_bytes() + (trust.data_dir / "trust.sqlite-wal").read_bytes()
    assert token.encode() not in raw and token_sha256(token) in raw
    p = trust.authenticate(token)
    assert (p.id, p.tenant, p.role, p.token_id) == (admin.id, "default", "admin", rec.id)
    logged = [e for e in _entries(trust) if e["action"] == "token.create"][-1]
    assert logged["details"]["sha256"] == rec.sha256.hex()  # type: ignore[index]
    assert token not in orjson.dumps(logged).decode()


def test_expired_revoked_and_malformed_tokens_fail(trust: TrustService, admin: Principal, clock: Clock) -> None:
    _, short = trust.access.create_token(admin, admin.id, "default", ttl=timedelta(minutes=5))
    _, revoked = trust.access.create_token(admin, admin.id, "default")
    rec = trust.access.revoke_token(admin, trust.authenticate(revoked).token_id or "")
    assert rec.revoked == clock.now
    trust.authenticate(short)
    clock.advance(minutes=5)
    cases = {
        short: "expired",
        revoked: "revoked",
        "tvk_000000000000_" + "A" * 43: "unknown token",
        "Bearer x": "malformed",
        short[:-1] + ("A" if short[-1] != "A" else "B"): "unknown token",
    }
    for token, reason in cases.items():
        with pytest.raises(AuthenticationError) as exc:
            trust.authenticate(token)
        assert exc.value.message == "invalid bearer token"  # the client learns nothing more
        assert reason in exc.value.reason
    with pytest.raises(AuthenticationError):
        trust.authenticate(None)


def test_scopes_narrow_and_never_escalate(trust: TrustService, admin: Principal) -> None:
    ident, _ = trust.access.create_identity(
        admin, "default", "gateway-7", kind=IdentityKind.MACHINE, role=Role.OPERATOR
    )
    _, token = trust.access.create_token(admin, ident.did, "default", scopes=["data:write"])
    p = trust.authenticate(token)
    assert p.permissions == {"data:write"}
    with pytest.raises(PermissionDenied, match="asset:approve"):
        trust.access.create_token(admin, ident.did, "default", scopes=["asset:approve"])
    # The scoped gateway cannot mint itself a broader token.
    with pytest.raises(PermissionDenied):
        trust.access.create_token(p, ident.did, "default")
    with pytest.raises(InputError, match="unknown scope 'root'"):
        trust.access.create_token(admin, ident.did, "default", scopes=["root"])


def test_role_changes_apply_to_existing_tokens(trust: TrustService, admin: Principal) -> None:
    ident, _ = trust.access.create_identity(admin, "default", "alice", role=Role.ENGINEER)
    _, token = trust.access.create_token(admin, ident.did, "default")
    assert trust.authenticate(token).can(Permission.ASSET_WRITE)
    trust.access.set_role(admin, ident.did, "default", Role.VIEWER)
    assert not trust.authenticate(token).can(Permission.ASSET_WRITE)
    trust.access.set_role(admin, ident.did, "default", None)
    with pytest.raises(AuthenticationError):
        trust.authenticate(token)


def test_tenants_are_isolated(trust: TrustService, admin: Principal) -> None:
    trust.access.create_tenant(None, "acme")
    acme = trust.local_admin("acme")
    rec, _ = trust.access.create_token(admin, admin.id, "default")
    with pytest.raises(NotFoundError):
        trust.access.revoke_token(acme, rec.id)  # another tenant's token looks like a missing one
    with pytest.raises(PermissionDenied, match="cannot act in tenant 'default'"):
        trust.access.create_identity(acme, "default", "intruder")
    assert [t.id for t in trust.access.tokens(acme)] == []
    assert rec.id in [t.id for t in trust.access.tokens(admin)]


def test_non_admin_sees_and_revokes_only_its_own_tokens(trust: TrustService, admin: Principal) -> None:
    bob, _ = trust.access.create_identity(admin, "default", "bob", role=Role.OPERATOR)
    rec_admin, _ = trust.access.create_token(admin, admin.id, "default")
    _, tok = trust.access.create_token(admin, bob.did, "default")
    p = trust.authenticate(tok)
    mine, _ = trust.access.create_token(p, bob.did, "default", name="own")
    assert {t.did for t in trust.access.tokens(p)} == {bob.did}
    with pytest.raises(PermissionDenied, match="token:admin"):
        trust.access.revoke_token(p, rec_admin.id)
    trust.access.revoke_token(p, mine.id)
    with pytest.raises(ConflictError, match="revoked already"):
        trust.access.revoke_token(p, mine.id)


def test_identity_with_external_did_and_generated_key(trust: TrustService, admin: Principal, tmp_path: Path) -> None:
    external = Keypair.from_seed(bytes(32))
    ident, key_file = trust.access.create_identity(admin, "default", "plc-gateway", did=external.did)
    assert ident.did == external.did and key_file is None
    ident2, key_file2 = trust.access.create_identity(
        admin, "default", "carol", passphrase="pw", key_path=tmp_path / "carol.pem"
    )
    assert key_file2 == tmp_path / "carol.pem"
    assert Keypair.load(key_file2, "pw").did == ident2.did
    with pytest.raises(ConflictError, match="already a member"):
        trust.access.create_identity(admin, "default", "again", did=external.did)
    with pytest.raises(InputError, match="not a did:key"):
        trust.access.create_identity(admin, "default", "x", did="did:web:example.com")


def test_every_access_change_is_logged(trust: TrustService, admin: Principal) -> None:
    ident, _ = trust.access.create_identity(admin, "default", "dave", role=Role.VIEWER)
    trust.access.set_role(admin, ident.did, "default", Role.OPERATOR)
    rec, _ = trust.access.create_token(admin, ident.did, "default")
    trust.access.revoke_token(admin, rec.id)
    actions = [e["action"] for e in _entries(trust)]
    assert actions[-4:] == ["identity.create", "identity.role", "token.create", "token.revoke"]
    assert actions[:2] == ["tenant.create", "identity.create"]  # the local admin's bootstrap


def test_admin_token_file_is_reused_and_private(trust: TrustService, clock: Clock) -> None:
    token = trust.ensure_admin_token()
    path = trust.data_dir / "admin.token"
    assert path.read_text().strip() == token and (path.stat().st_mode & 0o077) == 0
    assert trust.ensure_admin_token() == token
    clock.advance(days=31)  # expired: a new one is issued
    assert trust.ensure_admin_token() != token


def test_open_mode_admits_anonymous_requests_only_when_configured(tmp_path: Path) -> None:
    open_trust = TrustService(tmp_path / "open", open_mode=True, synchronous="OFF")
    assert open_trust.authenticate(None).can(Permission.ASSET_APPROVE)
    assert any("OPEN DEMO MODE" in line for line in open_trust.banner())
    open_trust.close()
    closed = TrustService(tmp_path / "closed", synchronous="OFF")
    with pytest.raises(AuthenticationError):
        closed.authenticate(None)
    assert not any("OPEN" in line for line in closed.banner())
    closed.close()


def test_a_store_from_before_tenant_local_records_opens_and_keeps_its_members(tmp_path: Path) -> None:
    import sqlite3

    from twinverse.trust import IdentityKind, SqliteTrustStore

    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, created TEXT NOT NULL);"
        "CREATE TABLE identities (did TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, created TEXT NOT NULL,"
        " disabled INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE memberships (did TEXT NOT NULL REFERENCES identities(did), tenant TEXT NOT NULL"
        " REFERENCES tenants(id), role TEXT NOT NULL, PRIMARY KEY (did, tenant));"
        "INSERT INTO tenants VALUES ('default', 'default', '2025-06-01T12:00:00+00:00');"
        "INSERT INTO identities VALUES ('did:key:z6MkX', 'gateway', 'machine', '2025-06-01T12:00:00+00:00', 0);"
        "INSERT INTO memberships VALUES ('did:key:z6MkX', 'default', 'operator');"
    )
    con.commit()
    con.close()
    store = SqliteTrustStore(path, synchronous="OFF")
    try:
        member = store.get_member("did:key:z6MkX", "default")
        assert member is not None
        ident, role = member
        assert (ident.name, ident.kind, ident.verified, role) == ("gateway", IdentityKind.MACHINE, False, Role.OPERATOR)
        assert store.get_member("did:key:z6MkX", "acme") is None
    finally:
        store.close()


def test_remembered_authentications_end_on_revocation_and_after_their_time(
    trust: TrustService, admin: Principal, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy device costs no database reads per request, yet revocations still bite."""
    from twinverse.trust import access

    reads = []
    real = trust.store.token_by_hash
    monkeypatch.setattr(trust.store, "token_by_hash", lambda h: reads.append(h) or real(h))
    trust.access.create_token(admin, admin.id, "default", name="keeps the tenant administrable")
    _, token = trust.access.create_token(admin, admin.id, "default")
    reads.clear()
    for _ in range(5):
        trust.authenticate(token)
    assert len(reads) == 1
    # Revoked through this process: at once.
    trust.access.revoke_token(admin, trust.authenticate(token).token_id or "")
    with pytest.raises(AuthenticationError):
        trust.authenticate(token)
    # Revoked by another process (the CLI on the same data directory): within AUTH_CACHE_SECONDS.
    _, other = trust.access.create_token(admin, admin.id, "default")
    trust.authenticate(other)
    cli = TrustService(trust.data_dir, clock=clock, synchronous="OFF")
    cli.access.revoke_token(None, cli.access.authenticate(other).token_id or "")
    cli.close()
    now = access.time.monotonic()
    monkeypatch.setattr(access.time, "monotonic", lambda: now + access.AUTH_CACHE_SECONDS + 0.01)
    with pytest.raises(AuthenticationError):
        trust.authenticate(other)
    # A token's own expiry is never outlived by remembering it.
    _, short = trust.access.create_token(admin, admin.id, "default", ttl=timedelta(minutes=1))
    trust.authenticate(short)
    clock.advance(minutes=1)
    with pytest.raises(AuthenticationError):
        trust.authenticate(short)
