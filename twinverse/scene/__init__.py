"""The 3D scene of a plant: automatic layout, glTF 2.0 export and time travel.

>>> from twinverse.model import load_plant
>>> from twinverse.platform import example_path
>>> scene = build_scene(load_plant(example_path("bottling.yaml")))
>>> scene.ids[scene.index("bottling/line1/filler")]
'bottling/line1/filler'
>>> to_glb(scene)[:4]
b'glTF'
"""

from __future__ import annotations

from .gltf import scene_gltf, to_glb, to_gltf, type_color
from .layout import Link, Scene, Zone, build_scene, scene_dict
from .shapes import DEFAULT_SIZES, SHAPES, Mesh, unit_mesh
from .timetravel import SignalSet, state_at
from .usd import USD_FORMATS, history_window, to_usd, usd_stage

__all__ = [
    "DEFAULT_SIZES",
    "SHAPES",
    "USD_FORMATS",
    "Link",
    "Mesh",
    "Scene",
    "SignalSet",
    "Zone",
    "build_scene",
    "history_window",
    "scene_dict",
    "scene_gltf",
    "state_at",
    "to_glb",
    "to_gltf",
    "to_usd",
    "type_color",
    "unit_mesh",
    "usd_stage",
]
