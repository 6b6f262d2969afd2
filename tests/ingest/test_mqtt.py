"""MQTT JSON connector against a real mosquitto: payload shapes, quarantine, acks, restarts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import paho.mqtt.client as mqtt
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.conftest import Broker, free_port
from twinverse.config import Settings
from twinverse.core.batch import make_batch, ts_to_us
from twinverse.errors import ConfigError, ConnectorError
from twinverse.ingest.base import Source, available_sources
from twinverse.ingest.mqtt import MqttConnector, TopicPattern, parse_broker_url
from twinverse.ingest.mqtt_payload import PayloadDecoder, Pending, convert
from twinverse.ingest.publish import MqttPublisher
from twinverse.live.engine import Engine
from twinverse.model import Plant
from twinverse.store.base import HistoryQuery
from twinverse.store.duckdb import DuckDBStore

pytestmark = pytest.mark.mqtt

F = "bottling/line1/filler"
T = f"twinverse/{F}/"
NOW_MS = int(time.time() * 1000) // 1000 * 1000 - 3_600_000  # an hour ago, whole seconds
STATES = ["running", "idle", "starved", "blocked", "down", "setup", "off"]


def wait_until(pred: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll until ``pred()``; fail naming ``what`` if it never happens (a deadline, not a speed check)."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


@dataclass
class Rig:
    """A store, an engine, the private broker, and connectors started on them."""

    broker: Broker
    plant: Plant
    store: DuckDBStore
    engine: Engine
    connectors: list[MqttConnector]

    def connect(self, **options: object) -> MqttConnector:
        options.setdefault("client_id", "test-ingest")
        c = MqttConnector(self.broker.url, **options)  # type: ignore[arg-type]
        c.start(self.engine)
        self.connectors.append(c)
        return c

    def publish(self, *messages: tuple[str, bytes]) -> None:
        with MqttPublisher(self.broker.url) as pub:
            for topic, payload in messages:
                pub.publish(topic, payload)
            assert pub.flush(), "broker did not acknowledge every message"
            assert (pub.acked, pub.failed) == (len(messages), 0)

    def sid(self, twin: str, signal: str) -> int:
        return self.plant.signals.sid(twin, signal)

    def history(self, twin: str, signal: str) -> list[tuple[int, float]]:
        """Stored ``(ts in ms, value)`` of one signal, oldest first."""
        t = self.store.history(HistoryQuery(sids=(self.sid(twin, signal),)))
        return list(zip((ts_to_us(t.column("ts")) // 1000).tolist(), t.column("value").to_pylist(), strict=True))

    def live(self, twin: str, signal: str) -> dict[str, object]:
        return self.engine.live(np.array([self.sid(twin, signal)], np.int32))[0]

    def reasons(self) -> list[str]:
        return [str(r) for r in self.store.quarantine(1000).column("reason").to_pylist()]


@pytest.fixture
def rig(broker: Broker, plant: Plant, tmp_path: Path) -> Iterator[Rig]:
    store = DuckDBStore(tmp_path / "tv.duckdb")
    r = Rig(broker, plant, store, Engine(plant, store), [])
    yield r
    for c in r.connectors:
        c.stop()
    store.close()


def acked(c: MqttConnector, n: int) -> Callable[[], bool]:
    return lambda: c.stats().acked >= n


# -- topic patterns and settings (no broker) ---------------------------------------------------
def test_default_pattern_spans_twin_levels() -> None:
    p = TopicPattern("twinverse/{twin}/{signal}")
    assert p.subscription == "twinverse/#"
    assert p.match("twinverse/bottling/line1/filler/temperature") == ("bottling/line1/filler", "temperature")
    assert p.match("twinverse/plant/speed") == ("plant", "speed")
    for topic in ("twinverse/speed", "twinverse", "other/plant/speed", "twinverse//speed", "twinverse/a/"):
        assert p.match(topic) is None, topic


@pytest.mark.parametrize(
    ("pattern", "subscription", "topic", "names"),
    [
        ("plant/{twin}", "plant/#", "plant/bottling/line1", ("bottling/line1", None)),
        ("site/+/{twin}/data", "site/+/#", "site/eu/bottling/line1/data", ("bottling/line1", None)),
        ("line/{signal}", "line/+", "line/speed", (None, "speed")),
        ("ingest", "ingest", "ingest", (None, None)),
        ("{signal}/of/{twin}", "+/of/#", "speed/of/bottling/line1/c1", ("bottling/line1/c1", "speed")),
    ],
)
def test_other_patterns(pattern: str, subscription: str, topic: str, names: tuple[str | None, str | None]) -> None:
    p = TopicPattern(pattern)
    assert p.subscription == subscription
    assert p.match(topic) == names


@pytest.mark.parametrize("pattern", ["", "a/#", "a/{twin}x", "{twin}/{twin}", "a/{signal}/{signal}", "a/b+"])
def test_invalid_patterns_are_config_errors(pattern: str) -> None:
    with pytest.raises(ConfigError, match="topic pattern"):
        TopicPattern(pattern)


_level = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=8)


@given(st.lists(_level, min_size=1, max_size=5), _level)
def test_pattern_round_trip(twin_levels: list[str], signal: str) -> None:
    twin = "/".join(twin_levels)
    p = TopicPattern("twinverse/{twin}/{signal}")
    assert p.match(f"twinverse/{twin}/{signal}") == (twin, signal)


def test_broker_urls() -> None:
    assert parse_broker_url("mqtt://127.0.0.1:1883") == ("127.0.0.1", 1883, False, None, None)
    assert parse_broker_url("mqtts://u%40x:p%3Aw@broker.example") == ("broker.example", 8883, True, "u@x", "p:w")
    assert parse_broker_url("localhost") == ("localhost", 1883, False, None, None)
    with pytest.raises(ConfigError, match="unsupported"):
        parse_broker_url("http://127.0.0.1:1883")


def test_describe_and_settings() -> None:
    c = MqttConnector.from_settings(Settings(broker="mqtt://127.0.0.1:1883", mqtt_client_id="edge-7"))
    assert c.describe() == (
        "MQTT mqtt://127.0.0.1:1883 topic twinverse/{twin}/{signal} (QoS 1, persistent session edge-7)"
    )
    assert isinstance(c, Source)
    assert available_sources()["mqtt"] == "twinverse.ingest.mqtt:mqtt_source"
    with pytest.raises(ConfigError, match="no MQTT broker"):
        MqttConnector.from_settings(Settings())


def test_unreachable_broker_is_a_connector_error(plant: Plant) -> None:
    c = MqttConnector(f"mqtt://127.0.0.1:{free_port()}", connect_timeout=0.5)
    with pytest.raises(ConnectorError, match="cannot connect to MQTT broker"):
        c.start(Engine(plant, DuckDBStore(":memory:")))


def test_publisher_needs_both_placeholders_and_a_broker() -> None:
    with pytest.raises(ConfigError, match="needs both"):
        MqttPublisher("mqtt://127.0.0.1:1883", "plant/{twin}")
    with pytest.raises(ConnectorError, match="cannot connect"):
        MqttPublisher(f"mqtt://127.0.0.1:{free_port()}", connect_timeout=0.5)


# -- decoding, as a flush does it (no broker) --------------------------------------------------
_points = st.dictionaries(
    st.integers(NOW_MS - 10 * 86_400_000, NOW_MS), st.floats(-10, 90, allow_nan=False), min_size=1, max_size=60
)


@given(_points)
@settings(max_examples=60, deadline=None)
def test_payload_shapes_decode_alike(plant: Plant, points: dict[int, float]) -> None:
    """Arrays (fast path), arrays with extra keys (careful path) and columns give the same batch."""
    c = MqttConnector()
    ts, values = list(points), list(points.values())
    shapes = [
        [{"ts": t, "value": v} for t, v in points.items()],
        [{"ts": t, "value": v, "quality": 0} for t, v in points.items()],
        {"ts": ts, "value": values},
        [{"ts": t, "value": v, "twin": F, "signal": "temperature"} for t, v in points.items()],
    ]
    sid = plant.signals.sid(F, "temperature")
    for shape in shapes:
        batches, rejects = c.decode(plant, T + "temperature", orjson.dumps(shape))
        assert rejects.num_rows == 0
        b = pa.Table.from_batches(batches).select(["ts", "sid", "value", "quality"])
        assert (ts_to_us(b.column("ts")) // 1000).tolist() == ts
        assert b.column("sid").to_pylist() == [sid] * len(ts)
        assert b.column("value").to_pylist() == values
        assert b.column("quality").to_pylist() == [0] * len(ts)


def test_odd_item_in_a_fast_array_takes_the_careful_path(plant: Plant) -> None:
    # Two keys per item on average and a numeric first item: looks like the fast shape, is not.
    payload = orjson.dumps([{"ts": NOW_MS, "value": 21.5}, "ab"])
    batches, rejects = MqttConnector().decode(plant, T + "temperature", payload)
    assert sum(b.num_rows for b in batches) == 1
    assert rejects.column("reason").to_pylist() == ["point must be an object with a 'value'"]


def test_rejects_in_arrays_of_numbers(plant: Plant) -> None:
    c = MqttConnector()
    numbers = orjson.dumps([{"ts": NOW_MS, "value": 1.0}, {"ts": NOW_MS + 1, "value": 2}])
    _, rejects = c.decode(plant, "twinverse/bottling/line1/filler/colour", numbers)
    assert rejects.column("reason").to_pylist() == [f"twin '{F}' has no signal 'colour'"] * 2
    far = orjson.dumps([{"ts": NOW_MS, "value": 1.0}, {"ts": 1e300, "value": 2}])
    batches, rejects = c.decode(plant, T + "temperature", far)
    assert [b.num_rows for b in batches] == [1]
    assert rejects.column("reason").to_pylist() == ["unparsable timestamp '1e+300'"]
    with_null = orjson.dumps([{"ts": NOW_MS, "value": 1.0}, {"ts": NOW_MS + 1, "value": None}])
    batches, rejects = c.decode(plant, T + "temperature", with_null)
    assert [b.num_rows for b in batches] == [1]
    assert rejects.column("reason").to_pylist() == ["missing value"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8) | st.sampled_from(["ts", "value", "quality", "unit", "twin", "signal", "running", "degF"]),
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.sampled_from(["ts", "value", "quality", "unit", "twin", "signal", "x"]), inner, max_size=5),
    max_leaves=20,
)


@given(
    st.one_of(_json.map(orjson.dumps), st.binary(max_size=64)),
    st.sampled_from([T + "temperature", T + "state", "twinverse/x"]),
)
@settings(max_examples=300, deadline=None)
def test_any_payload_decodes_without_raising(plant: Plant, payload: bytes, topic: str) -> None:
    """Whatever arrives, decoding ends in batches for the engine or quarantine rows, never an error."""
    batches, rejects = MqttConnector().decode(plant, topic, payload)
    for b in batches:
        assert b.schema.names[:4] == ["ts", "sid", "value", "quality"]
    assert rejects.schema.names == ["received", "ts", "twin", "signal", "value", "reason", "source"]
    assert all(rejects.column("reason").to_pylist())


def test_a_flush_makes_one_batch(plant: Plant) -> None:
    """Messages of every shape in one flush become one engine batch (one store transaction)."""
    decoder = PayloadDecoder(TopicPattern("twinverse/{twin}/{signal}"), 1 << 20)
    p = Pending()
    for topic, payload in [
        (T + "speed", orjson.dumps([{"ts": NOW_MS + i, "value": i} for i in range(5)])),  # fast path
        (T + "state", b'"idle"'),  # row-wise
        (T + "temperature", orjson.dumps({"ts": NOW_MS, "value": 68, "unit": "degF"})),  # with a unit
    ]:
        p.take(*decoder.decode(topic, payload, NOW_MS + 10))
    batches, rejects, counts = convert(plant, p)
    assert (rejects, dict(counts)) == (None, {})
    [batch] = batches
    assert batch.num_rows == 7
    assert batch.column("unit").to_pylist() == [None] * 5 + ["degF", None]


def test_a_flush_that_fails_to_decode_is_retried_message_by_message(plant: Plant, tmp_path: Path) -> None:
    """If decoding a whole flush raises, each message is decoded on its own; none is lost."""
    store = DuckDBStore(tmp_path / "iso.duckdb")
    c = MqttConnector()
    c._engine = Engine(plant, store)
    p = Pending()
    arrivals = [(b"21.5", NOW_MS + 5000), (orjson.dumps({"ts": NOW_MS, "value": 7}), NOW_MS + 6000)]
    for payload, at_ms in arrivals:
        p.take(*c._decoder.decode(T + "temperature", payload, at_ms))
        p.raw.append((T + "temperature", payload, at_ms / 1000))
        p.messages += 1
    p.num.ts.append(0)  # a column one item too long: decode_columns refuses the whole flush
    c._flush(p)
    t = store.history(HistoryQuery(sids=(plant.signals.sid(F, "temperature"),)))
    got = list(zip((ts_to_us(t.column("ts")) // 1000).tolist(), t.column("value").to_pylist(), strict=True))
    assert got == [(NOW_MS, 7.0), (NOW_MS + 5000, 21.5)]
    assert c.stats().messages == 2
    store.close()


# -- against mosquitto --------------------------------------------------------------------------
def test_bare_values_take_the_receive_time(rig: Rig) -> None:
    c = rig.connect()
    before = time.time() * 1000
    air = "bottling/utilities/air"
    rig.publish((T + "temperature", b"21.5"), (T + "state", b'"blocked"'), (f"twinverse/{air}/running", b"true"))
    wait_until(acked(c, 3), "3 acknowledgements")
    after = time.time() * 1000
    for (twin, signal), value in [((F, "temperature"), 21.5), ((F, "state"), 3.0), ((air, "running"), 1.0)]:
        [(ts, v)] = rig.history(twin, signal)
        assert v == value
        assert before - 1 <= ts <= after + 1
    assert rig.live(F, "state")["value"] == "blocked"


def test_single_point_objects(rig: Rig) -> None:
    c = rig.connect()
    rig.publish(
        (T + "temperature", orjson.dumps({"ts": NOW_MS, "value": 21.5})),
        (T + "speed", orjson.dumps({"ts": "2024-01-01T00:00:00Z", "value": 600, "quality": 1})),
    )
    wait_until(acked(c, 2), "2 acknowledgements")
    assert rig.history(F, "temperature") == [(NOW_MS, 21.5)]
    assert rig.history(F, "speed") == [(1_704_067_200_000, 600.0)]
    assert rig.live(F, "speed")["quality"] == 1


def test_arrays_of_points(rig: Rig) -> None:
    c = rig.connect()
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 10, 250).round(3).tolist()
    rig.publish(*[
        (T + "pressure", orjson.dumps([{"ts": NOW_MS + 50 * m + i, "value": values[50 * m + i]} for i in range(50)]))
        for m in range(5)
    ])
    wait_until(acked(c, 5), "5 acknowledgements")
    assert rig.history(F, "pressure") == [(NOW_MS + i, v) for i, v in enumerate(values)]
    assert c.stats().points == 250


def test_array_points_carry_their_own_names(rig: Rig) -> None:
    c = rig.connect(topic="plant/{twin}")  # no {signal}: the points name it
    rig.publish((
        "plant/bottling/line1/filler",
        orjson.dumps([
            {"ts": NOW_MS, "signal": "speed", "value": 590},
            {"ts": NOW_MS, "signal": "state", "value": "down"},
            {"ts": NOW_MS, "twin": "bottling/line1/capper", "signal": "torque", "value": 4.5, "quality": 2},
            {"ts": NOW_MS, "value": 1.0},  # no signal anywhere
        ]),
    ))
    wait_until(acked(c, 1), "1 acknowledgement")
    assert rig.history(F, "speed") == [(NOW_MS, 590.0)]
    assert rig.history(F, "state") == [(NOW_MS, 4.0)]
    assert rig.history("bottling/line1/capper", "torque") == [(NOW_MS, 4.5)]
    assert rig.live("bottling/line1/capper", "torque")["quality"] == 2
    assert rig.reasons() == ["missing twin or signal name"]


def test_columnar_objects(rig: Rig) -> None:
    c = rig.connect()
    rig.publish(
        (T + "fill_level", orjson.dumps({"ts": [NOW_MS, NOW_MS + 1000], "value": [499.5, 501.0], "quality": 1})),
        (T + "state", orjson.dumps({"ts": [NOW_MS, NOW_MS + 1], "value": ["setup", "running"]})),
        (T + "speed", orjson.dumps({"ts": [NOW_MS, NOW_MS + 1], "value": [1, 2, 3]})),  # ragged
    )
    wait_until(acked(c, 3), "3 acknowledgements")
    assert rig.history(F, "fill_level") == [(NOW_MS, 499.5), (NOW_MS + 1000, 501.0)]
    assert rig.history(F, "state") == [(NOW_MS, 5.0), (NOW_MS + 1, 0.0)]
    assert rig.history(F, "speed") == []
    assert rig.reasons() == ["columnar payload: 'ts' must be a list as long as 'value' (3 items)"]


def test_units_are_converted_by_the_engine(rig: Rig) -> None:
    c = rig.connect()
    rig.publish(
        (T + "temperature", orjson.dumps([
            {"ts": NOW_MS, "value": 122, "unit": "degF"}, {"ts": NOW_MS + 1, "value": 32, "unit": "degF"}
        ])),
        (T + "pressure", orjson.dumps({"ts": NOW_MS, "value": 250, "unit": "kPa"})),
        (T + "fill_level", orjson.dumps({"ts": [NOW_MS], "value": [0.5], "unit": "L"})),
        (T + "speed", orjson.dumps({"ts": NOW_MS, "value": 5, "unit": "degF"})),  # not a speed unit
    )
    wait_until(acked(c, 4), "4 acknowledgements")
    [(t1, hot), (t2, freezing)] = rig.history(F, "temperature")
    assert (t1, t2) == (NOW_MS, NOW_MS + 1)
    assert hot == pytest.approx(50.0, abs=1e-9)
    assert freezing == pytest.approx(0.0, abs=1e-9)
    assert rig.history(F, "pressure")[0][1] == pytest.approx(2.5)
    assert rig.history(F, "fill_level")[0][1] == pytest.approx(500.0)
    assert rig.history(F, "speed") == []
    assert rig.reasons() == ["unit 'degF' cannot be converted to 'bottle/min'"]


BAD_INPUT = [
    ("not utf-8", T + "temperature", b"\xff\xfe\x00", "payload is not UTF-8", "not_utf8"),
    ("not json", T + "temperature", b"{oops", "payload is not JSON", "not_json"),
    ("empty", T + "temperature", b"", "empty payload", "not_json"),
    ("wrong topic", "twinverse/lonely", b"1", "topic 'twinverse/lonely' does not match the pattern", "topic"),
    ("unknown twin", "twinverse/bottling/line9/filler/speed", b"1", "unknown twin 'bottling/line9/filler'", "decode"),
    ("unknown signal", T + "colour", b"1", f"twin '{F}' has no signal 'colour'", "decode"),
    ("oversized", T + "temperature", b"[" + b"1," * 600 + b"1]", "exceeds the limit of 1000 bytes", "too_large"),
    ("no value", T + "temperature", b'{"ts": 1}', "object has no 'value'", "shape"),
    ("bad quality", T + "temperature", b'{"value": 1, "quality": 7}', "quality must be 0", "shape"),
    ("non-object point", T + "temperature", b"[7]", "point must be an object", "shape"),
    ("unparsable value", T + "temperature", b'"hot"', "unparsable value 'hot'", "decode"),
    ("unknown state", T + "state", b'"dancing"', "state 'dancing' not in the enumeration", "decode"),
    ("bad timestamp", T + "temperature", b'{"ts": "now-ish", "value": 1}', "unparsable timestamp 'now-ish'", "decode"),
]


@pytest.mark.parametrize(("case", "topic", "payload", "reason", "kind"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_is_quarantined_and_acknowledged(
    rig: Rig, case: str, topic: str, payload: bytes, reason: str, kind: str
) -> None:
    c = rig.connect(max_message_bytes=1000)
    good = (T + "temperature", orjson.dumps({"ts": NOW_MS, "value": 42.5}))
    rig.publish((topic, payload), good)
    wait_until(acked(c, 2), "both messages acknowledged")
    [text] = rig.reasons()
    assert reason in text
    stats = c.stats()
    assert (stats.quarantined, stats.reasons) == (1, {kind: 1})
    assert rig.history(F, "temperature") == [(NOW_MS, 42.5)]  # still ingesting afterwards
    rig.publish((T + "temperature", orjson.dumps({"ts": NOW_MS + 1, "value": 43.0})))
    wait_until(acked(c, 3), "a third message")
    assert rig.history(F, "temperature") == [(NOW_MS, 42.5), (NOW_MS + 1, 43.0)]


def test_engine_rejects_are_quarantined_too(rig: Rig) -> None:
    c = rig.connect()
    rig.publish((T + "temperature", orjson.dumps([{"ts": NOW_MS, "value": 500}, {"ts": NOW_MS + 1, "value": 20}])))
    wait_until(acked(c, 1), "1 acknowledgement")
    assert rig.history(F, "temperature") == [(NOW_MS + 1, 20.0)]
    assert rig.reasons() == ["value out of range: 500.0 not in [-10, 90]"]


def test_messages_are_acknowledged_only_once_stored(rig: Rig) -> None:
    # A long linger keeps the messages pending: received, not stored, not acknowledged.
    c = rig.connect(interval=3600, idle=3600, max_points=10**9)
    rig.publish(*[(T + "speed", orjson.dumps({"ts": NOW_MS + i, "value": i})) for i in range(10)])
    wait_until(lambda: c.stats().pending == 10, "10 pending messages")
    assert (c.stats().acked, rig.store.count()) == (0, 0)
    c.stop()  # a clean stop stores, then acknowledges
    assert (c.stats().acked, c.stats().pending) == (10, 0)
    assert rig.history(F, "speed") == [(NOW_MS + i, float(i)) for i in range(10)]


def test_restart_resumes_the_session(rig: Rig) -> None:
    """Unacknowledged messages and those published while down arrive after a restart, once each."""
    first = [(T + "speed", orjson.dumps({"ts": NOW_MS + i, "value": i})) for i in range(20)]
    c = rig.connect(interval=3600, idle=3600, max_points=10**9)
    rig.publish(*first)
    wait_until(lambda: c.stats().pending == 20, "20 pending messages")
    c.stop(flush=False)  # as if it crashed: nothing stored, nothing acknowledged
    assert rig.store.count() == 0
    down = [(T + "speed", orjson.dumps([{"ts": NOW_MS + i, "value": i} for i in range(20, 500)]))]
    rig.publish(*down)  # while no connector runs; the persistent session queues it
    c2 = rig.connect()  # same client id
    wait_until(lambda: rig.store.count() == 500, "500 stored points")
    wait_until(acked(c2, 21), "21 acknowledgements")
    assert rig.history(F, "speed") == [(NOW_MS + i, float(i)) for i in range(500)]
    c2.stop()
    c3 = rig.connect()  # everything was acknowledged: nothing comes back
    rig.publish((T + "speed", orjson.dumps({"ts": NOW_MS + 500, "value": 500})))
    wait_until(acked(c3, 1), "1 acknowledgement")
    assert c3.stats().messages == 1
    assert rig.store.count() == 501


def test_survives_a_broker_restart(rig: Rig) -> None:
    c = rig.connect(reconnect_delay=(1, 2))
    rig.publish((T + "speed", orjson.dumps({"ts": NOW_MS, "value": 1})))
    wait_until(acked(c, 1), "1 acknowledgement")
    rig.broker.stop()
    wait_until(lambda: not c.connected, "the connector to notice")
    rig.broker.start()
    wait_until(lambda: c.connected and c.stats().connects == 2, "a reconnect")
    rig.publish((T + "speed", orjson.dumps({"ts": NOW_MS + 1, "value": 2})))
    wait_until(acked(c, 2), "2 acknowledgements")
    assert rig.history(F, "speed") == [(NOW_MS, 1.0), (NOW_MS + 1, 2.0)]


def test_publisher_round_trip(rig: Rig) -> None:
    """MqttPublisher.publish_batch → broker → connector → store gives back the batch."""
    c = rig.connect()
    idx = rig.plant.signals
    names = [(F, "temperature"), (F, "state"), (F, "good_count"), ("bottling/utilities/air", "running")]
    sids = [rig.sid(*name) for name in names]
    rng = np.random.default_rng(3)
    n = 1500  # more than max_points per message: several messages per signal
    ts_us = (NOW_MS - 10_000_000) * 1000 + np.arange(n) * 1500  # µs, not whole ms
    sid = np.array(sids * (n // len(sids)))
    value = np.select(
        [sid == sids[0], sid == sids[1], sid == sids[2]],
        [rng.uniform(-10, 90, n).round(2), rng.integers(0, 7, n), rng.integers(0, 10**6, n)],
        rng.integers(0, 2, n),
    ).astype(float)
    quality = rng.integers(0, 3, n)
    with MqttPublisher(rig.broker.url, max_points=200) as pub:
        sent = pub.publish_batch(rig.plant, make_batch(ts_us, sid, value, quality))
        assert pub.flush()
    wait_until(acked(c, sent), f"{sent} acknowledgements")
    assert rig.store.count() == n
    for s in sids:
        got = rig.store.history(HistoryQuery(sids=(s,)))
        mine = sid == s
        assert ts_to_us(got.column("ts")).tolist() == ts_us[mine].tolist(), idx.name[s]
        assert got.column("value").to_pylist() == value[mine].tolist(), idx.name[s]


def test_shared_broker(shared_broker_url: str, plant: Plant, tmp_path: Path) -> None:
    """The machine's mosquitto: a unique topic root and client id, session removed afterwards."""
    root = f"tvtest-{uuid.uuid4().hex[:8]}"
    client_id = f"{root}-ingest"
    store = DuckDBStore(tmp_path / "shared.duckdb")
    c = MqttConnector(shared_broker_url, topic=root + "/{twin}/{signal}", client_id=client_id)
    c.start(Engine(plant, store))
    try:
        with MqttPublisher(shared_broker_url) as pub:
            for i in range(30):
                pub.publish(f"{root}/{F}/speed", orjson.dumps({"ts": NOW_MS + i, "value": i}))
            assert pub.flush()
        wait_until(acked(c, 30), "30 acknowledgements")
        assert store.count() == 30
    finally:
        c.stop()
        store.close()
        _drop_session(shared_broker_url, client_id)


def _drop_session(url: str, client_id: str) -> None:
    """Connect with a clean start and no session expiry, so the broker forgets the session."""
    host, port, *_ = parse_broker_url(url)
    cl = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 0
    cl.connect(host, port, clean_start=True, properties=props)
    cl.loop_start()
    wait_until(cl.is_connected, "a clean connection")
    cl.disconnect()
    cl.loop_stop()
