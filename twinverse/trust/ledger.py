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
from .merkle import MerkleTree, leaf_hash, leaf_hashes
from .note import Checkpoint, NoteSigner, NoteVerifier
from .store import TrustStore

__all__ = ["AppendResult", "ConsistencyProof", "InclusionProof", "Ledger", "LogEntry", "make_entry", "utcnow"]

# Forward scans read this many entries per query; newest-first scans, which usually stop
# early (at the newest match), read fewer.
_FORWARD_CHUNK = 65536
_BACKWARD_CHUNK = 4096


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


@dataclass(frozen=True)
class LogEntry:
    """One stored entry found by :meth:`Ledger.entries_by_action`: its index and bytes.

    ``intact`` is False when the scan checked leaves and the stored bytes no longer hash
    to the stored leaf: the entry was altered after logging, so nothing it says (its
    target included) can be trusted.
    """

    index: int
    data: bytes
    intact: bool = True

    def record(self) -> dict[str, Any]:
        """The entry parsed (``orjson.JSONDecodeError``, a ValueError, when it is not JSON)."""
        record: dict[str, Any] = orjson.loads(self.data)
        return record


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

    def entries(self, start: int, stop: int) -> list[bytes]:
        """The bytes of entries ``[start, stop)`` (as stored; ``stop`` beyond the log is cut)."""
        return self.store.log_entries(start, stop)

    def entries_by_action(
        self,
        action: str,
        target_prefix: str = "",
        *,
        start: int = 0,
        stop: int | None = None,
        newest_first: bool = False,
        check_leaves: bool = False,
    ) -> Iterator[LogEntry]:
        """Entries in ``[start, stop)`` with ``action`` whose target starts with ``target_prefix``.

        How services built on the log read it back (the history sealer finds its seals
        this way) without touching the store. Entries are canonical JSON with sorted keys
        (:func:`make_entry`), so a byte search picks the candidates out of the log and
        only those are parsed; a candidate that is not JSON is yielded too, for the
        caller to report. ``stop`` None means the current size (after :meth:`sync`).
        ``newest_first`` walks backwards, so a caller that wants the latest match stops
        after reading only the entries logged since. With ``check_leaves`` every entry
        naming ``action`` is hashed against its stored leaf, and an altered one is
        yielded with ``intact`` False whatever its target says.

        >>> import tempfile, pathlib
        >>> from twinverse.trust.identity import Keypair
        >>> from twinverse.trust.store import SqliteTrustStore
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> log = Ledger(SqliteTrustStore(d / "t.sqlite"), Keypair.from_seed(bytes(32)), "example.org/log")
        >>> with log.transaction():
        ...     for target in ("plant:a", "twin:a/b", "plant:b"):
        ...         _ = log.record("plant.update", target)
        >>> [e.index for e in log.entries_by_action("plant.update", "plant:")]
        [0, 2]
        >>> [e.record()["target"] for e in log.entries_by_action("plant.update", newest_first=True)]
        ['plant:b', 'twin:a/b', 'plant:a']
        """
        if stop is None:
            self.sync()
            stop = self.size
        action_bytes = b'"action":' + orjson.dumps(action)
        target_bytes = b'"target":' + orjson.dumps(target_prefix)[:-1]  # without the closing quote
        for index, leaf, data in self._rows(start, stop, newest_first, check_leaves):
            if action_bytes not in data:
                continue
            if leaf is not None and leaf_hash(data) != leaf:
                yield LogEntry(index, data, intact=False)
                continue
            if target_bytes not in data:
                continue
            try:
                record = orjson.loads(data)
            except orjson.JSONDecodeError:
                yield LogEntry(index, data)
                continue
            # The bytes may have matched inside ``details``: check the entry's own fields.
            if not isinstance(record, dict) or record.get("action") != action:
                continue
            target = record.get("target")
            if isinstance(target, str) and target.startswith(target_prefix):
                yield LogEntry(index, data)

    def _rows(
        self, start: int, stop: int, newest_first: bool, check_leaves: bool
    ) -> Iterator[tuple[int, bytes | None, bytes]]:
        """``(index, stored leaf or None, data)`` of ``[start, stop)``, oldest or newest first."""
        if not newest_first:
            for lo in range(start, stop, _FORWARD_CHUNK):
                yield from self._span(lo, min(stop, lo + _FORWARD_CHUNK), check_leaves)
            return
        for hi in range(stop, start, -_BACKWARD_CHUNK):
            yield from reversed(list(self._span(max(start, hi - _BACKWARD_CHUNK), hi, check_leaves)))

    def _span(self, lo: int, hi: int, check_leaves: bool) -> Iterator[tuple[int, bytes | None, bytes]]:
        if check_leaves:
            pairs = (pair for part in self.store.iter_log(lo, hi) for pair in part)
            for i, (leaf, data) in enumerate(pairs, lo):
                yield i, leaf, data
        else:
            for i, data in enumerate(self.store.log_entries(lo, hi), lo):
                yield i, None, data

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
