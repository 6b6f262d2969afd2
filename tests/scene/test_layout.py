"""Automatic layout: left-to-right flows, branches side by side, lines in rows, no overlaps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.scene.conftest import make_plant
from twinverse.errors import ModelLoadError, NotFoundError
from twinverse.model import Placement, Plant, loads_plant
from twinverse.scene import SHAPES, Scene, build_scene, scene_dict
from twinverse.scene.layout import GAP_X, GAP_Z, PAD, ROW_GAP


def overlaps(scene: Scene) -> list[tuple[str, str]]:
    """Pairs of objects whose footprints intersect (touching edges do not count)."""
    fp = scene.footprint()
    out = []
    for i in range(len(fp)):
        hit = (fp[i, 0] < fp[:, 2] - 1e-9) & (fp[:, 0] < fp[i, 2] - 1e-9)
        hit &= (fp[i, 1] < fp[:, 3] - 1e-9) & (fp[:, 1] < fp[i, 3] - 1e-9)
        hit[: i + 1] = False
        out += [(scene.ids[i], scene.ids[j]) for j in np.flatnonzero(hit)]
    return out


def inside(rect: tuple[float, float, float, float], fp: np.ndarray) -> bool:
    eps = 1e-9
    return bool(rect[0] <= fp[0] + eps and rect[1] <= fp[1] + eps and fp[2] <= rect[2] + eps and fp[3] <= rect[3] + eps)


def test_bottling_line_reads_left_to_right(plant: Plant) -> None:
    scene = build_scene(plant)
    containers = {t.id for t in plant if plant.types[t.type].container}
    assert sorted(scene.ids) == sorted(t for t in plant.twins if t not in containers)
    assert {t for t, m in zip(scene.ids, scene.machine, strict=True) if m} == set(plant.machines())
    flow = ["depal", "c1", "rinser", "c2", "filler", "c3", "capper", "c4", "labeller", "c5", "inspector", "c6",
            "packer", "c7", "palletiser"]
    rows = [scene.index(f"bottling/line1/{m}") for m in flow]
    x = scene.position[rows, 0]
    fp = scene.footprint()[rows]
    # Each machine starts exactly one column gap after the previous one ends (one machine per column).
    np.testing.assert_allclose(fp[1:, 0] - fp[:-1, 2], GAP_X)
    assert np.all(np.diff(x) > 0)
    assert np.ptp(scene.position[rows, 2]) == 0  # a single row: no branch
    # Shapes and sizes come from the types: the filler is a 2.5 m cylinder, conveyors are belts.
    f = scene.index("bottling/line1/filler")
    assert SHAPES[scene.shape[f]] == "cylinder"
    assert scene.size[f].tolist() == [2.5, 2.2, 2.5]
    assert SHAPES[scene.shape[scene.index("bottling/line1/c1")]] == "conveyor"
    # Every feeds edge is a belt from the source's right face to the target's left face.
    link = next(lk for lk in scene.links if lk.source.endswith("/depal"))
    assert link.target.endswith("/c1")
    z = scene.position[rows[0], 2]
    assert link.points == ((fp[0, 2], z), (fp[1, 0], z))
    assert overlaps(scene) == []


def test_zones_hold_their_objects_and_nest(plant: Plant) -> None:
    scene = build_scene(plant)
    zones = {z.id: z for z in scene.zones}
    assert [z.id for z in scene.zones] == ["bottling", "bottling/utilities", "bottling/line1"]
    fp = scene.footprint()
    for i, g in enumerate(scene.groups):
        assert g is not None
        assert inside(zones[g].rect, fp[i])
        assert inside(zones["bottling"].rect, fp[i])
    for z in scene.zones:
        if z.parent is not None:
            assert inside(zones[z.parent].rect, np.array(z.rect))
            assert z.depth == zones[z.parent].depth + 1


def test_branches_stand_side_by_side() -> None:
    # a feeds b and c (two parallel machines), which both feed d.
    p = make_plant({"l": ["a", "b", "c", "d"]}, [("l/a", "l/b"), ("l/a", "l/c"), ("l/b", "l/d"), ("l/c", "l/d")])
    s = build_scene(p)
    a, b, c, d = (s.index(f"p/l/{m}") for m in "abcd")
    assert s.position[b, 0] == s.position[c, 0]
    assert abs(s.position[b, 2] - s.position[c, 2]) == pytest.approx(2.0 + GAP_Z)
    # the branch pair is centred on the line through a and d
    assert s.position[a, 2] == s.position[d, 2] == pytest.approx(0.5 * (s.position[b, 2] + s.position[c, 2]))
    assert s.position[a, 0] < s.position[b, 0] < s.position[d, 0]
    # belts to a branch bend at the middle of the gap
    bend = next(lk for lk in s.links if lk.target == "p/l/c")
    assert len(bend.points) == 4
    assert bend.points[1][0] == pytest.approx(0.5 * (bend.points[0][0] + bend.points[3][0]))
    assert overlaps(s) == []


def test_lines_stand_in_rows() -> None:
    p = make_plant({"l1": ["a", "b"], "l2": ["a", "b", "c"]}, [("l1/a", "l1/b"), ("l2/a", "l2/b"), ("l2/b", "l2/c")])
    s = build_scene(p)
    zones = {z.id: z.rect for z in s.zones}
    r1, r2 = zones["p/l1"], zones["p/l2"]
    assert r2[1] == pytest.approx(r1[3] + ROW_GAP)  # the second line starts one row gap below the first
    assert r1[0] == r2[0] == PAD  # both rows start at the site's margin
    assert s.position[s.index("p/l2/a"), 2] > s.position[s.index("p/l1/b"), 2]


def test_cycles_terminate_and_keep_the_forward_order() -> None:
    p = make_plant({"l": ["a", "b", "c"]}, [("l/a", "l/b"), ("l/b", "l/c"), ("l/c", "l/a")])
    s = build_scene(p)
    x = [s.position[s.index(f"p/l/{m}"), 0] for m in "abc"]
    assert x[0] < x[1] < x[2]
    back = next(lk for lk in s.links if lk.source == "p/l/c")
    assert back.points[0][0] > back.points[-1][0]  # the loop's return belt runs right to left


def test_unconnected_objects_stand_in_a_grid() -> None:
    p = make_plant({"l": [f"m{i}" for i in range(5)]})
    s = build_scene(p)
    xs = sorted(set(np.round(s.position[:, 0], 6)))
    zs = sorted(set(np.round(s.position[:, 2], 6)))
    assert (len(xs), len(zs)) == (3, 2)  # ceil(sqrt(5)) = 3 columns, 2 rows
    assert overlaps(s) == []


def test_explicit_placement_wins() -> None:
    place = {"l/b": Placement(x=100.0, y=0.5, z=40.0, rotation=90.0)}
    p = make_plant({"l": ["a", "b"]}, [("l/a", "l/b")], types={"l/b": "belt"}, placement=place)
    s = build_scene(p)
    b = s.index("p/l/b")
    assert s.position[b].tolist() == [100.0, 0.5, 40.0]
    assert s.rotation[b] == pytest.approx(math.pi / 2)
    # a 4 m x 0.8 m belt turned by 90 degrees covers 0.8 m along x and 4 m along z
    np.testing.assert_allclose(s.footprint()[b], [99.6, 38.0, 100.4, 42.0], atol=1e-9)
    zone = next(z for z in s.zones if z.id == "p/l")
    assert inside(zone.rect, s.footprint()[b])
    # the belt into b enters its left face, which now faces +z
    link = s.links[0]
    assert link.points[-1] == pytest.approx((100.0, 42.0))


def test_empty_plant_has_a_floor_and_no_objects() -> None:
    s = build_scene(make_plant({}))
    assert len(s) == 0
    assert [z.id for z in s.zones] == ["p"]
    x0, z0, x1, z1 = s.bounds
    assert x1 > x0 and z1 > z0
    body = scene_dict(s)
    assert body["objects"]["count"] == 0 and body["links"]["source"] == []


def test_unknown_shape_and_bad_size_name_the_yaml_line() -> None:
    text = """plant: p
types:
  base: {shape: pyramid}
  m: {extends: base}
  n: {size: [1, 0, 1]}
twins:
  - {id: a, type: m}
  - {id: b, type: n}
"""
    plant = loads_plant(text, "plant.yaml")
    with pytest.raises(ModelLoadError) as err:
        build_scene(plant)
    problems = [str(p) for p in err.value.details]
    assert problems == [
        "plant.yaml:3: types.base.shape: unknown shape 'pyramid' (known shapes: box, cylinder, conveyor, tank)",
        "plant.yaml:5: types.n.size: size must be three positive lengths [w, h, d] in metres, got [1.0, 0.0, 1.0]",
    ]


def test_index_of_a_container_is_not_found(plant: Plant) -> None:
    with pytest.raises(NotFoundError, match="not an object"):
        build_scene(plant).index("bottling/line1")


def test_scene_dict_is_column_wise_and_versioned(plant: Plant) -> None:
    s = build_scene(plant)
    body = scene_dict(s)
    o = body["objects"]
    assert o["count"] == len(s) == len(o["id"]) == len(o["x"]) == len(o["rotation"])
    i = o["id"].index("bottling/line1/filler")
    assert [o["x"][i], o["y"][i], o["z"][i]] == s.position[s.index("bottling/line1/filler")].tolist()
    assert body["version"] == scene_dict(build_scene(plant))["version"]
    moved = make_plant({"l": ["a"]})
    assert scene_dict(build_scene(moved))["version"] != body["version"]


@st.composite
def graphs(draw: st.DrawFn) -> tuple[dict[str, list[str]], list[tuple[str, str]], dict[str, str]]:
    nlines = draw(st.integers(1, 3))
    lines = {f"l{k}": [f"m{i}" for i in range(draw(st.integers(0, 12)))] for k in range(nlines)}
    edges: list[tuple[str, str]] = []
    kinds: dict[str, str] = {}
    for line, members in lines.items():
        for m in members:
            kinds[f"{line}/{m}"] = draw(st.sampled_from(["machine", "belt", "filler", "tank", "pump"]))
        if len(members) > 1:
            pairs = st.tuples(st.integers(0, len(members) - 1), st.integers(0, len(members) - 1))
            for a, b in draw(st.lists(pairs, max_size=2 * len(members))):
                if a != b:
                    edges.append((f"{line}/{members[a]}", f"{line}/{members[b]}"))
    all_twins = [f"{ln}/{m}" for ln, ms in lines.items() for m in ms]
    if len(all_twins) > 1:  # a few edges across lines
        for a, b in draw(st.lists(st.tuples(st.sampled_from(all_twins), st.sampled_from(all_twins)), max_size=3)):
            if a != b:
                edges.append((a, b))
    return lines, sorted(set(edges)), kinds


@settings(max_examples=60, deadline=None)
@given(graphs(), st.booleans())
def test_layout_invariants(g: tuple[dict[str, list[str]], list[tuple[str, str]], dict[str, str]], area: bool) -> None:
    lines, edges, kinds = g
    p = make_plant(lines, edges, types=kinds, area="a" if area else None)
    s = build_scene(p)
    # every non-container twin exactly once, and nothing overlaps
    assert sorted(s.ids) == sorted(t for t in p.twins if not p.types[p.twins[t].type].container)
    assert overlaps(s) == []
    # every object inside its container's zone, every zone inside its parent's
    zones = {z.id: z for z in s.zones}
    fp = s.footprint()
    for i, grp in enumerate(s.groups):
        assert grp is not None and inside(zones[grp].rect, fp[i])
    for z in s.zones:
        if z.parent is not None:
            assert inside(zones[z.parent].rect, np.array(z.rect))
    # one belt per feeds edge, starting at its source's right face and ending at its target's left face
    assert len(s.links) == len(edges)
    for lk in s.links:
        a, b = s.index(lk.source), s.index(lk.target)
        assert lk.points[0] == pytest.approx((fp[a, 2], s.position[a, 2]))
        assert lk.points[-1] == pytest.approx((fp[b, 0], s.position[b, 2]))
    # deterministic
    again = build_scene(p)
    np.testing.assert_array_equal(again.position, s.position)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 15), st.data())
def test_acyclic_flows_run_left_to_right(n: int, data: st.DataObject) -> None:
    members = [f"m{i}" for i in range(n)]
    pairs = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=1, max_size=3 * n))
    edges = sorted({(f"l/m{min(a, b)}", f"l/m{max(a, b)}") for a, b in pairs if a != b})
    s = build_scene(make_plant({"l": members}, edges))
    fp = s.footprint()
    for a, b in edges:
        i, j = s.index(f"p/{a}"), s.index(f"p/{b}")
        # the target's column starts at least one gap right of the source's column end
        assert fp[j, 0] >= fp[i, 2] + GAP_X - 1e-9
