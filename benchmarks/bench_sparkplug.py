"""Sparkplug B ingest: DDATA metrics/s stored by the twinverse host vs a bare paho subscriber, same run.

One device of ``N`` Double metrics (default 1,000) is born by a twinverse edge node; then
``M`` DDATA payloads (every metric, by alias, with its timestamp) are published at QoS 1 to
a private mosquitto, and each consumer is timed from the first publish until it is done:

- baseline: a bare paho-mqtt 2 subscriber that decodes every payload with the ``protobuf``
  runtime (the same schema) and reads each metric's alias and value;
- twinverse: :class:`SparkplugHost` (columnar scan, aliases to sids, seq tracking) into an
  :class:`Engine` with a DuckDB file store, timed until the store holds every metric
  (QoS 1 acknowledgements after each durable flush).

Both see the same payloads from the same publisher, which shares the two cores with them.
Run: ``python benchmarks/bench_sparkplug.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_mqtt import start_broker
from twinverse.ingest.sparkplug import SparkplugHost
from twinverse.ingest.sparkplug_edge import Device, EdgeNode
from twinverse.ingest.sparkplug_pb import DataType, Payload
from twinverse.ingest.spec import build_field_sources
from twinverse.live.engine import Engine
from twinverse.model import loads_plant
from twinverse.store.duckdb import DuckDBStore


def plant_text(port: int, n: int) -> str:
    signals = "".join(f"      m{i}: {{}}\n" for i in range(n))
    return (f"plant: bench\ntypes:\n  dev:\n    signals:\n{signals}twins:\n  - {{id: d1, type: dev}}\n"
            f"sources:\n  spb:\n    kind: sparkplug\n    url: mqtt://127.0.0.1:{port}\n    buffer: 2000000\n"
            "    devices:\n      - {group: G, node: E1, device: d1, twin: d1}\n")  # fmt: skip


def payloads(edge: EdgeNode, n: int, m: int, first_seq: int) -> list[bytes]:
    base = int(time.time() * 1000) - 3_600_000
    return [edge.payload("d1", {f"m{i}": (k * 7 + i) * 0.25 for i in range(n)}, ts_ms=base + k, seq=first_seq + k)
            for k in range(m)]  # fmt: skip


def publish(port: int, topic: str, data: list[bytes]) -> threading.Thread:
    def run() -> None:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-pub", protocol=mqtt.MQTTv5)
        c.max_inflight_messages_set(200)
        c.max_queued_messages_set(0)
        c.connect("127.0.0.1", port)
        c.loop_start()
        infos = [c.publish(topic, d, qos=1) for d in data]
        for info in infos:
            info.wait_for_publish(60)
        c.disconnect()
        c.loop_stop()

    t = threading.Thread(target=run, daemon=True)
    return t


def bare(port: int, topic: str, data: list[bytes], n: int) -> float:
    """Seconds for a bare paho subscriber to receive and decode every payload with protobuf."""
    got = [0]
    done = threading.Event()
    ready = threading.Event()

    def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        p = Payload.FromString(msg.payload)
        aliases = [x.alias for x in p.metrics]
        vals = [x.double_value for x in p.metrics]
        got[0] += len(aliases) if len(vals) == len(aliases) else 0
        if got[0] >= len(data) * n:
            done.set()

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", protocol=mqtt.MQTTv5)
    c.on_message = on_message
    c.on_subscribe = lambda *a: ready.set()
    c.on_connect = lambda cl, *a: cl.subscribe("bench/#", qos=1)
    c.connect("127.0.0.1", port)
    c.loop_start()
    ready.wait(10)
    pub = publish(port, topic, data)
    t0 = time.perf_counter()
    pub.start()
    if not done.wait(600):
        sys.exit(f"bare subscriber got {got[0]} of {len(data) * n} metrics")
    elapsed = time.perf_counter() - t0
    pub.join()
    c.disconnect()
    c.loop_stop()
    return elapsed


def host(port: int, n: int, m: int, work: Path, run: int) -> tuple[float, float]:
    """Seconds until the host has stored every metric of ``m`` DDATA, and the bare baseline in between."""
    plant = loads_plant(plant_text(port, n))
    engine = Engine(plant, DuckDBStore(work / f"bench{run}.duckdb"))
    [src] = build_field_sources(plant)
    assert isinstance(src, SparkplugHost)
    src.start(engine)
    while not src.connected:
        time.sleep(0.01)
    edge = EdgeNode(f"mqtt://127.0.0.1:{port}", "G", "E1",
                    [Device("d1", tuple((f"m{i}", DataType.DOUBLE, None) for i in range(n)))],
                    client_id=f"bench-edge-{run}").start()  # fmt: skip
    while src.births < 2:
        time.sleep(0.01)
    edge.publish("d1", {f"m{i}": 0.0 for i in range(n)})  # warm-up: the compiled scan is loaded on first use
    while src.stored < n:
        time.sleep(0.01)
    target = src.stored + m * n
    data = payloads(edge, n, m, edge.seq)
    topic = edge.topic("DDATA", "d1")
    base = bare(port, "bench/" + topic, data, n)  # outside spBv1.0/: the host does not see the baseline's
    pub = publish(port, topic, data)
    t0 = time.perf_counter()
    pub.start()
    while src.stored < target:
        time.sleep(0.002)
    elapsed = time.perf_counter() - t0
    pub.join()
    health = src.health()
    edge.stop()
    src.stop()
    engine.close()
    engine.store.close()
    assert health["rebirths_requested"] == 0 and health["decode_errors"] == 0, health
    return elapsed, base


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--metrics", type=int, default=1000, help="metrics per DDATA (one device)")
    ap.add_argument("--messages", type=int, default=200, help="DDATA payloads per run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.messages, a.runs = 20, 1
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        proc, port = start_broker(work)
        try:
            twin_s, bare_s = [], []
            for run in range(a.runs):
                t, b = host(port, a.metrics, a.messages, work, run)
                twin_s.append(t)
                bare_s.append(b)
        finally:
            proc.terminate()
            proc.wait(10)
    total = a.metrics * a.messages
    tv, bb = total / statistics.median(twin_s), total / statistics.median(bare_s)
    print(f"Sparkplug B DDATA: {a.messages} payloads x {a.metrics} Double metrics, QoS 1, {a.runs} run(s), median")
    print("| consumer | metrics/s | ratio |")
    print("|---|---:|---:|")
    print(f"| bare paho + protobuf decode (baseline) | {bb:,.0f} | 1.00 |")
    print(f"| twinverse SparkplugHost, stored in DuckDB | {tv:,.0f} | {tv / bb:.2f} |")


if __name__ == "__main__":
    main()
