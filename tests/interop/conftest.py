"""Helpers for the interop tests.

AAS: the official checker on bytes, normalised environments, random plants. DTDL: the
reference data (read where it is, in ../shared/data/dtdl) and the parsed RealEstateCore ontology.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twinverse.interop.aas import AasFormat, dumps_environment
from twinverse.interop.dtdl import ModelSet, parse_models, read_dtdl_files
from twinverse.model import Plant, TwinType


def dtdl_types(plant: Plant) -> dict[str, TwinType]:
    """The plant's types as DTDL carries them: everything but alarm rules and glTF model files (DTDL has neither)."""
    return {n: t.model_copy(update={"alarms": {}, "model": None}) for n, t in plant.types.items()}


def checked(data: bytes, fmt: AasFormat) -> Any:
    """aas-test-engines' verdict on one serialised environment."""
    from aas_test_engines import file as aas_file

    if fmt is AasFormat.JSON:
        return aas_file.check_json_file(io.StringIO(data.decode()))
    if fmt is AasFormat.XML:
        return aas_file.check_xml_file(io.BytesIO(data))
    return aas_file.check_aasx_file(io.BytesIO(data))


def errors(result: Any) -> list[str]:
    return [line for line in result.to_lines() if "rror" in line or "violated" in line][:10]


def normal(store: Any) -> dict[str, Any]:
    """The environment as JSON with every list of objects in id order (sets have no order)."""
    doc: dict[str, Any] = json.loads(dumps_environment(store, AasFormat.JSON))
    for shell in doc.get("assetAdministrationShells", []):
        shell["submodels"] = sorted(shell.get("submodels", []), key=json.dumps)
    return {k: sorted(v, key=lambda o: o["id"]) for k, v in doc.items()}


def random_plant_yaml(seed: int) -> str:
    """A plant of random shape: lines of machines with random signals, properties and flows."""
    rng = np.random.default_rng(seed)
    kinds = ["float", "int", "bool", "state"]
    units = ["degC", "bar", "kW", "bottle/min", "m/s"]
    lines = ["plant: gen", "name: Generated plant", "types:"]
    for t in range(int(rng.integers(1, 4))):
        lines.append(f"  m{t}:")
        lines.append("    signals:")
        for s in range(int(rng.integers(1, 5))):
            kind = kinds[int(rng.integers(0, 4))]
            if kind == "state":
                lines.append(f"      s{s}: {{kind: state, states: [running, idle, down]}}")
            elif kind == "float":
                lines.append(f"      s{s}: {{unit: {units[int(rng.integers(0, 5))]}, range: [0, 100]}}")
            else:
                lines.append(f"      s{s}: {{kind: {kind}}}")
        lines.append(f"    properties: {{rated: {int(rng.integers(1, 900))}, ratio: {float(rng.random()):.3f}, "
                     f"tag: t{t}, flags: [a, b]}}")
    lines.append("twins:")
    for line in range(int(rng.integers(1, 3))):
        n = int(rng.integers(1, 5))
        t = int(rng.integers(0, 1 + (len([x for x in lines if x.startswith("  m")]) - 1)))
        lines.append(f"  - id: line{line}")
        lines.append("    type: line")
        lines.append(f"    flow: [{', '.join(f'k{i}' for i in range(1, n + 1))}]")
        lines.append(f"    children: [{{id: k, type: m{t}, count: {n}, properties: {{serial_number: SN-{seed}}}}}]")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def dtdl_cases(shared_data: Path) -> Path:
    return shared_data / "dtdl" / "dtdlparser-cases"


@pytest.fixture(scope="session")
def rec_docs(shared_data: Path) -> list[tuple[str, Any]]:
    return read_dtdl_files([shared_data / "dtdl" / "realestatecore"])


@pytest.fixture(scope="session")
def rec(rec_docs: list[tuple[str, Any]]) -> ModelSet:
    return parse_models(rec_docs)
