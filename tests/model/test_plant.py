"""Graph queries and the signal index, on the bottling example (exact answers)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinverse.errors import NotFoundError
from twinverse.model import Plant, SignalKind

L = "bottling/line1"
MACHINES = [
    f"{L}/{m}" for m in ("depal", "rinser", "filler", "capper", "labeller", "inspector", "packer", "palletiser")
]
CONVEYORS = [f"{L}/c{i}" for i in range(1, 8)]
FLOW = [MACHINES[0]] + [x for pair in zip(CONVEYORS, MACHINES[1:], strict=True) for x in pair]


def test_roots_and_children(plant: Plant) -> None:
    assert plant.roots() == ["bottling"]
    assert plant.children("bottling") == ["bottling/utilities", L]
    assert plant.children("bottling/utilities") == ["bottling/utilities/air"]
    assert plant.children(L) == MACHINES + CONVEYORS
    assert plant.children(f"{L}/filler") == []


def test_subtree_depth_first_in_model_order(plant: Plant) -> None:
    assert plant.subtree("bottling") == [
        "bottling",
        "bottling/utilities",
        "bottling/utilities/air",
        L,
        *MACHINES,
        *CONVEYORS,
    ]
    assert plant.subtree(L) == [L, *MACHINES, *CONVEYORS]
    assert plant.subtree(f"{L}/c3") == [f"{L}/c3"]


def test_ancestors(plant: Plant) -> None:
    assert plant.ancestors(f"{L}/filler") == [L, "bottling"]
    assert plant.ancestors("bottling/utilities/air") == ["bottling/utilities", "bottling"]
    assert plant.ancestors("bottling") == []


def test_upstream_downstream_along_feeds(plant: Plant) -> None:
    assert plant.downstream(FLOW[0]) == FLOW[1:]
    assert plant.upstream(FLOW[-1]) == FLOW[-2::-1]
    i = FLOW.index(f"{L}/filler")
    assert plant.downstream(f"{L}/filler") == FLOW[i + 1 :]
    assert plant.upstream(f"{L}/filler") == FLOW[i - 1 :: -1]
    assert plant.related(f"{L}/filler", "feeds") == [f"{L}/c3"]
    assert plant.related(f"{L}/filler", "feeds", reverse=True) == [f"{L}/c2"]
    assert plant.downstream("bottling/utilities/air") == []
    # other relationships are followed by name
    assert plant.upstream("bottling/utilities/air", "supplied_by") == [f"{L}/filler"]
    assert plant.downstream(f"{L}/filler", "supplied_by") == ["bottling/utilities/air"]
    assert plant.downstream("bottling", "contains")[:2] == ["bottling/utilities", L]


def test_of_type_with_subtypes(plant: Plant) -> None:
    assert plant.of_type("machine") == MACHINES
    assert plant.of_type("filler") == [f"{L}/filler"]
    assert plant.of_type("conveyor") == CONVEYORS
    assert plant.of_type("line") == [L]
    assert plant.of_type("compressor", within=L) == []
    assert plant.of_type("machine", within=f"{L}/filler") == [f"{L}/filler"]
    assert plant.of_type("no_such_type") == []
    assert plant.is_a("filler", "machine") and not plant.is_a("machine", "filler")
    assert plant.machines() == MACHINES + CONVEYORS  # everything that reports a state


def test_unknown_twin_is_not_found(plant: Plant) -> None:
    for query in (plant.children, plant.subtree, plant.ancestors, plant.downstream, plant.upstream, plant.twin):
        with pytest.raises(NotFoundError, match="no twin 'bottling/nope' in plant 'bottling'"):
            query("bottling/nope")
    with pytest.raises(NotFoundError, match="has no signal 'nope'"):
        plant.signal(f"{L}/filler", "nope")


def test_twin_dict(plant: Plant) -> None:
    d = plant.twin_dict(f"{L}/filler")
    assert d["id"] == f"{L}/filler"
    assert d["type"] == "filler"
    assert d["parent"] == L
    assert d["properties"] == {"rated_speed": 600, "valves": 60, "nominal_fill_ml": 500}
    assert d["signals"]["temperature"] == {
        "kind": "float",
        "unit": "degC",
        "range": [-10.0, 90.0],
        "description": "product temperature",
    }
    assert d["power"]["running"] == 22.0 and d["power"]["down"] == 0.8
    assert {(r["source"], r["name"], r["target"]) for r in d["relationships"]} == {
        (L, "contains", f"{L}/filler"),
        (f"{L}/c2", "feeds", f"{L}/filler"),
        (f"{L}/filler", "feeds", f"{L}/c3"),
        (f"{L}/filler", "supplied_by", "bottling/utilities/air"),
    }
    assert plant.state_names(f"{L}/filler") == ("running", "idle", "starved", "blocked", "down", "setup", "off")
    assert plant.state_names("bottling/utilities/air") is None
    assert plant.kind(f"{L}/filler", "good_count") is SignalKind.INT


# -- signal index ------------------------------------------------------------------------------
def test_signal_index_dense_and_contiguous_per_twin(plant: Plant) -> None:
    idx = plant.signals
    seen: list[int] = []
    for twin in plant.twins:
        r = idx.of_twin(twin)
        names = list(plant.type_of(twin).signals)
        assert len(r) == len(names)
        assert [idx.name[s] for s in r] == names
        assert all(idx.twin[s] == twin for s in r)
        assert [idx.sid(twin, n) for n in names] == list(r)
        seen.extend(r)
    assert seen == list(range(len(idx)))  # dense: every sid once, in twin order
    assert len(idx) == 71


def test_signal_index_metadata(plant: Plant) -> None:
    idx = plant.signals
    s = idx.sid(f"{L}/filler", "state")
    assert (idx.lo[s], idx.hi[s]) == (0.0, 6.0)  # state codes 0..6
    t = idx.sid(f"{L}/filler", "temperature")
    assert (idx.lo[t], idx.hi[t], idx.unit[t]) == (-10.0, 90.0, "degC")
    b = idx.sid("bottling/utilities/air", "running")
    assert (idx.lo[b], idx.hi[b]) == (0.0, 1.0)
    assert idx.describe(t) == (f"{L}/filler", "temperature")
    assert idx.get(f"{L}/filler", "nope") is None
    with pytest.raises(NotFoundError):
        idx.sid(f"{L}/filler", "nope")


def test_lookup_vectorised_with_unknowns(plant: Plant) -> None:
    idx = plant.signals
    twins = [f"{L}/filler", "nope", f"{L}/filler", None, f"{L}/c1", f"{L}/c1"]
    signals = ["temperature", "temperature", "nope", "state", None, "level"]
    expected = [idx.sid(f"{L}/filler", "temperature"), -1, -1, -1, -1, idx.sid(f"{L}/c1", "level")]
    got = idx.lookup(twins, signals)
    assert got.dtype == np.int32
    assert got.tolist() == expected
    # Arrow input (including dictionary-free large batches) gives the same answer
    arrow = idx.lookup(pa.array(twins * 1000, pa.string()), pa.array(signals * 1000, pa.string()))
    assert arrow.tolist() == expected * 1000
    assert idx.lookup([], []).tolist() == []


def test_of_twins_and_table(plant: Plant) -> None:
    idx = plant.signals
    sids = idx.of_twins(plant.subtree(f"{L}/c1"))
    assert sids.tolist() == list(idx.of_twin(f"{L}/c1"))
    assert idx.of_twins([]).tolist() == []
    assert idx.of_twins([L, "bottling"]).tolist() == []  # containers without signals
    t = idx.as_table()
    assert t.num_rows == len(idx)
    assert t.column("sid").to_pylist() == list(range(len(idx)))
    row = t.slice(idx.sid(f"{L}/filler", "speed"), 1).to_pylist()[0]
    assert row == {
        "sid": idx.sid(f"{L}/filler", "speed"),
        "twin": f"{L}/filler",
        "signal": "speed",
        "unit": "bottle/min",
    }


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_lookup_matches_one_by_one(plant: Plant, data: st.DataObject) -> None:
    idx = plant.signals
    twin_names = [*plant.twins, "x", ""]
    signal_names = [*sorted({str(n) for n in idx.name}), "zzz"]
    pairs = data.draw(st.lists(st.tuples(st.sampled_from(twin_names), st.sampled_from(signal_names)), max_size=200))
    got = idx.lookup([t for t, _ in pairs], [s for _, s in pairs])
    assert got.tolist() == [idx.get(t, s) if idx.get(t, s) is not None else -1 for t, s in pairs]


def test_signal_index_built_per_type_equals_one_built_per_signal(plant: Plant) -> None:
    """``from_twins`` (arrays gathered per shared signal list) against the entry-by-entry build."""
    from twinverse.model.plant import SignalIndex

    idx = plant.signals
    entries = [(str(idx.twin[i]), idx.signal[i]) for i in range(len(idx))]
    ref = SignalIndex(entries)
    assert len(ref) == len(idx) > 0
    for name in ("twin", "name", "kind", "lo", "hi"):
        assert np.array_equal(getattr(ref, name), getattr(idx, name)), name
    assert ref.unit == idx.unit and ref.signal == idx.signal
    assert ref.format.states == idx.format.states
    assert dict(ref.key_index) == dict(idx.key_index) == {(str(idx.twin[i]), str(idx.name[i])): i
                                                           for i in range(len(idx))}
    for twin in plant.twins:
        assert ref.of_twin(twin) == idx.of_twin(twin)
    with pytest.raises(ValueError, match="contiguous"):
        SignalIndex([entries[0], entries[-1], entries[1]] if entries[0][0] != entries[-1][0] else [])


def test_key_index_answers_like_a_dict(plant: Plant) -> None:
    keys = plant.signals.key_index
    twin, signal = str(plant.signals.twin[3]), str(plant.signals.name[3])
    assert keys[(twin, signal)] == 3 and keys.get((twin, signal)) == 3 and (twin, signal) in keys
    for missing in [(twin, "nope"), ("nope", signal), (None, signal), ("x",), 5]:
        assert keys.get(missing, -1) == -1  # type: ignore[arg-type]
        assert missing not in keys
    with pytest.raises(KeyError):
        keys[(twin, "nope")]
    assert len(keys) == len(plant.signals) == len(list(keys))
