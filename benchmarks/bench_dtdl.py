"""DTDL: agreement with DTDLParser per folder, and RealEstateCore parse/resolve/export/re-parse times.

1. The DTDLParser conformance cases (``../shared/data/dtdl/dtdlparser-cases``): per folder,
   how many cases get DTDLParser's valid/invalid verdict, and how many invalid cases get its
   first ``ValidationID``; the issue's targets are 99 % and 95 %.
2. RealEstateCore (767 DTDL v3 files, ``../shared/data/dtdl/realestatecore``): read + parse
   (with validation), resolve every interface's inherited contents, export the model set
   back to DTDL, re-parse the export (checked equal), and import as twin types — beside the
   baseline of the same run: plain ``json.load`` of the same files. Best of ``--repeat``.

Run: ``python benchmarks/bench_dtdl.py`` (``--data DIR`` if ../shared/data is elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import ROOT, table
from twinverse.interop.dtdl import import_interfaces, modelset_to_dtdl, parse_models, read_dtdl_files
from twinverse.interop.dtdl.conformance import run_cases, score

DEFAULT_DATA = Path(os.environ.get("TWINVERSE_SHARED_DATA") or ROOT / ".." / "shared" / "data")


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def agreement(cases: Path) -> None:
    t = time.perf_counter()
    results = run_cases(cases)
    elapsed = time.perf_counter() - t
    rows = [
        (
            s.folder,
            str(s.cases),
            f"{s.same_verdict} ({100 * s.verdict_rate:.1f} %)",
            str(s.with_id),
            f"{s.same_id} ({100 * s.id_rate:.1f} %)",
        )
        for s in score(results)
    ]
    print(f"DTDLParser conformance cases: {len(results)} in {elapsed:.2f} s (targets: 99 % verdict, 95 % first id)")
    print(table(rows, ("folder", "cases", "same verdict", "invalid with id", "same first ValidationID")))


def realestatecore(folder: Path, repeat: int) -> None:
    files = sorted(folder.rglob("*.json"))

    def baseline() -> list[Any]:
        out = []
        for f in files:
            with f.open(encoding="utf-8-sig") as fh:
                out.append(json.load(fh))
        return out

    t_json, _ = best(baseline, repeat)
    t_read, docs = best(lambda: read_dtdl_files([folder]), repeat)
    t_parse, ms = best(lambda: parse_models(docs), repeat)
    t_resolve, resolved = best(lambda: {i.id: ms.contents(i.id) for i in ms.interfaces()}, repeat)
    t_export, exported = best(lambda: modelset_to_dtdl(ms), repeat)
    t_reparse, again = best(lambda: parse_models(exported), repeat)
    t_import, imported = best(lambda: import_interfaces(docs, plant_id="rec"), repeat)
    equal = again.as_dict() == ms.as_dict()
    inherited = sum(len(v) for v in resolved.values())
    print(
        f"\nRealEstateCore: {len(files)} files, {len(ms.interfaces())} interfaces, {len(ms)} elements, "
        f"{inherited} resolved contents; re-parse equal: {equal}; best of {repeat}"
    )
    rows = [
        ("baseline: json.load of every file", f"{1000 * t_json:.1f}", "1.0"),
        ("read files (json) ", f"{1000 * t_read:.1f}", f"{t_read / t_json:.1f}"),
        ("parse + validate", f"{1000 * t_parse:.1f}", f"{t_parse / t_json:.1f}"),
        ("resolve inherited contents", f"{1000 * t_resolve:.1f}", f"{t_resolve / t_json:.1f}"),
        ("export to DTDL", f"{1000 * t_export:.1f}", f"{t_export / t_json:.1f}"),
        ("re-parse the export", f"{1000 * t_reparse:.1f}", f"{t_reparse / t_json:.1f}"),
        (f"import as {len(imported.doc['types'])} twin types", f"{1000 * t_import:.1f}", f"{t_import / t_json:.1f}"),
    ]
    print(table(rows, ("step", "ms", "× baseline")))
    if not equal:
        raise SystemExit("the re-parsed export differs from the parsed ontology")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="The shared data folder (holds dtdl/).")
    ap.add_argument("--repeat", type=int, default=5, help="Repeats of each RealEstateCore step (best is shown).")
    ap.add_argument("--quick", action="store_true", help="One repeat.")
    args = ap.parse_args()
    dtdl = args.data / "dtdl"
    if not dtdl.is_dir():
        print(f"no DTDL data at {dtdl}: pass --data", file=sys.stderr)
        return 1
    agreement(dtdl / "dtdlparser-cases")
    realestatecore(dtdl / "realestatecore", 1 if args.quick else args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
