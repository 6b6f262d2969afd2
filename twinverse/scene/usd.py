"""Write a laid-out plant as OpenUSD (``.usda`` text, ``.usd`` binary crate, ``.usdz`` package).

The stage is built from the glTF document of the same scene (:func:`scene_gltf`), node by
node, so both exports hold the same objects with the same transforms: every glTF node is an
``Xform`` prim (its mesh, if any, a child ``Mesh`` named ``geom``), in the same tree. USD
is Z-up here (``upAxis = Z``, ``metersPerUnit = 1``): a glTF point ``(x, y, z)`` (Y-up)
is ``(x, -z, y)``, a yaw about glTF +y is a rotation about USD +Z.

Model kinds: the plant root and every container are ``assembly``, every object (a twin that
is not a container) is a ``component``. A twin's prim carries its id, name, type, parent
and properties as custom attributes (``twinverse:twin``, ``twinverse:property:<key>`` …).
Given history, a machine's colour (``primvars:displayColor``) follows its state and each
signal is an attribute ``twinverse:signal:<name>`` with time samples, one time code per
second from the start of the window, so a USD viewer can play the plant back.

Needs ``usd-core`` (the ``usd`` extra: ``pip install 'twinverse[usd]'``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core.clock import to_us
from ..core.states import MachineState
from ..errors import ConfigError, InputError
from ..model import Plant
from ..store import Aggregate, HistoryQuery, HistoryReader
from .gltf import scene_gltf
from .layout import Scene

__all__ = ["USD_FORMATS", "History", "gltf_to_usd_point", "history_window", "to_usd", "usd_stage"]

#: File name endings the USD export writes.
USD_FORMATS = (".usd", ".usda", ".usdz")
#: Per sid: (seconds since the window start, values), both ascending in time.
History = Mapping[int, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]


def history_window(
    plant: Plant, store: HistoryReader, start: datetime, end: datetime, *, step: timedelta = timedelta(minutes=1)
) -> History:
    """The last value per ``step`` of every signal of ``plant`` in ``[start, end)``, as :data:`History`."""
    if end <= start or step <= timedelta(0):
        raise InputError("the history window needs start < end and a positive step")
    sids = tuple(range(len(plant.signals)))
    buckets = int((end - start) / step) + 1
    table = store.history(HistoryQuery(sids, start, end, step, Aggregate.LAST, buckets * max(1, len(sids))))
    out: dict[int, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = {}
    if not table.num_rows:
        return out
    sid = np.asarray(table.column("sid").to_numpy(zero_copy_only=False), dtype=np.int64)
    ts = np.asarray(table.column("ts").cast("int64").to_numpy(zero_copy_only=False), dtype=np.int64)
    val = np.asarray(table.column("value").to_numpy(zero_copy_only=False), dtype=np.float64)
    t0 = to_us(start)
    for s in np.unique(sid).tolist():
        m = sid == s
        order = np.argsort(ts[m], kind="stable")
        out[int(s)] = ((ts[m][order] - t0) / 1e6, val[m][order])
    return out


def _pxr() -> Any:
    try:
        from pxr import Gf, Kind, Sdf, Usd, UsdGeom, UsdUtils, Vt
    except ImportError as exc:  # the optional extra is missing
        raise ConfigError("OpenUSD export needs usd-core: pip install 'twinverse[usd]'") from exc
    return Gf, Kind, Sdf, Usd, UsdGeom, UsdUtils, Vt


def gltf_to_usd_point(p: Any) -> tuple[float, float, float]:
    """A glTF (Y-up) point as a USD Z-up point: ``(x, y, z) → (x, -z, y)``."""
    return (float(p[0]), -float(p[2]), float(p[1]))


def _identifier(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return s if s and not s[0].isdigit() else "_" + s


def _hex_rgb(color: str) -> tuple[float, float, float]:
    """sRGB hex → linear RGB (USD display colours are linear)."""
    rgb = [int(color[i : i + 2], 16) / 255.0 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return (round(lin[0], 4), round(lin[1], 4), round(lin[2], 4))


def _accessor(doc: dict[str, Any], binary: bytes, index: int) -> npt.NDArray[Any]:
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    dtype, width = ("<f4", 3) if acc["type"] == "VEC3" else ("<u2", 1)
    data = np.frombuffer(binary, dtype=dtype, count=acc["count"] * width, offset=view["byteOffset"])
    return data.reshape(-1, 3) if width == 3 else data


def _yaw_degrees(rotation: list[float] | None) -> float:
    if rotation is None:
        return 0.0
    return math.degrees(2.0 * math.atan2(rotation[1], rotation[3]))


def _custom(prim: Any, Sdf: Any, name: str, value: Any) -> None:
    v: Any
    if isinstance(value, bool):
        tname, v = Sdf.ValueTypeNames.Bool, value
    elif isinstance(value, int):
        tname, v = Sdf.ValueTypeNames.Int64, value
    elif isinstance(value, float):
        tname, v = Sdf.ValueTypeNames.Double, value
    else:
        tname, v = Sdf.ValueTypeNames.String, value if isinstance(value, str) else repr(value)
    prim.CreateAttribute(name, tname, custom=True).Set(v)


def usd_stage(scene: Scene, plant: Plant, *, history: History | None = None, path: str | None = None) -> Any:
    """The scene as a ``pxr.Usd.Stage`` (in memory unless ``path`` names the root layer to create)."""
    Gf, Kind, Sdf, Usd, UsdGeom, _UsdUtils, Vt = _pxr()
    doc, binary = scene_gltf(scene)
    stage = Usd.Stage.CreateNew(path) if path is not None else Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    nodes = doc["nodes"]
    meshes = doc["meshes"]
    materials = doc["materials"]
    state_colour = {s.value: _hex_rgb(s.color) for s in MachineState}
    geom_of: dict[str, Any] = {}

    def define(index: int, parent_path: str, taken: set[str]) -> None:
        node = nodes[index]
        extras = node.get("extras", {})
        local = node["name"].rsplit("/", 1)[-1] if extras.get("twin") else node["name"]
        name, n = _identifier(local), 2
        while name in taken:
            name, n = f"{_identifier(local)}_{n}", n + 1
        taken.add(name)
        prim_path = f"{parent_path}/{name}"
        xf = UsdGeom.Xform.Define(stage, prim_path)
        prim = xf.GetPrim()
        t = node.get("translation")
        if t is not None:
            xf.AddTranslateOp().Set(Gf.Vec3d(*gltf_to_usd_point(t)))
        yaw = _yaw_degrees(node.get("rotation"))
        if yaw:
            xf.AddRotateZOp().Set(yaw)
        s = node.get("scale")
        if s is not None:
            xf.AddScaleOp().Set(Gf.Vec3f(float(s[0]), float(s[2]), float(s[1])))
        role = extras.get("role")
        twin = extras.get("twin") if role != "zone" else None
        if parent_path == "" or role == "container":
            Usd.ModelAPI(prim).SetKind(Kind.Tokens.assembly)
        elif role in ("machine", "equipment"):
            Usd.ModelAPI(prim).SetKind(Kind.Tokens.component)
        _custom(prim, Sdf, "twinverse:gltfNode", node["name"])
        if role is not None:
            _custom(prim, Sdf, "twinverse:role", role)
        if twin is not None and twin in plant.twins:
            tw = plant.twins[twin]
            _custom(prim, Sdf, "twinverse:twin", tw.id)
            _custom(prim, Sdf, "twinverse:name", tw.name)
            _custom(prim, Sdf, "twinverse:type", tw.type)
            if tw.parent is not None:
                _custom(prim, Sdf, "twinverse:parent", tw.parent)
            for key, value in tw.properties.items():
                _custom(prim, Sdf, f"twinverse:property:{_identifier(key)}", value)
        if "mesh" in node:
            m = meshes[node["mesh"]]
            prim_spec = m["primitives"][0]
            pos = _accessor(doc, binary, prim_spec["attributes"]["POSITION"])
            nor = _accessor(doc, binary, prim_spec["attributes"]["NORMAL"])
            idx = _accessor(doc, binary, prim_spec["indices"])
            geom = UsdGeom.Mesh.Define(stage, f"{prim_path}/geom")
            pts = np.stack([pos[:, 0], -pos[:, 2], pos[:, 1]], axis=1).astype(np.float32)
            nrm = np.stack([nor[:, 0], -nor[:, 2], nor[:, 1]], axis=1).astype(np.float32)
            geom.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(pts))
            geom.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(nrm))
            geom.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
            geom.CreateFaceVertexCountsAttr(Vt.IntArray([3] * (len(idx) // 3)))
            geom.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(idx.astype(np.int32)))
            geom.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            geom.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))]))
            rgb = materials[prim_spec["material"]]["pbrMetallicRoughness"]["baseColorFactor"][:3]
            geom.CreateDisplayColorAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, rgb))]))
            if twin is not None:
                geom_of[twin] = geom
        kid_names: set[str] = set()
        for child in node.get("children", []):
            define(child, prim_path, kid_names)

    root_index = doc["scenes"][0]["nodes"][0]
    define(root_index, "", set())
    root = stage.GetPseudoRoot().GetChildren()[0]
    stage.SetDefaultPrim(root)
    stage.GetRootLayer().customLayerData = {"twinverse:plant": plant.id, "twinverse:generator": "twinverse"}
    if history:
        _time_samples(stage, plant, history, geom_of, state_colour, Sdf, Gf, Vt)
    return stage


def _time_samples(
    stage: Any,
    plant: Plant,
    history: History,
    geom_of: Mapping[str, Any],
    state_colour: Mapping[str, tuple[float, float, float]],
    Sdf: Any,
    Gf: Any,
    Vt: Any,
) -> None:
    end = 0.0
    for sid, (t, v) in history.items():
        twin, signal = plant.signals.describe(sid)
        geom = geom_of.get(twin)
        if geom is None or not len(t):
            continue
        end = max(end, float(t[-1]))
        prim = geom.GetPrim().GetParent()
        sig = plant.signals.signal[sid]
        attr = prim.CreateAttribute(f"twinverse:signal:{_identifier(signal)}", Sdf.ValueTypeNames.Double, custom=True)
        for ti, vi in zip(t.tolist(), v.tolist(), strict=True):
            attr.Set(float(vi), float(ti))
        if signal == "state" and sig.states is not None:
            colour = geom.GetDisplayColorAttr()
            for ti, vi in zip(t.tolist(), v.tolist(), strict=True):
                code = int(vi) if math.isfinite(vi) else -1
                name = sig.states[code] if 0 <= code < len(sig.states) else "off"
                state = MachineState.parse(name)
                rgb = state_colour[state.value] if state is not None else state_colour["off"]
                colour.Set(Vt.Vec3fArray([Gf.Vec3f(*rgb)]), float(ti))
    stage.SetStartTimeCode(0.0)
    stage.SetEndTimeCode(end)
    stage.SetTimeCodesPerSecond(1.0)


def to_usd(scene: Scene, plant: Plant, out: Path, *, history: History | None = None) -> int:
    """Write the scene to ``out`` (``.usda``, ``.usd`` or ``.usdz`` by its ending); returns its size in bytes."""
    _Gf, _Kind, _Sdf, _Usd, _UsdGeom, UsdUtils, _Vt = _pxr()
    suffix = out.suffix.lower()
    if suffix not in USD_FORMATS:
        raise InputError(f"{out}: use a .usd, .usda or .usdz file name")
    target = out.with_suffix(".usdc") if suffix == ".usdz" else out
    try:
        stage = usd_stage(scene, plant, history=history, path=str(target))
        stage.GetRootLayer().Save()
        if suffix == ".usdz":
            if not UsdUtils.CreateNewUsdzPackage(str(target), str(out)):
                raise InputError(f"{out}: could not write the USDZ package")
            target.unlink()
    except Exception as exc:  # pxr raises Tf.ErrorException (and RuntimeError) for I/O failures
        if isinstance(exc, InputError | ConfigError):
            raise
        raise InputError(f"{out}: cannot write: {exc}") from exc
    return out.stat().st_size
