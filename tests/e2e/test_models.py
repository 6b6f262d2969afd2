"""glTF models in the browser: loaded per type, instanced, tinted by live state, pickable; a broken one falls back."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import Console
from tests.server import Server
from twinverse.platform import example_path

FILLER = "bottling/line1/filler"
PALLETISER = "bottling/line1/palletiser"


def _hook(page: Any, expr: str) -> Any:
    return page.evaluate(f"() => window.__twinverse.{expr}")


def test_the_demo_line_draws_its_models(
    serve: Callable[..., Server], open_page: Callable[[str], tuple[Any, Console]]
) -> None:
    server = serve("serve", "--plant", str(example_path("bottling.yaml")), "--store", "h.duckdb")
    page, console = open_page(server.url + "/")
    page.wait_for_function("() => window.__twinverse.models().loaded.length === 3", timeout=30_000)
    assert _hook(page, "models()") == {"loaded": ["capper", "filler", "palletiser"], "failed": {}, "pending": False}
    pickables = _hook(page, "pickables()")
    assert len(pickables) == len(set(pickables)) == 16  # still one pick target per object
    # a click on the filler hits its model
    pt = page.evaluate(f"() => window.__twinverse.screenPoint('{FILLER}')")
    assert page.evaluate(f"() => window.__twinverse.pickAt({pt['x']}, {pt['y']})") == FILLER
    palette = _hook(page, "palette()")
    assert page.evaluate(f"() => window.__twinverse.modelColorOf('{FILLER}')") == palette["off"]
    server.ingest([{"twin": FILLER, "signal": "state", "value": "blocked"}])
    page.wait_for_function(f"(c) => window.__twinverse.modelColorOf('{FILLER}') === c", arg=palette["blocked"],
                           timeout=10_000)  # fmt: skip
    assert page.evaluate("() => window.__twinverse.modelColorOf('bottling/line1/rinser')") is None  # no model
    assert console.errors == []


def test_a_broken_model_leaves_the_parametric_shape(
    serve: Callable[..., Server], open_page: Callable[[str], tuple[Any, Console]], tmp_path: Any
) -> None:
    (tmp_path / "models").mkdir()
    for name in ("filler", "capper"):
        shutil.copy(example_path().parent / "models" / f"{name}.glb", tmp_path / "models")
    (tmp_path / "models" / "palletiser.glb").write_bytes(b"glTF\x02\x00\x00\x00 not really")
    shutil.copy(example_path(), tmp_path / "bottling.yaml")
    server = serve("serve", "--plant", str(tmp_path / "bottling.yaml"), "--store", "h.duckdb")
    page, console = open_page(server.url + "/")
    page.wait_for_function("() => Object.keys(window.__twinverse.models().failed).length === 1", timeout=30_000)
    m = _hook(page, "models()")
    assert m["loaded"] == ["capper", "filler"] and list(m["failed"]) == ["palletiser"]
    assert page.evaluate(f"() => window.__twinverse.modelColorOf('{PALLETISER}')") is None
    pt = page.evaluate(f"() => window.__twinverse.screenPoint('{PALLETISER}')")
    assert page.evaluate(f"() => window.__twinverse.pickAt({pt['x']}, {pt['y']})") == PALLETISER
    assert console.errors == []  # a warning says why, not an error
