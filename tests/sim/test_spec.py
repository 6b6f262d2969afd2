"""Reading models: bad input names file:line and field; plant files drive the simulation."""

from __future__ import annotations

from pathlib import Path

import pytest

from twinverse.errors import ModelError, ModelLoadError
from twinverse.model import load_plant
from twinverse.sim import RunConfig, load_network, loads_network, network_from_plant, simulate
from twinverse.sim.network import INF, RouteKind

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

GOOD = """\
simulation:
  sources:
    arrivals: {interarrival: {dist: exponential, mean: 1.25}, to: s1}
  stations:
    s1: {process: {dist: exponential, mean: 1}, to: out}
  sinks: [out]
"""


def problems(text: str, name: str = "bad.yaml") -> list[str]:
    with pytest.raises(ModelLoadError) as info:
        loads_network(text, name=name)
    return [str(p) for p in info.value.details]


def test_good_model_reads() -> None:
    net = loads_network(GOOD)
    assert [s.id for s in net.stations] == ["s1"]
    assert net.buffers[0].id == "s1.in" and net.buffers[0].capacity == INF  # a queueing node


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("mean: 1}, to", "mean: -1}, to", "process.mean", "must be a finite number > 0, got -1"),
        ("mean: 1}, to", "mean: 0}, to", "process.mean", "must be a finite number > 0, got 0"),
        ("dist: exponential, mean: 1}, to", "dist: gaussian, mean: 1}, to", "process.dist",
         "unknown distribution 'gaussian' (known: constant, deterministic, empirical, erlang, exp,"),
        ("to: out}", "to: nowhere}", "to", "route to a missing element 'nowhere' (elements: out, s1)"),
    ],
    ids=["negative-mean", "zero-mean", "unknown-distribution", "missing-element"],
)
def test_bad_input_names_file_line_and_field(old: str, new: str, field: str, message: str) -> None:
    got = problems(GOOD.replace(old, new, 1))
    assert len(got) == 1, got
    assert got[0].startswith(f"bad.yaml:5: simulation.stations.s1.{field}: {message}"), got


def test_probabilities_must_sum_to_one() -> None:
    text = """\
simulation:
  sources: {a: {interarrival: 1.0, to: s1}}
  stations:
    s1:
      process: {dist: exponential, mean: 0.5}
      to: {s2: 0.5, out: 0.4}
    s2: {process: 0.5, to: out}
  sinks: [out]
"""
    got = problems(text)
    assert got == ["bad.yaml:6: simulation.stations.s1.to: probabilities must sum to 1, got 0.9"]


def test_product_mix_must_sum_to_one() -> None:
    text = """\
simulation:
  products: [a, b]
  sources: {src: {interarrival: 1.0, to: s1, mix: {a: 0.3, b: 0.3}}}
  stations: {s1: {process: 0.5, to: out}}
  sinks: [out]
"""
    assert problems(text) == ["bad.yaml:3: simulation.sources.src.mix: probabilities must sum to 1, got 0.6"]


def test_every_problem_is_reported_at_once() -> None:
    text = """\
simulation:
  sources: {a: {interarrival: {dist: exponential, mean: -2}, to: s1}}
  stations:
    s1: {process: {dist: weibull, mean: 1}, to: s9, scrap: 1.5}
  sinks: [out]
"""
    got = problems(text)
    assert "bad.yaml:2: simulation.sources.a.interarrival.mean: must be a finite number > 0, got -2" in got
    assert "bad.yaml:4: simulation.stations.s1.process.shape: missing required field 'shape'" in got or any(
        "weibull" in p or "shape" in p for p in got)
    assert any(p.startswith("bad.yaml:4: simulation.stations.s1.to: route to a missing element 's9'") for p in got)
    assert any(p.startswith("bad.yaml:4: simulation.stations.s1.scrap: must be <= 1") for p in got)


def test_unknown_field_is_named() -> None:
    got = problems(GOOD.replace("to: out}", "to: out, speed: 3}", 1))
    assert any(p.startswith("bad.yaml:5: simulation.stations.s1.speed: unknown field 'speed'") for p in got)


def test_distribution_parameter_errors_point_at_the_parameter() -> None:
    got = problems(GOOD.replace("{dist: exponential, mean: 1}", "{dist: triangular, low: 2, mode: 1, high: 3}", 1))
    assert any(p.startswith("bad.yaml:5: simulation.stations.s1.process.mode: need low <= mode <= high") for p in got)


def test_missing_section() -> None:
    with pytest.raises(ModelLoadError, match="no 'simulation:' section"):
        loads_network("plant: x\n", name="p.yaml")


def test_graph_checks() -> None:
    text = """\
simulation:
  sources: {a: {interarrival: 1.0, to: s1}}
  buffers: {lonely: {capacity: 3}}
  stations: {s1: {process: 0.5, to: s1}}
  sinks: [out]
"""
    got = problems(text)
    assert any("buffer 'lonely' feeds no station" in p for p in got)
    assert any("parts from station 's1' can never reach a sink" in p for p in got)


def test_routing_forms() -> None:
    net = loads_network("""\
simulation:
  products: [small, large]
  sources: {src: {interarrival: 1.0, to: split, mix: {small: 0.7, large: 0.3}}}
  buffers: {split: {capacity: 10}}
  stations:
    s0: {from: split, process: 0.5, route: {by_product: {small: a, large: b}}}
    a: {process: 0.5, route: {shortest_queue: [c, d]}}
    b: {process: {small: 0.2, large: 0.6}, to: {c: 0.25, d: 0.75}}
    c: {process: 0.1, to: out}
    d: {process: 0.1, to: out}
  sinks: [out]
""")
    kinds = {s.id: s.route.kind for s in net.stations}
    assert kinds == {"s0": RouteKind.BY_PRODUCT, "a": RouteKind.SHORTEST_QUEUE, "b": RouteKind.PROBABILITY,
                     "c": RouteKind.SINGLE, "d": RouteKind.SINGLE}
    assert net.station("b").route.probabilities == (0.25, 0.75)
    assert net.station("s0").route.by_product == {"small": "a.in", "large": "b.in"}


def test_plant_file_drives_the_simulation() -> None:
    """The bottling example plus a simulation section: stations, conveyors as buffers, power from the types."""
    path = EXAMPLES / "bottling.yaml"
    net = load_network(path)
    plant = load_plant(path)
    assert plant.simulation_doc is not None
    assert network_from_plant(plant) == net
    ids = [s.id for s in net.stations]
    assert ids[:3] == ["depal", "rinser", "filler"] and ids[-1] == "palletiser"
    c3 = net.buffer("c3")
    assert c3.capacity == 400 and c3.twin == "bottling/line1/c3"  # capacity from the twin's property
    filler = net.station("filler")
    assert filler.twin == "bottling/line1/filler"
    assert filler.power["running"] == 22 and filler.power["down"] == 0.8  # the filler type's power per state
    r = simulate(net, RunConfig(until=600, seed=1))
    assert r.exits > 0 and r.energy_kwh > 0


def test_plant_without_simulation_section() -> None:
    plant = load_plant(EXAMPLES / "bottling.yaml")
    if plant.simulation_doc is None:
        with pytest.raises(ModelError, match="no 'simulation:' section"):
            network_from_plant(plant)


def test_plant_line_errors_are_located(tmp_path: Path) -> None:
    live_part = (EXAMPLES / "bottling.yaml").read_text().split("\nsimulation:", 1)[0]
    text = live_part + """
simulation:
  line: line1
  stations:
    filler: {process: {dist: exponential, mean: -0.1}}
    mixer: {process: 1}
"""
    f = tmp_path / "plant.yaml"
    f.write_text(text)
    with pytest.raises(ModelLoadError) as info:
        load_network(f)
    got = [str(p) for p in info.value.details]
    n = text.count("\n", 0, text.index("mean: -0.1")) + 1
    assert f"{f}:{n}: simulation.stations.filler.process.mean: must be a finite number > 0, got -0.1" in got
    assert any("simulation.stations.mixer: 'mixer' is not a twin in the flow of line 'line1'" in p for p in got)
