"""MQTT JSON connector: QoS 1 subscription, batched decoding, acknowledgements after storage.

Topics map to names through a pattern (setting ``mqtt_topic``), by default
``twinverse/{twin}/{signal}``: ``{twin}`` spans one or more levels (twin ids contain ``/``),
``{signal}`` is one level, ``+`` matches any one level. A pattern may leave out either
placeholder; the payload then names it. The connector subscribes to the wildcard the
pattern implies (``twinverse/#``).

Payloads (UTF-8 JSON, parsed with orjson); timestamps are epoch **milliseconds** or ISO 8601,
a missing one means the time the message arrived:

- a bare value: ``21.5``, ``"running"`` (a state name), ``true``;
- one point: ``{"ts": 1717171717000, "value": 21.5, "quality": 0, "unit": "degF"}``;
- an array of points, each of which may carry ``twin``/``signal`` overriding the topic;
- columns: ``{"ts": [...], "value": [...], "quality"?: int | [...], "unit"?: str | [...]}``.

Delivery is at least once, end to end: the connector turns on paho's manual acks and sends a
message's PUBACK only after the flush holding it has returned from :meth:`Engine.ingest`
(durable). It keeps a persistent MQTT 5 session (fixed client id, ``clean_start=False``,
session expiry), so after a crash the broker redelivers what was not acknowledged; the
store's (sid, ts) key makes the redelivery harmless. A bare value stamped with its arrival
time is the exception: redelivered, it arrives at a new time and is stored again.

Messages are decoded on paho's network thread (:mod:`.mqtt_payload`); a flush thread turns
many messages into one batch (every ``max_points`` points or ``interval`` seconds, sooner
when the stream pauses), so names map to sids once per flush. Bad input (not UTF-8 or JSON, wrong
topic, oversized, bad shape, unknown names) is quarantined with its reason and still
acknowledged: it has been handled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
import pyarrow as pa
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ..config import Settings
from ..core.batch import QUARANTINE_SCHEMA
from ..errors import ConfigError, ConnectorError, Location, Problem, StoreError
from ..live.engine import Engine
from ..model import Plant
from .base import Health
from .mqtt_payload import SOURCE, PayloadDecoder, Pending, TopicPattern, convert, preview

__all__ = ["MqttConnector", "MqttStats", "TopicPattern", "mqtt_source", "parse_broker_url"]

log = logging.getLogger("twinverse.ingest.mqtt")

_NEVER_EXPIRE = 0xFFFFFFFF  # MQTT 5 session expiry meaning "keep the session for ever"


@dataclass(frozen=True)
class MqttStats:
    """Counters of one connector since it was created."""

    messages: int
    points: int  # decoded points handed to the engine (before its own validation)
    quarantined: int  # messages or points rejected by the connector or by name/value decoding
    acked: int
    pending: int  # received, not yet stored nor acknowledged
    flushes: int
    connects: int
    reasons: dict[str, int]  # quarantined, by kind: too_large, topic, not_utf8, not_json, shape, decode, error


def parse_broker_url(url: str) -> tuple[str, int, bool, str | None, str | None]:
    """``mqtt[s]://[user[:password]@]host[:port]`` → (host, port, tls, user, password)."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    scheme = parts.scheme.lower()
    if scheme not in ("mqtt", "tcp", "mqtts", "ssl", "tls"):
        raise ConfigError(
            f"unsupported MQTT broker URL {url!r}: use mqtt://host:port or mqtts://host:port",
            details=[Problem("unsupported scheme", Location(path="broker"))],
        )
    tls = scheme in ("mqtts", "ssl", "tls")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise ConfigError(f"invalid port in MQTT broker URL {url!r}") from exc
    if not parts.hostname:
        raise ConfigError(f"MQTT broker URL {url!r} has no host")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return parts.hostname, port, tls, user, password


class MqttConnector:
    """Subscribe to an MQTT broker and feed JSON payloads to an :class:`Engine` (QoS 1, acks after storage).

    >>> c = MqttConnector("mqtt://127.0.0.1:1883")
    >>> c.describe()
    'MQTT mqtt://127.0.0.1:1883 topic twinverse/{twin}/{signal} (QoS 1, persistent session twinverse-ingest)'
    """

    def __init__(
        self,
        url: str = "mqtt://127.0.0.1:1883",
        topic: str = "twinverse/{twin}/{signal}",
        client_id: str = "twinverse-ingest",
        *,
        max_message_bytes: int = 1_048_576,
        max_points: int = 50_000,
        interval: float = 0.025,
        idle: float = 0.002,
        receive_maximum: int = 20_000,
        session_expiry: int = _NEVER_EXPIRE,
        keepalive: int = 30,
        connect_timeout: float = 10.0,
        reconnect_delay: tuple[int, int] = (1, 30),
        share_group: str | None = None,
        root: str | None = None,
    ) -> None:
        """``root`` (a plant's id) narrows the subscription to that plant's twins (:meth:`TopicPattern.within`)."""
        self.url = url
        self.host, self.port, self.tls, self._user, self._password = parse_broker_url(url)
        self.pattern = TopicPattern(topic)
        if not client_id:
            raise ConfigError("a persistent MQTT session needs a client id (mqtt_client_id)")
        if not 1 <= receive_maximum <= 65_535:
            raise ConfigError(f"receive_maximum must be within 1..65535, not {receive_maximum}")
        if max_points < 1 or interval <= 0 or idle <= 0 or max_message_bytes < 1:
            raise ConfigError("max_points, max_message_bytes, interval and idle must be positive")
        self.client_id = client_id
        if share_group is not None and (not share_group or any(c in share_group for c in "/+#")):
            raise ConfigError(f"invalid MQTT shared-subscription group {share_group!r} (no '/', '+' or '#')")
        # A shared subscription ($share/<group>/<filter>): the broker hands each message to one
        # session of the group, so several workers split one stream.
        own = self.pattern.subscription if root is None else self.pattern.within(root)
        self.subscription = own if share_group is None else f"$share/{share_group}/{own}"
        self.max_message_bytes = max_message_bytes
        self._decoder = PayloadDecoder(self.pattern, max_message_bytes)
        self.max_points = max_points
        self.interval = interval
        self.idle = idle
        self.receive_maximum = receive_maximum
        # Flush before the broker's window of unacknowledged messages fills, or it stops sending.
        self.max_messages = max(1, receive_maximum // 2)
        self.session_expiry = session_expiry
        self.keepalive = keepalive
        self.connect_timeout = connect_timeout
        self.reconnect_delay = reconnect_delay

        self._engine: Engine | None = None
        self._client: mqtt.Client | None = None
        self._cond = threading.Condition()
        self._pending = Pending()
        self._stopping = False
        self._final_flush = True
        self._flusher: threading.Thread | None = None
        self._ack_lock = threading.Lock()
        self._gen = 0  # bumped on every connect and disconnect: acks go only to the connection that delivered
        self._connected = False
        self._first_connect = threading.Event()
        self._disconnected = threading.Event()
        self._connect_error: str | None = None
        self._messages = self._n_points = self._quarantined = self._acked = self._flushes = self._connects = 0
        self._reasons: Counter[str] = Counter()

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> MqttConnector:
        """A connector for ``settings.broker`` with the topic, client id and size limit configured."""
        if not settings.broker:
            raise ConfigError("no MQTT broker configured (set broker / TWINVERSE_BROKER)")
        return cls(
            settings.broker,
            settings.mqtt_topic,
            settings.mqtt_client_id,
            max_message_bytes=settings.mqtt_max_message_bytes,
            **options,
        )

    # -- Connector protocol --------------------------------------------------------------------
    def describe(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        return (
            f"MQTT {scheme}://{self.host}:{self.port} topic {self.pattern.pattern} "
            f"(QoS 1, persistent session {self.client_id}"
            + ("" if self.subscription == self.pattern.subscription else f", subscribed as {self.subscription}")
            + ")"
        )

    def start(self, engine: Engine) -> None:
        """Connect, subscribe and begin flushing into ``engine``; returns once connected.

        Raises :class:`ConnectorError` if the broker does not accept the connection within
        ``connect_timeout`` seconds. Later disconnects are retried with exponential backoff.
        """
        if self._client is not None:
            raise ConnectorError(f"{self.describe()} is already running")
        self._engine = engine
        self._stopping = False
        self._first_connect.clear()
        self._connect_error = None
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=True,
            manual_ack=True,
        )
        if self._user is not None:
            client.username_pw_set(self._user, self._password)
        if self.tls:
            client.tls_set()
        client.reconnect_delay_set(*self.reconnect_delay)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.session_expiry
        props.ReceiveMaximum = self.receive_maximum
        self._flusher = threading.Thread(target=self._run, name=f"mqtt-flush-{self.client_id}", daemon=True)
        self._flusher.start()
        self._client = client
        client.connect_async(self.host, self.port, keepalive=self.keepalive, clean_start=False, properties=props)
        client.loop_start()
        if not self._first_connect.wait(self.connect_timeout) or self._connect_error:
            why = self._connect_error or f"no connection within {self.connect_timeout:g} s"
            self.stop(flush=False)
            raise ConnectorError(f"cannot connect to MQTT broker {self.describe()}: {why}")
        log.info("connected: %s", self.describe())

    def stop(self, *, flush: bool = True) -> None:
        """Stop receiving; with ``flush`` store and acknowledge what arrived, then disconnect.

        ``flush=False`` drops what is pending unacknowledged, as a crash would: the broker
        redelivers it to the next session with this client id.
        """
        client = self._client
        with self._cond:
            self._stopping = True
            self._final_flush = flush
            self._cond.notify_all()
        if self._flusher is not None:
            self._flusher.join()
            self._flusher = None
        self._client = None
        if client is not None:
            self._disconnected.clear()
            if client.is_connected():
                client.disconnect()
                self._disconnected.wait(5.0)  # let the last PUBACKs and DISCONNECT go out
            client.loop_stop()
        with self._cond:
            self._pending = Pending()

    # -- reading -------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected

    def health(self) -> Health:
        """``kind``, ``connected`` to the broker, ``reconnects`` since the first connection, ``pending`` messages."""
        with self._cond:
            return {"kind": "mqtt", "connected": self._connected, "reconnects": max(self._connects - 1, 0),
                    "pending": self._pending.messages}  # fmt: skip

    def stats(self) -> MqttStats:
        """A snapshot of the counters."""
        with self._cond:
            return MqttStats(
                self._messages, self._n_points, self._quarantined, self._acked, self._pending.messages,
                self._flushes, self._connects,
                dict(self._reasons),
            )

    # -- paho callbacks (network thread) -------------------------------------------------------
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags, rc: ReasonCode, props: Properties | None
    ) -> None:
        if rc.is_failure:
            self._connect_error = f"broker refused the connection: {rc}"
            log.error("MQTT %s: %s", self.describe(), self._connect_error)
            self._first_connect.set()
            return
        with self._ack_lock:
            self._gen += 1
            self._connected = True
        self._connects += 1
        # Re-subscribe every time (the pattern may have changed); retained messages only for a new subscription.
        opts = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        client.subscribe(self.subscription, options=opts)
        if not flags.session_present:
            log.info("MQTT session %s is new: nothing to resume", self.client_id)
        # Not waiting for the SUBACK: a resumed session may deliver a long backlog before it.
        self._first_connect.set()

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, codes: list[ReasonCode], props: Properties | None
    ) -> None:
        bad = [c for c in codes if c.is_failure]
        if bad:
            log.error("MQTT %s: subscription to %r refused: %s", self.describe(), self.subscription, bad[0])

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: mqtt.DisconnectFlags, rc: ReasonCode, props: Properties | None
    ) -> None:
        with self._ack_lock:
            self._gen += 1
            self._connected = False
        self._disconnected.set()
        if not self._stopping:
            log.warning("MQTT %s disconnected (%s); reconnecting", self.describe(), rc)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if self._stopping:
            return  # not acknowledged: the broker keeps it for the next session
        now = time.time()
        gen = self._gen
        payload = bytes(msg.payload)
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = repr(msg._topic)
        try:
            fast, parts, bad = self._decoder.decode(topic, payload, now * 1000.0)
        except Exception as exc:  # a bug must cost one message, never the network thread
            log.exception("MQTT message on %r could not be decoded", topic)
            fast, parts, bad = None, [], [(None, None, preview(payload), f"internal error: {exc!r}", "error")]
        with self._cond:
            p = self._pending
            p.take(fast, parts, bad)
            if msg.qos:
                p.acks.append((msg.mid, gen))
            p.raw.append((topic, payload, now))
            p.messages += 1
            if p.messages == 1:
                p.first = time.monotonic()
                self._cond.notify()
            elif p.points >= self.max_points or p.messages >= self.max_messages:
                self._cond.notify()

    # -- flushing (flush thread) ---------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending.messages and not self._stopping:
                    self._cond.wait()
                if self._stopping and not (self._final_flush and self._pending.messages):
                    return
                p = self._pending
                # Linger so many messages share one batch, but not past `interval`, and not
                # once the stream has paused for `idle` seconds.
                while not self._stopping and p.points < self.max_points and p.messages < self.max_messages:
                    left = p.first + self.interval - time.monotonic()
                    if left <= 0:
                        break
                    seen = p.messages
                    self._cond.wait(min(left, self.idle))
                    if p.messages == seen:
                        break
                if self._stopping and not self._final_flush:
                    return  # stop(flush=False) came while lingering: leave it unacknowledged
                self._pending = Pending()
            try:
                self._flush(p)
            except Exception:  # keep the thread alive whatever happens; unacked data comes back
                log.exception("MQTT flush failed; its messages stay unacknowledged")

    def _flush(self, p: Pending) -> None:
        engine = self._engine
        assert engine is not None
        points = p.points  # before decoding: the careful path may file the same points again
        try:
            batches, rejects, counts = convert(engine.plant, p)
        except Exception:
            log.exception("MQTT batch of %d messages failed to decode; decoding them one by one", p.messages)
            batches, rejects, counts = self._isolate(engine.plant, p)
        with self._cond:
            self._messages += p.messages
            self._n_points += points
            self._quarantined += sum(counts.values())
            self._reasons.update(counts)
        steps: list[Callable[[], object]] = [partial(engine.ingest, b, source=SOURCE) for b in batches]
        if rejects is not None:
            steps.append(partial(engine.reject, rejects))
        delay = 0.1
        while steps:  # each step once, in order; a store failure retries the rest, unacknowledged
            try:
                steps[0]()
                steps.pop(0)
            except StoreError as exc:
                if self._stopping:
                    log.error("MQTT store failing at stop (%s); %d messages left unacknowledged", exc, len(p.acks))
                    return
                log.error("MQTT flush could not store (%s); retrying in %.1f s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        self._ack(p)

    def decode(self, plant: Plant, topic: str, payload: bytes) -> tuple[list[pa.RecordBatch], pa.Table]:
        """Decode one message exactly as a flush would: engine batches and quarantine rows.

        For tests and tools; the connector itself decodes many messages per batch.
        """
        p = Pending()
        p.messages = 1
        p.take(*self._decoder.decode(topic, payload, time.time() * 1000.0))
        batches, rejects, _ = convert(plant, p)
        return batches, QUARANTINE_SCHEMA.empty_table() if rejects is None else rejects

    def _isolate(self, plant: Plant, p: Pending) -> tuple[list[pa.RecordBatch], pa.Table | None, Counter[str]]:
        """Decode message by message; one that still fails is quarantined as an internal error."""
        batches: list[pa.RecordBatch] = []
        rejects: list[pa.Table] = []
        counts: Counter[str] = Counter()
        for topic, payload, at in p.raw:
            one = Pending()
            try:
                one.take(*self._decoder.decode(topic, payload, at * 1000.0))
                b, r, c = convert(plant, one)
            except Exception as exc:
                log.exception("MQTT message on %r breaks decoding; quarantined", topic)
                one = Pending()
                one.bad = [(None, None, preview(payload), f"internal error: {exc!r}", "error")]
                b, r, c = convert(plant, one)
            batches.extend(b)
            if r is not None:
                rejects.append(r)
            counts.update(c)
        return batches, pa.concat_tables(rejects) if rejects else None, counts

    def _ack(self, p: Pending) -> None:
        """Acknowledge the flushed messages still owed to the current connection, in arrival order."""
        client = self._client
        n = 0
        with self._ack_lock:
            if client is not None and self._connected:
                gen = self._gen
                for mid, g in p.acks:
                    if g == gen:  # an older connection's message is redelivered on this one, and acked then
                        client.ack(mid, 1)
                        n += 1
        with self._cond:
            self._acked += n
            self._flushes += 1


def mqtt_source(plant: Plant, settings: Settings) -> MqttConnector:
    """The ``mqtt`` source plugin: JSON over MQTT from ``settings.broker`` (QoS 1, ack after durable)."""
    return MqttConnector.from_settings(settings, root=plant.id)
