"""The trust commands through typer's CliRunner, on a real data directory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from twinverse.cli.trust import asset_app, identity_app, log_app, token_app, verify
from twinverse.errors import InputError
from twinverse.trust import TrustService
from twinverse.trust.errors import PermissionDenied

runner = CliRunner()


def _verify_app() -> typer.Typer:
    app = typer.Typer()
    app.command("verify")(verify)
    app.command("noop", hidden=True)(lambda: None)  # a second command keeps "verify" a sub-command
    return app


def run(app: typer.Typer, *args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_asset_lifecycle(data: Path, tmp_path: Path) -> None:
    src = tmp_path / "history.csv"
    src.write_bytes(b"ts,value\n1,2\n")
    d = ["--data-dir", str(data)]
    out = run(asset_app, "add", str(src), "--license", "CC-BY-4.0", "--classification", "important", *d)
    ref, sha = out.split()[0], out.split()[1]
    asset_id = ref.split("@")[0]
    assert ref.endswith("@1") and sha == "sha256:" + hashlib.sha256(src.read_bytes()).hexdigest()
    assert asset_id in run(asset_app, "list", *d)
    shown = run(asset_app, "show", asset_id, *d)
    assert "important" in shown and "CC-BY-4.0" in shown and sha in shown

    run(identity_app, "create", "acme-admin", "--role", "admin", "--tenant", "acme", *d)  # creates tenant acme
    grant = run(asset_app, "grant", asset_id, "acme", "--days", "2", *d)
    grant_id = grant.split()[0]
    assert "active" in grant  # the local admin's grant is its own approval
    assert asset_id in run(asset_app, "list", "--tenant", "acme", *d)
    out_file = tmp_path / "copy.csv"
    run(asset_app, "get", asset_id, "--out", str(out_file), "--tenant", "acme", *d)
    assert out_file.read_bytes() == src.read_bytes()
    assert "revoked" in run(asset_app, "revoke", grant_id, *d)
    with pytest.raises(Exception, match="does not exist"):
        runner.invoke(
            asset_app, ["get", asset_id, "--out", str(out_file), "--tenant", "acme", *d], catch_exceptions=False
        )


def test_core_asset_grant_is_refused(data: Path, tmp_path: Path) -> None:
    src = tmp_path / "recipe.bin"
    src.write_bytes(b"secret")
    d = ["--data-dir", str(data)]
    asset_id = run(asset_app, "add", str(src), "--license", "LicenseRef-x", "--classification", "core", *d).split("@")[
        0
    ]
    run(identity_app, "create", "b", "--tenant", "other", *d)
    with pytest.raises(PermissionDenied, match="core data"):
        runner.invoke(asset_app, ["grant", asset_id, "other", *d], catch_exceptions=False)
    assert "asset.grant.refused" in run(log_app, "show", "-n", "1", *d)


def test_bad_licence_is_a_clear_error(data: Path, tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"x")
    with pytest.raises(InputError, match="unknown SPDX licence identifier"):
        runner.invoke(
            asset_app, ["add", str(src), "--license", "Bogus", "--data-dir", str(data)], catch_exceptions=False
        )


def test_tokens_and_identities(data: Path, tmp_path: Path) -> None:
    d = ["--data-dir", str(data)]
    key = tmp_path / "gw.pem"
    did = run(identity_app, "create", "gateway", "--kind", "machine", "--role", "operator", "--key-out", str(key), *d)
    did = did.strip().splitlines()[0]
    assert did.startswith("did:key:z6Mk") and key.exists()
    listing = run(identity_app, "show", *d)
    assert did in listing and "operator" in listing
    assert '"verificationMethod"' in run(identity_app, "show", did, *d)
    result = runner.invoke(token_app, ["create", "--did", did, "--scope", "data:write", "--days", "1", *d])
    token = result.stdout.strip()
    assert result.exit_code == 0 and token.startswith("tvk_")
    t = TrustService(data)
    assert t.authenticate(token).permissions == {"data:write"}
    t.close()
    token_id = token.split("_")[1]
    assert token_id in run(token_app, "list", *d)
    run(token_app, "revoke", token_id, *d)
    assert "revoked" in run(token_app, "list", *d)


def test_export_and_verify(data: Path, tmp_path: Path) -> None:
    d = ["--data-dir", str(data)]
    run(identity_app, "create", "alice", *d)
    checkpoint = tmp_path / "seen.note"
    checkpoint.write_text(run(log_app, "show", "--checkpoint", *d))
    run(identity_app, "create", "bob", *d)
    out = run(log_app, "export", str(tmp_path / "bundle"), *d)
    key = out.split("verify --key): ")[1].strip()
    app = _verify_app()
    ok = runner.invoke(app, ["verify", str(tmp_path / "bundle"), "--since", str(checkpoint), "--key", key])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.splitlines()[-1].startswith("OK: 4 entries and 5 signed checkpoints verified")
    entries = tmp_path / "bundle" / "entries.bin"
    raw = bytearray(entries.read_bytes())
    raw[10] ^= 0x20
    entries.write_bytes(bytes(raw))
    bad = runner.invoke(app, ["verify", str(tmp_path / "bundle")])
    assert bad.exit_code == 1
    assert "error: entries.bin: entry 0: entry 0 was altered" in bad.stderr
    assert bad.stderr.splitlines()[-1] == "FAILED: 2 problem(s) in the log bundle"
