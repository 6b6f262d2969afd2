"""Trust commands: ``asset``, ``log``, ``token``, ``identity`` and ``verify``.

The CLI works on the local data directory directly and acts as the local administrator of
``--tenant`` (whoever can read the data directory holds the keys anyway). ``verify`` needs
nothing but the bundle.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import orjson
import typer

from ..trust import (
    AssetView,
    IdentityKind,
    Role,
    TrustService,
    did_document,
    verify_bundle,
)

__all__ = ["asset_app", "identity_app", "log_app", "token_app", "verify"]

asset_app = typer.Typer(help="Register, find, share and fetch data assets.", no_args_is_help=True)
log_app = typer.Typer(help="The tamper-evident log: show it, export it for audit.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)
identity_app = typer.Typer(help="Identities (did:key) of people and machines.", no_args_is_help=True)

DataDir = typer.Option(None, "--data-dir", envvar="TWINVERSE_DATA_DIR", help="Data directory (default: settings).")
Tenant = typer.Option("default", "--tenant", help="Tenant to act in, as its local administrator.")


@contextmanager
def _service(data_dir: Path | None) -> Iterator[TrustService]:
    if data_dir is None:
        from ..config import load_settings

        data_dir = load_settings().data_dir
    trust = TrustService(data_dir)
    try:
        yield trust
    finally:
        trust.close()


def _echo_asset(view: AssetView, detail: bool) -> None:
    a = view.asset
    latest = view.latest
    typer.echo(
        f"{a.id}  {a.name}  v{latest.version}  {a.classification.value}  {a.license}  "
        f"{latest.size} B  sha256:{latest.sha256[:16]}…" + ("" if view.access == "owner" else f"  (from {a.tenant})")
    )
    if not detail:
        return
    typer.echo(f"  owner: {a.owner} (tenant {a.tenant})")
    if a.description:
        typer.echo(f"  description: {a.description}")
    for v in view.versions:
        lineage = f"  from {', '.join(v.derived_from)}" if v.derived_from else ""
        typer.echo(
            f"  v{v.version}  {v.created:%Y-%m-%d %H:%M:%S}Z  {v.size} B  {v.media_type}  sha256:{v.sha256}  "
            f"log #{v.log_index}{lineage}"
        )
    for g in view.grants:
        typer.echo(f"  grant {g.id} → {g.tenant}  {g.status.value}  until {g.expires:%Y-%m-%d %H:%M}Z")


# -- assets -----------------------------------------------------------------------------------
@asset_app.command("add")
def asset_add(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="The file to register."),
    name: str = typer.Option(None, "--name", help="Asset name (default: the file name)."),
    license: str = typer.Option(None, "--license", help="SPDX licence expression, e.g. CC-BY-4.0."),
    classification: str = typer.Option(None, "--classification", help="general, important or core (GB/T 43697)."),
    description: str = typer.Option(None, "--description"),
    derived_from: list[str] = typer.Option([], "--derived-from", help="Source version, e.g. ast_…@1 (repeat)."),
    media_type: str = typer.Option("application/octet-stream", "--media-type"),
    data_dir: Path = DataDir,
    tenant: str = Tenant,
) -> None:
    """Register FILE as a new asset, or as the next version of an existing name."""
    with _service(data_dir) as t:
        actor = t.local_admin(tenant)
        asset, v = t.assets.register(
            actor,
            name or file.name,
            file,
            license=license,
            classification=classification,
            description=description,
            derived_from=derived_from,
            media_type=media_type,
        )
        typer.echo(f"{asset.id}@{v.version}  sha256:{v.sha256}  {v.size} B  log #{v.log_index}")


@asset_app.command("list")
def asset_list(data_dir: Path = DataDir, tenant: str = Tenant) -> None:
    """The tenant's assets and those granted to it."""
    with _service(data_dir) as t:
        views = t.assets.list_assets(t.local_admin(tenant))
        for view in views:
            _echo_asset(view, detail=False)
        if not views:
            typer.echo("no assets")


@asset_app.command("show")
def asset_show(asset_id: str, data_dir: Path = DataDir, tenant: str = Tenant) -> None:
    """One asset: versions, lineage, grants."""
    with _service(data_dir) as t:
        _echo_asset(t.assets.show(t.local_admin(tenant), asset_id), detail=True)


@asset_app.command("grant")
def asset_grant(
    asset_id: str,
    grantee: str = typer.Argument(..., help="The tenant that may read the asset."),
    days: float = typer.Option(30.0, "--days", min=0.001, help="How long the grant lasts."),
    data_dir: Path = DataDir,
    tenant: str = Tenant,
) -> None:
    """Let another tenant read an asset (core data: refused; important data: needs approval)."""
    with _service(data_dir) as t:
        g = t.assets.grant(t.local_admin(tenant), asset_id, grantee, ttl=timedelta(days=days))
        typer.echo(f"{g.id}  {g.status.value}  → {g.tenant} until {g.expires:%Y-%m-%d %H:%M}Z")


@asset_app.command("approve")
def asset_approve(grant_id: str, data_dir: Path = DataDir, tenant: str = Tenant) -> None:
    """Approve a pending grant of important data."""
    with _service(data_dir) as t:
        g = t.assets.approve(t.local_admin(tenant), grant_id)
        typer.echo(f"{g.id}  {g.status.value}")


@asset_app.command("revoke")
def asset_revoke(grant_id: str, data_dir: Path = DataDir, tenant: str = Tenant) -> None:
    """End a grant now."""
    with _service(data_dir) as t:
        g = t.assets.revoke(t.local_admin(tenant), grant_id)
        typer.echo(f"{g.id}  {g.status.value}")


@asset_app.command("get")
def asset_get(
    asset_id: str,
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the bytes."),
    version: int = typer.Option(None, "--version", min=1, help="Version (default: latest)."),
    data_dir: Path = DataDir,
    tenant: str = Tenant,
) -> None:
    """Write a version to OUT, verified against its SHA-256 (a mismatch writes nothing)."""
    with _service(data_dir) as t:
        v = t.assets.copy_to(t.local_admin(tenant), asset_id, out, version)
        typer.echo(f"{out}  {v.size} B  sha256:{v.sha256} (verified)")


# -- log --------------------------------------------------------------------------------------
@log_app.command("show")
def log_show(
    entries: int = typer.Option(10, "--entries", "-n", min=0, help="How many of the latest entries to print."),
    checkpoint: bool = typer.Option(False, "--checkpoint", help="Print only the latest signed checkpoint."),
    data_dir: Path = DataDir,
) -> None:
    """The log's key, latest checkpoint and latest entries."""
    with _service(data_dir) as t:
        note = t.ledger.checkpoint()
        if checkpoint:
            typer.echo(note, nl=False)
            return
        typer.echo(f"origin:  {t.ledger.origin}")
        typer.echo(f"key:     {t.ledger.verifier.key}")
        typer.echo(f"did:     {t.ledger.verifier.did}")
        typer.echo(f"size:    {t.ledger.size}")
        typer.echo("checkpoint:")
        typer.echo(note, nl=False)
        first = max(0, t.ledger.size - entries)
        for i, data in enumerate(t.ledger.entries(first, t.ledger.size), first):
            typer.echo(f"#{i} {data.decode()}")


@log_app.command("export")
def log_export(
    out: Path = typer.Argument(..., help="Bundle directory to create (must not exist or be empty)."),
    data_dir: Path = DataDir,
) -> None:
    """Write the whole log as a bundle that `twinverse verify` checks offline."""
    with _service(data_dir) as t:
        r = t.export_log(out)
        typer.echo(f"{r.path}: {r.size} entries, {r.checkpoints} checkpoints")
        typer.echo(f"log key (pin with verify --key): {r.verifier_key}")


def verify(
    bundle: Path = typer.Argument(..., exists=True, file_okay=False, help="A bundle from `twinverse log export`."),
    since: Path = typer.Option(
        None, "--since", exists=True, dir_okay=False, help="An earlier checkpoint (signed note) the log must extend."
    ),
    key: str = typer.Option(None, "--key", help="The log's verifier key (name+id+key) to require."),
) -> None:
    """Check every entry, checkpoint signature and root of a log bundle, offline."""
    report = verify_bundle(bundle, since=None if since is None else since.read_text(), key=key)
    for note in report.notes:
        typer.echo(f"note: {note}")
    for p in report.problems:
        typer.echo(f"error: {p}", err=True)
    typer.echo(report.summary(), err=not report.ok)
    if not report.ok:
        raise typer.Exit(1)


# -- tokens -----------------------------------------------------------------------------------
@token_app.command("create")
def token_create(
    name: str = typer.Option("", "--name", help="A label to recognise the token by."),
    did: str = typer.Option(None, "--did", help="Whose token (default: the tenant's local admin)."),
    scope: list[str] = typer.Option([], "--scope", help="Narrow to this permission (repeat), e.g. data:write."),
    days: float = typer.Option(90.0, "--days", min=0.001, help="Lifetime in days."),
    no_expiry: bool = typer.Option(False, "--no-expiry", help="Never expires (revoke it when done)."),
    data_dir: Path = DataDir,
    tenant: str = Tenant,
) -> None:
    """Create an API token; it is printed this once and only its hash is kept."""
    with _service(data_dir) as t:
        admin = t.local_admin(tenant)
        rec, token = t.access.create_token(
            admin,
            did or admin.id,
            tenant,
            name=name,
            scopes=scope or None,
            ttl=None if no_expiry else timedelta(days=days),
        )
        typer.echo(token)
        expiry = "never" if rec.expires is None else f"{rec.expires:%Y-%m-%d %H:%M}Z"
        typer.echo(
            f"id {rec.id}, tenant {rec.tenant}, expires {expiry} (store it now: it is not shown again)", err=True
        )


@token_app.command("list")
def token_list(data_dir: Path = DataDir, tenant: str = Tenant) -> None:
    """The tenant's tokens (ids, owners, scopes, expiry; never the secrets)."""
    with _service(data_dir) as t:
        now = t.clock()
        for rec in t.access.tokens(t.local_admin(tenant)):
            state = "revoked" if rec.revoked else ("active" if rec.active(now) else "expired")
            scopes = "all" if rec.scopes is None else ",".join(sorted(rec.scopes))
            expiry = "never" if rec.expires is None else f"{rec.expires:%Y-%m-%d %H:%M}Z"
            typer.echo(f"{rec.id}  {state:7}  {rec.name}  {rec.did}  scopes={scopes}  expires={expiry}")


@token_app.command("revoke")
def token_revoke(token_id: str, data_dir: Path = DataDir, tenant: str = Tenant) -> None:
    """Revoke a token at once."""
    with _service(data_dir) as t:
        rec = t.access.revoke_token(t.local_admin(tenant), token_id)
        typer.echo(f"{rec.id} revoked")


# -- identities -------------------------------------------------------------------------------
@identity_app.command("create")
def identity_create(
    name: str,
    kind: IdentityKind = typer.Option(IdentityKind.USER, "--kind", help="user, or machine for services/gateways."),
    role: Role = typer.Option(Role.VIEWER, "--role", help="Role in the tenant."),
    did: str = typer.Option(None, "--did", help="Register an existing did:key (the holder keeps the key)."),
    key_out: Path = typer.Option(None, "--key-out", help="Where to write a generated private key."),
    passphrase: str = typer.Option(
        None, "--passphrase", envvar="TWINVERSE_IDENTITY_PASSPHRASE", help="Encrypt the generated key with this."
    ),
    data_dir: Path = DataDir,
    tenant: str = Tenant,
) -> None:
    """Register a person or machine in the tenant (a key pair is generated unless --did is given)."""
    with _service(data_dir) as t:
        admin = t.local_admin(tenant)  # creates the tenant on first use
        ident, key_file = t.access.create_identity(
            admin, tenant, name, kind=kind, role=role, did=did, passphrase=passphrase, key_path=key_out
        )
        typer.echo(ident.did)
        if key_file is not None:
            enc = "encrypted" if passphrase else "UNENCRYPTED (owner-only file)"
            typer.echo(f"private key: {key_file} ({enc})", err=True)


@identity_app.command("show")
def identity_show(
    did: str = typer.Argument(None, help="A did:key (default: list the tenant's identities)."),
    data_dir: Path = DataDir,
    tenant: str = Tenant,
) -> None:
    """List the tenant's identities, or show one with its DID document."""
    with _service(data_dir) as t:
        admin = t.local_admin(tenant)
        if did is None:
            for ident, role in t.access.members(admin):
                flag = "  (disabled)" if ident.disabled else ""
                typer.echo(f"{ident.did}  {role.value:8}  {ident.kind.value:7}  {ident.name}{flag}")
            return
        ident, role_in = t.access.member(admin, did, tenant)
        typer.echo(f"{ident.name} ({ident.kind.value}), role in {tenant}: {role_in.value}")
        typer.echo(orjson.dumps(did_document(did), option=orjson.OPT_INDENT_2).decode())
