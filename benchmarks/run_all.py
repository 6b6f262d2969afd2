"""Run every benchmark script in this folder, one after another; pass --quick for smaller sizes.

Each script prints its figure beside a baseline measured in the same run. Run one alone
with ``python benchmarks/bench_<name>.py`` (``--help`` lists its options).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    args = sys.argv[1:]
    only = [a for a in args if not a.startswith("-")]
    flags = [a for a in args if a.startswith("-")]
    scripts = sorted(HERE.glob("bench_*.py"))
    if only:
        scripts = [s for s in scripts if any(o in s.stem for o in only)]
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem} {' '.join(flags)} ===", flush=True)
        t = time.perf_counter()
        rc = subprocess.call([sys.executable, str(script), *flags])
        print(f"--- {script.stem}: {time.perf_counter() - t:.0f} s{'' if rc == 0 else f', exit code {rc}'}")
        if rc:
            failed.append(script.stem)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
