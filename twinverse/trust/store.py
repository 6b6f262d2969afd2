"""Storage of trust metadata behind a small protocol; the embedded backend is SQLite.

Why SQLite (and not the history store's DuckDB or PostgreSQL): the log must be append-only
with single-writer transactions that commit the new entries, their leaf hashes, the signed
checkpoint and the change they record (a token, a grant) atomically. SQLite gives exactly
that with ``BEGIN IMMEDIATE`` (one writer, across processes), WAL mode (readers never block
the writer), and triggers that refuse any UPDATE or DELETE on the log. DuckDB is built for
columnar analytics and allows one writing process only; the history store is owned by the
live path and may be PostgreSQL. A PostgreSQL implementation of :class:`TrustStore` can
follow with the same SQL (``BEGIN`` + ``LOCK TABLE log_entries IN EXCLUSIVE MODE``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from ..errors import StoreError
from .errors import ConflictError
from .records import (
    Asset,
    AssetVersion,
    Classification,
    Grant,
    GrantStatus,
    Identity,
    IdentityKind,
    Role,
    Tenant,
    TokenRecord,
)

__all__ = ["SqliteTrustStore", "TrustStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS identities (
    did TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, created TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS memberships (
    did TEXT NOT NULL REFERENCES identities(did), tenant TEXT NOT NULL REFERENCES tenants(id),
    role TEXT NOT NULL, name TEXT, kind TEXT, created TEXT, verified INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (did, tenant));
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY, sha256 BLOB NOT NULL UNIQUE, did TEXT NOT NULL REFERENCES identities(did),
    tenant TEXT NOT NULL REFERENCES tenants(id), name TEXT NOT NULL, scopes TEXT,
    created TEXT NOT NULL, expires TEXT, revoked TEXT);
CREATE INDEX IF NOT EXISTS tokens_tenant ON tokens(tenant);
CREATE TABLE IF NOT EXISTS log_entries (idx INTEGER PRIMARY KEY, leaf BLOB NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL,
    created TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS log_no_update BEFORE UPDATE ON log_entries
    BEGIN SELECT RAISE(ABORT, 'the log is append-only: entries cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS log_no_delete BEFORE DELETE ON log_entries
    BEGIN SELECT RAISE(ABORT, 'the log is append-only: entries cannot be deleted'); END;
CREATE TRIGGER IF NOT EXISTS checkpoint_no_update BEFORE UPDATE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoint_no_delete BEFORE DELETE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TABLE IF NOT EXISTS assets (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL REFERENCES tenants(id), name TEXT NOT NULL,
    owner TEXT NOT NULL, description TEXT NOT NULL, license TEXT NOT NULL,
    classification TEXT NOT NULL, created TEXT NOT NULL, UNIQUE (tenant, name));
CREATE TABLE IF NOT EXISTS asset_versions (
    asset TEXT NOT NULL REFERENCES assets(id), version INTEGER NOT NULL, sha256 TEXT NOT NULL,
    size INTEGER NOT NULL, media_type TEXT NOT NULL, created TEXT NOT NULL, created_by TEXT NOT NULL,
    log_index INTEGER, PRIMARY KEY (asset, version));
CREATE TABLE IF NOT EXISTS lineage (
    asset TEXT NOT NULL, version INTEGER NOT NULL, parent TEXT NOT NULL,
    PRIMARY KEY (asset, version, parent));
CREATE INDEX IF NOT EXISTS lineage_parent ON lineage(parent);
CREATE TABLE IF NOT EXISTS grants (
    id TEXT PRIMARY KEY, asset TEXT NOT NULL REFERENCES assets(id), tenant TEXT NOT NULL,
    status TEXT NOT NULL, created TEXT NOT NULL, created_by TEXT NOT NULL, expires TEXT NOT NULL,
    approved_by TEXT, revoked TEXT);
CREATE INDEX IF NOT EXISTS grants_tenant ON grants(tenant);
"""

#: Columns added to ``memberships`` after its first release (a tenant's own record of each
#: member); stores created before them get them on open. NULL means: take the global row's.
_MEMBER_COLUMNS = (("name", "TEXT"), ("kind", "TEXT"), ("created", "TEXT"), ("verified", "INTEGER NOT NULL DEFAULT 0"))


def _ts(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).isoformat()


def _dt(s: str | None) -> datetime | None:
    return None if s is None else datetime.fromisoformat(s)


def _dt1(s: str) -> datetime:
    return datetime.fromisoformat(s)


class TrustStore(Protocol):
    """Where identities, tokens, the log and the asset registry are kept.

    Every method joins the transaction opened by :meth:`transaction` when one is open, so a
    change and the log entry that records it commit together or not at all.
    """

    def transaction(self) -> Any:
        """A context manager: one exclusive write transaction (nested use joins it)."""
        ...

    def close(self) -> None: ...

    def meta_get(self, key: str) -> str | None: ...
    def meta_set(self, key: str, value: str) -> None: ...

    def add_tenant(self, tenant: Tenant) -> None: ...
    def get_tenant(self, tenant_id: str) -> Tenant | None: ...
    def list_tenants(self) -> list[Tenant]: ...

    def add_identity(self, identity: Identity) -> None: ...
    def get_identity(self, did: str) -> Identity | None: ...
    def set_disabled(self, did: str, disabled: bool) -> None: ...
    def add_member(self, identity: Identity, tenant: str, role: Role) -> None:
        """Make ``identity`` (this tenant's record of it: name, kind, verified) a member with ``role``."""
        ...

    def set_role(self, did: str, tenant: str, role: Role | None) -> None:
        """Change a member's role (None ends its membership); members are added by :meth:`add_member`."""
        ...
    def get_role(self, did: str, tenant: str) -> Role | None: ...
    def get_member(self, did: str, tenant: str) -> tuple[Identity, Role] | None:
        """``tenant``'s record of ``did`` and its role there; None when it is no member."""
        ...

    def list_members(self, tenant: str) -> list[tuple[Identity, Role]]: ...

    def add_token(self, token: TokenRecord) -> None: ...
    def token_by_hash(self, sha256: bytes) -> TokenRecord | None: ...
    def get_token(self, token_id: str) -> TokenRecord | None: ...
    def list_tokens(self, tenant: str, did: str | None = None) -> list[TokenRecord]: ...
    def revoke_token(self, token_id: str, when: datetime) -> None: ...

    def log_size(self) -> int: ...
    def log_leaves(self, start: int, stop: int) -> bytes: ...
    def log_entries(self, start: int, stop: int) -> list[bytes]: ...
    def iter_log(self, start: int, stop: int, chunk: int = 65536) -> Iterator[list[tuple[bytes, bytes]]]: ...
    def append_log(self, start: int, entries: Sequence[bytes], leaves: bytes) -> None: ...
    def add_checkpoint(self, size: int, root: bytes, note: str, created: datetime) -> None: ...
    def checkpoints(self, min_size: int = 0, max_size: int | None = None) -> list[tuple[int, str]]: ...

    def add_asset(self, asset: Asset) -> None: ...
    def get_asset(self, asset_id: str) -> Asset | None: ...
    def find_asset(self, tenant: str, name: str) -> Asset | None: ...
    def list_assets(self, tenant: str) -> list[Asset]: ...
    def update_asset(self, asset: Asset) -> None: ...
    def add_version(self, version: AssetVersion) -> None: ...
    def versions(self, asset_id: str) -> list[AssetVersion]: ...
    def derived_from(self, ref: str) -> list[str]: ...
    def add_grant(self, grant: Grant) -> None: ...
    def get_grant(self, grant_id: str) -> Grant | None: ...
    def grants(self, asset_id: str) -> list[Grant]: ...
    def grants_to(self, tenant: str) -> list[Grant]: ...
    def update_grant(self, grant: Grant) -> None: ...


class SqliteTrustStore:
    """:class:`TrustStore` in one SQLite file (WAL mode; one connection guarded by a lock).

    ``synchronous`` is SQLite's pragma: ``FULL`` (default) fsyncs every commit so an
    acknowledged log entry survives power loss; ``NORMAL`` survives process crashes only.
    """

    def __init__(self, path: Path | str, *, synchronous: str = "FULL") -> None:
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise StoreError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, got {synchronous!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self._con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
            self._con.execute("PRAGMA journal_mode=WAL")
            self._con.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._con.execute("PRAGMA foreign_keys=ON")
            self._con.executescript(_SCHEMA)
            have = {r[1] for r in self._con.execute("PRAGMA table_info(memberships)")}
            for column, decl in _MEMBER_COLUMNS:
                if column not in have:
                    self._con.execute(f"ALTER TABLE memberships ADD COLUMN {column} {decl}")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the trust store: {exc}") from exc

    # -- plumbing ---------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One exclusive write transaction; nested use joins the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            try:
                self._con.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: cannot start a transaction: {exc}") from exc
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                self._con.execute("ROLLBACK")
                raise
            self._depth = 0
            try:
                self._con.execute("COMMIT")
            except sqlite3.Error as exc:
                self._con.execute("ROLLBACK")
                raise StoreError(f"{self.path}: commit failed: {exc}") from exc

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._con.execute(sql, params)
            except sqlite3.IntegrityError as exc:
                raise ConflictError(f"trust store refused the change: {exc}") from exc
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._exec(sql, params).fetchall()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            return self._exec(sql, params).fetchone()

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def meta_get(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    def meta_set(self, key: str, value: str) -> None:
        self._exec(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?", (key, value, value)
        )

    # -- tenants and identities -------------------------------------------------------
    def add_tenant(self, tenant: Tenant) -> None:
        self._exec("INSERT INTO tenants VALUES (?, ?, ?)", (tenant.id, tenant.name, _ts(tenant.created)))

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        r = self._one("SELECT id, name, created FROM tenants WHERE id = ?", (tenant_id,))
        return None if r is None else Tenant(r[0], r[1], _dt1(r[2]))

    def list_tenants(self) -> list[Tenant]:
        return [Tenant(r[0], r[1], _dt1(r[2])) for r in self._all("SELECT id, name, created FROM tenants ORDER BY id")]

    @staticmethod
    def _identity(r: Sequence[Any], verified: bool = False) -> Identity:
        return Identity(r[0], r[1], IdentityKind(r[2]), _dt1(r[3]), bool(r[4]), verified)

    # A tenant's record of a member: its own name, kind and date; the key's disabled flag.
    _MEMBER_SQL = (
        "SELECT i.did, COALESCE(m.name, i.name), COALESCE(m.kind, i.kind), COALESCE(m.created, i.created), "
        "i.disabled, m.verified, m.role FROM identities i JOIN memberships m ON m.did = i.did "
    )

    def add_identity(self, identity: Identity) -> None:
        self._exec(
            "INSERT INTO identities VALUES (?, ?, ?, ?, ?)",
            (identity.did, identity.name, identity.kind.value, _ts(identity.created), int(identity.disabled)),
        )

    def get_identity(self, did: str) -> Identity | None:
        r = self._one("SELECT did, name, kind, created, disabled FROM identities WHERE did = ?", (did,))
        return None if r is None else self._identity(r)

    def set_disabled(self, did: str, disabled: bool) -> None:
        self._exec("UPDATE identities SET disabled = ? WHERE did = ?", (int(disabled), did))

    def add_member(self, identity: Identity, tenant: str, role: Role) -> None:
        i = identity
        self._exec(
            "INSERT INTO memberships (did, tenant, role, name, kind, created, verified) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (i.did, tenant, role.value, i.name, i.kind.value, _ts(i.created), int(i.verified)),
        )

    def set_role(self, did: str, tenant: str, role: Role | None) -> None:
        if role is None:
            self._exec("DELETE FROM memberships WHERE did = ? AND tenant = ?", (did, tenant))
        else:
            self._exec("UPDATE memberships SET role = ? WHERE did = ? AND tenant = ?", (role.value, did, tenant))

    def get_role(self, did: str, tenant: str) -> Role | None:
        r = self._one("SELECT role FROM memberships WHERE did = ? AND tenant = ?", (did, tenant))
        return None if r is None else Role(r[0])

    def get_member(self, did: str, tenant: str) -> tuple[Identity, Role] | None:
        r = self._one(self._MEMBER_SQL + "WHERE m.did = ? AND m.tenant = ?", (did, tenant))
        return None if r is None else (self._identity(r, bool(r[5])), Role(r[6]))

    def list_members(self, tenant: str) -> list[tuple[Identity, Role]]:
        rows = self._all(self._MEMBER_SQL + "WHERE m.tenant = ? ORDER BY 2, 1", (tenant,))
        return [(self._identity(r, bool(r[5])), Role(r[6])) for r in rows]

    # -- tokens -----------------------------------------------------------------------
    _TOKEN_COLS = "id, sha256, did, tenant, name, scopes, created, expires, revoked"

    @staticmethod
    def _token(r: Sequence[Any]) -> TokenRecord:
        scopes = None if r[5] is None else frozenset(orjson.loads(r[5]))
        return TokenRecord(r[0], bytes(r[1]), r[2], r[3], r[4], scopes, _dt1(r[6]), _dt(r[7]), _dt(r[8]))

    def add_token(self, token: TokenRecord) -> None:
        scopes = None if token.scopes is None else orjson.dumps(sorted(token.scopes)).decode()
        self._exec(
            f"INSERT INTO tokens ({self._TOKEN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (token.id, token.sha256, token.did, token.tenant, token.name, scopes, _ts(token.created),
             _ts(token.expires), _ts(token.revoked)),
        )  # fmt: skip

    def token_by_hash(self, sha256: bytes) -> TokenRecord | None:
        r = self._one(f"SELECT {self._TOKEN_COLS} FROM tokens WHERE sha256 = ?", (sha256,))
        return None if r is None else self._token(r)

    def get_token(self, token_id: str) -> TokenRecord | None:
        r = self._one(f"SELECT {self._TOKEN_COLS} FROM tokens WHERE id = ?", (token_id,))
        return None if r is None else self._token(r)

    def list_tokens(self, tenant: str, did: str | None = None) -> list[TokenRecord]:
        if did is None:
            rows = self._all(f"SELECT {self._TOKEN_COLS} FROM tokens WHERE tenant = ? ORDER BY created", (tenant,))
        else:
            rows = self._all(
                f"SELECT {self._TOKEN_COLS} FROM tokens WHERE tenant = ? AND did = ? ORDER BY created", (tenant, did)
            )
        return [self._token(r) for r in rows]

    def revoke_token(self, token_id: str, when: datetime) -> None:
        self._exec("UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL", (_ts(when), token_id))

    # -- the log ----------------------------------------------------------------------
    def log_size(self) -> int:
        r = self._one("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries")
        return int(r[0])

    def log_leaves(self, start: int, stop: int) -> bytes:
        with self._lock:
            cur = self._exec("SELECT leaf FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, stop))
            return b"".join([r[0] for r in cur])

    def log_entries(self, start: int, stop: int) -> list[bytes]:
        with self._lock:
            cur = self._exec("SELECT data FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, stop))
            return [bytes(r[0]) for r in cur]

    def iter_log(self, start: int, stop: int, chunk: int = 65536) -> Iterator[list[tuple[bytes, bytes]]]:
        """(leaf, data) pairs in chunks, for exports that must not hold the whole log at once."""
        for lo in range(start, stop, chunk):
            rows = self._all(
                "SELECT leaf, data FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                (lo, min(stop, lo + chunk)),
            )
            yield [(bytes(r[0]), bytes(r[1])) for r in rows]

    def append_log(self, start: int, entries: Sequence[bytes], leaves: bytes) -> None:
        rows: Iterable[tuple[int, bytes, bytes]] = (
            (start + i, leaves[32 * i : 32 * i + 32], e) for i, e in enumerate(entries)
        )
        with self._lock:
            try:
                self._con.executemany("INSERT INTO log_entries(idx, leaf, data) VALUES (?, ?, ?)", rows)
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: cannot append to the log: {exc}") from exc

    def add_checkpoint(self, size: int, root: bytes, note: str, created: datetime) -> None:
        self._exec("INSERT INTO checkpoints VALUES (?, ?, ?, ?)", (size, root, note, _ts(created)))

    def checkpoints(self, min_size: int = 0, max_size: int | None = None) -> list[tuple[int, str]]:
        hi = (1 << 62) if max_size is None else max_size
        rows = self._all(
            "SELECT size, note FROM checkpoints WHERE size >= ? AND size <= ? ORDER BY size", (min_size, hi)
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    # -- assets -----------------------------------------------------------------------
    _ASSET_COLS = "id, tenant, name, owner, description, license, classification, created"

    @staticmethod
    def _asset(r: Sequence[Any]) -> Asset:
        return Asset(r[0], r[1], r[2], r[3], r[4], r[5], Classification(r[6]), _dt1(r[7]))

    def add_asset(self, asset: Asset) -> None:
        a = asset
        self._exec(
            f"INSERT INTO assets ({self._ASSET_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (a.id, a.tenant, a.name, a.owner, a.description, a.license, a.classification.value, _ts(a.created)),
        )

    def get_asset(self, asset_id: str) -> Asset | None:
        r = self._one(f"SELECT {self._ASSET_COLS} FROM assets WHERE id = ?", (asset_id,))
        return None if r is None else self._asset(r)

    def find_asset(self, tenant: str, name: str) -> Asset | None:
        r = self._one(f"SELECT {self._ASSET_COLS} FROM assets WHERE tenant = ? AND name = ?", (tenant, name))
        return None if r is None else self._asset(r)

    def list_assets(self, tenant: str) -> list[Asset]:
        rows = self._all(f"SELECT {self._ASSET_COLS} FROM assets WHERE tenant = ? ORDER BY name", (tenant,))
        return [self._asset(r) for r in rows]

    def update_asset(self, asset: Asset) -> None:
        a = asset
        self._exec(
            "UPDATE assets SET description = ?, license = ?, classification = ? WHERE id = ?",
            (a.description, a.license, a.classification.value, a.id),
        )

    def add_version(self, version: AssetVersion) -> None:
        v = version
        self._exec(
            "INSERT INTO asset_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (v.asset, v.version, v.sha256, v.size, v.media_type, _ts(v.created), v.created_by, v.log_index),
        )
        for parent in v.derived_from:
            self._exec("INSERT INTO lineage VALUES (?, ?, ?)", (v.asset, v.version, parent))

    def versions(self, asset_id: str) -> list[AssetVersion]:
        rows = self._all(
            "SELECT asset, version, sha256, size, media_type, created, created_by, log_index "
            "FROM asset_versions WHERE asset = ? ORDER BY version",
            (asset_id,),
        )
        parents: dict[int, list[str]] = {}
        for a_ver, parent in self._all(
            "SELECT version, parent FROM lineage WHERE asset = ? ORDER BY parent", (asset_id,)
        ):
            parents.setdefault(int(a_ver), []).append(str(parent))
        return [
            AssetVersion(
                r[0], int(r[1]), r[2], int(r[3]), r[4], _dt1(r[5]), r[6], tuple(parents.get(int(r[1]), ())), r[7]
            )
            for r in rows
        ]

    def derived_from(self, ref: str) -> list[str]:
        rows = self._all("SELECT asset, version FROM lineage WHERE parent = ? ORDER BY asset, version", (ref,))
        return [f"{r[0]}@{r[1]}" for r in rows]

    _GRANT_COLS = "id, asset, tenant, status, created, created_by, expires, approved_by, revoked"

    @staticmethod
    def _grant(r: Sequence[Any]) -> Grant:
        return Grant(r[0], r[1], r[2], GrantStatus(r[3]), _dt1(r[4]), r[5], _dt1(r[6]), r[7], _dt(r[8]))

    def add_grant(self, grant: Grant) -> None:
        g = grant
        self._exec(
            f"INSERT INTO grants ({self._GRANT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (g.id, g.asset, g.tenant, g.status.value, _ts(g.created), g.created_by, _ts(g.expires), g.approved_by,
             _ts(g.revoked)),
        )  # fmt: skip

    def get_grant(self, grant_id: str) -> Grant | None:
        r = self._one(f"SELECT {self._GRANT_COLS} FROM grants WHERE id = ?", (grant_id,))
        return None if r is None else self._grant(r)

    def grants(self, asset_id: str) -> list[Grant]:
        return [self._grant(r) for r in self._all(
            f"SELECT {self._GRANT_COLS} FROM grants WHERE asset = ? ORDER BY created", (asset_id,))]  # fmt: skip

    def grants_to(self, tenant: str) -> list[Grant]:
        return [self._grant(r) for r in self._all(
            f"SELECT {self._GRANT_COLS} FROM grants WHERE tenant = ? ORDER BY created", (tenant,))]  # fmt: skip

    def update_grant(self, grant: Grant) -> None:
        self._exec(
            "UPDATE grants SET status = ?, approved_by = ?, revoked = ? WHERE id = ?",
            (grant.status.value, grant.approved_by, _ts(grant.revoked), grant.id),
        )
