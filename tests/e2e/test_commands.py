"""The machine panel sends a setpoint to a writable signal, and shows the device's read-back.

A real asyncua server in this process feeds a twinverse server process over OPC UA. In the
browser, the Filler's panel lists its writable signals (GET /api/twins/{id}/commands); typing
a speed and pressing Send posts the command; the OPC UA server then holds the value, and the
panel's Values row shows it once the subscription brings it back. A value outside the
signal's range is refused with the API's message in the row; a writable signal no source
feeds is listed but disabled, saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import Console
from tests.e2e.test_viewer import hook, wait_hook
from tests.ingest.field import wait_until
from tests.ingest.opcua_server import OpcuaServer
from tests.server import Server

PLANT = """plant: p
types:
  machine:
    signals:
      state: {{kind: state, states: [running, idle, starved, blocked, down, setup, off]}}
      speed: {{unit: 1/min, range: [0, 1000]}}
      running: {{kind: bool}}
      recipe: {{kind: int, writable: true}}
    shape: box
    size: [1.5, 1.5, 1.5]
twins:
  - id: line1
    type: line
    flow: [Filler, Capper]
    children: [{{id: Filler, type: machine}}, {{id: Capper, type: machine}}]
sources:
  opc:
    kind: opcua
    url: {url}
    timeout: 2
    reconnect: [0.1, 0.5]
    publishing: 50
    nodes:
      - {{twin: line1/Filler, signal: speed, node: "ns=2;s=Filler.Speed", writable: true}}
      - {{twin: line1/Filler, signal: running, node: "ns=2;s=Filler.Running", writable: true}}
      - {{twin: line1/Capper, signal: speed, node: "ns=2;s=Capper.Speed"}}
"""
FILLER = "p/line1/Filler"


def _row(page: Any, signal: str) -> Any:
    return page.locator(f"#panel .commands tr[data-signal='{signal}']")


def test_panel_sends_a_setpoint_and_shows_the_read_back(
    serve: Callable[..., Server], open_page: Callable[[str], tuple[Any, Console]],
) -> None:  # fmt: skip
    opc = OpcuaServer().start()
    try:
        server = serve("serve", plant_text=PLANT.format(url=opc.url))
        page, console = open_page(server.url + "/")
        wait_hook(page, "tv.connected")
        pt = hook(page, "screenPoint(args[0])", FILLER)
        page.mouse.click(pt["x"], pt["y"])
        wait_hook(page, "tv.panel() && tv.panel().commands.length === 3")
        rows = {r["signal"]: r for r in hook(page, "panel()")["commands"]}
        assert rows["speed"]["enabled"] and rows["running"]["enabled"]
        assert rows["recipe"] == {"signal": "recipe", "enabled": False, "why": "no source feeds this signal",
                                  "status": "", "ok": None}  # fmt: skip
        assert _row(page, "recipe").locator("button.send").is_disabled()
        speed_cell = page.locator("#panel table.values tr", has_text="speed").locator("td")
        wait_until(lambda: speed_cell.inner_text() == "612.5 1/min", "the initial value in the panel")

        _row(page, "speed").locator("input").fill("640")
        _row(page, "speed").locator("button.send").click()
        wait_hook(page, "tv.panel().commands.find((c) => c.signal === 'speed').ok === true")
        status = _row(page, "speed").locator(".cmd-status").inner_text()
        assert status.startswith("sent 640 1/min via opcua:opc (log #")
        assert opc.read("Filler.Speed") == 640.0  # the device holds it
        wait_until(lambda: speed_cell.inner_text() == "640 1/min", "the read-back in the Values row")

        _row(page, "running").locator("select").select_option("false")
        _row(page, "running").locator("button.send").click()
        wait_hook(page, "tv.panel().commands.find((c) => c.signal === 'running').ok === true")
        assert opc.read("Filler.Running") is False

        _row(page, "speed").locator("input").fill("5000")  # outside the signal's range: refused by the API
        _row(page, "speed").locator("button.send").click()
        wait_hook(page, "tv.panel().commands.find((c) => c.signal === 'speed').ok === false")
        refused = _row(page, "speed").locator(".cmd-status")
        assert "range" in refused.inner_text() and "error" in (refused.get_attribute("class") or "")
        assert opc.read("Filler.Speed") == 640.0
        assert [e for e in console.errors if "422" not in e] == []  # the refused POST is the only error
    finally:
        opc.stop()
