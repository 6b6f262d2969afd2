"""The Sparkplug host against independent edge nodes on mosquitto: Eclipse Tahu's JavaScript client
(npm ``sparkplug-client``, tests/peers/) and ``pysparkplug`` (PyPI, in .venv-peers: it pins paho-mqtt < 2).

``make peers`` installs both. Each peer is a subprocess driven by JSON lines on stdin
(tests/peers/tahu_edge.mjs, tests/peers/pysparkplug_edge.py) and reporting events on stdout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import Broker, need
from tests.ingest.field import engines, start_source, wait_until
from twinverse.core.quality import Quality
from twinverse.ingest.sparkplug import SparkplugHost
from twinverse.live.engine import Engine
from twinverse.model import Plant, loads_plant

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / "tests" / "peers"
PEER_PYTHON = Path(os.environ.get("TWINVERSE_PEERS_PYTHON", ROOT / ".venv-peers" / "bin" / "python"))


class Peer:
    """An edge node in a subprocess: ``send`` a command, wait for ``events``."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=PEERS)
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.events.append(json.loads(line))

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def count(self, event: str, **match: Any) -> int:
        return sum(
            1 for e in list(self.events) if e.get("event") == event and all(e.get(k) == v for k, v in match.items())
        )

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send(op="stop")
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


def plant_yaml(port: int, n: int) -> str:
    signals = "".join(f"      m{i}: {{unit: degC}}\n" if i == 2 else f"      m{i}: {{}}\n" for i in range(n))
    return f"""plant: p
types:
  dev:
    signals:
{signals}twins:
  - {{id: line, type: dev, children: [{{id: d1, type: dev}}]}}
sources:
  spb:
    kind: sparkplug
    url: mqtt://127.0.0.1:{port}
    reorder_timeout: 0.3
    rebirth_interval: 0.3
    reconnect: [0.05, 0.2]
    devices:
      - {{group: G, node: "*", device: "*", twin: "line/{{device}}"}}
"""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Callable[[Plant], Engine]]:
    yield from engines(tmp_path)


def tahu(broker: Broker, n: int = 3) -> Peer:
    need(shutil.which("node") is not None, "node is not installed")
    need((PEERS / "node_modules" / "sparkplug-client").is_dir(), "sparkplug-client is not installed: run make peers")
    return Peer(["node", str(PEERS / "tahu_edge.mjs"), broker.url.replace("mqtt://", "mqtt://"), "G", "E1", "d1",
                 str(n)])  # fmt: skip


def pysparkplug(broker: Broker, n: int = 3) -> Peer:
    need(PEER_PYTHON.exists(), f"pysparkplug's virtualenv {PEER_PYTHON} is missing: run make peers")
    return Peer([str(PEER_PYTHON), str(PEERS / "pysparkplug_edge.py"), "127.0.0.1", str(broker.port), "G", "E2",
                 "d1", str(n)])  # fmt: skip


def keep_publishing(send: Callable[[], object], done: Callable[[], bool], what: str) -> None:
    """An edge that goes on publishing (every 0.2 s) until ``done``."""
    deadline = time.monotonic() + 60
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        send()
        time.sleep(0.2)


def start_host(broker: Broker, engine: Callable[[Plant], Engine], n: int = 3) -> tuple[SparkplugHost, Engine]:
    plant = loads_plant(plant_yaml(broker.port, n))
    e = engine(plant)
    src = start_source(plant, e, SparkplugHost)
    wait_until(lambda: src.connected, "the host to connect")
    return src, e


def value(e: Engine, signal: str) -> dict[str, Any]:
    [row] = e.live(np.array([e.plant.signals.sid("p/line/d1", signal)]))
    return row


def test_tahu_birth_data_death_rebirth_gap_and_command(broker: Broker, engine: Callable[[Plant], Engine]) -> None:
    src, e = start_host(broker, engine)
    peer = tahu(broker)
    try:
        wait_until(lambda: src.births >= 2, "Tahu's NBIRTH and DBIRTH")
        want = pytest.approx((2.0 - 32) * 5 / 9)  # the birth's value, in its engUnit degF
        wait_until(lambda: value(e, "m2")["value"] == want, "the birth's values stored")
        peer.send(op="data", values={"m0": 1.25, "m1": -2})
        wait_until(lambda: value(e, "m0")["value"] == 1.25, "DDATA by alias")
        assert value(e, "m1")["value"] == -2  # Int16
        peer.send(op="kill")  # the broker sends Tahu's will; mqtt.js reconnects and births again
        wait_until(lambda: src.deaths >= 1, "the NDEATH will")
        wait_until(lambda: peer.count("birth") >= 2 and value(e, "m0")["quality"] == Quality.GOOD, "the rebirth")
        peer.send(op="data", values={"m0": 2.0}, seq=200)  # a seq gap
        wait_until(lambda: peer.count("ncmd", rebirth=True) >= 1, "a Rebirth NCMD after the reorder timeout")
        assert src.seq_gaps >= 1
        src.write(e.plant.signals.sid("p/line/d1", "m0"), 42.0)
        wait_until(lambda: peer.count("dcmd", name="m0", value=42.0) == 1, "the DCMD at Tahu")
        wait_until(lambda: value(e, "m0")["value"] == 42.0, "the read-back")
    finally:
        peer.close()
        src.stop()


def test_tahu_data_before_birth_host_restart_and_null(broker: Broker, engine: Callable[[Plant], Engine]) -> None:
    peer = tahu(broker)
    try:
        wait_until(lambda: peer.count("birth") >= 1, "Tahu's births (no host listening)")
        src, e = start_host(broker, engine)
        peer.send(op="data", values={"m0": 5.0})
        wait_until(lambda: peer.count("ncmd", rebirth=True) >= 1, "a rebirth for data before birth")
        wait_until(lambda: value(e, "m0")["value"] == 5.0, "the birth's value")
        src.stop()
        peer.send(op="data", values={"m0": 6.0})
        src.start(e)
        wait_until(lambda: src.connected, "the host back")
        keep_publishing(
            lambda: peer.send(op="data", values={"m0": 7.0}),
            lambda: peer.count("ncmd", rebirth=True) >= 2,
            "the restarted host asks for a rebirth",
        )
        wait_until(lambda: value(e, "m0")["value"] == 7.0, "values after the restart")
        peer.send(op="data", values={}, nulls=["m0"])
        wait_until(lambda: value(e, "m0")["quality"] == Quality.BAD, "is_null → BAD")
        src.stop()
    finally:
        peer.close()


def test_tahu_a_thousand_metrics(broker: Broker, engine: Callable[[Plant], Engine]) -> None:
    n = 1000
    src, e = start_host(broker, engine, n)
    peer = tahu(broker, n)
    try:
        wait_until(lambda: src.births >= 2, "births")
        peer.send(op="data", values={f"m{i}": i + 0.5 for i in range(n) if i != 1})
        wait_until(lambda: value(e, "m999")["value"] == 999.5, "1,000 metrics")
        got = np.array([r["value"] for r in e.live(e.plant.signals.of_twin("p/line/d1"))], dtype=float)
        want = np.arange(n) + 0.5
        want[1], want[2] = 1.0, (2.5 - 32) * 5 / 9  # m1 from the birth (Int16), m2 in degF
        np.testing.assert_allclose(got, want)
    finally:
        peer.close()
        src.stop()


def test_pysparkplug_birth_data_rebirth_by_reconnect(broker: Broker, engine: Callable[[Plant], Engine]) -> None:
    src, e = start_host(broker, engine)
    peer = pysparkplug(broker)
    try:
        wait_until(lambda: src.births >= 2, "pysparkplug's births")
        wait_until(lambda: value(e, "m1")["value"] == 1.0, "the birth's values stored")
        peer.send(op="data", values={"m0": 3.5})
        wait_until(lambda: value(e, "m0")["value"] == 3.5, "DDATA (by name and alias)")
        peer.send(op="reconnect")  # a clean NDEATH, then births with the next bdSeq
        wait_until(lambda: src.births >= 4, "the rebirth")
        # pysparkplug 0.6.1 sends its clean NDEATH with the *next* session's bdSeq (it advances the
        # metric when it sets the next will): the host cannot tell it from a stale will, and ignores it.
        assert (src.stale_deaths, src.deaths) == (1, 0)
        peer.send(op="data", values={"m0": 4.5})
        wait_until(lambda: value(e, "m0")["value"] == 4.5 and value(e, "m0")["quality"] == Quality.GOOD, "data")
        src.write(e.plant.signals.sid("p/line/d1", "m0"), 9.0)
        wait_until(lambda: peer.count("dcmd", name="m0", value=9.0) == 1, "the DCMD at pysparkplug")
        wait_until(lambda: value(e, "m0")["value"] == 9.0, "the read-back")
    finally:
        peer.close()
        src.stop()


def test_pysparkplug_data_before_birth_and_a_thousand_metrics(
    broker: Broker, engine: Callable[[Plant], Engine]
) -> None:
    n = 1000
    peer = pysparkplug(broker, n)
    try:
        wait_until(lambda: peer.count("birth") >= 1, "births with no host")
        src, e = start_host(broker, engine, n)
        peer.send(op="data", values={f"m{i}": i * 2.0 for i in range(n)})
        wait_until(lambda: peer.count("ncmd", rebirth=True) >= 1, "a rebirth for data before birth")
        wait_until(lambda: src.births >= 2, "the rebirth")
        peer.send(op="data", values={f"m{i}": i * 3.0 for i in range(n)})
        wait_until(lambda: value(e, "m999")["value"] == 2997.0, "1,000 metrics by name")
        got = np.array([r["value"] for r in e.live(e.plant.signals.of_twin("p/line/d1"))], dtype=float)
        np.testing.assert_allclose(np.delete(got, 2), np.delete(np.arange(n) * 3.0, 2))
        src.stop()
    finally:
        peer.close()
