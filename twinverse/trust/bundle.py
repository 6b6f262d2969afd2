"""Log bundles for offline audit: export from a ledger, verify without server or database.

A bundle is a directory:

``manifest.json``
    format, origin, the log's verifier key (``name+keyid+base64``) and DID, entry count.
``entries.bin``
    every entry, in order, each as a 4-byte big-endian length and the bytes.
``leaves.bin``
    the leaf hash the log recorded for each entry (32 bytes each). Only a diagnostic aid:
    the verifier recomputes every hash from ``entries.bin`` and uses these to say *which*
    entry changed when the recomputed tree no longer matches a checkpoint.
``checkpoints.jsonl``
    every signed checkpoint (C2SP tlog-checkpoint notes), one JSON string per line.

:func:`verify_bundle` recomputes the Merkle tree from the entries, checks every checkpoint's
signature and root, detects forks (two signed roots for one size), missing, altered or
inserted entries, entries no checkpoint covers, and — given an earlier checkpoint — a log
that was rolled back or rewritten since, with an RFC 9162 consistency proof.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ..errors import InputError, Location, Problem
from .errors import ProofError
from .ledger import Ledger
from .merkle import HASH_SIZE, MerkleTree, verify_consistency
from .note import Checkpoint, NoteVerifier, split_note

__all__ = ["BUNDLE_FORMAT", "ExportResult", "VerifyReport", "export_bundle", "verify_bundle"]

BUNDLE_FORMAT = "twinverse-log-bundle/1"
MANIFEST, ENTRIES, LEAVES, CHECKPOINTS = "manifest.json", "entries.bin", "leaves.bin", "checkpoints.jsonl"
_MAX_DETAIL = 10  # altered entries listed one by one before summarising


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_bundle` wrote."""

    path: Path
    size: int
    checkpoints: int
    verifier_key: str


def export_bundle(ledger: Ledger, out: Path) -> ExportResult:
    """Write the whole log (entries, leaf hashes, checkpoints, key) as a bundle directory ``out``."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out}: exists and is not an empty directory")
    ledger.sync()
    size = ledger.size
    cps = ledger.checkpoints(0, size)
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with (tmp / ENTRIES).open("wb") as fe, (tmp / LEAVES).open("wb") as fl:
        for chunk in ledger.store.iter_log(0, size):
            fl.write(b"".join(leaf for leaf, _ in chunk))
            fe.write(b"".join(len(data).to_bytes(4, "big") + data for _, data in chunk))
    with (tmp / CHECKPOINTS).open("wb") as fc:
        for _, note in cps:
            fc.write(orjson.dumps(note) + b"\n")
    manifest = {
        "format": BUNDLE_FORMAT,
        "origin": ledger.origin,
        "log_key": ledger.verifier.key,
        "log_did": ledger.verifier.did,
        "size": size,
        "exported": datetime.now(UTC).isoformat(),
    }
    (tmp / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    if out.exists():
        out.rmdir()
    os.replace(tmp, out)
    return ExportResult(out, size, len(cps), ledger.verifier.key)


# -- verification -------------------------------------------------------------------------
@dataclass
class VerifyReport:
    """The verdict on a bundle: every problem found, located by file, line and entry."""

    origin: str = ""
    log_key: str = ""
    entries: int = 0
    checkpoints: int = 0
    size: int = 0
    root: bytes = b""
    since: int | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, message: str, file: str | None = None, line: int | None = None, path: str | None = None) -> None:
        self.problems.append(Problem(message, Location(file, line, path)))

    def summary(self) -> str:
        if not self.ok:
            return f"FAILED: {len(self.problems)} problem(s) in the log bundle"
        since = f"; consistent with the earlier checkpoint of size {self.since}" if self.since is not None else ""
        return (
            f"OK: {self.entries} entries and {self.checkpoints} signed checkpoints verified; "
            f"tree size {self.size}, root {self.root.hex()}{since}"
        )


@dataclass(frozen=True)
class _Signed:
    where: str  # "checkpoints.jsonl:7" or "--since"
    file: str
    line: int | None
    cp: Checkpoint


def _read_manifest(root: Path, report: VerifyReport) -> dict[str, Any] | None:
    try:
        manifest = orjson.loads((root / MANIFEST).read_bytes())
    except FileNotFoundError:
        report.problem("missing: not a log bundle (no manifest.json)", MANIFEST)
        return None
    except orjson.JSONDecodeError as exc:
        report.problem(f"not valid JSON: {exc}", MANIFEST)
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        report.problem(f"format must be {BUNDLE_FORMAT!r}", MANIFEST, path="format")
        return None
    return manifest


def _read_entries(path: Path, report: VerifyReport) -> bytes:
    """Leaf hashes recomputed from ``entries.bin`` (concatenated)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        report.problem("missing", ENTRIES)
        return b""
    sha, out = hashlib.sha256, []
    pos, n, i = 0, len(data), 0
    while pos < n:
        if pos + 4 > n:
            report.problem(f"truncated: {n - pos} stray bytes after the last entry", ENTRIES, path=f"entry {i}")
            break
        ln = int.from_bytes(data[pos : pos + 4], "big")
        pos += 4
        if pos + ln > n:
            report.problem(f"truncated: entry claims {ln} bytes, only {n - pos} remain", ENTRIES, path=f"entry {i}")
            break
        out.append(sha(b"\x00" + data[pos : pos + ln]).digest())
        pos += ln
        i += 1
    return b"".join(out)


def _read_checkpoints(path: Path, verifier: NoteVerifier, origin: str, report: VerifyReport) -> list[_Signed]:
    good: list[_Signed] = []
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        report.problem("missing: the bundle has no checkpoints", CHECKPOINTS)
        return good
    for n, raw in enumerate(lines, 1):
        try:
            note = orjson.loads(raw)
            if not isinstance(note, str):
                raise ProofError("expected a JSON string holding a signed note")
        except (orjson.JSONDecodeError, ProofError) as exc:
            report.problem(f"not a JSON string: {exc}", CHECKPOINTS, n)
            continue
        label = _label(note)
        try:
            cp = Checkpoint.open(note, verifier)
        except ProofError as exc:
            report.problem(f"checkpoint{label}: {exc}", CHECKPOINTS, n)
            continue
        if cp.origin != origin:
            report.problem(f"checkpoint{label}: origin {cp.origin!r} is not this log's {origin!r}", CHECKPOINTS, n)
            continue
        good.append(_Signed(f"{CHECKPOINTS}:{n}", CHECKPOINTS, n, cp))
    return good


def _label(note: str) -> str:
    """' (size N)' from an unverified note, to say which checkpoint a failure is about."""
    try:
        return f" (size {Checkpoint.parse(split_note(note)[0]).size})"
    except ProofError:
        return ""


def _forks(signed: list[_Signed], report: VerifyReport) -> None:
    by_size: dict[int, _Signed] = {}
    for s in signed:
        first = by_size.setdefault(s.cp.size, s)
        if first.cp.root != s.cp.root:
            report.problem(
                f"fork: {first.where} and {s.where} are both validly signed for tree size {s.cp.size} "
                f"but with different roots ({first.cp.root.hex()} vs {s.cp.root.hex()}): "
                "the log showed two different histories",
                s.file,
                s.line,
            )


def _diagnose(report: VerifyReport, entries: bytes, recorded: bytes, cp: _Signed, last_good: int, where: str) -> None:
    """Say which entries broke checkpoint ``cp`` (whose size the entries no longer match)."""
    n_e, n_r, size = len(entries) // HASH_SIZE, len(recorded) // HASH_SIZE, cp.cp.size
    trusted = (
        n_r >= size and len(recorded) % HASH_SIZE == 0 and MerkleTree(recorded[: size * HASH_SIZE]).root() == cp.cp.root
    )
    if trusted:
        # The recorded leaf hashes still match the signed root, so they pinpoint the change.
        first = next(
            (i for i in range(min(n_e, size)) if entries[i * 32 : i * 32 + 32] != recorded[i * 32 : i * 32 + 32]),
            min(n_e, size),
        )

        def e_at(i: int) -> bytes:
            return entries[i * 32 : i * 32 + 32]

        def r_at(i: int) -> bytes:
            return recorded[i * 32 : i * 32 + 32]

        if (n_e < n_r and first < n_e and e_at(first) == r_at(first + 1)) or first == n_e < size:
            report.problem(
                f"entry {first} was removed: the entries after it moved up by one, so checkpoint "
                f"{cp.where} (size {size}) no longer matches",
                ENTRIES,
                path=f"entry {first}",
            )
            return
        if n_e > n_r and first + 1 < n_e and e_at(first + 1) == r_at(first):
            report.problem(
                f"an entry was inserted at index {first}: checkpoint {cp.where} (size {size}) no longer matches",
                ENTRIES,
                path=f"entry {first}",
            )
            return
        bad = [i for i in range(first, min(n_e, size)) if e_at(i) != r_at(i)]
        for i in bad[:_MAX_DETAIL]:
            report.problem(
                f"entry {i} was altered: its bytes hash to {e_at(i).hex()} but the log recorded leaf "
                f"{r_at(i).hex()}, which checkpoint {cp.where} (size {size}) signs",
                ENTRIES,
                path=f"entry {i}",
            )
        if len(bad) > _MAX_DETAIL:
            report.problem(f"… and {len(bad) - _MAX_DETAIL} more altered entries", ENTRIES)
        return
    if n_e < size:
        report.problem(
            f"checkpoint {cp.where} signs tree size {size} but the bundle holds only {n_e} entries: "
            f"entries are missing (removed, or the log was truncated){where}",
            cp.file,
            cp.line,
        )
        return
    got = MerkleTree(entries[: size * HASH_SIZE]).root()
    report.problem(
        f"entries {last_good}..{size - 1} were changed, removed or inserted: the first {size} entries hash to "
        f"root {got.hex()} but checkpoint {cp.where} signs {cp.cp.root.hex()}{where}",
        cp.file,
        cp.line,
    )


def verify_bundle(bundle: Path, since: str | None = None, key: str | None = None) -> VerifyReport:
    """Check a bundle completely, offline; every problem is in the report, located.

    ``since`` is an earlier signed checkpoint (note text) of the same log: the bundle must
    extend it. ``key`` pins the log's verifier key; without it the bundle's own key is used.
    """
    report = VerifyReport()
    manifest = _read_manifest(bundle, report)
    if manifest is None:
        return report
    origin = str(manifest.get("origin", ""))
    report.origin = origin
    try:
        bundle_key = NoteVerifier.parse(str(manifest.get("log_key", "")))
    except ProofError as exc:
        report.problem(str(exc), MANIFEST, path="log_key")
        return report
    verifier = bundle_key
    if key is not None:
        try:
            verifier = NoteVerifier.parse(key)
        except ProofError as exc:
            report.problem(f"--key: {exc}")
            return report
        if verifier != bundle_key:
            report.problem(
                f"the bundle's log key {bundle_key.key} is not the expected key {verifier.key}",
                MANIFEST,
                path="log_key",
            )
    else:
        report.notes.append(f"log key taken from the bundle: {bundle_key.key} (pin it with --key)")
    report.log_key = verifier.key

    entries = _read_entries(bundle / ENTRIES, report)
    n = len(entries) // HASH_SIZE
    report.entries = n
    try:
        recorded = (bundle / LEAVES).read_bytes()
    except FileNotFoundError:
        recorded = b""
        report.notes.append("no leaves.bin: changed entries can be located only between checkpoints")
    if manifest.get("size") != n:
        report.problem(f"manifest says {manifest.get('size')} entries, entries.bin holds {n}", MANIFEST, path="size")

    signed = _read_checkpoints(bundle / CHECKPOINTS, verifier, origin, report)
    earlier: _Signed | None = None
    if since is not None:
        try:
            cp = Checkpoint.open(since, verifier)
        except ProofError as exc:
            report.problem(f"earlier checkpoint: {exc} (the log key changed, or the bundle is forged)", "--since")
        else:
            if cp.origin != origin:
                report.problem(f"earlier checkpoint is for log {cp.origin!r}, not {origin!r}", "--since")
            else:
                earlier = _Signed("--since", "--since", None, cp)
                report.since = cp.size
    _forks([*([earlier] if earlier else []), *signed], report)

    tree = MerkleTree(entries)
    report.checkpoints = len(signed)
    last_good, failed = 0, 0
    for s in sorted(signed, key=lambda s: s.cp.size):
        size = s.cp.size
        ok = size <= n and tree.root(size) == s.cp.root
        if ok:
            if failed == 0:
                last_good = size
            continue
        failed += 1
        if failed == 1:
            _diagnose(report, entries, recorded, s, last_good, "")
    if failed > 1:
        report.problem(f"{failed - 1} later checkpoint(s) fail for the same reason", CHECKPOINTS)
    latest = max(signed, key=lambda s: s.cp.size, default=None)
    if latest is None:
        report.problem("no checkpoint signed by the log key: nothing vouches for these entries", CHECKPOINTS)
    else:
        report.size, report.root = latest.cp.size, latest.cp.root
        if n > latest.cp.size:
            report.problem(
                f"entries {latest.cp.size}..{n - 1} are not covered by any signed checkpoint "
                "(added after the last checkpoint, or forged)",
                ENTRIES,
                path=f"entry {latest.cp.size}",
            )
    if earlier is not None:
        _check_since(report, tree, earlier, latest, n)
    return report


def _check_since(report: VerifyReport, tree: MerkleTree, earlier: _Signed, latest: _Signed | None, n: int) -> None:
    old = earlier.cp
    top = latest.cp if latest is not None else None
    if top is None or old.size > top.size:
        have = 0 if top is None else top.size
        report.problem(
            f"rolled back: the earlier checkpoint commits to {old.size} entries but this log's latest "
            f"checkpoint only to {have} ({old.size - have} entries gone)",
            "--since",
        )
        return
    if old.size > n:
        return  # already reported: the bundle lacks entries its own checkpoints sign
    got = tree.root(old.size)
    if got != old.root:
        report.problem(
            f"rewritten: the log's first {old.size} entries now hash to root {got.hex()}, but the earlier "
            f"checkpoint signed {old.root.hex()}",
            "--since",
        )
        return
    if old.size == 0 or top.size > n:
        return
    try:
        proof = tree.consistency_proof(old.size, top.size)
        verify_consistency(old.size, top.size, proof, old.root, top.root)
    except ProofError as exc:
        report.problem(f"consistency proof from size {old.size} to {top.size} fails: {exc}", "--since")
        return
    report.notes.append(f"consistency proof from size {old.size} to {top.size} verified ({len(proof)} hashes)")
