"""Model load at park scale: a plant of 100,000 twins and 1,000,000 signals.

Two spellings of the same plant: **explicit** (100 lines, each listing 1,000 machines by id:
a 3 MB file, the way an exporter or a generator writes it) and **compact** (the same
machines as ``count:`` entries). For each, in a fresh process:

- baseline: a plain YAML parse of the same text (PyYAML with libyaml, ``yaml.load``);
- twinverse: ``load_plant`` — parse with line numbers, validate, resolve, build the signal index.

Each figure is the wall time and the process's peak RSS (``ru_maxrss``, imports included).

    python benchmarks/bench_model.py [--lines 100 --machines 1000 --signals 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table

_CHILD = r"""
import json, resource, sys, time
mode, path = sys.argv[1], sys.argv[2]
text = open(path).read()
t = time.perf_counter()
if mode == "yaml":
    import yaml
    yaml.load(text, Loader=yaml.CSafeLoader)
    info = ""
else:
    from twinverse.model import load_plant
    p = load_plant(path)
    info = f"{len(p.twins):,} twins, {len(p.signals):,} signals"
dt = time.perf_counter() - t
print(json.dumps({"s": dt, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "info": info}))
"""


def plant_yaml(lines: int, machines: int, signals: int, *, compact: bool) -> str:
    out = ["plant: park", "types:", "  press:", "    signals:"]
    out += [f"      s{j}: {{unit: degC, range: [-50, 500]}}" for j in range(signals - 1)]
    out += ["      state: {kind: state, states: [off, idle, running, down]}", "twins:"]
    for line in range(lines):
        out += [f"  - id: line{line}", "    type: line", "    children:"]
        if compact:
            out.append(f"      - {{id: m, type: press, count: {machines}}}")
        else:
            out += [f"      - {{id: m{m}, type: press}}" for m in range(machines)]
    return "\n".join(out) + "\n"


def run(mode: str, path: Path) -> dict[str, float | str]:
    res = subprocess.run([sys.executable, "-c", _CHILD, mode, str(path)], capture_output=True, text=True, check=True)
    out: dict[str, float | str] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=100)
    ap.add_argument("--machines", type=int, default=1000, help="machines per line")
    ap.add_argument("--signals", type=int, default=10, help="signals per machine")
    ap.add_argument("--quick", action="store_true", help="10 lines (10,000 twins)")
    args = ap.parse_args()
    lines = 10 if args.quick else args.lines
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for compact in (False, True):
            path = Path(tmp) / ("compact.yaml" if compact else "explicit.yaml")
            path.write_text(plant_yaml(lines, args.machines, args.signals, compact=compact))
            size = f"{path.stat().st_size / 1e6:.2f} MB"
            spelling = "compact (count:)" if compact else "explicit ids"
            base = run("yaml", path)
            ours = run("twinverse", path)
            rows.append((spelling, size, "plain YAML parse (libyaml)", f"{base['s']:.2f}", f"{base['rss']:.0f}", ""))
            rows.append((spelling, size, "twinverse load_plant", f"{ours['s']:.2f}", f"{ours['rss']:.0f}",
                         str(ours["info"])))
    print(f"model load: {lines} lines x {args.machines} machines x {args.signals} signals, fresh process each")
    print(table(rows, ("spelling", "file", "what", "seconds", "peak RSS MiB", "result")))


if __name__ == "__main__":
    main()
