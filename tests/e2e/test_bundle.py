"""The production bundle carries no test hook; the test chunk is separate and holds it."""

from __future__ import annotations

from pathlib import Path

from twinverse.api.app import static_dir

from ..conftest import need

VIEWER = static_dir() / "viewer"


def test_test_hooks_are_not_in_the_production_bundle() -> None:
    need((VIEWER / "viewer.js").is_file(), "the viewer bundle is not built (make web)")
    main = (VIEWER / "viewer.js").read_text()
    chunks = sorted((VIEWER / "chunks").glob("testing-*.js"))
    assert len(chunks) == 1, chunks
    hook = Path(chunks[0]).read_text()
    for name in ("__twinverse", "pickables", "firstFullFrameMs", "meanApplyDeltaMs"):
        assert name not in main, name
        assert name in hook, name
    assert "__TWINVERSE_TEST__" in main  # the switch that loads the chunk
