"""Ingest workers: points/s with 1 and 2 ``twinverse worker`` processes, beside their baselines, and a model.

One run measures, on the same messages (JSON arrays of ``{ts, value}`` objects, 100 points
each, on ``twinverse/<twin>/<signal>`` topics of the bottling plant), QoS 1, a private
mosquitto with unlimited queues, and the machine's PostgreSQL (a fresh database per drain):

- **bare fan-out** (the broker's own rate): a bare paho subscriber that only counts messages,
  and ``mosquitto_sub`` (C) draining the same queue, so the client is not the limit;
- **single process**: the in-process :class:`MqttConnector` → :class:`Engine` →
  :class:`PostgresStore`, the path of ``twinverse serve --broker`` (no live table);
- **1 worker / 2 workers**: ``twinverse worker`` processes on one shared subscription
  (``$share/<group>/twinverse/#``), each append also upserting ``live_latest`` and NOTIFYing;
- with ``--nats``: the same for JetStream (a bare pull consumer that fetches and acks, then 1
  and 2 workers on one durable consumer).

Every consumer's session is subscribed and offline while the messages are published, so the
broker queues a copy for each and the publisher does not compete for the CPU; then each
consumer drains its copy in turn. A drain's rate runs from the moment the consumer has
connected (a worker process's "running" line; the second worker may connect a little later)
until PostgreSQL's row count, polled every 20 ms, reaches every point; the bare subscriber's
from its first message to its last.

Then the store alone (no broker), on 100k-point batches: fresh rows by binary COPY, the same
rows again (every one a redelivery: the staging + ``ON CONFLICT DO NOTHING`` path), and fresh
rows with the live table kept — the cost of idempotence and of shared live state — and the
WAL bytes per point. Last, the analytical model of 8, 32 and 128 workers on a cluster (see
``docs/deployment.md``), fed with the figures just measured.

The machine has 2 cores shared with other work: broker, PostgreSQL, publisher and workers all
compete for them, so 2 workers here cannot show 2x. Ratios are the honest part.

Run: ``python benchmarks/bench_workers.py`` (10,000 messages) or ``--quick`` (2000), ``--nats``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from benchmarks._common import fresh_database, table
from benchmarks.bench_ingest import make_points
from benchmarks.bench_mqtt import make_messages, publish_all, session_props, start_broker
from twinverse.ingest.mqtt import MqttConnector
from twinverse.live.engine import Engine
from twinverse.model import Plant, load_plant
from twinverse.platform import example_path
from twinverse.store.pglive import share_live
from twinverse.store.postgres import PostgresStore

ROOT = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("TWINVERSE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
TOPIC = "twinverse/#"
PLANT = example_path("bottling.yaml")
SCALARS = ("wal bytes/point", "live s/batch", "commit s")  # store_costs keys that are not rates




def rows(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as con:
        try:
            r = con.execute("SELECT count(*) FROM points").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
    return int(r[0]) if r else 0


def drain_rate(url: str, total: int, t0: float, timeout: float = 600) -> float:
    """Points/s from ``t0`` (the consumer connected) until PostgreSQL holds ``total`` rows (polled every 20 ms)."""
    deadline = time.monotonic() + timeout
    while (n := rows(url)) < total and time.monotonic() < deadline:
        time.sleep(0.02)
    if n != total:
        sys.exit(f"store holds {n} of {total} points")
    return total / (time.perf_counter() - t0)


def prime(port: int, client_id: str, subscription: str) -> None:
    """A persistent session with its subscription, then offline: the broker queues for it."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    done = threading.Event()
    c.on_subscribe = lambda *a: done.set()
    c.on_connect = lambda cl, *a: cl.subscribe(subscription, options=SubscribeOptions(qos=1))
    c.connect("127.0.0.1", port, clean_start=True, properties=session_props())
    c.loop_start()
    if not done.wait(10):
        sys.exit(f"subscription {subscription} not acknowledged")
    c.disconnect()
    c.loop_stop()


def bare_mqtt(port: int, n_messages: int) -> float:
    """The broker's fan-out: count messages of a queued session (no parsing), messages/s."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", protocol=mqtt.MQTTv5)
    got, done, first = 0, threading.Event(), [0.0]

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal got
        got += 1
        if got == 1:
            first[0] = time.perf_counter()
        if got >= n_messages:
            done.set()

    c.on_message = on_message
    c.connect("127.0.0.1", port, clean_start=False, properties=session_props())
    c.loop_start()
    if not done.wait(300):
        sys.exit(f"bare subscriber: {got} of {n_messages} messages")
    dt = time.perf_counter() - first[0]
    c.disconnect()
    c.loop_stop()
    return (n_messages - 1) / dt


def bare_mqtt_c(port: int, n_messages: int) -> float | None:
    """The same with ``mosquitto_sub`` (a C client, so the client is not the limit), messages/s."""
    import shutil

    if shutil.which("mosquitto_sub") is None:
        return None
    t = time.perf_counter()
    subprocess.run(["mosquitto_sub", "-V", "mqttv5", "-h", "127.0.0.1", "-p", str(port), "-i", "bench-bare-c", "-c",
                    "-x", "3600", "-q", "1", "-t", TOPIC, "-C", str(n_messages)],
                   stdout=subprocess.DEVNULL, check=True, timeout=300)  # fmt: skip
    return n_messages / (time.perf_counter() - t)


def single_process(port: int, plant: Plant, url: str, total: int) -> float:
    store = PostgresStore(url)
    engine = Engine(plant, store)
    conn = MqttConnector(f"mqtt://127.0.0.1:{port}", client_id="bench-single", session_expiry=3600)
    conn.start(engine)
    try:
        return drain_rate(url, total, time.perf_counter())
    finally:
        conn.stop()
        engine.close()
        store.close()


def spawn(args: list[str], log: Path, **env: str) -> subprocess.Popen[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    with log.open("a") as err:
        return subprocess.Popen([sys.executable, "-m", "twinverse", "worker", *args], cwd=ROOT, env=full,
                                stdout=subprocess.PIPE, stderr=err, text=True)  # fmt: skip


def workers(args: Callable[[int], list[str]], n: int, url: str, total: int, log: Path, **env: str) -> float:
    procs = [spawn(args(i), log, **env) for i in range(1, n + 1)]
    try:
        # From the first worker's "running" line (it has connected and is draining) to the last row.
        first = procs[0].stdout.readline() if procs[0].stdout is not None else ""
        t0 = time.perf_counter()
        if "running" not in first:
            sys.exit(f"worker did not start: {first!r}\n{log.read_text()}")
        return drain_rate(url, total, t0)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(60)
            if p.stdout is not None:
                p.stdout.close()


# -- JetStream --------------------------------------------------------------------------------
NATS = "nats://127.0.0.1:4222"


def nats_publish(stream: str, messages: list[tuple[str, bytes]]) -> None:
    import nats

    async def run() -> None:
        nc = await nats.connect(NATS)
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{stream}.>"])  # subjects of its own: streams may not overlap
        for i in range(0, len(messages), 500):
            acks = [js.publish(stream + t.removeprefix("twinverse").replace("/", "."), p)
                    for t, p in messages[i : i + 500]]  # fmt: skip
            await asyncio.gather(*acks)
        await nc.close()

    asyncio.run(run())


def nats_bare(stream: str, n_messages: int) -> float:
    """A bare pull consumer: fetch 1000 at a time and ack each, messages/s."""
    import nats

    async def run() -> float:
        nc = await nats.connect(NATS)
        sub = await nc.jetstream().pull_subscribe(f"{stream}.>", durable="bench-bare", stream=stream)
        got, t0 = 0, time.perf_counter()
        while got < n_messages:
            for m in await sub.fetch(1000, timeout=5):
                await m.ack()
                got += 1
        await nc.flush()
        dt = time.perf_counter() - t0
        await nc.close()
        return n_messages / dt

    return asyncio.run(run())


def nats_delete(stream: str) -> None:
    import nats

    async def run() -> None:
        nc = await nats.connect(NATS)
        await nc.jetstream().delete_stream(stream)
        await nc.close()

    asyncio.run(run())


# -- the store alone --------------------------------------------------------------------------
def store_costs(plant: Plant, n: int, rounds: int = 2) -> dict[str, float]:
    """Points/s of fresh COPY, all-redelivered merge, fresh with the live table (best of interleaved
    rounds); WAL bytes per point; seconds per 100k-point batch spent keeping the live table."""
    points = make_points(plant, n, seed=3)
    batches = [points.slice(i, 100_000).sort_by([("sid", "ascending"), ("ts", "ascending")])
               for i in range(0, n, 100_000)]  # fmt: skip
    out: dict[str, float] = {}

    def timed(key: str, store: PostgresStore) -> None:
        t = time.perf_counter()
        for b in batches:
            store.append(b)
        out[key] = max(out.get(key, 0.0), n / (time.perf_counter() - t))

    def wal(url: str) -> int:
        with psycopg.connect(url, autocommit=True) as con:
            r = con.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()
        return int(r[0]) if r else 0

    live_s: list[float] = []
    for _ in range(rounds):
        with fresh_database(SERVER) as url:
            s = PostgresStore(url)
            w0 = wal(url)
            timed("fresh COPY", s)
            out["wal bytes/point"] = (wal(url) - w0) / n
            s.close()
            s = PostgresStore(url)  # watermarks from the table: every row is now a redelivery
            timed("redelivered (staging + ON CONFLICT DO NOTHING)", s)
            assert s.count() == n
            s.close()
        with fresh_database(SERVER) as url:
            s = PostgresStore(url)
            table_ = share_live(s)

            def keep(con: psycopg.Connection[object], body: object, table_: object = table_) -> None:
                t = time.perf_counter()
                table_(con, body)  # type: ignore[operator]
                live_s.append(time.perf_counter() - t)

            s.after_write = [keep]
            timed("fresh COPY + live table (upsert, NOTIFY)", s)
            s.close()
    out["live s/batch"] = min(live_s)
    with fresh_database(SERVER) as url, psycopg.connect(url, autocommit=True) as con:  # one commit's WAL flush
        con.execute("CREATE TABLE c (x int)")
        commits = []
        for i in range(50):
            con.execute("BEGIN")
            con.execute("INSERT INTO c VALUES (%s)", (i,))
            t = time.perf_counter()
            con.execute("COMMIT")
            commits.append(time.perf_counter() - t)
        out["commit s"] = sorted(commits)[len(commits) // 2]
    return out


# -- the model --------------------------------------------------------------------------------
def model(
    worker_rate: float, broker_rate: float, pg_rate: float, wal_bpp: float, sigma: float
) -> list[tuple[str, ...]]:
    """Throughput of N workers on a cluster: the smallest of four ceilings (see docs/deployment.md)."""
    nic = 1.25e9  # 10 GbE, bytes/s
    wire = 2 * 36.0  # JSON bytes per point through the broker's NIC (in from devices + out to a worker)
    wal_disk = 1.0e9  # sustained WAL write of one NVMe primary, bytes/s
    pg_cores = 32
    out = []
    for n in (1, 2, 8, 32, 128):
        limits = {
            "workers": n * worker_rate / (1 + sigma * (n - 1)),  # Amdahl on the live_latest row locks
            "broker": broker_rate,  # one mosquitto: one core, one thread
            "PostgreSQL": min(n, pg_cores) * pg_rate / (1 + sigma * (min(n, pg_cores) - 1)),
            "WAL disk": wal_disk / wal_bpp,
            "network": nic / wire,
        }
        name, value = min(limits.items(), key=lambda kv: kv[1])
        out.append((str(n), *(f"{limits[k]:,.0f}" for k in limits), f"{value:,.0f}", name))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=10_000, help="messages (default 10000, 100 points each)")
    ap.add_argument("--quick", action="store_true", help="2000 messages")
    ap.add_argument("--nats", action="store_true", help="also JetStream (NATS on 127.0.0.1:4222)")
    args = ap.parse_args()
    n_msg = 2000 if args.quick else args.messages
    plant = load_plant(PLANT)
    messages = make_messages(plant, n_msg, 100, seed=7)
    total = n_msg * 100
    print(f"ingest workers: {n_msg} messages x 100 points, QoS 1, private mosquitto, PostgreSQL, "
          f"{os.cpu_count()} cores")  # fmt: skip
    res: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        work = Path(tmp)
        log = work / "workers.log"
        broker, port = start_broker(work)
        try:
            prime(port, "bench-bare", TOPIC)
            prime(port, "bench-bare-c", TOPIC)
            prime(port, "bench-single", TOPIC)
            for n in (1, 2):
                for i in range(1, n + 1):
                    prime(port, f"twinverse-worker-w{n}-{i}", f"$share/w{n}/{TOPIC}")
            publish_all(port, messages)
            res["mqtt: bare fan-out (broker)"] = bare_mqtt(port, n_msg) * 100
            c_rate = bare_mqtt_c(port, n_msg)
            if c_rate is not None:
                res["mqtt: bare fan-out, mosquitto_sub (C)"] = c_rate * 100
            with fresh_database(SERVER) as url:
                res["mqtt: single process (serve)"] = single_process(port, plant, url, total)
            for n in (1, 2):
                with fresh_database(SERVER) as url:
                    def wargs(i: int, n: int = n, url: str = url) -> list[str]:
                        return ["--id", str(i), "--plant", str(PLANT), "--store", url,
                                "--broker", f"mqtt://127.0.0.1:{port}", "--group", f"w{n}"]  # fmt: skip

                    res[f"mqtt: {n} worker{'s' if n > 1 else ''}"] = workers(wargs, n, url, total, log)
        finally:
            broker.terminate()
            broker.wait(10)
        if args.nats:
            stream = f"bench_{uuid.uuid4().hex[:8]}"
            nats_publish(stream, messages)
            try:
                res["jetstream: bare pull consumer"] = nats_bare(stream, n_msg) * 100
                for n in (1, 2):
                    with fresh_database(SERVER) as url:
                        def jargs(i: int, n: int = n, url: str = url) -> list[str]:
                            return ["--id", str(i), "--plant", str(PLANT), "--store", url, "--nats", NATS,
                                    "--stream", stream, "--durable", f"bench-w{n}"]  # fmt: skip

                        res[f"jetstream: {n} worker{'s' if n > 1 else ''}"] = workers(
                            jargs, n, url, total, log, TWINVERSE_MQTT_TOPIC=stream + "/{twin}/{signal}"
                        )
            finally:
                nats_delete(stream)
    bare = res["mqtt: bare fan-out (broker)"]
    single = res["mqtt: single process (serve)"]
    print(table([(k, f"{v:,.0f}", f"{v / single:.0%}", f"{v / bare:.0%}") for k, v in res.items()],
                ("path", "points/s", "vs single process", "vs bare fan-out")))  # fmt: skip
    costs = store_costs(plant, 1_000_000 if not args.quick else 300_000)
    fresh = costs["fresh COPY"]
    print("\nPostgresStore alone, 100k-point batches sorted by (sid, ts), best of 2 interleaved rounds:")
    print(table([(k, f"{v:,.0f}", f"{v / fresh:.0%}") for k, v in costs.items() if k not in SCALARS],
                ("append", "points/s", "vs fresh COPY")))  # fmt: skip
    print(f"WAL per point: {costs['wal bytes/point']:.0f} bytes; live table: {costs['live s/batch'] * 1e3:.1f} ms "
          f"per batch ({len(plant.signals)} signals); a commit: {costs['commit s'] * 1e3:.2f} ms (median)")
    one = res["mqtt: 1 worker"]
    # The serial fraction: the share of a worker's time per 100k-point batch spent holding
    # live_latest row locks (upsert and NOTIFY, then the commit's WAL flush).
    sigma = (costs["live s/batch"] + costs["commit s"]) / (100_000 / one)
    broker_cap = res.get("mqtt: bare fan-out, mosquitto_sub (C)", bare)
    print(f"\nmodel of a cluster (inputs measured above: 1 worker {one:,.0f} points/s, broker {broker_cap:,.0f}, "
          f"PostgreSQL per writer {fresh:,.0f}, serial fraction {sigma:.2f}; 10 GbE, 1 GB/s WAL, 32-core primary):")
    print(table(model(one, broker_cap, fresh, costs["wal bytes/point"], sigma),
                ("workers", "worker CPU", "broker", "PostgreSQL", "WAL disk", "network", "points/s", "bottleneck")))


if __name__ == "__main__":
    main()
