"""The viewer greys a machine whose source lost its device, and recovers on reconnect (no restart).

A real asyncua server in this process feeds a twinverse server process over OPC UA; the
browser follows /ws. Stopping the OPC UA server turns the machines' signals BAD (the
source's liveness probe), the deltas carry that quality, the viewer greys both machines;
starting it again on the same port makes the source reconnect and re-subscribe, and the
machines get their colours back — twinverse keeps running throughout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import Console
from tests.e2e.test_viewer import hook, wait_hook
from tests.ingest.opcua_server import OpcuaServer
from tests.server import Server

PLANT = """plant: p
types:
  machine:
    signals:
      state: {{kind: state, states: [running, idle, starved, blocked, down, setup, off]}}
      speed: {{unit: 1/min}}
      running: {{kind: bool}}
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
    timeout: 1
    watchdog: 0.2
    reconnect: [0.1, 0.5]
    publishing: 50
    nodes:
      - {{twin: line1/Filler, signal: speed, node: "ns=2;s=Filler.Speed"}}
      - {{twin: line1/Filler, signal: running, node: "ns=2;s=Filler.Running"}}
      - {{twin: line1/Capper, signal: speed, node: "ns=2;s=Capper.Speed"}}
"""
MACHINES = ["p/line1/Filler", "p/line1/Capper"]


def test_machines_grey_when_their_source_is_lost_and_recover_on_reconnect(
    serve: Callable[..., Server], open_page: Callable[[str], tuple[Any, Console]],
) -> None:  # fmt: skip
    opc = OpcuaServer().start()
    try:
        server = serve("serve", plant_text=PLANT.format(url=opc.url))
        page, console = open_page(server.url + "/")
        palette = hook(page, "palette()")
        wait_hook(page, "tv.connected && !tv.staleOf(arg[0]) && !tv.staleOf(arg[1])", MACHINES)
        assert [hook(page, "colorOf(args[0])", m) for m in MACHINES] == [palette["off"]] * 2

        opc.stop()  # pull the plug
        wait_hook(page, "tv.staleOf(arg[0]) && tv.staleOf(arg[1])", MACHINES)
        wait_hook(page, "tv.colorOf(arg[0]) === arg[1] && tv.colorOf(arg[2]) === arg[1]",
                  [MACHINES[0], palette["stale"], MACHINES[1]])  # fmt: skip
        assert palette["stale"] not in (palette["off"], palette["equipment"])

        opc.start()  # plug it back: same port, same NodeIds; twinverse reconnects by itself
        wait_hook(page, "!tv.staleOf(arg[0]) && !tv.staleOf(arg[1])", MACHINES)
        wait_hook(page, "tv.colorOf(arg[0]) === arg[1] && tv.colorOf(arg[2]) === arg[1]",
                  [MACHINES[0], palette["off"], MACHINES[1]])  # fmt: skip
        assert hook(page, "connected") is True
        assert server.proc is not None and server.proc.poll() is None  # the same twinverse process
        assert console.errors == []
    finally:
        opc.stop()
