"""An independent peer: twinverse's OPC UA source against a node-opcua server (tests/peers/opcua).

node-opcua is a second OPC UA stack written apart from asyncua (which twinverse's client and
the other test servers use), so what both ends agree on here is the protocol, not one library
talking to itself. The peer prints what arrives when a client writes, and takes value and
StatusCode changes on stdin.
"""

from __future__ import annotations

import queue
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import free_port, need
from tests.ingest.field import engines, start_source, wait_until
from twinverse.core.quality import Quality
from twinverse.errors import CommandRefused
from twinverse.ingest.command import send_command
from twinverse.ingest.opcua import OpcuaSource, browse
from twinverse.live.engine import Engine
from twinverse.model import Plant, loads_plant

PEER = Path(__file__).resolve().parents[1] / "peers" / "opcua"

PLANT = """plant: p
types:
  machine:
    signals:
      speed: {{unit: 1/min, writable: true}}
      count: {{kind: int}}
      running: {{kind: bool, writable: true}}
      temperature: {{unit: degC}}
      mode: {{kind: int, writable: true}}
      ramp: {{kind: int}}
twins:
  - {{id: Filler, type: machine}}
sources:
  peer:
    kind: opcua
    url: opc.tcp://127.0.0.1:{port}
    timeout: 2
    watchdog: 0.2
    reconnect: [0.1, 0.5]
    publishing: 50
    sampling: 50
    nodes:
      - {{twin: Filler, signal: speed, node: "ns=1;s=Filler.Speed"}}
      - {{twin: Filler, signal: count, node: "ns=1;s=Filler.Count", writable: true}}
      - {{twin: Filler, signal: running, node: "ns=1;s=Filler.Running"}}
      - {{twin: Filler, signal: temperature, path: "0:Objects/1:Line1/1:Filler/1:Temperature", unit: degF}}
      - {{twin: Filler, signal: mode, node: "ns=1;s=Filler.Mode"}}
      - {{twin: Filler, signal: ramp, node: "ns=1;s=Filler.Ramp"}}
"""


class NodeOpcua:
    """The node-opcua server as a subprocess: start, stop, send lines, await lines it prints."""

    def __init__(self, pki: Path) -> None:
        self.port = free_port()
        self.pki = pki
        self.proc: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str] = queue.Queue()

    def start(self) -> NodeOpcua:
        self.proc = subprocess.Popen(["node", str(PEER / "server.js"), str(self.port), str(self.pki)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, cwd=PEER)  # fmt: skip
        out = self.proc.stdout
        assert out is not None
        self.reader = threading.Thread(target=lambda: [self.lines.put(line.strip()) for line in out], daemon=True)
        self.reader.start()
        self.expect("ready")
        return self

    def expect(self, prefix: str, timeout: float = 60) -> str:
        while True:
            line = self.lines.get(timeout=timeout)
            if line.startswith(prefix):
                return line

    def send(self, line: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        self.expect(f"done {line}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(30)
            self.reader.join(30)  # the pipe is at its end
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    pipe.close()
            self.proc = None


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[NodeOpcua]:
    need(shutil.which("node") is not None, "node is not installed (apt-get install nodejs)")
    need((PEER / "node_modules" / "node-opcua").is_dir(), "the node-opcua peer is not installed: run make opcua-peer")
    p = NodeOpcua(tmp_path / "pki").start()
    yield p
    p.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Callable[[Plant], Engine]]:
    yield from engines(tmp_path)


def test_read_subscribe_write_and_faults_against_node_opcua(peer: NodeOpcua, engine: Callable[[Plant], Engine]) -> None:
    plant = loads_plant(PLANT.format(port=peer.port))
    e = engine(plant)
    source = start_source(plant, e, OpcuaSource)
    sid = {n: plant.signals.sid("p/Filler", n) for n in ("speed", "count", "running", "temperature", "mode", "ramp")}
    try:
        wait_until(lambda: source.connected and not np.isnan(e.value[list(sid.values())]).any(), "the initial read")
        assert e.value[sid["speed"]] == 612.5 and e.value[sid["count"]] == 123456 and e.value[sid["running"]] == 1
        assert e.value[sid["temperature"]] == pytest.approx(20.0) and e.value[sid["mode"]] == -3
        first = e.value[sid["ramp"]]
        wait_until(lambda: e.value[sid["ramp"]] >= first + 5, "the peer's ramp through the subscription")
        peer.send("set Speed 700.5")
        wait_until(lambda: e.value[sid["speed"]] == 700.5, "a change the peer made")
        peer.send("status Speed BadSensorFailure")
        wait_until(lambda: e.quality[sid["speed"]] == Quality.BAD, "BAD from the peer's StatusCode")
        assert e.value[sid["speed"]] == 700.5
        peer.send("set Speed 701")
        wait_until(lambda: e.quality[sid["speed"]] == Quality.GOOD and e.value[sid["speed"]] == 701, "GOOD again")

        # Writes: what the peer says it received, in its own types
        send_command([source], plant, "p/Filler", "speed", 640.25)
        assert peer.expect("wrote Speed") == "wrote Speed 640.25 Double"
        send_command([source], plant, "p/Filler", "mode", 7)
        assert peer.expect("wrote Mode") == "wrote Mode 7 Int16"
        send_command([source], plant, "p/Filler", "running", 0)
        assert peer.expect("wrote Running") == "wrote Running false Boolean"
        wait_until(lambda: e.value[sid["speed"]] == 640.25 and e.value[sid["mode"]] == 7 and e.value[sid["running"]]
                   == 0, "the read-backs from the peer")  # fmt: skip
        with pytest.raises(CommandRefused, match=r"BadNotWritable|BadUserAccessDenied"):
            send_command([source], plant, "p/Filler", "count", 1)

        # The peer goes away (killed, no goodbye) and comes back on the same port
        peer.stop()
        wait_until(lambda: bool((e.quality[list(sid.values())] == Quality.BAD).all()), "BAD when the peer is gone")
        peer.start()
        wait_until(lambda: bool((e.quality[list(sid.values())] == Quality.GOOD).all()) and e.value[sid["speed"]] ==
                   612.5 and source.connected, "GOOD again after the peer restarted (its initial values)")  # fmt: skip
        assert source.health()["reconnects"] >= 1 and source.health()["monitored"] == 6
    finally:
        source.stop()


def test_browse_the_peer(peer: NodeOpcua) -> None:
    entries = browse(f"opc.tcp://127.0.0.1:{peer.port}", depth=3)
    found = {(e.name, e.nodeid, e.datatype) for e in entries if e.parent == ("0:Objects", "1:Line1", "1:Filler")}
    assert found == {("1:Speed", "ns=1;s=Filler.Speed", "Double"), ("1:Count", "ns=1;s=Filler.Count", "UInt32"),
                     ("1:Running", "ns=1;s=Filler.Running", "Boolean"), ("1:Temperature", "ns=1;s=Filler.Temperature",
                     "Float"), ("1:Mode", "ns=1;s=Filler.Mode", "Int16"), ("1:Ramp", "ns=1;s=Filler.Ramp", "Int32")}
