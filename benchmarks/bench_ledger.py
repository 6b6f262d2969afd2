"""Transparency-log throughput, proof latency and offline verification time.

Prints, in one run:

- the raw ``hashlib`` SHA-256 rate over 200-byte entries (the baseline: every append hashes
  its leaf and, on average, one interior node, so hashing alone caps appends at about half
  of it);
- appends/s through :class:`~twinverse.trust.Ledger` (SQLite WAL, Merkle tree, one Ed25519
  checkpoint signature per batch) for batches of 1, 100 and 10,000 entries, with the
  durable default ``synchronous=FULL`` and with ``NORMAL``;
- inclusion and consistency proof generation and verification at 1M entries;
- ``verify_bundle`` time for an exported 1M-entry log;
- :meth:`~twinverse.trust.Ledger.entries_by_action` (how the history sealer and its
  verifier read the log back) over that log with one matching entry in 100: a full scan
  hashing every candidate against its leaf, and a newest-first look for the latest match.

Targets (issue 6): >= 20,000 appends/s, proofs < 1 ms.

    .venv/bin/python benchmarks/bench_ledger.py          # full sizes (about 1-2 minutes)
    .venv/bin/python benchmarks/bench_ledger.py --quick  # smoke test (seconds)
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from twinverse.trust.bundle import export_bundle, verify_bundle
from twinverse.trust.identity import Keypair
from twinverse.trust.ledger import Ledger
from twinverse.trust.merkle import MerkleTree, leaf_hashes, verify_consistency, verify_inclusion
from twinverse.trust.store import SqliteTrustStore

ENTRY = 200


def entries(rng: np.random.Generator, n: int) -> list[bytes]:
    raw = rng.integers(0, 256, size=(n, ENTRY), dtype=np.uint8).tobytes()
    return [raw[i * ENTRY : (i + 1) * ENTRY] for i in range(n)]


def bench_hashlib(data: list[bytes]) -> float:
    sha = hashlib.sha256
    t0 = time.perf_counter()
    for d in data:
        sha(d).digest()
    return len(data) / (time.perf_counter() - t0)


def bench_appends(root: Path, data: list[bytes], batch: int, total: int, synchronous: str) -> float:
    d = Path(tempfile.mkdtemp(dir=root))
    log = Ledger(SqliteTrustStore(d / "t.sqlite", synchronous=synchronous), Keypair.from_seed(bytes(32)), "bench/log")
    chunks = [data[i : i + batch] for i in range(0, total, batch)]
    t0 = time.perf_counter()
    for c in chunks:
        log.append(c)
    rate = total / (time.perf_counter() - t0)
    log.store.close()
    shutil.rmtree(d)
    return rate


def bench_proofs(n: int, rng: np.random.Generator, samples: int) -> dict[str, float]:
    leaves = leaf_hashes(f"entry {i}".encode() for i in range(n))
    t0 = time.perf_counter()
    tree = MerkleTree(leaves)
    build = time.perf_counter() - t0
    root = tree.root()
    idx = rng.integers(0, n, size=samples)
    t0 = time.perf_counter()
    proofs = [tree.inclusion_proof(int(i)) for i in idx]
    gen = (time.perf_counter() - t0) / samples
    t0 = time.perf_counter()
    for i, p in zip(idx, proofs, strict=True):
        verify_inclusion(tree.leaf(int(i)), int(i), n, p, root)
    ver = (time.perf_counter() - t0) / samples
    olds = rng.integers(1, n, size=samples)
    t0 = time.perf_counter()
    cproofs = [tree.consistency_proof(int(m), n) for m in olds]
    cgen = (time.perf_counter() - t0) / samples
    old_roots = [tree.root(int(m)) for m in olds]
    t0 = time.perf_counter()
    for m, p, r in zip(olds, cproofs, old_roots, strict=True):
        verify_consistency(int(m), n, p, r, root)
    cver = (time.perf_counter() - t0) / samples
    return {"build": build, "incl_gen": gen, "incl_ver": ver, "cons_gen": cgen, "cons_ver": cver}


def bench_bundle(root: Path, data: list[bytes], n: int, batch: int) -> dict[str, float]:
    d = Path(tempfile.mkdtemp(dir=root))
    log = Ledger(SqliteTrustStore(d / "t.sqlite", synchronous="NORMAL"), Keypair.from_seed(bytes(32)), "bench/log")
    t0 = time.perf_counter()
    for i in range(0, n, batch):
        log.append([data[(i + j) % len(data)] for j in range(min(batch, n - i))])
    fill = time.perf_counter() - t0
    t0 = time.perf_counter()
    export_bundle(log, d / "bundle")
    export = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = verify_bundle(d / "bundle", key=log.verifier.key)
    verify = time.perf_counter() - t0
    assert report.ok and report.entries == n, report.problems
    size_mb = sum(f.stat().st_size for f in (d / "bundle").iterdir()) / 1e6
    log.store.close()
    shutil.rmtree(d)
    return {"fill": fill, "export": export, "verify": verify, "mb": size_mb, "checkpoints": report.checkpoints}


def bench_reader(root: Path, n: int, batch: int) -> dict[str, float]:
    d = Path(tempfile.mkdtemp(dir=root))
    log = Ledger(SqliteTrustStore(d / "t.sqlite", synchronous="OFF"), Keypair.from_seed(bytes(32)), "bench/log")
    for lo in range(0, n, batch):
        with log.transaction():
            for i in range(lo, min(n, lo + batch)):
                if i % 100 == 0:
                    log.record("history.segment.sealed", f"history:bench:{i}", details={"rows": i})
                else:
                    log.record("plant.update", f"twin:bench/{i}", details={"n": i})
    t0 = time.perf_counter()
    found = sum(1 for _ in log.entries_by_action("history.segment.sealed", "history:bench:", check_leaves=True))
    scan = time.perf_counter() - t0
    t0 = time.perf_counter()
    latest = next(log.entries_by_action("history.segment.sealed", "history:bench:", newest_first=True))
    newest = time.perf_counter() - t0
    assert found == (n + 99) // 100 and latest.index == (n - 1) // 100 * 100
    log.store.close()
    shutil.rmtree(d)
    return {"scan": scan, "newest": newest, "found": found}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke test")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # the benchmark's throwaway keys are unencrypted on purpose
    rng = np.random.default_rng(6)
    big = 50_000 if args.quick else 1_000_000
    data = entries(rng, 20_000 if args.quick else 200_000)
    root = Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    try:
        sha_rate = bench_hashlib(data)
        print(f"baseline: raw hashlib SHA-256 of {ENTRY}-byte entries: {sha_rate:,.0f} /s")
        print(f"          hashing ceiling for appends (leaf + ~1 node hash each): ~{sha_rate / 2:,.0f} /s")
        print()
        print(f"appends/s ({ENTRY}-byte entries, one signed checkpoint per batch):")
        print(f"  {'batch':>7} {'entries':>9} {'sync=FULL':>12} {'sync=NORMAL':>12}")
        plan = [(1, 500 if args.quick else 3_000), (100, 5_000 if args.quick else 50_000)]
        plan.append((10_000, 20_000 if args.quick else 200_000))
        for batch, total in plan:
            full = bench_appends(root, data, batch, min(total, len(data)), "FULL")
            normal = bench_appends(root, data, batch, min(total, len(data)), "NORMAL")
            print(f"  {batch:>7,} {min(total, len(data)):>9,} {full:>12,.0f} {normal:>12,.0f}")
        print("  target: >= 20,000 appends/s")
        print()
        p = bench_proofs(big, rng, 2_000)
        print(f"proofs at {big:,} entries (tree built in {p['build']:.2f} s from leaf hashes):")
        print(f"  inclusion:   generate {p['incl_gen'] * 1e6:7.1f} µs   verify {p['incl_ver'] * 1e6:7.1f} µs")
        print(f"  consistency: generate {p['cons_gen'] * 1e6:7.1f} µs   verify {p['cons_ver'] * 1e6:7.1f} µs")
        print("  target: < 1,000 µs")
        print()
        b = bench_bundle(root, data, big, 10_000)
        print(f"bundle of {big:,} entries ({b['mb']:.0f} MB, {b['checkpoints']} checkpoints):")
        print(f"  fill {b['fill']:.1f} s   export {b['export']:.1f} s   verify {b['verify']:.1f} s")
        print(f"  baseline: hashing {big:,} entries alone takes {big / sha_rate:.1f} s")
        print()
        r = bench_reader(root, big, 10_000)
        print(f"reader by action over {big:,} entries ({r['found']:,.0f} matching, one in 100):")
        print(f"  full scan with leaf checks {r['scan'] * 1e3:.0f} ms   newest match first {r['newest'] * 1e3:.1f} ms")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
