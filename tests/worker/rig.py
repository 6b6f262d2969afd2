"""Helpers of the worker tests: known points, publishers for mosquitto and JetStream, and PostgreSQL counts."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import run_coroutine
from twinverse.model import Plant

T = TypeVar("T")



ROOT = Path(__file__).resolve().parents[2]
SIGNALS = [("bottling/line1/filler", "speed"), ("bottling/line1/capper", "speed"),
           ("bottling/line1/labeller", "speed"), ("bottling/line1/packer", "speed")]  # fmt: skip

Message = tuple[str, list[dict[str, float]]]


def messages(n: int, points: int, base_ms: int | None = None) -> list[Message]:
    """``n`` messages of ``points`` points each, round the four signals; every (signal, ts) distinct."""
    base = base_ms if base_ms is not None else int(time.time() * 1000) - 86_400_000
    out = []
    for m in range(n):
        twin, signal = SIGNALS[m % len(SIGNALS)]
        k0 = (m // len(SIGNALS)) * points
        out.append((f"twinverse/{twin}/{signal}", [{"ts": base + k0 + i, "value": ((k0 + i) % 2400) / 2}
                                                    for i in range(points)]))  # fmt: skip
    return out


def expected(plant: Plant, msgs: list[Message]) -> set[tuple[int, int, float]]:
    """(sid, ts µs, value) of every point of ``msgs``."""
    out: set[tuple[int, int, float]] = set()
    for topic, pts in msgs:
        twin, signal = topic.removeprefix("twinverse/").rsplit("/", 1)
        sid = plant.signals.sid(twin, signal)
        out.update((sid, int(p["ts"]) * 1000, float(p["value"])) for p in pts)
    return out


class MqttPub:
    """A QoS 1 publisher; :meth:`wait` returns once the broker acknowledged everything."""

    def __init__(self, port: int) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.sent: list[mqtt.MQTTMessageInfo] = []

    def publish(self, msg: Message) -> None:
        self.sent.append(self.client.publish(msg[0], orjson.dumps(msg[1]), qos=1))

    def wait(self) -> int:
        for info in self.sent:
            info.wait_for_publish(60)
        self.client.disconnect()
        self.client.loop_stop()
        return sum(1 for i in self.sent if i.is_published() and i.rc == mqtt.MQTT_ERR_SUCCESS)


def nats_publish(
    url: str, msgs: list[Message], prefix: str, *, between: Callable[[int], None] | None = None
) -> int:
    """Publish to JetStream (``<prefix>.<twin>.<signal>``), awaiting every PubAck; returns the acked count.

    Each test has its own prefix (and stream): streams on one server may not share subjects.
    """
    import nats

    async def run() -> int:
        nc = await nats.connect(url)
        js = nc.jetstream()
        acked = 0
        try:
            for i, (topic, pts) in enumerate(msgs):
                subject = prefix + topic.removeprefix("twinverse").replace("/", ".")
                await js.publish(subject, orjson.dumps(pts))
                acked += 1
                if between is not None:
                    await asyncio.to_thread(between, i)
        finally:
            await nc.close()
        return acked

    return run_coroutine(run())


def nats_delete_stream(url: str, stream: str) -> None:
    import nats

    async def run() -> None:
        nc = await nats.connect(url)
        try:
            await nc.jetstream().delete_stream(stream)
        except Exception:  # absent already
            pass
        finally:
            await nc.close()

    run_coroutine(run())


def count(url: str) -> tuple[int, int]:
    """(rows, distinct (sid, ts)) in ``points``; (0, 0) before the table exists."""
    with psycopg.connect(url, autocommit=True) as con:
        try:
            row = con.execute("SELECT count(*), count(DISTINCT (sid, ts)) FROM points").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0, 0
    assert row is not None
    return int(row[0]), int(row[1])


def stored(url: str) -> set[tuple[int, int, float]]:
    with psycopg.connect(url, autocommit=True) as con:
        rows = con.execute(
            "SELECT sid, (extract(epoch FROM ts) * 1000000)::bigint, value FROM points"
        ).fetchall()
    return {(int(s), int(t), float(v)) for s, t, v in rows}


def wait_for(what: str, pred: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def worker_process(args: list[str], log: Path, **env: str) -> subprocess.Popen[str]:
    """``python -m twinverse worker ARGS`` from the repo root; stdout is read for its 'running' line."""
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    with log.open("a") as err:
        proc = subprocess.Popen([sys.executable, "-m", "twinverse", "worker", *args], cwd=ROOT, env=full,
                                stdout=subprocess.PIPE, stderr=err, text=True)  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "running" not in line:
        proc.kill()
        proc.wait()
        raise AssertionError(f"worker did not start: {line!r}\n{log.read_text()}")
    return proc
