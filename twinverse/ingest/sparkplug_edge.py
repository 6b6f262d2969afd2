"""A Sparkplug B edge node: publishes twin signals with births, deaths, bdSeq and seq.

For the demo and the tests: an :class:`EdgeNode` connects with its NDEATH as the MQTT will
(carrying the session's ``bdSeq``), publishes NBIRTH (``bdSeq``, ``Node Control/Rebirth``)
and one DBIRTH per device (every metric with name, alias, datatype, ``engUnit`` and its
current value), then DDATA by alias with ``seq`` 0..255 across all its messages. It
answers a Rebirth NCMD with fresh births, and a DCMD by calling ``on_command`` (by default:
take the value and report it back in a DDATA, as a device's read-back would).

>>> from twinverse.model import loads_plant
>>> plant = loads_plant("plant: p\\ntypes: {m: {signals: {speed: {unit: 1/min}, on: {kind: bool}}}}\\n"
...                     "twins: [{id: m1, type: m}]")
>>> [d.metrics for d in devices_from_plant(plant, ["p/m1"])]
[(('speed', 10, '1/min'), ('on', 11, None))]
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConnectorError
from ..model import Plant
from ..model.types import SignalKind
from .mqtt import parse_broker_url
from .sparkplug import NAMESPACE, REBIRTH
from .sparkplug_pb import DataType, Payload, metric_value, set_value

__all__ = ["Device", "EdgeNode", "devices_from_plant"]

log = logging.getLogger("twinverse.ingest.sparkplug_edge")

KIND_TYPES = {SignalKind.FLOAT: DataType.DOUBLE, SignalKind.INT: DataType.INT64, SignalKind.BOOL: DataType.BOOLEAN,
               SignalKind.STATE: DataType.INT32}  # fmt: skip


@dataclass(frozen=True)
class Device:
    """A device of an edge node: its id and metrics ``(name, datatype, engUnit)``, aliases in order from 1."""

    id: str
    metrics: tuple[tuple[str, int, str | None], ...]


def devices_from_plant(plant: Plant, twins: Sequence[str]) -> list[Device]:
    """One device per twin (its id the twin's last path element), one metric per signal."""
    out = []
    for twin in twins:
        sigs = plant.type_of(twin).signals
        out.append(
            Device(twin.rsplit("/", 1)[-1], tuple((n, int(KIND_TYPES[s.kind]), s.unit) for n, s in sigs.items()))
        )
    return out


class EdgeNode:
    """A Sparkplug B edge node on a broker (paho-mqtt's own network thread)."""

    def __init__(self, url: str, group: str, node: str, devices: Sequence[Device], *, bdseq: int = 0,
                 client_id: str | None = None) -> None:  # fmt: skip
        self.host, self.port, self.tls, self.user, self.password = parse_broker_url(url)
        self.group, self.node = group, node
        self.devices = {d.id: d for d in devices}
        self.bdseq = bdseq % 256
        self.seq = 0
        self.client_id = client_id or f"twinverse-edge-{group}-{node}"
        self.values: dict[tuple[str, str], float] = {}  # (device, metric) → current value
        self.on_command: Callable[[str | None, str, float], None] = self._echo
        self.rebirths = 0
        self.commands: list[tuple[str | None, str, float]] = []
        self._lock = threading.Lock()
        self._client: Any = None
        self._alias = {(d.id, m[0]): i + 1 + 1000 * k for k, d in enumerate(devices) for i, m in enumerate(d.metrics)}
        self._types = {(d.id, m[0]): m[1] for d in devices for m in d.metrics}

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> EdgeNode:
        """Connect (the NDEATH of this bdSeq as the will), subscribe to commands, publish the births."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv311,
                             clean_session=True)  # fmt: skip
        if self.user:
            client.username_pw_set(self.user, self.password)
        client.will_set(self._topic("NDEATH"), self._death(), qos=1, retain=False)
        connected = threading.Event()

        def on_connect(c: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
            if not rc.is_failure:
                c.subscribe([(f"{NAMESPACE}/{self.group}/NCMD/{self.node}", 0),
                             (f"{NAMESPACE}/{self.group}/DCMD/{self.node}/#", 0)])  # fmt: skip
                connected.set()

        client.on_connect = on_connect
        client.on_message = self._on_message
        try:
            client.connect(self.host, self.port, keepalive=5)
        except OSError as exc:
            raise ConnectorError(f"edge {self.group}/{self.node}: cannot connect to {self.host}:{self.port}") from exc
        client.loop_start()
        self._client = client
        if not connected.wait(timeout):
            self.stop(clean=False)
            raise ConnectorError(f"edge {self.group}/{self.node}: no connection within {timeout:g} s")
        self.birth()
        return self

    def stop(self, *, clean: bool = True) -> None:
        """Disconnect: ``clean`` publishes the NDEATH first (a clean disconnect fires no will)."""
        client, self._client = self._client, None
        if client is None:
            return
        if clean:
            client.publish(self._topic("NDEATH"), self._death(), qos=1).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()

    def kill(self) -> None:
        """Drop the connection without a word, as a pulled plug does: the broker publishes the will."""
        client, self._client = self._client, None
        if client is not None:
            client.loop_stop()
            sock = client.socket()
            if sock is not None:
                sock.close()

    # -- publishing -----------------------------------------------------------------------------
    def birth(self) -> None:
        """NBIRTH then every DBIRTH, seq starting from 0."""
        with self._lock:
            self.seq = 0
            now = _ms()
            p = Payload(timestamp=now, seq=self._next())
            set_value(p.metrics.add(name="bdSeq", timestamp=now), DataType.INT64, self.bdseq)
            set_value(p.metrics.add(name=REBIRTH, timestamp=now), DataType.BOOLEAN, False)
            self._publish(self._topic("NBIRTH"), p)
            for dev in self.devices.values():
                p = Payload(timestamp=now, seq=self._next())
                for name, datatype, unit in dev.metrics:
                    m = p.metrics.add(name=name, alias=self._alias[(dev.id, name)], timestamp=now)
                    value = self.values.get((dev.id, name))
                    if value is None:
                        m.datatype = datatype
                        m.is_null = True
                    else:
                        set_value(m, datatype, value)
                    if unit:
                        m.properties.keys.append("engUnit")
                        m.properties.values.add(type=DataType.STRING, string_value=unit)
                self._publish(self._topic("DBIRTH", dev.id), p)

    def publish(self, device: str, values: Mapping[str, float], *, ts_ms: int | None = None,
                seq: int | None = None, null: Sequence[str] = ()) -> int:  # fmt: skip
        """A DDATA of ``values`` by alias (``null`` ones with ``is_null``); returns its seq.

        ``seq`` overrides the next sequence number (to make gaps in tests).
        """
        with self._lock:
            at = _ms() if ts_ms is None else ts_ms
            p = Payload(timestamp=at, seq=self._next() if seq is None else seq % 256)
            if seq is not None:
                self.seq = (seq + 1) % 256
            for name, value in values.items():
                key = (device, name)
                set_value(p.metrics.add(alias=self._alias[key], timestamp=at), self._types[key], value)
                self.values[key] = float(value)
            for name in null:
                key = (device, name)
                p.metrics.add(alias=self._alias[key], timestamp=at, datatype=self._types[key], is_null=True)
            self._publish(self._topic("DDATA", device), p)
            return int(p.seq)

    def payload(self, device: str, values: Mapping[str, float], *, ts_ms: int, seq: int) -> bytes:
        """The bytes of a DDATA without publishing it (for benchmarks and raw tests)."""
        p = Payload(timestamp=ts_ms, seq=seq % 256)
        for name, value in values.items():
            key = (device, name)
            set_value(p.metrics.add(alias=self._alias[key], timestamp=ts_ms), self._types[key], value)
        return bytes(p.SerializeToString())

    def publish_raw(self, topic: str, payload: bytes, qos: int = 0) -> None:
        assert self._client is not None
        self._client.publish(topic, payload, qos=qos).wait_for_publish(5)

    def topic(self, kind: str, device: str | None = None) -> str:
        return self._topic(kind, device)

    # -- internals ------------------------------------------------------------------------------
    def _next(self) -> int:
        s = self.seq
        self.seq = (s + 1) % 256
        return s

    def _topic(self, kind: str, device: str | None = None) -> str:
        base = f"{NAMESPACE}/{self.group}/{kind}/{self.node}"
        return f"{base}/{device}" if device is not None else base

    def _death(self) -> bytes:
        p = Payload(timestamp=_ms())
        set_value(p.metrics.add(name="bdSeq"), DataType.INT64, self.bdseq)
        return bytes(p.SerializeToString())

    def _publish(self, topic: str, p: Any) -> None:
        client = self._client
        if client is None:
            raise ConnectorError(f"edge {self.group}/{self.node} is not connected")
        client.publish(topic, p.SerializeToString(), qos=0)

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        try:
            p = Payload.FromString(msg.payload)
        except Exception:  # not ours to judge: a malformed command is ignored
            log.warning("edge %s/%s: malformed command on %s", self.group, self.node, msg.topic)
            return
        parts = msg.topic.split("/")
        device = "/".join(parts[4:]) or None
        for m in p.metrics:
            if device is None and m.name == REBIRTH and m.boolean_value:
                self.rebirths += 1
                threading.Thread(target=self.birth, daemon=True).start()  # not on paho's own thread
            elif device is not None:
                value = metric_value(m, self._types.get((device, m.name)))
                self.commands.append((device, m.name, value))
                self.on_command(device, m.name, value)

    def _echo(self, device: str | None, name: str, value: float) -> None:
        if device is not None and (device, name) in self._alias:
            threading.Thread(target=self.publish, args=(device, {name: value}), daemon=True).start()


def _ms() -> int:
    return int(time.time() * 1000)
