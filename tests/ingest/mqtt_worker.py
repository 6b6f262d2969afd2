"""A twinverse ingest process for the crash test: DuckDB file store, engine, MQTT connector.

Usage: ``python -m tests.ingest.mqtt_worker PLANT DB BROKER_URL CLIENT_ID [LINGER_S]`` (from the
repo root). A long linger widens the window between receiving a message and storing it: the
window in which a crash would lose data, were messages acknowledged on receipt.
Prints ``ready <rows>`` once subscribed and ``stored <rows>`` after every durable flush; stops
cleanly on SIGTERM (the test kills it with SIGKILL mid-stream instead).
"""

from __future__ import annotations

import signal
import sys
import threading

import pyarrow as pa

from twinverse.ingest.mqtt import MqttConnector
from twinverse.live.engine import Engine
from twinverse.model import load_plant
from twinverse.store.duckdb import DuckDBStore


def main(plant_path: str, db: str, url: str, client_id: str, linger: str = "0.025") -> None:
    store = DuckDBStore(db)
    engine = Engine(load_plant(plant_path), store)

    def report(batch: pa.RecordBatch) -> None:  # runs after each append has returned (durable)
        print(f"stored {store.count()}", flush=True)

    engine.subscribe(report)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    connector = MqttConnector(url, client_id=client_id, interval=float(linger), idle=float(linger))
    connector.start(engine)
    print(f"ready {store.count()}", flush=True)
    done.wait()
    connector.stop()
    store.close()
    print("stopped", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:6])
