"""The transparency log: append-only entries, a Merkle tree over them, signed checkpoints.

Writes happen in :meth:`Ledger.transaction`: entries staged inside it are appended as one
batch with one new signed checkpoint, in the same database transaction as whatever change
they record, so a change is never stored without its log entry or the other way round.

>>> import tempfile, pathlib
>>> from twinverse.trust.identity import Keypair
>>> from twinverse.trust.store import SqliteTrustStore
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> log = Ledger(SqliteTrustStore(d / "t.sqlite"), Keypair.from_seed(bytes(32)), "example.org/log")
>>> log.append([b"one", b"two", b"three"]).size
3
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ..errors import NotFoundError
from .errors import IntegrityError, ProofError
from .identity import Keypair
from .merkle import MerkleTree, leaf_hashes
from .note import Checkpoint, NoteSigner, NoteVerifier
from .store import TrustStore

__all__ = ["AppendResult", "ConsistencyProof", "InclusionProof", "Ledger", "make_entry", "utcnow"]


def utcnow() -> datetime:
    """The current time in UTC (the default clock)."""
    return datetime.now(UTC)


def make_entry(
    *,
    time: datetime,
    action: str,
    target: str,
    actor: str | None = None,
    tenant: str | None = None,
    body_sha256: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> bytes:
    """One log entry as canonical JSON (sorted keys, no spaces, UTF-8).

    >>> make_entry(time=datetime(2025, 1, 1, tzinfo=UTC), action="token.create", target="token:ab12")
    b'{"action":"token.create","target":"token:ab12","time":"2025-01-01T00:00:00.000000Z","v":1}'
    """
    record: dict[str, Any] = {
        "v": 1,
        "time": time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "action": action,
        "target": target,
    }
    if actor is not None:
        record["actor"] = actor
    if tenant is not None:
        record["tenant"] = tenant
    if body_sha256 is not None:
        record["body_sha256"] = body_sha256
    if details:
        record["details"] = dict(details)
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True)
class AppendResult:
    """Where a batch landed: first index, new tree size, root and signed checkpoint."""

    start: int
    size: int
    root: bytes
    checkpoint: str


@dataclass(frozen=True)
class InclusionProof:
    """An entry's leaf hash, the tree it is proven in, and the proof (leaf to root)."""

    index: int
    size: int
    leaf: bytes
    root: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    """Two tree heads of the log and the proof that the second extends the first."""

    first: int
    second: int
    root1: bytes
    root2: bytes
    proof: list[bytes]


class Ledger:
    """An RFC 9162 log kept in a :class:`TrustStore`, signed with an Ed25519 key.

    The whole tree of leaf hashes lives in memory (64 bytes per entry with all levels) so
    proofs take microseconds; :meth:`sync` picks up entries another process appended.
    """

    def __init__(
        self,
        store: TrustStore,
        key: Keypair,
        origin: str,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.origin = origin
        self.signer = NoteSigner(origin, key)
        self.verifier: NoteVerifier = self.signer.verifier
        self.clock = clock
        self.tree = MerkleTree()
        self._lock = threading.RLock()
        self._depth = 0
        self._pending: list[bytes] = []
        self._last: AppendResult | None = None
        with self.transaction():
            if not self.store.checkpoints(0, 0):
                # The empty tree gets a checkpoint too, so a verifier can anchor at size 0.
                self._checkpoint(0)

    @property
    def size(self) -> int:
        """Entries in the log (as last synced)."""
        return self.tree.size

    def sync(self) -> None:
        """Load leaf hashes appended by other processes; refuse a log that shrank."""
        with self._lock:
            n = self.store.log_size()
            if n > self.tree.size:
                self.tree.extend(self.store.log_leaves(self.tree.size, n))
            elif n < self.tree.size:
                raise IntegrityError(f"the stored log has {n} entries but {self.tree.size} were seen: it was truncated")

    # -- writing ----------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction; entries staged in it are appended under one checkpoint on exit."""
        with self._lock:
            outer = self._depth == 0
            base = self.tree.size
            self._depth += 1
            try:
                with self.store.transaction():
                    if outer:
                        self.sync()
                        base = self.tree.size
                    try:
                        yield
                        if outer and self._pending:
                            self._flush()
                    except BaseException:
                        if outer:
                            self._pending.clear()
                            self.tree.truncate(base)
                        raise
            finally:
                self._depth -= 1

    def stage(self, entry: bytes) -> int:
        """Queue ``entry`` in the open transaction; returns the index it will have."""
        with self._lock:
            if not self._depth:
                raise RuntimeError("Ledger.stage needs an open Ledger.transaction()")
            self._pending.append(entry)
            return self.tree.size + len(self._pending) - 1

    def record(
        self,
        action: str,
        target: str,
        *,
        actor: str | None = None,
        tenant: str | None = None,
        body_sha256: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> int:
        """Stage one :func:`make_entry` record stamped with the ledger's clock; returns its index."""
        entry = make_entry(
            time=self.clock(),
            action=action,
            target=target,
            actor=actor,
            tenant=tenant,
            body_sha256=body_sha256,
            details=details,
        )
        return self.stage(entry)

    def append(self, entries: Sequence[bytes]) -> AppendResult:
        """Append a batch of entries with one new signed checkpoint."""
        if not entries:
            raise ValueError("append needs at least one entry")
        with self.transaction():
            for e in entries:
                self.stage(e)
        assert self._last is not None
        return self._last

    def _flush(self) -> None:
        entries, self._pending = self._pending, []
        start = self.tree.size
        leaves = leaf_hashes(entries)
        self.store.append_log(start, entries, leaves)
        self.tree.extend(leaves)
        self._checkpoint(start)

    def _checkpoint(self, start: int) -> None:
        size = self.tree.size
        root = self.tree.root()
        note = Checkpoint(self.origin, size, root).sign(self.signer)
        self.store.add_checkpoint(size, root, note, self.clock())
        self._last = AppendResult(start, size, root, note)

    # -- reading ----------------------------------------------------------------------
    def checkpoint(self) -> str:
        """The latest signed checkpoint note."""
        with self._lock:
            self.sync()
            cps = self.store.checkpoints(self.tree.size, self.tree.size)
            if not cps:
                raise IntegrityError(f"no checkpoint for the current log size {self.tree.size}")
            return cps[-1][1]

    def checkpoints(self, min_size: int = 0, max_size: int | None = None) -> list[tuple[int, str]]:
        """Signed checkpoints with sizes in ``[min_size, max_size]``, ascending."""
        return self.store.checkpoints(min_size, max_size)

    def entry(self, index: int) -> bytes:
        """The bytes of entry ``index``."""
        self.sync()
        if not 0 <= index < self.tree.size:
            raise NotFoundError(f"log entry {index} does not exist (the log has {self.tree.size} entries)")
        return self.store.log_entries(index, index + 1)[0]

    def root(self, size: int | None = None) -> bytes:
        """The root hash at ``size`` (default: now)."""
        with self._lock:
            self.sync()
            return self.tree.root(size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Proof that entry ``index`` is in the tree of ``size`` (default: the current size)."""
        with self._lock:
            self.sync()
            return self.tree.inclusion_proof(index, size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """Proof that the tree of ``size2`` extends the tree of ``size1``."""
        with self._lock:
            self.sync()
            if size2 is not None and size2 > self.tree.size:
                raise ProofError(f"tree size {size2} is beyond the log ({self.tree.size} entries)")
            return self.tree.consistency_proof(size1, size2)

    def prove_inclusion(self, index: int, size: int | None = None) -> InclusionProof:
        """Leaf, root and proof of entry ``index`` in one consistent view of the log."""
        with self._lock:
            self.sync()
            n = self.tree.size if size is None else size
            proof = self.tree.inclusion_proof(index, n)
            return InclusionProof(index, n, self.tree.leaf(index), self.tree.root(n), proof)

    def prove_consistency(self, first: int, second: int | None = None) -> ConsistencyProof:
        """Both roots and the consistency proof between sizes ``first`` and ``second``."""
        with self._lock:
            self.sync()
            n = self.tree.size if second is None else second
            if n > self.tree.size:
                raise ProofError(f"tree size {n} is beyond the log ({self.tree.size} entries)")
            proof = self.tree.consistency_proof(first, n)
            return ConsistencyProof(first, n, self.tree.root(first), self.tree.root(n), proof)
