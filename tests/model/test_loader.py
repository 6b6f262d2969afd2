"""Plant YAML → Plant: types, extends, count/ids, flow, relationships, and located errors."""

# ruff: noqa: E501  (expected messages are compared whole, one per line)
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinverse.errors import ModelLoadError
from twinverse.model import Plant, SignalKind, load_plant, loads_plant

PLANTS = Path(__file__).parents[1] / "data" / "plants"


def errors_of(text: str) -> list[str]:
    with pytest.raises(ModelLoadError) as exc:
        loads_plant(text, name="f.yaml")
    return [str(p) for p in exc.value.details]


def file_errors(name: str) -> list[str]:
    with pytest.raises(ModelLoadError) as exc:
        load_plant(PLANTS / name)
    return [str(p) for p in exc.value.details]


# -- a line of 10 machines in ~35 lines -------------------------------------------------------
@pytest.fixture(scope="module")
def line10() -> Plant:
    return load_plant(PLANTS / "line10.yaml")


def test_line10_is_short() -> None:
    assert len((PLANTS / "line10.yaml").read_text().splitlines()) <= 40


def test_line10_twins(line10: Plant) -> None:
    line = "pack/hall/line1"
    machines = [f"{line}/m{i}" for i in range(1, 9)] + [f"{line}/sealA", f"{line}/sealB"]
    buffers = [f"{line}/b{i}" for i in range(1, 10)]
    assert list(line10.twins) == ["pack", "pack/hall", line, *machines, *buffers]
    assert line10.of_type("machine") == machines
    assert line10.of_type("sealer") == machines[-2:]
    assert line10.of_type("buffer") == buffers
    assert line10.children(line) == [*machines, *buffers]
    # count/ids name instances by their id; an explicit name would be ambiguous
    assert line10.twins[f"{line}/m3"].name == "m3"
    assert line10.twins[f"{line}/b9"].type == "buffer"


def test_line10_properties_merge(line10: Plant) -> None:
    line = "pack/hall/line1"
    assert line10.twins[f"{line}/m1"].properties == {"rated_speed": 400}
    assert line10.twins[f"{line}/sealB"].properties == {"rated_speed": 450, "zones": 4}
    assert line10.twins[f"{line}/b4"].properties == {"capacity": 300}


def test_line10_flow(line10: Plant) -> None:
    line = "pack/hall/line1"
    order = [
        "m1",
        "b1",
        "m2",
        "b2",
        "m3",
        "b3",
        "m4",
        "b4",
        "sealA",
        "b5",
        "sealB",
        "b6",
        "m5",
        "b7",
        "m6",
        "b8",
        "m7",
        "b9",
        "m8",
    ]
    feeds = [(r.source, r.target) for r in line10.relationships if r.name == "feeds"]
    assert feeds == [(f"{line}/{a}", f"{line}/{b}") for a, b in itertools.pairwise(order)]
    assert line10.downstream(f"{line}/m1") == [f"{line}/{t}" for t in order[1:]]
    assert line10.upstream(f"{line}/m8") == [f"{line}/{t}" for t in reversed(order[:-1])]
    contains = [r for r in line10.relationships if r.name == "contains"]
    assert len(contains) == len(line10.twins) - 1  # every twin but the root has a parent


def test_line10_signals(line10: Plant) -> None:
    idx = line10.signals
    assert len(idx) == 8 * 3 + 2 * 4 + 9 * 2
    assert [idx.name[s] for s in idx.of_twin("pack/hall/line1/sealA")] == [
        "state",
        "speed",
        "good_count",
        "temperature",
    ]
    assert idx.of_twin("pack/hall/line1") == range(0, 0)  # containers have no signals


# -- extends -----------------------------------------------------------------------------------
def test_extends_chain_merges_signals_power_properties() -> None:
    p = load_plant(PLANTS / "extends.yaml")
    oven = p.types["oven"]
    assert list(oven.signals) == ["state", "power", "temperature", "door_open"]
    assert oven.signals["temperature"].range == (0.0, 600.0)  # the nearest definition wins
    assert p.types["heated"].signals["temperature"].range == (0.0, 300.0)
    assert oven.signals["door_open"].kind is SignalKind.BOOL
    assert oven.signals["state"].states == ("running", "idle", "down", "off")
    assert oven.power == {"running": 15.0, "idle": 6.0, "down": 0.5, "off": 0.0}
    assert p.types["heated"].power == {"running": 15.0, "idle": 2.0, "down": 0.5, "off": 0.0}
    assert oven.properties == {"vendor": "acme", "rated_speed": 80}
    assert (oven.shape, oven.size) == ("box", (4.0, 2.0, 2.0))
    assert oven.extends == "heated"
    assert p.twins["ext/oven1"].properties == {"vendor": "acme", "rated_speed": 80, "zones": 3}
    assert p.twins["ext/oven1"].name == "Tunnel oven"
    assert p.is_a("oven", "base") and p.is_a("oven", "heated") and not p.is_a("base", "oven")
    assert p.of_type("base") == ["ext/oven1", "ext/press"]
    assert p.of_type("heated") == ["ext/oven1"]


def test_extends_a_builtin_container() -> None:
    p = loads_plant("plant: p\ntypes:\n  hall: {extends: area}\ntwins:\n  - {id: h, type: hall}\n")
    assert p.types["hall"].container
    assert p.of_type("area") == ["p/h"]


def test_builtin_types() -> None:
    p = loads_plant("plant: p\ntwins:\n  - {id: a, type: area}\n  - {id: l, type: line}\n")
    assert {"site", "area", "line", "cell", "group"} <= set(p.types)
    assert p.twins["p"].type == "site"
    assert all(p.types[t].container for t in ("site", "area", "line", "cell", "group"))


# -- instance forms ----------------------------------------------------------------------------
def test_count_ids_and_placeholders() -> None:
    text = (
        "plant: p\ntwins:\n"
        "  - {id: 'fill{n}er', type: cell, count: 2}\n"
        "  - {id: c, type: cell, count: 3}\n"
        "  - {ids: [x, y], type: cell}\n"
        "  - {id: solo, type: cell, name: The one, position: {x: 1, y: 2, rotation: 90}}\n"
    )
    p = loads_plant(text)
    assert list(p.twins) == ["p", "p/fill1er", "p/fill2er", "p/c1", "p/c2", "p/c3", "p/x", "p/y", "p/solo"]
    assert p.twins["p/solo"].name == "The one"
    placement = p.twins["p/solo"].placement
    assert placement is not None and (placement.x, placement.y, placement.z, placement.rotation) == (1, 2, 0, 90)


def test_feeds_string_list_and_relationships() -> None:
    text = (
        "plant: p\ntwins:\n"
        "  - {id: a, type: cell, feeds: [b, c]}\n"
        "  - {id: b, type: cell, feeds: c}\n"
        "  - id: c\n    type: cell\n    relationships: [{name: supplied_by, target: u/air}]\n"
        "  - id: u\n    type: area\n    children: [{id: air, type: cell}]\n"
    )
    p = loads_plant(text)
    edges = [(r.source, r.name, r.target) for r in p.relationships if r.name != "contains"]
    assert edges == [
        ("p/a", "feeds", "p/b"),
        ("p/a", "feeds", "p/c"),
        ("p/b", "feeds", "p/c"),
        ("p/c", "supplied_by", "p/u/air"),
    ]
    assert p.related("p/u/air", "supplied_by", reverse=True) == ["p/c"]


def test_flow_accepts_paths_below_the_line() -> None:
    """A flow element written as a path (line/a) resolves like any reference (was silently dropped)."""
    text = (
        "plant: p\ntwins:\n  - id: l\n    type: line\n    flow: [l/a, c]\n    children:\n"
        "      - {id: a, type: cell}\n      - {id: c, type: cell}\n"
    )
    p = loads_plant(text)
    assert [(r.source, r.target) for r in p.relationships if r.name == "feeds"] == [("p/l/a", "p/l/c")]


def test_state_named_off_stays_a_string() -> None:
    text = (
        "plant: p\ntypes:\n  m:\n    signals:\n      state: {kind: state, states: [on, off]}\n"
        "    power: {on: 2, off: 0}\ntwins:\n  - {id: m1, type: m}\n"
    )
    p = loads_plant(text)
    assert p.types["m"].signals["state"].states == ("on", "off")
    assert p.types["m"].power == {"on": 2.0, "off": 0.0}


def test_plant_metadata_and_simulation_section() -> None:
    p = loads_plant("plant: p\nname: My plant\ndescription: d\nsimulation: {horizon: 8h}\n", name="x.yaml")
    assert (p.id, p.name, p.description, p.source) == ("p", "My plant", "d", "x.yaml")
    assert p.simulation_doc == {"horizon": "8h"}
    assert p.twins["p"].name == "My plant"


def test_bottling_example(plant: Plant) -> None:
    assert plant.summary() == {
        "id": "bottling",
        "name": "Bottling plant (demo)",
        "description": "PET water line, 600 bottles/min rated, one shift pattern.",
        "twins": 19,
        "types": 16,
        "signals": 71,
        "relationships": 33,
    }
    assert len([t for t in plant.of_type("machine")]) == 8


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 60), m=st.integers(1, 5))
def test_count_makes_n_twins_with_contiguous_sids(n: int, m: int) -> None:
    sigs = "".join(f"      s{i}: {{unit: kW}}\n" for i in range(m))
    text = f"plant: p\ntypes:\n  t:\n    signals:\n{sigs}twins:\n  - {{id: x, type: t, count: {n}}}\n"
    p = loads_plant(text)
    assert len(p.twins) == n + 1
    assert len(p.signals) == n * m
    for k in range(n):
        assert p.signals.of_twin(f"p/x{k + 1}") == range(k * m, (k + 1) * m)
    assert np.array_equal(p.signals.of_twins(p.subtree("p")), np.arange(n * m, dtype=np.int32))


# -- bad input: each names file:line and the field, all problems at once ------------------------
def test_malformed_yaml() -> None:
    (msg,) = file_errors("malformed.yaml")
    assert msg.startswith(f"{PLANTS / 'malformed.yaml'}:5: YAML syntax error")
    assert "at line 4" in msg


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "unknown_type.yaml",
            "6: twins[0].children[0].type: unknown type 'filer' (known types: area, cell, group, line, site)",
        ),
        ("duplicate_id.yaml", "4: twins[1]: duplicate twin id 'p/m2' (first defined at line 3)"),
        (
            "missing_relationship.yaml",
            "9: twins[0].children[0].relationships[0].target: relationship to a missing twin: 'utilities/air' "
            "(looked in 'p/line1')",
        ),
        ("bad_unit.yaml", "5: types.pump.signals.flow.unit: unknown unit 'litres_per_fortnight'"),
        (
            "bad_state.yaml",
            "6: types.machine.power.sleeping: state 'sleeping' is not in the type's states (running, idle, down)",
        ),
        ("unknown_field.yaml", "5: twins[0].colour: unknown field 'colour'"),
        ("extends_cycle.yaml", "3: types.a.extends: type inheritance cycle: a -> c -> b -> a"),
        ("duplicate_key.yaml", "5: twins[0].type: duplicate key 'type'"),
        ("wrong_type.yaml", "3: twins[0].count: Input should be a valid integer, unable to parse string as an integer"),
    ],
)
def test_bad_plant_files(name: str, expected: str) -> None:
    assert file_errors(name) == [f"{PLANTS / name}:{expected}"]


def test_all_problems_of_a_file_at_once() -> None:
    f = PLANTS / "many_problems.yaml"
    got = file_errors("many_problems.yaml")
    assert got == [
        f"{f}:4: name: duplicate key 'name'",
        f"{f}:9: types.machine.signals.temperature.unit: unknown unit 'degreez_celsius'",
        f"{f}:10: types.machine.signals.speed.kind: Input should be 'float', 'int', 'bool' or 'state'",
        f"{f}:11: types.machine.power.sleeping: state 'sleeping' is not in the type's states (running, idle, down)",
        f"{f}:12: types.loop_a.extends: type inheritance cycle: loop_a -> loop_b -> loop_a",
        f"{f}:17: twins[0].flow[2]: relationship to a missing twin: 'm9' (looked in 'p/line1')",
        f"{f}:19: twins[0].children[0].colour: unknown field 'colour'",
        f"{f}:20: twins[0].children[1]: duplicate twin id 'p/line1/m1' (first defined at line 19)",
        f"{f}:21: twins[0].children[2].type: unknown type 'pump' "
        "(known types: area, cell, group, line, loop_a, loop_b, machine, site)",
        f"{f}:22: twins[0].children[3].feeds: relationship to a missing twin: 'nowhere' (looked in 'p/line1')",
    ]


def test_model_load_error_message() -> None:
    with pytest.raises(ModelLoadError) as exc:
        load_plant(PLANTS / "many_problems.yaml")
    assert exc.value.message.endswith("(and 9 more)")
    assert exc.value.status == 422
    assert str(exc.value).count("\n") == 9
    body = exc.value.to_problem()
    assert body["errors"][0] == {
        "message": "duplicate key 'name'",
        "file": str(PLANTS / "many_problems.yaml"),
        "line": 4,
        "path": "name",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\n", ["f.yaml:1: plant: missing required field 'plant'"]),
        ("plant: 12\n", ["f.yaml:1: plant: Input should be a valid string"]),
        ("plant: x/y\n", ["f.yaml:1: plant: plant id 'x/y' may only hold letters, digits, '_', '-', '.'"]),
        ("plant: p\ntwins: {a: 1}\n", ["f.yaml:2: twins: Input should be a valid list"]),
        ("plant: p\ntwins:\n  - just text\n", ["f.yaml:3: twins[0]: Input should be a valid dictionary"]),
        ("plant: p\ntwins:\n  - {type: cell}\n", ["f.yaml:3: twins[0]: missing required field 'id' (or 'ids')"]),
        ("plant: p\ntwins:\n  - {id: a}\n", ["f.yaml:3: twins[0].type: missing required field 'type'"]),
        (
            "plant: p\ntwins:\n  - {id: a, ids: [b], type: cell}\n",
            ["f.yaml:3: twins[0]: give either 'ids' or 'id' (with optional 'count'), not both"],
        ),
        (
            "plant: p\ntwins:\n  - {id: a, type: cell, count: 0}\n",
            ["f.yaml:3: twins[0].count: Input should be greater than or equal to 1"],
        ),
        (
            "plant: p\ntwins:\n  - {id: 'a b', type: cell}\n",
            ["f.yaml:3: twins[0].id: twin id 'a b' may only hold letters, digits, '_', '-', '.'"],
        ),
        (
            "plant: p\ntwins:\n  - {id: a, type: cell, feeds: a}\n",
            ["f.yaml:3: twins[0].feeds: twin 'p/a' cannot have a 'feeds' relationship to itself"],
        ),
        (
            "plant: p\ntwins:\n  - {id: a, type: cell, feeds: [b, zz]}\n  - {id: b, type: cell}\n",
            ["f.yaml:3: twins[0].feeds[1]: relationship to a missing twin: 'zz' (looked in 'p')"],
        ),
        (
            "plant: p\ntypes:\n  a: {extends: zzz}\n",
            ["f.yaml:3: types.a.extends: unknown type 'zzz' (declared types: a)"],
        ),
        ("plant: p\ntypes:\n  a: {extends: a}\n", ["f.yaml:3: types.a.extends: type inheritance cycle: a -> a"]),
        (
            "plant: p\ntypes:\n  m:\n    signals:\n      s: {kind: complex}\n",
            ["f.yaml:5: types.m.signals.s.kind: Input should be 'float', 'int', 'bool' or 'state'"],
        ),
        (
            "plant: p\ntypes:\n  m:\n    signals:\n      state: {kind: state}\n",
            ["f.yaml:5: types.m.signals.state: a signal of kind 'state' needs a non-empty 'states' list"],
        ),
        (
            "plant: p\ntypes:\n  m:\n    signals:\n      state: {kind: state, states: [a, a]}\n",
            ["f.yaml:5: types.m.signals.state: 'states' must not repeat a state"],
        ),
        (
            "plant: p\ntypes:\n  m:\n    signals:\n      s: {states: [a]}\n",
            ["f.yaml:5: types.m.signals.s: 'states' is only allowed on signals of kind 'state'"],
        ),
        (
            "plant: p\ntypes:\n  m:\n    signals:\n      s: {range: [5, 1]}\n",
            ["f.yaml:5: types.m.signals.s.range: range must be [low, high] with low <= high, got [5.0, 1.0]"],
        ),
        (
            "plant: p\ntypes:\n  m:\n    signals:\n      s: {range: [5]}\n",
            ["f.yaml:5: types.m.signals.s.range[1]: missing item [1]"],
        ),
        (
            "plant: p\ntypes:\n  m:\n    signals:\n      s: {unit: '1/0'}\n      t: {unit: 'meter)'}\n",
            [
                "f.yaml:5: types.m.signals.s.unit: unknown unit '1/0'",
                "f.yaml:6: types.m.signals.t.unit: unknown unit 'meter)'",
            ],
        ),
        (
            "plant: p\ntypes:\n  m:\n    power: {running: 1}\n",
            ["f.yaml:4: types.m.power: power per state needs a signal 'state' of kind state"],
        ),
        (
            "plant: p\ntypes:\n  m:\n    signals:\n      state: {kind: state, states: [running]}\n    power: {running: -1}\n",
            ["f.yaml:6: types.m.power.running: power must be >= 0 kW, got -1.0"],
        ),
        (
            "plant: p\ntypes:\n  m:\n    signals:\n      s: {colour: red}\n",
            ["f.yaml:5: types.m.signals.s.colour: unknown field 'colour'"],
        ),
        ("plant: p\ncolour: red\n", ["f.yaml:2: colour: unknown field 'colour'"]),
    ],
)
def test_bad_input(text: str, expected: list[str]) -> None:
    assert errors_of(text) == expected


def test_redefined_states_must_cover_inherited_power() -> None:
    text = (
        "plant: p\ntypes:\n  m:\n    signals:\n      state: {kind: state, states: [running, idle]}\n"
        "    power: {running: 3, idle: 1}\n  n:\n    extends: m\n    signals:\n"
        "      state: {kind: state, states: [on, off]}\n"
    )
    (msg,) = errors_of(text)
    assert msg.startswith("f.yaml:10: types.n.signals.state: inherited power entries 'running', 'idle'")


def test_no_cascading_errors() -> None:
    """A twin that cannot be built is reported once; references to it are not reported again."""
    text = (
        "plant: p\ntwins:\n"
        "  - id: l\n    type: line\n    flow: [a, b]\n    children:\n"
        "      - {id: a, type: nope}\n"
        "      - {id: b, type: cell, colour: red}\n"
        "  - {id: c, type: cell, feeds: l/a}\n"
    )
    assert errors_of(text) == [
        "f.yaml:7: twins[0].children[0].type: unknown type 'nope' (known types: area, cell, group, line, site)",
        "f.yaml:8: twins[0].children[1].colour: unknown field 'colour'",
    ]


def test_counted_twin_reports_a_missing_target_once() -> None:
    assert errors_of("plant: p\ntwins:\n  - {id: c, type: cell, count: 5, feeds: zz}\n") == [
        "f.yaml:3: twins[0].feeds: relationship to a missing twin: 'zz' (looked in 'p')"
    ]


def test_flow_reports_a_missing_element_once() -> None:
    text = (
        "plant: p\ntwins:\n  - id: l\n    type: line\n    flow: [a, b, c]\n    children:\n"
        "      - {id: a, type: cell}\n      - {id: c, type: cell}\n"
    )
    assert errors_of(text) == ["f.yaml:5: twins[0].flow[1]: relationship to a missing twin: 'b' (looked in 'p/l')"]


def test_invalid_type_is_reported_but_its_twins_are_not() -> None:
    text = "plant: p\ntypes:\n  m: 5\ntwins:\n  - {id: a, type: m}\n"
    assert errors_of(text) == ["f.yaml:3: types.m: Input should be a valid dictionary"]
