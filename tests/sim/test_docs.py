"""docs/simulation.md: its examples run, and it covers what the code offers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import twinverse.sim as sim
from twinverse.sim import RunConfig, loads_network, simulate
from twinverse.sim.distributions import distribution_names
from twinverse.sim.energy import CHINA_GRID_FACTOR, CHINA_GRID_FACTOR_YEAR
from twinverse.sim.results import SCHEMA
from twinverse.sim.sweep import SETTABLE

DOC = (Path(__file__).resolve().parents[2] / "docs" / "simulation.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", DOC, re.S)


def yaml_models() -> list[str]:
    return [b for lang, b in BLOCKS if lang == "yaml" and b.startswith("simulation:") and "line:" not in b]


@pytest.mark.parametrize("text", yaml_models(), ids=lambda t: t.splitlines()[1].strip()[:30])
def test_yaml_examples_load_and_run(text: str) -> None:
    net = loads_network(text, name="docs.yaml")
    r = simulate(net, RunConfig(until=200, seed=1))
    assert r.little_gap < 1e-9 and r.created > 0


def test_python_examples_run() -> None:
    code = [b for lang, b in BLOCKS if lang == "python"]
    assert code
    for block in code:
        exec(compile(block, "docs/simulation.md", "exec"), {})


def test_plant_snippet_is_the_examples_section() -> None:
    snippet = next(b for lang, b in BLOCKS if lang == "yaml" and "line: line1" in b)
    example = (Path(__file__).resolve().parents[2] / "examples" / "bottling.yaml").read_text()
    for line in snippet.splitlines():
        assert line.strip() in example, line


def test_docs_cover_the_code() -> None:
    for name in distribution_names():
        if name in ("deterministic", "exp", "toy"):  # aliases, and the test suite's own
            continue
        assert f"`{name}`" in DOC, name
    for kind, attrs in SETTABLE.items():
        for attr in attrs:
            assert f"`{attr}`" in DOC, f"{kind}.{attr}"
    assert SCHEMA in DOC
    for state in sim.STATE_NAMES:
        assert f"`{state}`" in DOC
    # the grid factor with its year and source
    assert f"{CHINA_GRID_FACTOR}" in DOC and str(CHINA_GRID_FACTOR_YEAR) in DOC
    assert "Ministry of Ecology and Environment" in DOC and "26 December 2024" in DOC


def test_result_fields_are_documented() -> None:
    net = loads_network(yaml_models()[0], name="docs.yaml")
    from twinverse.sim.scenario import run_scenario

    doc = run_scenario(net, RunConfig(until=100, reps=2, seed=1)).to_dict(replications=True)
    for key in doc:
        assert f"`{key}`" in DOC or f"`{key}[]`" in DOC, key
    for key in doc["stations"][0]:
        assert f"`{key}`" in DOC, key
    for key in doc["buffers"][0]:
        assert f"`{key}`" in DOC, key
