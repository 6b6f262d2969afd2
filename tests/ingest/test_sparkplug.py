"""Sparkplug B: the schema, the columnar scan, the mapping, and the host against our own edge on mosquitto."""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import paho.mqtt.client as mqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import Broker
from tests.ingest.field import engines, start_source, wait_until
from tests.ingest.stored import stored_points
from twinverse.core.quality import Quality
from twinverse.errors import ConnectorError, ModelLoadError
from twinverse.ingest.sparkplug import SparkplugHost
from twinverse.ingest.sparkplug_edge import Device, EdgeNode
from twinverse.ingest.sparkplug_pb import DataType, Payload, metric_value, set_value
from twinverse.ingest.sparkplug_wire import scan, values
from twinverse.ingest.spec import load_source_specs
from twinverse.live.engine import Engine
from twinverse.model import Plant, loads_plant

pytestmark = pytest.mark.mqtt

DEV = Device("d1", (("m0", DataType.DOUBLE, None), ("m1", DataType.INT16, None), ("m2", DataType.FLOAT, "degF")))


def plant_yaml(port: int, extra: str = "", *, big: int = 0, reorder: float = 0.3) -> str:
    big_type = ("  big:\n    signals:\n" + "".join(f"      m{i}: {{}}\n" for i in range(big))) if big else ""
    big_twin = "  - {id: big1, type: big}\n" if big else ""
    return f"""plant: p
types:
  dev:
    signals:
      m0: {{}}
      m1: {{kind: int}}
      m2: {{unit: degC}}
{big_type}twins:
  - {{id: d1, type: dev}}
  - {{id: d2, type: dev}}
{big_twin}sources:
  spb:
    kind: sparkplug
    url: mqtt://127.0.0.1:{port}
    host_id: tv
    reorder_timeout: {reorder}
    rebirth_interval: 0.3
    reconnect: [0.05, 0.2]
    devices:
      - {{group: G, node: "*", device: "*", twin: "{{device}}"}}
{extra}"""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Callable[[Plant], Engine]]:
    yield from engines(tmp_path)


def live(engine: Engine, twin: str, signal: str) -> dict[str, Any]:
    [row] = engine.live(np.array([engine.plant.signals.sid(f"p/{twin}", signal)]))
    return row


# -- schema -----------------------------------------------------------------------------------
def test_schema_writes_the_specified_wire_format() -> None:
    assert Payload(timestamp=1, seq=3).SerializeToString() == b"\x08\x01\x18\x03"
    p = Payload()
    set_value(p.metrics.add(name="a", alias=1), DataType.DOUBLE, 1.5)
    # field 2 (metrics, length 16): name=1 'a', alias=2 1, datatype=4 10, double_value=13 1.5
    assert p.SerializeToString() == bytes.fromhex("12100a01611001200a69000000000000f83f")
    q = Payload()
    set_value(q.metrics.add(name="t"), DataType.INT8, -1)
    assert q.metrics[0].int_value == 0xFFFFFFFF and metric_value(q.metrics[0]) == -1.0


def test_schema_round_trips_datasets_templates_and_properties() -> None:
    p = Payload(timestamp=5, seq=255, uuid="u")
    ds = p.metrics.add(name="table", datatype=DataType.DATASET).dataset_value
    ds.num_of_columns = 2
    ds.columns.extend(["a", "b"])
    ds.types.extend([DataType.INT32, DataType.STRING])
    row = ds.rows.add()
    row.elements.add(int_value=7)
    row.elements.add(string_value="x")
    t = p.metrics.add(name="motor", datatype=DataType.TEMPLATE).template_value
    t.template_ref = "Motor"
    t.metrics.add(name="rpm", datatype=DataType.DOUBLE, double_value=3.0)
    t.parameters.add(name="size", type=DataType.INT32, int_value=4)
    m = p.metrics.add(name="speed", datatype=DataType.DOUBLE, double_value=1.0)
    m.properties.keys.append("engUnit")
    m.properties.values.add(type=DataType.STRING, string_value="rpm")
    back = Payload.FromString(p.SerializeToString())
    assert back == p
    assert back.metrics[0].dataset_value.rows[0].elements[1].string_value == "x"
    assert back.metrics[1].template_value.parameters[0].int_value == 4
    assert back.metrics[2].properties.values[0].string_value == "rpm"


_MEMBERS = st.sampled_from([
    (DataType.DOUBLE, st.floats(allow_nan=False, width=64)), (DataType.FLOAT, st.floats(allow_nan=False, width=32)),
    (DataType.INT8, st.integers(-128, 127)), (DataType.INT16, st.integers(-32768, 32767)),
    (DataType.INT32, st.integers(-(2**31), 2**31 - 1)), (DataType.INT64, st.integers(-(2**53), 2**53)),
    (DataType.UINT32, st.integers(0, 2**32 - 1)), (DataType.BOOLEAN, st.booleans()),
])  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_MEMBERS.flatmap(lambda m: st.tuples(st.just(m[0]), m[1])), st.integers(0, 2**40),
                          st.booleans(), st.booleans()), max_size=40), st.integers(0, 255))  # fmt: skip
def test_scan_agrees_with_the_schema(metrics: list[Any], seq: int) -> None:
    p = Payload(timestamp=99, seq=seq)
    for (dt, v), alias, named, null in metrics:
        m = p.metrics.add(alias=alias, timestamp=alias + 1)
        if named:
            m.name = f"n{alias}"
        set_value(m, dt, v)
        m.is_null = null
    data = p.SerializeToString()
    c = scan(data)
    assert (c.status, c.seq, c.timestamp) == (0, seq, 99)
    assert c.alias.tolist() == [m.alias for m in p.metrics]
    assert c.is_null.tolist() == [m.is_null for m in p.metrics]
    got = values(c, c.datatype)
    for g, m in zip(got.tolist(), p.metrics, strict=True):
        ref = metric_value(_not_null(m))  # the value travels even when flagged null
        assert g == ref or (math.isnan(g) and math.isnan(ref))
    named = np.flatnonzero(c.name_at >= 0)
    assert c.names(data, named) == [m.name for m in p.metrics if m.name]


def _not_null(m: Any) -> Any:
    copy = type(m)()
    copy.CopyFrom(m)
    copy.is_null = False
    return copy


def test_scan_reports_malformed_payloads() -> None:
    p = Payload(seq=1)
    set_value(p.metrics.add(alias=1), DataType.DOUBLE, 2.0)
    data = p.SerializeToString()
    assert scan(data[:-1]).status < 0
    assert scan(b"\x12\xff").status < 0
    assert scan(b"\x0f").status < 0  # wire type 7
    for k in range(len(data)):  # every truncation ends (it hung once: a varint cut at the end)
        c = scan(data[:k])
        assert c.status <= 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_scan_ends_on_any_bytes(data: bytes) -> None:
    c = scan(data)
    assert c.status <= 0 and len(c.alias) <= len(data)


# -- the sources: entry -------------------------------------------------------------------------
def test_mapping_mistakes_are_located() -> None:
    bad = """      - {group: G, node: "a/b", twin: d1}
      - {group: G, node: E, device: X, twin: d9}
      - {group: G, node: E, device: Y, twin: "{devise}"}
      - {group: G, node: E, twin: "{device}"}
      - {group: G, node: E, device: Z, twin: d2, metrics: {nope: x, m2: {metric: T, unit: furlong}}}
      - {node: E, device: W, twin: d2, colour: red}
"""
    with pytest.raises(ModelLoadError) as err:
        load_source_specs(loads_plant(plant_yaml(1883, bad)))
    text = str(err.value)
    for want in ("sources.spb.devices[1].node: node must be a Sparkplug id",
                 "sources.spb.devices[2].twin: unknown twin 'd9'",
                 "sources.spb.devices[3].twin: twin template may use", "devices[4].twin: twin uses {device}",
                 "devices[5].metrics.nope: twin 'p/d2' (type dev) has no signal 'nope'", "devices[5].metrics.m2.unit",
                 "devices[6]: missing required field 'group'", "devices[6].colour: unknown field"):  # fmt: skip
        assert want in text, (want, text)
    assert re.search(r"<string>:2\d: sources\.spb\.devices\[1\]\.node", text)  # file:line: path: message


def test_a_valid_entry_parses() -> None:
    [spec] = load_source_specs(loads_plant(plant_yaml(1884)))
    c = spec.config
    assert (c.host, c.port, c.host_id, c.reorder_timeout, len(c.devices)) == ("127.0.0.1", 1884, "tv", 0.3, 1)


# -- the host against our own edge on a private mosquitto ---------------------------------------------
def host(
    broker: Broker, engine: Callable[[Plant], Engine], extra: str = "", big: int = 0, reorder: float = 0.3
) -> tuple[SparkplugHost, Engine]:
    plant = loads_plant(plant_yaml(broker.port, extra, big=big, reorder=reorder))
    e = engine(plant)
    src = start_source(plant, e, SparkplugHost)
    wait_until(lambda: src.connected, "the host to connect")
    return src, e


def edge(broker: Broker, node: str = "E1", bdseq: int = 0, devices: tuple[Device, ...] = (DEV,)) -> EdgeNode:
    return EdgeNode(broker.url, "G", node, list(devices), bdseq=bdseq, client_id=f"edge-{node}-{bdseq}").start()


def test_birth_data_death_rebirth(broker: Broker, engine: Callable[[Plant], Engine]) -> None:
    src, e = host(broker, engine)
    try:
        ed = edge(broker)
        wait_until(lambda: src.births >= 2, "NBIRTH and DBIRTH")
        ed.publish("d1", {"m0": 1.5, "m1": -3, "m2": 212.0}, ts_ms=1_700_000_000_000)
        wait_until(lambda: live(e, "d1", "m0")["value"] == 1.5, "DDATA stored")
        assert live(e, "d1", "m1")["value"] == -3  # Int16 two's complement
        assert live(e, "d1", "m2")["value"] == pytest.approx(100.0)  # engUnit degF → the signal's degC
        assert live(e, "d1", "m0")["ts"] == "2023-11-14T22:13:20Z"  # the metric's own timestamp
        ed.kill()  # the plug is pulled: the broker publishes the NDEATH will
        wait_until(lambda: live(e, "d1", "m0")["quality"] == Quality.BAD, "NDEATH marks the signals BAD")
        assert live(e, "d1", "m0")["value"] == 1.5 and src.deaths == 1
        ed2 = edge(broker, bdseq=1)  # back, with the next bdSeq
        # As for the first session: data sent before the host has its births would be dropped
        # (data before birth asks for a rebirth, it is not stored).
        wait_until(lambda: src.births >= 4, "the second session's NBIRTH and DBIRTH")
        ed2.publish("d1", {"m0": 2.5, "m1": 1, "m2": 32.0})
        wait_until(lambda: live(e, "d1", "m2")["value"] == pytest.approx(0.0, abs=1e-9), "data after the rebirth")
        assert live(e, "d1", "m0")["quality"] == Quality.GOOD
        assert src.health()["bad_signals"] == 0
        ed2.stop()
    finally:
        src.stop()


def test_seq_gap_requests_a_rebirth_after_the_reorder_timeout(
    broker: Broker, engine: Callable[[Plant], Engine]
) -> None:
    src, e = host(broker, engine)
    try:
        ed = edge(broker)
        wait_until(lambda: src.births >= 2, "births")
        s = ed.publish("d1", {"m0": 1.0})
        ed.publish("d1", {"m0": 3.0}, seq=s + 2)  # s + 1 never comes
        wait_until(lambda: ed.rebirths == 1, "the edge to be asked for a rebirth")
        assert src.seq_gaps == 1 and src.rebirths == 1
        wait_until(lambda: live(e, "d1", "m0")["value"] == 3.0, "what waited is applied after the timeout")
        ed.publish("d1", {"m0": 4.0})
        wait_until(lambda: live(e, "d1", "m0")["value"] == 4.0, "data after the rebirth")
        ed.stop()
    finally:
        src.stop()


def test_messages_out_of_order_within_the_timeout_are_reordered(
    broker: Broker, engine: Callable[[Plant], Engine]
) -> None:
    src, e = host(broker, engine, reorder=30.0)
    try:
        ed = edge(broker)
        wait_until(lambda: src.births >= 2, "births")
        s = ed.seq
        t = int(time.time() * 1000)
        later = ed.payload("d1", {"m0": 2.0}, ts_ms=t + 1, seq=s + 1)
        first = ed.payload("d1", {"m0": 1.0}, ts_ms=t, seq=s)
        ed.publish_raw(ed.topic("DDATA", "d1"), later)
        ed.publish_raw(ed.topic("DDATA", "d1"), first)
        wait_until(lambda: src.stored >= 2, "both stored")
        assert live(e, "d1", "m0")["value"] == 2.0 and src.seq_gaps == 1 and src.rebirths == 0
        ed.stop()
    finally:
        src.stop()


def test_a_stale_ndeath_with_another_bdseq_is_ignored(broker: Broker, engine: Callable[[Plant], Engine]) -> None:
    src, e = host(broker, engine)
    try:
        ed = edge(broker, bdseq=5)
        wait_until(lambda: src.births >= 2, "births")
        ed.publish("d1", {"m0": 1.0})
        wait_until(lambda: live(e, "d1", "m0")["value"] == 1.0, "data")
        old = Payload(timestamp=1)
        set_value(old.metrics.add(name="bdSeq"), DataType.INT64, 4)  # the will of the previous session
        ed.publish_raw(ed.topic("NDEATH"), old.SerializeToString(), qos=1)
        wait_until(lambda: src.stale_deaths == 1, "the stale NDEATH counted")
        assert live(e, "d1", "m0")["quality"] == Quality.GOOD and src.deaths == 0
        ed.stop()  # its own NDEATH (bdSeq 5) applies
        wait_until(lambda: live(e, "d1", "m0")["quality"] == Quality.BAD, "the matching NDEATH applies")
    finally:
        src.stop()


def test_data_before_birth_and_a_host_restart(
    broker: Broker, engine: Callable[[Plant], Engine], tmp_path: Path
) -> None:
    ed = edge(broker)  # births with no host listening
    src, e = host(broker, engine)
    try:
        ed.publish("d1", {"m0": 7.0}, ts_ms=1_000_000)  # no birth known: not stored, rebirth asked
        wait_until(lambda: ed.rebirths == 1, "a rebirth request")
        assert src.unborn >= 1
        ed.publish("d1", {"m0": 8.0})
        wait_until(lambda: live(e, "d1", "m0")["value"] == 8.0, "data after the rebirth")
        src.stop()
        ed.publish("d1", {"m0": 9.0})  # while the host is away
        src.start(e)
        wait_until(lambda: src.connected, "the host back")
        deadline = time.monotonic() + 60
        while ed.rebirths < 2:  # the edge goes on publishing until the restarted host asks for a rebirth
            assert time.monotonic() < deadline, "no rebirth requested by the restarted host"
            ed.publish("d1", {"m0": 10.0}, ts_ms=2_000_000)
            time.sleep(0.2)
        ed.publish("d1", {"m0": 11.0})
        wait_until(lambda: live(e, "d1", "m0")["value"] == 11.0, "data after the second rebirth")
        e.close()
        rows = [(ts, v) for sid, ts, v in stored_points(str(tmp_path / "s0.duckdb"), e.plant)
                if sid == e.plant.signals.sid("p/d1", "m0")]  # fmt: skip
        # The DDATA of a session the host has no birth of is never applied (its values come back
        # in the births the host asked for, stamped with the birth's time).
        assert not [r for r in rows if r[0] in (1_000_000_000, 2_000_000_000)]
        assert {8.0, 11.0} <= {v for _, v in rows}
    finally:
        src.stop()
        ed.stop()


def test_is_null_is_bad_with_the_last_value(broker: Broker, engine: Callable[[Plant], Engine]) -> None:
    src, e = host(broker, engine)
    try:
        ed = edge(broker)
        wait_until(lambda: src.births >= 2, "births")
        ed.publish("d1", {"m0": 4.0})
        wait_until(lambda: live(e, "d1", "m0")["value"] == 4.0, "data")
        ed.publish("d1", {}, null=["m0"])
        wait_until(lambda: live(e, "d1", "m0")["quality"] == Quality.BAD, "is_null → BAD")
        assert live(e, "d1", "m0")["value"] == 4.0
        ed.stop()
    finally:
        src.stop()


def test_write_sends_a_dcmd_and_the_read_back_is_stored(broker: Broker, engine: Callable[[Plant], Engine]) -> None:
    src, e = host(broker, engine)
    try:
        ed = edge(broker)
        wait_until(lambda: src.births >= 2, "births")
        sid = e.plant.signals.sid("p/d1", "m2")
        src.write(sid, 100.0)  # degC; the device speaks degF
        wait_until(lambda: bool(ed.commands), "the DCMD")
        assert ed.commands[0][:2] == ("d1", "m2") and ed.commands[0][2] == pytest.approx(212.0)
        wait_until(lambda: live(e, "d1", "m2")["value"] == pytest.approx(100.0), "the read-back")
        with pytest.raises(ConnectorError, match="no metric born"):
            src.write(e.plant.signals.sid("p/d2", "m0"), 1.0)
        ed.stop()
    finally:
        src.stop()


def test_state_birth_and_will(broker: Broker, engine: Callable[[Plant], Engine]) -> None:
    seen: list[dict[str, Any]] = []
    got = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="state-watch")

    def on_message(c: Any, u: Any, msg: Any) -> None:
        seen.append({**orjson.loads(msg.payload), "retain": msg.retain, "qos": msg.qos})
        got.set()

    sub.on_message = on_message
    sub.connect("127.0.0.1", broker.port)
    sub.subscribe("spBv1.0/STATE/tv", qos=1)
    sub.loop_start()
    src, _ = host(broker, engine)
    try:
        wait_until(lambda: any(s["online"] for s in seen), "STATE online")
        birth = next(s for s in seen if s["online"])
        assert birth["qos"] == 1 and isinstance(birth["timestamp"], int)
        client = src._client
        client.socket().close()  # the host's connection breaks: the broker sends its will
        wait_until(lambda: any(not s["online"] for s in seen), "the STATE will")
        will = next(s for s in seen if not s["online"])
        assert will["timestamp"] == birth["timestamp"]  # the will carries the birth's timestamp
        wait_until(lambda: sum(s["online"] for s in seen) >= 2 and src.connected, "STATE online again")
    finally:
        src.stop()
        sub.loop_stop()
        sub.disconnect()


def test_a_thousand_metrics_per_device_in_one_batch(broker: Broker, engine: Callable[[Plant], Engine]) -> None:
    n = 1000
    big = Device("big1", tuple((f"m{i}", DataType.DOUBLE, None) for i in range(n)))
    src, e = host(broker, engine, big=n)
    try:
        ed = edge(broker, devices=(big,))
        wait_until(lambda: src.births >= 2, "births")
        ed.publish("big1", {f"m{i}": i * 0.5 for i in range(n)})
        wait_until(lambda: live(e, "big1", "m999")["value"] == 499.5, "1,000 metrics")
        got = np.array([r["value"] for r in e.live(e.plant.signals.of_twin("p/big1"))], dtype=float)
        np.testing.assert_array_equal(got, np.arange(n) * 0.5)
        assert src.metrics >= n
        ed.stop()
    finally:
        src.stop()


def test_qos1_data_is_acknowledged_only_after_it_is_stored(broker: Broker, engine: Callable[[Plant], Engine]) -> None:
    src, e = host(broker, engine)
    gate = threading.Event()
    entered = threading.Event()
    ingest = e.ingest

    def slow_ingest(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        gate.wait(30)
        return ingest(*args, **kwargs)

    try:
        ed = edge(broker)
        wait_until(lambda: src.births >= 2, "births")
        acked = src.acked
        e.ingest = slow_ingest  # type: ignore[method-assign]
        ed.publish_raw(ed.topic("DDATA", "d1"), ed.payload("d1", {"m0": 6.0}, ts_ms=int(time.time() * 1000),
                                                           seq=ed.seq), qos=1)  # fmt: skip
        wait_until(entered.is_set, "the store to be called")
        time.sleep(0.2)
        assert src.acked == acked  # the store has not returned: no PUBACK yet
        gate.set()
        wait_until(lambda: src.acked == acked + 1, "the PUBACK after the store returned")
        assert live(e, "d1", "m0")["value"] == 6.0
        ed.stop()
    finally:
        gate.set()
        src.stop()
