"""SIGKILL a worker mid-stream on real mosquitto and real JetStream: every published point stored exactly once.

Two worker processes share the stream; one is killed with SIGKILL while QoS 1 / JetStream
data flows (it holds messages received but not stored, and maybe stored but not yet
acknowledged), another is started, and at the end the store holds every point the broker
acknowledged to the publisher, once, with its value.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Broker, need, wait_port
from tests.worker.rig import MqttPub, count, expected, messages, nats_delete_stream, nats_publish, stored, wait_for
from tests.worker.rig import worker_process as spawn
from twinverse.model import Plant

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt, pytest.mark.slow]

MESSAGES, POINTS = 400, 100  # 40,000 points with distinct (signal, ts)


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait(30)
        if p.stdout is not None:
            p.stdout.close()


def stop(p: subprocess.Popen[str], log: Path) -> str:
    """Stop a worker cleanly; its closing line (points received, stored, rejected, commits)."""
    p.terminate()
    assert p.wait(60) == 0, log.read_text()
    assert p.stdout is not None
    last = p.stdout.read().strip().splitlines()
    print(last[-1] if last else "")  # shown with -s: how many redelivered points the key absorbed
    return last[-1] if last else ""


def test_sigkill_mqtt_worker_mid_stream(
    plant: Plant, bottling_path: Path, broker: Broker, pg_url: str, tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    log = tmp_path / "workers.log"
    args = ["--plant", str(bottling_path), "--store", pg_url, "--broker", broker.url, "--group", "crash"]
    first, other = spawn([*args, "--id", "1"], log), spawn([*args, "--id", "2"], log)
    procs += [first, other]
    msgs = messages(MESSAGES, POINTS)
    pub = MqttPub(broker.port)
    killed_at = -1
    for i, m in enumerate(msgs):
        pub.publish(m)
        if i % 10 == 9:
            time.sleep(0.01)  # a steady stream rather than one burst
        if i == MESSAGES // 2:
            wait_for("a first commit", lambda: count(pg_url)[0] > 0, 60)
            first.kill()  # SIGKILL: no flush, no acks, no goodbye
            first.wait(30)
            killed_at = count(pg_url)[0]
    assert pub.wait() == MESSAGES  # the broker acknowledged every message
    again = spawn([*args, "--id", "1"], log)  # the same slot: resumes the dead worker's session
    procs.append(again)
    total = MESSAGES * POINTS
    wait_for("every point stored", lambda: count(pg_url)[0] >= total, 120)
    stop(again, log)
    stop(other, log)
    assert 0 < killed_at < total, "the kill did not land mid-stream"
    assert count(pg_url) == (total, total)  # exactly once: rows == distinct (sid, ts) == published
    assert stored(pg_url) == expected(plant, msgs)  # and each with its value


@pytest.fixture
def stream() -> Iterator[str]:
    need(wait_port(4222, 1.0), "no NATS server on 127.0.0.1:4222")
    name = f"tvcrash_{uuid.uuid4().hex[:10]}"
    yield name
    nats_delete_stream("nats://127.0.0.1:4222", name)


def test_sigkill_jetstream_worker_mid_stream(
    plant: Plant, bottling_path: Path, stream: str, pg_url: str, tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    log = tmp_path / "workers.log"
    url = "nats://127.0.0.1:4222"
    args = ["--plant", str(bottling_path), "--store", pg_url, "--nats", url, "--stream", stream]
    # Redelivery of what the dead worker held after 2 s; subjects of this test's own.
    env = {"TWINVERSE_NATS_ACK_WAIT": "2", "TWINVERSE_MQTT_TOPIC": stream + "/{twin}/{signal}"}
    first, other = spawn([*args, "--id", "1"], log, **env), spawn([*args, "--id", "2"], log, **env)
    procs += [first, other]
    msgs = messages(MESSAGES, POINTS)
    killed: list[int] = []

    def between(i: int) -> None:
        if i % 10 == 9:
            time.sleep(0.01)
        if i == MESSAGES // 2:
            wait_for("a first commit", lambda: count(pg_url)[0] > 0, 60)
            first.kill()
            first.wait(30)
            killed.append(count(pg_url)[0])

    assert nats_publish(url, msgs, stream, between=between) == MESSAGES  # every message acknowledged by JetStream
    procs.append(spawn([*args, "--id", "3"], log, **env))
    total = MESSAGES * POINTS
    wait_for("every point stored", lambda: count(pg_url)[0] >= total, 120)
    stop(procs[-1], log)
    stop(other, log)
    assert 0 < killed[0] < total, "the kill did not land mid-stream"
    assert count(pg_url) == (total, total)
    assert stored(pg_url) == expected(plant, msgs)
