"""Live state across processes: a worker stores, a separate API process serves it and pushes deltas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from websockets.sync.client import connect

from tests.conftest import Broker, free_port, wait_port
from tests.worker.rig import ROOT, MqttPub, wait_for
from twinverse.config import Settings
from twinverse.live.engine import Engine
from twinverse.model import Plant
from twinverse.store.pglive import LiveFollower, decode_delta, encode_delta, share_live
from twinverse.store.postgres import PostgresStore
from twinverse.worker import Worker

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt]

F = "bottling/line1/filler"


def test_delta_payloads_round_trip_in_chunks() -> None:
    n = 1000
    sid, ts = np.arange(n), np.arange(n) * 1_000 + 1_700_000_000_000_000
    payloads = encode_delta(sid, ts, sid * 0.5, sid % 3)
    assert len(payloads) > 1 and all(len(p) < 8000 for p in payloads)
    cols = [np.concatenate(c) for c in zip(*(decode_delta(p) for p in payloads), strict=True)]
    assert cols[0].tolist() == sid.tolist() and cols[1].tolist() == ts.tolist()
    assert cols[2].tolist() == (sid * 0.5).tolist() and cols[3].tolist() == (sid % 3).tolist()


def test_a_follower_sees_what_another_store_commits(plant: Plant, pg_url: str) -> None:
    """Two stores on one database: the second engine follows the first's appends, newest wins."""
    from twinverse.core import make_batch

    writer = PostgresStore(pg_url)
    share_live(writer)
    engine = Engine(plant, writer)
    reader = PostgresStore(pg_url)
    follower_engine = Engine(plant, reader)
    seen: list[int] = []
    follower_engine.subscribe(lambda b: seen.append(b.num_rows))
    sid = plant.signals.sid(F, "speed")
    t = int(time.time() * 1e6)
    engine.ingest(make_batch([t - 2_000_000], [sid], [10.0]))  # before the follower: read from the table
    follower = LiveFollower(pg_url, follower_engine.follow)
    follower.start()
    try:
        assert follower_engine.value[sid] == 10.0
        engine.ingest(make_batch([t, t - 1_000_000], [sid, sid], [12.0, 11.0]))  # the newest of the batch wins
        wait_for("the notification", lambda: follower_engine.value[sid] == 12.0, 30)
        assert follower_engine.ts[sid] == t
        engine.ingest(make_batch([t - 5_000_000], [sid], [99.0]))  # late data: stored, not live
        engine.ingest(make_batch([t + 1], [plant.signals.sid(F, "state")], [3.0]))
        wait_for("the second notification", lambda: follower_engine.ts[plant.signals.sid(F, "state")] == t + 1, 30)
        assert follower_engine.value[sid] == 12.0
        assert follower.notifications >= 2 and sum(seen) >= 2
    finally:
        follower.stop()
        engine.close()
        follower_engine.close()
        writer.close()
        reader.close()


def test_the_follower_survives_bad_notifications_and_a_lost_connection(plant: Plant, pg_url: str) -> None:
    """Garbage on the channel is ignored; after its backend is killed it reconnects and reads the table."""
    import psycopg

    from twinverse.core import make_batch

    writer = PostgresStore(pg_url)
    share_live(writer)
    engine = Engine(plant, writer)
    reader = PostgresStore(pg_url)
    follower_engine = Engine(plant, reader)
    follower = LiveFollower(pg_url, follower_engine.follow, retry=0.1)
    follower.start()
    sid = plant.signals.sid(F, "speed")
    t = int(time.time() * 1e6)
    try:
        with psycopg.connect(pg_url, autocommit=True) as con:
            con.execute("NOTIFY twinverse_live, 'not a delta!'")
            engine.ingest(make_batch([t], [sid], [5.0]))
            wait_for("the delta after the garbage", lambda: follower_engine.value[sid] == 5.0, 30)
            con.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'twinverse-live-follower' AND datname = current_database()"
            )
            wait_for("the follower to notice", lambda: follower.errors >= 1, 30)
            engine.ingest(make_batch([t + 1], [sid], [6.0]))  # may fall while it reconnects
            wait_for("the resync", lambda: follower_engine.value[sid] == 6.0, 30)
        assert follower.resyncs >= 2
    finally:
        follower.stop()
        for e in (engine, follower_engine):
            e.close()
        writer.close()
        reader.close()


@pytest.fixture
def api(pg_url: str, tmp_path: Path, bottling_path: Path) -> Iterator[str]:
    """``twinverse serve`` in its own process, live values from PostgreSQL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TWINVERSE_LIVE_SOURCE": "postgres", "TWINVERSE_AUTH": "open",
           "TWINVERSE_DATA_DIR": str(tmp_path / "api")}  # fmt: skip
    with (tmp_path / "api.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "twinverse", "serve", "--plant", str(bottling_path), "--store", pg_url,
             "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        if not wait_port(port, 60):
            raise AssertionError((tmp_path / "api.log").read_text())
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)


def test_worker_ingests_and_a_separate_api_process_serves_it(
    plant: Plant, broker: Broker, pg_url: str, tmp_path: Path, api: str
) -> None:
    w = Worker(Settings(data_dir=tmp_path / "w", store=pg_url, broker=broker.url), "1", plant=plant)
    w.start()
    try:
        with connect(f"ws://{api}/ws?twin={F}", open_timeout=10) as ws:
            snap = json.loads(ws.recv(timeout=10))
            assert snap["type"] == "snapshot"
            sid = plant.signals.sid(F, "speed")
            t_ms = int(time.time() * 1000)
            pub = MqttPub(broker.port)
            pub.publish((f"twinverse/{F}/speed", [{"ts": t_ms - 1, "value": 41.0}, {"ts": t_ms, "value": 42.5}]))
            assert pub.wait() == 1
            delta = json.loads(ws.recv(timeout=30))
            assert delta["type"] == "delta"
            assert delta["sid"] == [sid] and delta["value"] == [42.5] and delta["ts"] == [t_ms]
        with urllib.request.urlopen(f"http://{api}/api/twins/{F}/live", timeout=10) as r:
            live = json.loads(r.read())
        speed = next(v for v in live if v["signal"] == "speed")
        assert speed["value"] == 42.5
    finally:
        w.stop()
