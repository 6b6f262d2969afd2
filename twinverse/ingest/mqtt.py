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

Messages are decoded on paho's network thread into column lists; a flush thread turns many
messages into one batch (every ``max_points`` points or ``interval`` seconds, sooner when the
stream pauses), so names map to sids once per flush. Bad input (not UTF-8 or JSON, wrong
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
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np
import orjson
import paho.mqtt.client as mqtt
import pyarrow as pa
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ..config import Settings
from ..errors import ConfigError, ConnectorError, Location, Problem, StoreError
from ..live.batch import QUARANTINE_SCHEMA, make_batch
from ..live.engine import Engine
from ..model import Plant
from .decode import decode_columns, parse_timestamps, quarantine_rows

__all__ = ["MqttConnector", "MqttStats", "TopicPattern", "parse_broker_url"]

log = logging.getLogger("twinverse.ingest.mqtt")

SOURCE = "mqtt"
_NEVER_EXPIRE = 0xFFFFFFFF  # MQTT 5 session expiry meaning "keep the session for ever"

# One decoded piece of a message: twin, signal (a name, None, or one name per point), ts list,
# value list, quality (None, an int, or a list), unit (None, a str, or a list).
_Part = tuple[Any, Any, list[Any], list[Any], Any, Any]
# One rejected message or point: twin, signal, value shown in quarantine, reason, reason kind.
_Bad = tuple[Any, Any, Any, str, str]
# The common shape, an array of {"ts": number, "value": number} objects, kept as the parsed dicts:
# twin, signal, dicts. A flush turns all of them into columns with one Arrow conversion.
_Fast = tuple[str | None, str | None, list[dict[str, Any]]]
_Decoded = tuple[_Fast | None, list[_Part], list[_Bad]]

_POINT = pa.struct([("ts", pa.float64()), ("value", pa.float64())])
_NUMBER = (int, float)
_BAD_TS = np.iinfo(np.int64).min


class TopicPattern:
    """A topic pattern such as ``twinverse/{twin}/{signal}``: its subscription and its matcher.

    >>> p = TopicPattern("twinverse/{twin}/{signal}")
    >>> p.subscription, p.match("twinverse/bottling/line1/filler/temperature")
    ('twinverse/#', ('bottling/line1/filler', 'temperature'))
    >>> p.match("other/x") is None
    True
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        levels = pattern.split("/")

        def bad(why: str) -> ConfigError:
            return ConfigError(
                f"invalid MQTT topic pattern {pattern!r}: {why}",
                details=[Problem(why, Location(path="mqtt_topic"))],
            )

        if not pattern or "#" in pattern:
            raise bad("it must be non-empty and may not contain '#' ({twin} spans levels)")
        for name in ("{twin}", "{signal}"):
            if levels.count(name) > 1:
                raise bad(f"{name} may appear only once")
        for lv in levels:
            if ("{" in lv or "}" in lv or "+" in lv) and lv not in ("{twin}", "{signal}", "+"):
                raise bad(f"level {lv!r}: placeholders and '+' must fill a whole level")
        self._levels = levels
        self._twin = levels.index("{twin}") if "{twin}" in levels else None
        self._signal = levels.index("{signal}") if "{signal}" in levels else None
        if self._twin is None:
            self.subscription = "/".join("+" if lv == "{signal}" else lv for lv in levels)
        else:
            head = ["+" if lv == "{signal}" else lv for lv in levels[: self._twin]]
            self.subscription = "/".join([*head, "#"])
        self._cache: dict[str, tuple[str | None, str | None] | None] = {}

    @property
    def has_twin(self) -> bool:
        return self._twin is not None

    @property
    def has_signal(self) -> bool:
        return self._signal is not None

    def match(self, topic: str) -> tuple[str | None, str | None] | None:
        """``(twin, signal)`` named by ``topic`` (None where the pattern has no placeholder); None if no match."""
        hit = self._cache.get(topic, False)
        if hit is not False:
            return hit  # type: ignore[return-value]
        got = self._match(topic.split("/"))
        if len(self._cache) >= 100_000:  # topics are few in practice; bound memory if they are not
            self._cache.clear()
        self._cache[topic] = got
        return got

    def _match(self, parts: list[str]) -> tuple[str | None, str | None] | None:
        levels, t = self._levels, self._twin
        if t is None:
            if len(parts) != len(levels):
                return None
            aligned = list(zip(levels, parts, strict=True))
        else:
            n_tail = len(levels) - t - 1
            if len(parts) < len(levels):
                return None
            tail = parts[len(parts) - n_tail :] if n_tail else []
            aligned = list(zip(levels[:t], parts[:t], strict=True)) + list(zip(levels[t + 1 :], tail, strict=True))
        twin = signal = None
        for lv, part in aligned:
            if lv == "{signal}":
                signal = part
            elif lv != "+" and lv != part:
                return None
        if t is not None:
            span = parts[t : len(parts) - (len(levels) - t - 1)]
            if not all(span):
                return None  # an empty level cannot be part of a twin id
            twin = "/".join(span)
        if signal == "":
            return None
        return twin, signal


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


class _Group:
    """Column lists for one batch; names stored once per distinct (twin, signal) with run lengths."""

    __slots__ = ("keys", "q", "run_key", "run_len", "size", "ts", "unit", "val")

    def __init__(self) -> None:
        self.keys: dict[tuple[Any, Any], int] = {}
        self.run_key: list[int] = []
        self.run_len: list[int] = []
        self.ts: list[Any] = []
        self.val: list[Any] = []
        self.q: list[Any] | None = None
        self.unit: list[Any] | None = None
        self.size = 0

    def add(self, part: _Part) -> None:
        twin, signal, ts, val, q, unit = part
        n = len(val)
        if isinstance(twin, list) or isinstance(signal, list):
            tws = twin if isinstance(twin, list) else [twin] * n
            sgs = signal if isinstance(signal, list) else [signal] * n
            for tw, sg in zip(tws, sgs, strict=True):
                self.run_key.append(self.keys.setdefault((tw, sg), len(self.keys)))
                self.run_len.append(1)
        else:
            self.run_key.append(self.keys.setdefault((twin, signal), len(self.keys)))
            self.run_len.append(n)
        self.ts.extend(ts)
        self.val.extend(val)
        if q is not None and self.q is None:
            self.q = [0] * self.size
        if self.q is not None:
            self.q.extend(q if isinstance(q, list) else [q or 0] * n)
        if unit is not None and self.unit is None:
            self.unit = [None] * self.size
        if self.unit is not None:
            self.unit.extend(unit if isinstance(unit, list) else [unit] * n)
        self.size += n

    def names(self) -> tuple[pa.Array, pa.Array]:
        """Twin and signal columns: the distinct names taken by run, no Python object per point."""
        keys = list(self.keys)
        take = pa.array(np.repeat(np.asarray(self.run_key, np.int32), np.asarray(self.run_len, np.int64)))
        twins = pa.array([k[0] for k in keys], pa.string()).take(take)
        signals = pa.array([k[1] for k in keys], pa.string()).take(take)
        return twins, signals


class _Runs:
    """Point dicts of fast-path messages, in arrival order, with one (twin, signal) key per message."""

    __slots__ = ("dicts", "keys", "run_key", "run_len", "size")

    def __init__(self) -> None:
        self.keys: dict[tuple[str | None, str | None], int] = {}
        self.run_key: list[int] = []
        self.run_len: list[int] = []
        self.dicts: list[dict[str, Any]] = []
        self.size = 0

    def add(self, fast: _Fast) -> None:
        twin, signal, dicts = fast
        self.run_key.append(self.keys.setdefault((twin, signal), len(self.keys)))
        self.run_len.append(len(dicts))
        self.dicts.extend(dicts)
        self.size += len(dicts)


class _Pending:
    """What arrived since the last flush: decoded columns, rejects, and the messages to acknowledge."""

    __slots__ = ("acks", "bad", "fast", "first", "messages", "num", "other", "points", "raw")

    def __init__(self) -> None:
        self.fast = _Runs()  # arrays of {ts, value} number objects: converted by Arrow in one call
        self.num = _Group()  # parts whose values are numbers: one vectorised conversion
        self.other = _Group()  # state names, booleans, anything else: decoded row by row
        self.bad: list[_Bad] = []
        self.acks: list[tuple[int, int]] = []  # (mid, connection generation)
        self.raw: list[tuple[str, bytes, float]] = []  # kept to isolate a message that breaks a flush
        self.messages = 0
        self.points = 0
        self.first = 0.0

    def take(self, fast: _Fast | None, parts: list[_Part], bad: list[_Bad]) -> None:
        """File one message's decoded pieces (numbers apart from values that need a row-wise decoder)."""
        if fast is not None:
            self.fast.add(fast)
            self.points += len(fast[2])
        for part in parts:
            val = part[3]
            (self.num if val and type(val[0]) in _NUMBER else self.other).add(part)
            self.points += len(val)
        if bad:
            self.bad.extend(bad)


def _preview(payload: bytes, limit: int = 200) -> str:
    """A payload as quarantine shows it: text if it decodes, else a bytes repr; cut to ``limit``."""
    head = payload[: limit + 1]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = repr(head)
    return text if len(text) <= limit else text[:limit] + "…"


def _quality_ok(q: Any) -> bool:
    return type(q) is int and 0 <= q <= 2


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
    ) -> None:
        self.url = url
        self.host, self.port, self.tls, self._user, self._password = parse_broker_url(url)
        self.pattern = TopicPattern(topic)
        if not client_id:
            raise ConfigError("a persistent MQTT session needs a client id (mqtt_client_id)")
        if not 1 <= receive_maximum <= 65_535:
            raise ConfigError(f"receive_maximum must be within 1..65535, not {receive_maximum}")
        self.client_id = client_id
        self.max_message_bytes = max_message_bytes
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
        self._pending = _Pending()
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
            f"(QoS 1, persistent session {self.client_id})"
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
            self._pending = _Pending()

    # -- reading -------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected

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
        client.subscribe(self.pattern.subscription, options=opts)
        if not flags.session_present:
            log.info("MQTT session %s is new: nothing to resume", self.client_id)

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, codes: list[ReasonCode], props: Properties | None
    ) -> None:
        bad = [c for c in codes if c.is_failure]
        if bad:
            self._connect_error = f"subscription to {self.pattern.subscription!r} refused: {bad[0]}"
            log.error("MQTT %s: %s", self.describe(), self._connect_error)
        self._first_connect.set()

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
            fast, parts, bad = self._decode(topic, payload, now * 1000.0)
        except Exception as exc:  # a bug must cost one message, never the network thread
            log.exception("MQTT message on %r could not be decoded", topic)
            fast, parts, bad = None, [], [(None, None, _preview(payload), f"internal error: {exc!r}", "error")]
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

    # -- decoding ------------------------------------------------------------------------------
    def _decode(self, topic: str, payload: bytes, now_ms: float) -> _Decoded:
        """One message → fast-path dicts, decoded parts, rejects; pure, so it can be retried alone."""
        names = self.pattern.match(topic)
        if len(payload) > self.max_message_bytes:
            tw, sg = names or (None, None)
            why = f"payload of {len(payload)} bytes exceeds the limit of {self.max_message_bytes} bytes"
            return None, [], [(tw, sg, _preview(payload), why, "too_large")]
        if names is None:
            why = f"topic {topic!r} does not match the pattern {self.pattern.pattern!r}"
            return None, [], [(None, None, _preview(payload), why, "topic")]
        twin, signal = names
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError as uexc:
                return None, [], [(twin, signal, _preview(payload), f"payload is not UTF-8: {uexc}", "not_utf8")]
            why = "empty payload" if not payload.strip() else f"payload is not JSON: {exc}"
            return None, [], [(twin, signal, _preview(payload), why, "not_json")]
        kind = type(obj)
        if kind is list:
            if not obj:
                return None, [], []
            # The common shape, [{"ts": 1717.., "value": 21.5}, ...]: every item has two keys and the
            # first is numeric; checked without a Python step per point. Odd items that slip through
            # make the flush's Arrow conversion fail, and that flush then takes the careful path.
            first = obj[0]
            try:
                two = sum(map(len, obj)) == 2 * len(obj)
            except TypeError:
                two = False
            if two and type(first) is dict and type(first.get("ts")) in _NUMBER and type(first.get("value")) in _NUMBER:
                return (twin, signal, obj), [], []
            return None, *self._points(obj, twin, signal, now_ms)
        if kind is dict:
            if "value" not in obj:
                return None, [], [(twin, signal, _preview(payload), "object has no 'value'", "shape")]
            if type(obj["value"]) is list:
                return None, *self._columns(obj, twin, signal, now_ms, payload)
            return None, *self._points([obj], twin, signal, now_ms)
        if obj is None:
            return None, [], [(twin, signal, None, "missing value", "decode")]
        return None, [(twin, signal, [now_ms], [obj], None, None)], []

    @staticmethod
    def _points(objs: list[Any], twin: str | None, signal: str | None, now_ms: float) -> tuple[list[_Part], list[_Bad]]:
        """Point objects one by one (names, quality or unit of their own): the careful path."""
        tws: list[Any] = []
        sgs: list[Any] = []
        ts: list[Any] = []
        val: list[Any] = []
        qs: list[int] = []
        units: list[Any] = []
        bad: list[_Bad] = []
        for p in objs:
            if type(p) is not dict or "value" not in p:
                bad.append((twin, signal, p, "point must be an object with a 'value'", "shape"))
                continue
            tw, sg, q, u = p.get("twin", twin), p.get("signal", signal), p.get("quality", 0), p.get("unit")
            if not (tw is None or type(tw) is str) or not (sg is None or type(sg) is str):
                bad.append((tw, sg, p, "'twin' and 'signal' must be strings", "shape"))
            elif not _quality_ok(q):
                bad.append((tw, sg, p, f"quality must be 0 (good), 1 (uncertain) or 2 (bad), not {q!r}", "shape"))
            elif not (u is None or type(u) is str):
                bad.append((tw, sg, p, f"unit must be a string, not {u!r}", "shape"))
            elif p["value"] is None:
                bad.append((tw, sg, p, "missing value", "decode"))
            else:
                t = p.get("ts")
                tws.append(tw)
                sgs.append(sg)
                ts.append(now_ms if t is None else t)
                val.append(p["value"])
                qs.append(q)
                units.append(u)
        if not val:
            return [], bad
        same = all(t == tws[0] for t in tws) and all(s == sgs[0] for s in sgs)
        part: _Part = (
            tws[0] if same else tws,
            sgs[0] if same else sgs,
            ts,
            val,
            qs if any(qs) else None,
            units if any(u is not None for u in units) else None,
        )
        # Values of different types go to different groups (numbers take the vectorised path).
        types = {type(v) for v in val}
        if len(types) == 1 or types <= {int, float}:
            return [part], bad
        parts: list[_Part] = []
        for i in range(len(val)):
            parts.append((
                tws[i], sgs[i], [ts[i]], [val[i]], qs[i] if part[4] is not None else None,
                units[i] if part[5] is not None else None,
            ))
        return parts, bad

    @staticmethod
    def _columns(
        obj: dict[str, Any], twin: str | None, signal: str | None, now_ms: float, payload: bytes
    ) -> tuple[list[_Part], list[_Bad]]:
        """A columnar object ``{"ts": [...], "value": [...], ...}``."""
        val: list[Any] = obj["value"]
        n = len(val)
        tw, sg = obj.get("twin", twin), obj.get("signal", signal)

        def reject(why: str) -> tuple[list[_Part], list[_Bad]]:
            return [], [(tw, sg, _preview(payload), why, "shape")]

        if not (tw is None or type(tw) is str) or not (sg is None or type(sg) is str):
            return reject("'twin' and 'signal' must be strings in a columnar payload")
        ts = obj.get("ts")
        if ts is None:
            ts = [now_ms] * n
        if type(ts) is not list or len(ts) != n:
            return reject(f"columnar payload: 'ts' must be a list as long as 'value' ({n} items)")
        q = obj.get("quality")
        if q is not None and not (
            _quality_ok(q) or (type(q) is list and len(q) == n and all(_quality_ok(x) for x in q))
        ):
            return reject("columnar payload: 'quality' must be 0, 1 or 2, or a list of them as long as 'value'")
        u = obj.get("unit")
        if u is not None and not (
            type(u) is str or (type(u) is list and len(u) == n and all(x is None or type(x) is str for x in u))
        ):
            return reject("columnar payload: 'unit' must be a string or a list of strings as long as 'value'")
        if not n:
            return [], []
        types = {type(v) for v in val}
        if (len(types) == 1 and None not in val) or types <= {int, float}:
            return [(tw, sg, ts, val, q, u)], []
        # Mixed value types: split by point so numbers still take the vectorised path.
        parts: list[_Part] = []
        bad: list[_Bad] = []
        for i in range(n):
            if val[i] is None:
                bad.append((tw, sg, None, "missing value", "decode"))
            else:
                qi, ui = q[i] if type(q) is list else q, u[i] if type(u) is list else u
                parts.append((tw, sg, [ts[i]], [val[i]], qi, ui))
        return parts, bad

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
                self._pending = _Pending()
            try:
                self._flush(p)
            except Exception:  # keep the thread alive whatever happens; unacked data comes back
                log.exception("MQTT flush failed; its messages stay unacknowledged")

    def _flush(self, p: _Pending) -> None:
        engine = self._engine
        assert engine is not None
        points = p.points  # before decoding: the careful path may file the same points again
        try:
            batches, rejects, counts = self._convert(engine.plant, p)
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
        p = _Pending()
        p.messages = 1
        p.take(*self._decode(topic, payload, time.time() * 1000.0))
        batches, rejects, _ = self._convert(plant, p)
        return batches, QUARANTINE_SCHEMA.empty_table() if rejects is None else rejects

    def _convert(self, plant: Plant, p: _Pending) -> tuple[list[pa.RecordBatch], pa.Table | None, Counter[str]]:
        """Pending messages → engine batches, quarantine rows, and rejects counted by kind."""
        batches: list[pa.RecordBatch] = []
        rejects: list[pa.Table] = []
        counts: Counter[str] = Counter(b[4] for b in p.bad)
        now_us = int(time.time() * 1e6)
        if p.fast.size:
            done = _fast_batch(plant, p.fast, now_us)
            if done is None:  # an odd item among the dicts: give every fast message the careful path
                for parts, bad in self._unfast(p.fast, now_us / 1000.0):
                    p.take(None, parts, bad)
                    counts.update(b[4] for b in bad)
            else:
                batches.append(done[0])
                if done[1] is not None:
                    rejects.append(done[1])
                    counts["decode"] += done[1].num_rows
        if p.bad:
            cols = list(zip(*p.bad, strict=True))
            rejects.append(quarantine_rows(cols[0], cols[1], cols[2], cols[3], SOURCE))
        for g, numeric in ((p.num, True), (p.other, False)):
            if not g.size:
                continue
            twins, signals = g.names()
            dec = decode_columns(
                plant, twins, signals, _ts_column(g.ts), _value_column(g.val) if numeric else g.val,
                quality=g.q, units=g.unit, source=SOURCE, now_us=now_us,
            )
            if dec.rejected:
                rejects.append(dec.rejects)
                counts["decode"] += dec.rejected
            if dec.batch.num_rows:
                batches.append(dec.batch)
        return batches, pa.concat_tables(rejects) if rejects else None, counts

    def _unfast(self, runs: _Runs, now_ms: float) -> list[tuple[list[_Part], list[_Bad]]]:
        """The fast-path messages of a flush decoded point by point instead."""
        keys = list(runs.keys)
        out = []
        at = 0
        for k, n in zip(runs.run_key, runs.run_len, strict=True):
            twin, signal = keys[k]
            out.append(self._points(runs.dicts[at : at + n], twin, signal, now_ms))
            at += n
        return out

    def _isolate(self, plant: Plant, p: _Pending) -> tuple[list[pa.RecordBatch], pa.Table | None, Counter[str]]:
        """Decode message by message; one that still fails is quarantined as an internal error."""
        batches: list[pa.RecordBatch] = []
        rejects: list[pa.Table] = []
        counts: Counter[str] = Counter()
        for topic, payload, at in p.raw:
            one = _Pending()
            try:
                one.take(*self._decode(topic, payload, at * 1000.0))
                b, r, c = self._convert(plant, one)
            except Exception as exc:
                log.exception("MQTT message on %r breaks decoding; quarantined", topic)
                one = _Pending()
                one.bad = [(None, None, _preview(payload), f"internal error: {exc!r}", "error")]
                b, r, c = self._convert(plant, one)
            batches.extend(b)
            if r is not None:
                rejects.append(r)
            counts.update(c)
        return batches, pa.concat_tables(rejects) if rejects else None, counts

    def _ack(self, p: _Pending) -> None:
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


def _fast_batch(plant: Plant, runs: _Runs, now_us: int) -> tuple[pa.RecordBatch, pa.Table | None] | None:
    """Fast-path dicts → an engine batch plus rejects; None if Arrow cannot read them as numbers.

    Names map to sids once per distinct (twin, signal); the rows that fail (unknown name,
    missing value, bad timestamp) go through :func:`decode_columns` for their reasons.
    """
    try:
        arr = pa.array(runs.dicts, type=_POINT)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        return None
    keys = list(runs.keys)
    key_sid = plant.signals.lookup([k[0] for k in keys], [k[1] for k in keys])
    run_key = np.asarray(runs.run_key, np.int64)
    run_len = np.asarray(runs.run_len, np.int64)
    sid = np.repeat(key_sid[run_key], run_len)
    ts_col, val_col = arr.field("ts"), arr.field("value")
    us = parse_timestamps(ts_col, now_us)
    bad = (sid < 0) | (us == _BAD_TS)
    missing = None
    if val_col.null_count:  # names and timestamps are checked first, as decode_columns does
        missing = np.asarray(val_col.is_null().to_numpy(zero_copy_only=False)) & ~bad
        bad |= missing
    value = np.asarray(val_col.to_numpy(zero_copy_only=False), dtype=np.float64)
    if not bad.any():
        return make_batch(us, sid, value), None
    ok = ~bad
    key_of = np.repeat(run_key, run_len)
    rejects = []
    if missing is not None:  # null values: decode_columns would take them for NaN
        rows = np.flatnonzero(missing)
        rejects.append(quarantine_rows(
            [keys[k][0] for k in key_of[rows]], [keys[k][1] for k in key_of[rows]], [None] * len(rows),
            ["missing value"] * len(rows), SOURCE,
            ts=[datetime.fromtimestamp(us[r] / 1e6, UTC) for r in rows],
        ))
        bad &= ~missing
    rows = np.flatnonzero(bad)
    if len(rows):  # unknown names, bad timestamps: decode_columns says why
        dec = decode_columns(
            plant, [keys[k][0] for k in key_of[rows]], [keys[k][1] for k in key_of[rows]],
            ts_col.take(rows).to_pylist(), val_col.take(rows).to_pylist(), source=SOURCE, now_us=now_us,
        )
        rejects.append(dec.rejects)
    return make_batch(us[ok], sid[ok], value[ok]), pa.concat_tables(rejects)


def _ts_column(ts: list[Any]) -> pa.Array | list[Any]:
    """Timestamps as an Arrow array when they are all numbers (the usual case), else the list."""
    try:
        arr = pa.array(ts)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        return ts
    return arr if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) else ts


def _value_column(val: list[Any]) -> pa.Array | list[Any]:
    """Numeric values as float64 in one conversion; anything odd falls back to the row-wise decoder."""
    try:
        arr = pa.array(val, type=pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        return val
    return val if arr.null_count else arr
