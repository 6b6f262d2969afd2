"""Publish engine batches to an MQTT broker as JSON, the shapes :class:`MqttConnector` reads.

Used by the demo's synthetic source and by benchmarks: one message per (twin, signal) and
chunk, in the columnar form ``{"ts": [ms, ...], "value": [...]}`` serialised straight from
NumPy arrays (no Python object per point), QoS 1.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import paho.mqtt.client as mqtt
import pyarrow as pa
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ..core.batch import ts_to_us
from ..core.values import KindCode
from ..errors import ConfigError, ConnectorError
from ..model import Plant
from .mqtt import parse_broker_url

__all__ = ["MqttPublisher"]


class MqttPublisher:
    """Publish batches as JSON columns, one topic per (twin, signal), at QoS 1.

    ``publish_batch`` queues messages and returns; :meth:`flush` waits until the broker has
    acknowledged all of them. State signals go out as state names unless ``state_names`` is
    False (then as codes).
    """

    def __init__(
        self,
        url: str,
        topic: str = "twinverse/{twin}/{signal}",
        *,
        client_id: str = "",
        max_points: int = 1000,
        max_inflight: int = 1000,
        state_names: bool = True,
        connect_timeout: float = 10.0,
    ) -> None:
        if "{twin}" not in topic or "{signal}" not in topic:
            raise ConfigError(f"publisher topic pattern {topic!r} needs both {{twin}} and {{signal}}")
        self.topic = topic
        self.max_points = max_points
        self.state_names = state_names
        host, port, tls, user, password = parse_broker_url(url)
        self._cond = threading.Condition()
        self.published = 0
        self.acked = 0
        self.failed = 0
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if user is not None:
            client.username_pw_set(user, password)
        if tls:
            client.tls_set()
        # paho holds back QoS 1 messages beyond its in-flight window (default 20); open it wide.
        client.max_inflight_messages_set(max_inflight)
        client.max_queued_messages_set(0)
        client.on_publish = self._on_publish
        connected = threading.Event()
        refused: list[ReasonCode] = []

        def on_connect(c: mqtt.Client, u: Any, f: mqtt.ConnectFlags, rc: ReasonCode, p: Properties | None) -> None:
            if rc.is_failure:
                refused.append(rc)
            connected.set()

        client.on_connect = on_connect
        client.connect_async(host, port)
        client.loop_start()
        if not connected.wait(connect_timeout) or refused:
            client.loop_stop()
            why = f"refused: {refused[0]}" if refused else f"no connection within {connect_timeout:g} s"
            raise ConnectorError(f"cannot connect to MQTT broker {url}: {why}")
        self._client = client

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, rc: ReasonCode, props: Properties) -> None:
        with self._cond:
            if rc.is_failure:
                self.failed += 1
            else:
                self.acked += 1
            self._cond.notify_all()

    def publish(self, topic: str, payload: bytes) -> None:
        """Queue one message at QoS 1 (while disconnected, paho keeps it until it reconnects)."""
        with self._cond:
            # Counted before the call: the PUBACK may arrive before publish() returns.
            self.published += 1
        info = self._client.publish(topic, payload, qos=1)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            with self._cond:
                self.published -= 1
            raise ConnectorError(f"MQTT publish to {topic!r} failed: {mqtt.error_string(info.rc)}")

    def publish_batch(self, plant: Plant, batch: pa.RecordBatch | pa.Table) -> int:
        """Publish a ``(ts, sid, value[, quality])`` batch; returns the number of messages queued."""
        if batch.num_rows == 0:
            return 0
        sid = np.asarray(batch.column("sid").to_numpy(zero_copy_only=False), dtype=np.int64)
        ts = ts_to_us(batch.column("ts"))
        value = np.asarray(batch.column("value").to_numpy(zero_copy_only=False), dtype=np.float64)
        names = batch.schema.names
        quality = (
            np.asarray(batch.column("quality").to_numpy(zero_copy_only=False), dtype=np.uint8)
            if "quality" in names else np.zeros(len(sid), np.uint8)
        )
        order = np.argsort(sid, kind="stable")
        sid, ts, value, quality = sid[order], ts[order], value[order], quality[order]
        cuts = np.flatnonzero(np.diff(sid)) + 1
        idx = plant.signals
        sent = 0
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(sid)], strict=True):
            s = int(sid[lo])
            topic = self.topic.format(twin=idx.twin[s], signal=idx.name[s])
            for a in range(int(lo), int(hi), self.max_points):
                b = min(int(hi), a + self.max_points)
                self.publish(topic, self._payload(idx.kind[s], idx.signal[s].states, ts[a:b], value[a:b], quality[a:b]))
                sent += 1
        return sent

    def _payload(
        self, kind: int, states: Any, ts: npt.NDArray[np.int64], value: npt.NDArray[np.float64],
        quality: npt.NDArray[np.uint8],
    ) -> bytes:
        ms: np.ndarray[Any, Any] = ts // 1000 if not (ts % 1000).any() else ts / 1000.0
        out: dict[str, Any] = {"ts": ms}
        if kind == KindCode.STATE and self.state_names and states:
            out["value"] = [states[int(v)] if 0 <= v < len(states) else int(v) for v in value]
        elif kind == KindCode.BOOL:
            out["value"] = value != 0
        elif kind != KindCode.FLOAT:
            out["value"] = value.astype(np.int64)
        else:
            out["value"] = value
        if quality.any():
            out["quality"] = quality
        return orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until the broker has acknowledged every message published; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.acked + self.failed < self.published:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Wait for outstanding acknowledgements (up to ``timeout``), then disconnect."""
        self.flush(timeout)
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> MqttPublisher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
