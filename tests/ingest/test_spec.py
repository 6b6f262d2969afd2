"""The ``sources:`` section: located errors common to every field connector, and the base source."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from twinverse.core.quality import Quality
from twinverse.errors import ModelLoadError
from twinverse.ingest.field import FieldSource
from twinverse.ingest.spec import load_source_specs
from twinverse.live.engine import Engine
from twinverse.model import load_plant, loads_plant
from twinverse.store.duckdb import DuckDBStore

HEAD = "plant: p\ntypes: {m: {signals: {t: {}}}}\ntwins: [{id: m1, type: m}]\n"


def problems(text: str) -> list[str]:
    with pytest.raises(ModelLoadError) as err:
        load_source_specs(loads_plant(HEAD + text, "plant.yaml"))
    return [str(p) for p in err.value.details]


def test_no_section_means_no_sources() -> None:
    assert load_source_specs(loads_plant(HEAD)) == []


def test_unknown_kinds_and_shapes_are_located() -> None:
    assert problems("sources: [1, 2]\n") == ["plant.yaml:4: sources: sources must be a mapping, got a list"]
    assert problems("sources:\n  a: {url: x}\n")[0].startswith(
        "plant.yaml:5: sources.a.kind: missing required field 'kind' (")
    assert problems("sources:\n  a: {kind: profinet, url: x}\n")[0].startswith(
        "plant.yaml:5: sources.a.kind: kind must name a field connector (")


def test_common_fields_are_checked_with_their_line() -> None:
    got = problems("sources:\n  a:\n    kind: modbus\n    url: modbus://h\n    reconnect: [5, 1]\n"
                   "    buffer: 0\n    colour: red\n    maps: []\n")
    text = "\n".join(got)
    assert "plant.yaml:8: sources.a.reconnect: reconnect must be [first, longest] seconds" in text
    assert "plant.yaml:9: sources.a.buffer: buffer must be within 1..100000000, got 0" in text
    assert "plant.yaml:10: sources.a.colour: unknown field 'colour'" in text


def test_a_sources_file_is_read_relative_to_the_plant(tmp_path: Path) -> None:
    (tmp_path / "plant.yaml").write_text(HEAD + "sources: missing.yaml\n")
    with pytest.raises(ModelLoadError, match=r"plant.yaml:4: sources: sources file .*missing.yaml' does not exist"):
        load_source_specs(load_plant(tmp_path / "plant.yaml"))
    (tmp_path / "plant.yaml").write_text(HEAD + "sources: field.yaml\n")
    (tmp_path / "field.yaml").write_text("other: 1\n")
    with pytest.raises(ModelLoadError, match=r"field.yaml:1: a sources file needs a top-level 'sources:' mapping"):
        load_source_specs(load_plant(tmp_path / "plant.yaml"))


class _Feed(FieldSource):
    """A field source driven by the test: the protocol thread only waits."""

    kind = "test"

    def _run(self) -> None:
        self._connected_now()
        while not self.wait(0.01):
            pass


def test_field_source_marks_bad_and_recovers(tmp_path: Path) -> None:
    plant = loads_plant(HEAD)
    engine = Engine(plant, DuckDBStore(tmp_path / "s.duckdb"))
    source = _Feed("f", "test://", plant, np.array([0], dtype=np.int32), buffer=5)
    source.start(engine)
    try:
        now = int(time.time() * 1e6)
        source.mark_bad()  # nothing known yet: nothing to repeat
        source.emit(np.array([now]), np.array([0], np.int32), np.array([1.5]))
        deadline = time.monotonic() + 30
        while engine.value[0] != 1.5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (engine.value[0], engine.quality[0]) == (1.5, Quality.GOOD)
        source._disconnected_now("gone")
        while engine.quality[0] != Quality.BAD and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (engine.value[0], engine.quality[0]) == (1.5, Quality.BAD)
        h = source.health()
        assert (h["connected"], h["errors"], h["bad_signals"], h["last_error"]) == (False, 1, 1, "gone")
        source.emit(np.array([now + 10_000_000]), np.array([0], np.int32), np.array([2.0]))
        while engine.quality[0] != Quality.GOOD and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (engine.value[0], engine.quality[0], source.health()["bad_signals"]) == (2.0, Quality.GOOD, 0)
    finally:
        source.stop()
        engine.close()
        engine.store.close()


def test_the_examples_of_docs_sources_md_validate(tmp_path: Path) -> None:
    """Every ``sources:`` example of docs/sources.md is valid against the page's plant."""
    import re

    text = (Path(__file__).parents[2] / "docs" / "sources.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    plant, examples = blocks[0], [b for b in blocks[1:] if b.startswith("sources:")]
    assert len(examples) == 3
    for example in examples:
        (tmp_path / "field.yaml").write_text(example)
        (tmp_path / "plant.yaml").write_text(plant)
        specs = load_source_specs(load_plant(tmp_path / "plant.yaml"))
        assert [s.common.kind for s in specs] in (["modbus"], ["opcua"], ["sparkplug"])
