"""MQTT ingest throughput: the twinverse connector end to end against a bare paho subscriber.

Both consumers read the same M messages of 100 points each (JSON arrays of ``{ts, value}``
objects on ``twinverse/<twin>/<signal>`` topics of the bottling plant) at QoS 1 from a private
mosquitto (no queue limit, so nothing is dropped). The messages are published while the
consumer's persistent session is offline, then the consumer connects and drains them, so
the publisher does not compete for the CPU during the measurement.

- baseline: a bare paho subscriber that receives, parses (orjson) and counts the points;
- twinverse: :class:`MqttConnector` into an :class:`Engine` with a DuckDB file store, timed
  until the store holds every point (acknowledgements after each durable flush).

Run: ``python benchmarks/bench_mqtt.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from twinverse.ingest.mqtt import MqttConnector, MqttStats
from twinverse.live.engine import Engine
from twinverse.model import Plant, load_plant
from twinverse.model.types import KindCode
from twinverse.platform import example_path
from twinverse.store.duckdb import DuckDBStore

TOPIC = "twinverse/#"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_broker(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A private mosquitto: unlimited queue and in-flight window, no persistence needed."""
    if shutil.which("mosquitto") is None:
        sys.exit("mosquitto is not installed (apt-get install mosquitto)")
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
        "max_inflight_messages 0\npersistence false\n"
    )
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.05)
    proc.kill()
    sys.exit("mosquitto did not start")


def make_messages(plant: Plant, n_messages: int, n_points: int, seed: int) -> list[tuple[str, bytes]]:
    """Messages over the plant's float signals; timestamps distinct per signal, values in range."""
    rng = np.random.default_rng(seed)
    idx = plant.signals
    sids = [s for s in range(len(idx)) if idx.kind[s] == KindCode.FLOAT]
    base = int(time.time() * 1000) - 7 * 86_400_000  # a week ago, so no timestamp lies in the future
    out = []
    for i in range(n_messages):
        s = sids[i % len(sids)]
        k = i // len(sids)
        lo, hi = float(idx.lo[s]), float(idx.hi[s])
        values = rng.uniform(lo, hi, n_points).round(3)
        ts0 = base + k * n_points
        points = [{"ts": ts0 + j, "value": float(v)} for j, v in enumerate(values)]
        out.append((f"twinverse/{idx.twin[s]}/{idx.name[s]}", orjson.dumps(points)))
    return out


def session_props() -> Properties:
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 65535
    return props


def prime_session(port: int, client_id: str) -> None:
    """Create the persistent session with its subscription, then go offline."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    done = threading.Event()
    c.on_subscribe = lambda *a: done.set()
    c.on_connect = lambda cl, *a: cl.subscribe(TOPIC, options=SubscribeOptions(qos=1))
    c.connect("127.0.0.1", port, clean_start=True, properties=session_props())
    c.loop_start()
    if not done.wait(10):
        sys.exit("subscription not acknowledged")
    c.disconnect()
    c.loop_stop()


def publish_all(port: int, messages: list[tuple[str, bytes]]) -> float:
    """Publish at QoS 1 and wait for every PUBACK; returns seconds taken."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    acked = 0
    cond = threading.Condition()

    def on_publish(*_: object) -> None:
        nonlocal acked
        with cond:
            acked += 1
            cond.notify_all()

    c.on_publish = on_publish
    c.connect("127.0.0.1", port)
    c.loop_start()
    t0 = time.perf_counter()
    for topic, payload in messages:
        c.publish(topic, payload, qos=1)
    with cond:
        if not cond.wait_for(lambda: acked >= len(messages), 120):
            sys.exit(f"publisher: only {acked} of {len(messages)} acknowledged")
    dt = time.perf_counter() - t0
    c.disconnect()
    c.loop_stop()
    return dt


def run_bare(port: int, total: int) -> float:
    """Baseline: connect the primed session, receive + orjson-parse until every point arrived."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", protocol=mqtt.MQTTv5)
    count = 0
    done = threading.Event()

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal count
        count += len(orjson.loads(msg.payload))
        if count >= total:
            done.set()

    c.on_message = on_message
    t0 = time.perf_counter()
    c.connect("127.0.0.1", port, clean_start=False, properties=session_props())
    c.loop_start()
    if not done.wait(300):
        sys.exit(f"bare subscriber: only {count} of {total} points")
    dt = time.perf_counter() - t0
    c.disconnect()
    c.loop_stop()
    return dt


def run_twinverse(port: int, plant: Plant, total: int, db: Path) -> tuple[float, int, MqttStats]:
    """The connector into an engine with a DuckDB file store, until the store holds every point."""
    store = DuckDBStore(db)
    engine = Engine(plant, store)
    stored = 0
    done = threading.Event()

    def on_batch(batch: object) -> None:  # called after each durable store append
        nonlocal stored
        stored += batch.num_rows  # type: ignore[attr-defined]
        if stored >= total:
            done.set()

    engine.subscribe(on_batch)
    conn = MqttConnector(f"mqtt://127.0.0.1:{port}", client_id="bench-twinverse", session_expiry=3600)
    t0 = time.perf_counter()
    conn.start(engine)
    if not done.wait(300):
        sys.exit(f"twinverse: only {stored} of {total} points stored")
    dt = time.perf_counter() - t0
    conn.stop()
    rows = store.count()
    stats = conn.stats()
    store.close()
    return dt, rows, stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=4000, help="messages per run (default 4000)")
    ap.add_argument("--points", type=int, default=100, help="points per message (default 100)")
    ap.add_argument("--rounds", type=int, default=3, help="baseline and twinverse runs, interleaved (default 3)")
    ap.add_argument("--quick", action="store_true", help="500 messages, one round: a smoke run")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    n_msg, rounds = (500, 1) if args.quick else (args.messages, args.rounds)
    plant = load_plant(example_path("bottling.yaml"))
    messages = make_messages(plant, n_msg, args.points, args.seed)
    total = n_msg * args.points
    size = sum(len(p) for _, p in messages) / n_msg
    print(f"MQTT ingest: {n_msg} messages x {args.points} points ({size / 1024:.1f} KiB each), QoS 1, "
          f"private mosquitto, {rounds} round(s)")
    bare_rates: list[float] = []
    tv_rates: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-mqtt-") as tmp:
        work = Path(tmp)
        broker, port = start_broker(work)
        try:
            prime_session(port, "bench-bare")
            prime_session(port, "bench-twinverse")
            for r in range(rounds):
                # Both sessions are subscribed and offline: the broker queues every message for each.
                pub_s = publish_all(port, messages)
                bare_s = run_bare(port, total)
                tv_s, rows, stats = run_twinverse(port, plant, total, work / f"bench-{r}.duckdb")
                if rows != total:
                    sys.exit(f"store holds {rows} of {total} points")
                bare_rates.append(total / bare_s)
                tv_rates.append(total / tv_s)
                print(f"  round {r + 1}: publish {n_msg / pub_s:8,.0f} msg/s | baseline {bare_rates[-1]:11,.0f} "
                      f"points/s | twinverse {tv_rates[-1]:11,.0f} points/s ({stats.flushes} flushes) "
                      f"| {tv_rates[-1] / bare_rates[-1]:.0%}")
        finally:
            broker.terminate()
            broker.wait(10)
    bare, tv = statistics.median(bare_rates), statistics.median(tv_rates)
    print(f"  baseline: bare paho subscriber + orjson    {bare:12,.0f} points/s (median)")
    print(f"  twinverse: MqttConnector -> Engine -> DuckDB {tv:10,.0f} points/s (median, until stored)")
    print(f"  ratio twinverse / baseline                 {tv / bare:12.0%}  (targets: >= 100,000 points/s, >= 50%)")


if __name__ == "__main__":
    main()
