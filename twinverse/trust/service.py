"""The trust layer of one data directory, composed: store, log, access control, assets.

>>> import tempfile, pathlib
>>> trust = TrustService(pathlib.Path(tempfile.mkdtemp()))
>>> token = trust.ensure_admin_token()
>>> trust.authenticate(token).role
'admin'
>>> trust.close()
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .access import AccessControl
from .assets import AssetRegistry
from .blobs import BlobStore
from .bundle import ExportResult, export_bundle
from .errors import AuthenticationError
from .identity import Keypair
from .ledger import Ledger, utcnow
from .records import IdentityKind, Principal, Role
from .store import SqliteTrustStore, TrustStore

if TYPE_CHECKING:
    from ..model import Plant

__all__ = ["ADMIN_TOKEN_FILE", "OPEN_PRINCIPAL", "IngestAudit", "TrustService"]

log = logging.getLogger("twinverse.trust")

ADMIN_TOKEN_FILE = "admin.token"
#: Who every request is in open demo mode: everything allowed, loudly announced.
OPEN_PRINCIPAL = Principal("open", "default", frozenset({"*"}), "admin")
_LOG_KEY = "log.pem"


@dataclass(frozen=True)
class IngestAudit:
    """What the log records of one ingest request: who sent it and its body's SHA-256.

    Passed as the ``tag`` of :meth:`Engine.ingest <twinverse.live.Engine.ingest>`; the
    engine's commit hook hands it back to :meth:`TrustService.log_ingest` with the result.
    """

    principal: Principal | None
    body_sha256: str
    target: str


class TrustService:
    """Identities, tokens, the transparency log and the asset registry under ``data_dir``.

    ``open_mode`` (demo only) lets requests without a token through as an all-powerful
    local principal; :meth:`banner` says so loudly. ``passphrase`` encrypts the log's
    signing key at rest (``TWINVERSE_KEY_PASSPHRASE`` is read when it is None).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        open_mode: bool = False,
        passphrase: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        synchronous: str = "FULL",
        store: TrustStore | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.open_mode = open_mode
        self.clock = clock
        self.store: TrustStore = store or SqliteTrustStore(self.data_dir / "trust.sqlite", synchronous=synchronous)
        passphrase = passphrase if passphrase is not None else os.environ.get("TWINVERSE_KEY_PASSPHRASE") or None
        key = self._log_key(passphrase)
        self.ledger = Ledger(self.store, key, self._origin(key), clock=clock)
        self.blobs = BlobStore(self.data_dir / "blobs")
        self.access = AccessControl(self.store, self.ledger, self.data_dir / "keys", clock)
        self.assets = AssetRegistry(self.store, self.ledger, self.blobs, clock)

    def _log_key(self, passphrase: str | None) -> Keypair:
        path = self.data_dir / "keys" / _LOG_KEY
        known = self.store.meta_get("log.key")
        if path.exists():
            key = Keypair.load(path, passphrase)
        elif known is not None:
            raise ConfigError(
                f"{path}: the log's signing key is missing but the log exists (key {known}); restore the key file"
            )
        else:
            key = Keypair.generate()
            key.save(path, passphrase)
        return key

    def _origin(self, key: Keypair) -> str:
        origin = self.store.meta_get("log.origin")
        if origin is None:
            origin = f"twinverse.local/log/{hashlib.sha256(key.public_bytes).hexdigest()[:16]}"
            self.store.meta_set("log.origin", origin)
            self.store.meta_set("log.key", key.did)
        elif self.store.meta_get("log.key") != key.did:
            raise ConfigError(
                f"the log key {key.did} is not the key this log was created with ({self.store.meta_get('log.key')})"
            )
        return origin

    # -- requests ---------------------------------------------------------------------
    def authenticate(self, token: str | None) -> Principal:
        """The principal of a bearer token; in open mode a missing token means :data:`OPEN_PRINCIPAL`."""
        if token is None:
            if self.open_mode:
                return OPEN_PRINCIPAL
            raise AuthenticationError(reason="no bearer token")
        return self.access.authenticate(token)

    def log_action(
        self,
        principal: Principal | None,
        action: str,
        target: str,
        body_sha256: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> int:
        """Log one action now (its own transaction and checkpoint); returns the entry index.

        Call it from every mutating route: ``action`` like ``"plant.update"``, ``target`` like
        ``"twin:plant/line1/filler"``, ``body_sha256`` the hex SHA-256 of the request body.
        """
        with self.ledger.transaction():
            return self.ledger.record(
                action,
                target,
                actor=None if principal is None else principal.id,
                tenant=None if principal is None else principal.tenant,
                body_sha256=body_sha256,
                details=details,
            )

    def log_ingest(self, items: Iterable[tuple[object, Any]]) -> list[int]:
        """Log the ingest requests of one group commit: one entry per sender and target.

        ``items`` are the engine's ``(tag, result)`` pairs; those whose tag is an
        :class:`IngestAudit` are logged (others, such as MQTT flushes, are not requests).
        A sender with one request in the group gets the usual entry (its body's hash,
        ``received`` and ``stored``); with several, one entry whose ``requests`` list each
        body's hash and counts. All entries commit in one log transaction. Returns their indexes.
        """
        groups: dict[tuple[str | None, str | None, str], list[tuple[IngestAudit, Any]]] = {}
        for tag, result in items:
            if isinstance(tag, IngestAudit):
                who = tag.principal
                key = (None if who is None else who.id, None if who is None else who.tenant, tag.target)
                groups.setdefault(key, []).append((tag, result))
        if not groups:
            return []
        out = []
        with self.ledger.transaction():
            for (actor, tenant, target), reqs in groups.items():
                received = sum(int(r.received) for _, r in reqs)
                stored = sum(int(r.stored) for _, r in reqs)
                details: dict[str, object]
                if len(reqs) == 1:
                    body, details = reqs[0][0].body_sha256, {"received": received, "stored": stored}
                else:
                    body, details = None, {
                        "received": received,
                        "stored": stored,
                        "requests": [
                            {"sha256": t.body_sha256, "received": int(r.received), "stored": int(r.stored)}
                            for t, r in reqs
                        ],
                    }
                out.append(self.ledger.record("data.ingest", target, actor=actor, tenant=tenant,
                                              body_sha256=body, details=details))
        return out

    def record_model(self, plant: Plant, *, tenant: str = "default") -> int | None:
        """Log ``plant``'s model if it changed since it was last logged: its file's SHA-256 and summary.

        Logged as ``plant.model.loaded`` on ``plant:<id>`` by the local admin of ``tenant``.
        Returns the log index, or None when the model is the one already logged (or was
        not loaded from a file). The entry and the remembered digest commit together.
        """
        source = plant.source
        if source is None or not Path(source).is_file():
            return None
        digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
        key = f"plant.sha256.{plant.id}"
        if self.store.meta_get(key) == digest:
            return None
        admin = self.local_admin(tenant)
        with self.ledger.transaction():
            if self.store.meta_get(key) == digest:  # another process logged it meanwhile
                return None
            index = self.log_action(
                admin,
                "plant.model.loaded",
                f"plant:{plant.id}",
                body_sha256=digest,
                details={**plant.summary(), "file": Path(source).name},
            )
            self.store.meta_set(key, digest)
        return index

    # -- local operator ---------------------------------------------------------------
    def local_admin(self, tenant: str = "default") -> Principal:
        """The local administrator of ``tenant`` (created on first use): who the CLI acts as."""
        did = self.store.meta_get(f"local_admin.{tenant}")
        if did is None or self.store.get_role(did, tenant) is not Role.ADMIN:
            if self.store.get_tenant(tenant) is None:
                self.access.create_tenant(None, tenant)
            ident, _ = self.access.create_identity(
                None, tenant, f"local-admin-{tenant}", kind=IdentityKind.MACHINE, role=Role.ADMIN
            )
            did = ident.did
            self.store.meta_set(f"local_admin.{tenant}", did)
        return self.access.principal(did, tenant)

    def ensure_admin_token(self, tenant: str = "default", ttl: timedelta = timedelta(days=30)) -> str:
        """An admin token for ``tenant``, kept in ``<data_dir>/admin.token`` (mode 0600).

        Reuses the file's token while it still authenticates; otherwise issues a new one.
        This is how the demo works out of the box: the server prints the token's location.
        """
        path = self.data_dir / ADMIN_TOKEN_FILE
        if path.exists():
            token = path.read_text().strip()
            try:
                p = self.access.authenticate(token)
            except AuthenticationError:
                pass
            else:
                if p.tenant == tenant and p.role == Role.ADMIN.value:
                    return token
        admin = self.local_admin(tenant)
        _, token = self.access.create_token(admin, admin.id, tenant, name="local admin (admin.token)", ttl=ttl)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        return token

    def banner(self) -> list[str]:
        """Lines the server prints at start: the mode, the log, where the admin token is."""
        cp = self.ledger.checkpoint().splitlines()
        lines = [f"trust: log {self.ledger.origin} at size {cp[1]}, key {self.ledger.verifier.key}"]
        if self.open_mode:
            lines += [
                "!" * 78,
                "!! OPEN DEMO MODE: requests without a token act as an all-powerful admin.   !!",
                "!! Never expose this server; unset open mode to require bearer tokens.      !!",
                "!" * 78,
            ]
        else:
            lines.append(f"trust: bearer tokens required; local admin token in {self.data_dir / ADMIN_TOKEN_FILE}")
        return lines

    # -- audit ------------------------------------------------------------------------
    def export_log(self, out: Path) -> ExportResult:
        """Write an offline-verifiable bundle of the whole log to ``out``."""
        return export_bundle(self.ledger, out)

    def close(self) -> None:
        self.store.close()
