"""Plants made in code for scene tests, and the Khronos glTF validator (npm, in web/)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need
from twinverse.model import Placement, Plant, Relationship, Signal, SignalKind, Twin, TwinType

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT / "web" / "tools" / "validate-gltf.mjs"

STATE = Signal(name="state", kind=SignalKind.STATE, states=("running", "idle", "down"))
TYPES = {
    "site": TwinType(name="site", container=True),
    "area": TwinType(name="area", container=True),
    "line": TwinType(name="line", container=True),
    "machine": TwinType(name="machine", signals={"state": STATE}, shape="box", size=(2.0, 2.0, 2.0)),
    "belt": TwinType(name="belt", signals={"state": STATE}, shape="conveyor"),
    "filler": TwinType(name="filler", signals={"state": STATE}, shape="cylinder", size=(2.5, 2.2, 2.5)),
    "tank": TwinType(name="tank", shape="tank"),
    "pump": TwinType(name="pump"),
}


def make_plant(
    lines: dict[str, Sequence[str]],
    feeds: Sequence[tuple[str, str]] = (),
    *,
    types: dict[str, str] | None = None,
    placement: dict[str, Placement] | None = None,
    extra_types: dict[str, TwinType] | None = None,
    area: str | None = None,
) -> Plant:
    """A site ``p`` holding lines (optionally inside one area) of machines named ``line/m``.

    ``feeds`` names twins by their local path (``l1/a``); ``types`` maps a local path to a
    type name (default ``machine``).
    """
    types = types or {}
    placement = placement or {}
    twins = [Twin(id="p", type="site", name="Plant")]
    top = "p"
    if area is not None:
        twins.append(Twin(id=f"p/{area}", type="area", name=area, parent="p"))
        top = f"p/{area}"
    for line, members in lines.items():
        lid = f"{top}/{line}"
        twins.append(Twin(id=lid, type="line", name=line, parent=top))
        for m in members:
            local = f"{line}/{m}"
            twins.append(
                Twin(id=f"{top}/{local}", type=types.get(local, "machine"), name=m, parent=lid,
                     placement=placement.get(local))
            )
    rels = [Relationship(source=t.parent, name="contains", target=t.id) for t in twins if t.parent]
    rels += [Relationship(source=f"{top}/{a}", name="feeds", target=f"{top}/{b}") for a, b in feeds]
    return Plant("p", "Plant", {**TYPES, **(extra_types or {})}, twins, rels)


@pytest.fixture(scope="session")
def validate_gltf() -> Callable[[Sequence[Path]], list[dict[str, Any]]]:
    """Run the Khronos glTF-Validator (npm ``gltf-validator``) on files; its JSON reports."""
    node = shutil.which("node")
    need(node is not None, "node is not installed (apt-get install nodejs)")
    need(
        (ROOT / "web" / "node_modules" / "gltf-validator").is_dir(),
        "web/node_modules/gltf-validator is missing: run web/build.sh (npm ci)",
    )

    def run(files: Sequence[Path]) -> list[dict[str, Any]]:
        proc = subprocess.run(
            [str(node), str(VALIDATOR), *map(str, files)], cwd=ROOT / "web", capture_output=True, text=True, timeout=300
        )
        assert proc.stdout, proc.stderr
        reports: list[dict[str, Any]] = json.loads(proc.stdout)
        return reports

    return run
