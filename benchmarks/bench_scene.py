"""Scene generation: layout and glTF export time and size for 100, 1,000 and 10,000 machines.

Plants of lines of 100 machines each (one ``feeds`` chain per line, four shapes), built
in memory. For each size:

- baseline (time): loading the same plant model from its YAML (parse, validate, resolve),
  the work every server start already pays;
- twinverse: ``build_scene`` (layout), ``to_glb``, ``to_gltf`` and the layout JSON;
- baseline (size): the same scene written with one copy of the mesh per machine, as a
  naive exporter does, against ours with one shared mesh per shape and type.

Run: ``python benchmarks/bench_scene.py`` (100, 1,000, 10,000) or ``--quick`` (100, 1,000).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import table
from twinverse.model import loads_plant
from twinverse.scene import SHAPES, Scene, build_scene, scene_dict, scene_gltf, to_glb, to_gltf, unit_mesh
from twinverse.scene.gltf import _Writer

SHAPE_TYPES = {"box": "press", "cylinder": "filler", "conveyor": "belt", "tank": "tank"}


def plant_yaml(machines: int, per_line: int = 100) -> str:
    types = "\n".join(
        f"  {t}: {{signals: {{state: {{kind: state, states: [running, idle, down]}}}}, shape: {s}}}"
        for s, t in SHAPE_TYPES.items()
    )
    lines = []
    names = list(SHAPE_TYPES.values())
    for k in range(1, machines // per_line + 1):
        kids = "\n".join(f"      - {{id: m{i}, type: {names[i % 4]}}}" for i in range(1, per_line + 1))
        flow = ", ".join(f"m{i}" for i in range(1, per_line + 1))
        lines.append(f"  - id: l{k}\n    type: line\n    flow: [{flow}]\n    children:\n{kids}")
    return f"plant: bench\ntypes:\n{types}\ntwins:\n" + "\n".join(lines) + "\n"


def naive_glb_size(scene: Scene) -> int:
    """Size of the JSON and binary of the scene with a private mesh copy per machine."""
    doc, _ = scene_gltf(scene)
    w = _Writer()
    meshes: list[dict[str, Any]] = []
    for node in doc["nodes"]:
        if node.get("extras", {}).get("role") in ("machine", "equipment"):
            shape = SHAPES[scene.shape[scene.index(node["name"])]]
            meshes.append({"primitives": [{**w.mesh(unit_mesh(shape)), "material": 0}]})
            node["mesh"] = len(meshes) - 1
    doc.update(meshes=meshes, accessors=w.accessors, bufferViews=w.views, buffers=[{"byteLength": len(w.bin)}])
    return len(orjson.dumps(doc)) + len(w.bin) + 28


def best(fn: Any, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100 and 1,000 machines only")
    args = ap.parse_args()
    sizes = [100, 1000] if args.quick else [100, 1000, 10_000]
    rows = []
    for n in sizes:
        text = plant_yaml(n)
        repeat = 3 if n <= 1000 else 2
        t_model, plant = best(lambda text=text: loads_plant(text), repeat)
        t_layout, scene = best(lambda plant=plant: build_scene(plant), repeat)
        t_glb, glb = best(lambda scene=scene: to_glb(scene), repeat)
        t_gltf, gltf = best(lambda scene=scene: to_gltf(scene), repeat)
        t_json, js = best(lambda scene=scene: orjson.dumps(scene_dict(scene)), repeat)
        naive = naive_glb_size(scene)
        rows.append((
            f"{n:,}",
            f"{t_model * 1e3:.0f}",
            f"{t_layout * 1e3:.0f}",
            f"{t_glb * 1e3:.0f}",
            f"{t_gltf * 1e3:.0f}",
            f"{t_json * 1e3:.0f}",
            f"{(t_layout + t_glb) / t_model:.2f}x",
            f"{len(glb) / 1e6:.2f}",
            f"{len(gltf) / 1e6:.2f}",
            f"{len(js) / 1e6:.2f}",
            f"{naive / 1e6:.2f}",
            f"{naive / len(glb):.1f}x",
        ))
    print(table(rows, ("machines", "model load ms (baseline)", "layout ms", "glb ms", "gltf ms", "layout json ms",
                       "layout+glb / model load", "glb MB", "gltf MB", "json MB", "naive glb MB (baseline)",
                       "naive / ours")))


if __name__ == "__main__":
    main()
