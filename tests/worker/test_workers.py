"""Ingest workers on real brokers and PostgreSQL: shared MQTT subscription, JetStream consumer, live table."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import Broker, wait_port
from tests.worker.rig import MqttPub, count, expected, messages, nats_delete_stream, nats_publish, stored, wait_for
from twinverse.config import Settings
from twinverse.errors import ConfigError
from twinverse.model import Plant
from twinverse.worker import Worker

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt]

NATS = "nats://127.0.0.1:4222"


@pytest.fixture
def nats_url() -> str:
    from tests.conftest import need

    need(wait_port(4222, 1.0), "no NATS server on 127.0.0.1:4222")
    return NATS


@pytest.fixture
def stream(nats_url: str) -> Iterator[str]:
    name = f"tvtest_{uuid.uuid4().hex[:10]}"
    yield name
    nats_delete_stream(nats_url, name)


def settings(tmp_path: Path, pg_url: str, **kw: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", store=pg_url, **kw)  # type: ignore[arg-type]


def test_worker_needs_postgres_and_a_stable_id(plant: Plant, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="postgresql://"):
        Worker(Settings(data_dir=tmp_path, store=":memory:", broker="mqtt://127.0.0.1:1"), "1", plant=plant)
    with pytest.raises(ConfigError, match="worker id"):
        Worker(Settings(data_dir=tmp_path, store=":memory:"), "a/b", plant=plant)


def test_two_mqtt_workers_share_one_subscription(plant: Plant, broker: Broker, pg_url: str, tmp_path: Path) -> None:
    s = settings(tmp_path, pg_url, broker=broker.url, worker_group="g1")
    workers = [Worker(s, str(i), plant=plant) for i in (1, 2)]
    assert workers[0].client_id == "twinverse-worker-g1-1"
    assert "$share/g1/twinverse/bottling/#" in workers[0].describe()  # its plant's twins only
    for w in workers:
        w.start()
    try:
        msgs = messages(200, 50)
        pub = MqttPub(broker.port)
        for m in msgs:
            pub.publish(m)
        assert pub.wait() == len(msgs)
        wait_for("every point stored", lambda: count(pg_url)[0] >= 200 * 50)
        received = [w.stats().received for w in workers]
    finally:
        for w in workers:
            w.stop()
    assert count(pg_url) == (10_000, 10_000)
    assert stored(pg_url) == expected(plant, msgs)
    assert sum(received) == 10_000 and min(received) > 0  # the broker split the stream between the two
    # The live table holds each signal's newest point, as the history does.
    with psycopg.connect(pg_url) as con:
        live = con.execute("SELECT sid, value FROM live_latest ORDER BY sid").fetchall()
        newest = con.execute(
            "SELECT DISTINCT ON (sid) sid, value FROM points ORDER BY sid, ts DESC"
        ).fetchall()
    assert live == newest and len(live) == 4


def test_jetstream_workers_share_one_durable_consumer(
    plant: Plant, nats_url: str, stream: str, pg_url: str, tmp_path: Path
) -> None:
    s = settings(tmp_path, pg_url, nats_url=nats_url, nats_stream=stream, nats_durable="d1",
                 mqtt_topic=stream + "/{twin}/{signal}")  # fmt: skip
    workers = [Worker(s, str(i), plant=plant, batch=100) for i in (1, 2)]
    for w in workers:
        w.start()
    try:
        msgs = messages(300, 40)
        assert nats_publish(nats_url, msgs, stream) == 300
        wait_for("every point stored", lambda: count(pg_url)[0] >= 300 * 40)
        received = [w.stats().received for w in workers]
    finally:
        for w in workers:
            w.stop()
    assert count(pg_url) == (12_000, 12_000)
    assert stored(pg_url) == expected(plant, msgs)
    assert sum(received) == 12_000


def test_redelivery_is_stored_once(plant: Plant, nats_url: str, stream: str, pg_url: str, tmp_path: Path) -> None:
    """The same points twice (a publisher retry, a redelivery): the second copy stores nothing."""
    s = settings(tmp_path, pg_url, nats_url=nats_url, nats_stream=stream, mqtt_topic=stream + "/{twin}/{signal}")
    w = Worker(s, "1", plant=plant)
    w.start()
    try:
        msgs = messages(40, 25)
        nats_publish(nats_url, msgs + msgs, stream)
        wait_for("both copies received", lambda: w.stats().received >= 2 * 1000)
    finally:
        w.stop()
    assert w.stats().stored == 1000
    assert count(pg_url) == (1000, 1000)
