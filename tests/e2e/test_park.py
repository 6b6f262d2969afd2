"""Two plants in one server (``twinverse demo --park``): the picker at /, each viewer under /plants/ID/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import TEST_MODE, Console
from tests.server import Server


def _token(server: Server) -> str:
    return (server.workdir / "data" / "admin.token").read_text().strip()


def test_the_picker_leads_to_each_plant_s_own_live_viewer(browser: Any, serve: Callable[..., Server]) -> None:
    server = serve("demo", "--park", "--no-mqtt", "--rate", "5", "--data-dir", "data")
    ctx = browser.new_context(viewport={"width": 1200, "height": 760})
    ctx.add_init_script(TEST_MODE)
    page = ctx.new_page()
    console = Console()
    console.attach(page)
    try:
        page.goto(f"{server.url}/#token={_token(server)}")
        page.wait_for_selector("#plants li")
        links = page.eval_on_selector_all("#plants a[data-plant]",
                                          "els => els.map(e => [e.dataset.plant, e.getAttribute('href')])")
        assert links == [["bottling", "/plants/bottling/"], ["pressing", "/plants/pressing/"]]
        page.click("a[data-plant=pressing]")
        page.wait_for_function("() => window.__twinverse && window.__twinverse.ready", timeout=60_000)
        assert page.url == f"{server.url}/plants/pressing/"
        assert page.evaluate("window.__twinverse.machines()") == ["pressing/tandem/p1", "pressing/tandem/p2",
                                                                  "pressing/tandem/p3"]  # fmt: skip
        # Live over the plant's own /ws: the synthetic presses report a state, which colours them.
        page.wait_for_function("() => window.__twinverse.stateOf('pressing/tandem/p1') != null", timeout=30_000)
        # The table view under the same prefix reads the same plant.
        page.goto(f"{server.url}/plants/pressing/static/table.html")
        page.wait_for_selector("text=pressing/tandem/p2", timeout=30_000)
        # The first plant is also served at the top-level paths, as a one-plant server.
        page.goto(f"{server.url}/plants/bottling/")
        page.wait_for_function("() => window.__twinverse && window.__twinverse.ready", timeout=60_000)
        assert "bottling/line1/filler" in page.evaluate("window.__twinverse.machines()")
        assert console.errors == []
    finally:
        ctx.close()
