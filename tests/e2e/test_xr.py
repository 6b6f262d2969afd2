"""WebXR in an emulated headset: the ``iwer`` runtime (npm, Meta's WebXR emulator) injected
before the page runs, a session started from the viewer's XR button, a controller's ray
selecting the filler, live colours and labels inside the session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, TEST_MODE, Console
from tests.server import Server
from twinverse.platform import example_path

IWER = ROOT / "web" / "node_modules" / "iwer" / "build" / "iwer.min.js"
FILLER = "bottling/line1/filler"
#: After iwer's UMD build has defined window.IWER: a Quest 3 as navigator.xr (over chromium's own, which has no device).
INSTALL = "window.__iwer = new IWER.XRDevice(IWER.metaQuest3); window.__iwer.installRuntime({forceInstall: true});"
#: Aim a controller from `from` at `to` (both in the headset's reference space): rotate -z onto the direction.
AIM = """([hand, from, to]) => {
  const c = window.__iwer.controllers[hand];
  const d = [to[0] - from[0], to[1] - from[1], to[2] - from[2]];
  const n = Math.hypot(...d); const b = d.map((v) => v / n);
  // the rotation taking a = (0, 0, -1) onto b: q = (a x b, 1 + a.b), normalised
  let q = [b[1], -b[0], 0, 1 - b[2]];
  const m = Math.hypot(...q); q = q.map((v) => v / m);
  c.position.set(...from); c.quaternion.set(...q);
}"""


@pytest.fixture
def headset(browser: Any) -> Iterator[Callable[[str], tuple[Any, Console]]]:
    if not IWER.exists():
        pytest.skip(f"{IWER} missing: run npm ci in web/ (iwer is a dev dependency)")
    contexts = []

    def go(url: str) -> tuple[Any, Console]:
        ctx = browser.new_context(viewport={"width": 1400, "height": 800})
        ctx.add_init_script(TEST_MODE)
        ctx.add_init_script(path=str(IWER))
        ctx.add_init_script(INSTALL)
        contexts.append(ctx)
        page = ctx.new_page()
        console = Console()
        console.attach(page)
        page.goto(url)
        page.wait_for_function("() => window.__twinverse && window.__twinverse.ready", timeout=60_000)
        return page, console

    yield go
    for c in contexts:
        c.close()


def _xr(page: Any) -> dict[str, Any]:
    out: dict[str, Any] = page.evaluate("() => window.__twinverse.xr()")
    return out


def test_a_session_starts_and_a_controller_selects_the_filler(
    serve: Callable[..., Server], headset: Callable[[str], tuple[Any, Console]]
) -> None:
    server = serve("serve", "--plant", str(example_path("bottling.yaml")), "--store", "h.duckdb")
    server.ingest([{"twin": FILLER, "signal": "state", "value": "running"}])
    page, console = headset(server.url + "/")
    page.wait_for_function("() => window.__twinverse.xr().supported !== null", timeout=10_000)
    assert _xr(page)["supported"] == "ar"  # a Quest 3 offers AR (passthrough) and VR; XRButton takes AR
    page.wait_for_function(f"() => window.__twinverse.stateOf('{FILLER}') !== null", timeout=30_000)
    button = page.locator("#XRButton")
    assert button.inner_text() == "START XR"
    button.click()
    page.wait_for_function("() => window.__twinverse.xr().presenting", timeout=20_000)
    xr = _xr(page)
    assert xr["mode"] == "ar" and button.inner_text() == "STOP XR"

    # live colours and labels inside the session: the label says the filler's current state
    assert _xr(page)["labels"][FILLER] == "Filler · running"
    palette = page.evaluate("() => window.__twinverse.palette()")
    assert page.evaluate(f"() => window.__twinverse.colorOf('{FILLER}')") == palette["running"]
    server.ingest([{"twin": FILLER, "signal": "state", "value": "idle"}])  # a live change during the session
    page.wait_for_function(f"() => window.__twinverse.xr().labels['{FILLER}'] === 'Filler · idle'", timeout=10_000)
    assert page.evaluate(f"() => window.__twinverse.colorOf('{FILLER}')") == palette["idle"]
    frames = page.evaluate("() => window.__twinverse.frames()")
    page.wait_for_function(f"() => window.__twinverse.frames() > {frames + 5}")  # the session draws

    # aim the right controller at the filler from above and behind, pull and release the trigger
    target = page.evaluate(f"() => window.__twinverse.xrDevicePoint('{FILLER}')")
    origin = [target[0] + 0.5, target[1] + 2.0, target[2] + 4.0]
    page.evaluate(AIM, ["right", origin, target])
    page.evaluate("() => window.__iwer.controllers.right.updateButtonValue('trigger', 1)")
    page.wait_for_timeout(200)  # a few XR frames see it pressed (iwer reads buttons per frame)
    page.evaluate("() => window.__iwer.controllers.right.updateButtonValue('trigger', 0)")
    page.wait_for_function("() => window.__twinverse.xr().selects > 0", timeout=10_000)
    assert _xr(page)["selected"] == FILLER
    assert page.evaluate("() => window.__twinverse.selected()") == FILLER
    # aimed at empty floor far away, a select picks nothing
    page.evaluate(AIM, ["right", origin, [origin[0], origin[1] + 5, origin[2] + 50]])
    page.evaluate("() => window.__iwer.controllers.right.updateButtonValue('trigger', 1)")
    page.wait_for_timeout(200)
    page.evaluate("() => window.__iwer.controllers.right.updateButtonValue('trigger', 0)")
    page.wait_for_function("() => window.__twinverse.xr().selects > 1", timeout=10_000)
    assert _xr(page)["selected"] is None

    # STOP XR: back to the desktop view (iwer's session canvas covers the page: click in script)
    page.evaluate("() => document.getElementById('XRButton').click()")
    page.wait_for_function("() => !window.__twinverse.xr().presenting", timeout=10_000)
    frames = page.evaluate("() => window.__twinverse.frames()")
    server.ingest([{"twin": FILLER, "signal": "state", "value": "down"}])  # an alarm pulses: frame after frame
    page.wait_for_function(f"() => window.__twinverse.frames() > {frames + 3}")  # the window draws again
    assert console.errors == []
