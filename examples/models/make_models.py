"""Make the demo line's glTF models: filler.glb, capper.glb, palletiser.glb (CC0, made here).

Each model is built from the scene's own primitive meshes (boxes and cylinders) and written
with :func:`twinverse.scene.models.model_glb`, in metres, its origin at the centre of its
footprint on the floor, the flow along +x. Light colours on purpose: the viewer tints every
model with its twin's state colour. Run it from the repository root to rewrite the files::

    python examples/models/make_models.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twinverse.scene.models import ModelPart, model_glb
from twinverse.scene.shapes import Mesh, unit_mesh

HERE = Path(__file__).resolve().parent
STEEL = (0.82, 0.84, 0.86)
WHITE = (0.92, 0.92, 0.9)
DARK = (0.35, 0.36, 0.38)


def part(shape: str, size: tuple[float, float, float], at: tuple[float, float, float]) -> Mesh:
    """A unit shape scaled to ``size`` (w, h, d) with its base centre at ``at``."""
    m = unit_mesh(shape)
    s = np.array(size, dtype=np.float32)
    normals = m.normals / s
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return Mesh((m.positions * s + np.array(at, dtype=np.float32)).astype(np.float32), normals.astype(np.float32),
                m.indices)  # fmt: skip


def filler() -> list[ModelPart]:
    """A rotary filler: a base, the bowl with its valves' ring, a conical roof, the product pipe."""
    return [
        ModelPart("base", part("box", (2.4, 0.8, 2.4), (0, 0, 0)), WHITE),
        ModelPart("bowl", part("cylinder", (2.0, 0.7, 2.0), (0, 0.8, 0)), STEEL),
        ModelPart("valves", part("cylinder", (2.3, 0.15, 2.3), (0, 1.35, 0)), DARK),
        ModelPart("roof", part("tank", (1.6, 0.7, 1.6), (0, 1.5, 0)), STEEL),
        ModelPart("pipe", part("cylinder", (0.15, 0.9, 0.15), (0.95, 1.3, -0.95)), STEEL),
    ]


def capper() -> list[ModelPart]:
    """A capper: a base, a column at the back, the capping head over the belt, a cap chute."""
    return [
        ModelPart("base", part("box", (1.4, 0.9, 1.2), (0, 0, 0)), WHITE),
        ModelPart("column", part("box", (0.3, 1.2, 0.3), (0, 0.9, -0.45)), DARK),
        ModelPart("head", part("cylinder", (0.8, 0.35, 0.8), (0, 1.5, 0)), STEEL),
        ModelPart("chute", part("box", (0.15, 0.8, 0.15), (0.45, 1.8, -0.3)), STEEL),
    ]


def palletiser() -> list[ModelPart]:
    """A palletiser: four posts, a top frame, the layer table and a loaded pallet."""
    parts = [ModelPart(f"post{k}", part("box", (0.15, 3.0, 0.15), (x, 0, z)), DARK)
             for k, (x, z) in enumerate([(-1.4, -1.4), (1.4, -1.4), (-1.4, 1.4), (1.4, 1.4)])]  # fmt: skip
    parts += [
        ModelPart("frame", part("box", (3.0, 0.15, 3.0), (0, 2.85, 0)), DARK),
        ModelPart("table", part("box", (2.4, 0.1, 2.4), (0, 1.6, 0)), STEEL),
        ModelPart("pallet", part("box", (1.2, 0.15, 1.0), (0, 0, 0)), (0.75, 0.6, 0.4)),
        ModelPart("load", part("box", (1.1, 1.0, 0.9), (0, 0.15, 0)), WHITE),
    ]
    return parts


def main() -> None:
    for name, build in (("filler", filler), ("capper", capper), ("palletiser", palletiser)):
        data = model_glb(build(), name=name, generator="twinverse examples/models/make_models.py (CC0)")
        (HERE / f"{name}.glb").write_bytes(data)
        print(f"{name}.glb: {len(data)} bytes")


if __name__ == "__main__":
    main()
