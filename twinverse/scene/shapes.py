"""Parametric shapes of scene objects: unit meshes and sensible default sizes.

Every shape is a mesh in *unit space*: x and z span ``[-0.5, 0.5]`` and y spans
``[0, 1]``, so a node scaled by the object's size ``(w, h, d)`` stands on the floor with
its footprint centred on its position. The browser viewer builds the same shapes with
three.js (``web/src/shapes.js``); the glTF export uses the meshes made here.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

__all__ = ["DEFAULT_SIZES", "SHAPES", "Mesh", "unit_mesh"]

#: Shapes a twin type may name, in a fixed order (the layout JSON refers to them by index).
SHAPES: tuple[str, ...] = ("box", "cylinder", "conveyor", "tank")

#: Size ``(w, h, d)`` in metres — along the flow (x), height (y), across (z) — per shape
#: when the type gives none: a machine cabinet, a rotary machine, a belt section, a vessel.
DEFAULT_SIZES: MappingProxyType[str, tuple[float, float, float]] = MappingProxyType(
    {
        "box": (2.0, 2.0, 2.0),
        "cylinder": (2.0, 2.0, 2.0),
        "conveyor": (4.0, 0.9, 0.8),
        "tank": (2.0, 3.0, 2.0),
    }
)

_SEGMENTS = 24


@dataclass(frozen=True)
class Mesh:
    """Indexed triangles: float32 positions and normals ``(n, 3)``, uint16 indices ``(m,)``."""

    positions: npt.NDArray[np.float32]
    normals: npt.NDArray[np.float32]
    indices: npt.NDArray[np.uint16]

    @staticmethod
    def concat(parts: list[Mesh]) -> Mesh:
        """One mesh holding all ``parts`` (indices shifted)."""
        offsets = np.cumsum([0] + [len(p.positions) for p in parts[:-1]])
        return Mesh(
            np.concatenate([p.positions for p in parts]).astype(np.float32),
            np.concatenate([p.normals for p in parts]).astype(np.float32),
            np.concatenate([p.indices.astype(np.int64) + o for p, o in zip(parts, offsets, strict=True)]).astype(
                np.uint16
            ),
        )


def _box(lo: tuple[float, float, float], hi: tuple[float, float, float]) -> Mesh:
    """An axis-aligned box with flat-shaded faces (4 vertices each, outward normals)."""
    x0, y0, z0 = lo
    x1, y1, z1 = hi
    faces = [  # four corners counter-clockwise seen from outside, and the normal
        ([(x1, y0, z1), (x1, y0, z0), (x1, y1, z0), (x1, y1, z1)], (1, 0, 0)),
        ([(x0, y0, z0), (x0, y0, z1), (x0, y1, z1), (x0, y1, z0)], (-1, 0, 0)),
        ([(x0, y1, z1), (x1, y1, z1), (x1, y1, z0), (x0, y1, z0)], (0, 1, 0)),
        ([(x0, y0, z0), (x1, y0, z0), (x1, y0, z1), (x0, y0, z1)], (0, -1, 0)),
        ([(x0, y0, z1), (x1, y0, z1), (x1, y1, z1), (x0, y1, z1)], (0, 0, 1)),
        ([(x1, y0, z0), (x0, y0, z0), (x0, y1, z0), (x1, y1, z0)], (0, 0, -1)),
    ]
    pos = np.array([c for corners, _ in faces for c in corners], dtype=np.float32)
    nor = np.repeat(np.array([n for _, n in faces], dtype=np.float32), 4, axis=0)
    quad = np.array([0, 1, 2, 0, 2, 3], dtype=np.uint16)
    idx = np.concatenate([quad + 4 * i for i in range(6)]).astype(np.uint16)
    return Mesh(pos, nor, idx)


def _cylinder(y0: float, y1: float, radius: float = 0.5, cone_to: float | None = None) -> Mesh:
    """A capped vertical cylinder; with ``cone_to`` a conical roof up to that height."""
    a = np.linspace(0.0, 2.0 * np.pi, _SEGMENTS + 1)
    cx, sz = np.cos(a) * radius, -np.sin(a) * radius  # -sin: counter-clockwise seen from +y
    ring = np.stack([cx, np.zeros_like(cx), sz], axis=1)
    side_pos = np.concatenate([ring + np.array([0.0, y0, 0.0]), ring + np.array([0.0, y1, 0.0])]).astype(np.float32)
    side_nor = np.concatenate([ring, ring]).astype(np.float32) / radius
    s = _SEGMENTS + 1
    side_idx = []
    for i in range(_SEGMENTS):
        side_idx += [i, i + 1, s + i + 1, i, s + i + 1, s + i]
    parts = [Mesh(side_pos, side_nor, np.array(side_idx, dtype=np.uint16))]
    # bottom cap (normal -y)
    bot = np.concatenate([[[0, y0, 0]], ring[:-1] + np.array([0.0, y0, 0.0])]).astype(np.float32)
    bot_idx = [v for i in range(_SEGMENTS) for v in (0, 1 + (i + 1) % _SEGMENTS, 1 + i)]
    down = np.tile(np.array([0.0, -1.0, 0.0], np.float32), (len(bot), 1))
    parts.append(Mesh(bot, down, np.array(bot_idx, dtype=np.uint16)))
    if cone_to is None:
        top = np.concatenate([[[0, y1, 0]], ring[:-1] + np.array([0.0, y1, 0.0])]).astype(np.float32)
        top_idx = [v for i in range(_SEGMENTS) for v in (0, 1 + i, 1 + (i + 1) % _SEGMENTS)]
        up = np.tile(np.array([0.0, 1.0, 0.0], np.float32), (len(top), 1))
        parts.append(Mesh(top, up, np.array(top_idx, dtype=np.uint16)))
    else:
        # Cone: one apex vertex per segment so each facet keeps its own normal.
        slope = radius / (cone_to - y1)
        pos: list[npt.NDArray[np.float64]] = []
        nor: list[npt.NDArray[np.float64]] = []
        idx: list[int] = []
        for i in range(_SEGMENTS):
            mid = 0.5 * (a[i] + a[i + 1])
            n = np.array([np.cos(mid), slope, -np.sin(mid)])
            n /= np.linalg.norm(n)
            base = len(pos)
            pos += [ring[i] + (0.0, y1, 0.0), ring[i + 1] + (0.0, y1, 0.0), np.array([0.0, cone_to, 0.0])]
            nor += [n, n, n]
            idx += [base, base + 1, base + 2]
        parts.append(Mesh(np.array(pos, np.float32), np.array(nor, np.float32), np.array(idx, np.uint16)))
    return Mesh.concat(parts)


def _conveyor() -> Mesh:
    """A belt on a frame with four legs: the belt is the top 18 % of the height."""
    parts = [_box((-0.5, 0.82, -0.45), (0.5, 1.0, 0.45))]  # belt
    parts += [_box((-0.5, 0.78, z0), (0.5, 1.0, z0 + 0.05)) for z0 in (-0.5, 0.45)]  # side rails
    for x in (-0.45, 0.4):
        for z in (-0.45, 0.37):
            parts.append(_box((x, 0.0, z), (x + 0.05, 0.82, z + 0.08)))  # legs
    return Mesh.concat(parts)


def unit_mesh(shape: str) -> Mesh:
    """The unit-space mesh of ``shape`` (one of :data:`SHAPES`)."""
    if shape == "box":
        return _box((-0.5, 0.0, -0.5), (0.5, 1.0, 0.5))
    if shape == "cylinder":
        return _cylinder(0.0, 1.0)
    if shape == "conveyor":
        return _conveyor()
    if shape == "tank":
        return _cylinder(0.0, 0.85, cone_to=1.0)
    raise ValueError(f"unknown shape {shape!r} (known: {', '.join(SHAPES)})")


def quad() -> Mesh:
    """A unit floor square (x, z in ``[-0.5, 0.5]``, y = 0) facing up."""
    pos = np.array([(-0.5, 0, 0.5), (0.5, 0, 0.5), (0.5, 0, -0.5), (-0.5, 0, -0.5)], dtype=np.float32)
    nor = np.tile(np.array([0.0, 1.0, 0.0], np.float32), (4, 1))
    return Mesh(pos, nor, np.array([0, 1, 2, 0, 2, 3], dtype=np.uint16))
