"""Sparkplug B 3.0 Primary Host Application: births, data by alias, seq, deaths, rebirths, commands.

One thread drives a paho-mqtt client (MQTT 5, clean start, as the specification asks of a
host). On every connection the host publishes its STATE birth (``spBv1.0/STATE/<host_id>``,
retained, QoS 1, ``{"online": true, "timestamp": t}``) after registering the matching will
(``online: false``, the same ``t``), and subscribes to ``spBv1.0/#``.

- **NBIRTH / DBIRTH** (decoded with the schema, :mod:`.sparkplug_pb`): each metric's name,
  alias, datatype and ``engUnit`` are matched to twin signals (:mod:`.sparkplug_map`) and
  kept as sorted alias columns; the birth's values are stored. The NBIRTH's ``bdSeq`` is kept.
- **NDATA / DDATA** (decoded by :func:`.sparkplug_wire.scan`, one compiled pass): aliases
  → sids by ``searchsorted``, values by datatype, metric timestamps kept (else the
  payload's, else arrival); ``is_null`` is BAD with the last value. One emit per payload.
- **seq** (0..255, per edge node, across its node and device messages): a message out of
  order waits up to ``reorder_timeout`` for the missing ones; then what waited is applied in
  seq order and a Rebirth (``Node Control/Rebirth`` NCMD) is requested.
- **Data before birth** (an unknown node or device, e.g. after a host restart), or an
  unknown alias: not applied (it cannot be attributed) and a Rebirth is requested, at most
  once per ``rebirth_interval`` per node.
- **NDEATH** (the broker's will of the edge): applies only if its ``bdSeq`` equals the one of
  the node's NBIRTH (an older session's will is counted as ``stale_deaths`` and ignored);
  the node's and its devices' signals turn BAD at host time. **DDEATH** does so for a device.
- A **compressed** payload (uuid ``SPBV1.0_COMPRESSED``, DEFLATE or GZIP body, as Tahu's
  clients send on request) is inflated first, to at most 64 MiB.
- Losing the broker turns every signal BAD and forgets the births (they are requested anew).
- A birth an entry with ``create`` matches, naming a twin or metrics the model lacks, is
  handed to :attr:`SparkplugHost.on_grow` as a :class:`~twinverse.model.grow.Growth` (once per
  distinct growth); the platform saves the new model version and restarts its sources, and the
  new host asks for the births again, which then find their twins.

QoS 1 messages are acknowledged (paho manual ack) only once their rows are stored.
:meth:`SparkplugHost.write` sends a DCMD/NCMD for a signal's metric.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa

from ..core.clock import now_us as _now_us
from ..core.quality import Quality
from ..errors import ConnectorError
from ..model import Plant
from ..model.grow import Growth
from .base import Health
from .field import FieldSource
from .sparkplug_map import SparkplugConfig, SparkplugParser, match_birth
from .sparkplug_pb import DataType, Payload, metric_value, properties, set_value
from .sparkplug_wire import OTHER, Columns, scan, values
from .spec import KindBase, SourceSpec

__all__ = ["NAMESPACE", "SPARKPLUG", "SparkplugHost", "rebirth_payload", "state_payload"]

log = logging.getLogger("twinverse.ingest.sparkplug")

NAMESPACE = "spBv1.0"
_COMPRESSED = b"SPBV1.0_COMPRESSED"
_MAX_INFLATED = 64 << 20
REBIRTH = "Node Control/Rebirth"


def state_payload(online: bool, timestamp_ms: int) -> bytes:
    """A STATE message of a host application (specification 3.0, JSON, not protobuf)."""
    return orjson.dumps({"online": online, "timestamp": timestamp_ms})


def rebirth_payload(timestamp_ms: int) -> bytes:
    """An NCMD asking an edge node to publish its births again."""
    p = Payload(timestamp=timestamp_ms)
    set_value(p.metrics.add(name=REBIRTH, timestamp=timestamp_ms), DataType.BOOLEAN, True)
    return bytes(p.SerializeToString())


@dataclass
class _Table:
    """The metrics of one birth: sorted aliases and, per metric, its sid (-1: none), datatype, unit."""

    keys: npt.NDArray[np.int64]  # sorted aliases
    at: npt.NDArray[np.int64]  # metric index of each sorted alias
    sid: npt.NDArray[np.int32]
    datatype: npt.NDArray[np.int32]
    scale: npt.NDArray[np.float64]
    offset: npt.NDArray[np.float64]
    names: dict[str, int]
    twin: str | None

    @property
    def sids(self) -> npt.NDArray[np.int32]:
        return np.unique(self.sid[self.sid >= 0])


@dataclass
class _Node:
    """What the host knows of one edge node's session."""

    bdseq: int | None
    expected: int
    tables: dict[str | None, _Table] = field(default_factory=dict)  # None: the node's own metrics
    pending: dict[int, tuple[str, str | None, bytes, Columns, int]] = field(default_factory=dict)
    gap_since: float | None = None


class SparkplugHost(FieldSource):
    """A Sparkplug B Primary Host Application feeding an engine."""

    kind = "sparkplug"

    def __init__(self, name: str, plant: Plant, config: SparkplugConfig, *, buffer: int = 100_000,
                 reconnect: tuple[float, float] = (0.5, 30.0)) -> None:  # fmt: skip
        super().__init__(name, config.url, plant, np.array(config.declared, dtype=np.int32), buffer=buffer,
                         reconnect=reconnect)  # fmt: skip
        self.config = config
        self._client: Any = None
        self._gen = 0
        self._nodes: dict[tuple[str, str], _Node] = {}
        self._asked: dict[tuple[str, str], float] = {}  # last Rebirth request per node (monotonic)
        self._targets: dict[int, tuple[str, str, str | None, str, int, float, float]] = {}  # sid → write target
        self._acks: deque[tuple[int, int, int, int]] = deque()  # (mid, qos, connection, points before it)
        self._ack_lock = threading.Lock()
        self._appended = 0  # points handed to emit (finite ones), for acknowledging after storage
        self._stored_points = 0
        self._state_ts = 0
        self.messages = self.metrics = self.rebirths = self.seq_gaps = self.stale_deaths = 0
        self.unborn = self.unmatched = self.decode_errors = self.births = self.deaths = self.commands = 0
        self.acked = 0  # QoS 1 messages acknowledged (each after its rows were stored)
        #: Called (on the network thread: it must only hand the growth on) for births that name twins or
        #: signals the model lacks, under a ``create`` entry; set by the platform.
        self.on_grow: Callable[[Growth], None] | None = None
        self.growths: list[Growth] = []  # asked for, distinct
        self._regrown: set[tuple[str, str]] = set()  # nodes to ask for births on connecting

    @classmethod
    def from_spec(cls, spec: SourceSpec, plant: Plant) -> SparkplugHost:
        return cls(spec.common.name, plant, spec.config, buffer=spec.common.buffer, reconnect=spec.common.reconnect)

    def describe(self) -> str:
        c = self.config
        return f"sparkplug {self.name} {c.url} (host {c.host_id}, {len(c.devices)} device mappings)"

    def _extra_health(self) -> Health:
        return {"host_id": self.config.host_id, "nodes": len(self._nodes),
                "devices": sum(len(n.tables) - (None in n.tables) for n in list(self._nodes.values())),
                "mapped": len(self._targets),  # signals fed by a metric of a live birth
                "twins": len({t.twin for n in list(self._nodes.values()) for t in list(n.tables.values()) if t.twin}),
                "messages": self.messages, "metrics": self.metrics, "births": self.births, "deaths": self.deaths,
                "rebirths_requested": self.rebirths, "seq_gaps": self.seq_gaps, "stale_deaths": self.stale_deaths,
                "unborn": self.unborn, "unmatched": self.unmatched, "decode_errors": self.decode_errors,
                "commands": self.commands, "acked": self.acked, "growths": len(self.growths)}  # fmt: skip

    # -- storage and acknowledgement --------------------------------------------------------------
    def emit(self, ts_us: npt.NDArray[np.int64], sid: npt.NDArray[np.int32], value: npt.NDArray[np.float64],
             quality: npt.NDArray[np.uint8] | int = Quality.GOOD) -> None:  # fmt: skip
        super().emit(ts_us, sid, value, quality)
        self._appended += int(np.isfinite(value).sum())

    def _store(self, batch: pa.RecordBatch) -> None:
        lost = self.error_kinds["store"]
        super()._store(batch)
        if self.stopping and self.error_kinds["store"] > lost:
            return  # given up at stop: leave its messages unacknowledged
        with self._ack_lock:
            self._stored_points += batch.num_rows
            self._ack_due()

    def _ack_due(self) -> None:
        client = self._client
        while self._acks and self._acks[0][3] <= self._stored_points:
            mid, qos, gen, _ = self._acks.popleft()
            if client is not None and gen == self._gen:
                client.ack(mid, qos)
                self.acked += 1

    # -- protocol thread ------------------------------------------------------------------------
    def _make_client(self) -> Any:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        c = self.config
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=c.client_id, protocol=mqtt.MQTTv5,
                             manual_ack=True)  # fmt: skip
        if c.username:
            client.username_pw_set(c.username, c.password)
        if c.tls:
            client.tls_set()
        self._state_ts = int(time.time() * 1000)
        client.will_set(self._state_topic, state_payload(False, self._state_ts), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    @property
    def _state_topic(self) -> str:
        return f"{NAMESPACE}/STATE/{self.config.host_id}"

    def _run(self) -> None:
        import paho.mqtt.client as mqtt

        backoff = self.backoff()
        self._nodes.clear()  # a (re)started host knows no births: it asks for them
        while not self.stopping:
            client = self._make_client()
            try:
                client.connect(self.config.host, self.config.port, keepalive=self.config.keepalive, clean_start=True)
            except OSError as exc:
                self._disconnected_now(f"cannot connect to {self.config.url}: {exc}")
                self.wait(backoff.delay())
                continue
            self._client = client
            while not self.stopping:
                if client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                    break
                if self.connected:
                    backoff.reset()
                self._housekeeping()
            if self.stopping:
                self._goodbye(client)
                break
            with self._ack_lock:
                self._gen += 1
            self._client = None
            self._nodes.clear()  # births of this session are void: what was missed is unknown
            self._disconnected_now(f"lost the connection to {self.config.url}")
            self.wait(backoff.delay())
        self._client = None
        self.connected = False

    def _goodbye(self, client: Any) -> None:
        """Publish the STATE death ourselves (a clean stop fires no will), then disconnect."""
        try:
            info = client.publish(self._state_topic, state_payload(False, self._state_ts), qos=1, retain=True)
            deadline = time.monotonic() + 2.0
            while not info.is_published() and time.monotonic() < deadline:
                client.loop(timeout=0.05)
            client.disconnect()
            client.loop(timeout=0.05)
        except Exception:  # the broker is gone: its will says the same
            log.debug("STATE death not sent", exc_info=True)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if rc.is_failure:
            self._error("connection", f"broker refused the connection: {rc}")
            return
        client.subscribe(f"{NAMESPACE}/#", qos=1)
        client.publish(self._state_topic, state_payload(True, self._state_ts), qos=1, retain=True)

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, codes: Any, props: Any) -> None:
        if any(c.is_failure for c in codes):
            self._error("connection", f"subscription to {NAMESPACE}/# refused: {codes[0]}")
            return
        self._connected_now()  # connected means receiving: from the SUBACK on
        for key in sorted(self._regrown):
            self._ask_rebirth(key, "the model grew for its births")

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        now = _now_us()
        try:
            self._dispatch(msg.topic, bytes(msg.payload), now)
        except Exception as exc:  # a bad message must cost itself, never the network thread
            log.exception("%s: message on %r failed", self.describe(), msg.topic)
            self.decode_errors += 1
            self._error("decode", f"{msg.topic}: {type(exc).__name__}: {exc}")
        if msg.qos:
            with self._ack_lock:
                self._acks.append((msg.mid, msg.qos, self._gen, self._appended))
                self._ack_due()

    # -- messages -------------------------------------------------------------------------------
    def _dispatch(self, topic: str, payload: bytes, now: int) -> None:
        parts = topic.split("/")
        if len(parts) < 4 or parts[0] != NAMESPACE or parts[1] == "STATE":
            return
        group, kind, node = parts[1], parts[2], parts[3]
        device = "/".join(parts[4:]) or None
        if kind in ("NCMD", "DCMD"):
            return  # commands to edges (ours or another host's)
        self.messages += 1
        if _COMPRESSED in payload:
            payload = _inflate(payload)
        key = (group, node)
        if kind == "NBIRTH":
            self._nbirth(key, payload, now)
            return
        if kind == "NDEATH":
            self._ndeath(key, payload, now)
            return
        state = self._nodes.get(key)
        if state is None:
            self.unborn += 1
            self._ask_rebirth(key, f"{kind} before NBIRTH")
            return
        cols = scan(payload)
        if cols.status < 0 or cols.seq < 0:
            self.decode_errors += 1
            self._error("decode", f"{topic}: malformed payload" if cols.status < 0 else f"{topic}: no seq")
            return
        if cols.seq != state.expected:
            if state.gap_since is None:
                state.gap_since = time.monotonic()
                self.seq_gaps += 1
            state.pending[cols.seq] = (kind, device, payload, cols, now)
            return
        self._apply(key, state, kind, device, payload, cols, now)
        state.expected = (cols.seq + 1) % 256
        while state.expected in state.pending:
            k, d, p, c, t = state.pending.pop(state.expected)
            self._apply(key, state, k, d, p, c, t)
            state.expected = (state.expected + 1) % 256
        if not state.pending:
            state.gap_since = None

    def _housekeeping(self) -> None:
        """Nodes whose missing seq did not come within the reorder timeout: apply what waited, ask a rebirth."""
        limit = time.monotonic() - self.config.reorder_timeout
        for key, state in list(self._nodes.items()):
            if state.gap_since is None or state.gap_since > limit:
                continue
            for seq in sorted(state.pending, key=lambda s: (s - state.expected) % 256):
                k, d, p, c, t = state.pending.pop(seq)
                if self._nodes.get(key) is state:  # an NBIRTH among them replaces the session
                    self._apply(key, state, k, d, p, c, t)
                state.expected = (seq + 1) % 256
            state.gap_since = None
            self._ask_rebirth(key, "a seq gap outlasted the reorder timeout")

    def _apply(self, key: tuple[str, str], state: _Node, kind: str, device: str | None, payload: bytes,
               cols: Columns, now: int) -> None:  # fmt: skip
        if kind == "DBIRTH" and device is not None:
            self._birth(key, state, device, payload, now)
        elif kind == "DDEATH" and device is not None:
            table = state.tables.pop(device, None)
            self.deaths += 1
            if table is not None:
                self._forget(table.sids, now)
        elif kind in ("NDATA", "DDATA"):
            table = state.tables.get(device)
            if table is None:
                self.unborn += 1
                self._ask_rebirth(key, f"{kind} for {device!r} before its DBIRTH")
                return
            self._data(key, table, payload, cols, now)

    def _nbirth(self, key: tuple[str, str], payload: bytes, now: int) -> None:
        p = Payload.FromString(payload)
        bdseq = next((int(m.long_value or m.int_value) for m in p.metrics if m.name == "bdSeq"), None)
        old = self._nodes.get(key)
        if old is not None:
            for dev, t in old.tables.items():
                if dev is not None:
                    self._drop_targets(t)
        state = _Node(bdseq, (int(p.seq) + 1) % 256)
        self._nodes[key] = state
        self._birth(key, state, None, payload, now, p)

    def _birth(self, key: tuple[str, str], state: _Node, device: str | None, payload: bytes, now: int,
               p: Any = None) -> None:  # fmt: skip
        p = Payload.FromString(payload) if p is None else p
        metrics = list(p.metrics)
        names = [m.name for m in metrics]
        units = [_unit(m) for m in metrics]
        match = match_birth(self.plant, self.config.devices, key[0], key[1], device, names, units,
                            [int(m.datatype) for m in metrics])  # fmt: skip
        if match.problem:
            self._error("mapping", match.problem)
        if match.growth is not None:
            self._grow(replace(match.growth, origin=f"{self.kind}:{self.name} {match.growth.origin}", key=key))
        self.unmatched += match.unmatched
        n = len(metrics)
        alias = np.array([m.alias if m.HasField("alias") else -1 for m in metrics], dtype=np.int64)
        order = np.argsort(alias, kind="stable")
        order = order[alias[order] >= 0]
        table = _Table(alias[order], order.astype(np.int64), np.array(match.sids, dtype=np.int32).reshape(n),
                       np.array([m.datatype for m in metrics], dtype=np.int32).reshape(n),
                       np.array(match.scale).reshape(n), np.array(match.offset).reshape(n),
                       {name: i for i, name in enumerate(names)}, match.twin)  # fmt: skip
        if device in state.tables:
            self._drop_targets(state.tables[device])
        state.tables[device] = table
        for i, sid in enumerate(match.sids):
            if sid >= 0:
                self._targets[sid] = (key[0], key[1], device, names[i], int(metrics[i].datatype), match.scale[i],
                                      match.offset[i])  # fmt: skip
        self.births += 1  # counted once its metrics can be written to (a reader of the count may write next)
        fed = table.sids
        if len(fed):
            self.sids = np.union1d(self.sids, fed).astype(np.int32)
        # The birth's values are data too.
        rows = np.flatnonzero(table.sid >= 0)
        if len(rows) == 0:
            return
        raw = np.array([metric_value(metrics[i]) for i in rows.tolist()])
        ts = np.array([metrics[i].timestamp if metrics[i].HasField("timestamp") else -1 for i in rows.tolist()],
                      dtype=np.int64)  # fmt: skip
        null = np.array([metrics[i].is_null for i in rows.tolist()], dtype=bool)
        self._deliver(table, rows, raw, ts, null, int(p.timestamp) if p.HasField("timestamp") else -1, now)

    def _grow(self, growth: Growth) -> None:
        if growth in self.growths:
            return
        self.growths.append(growth)
        if self.on_grow is None:
            self._error("mapping", f"{growth.origin}: twin {growth.twin!r} needs a new model version, and this host "
                                   "has no platform to save one")  # fmt: skip
            return
        log.info("%s: %s asks for twin %s (type %s, %d signals)", self.describe(), growth.origin, growth.twin,
                 growth.type, len(growth.signals))  # fmt: skip
        self.on_grow(growth)

    def regrown(self, growths: list[Growth]) -> None:
        """The model grew for these births (this host serves the new version): ask their nodes for births."""
        self._regrown |= {(g.key[0], g.key[1]) for g in growths if len(g.key) == 2}

    def _data(self, key: tuple[str, str], table: _Table, payload: bytes, c: Columns, now: int) -> None:
        m = np.full(len(c.alias), -1, dtype=np.int64)
        by_alias = c.alias >= 0
        if by_alias.any() and len(table.keys):
            pos = np.searchsorted(table.keys, c.alias[by_alias])
            pos_ok = np.minimum(pos, len(table.keys) - 1)
            found = table.keys[pos_ok] == c.alias[by_alias]
            m[np.flatnonzero(by_alias)[found]] = table.at[pos_ok[found]]
        named = np.flatnonzero(~by_alias)
        if len(named):
            m[named] = [table.names.get(n, -1) for n in c.names(payload, named)]
        unknown = m < 0
        if unknown.any():
            self._error("alias", f"{int(unknown.sum())} metrics of an unknown alias or name")
            self._ask_rebirth(key, "a metric not in the birth")
        ok = ~unknown & (c.kind != OTHER)
        ok[ok] &= table.sid[m[ok]] >= 0
        rows = np.flatnonzero(ok)
        self.metrics += len(c.alias)
        if len(rows) == 0:
            return
        mi = m[rows]
        sub = Columns(c.alias[rows], c.ts[rows], c.datatype[rows], c.is_null[rows], c.kind[rows], c.raw[rows],
                      c.fval[rows], c.name_at[rows], c.name_len[rows], c.timestamp, c.seq, 0)  # fmt: skip
        raw = values(sub, table.datatype[mi])
        self._deliver(table, mi, raw, sub.ts, sub.is_null | np.isnan(raw), c.timestamp, now)

    def _deliver(
        self, table: _Table, mi: npt.NDArray[np.int64], raw: npt.NDArray[np.float64], ts_ms: npt.NDArray[np.int64],
        null: npt.NDArray[np.bool_], payload_ts: int, now: int,
    ) -> None:  # fmt: skip
        sid = table.sid[mi]
        value = raw * table.scale[mi] + table.offset[mi]
        fallback = payload_ts * 1000 if payload_ts >= 0 else now
        ts = np.where(ts_ms >= 0, ts_ms * 1000, fallback).astype(np.int64)
        quality = np.where(null, Quality.BAD, Quality.GOOD).astype(np.uint8)
        if null.any():
            value[null] = self.last_values(sid[null])
        self.emit(ts, sid, value, quality)

    def _ndeath(self, key: tuple[str, str], payload: bytes, now: int) -> None:
        state = self._nodes.get(key)
        p = Payload.FromString(payload)
        bdseq = next((int(m.long_value or m.int_value) for m in p.metrics if m.name == "bdSeq"), None)
        if state is None:
            return
        if state.bdseq is not None and bdseq is not None and bdseq != state.bdseq:
            self.stale_deaths += 1
            log.info("%s: NDEATH of %s/%s with bdSeq %s ignored (the live session's is %s)", self.describe(),
                     *key, bdseq, state.bdseq)  # fmt: skip
            return
        self.deaths += 1
        del self._nodes[key]
        for t in state.tables.values():
            self._drop_targets(t)
            self._forget(t.sids, now)

    def _forget(self, sids: npt.NDArray[np.int32], now: int) -> None:
        if len(sids):
            self.mark_bad(sids, now)

    def _drop_targets(self, table: _Table) -> None:
        for sid in table.sids.tolist():
            self._targets.pop(sid, None)

    def _ask_rebirth(self, key: tuple[str, str], why: str) -> None:
        client = self._client
        at = time.monotonic()
        if client is None or at - self._asked.get(key, -math.inf) < self.config.rebirth_interval:
            return
        self._asked[key] = at
        self.rebirths += 1
        log.info("%s: asking %s/%s for a rebirth (%s)", self.describe(), *key, why)
        client.publish(f"{NAMESPACE}/{key[0]}/NCMD/{key[1]}", rebirth_payload(int(time.time() * 1000)), qos=0)

    # -- writes ---------------------------------------------------------------------------------
    def write(self, sid: int, value: float, *, timeout: float = 5.0) -> None:
        """Send ``value`` (in the signal's unit) to the metric feeding ``sid`` as a DCMD (or NCMD).

        Blocks until the command is handed to the broker; :class:`ConnectorError` when the
        signal has no born metric, the host is not connected, or publishing fails. The live
        value changes when the edge reports the metric back.
        """
        target = self._targets.get(int(sid))
        client = self._client
        if target is None:
            raise ConnectorError(f"{self.describe()}: signal {sid} is fed by no metric born on this host")
        if client is None or not self.connected:
            raise ConnectorError(f"{self.describe()}: not connected to the broker")
        group, node, device, name, datatype, scale, offset = target
        raw = (value - offset) / scale
        if datatype in (DataType.BOOLEAN,):
            raw = bool(raw)
        elif datatype not in (DataType.FLOAT, DataType.DOUBLE):
            raw = round(raw)
        ts = int(time.time() * 1000)
        p = Payload(timestamp=ts)
        try:
            set_value(p.metrics.add(name=name, timestamp=ts), datatype, raw)
        except ValueError as exc:
            raise ConnectorError(f"{self.describe()}: metric {name!r}: {exc}") from exc
        topic = (f"{NAMESPACE}/{group}/DCMD/{node}/{device}" if device is not None
                 else f"{NAMESPACE}/{group}/NCMD/{node}")  # fmt: skip
        info = client.publish(topic, p.SerializeToString(), qos=0)
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError) as exc:
            raise ConnectorError(f"{self.describe()}: command to {topic} not sent: {exc}") from exc
        if not info.is_published():
            raise ConnectorError(f"{self.describe()}: command to {topic} not sent within {timeout:g} s")
        self.commands += 1


def _inflate(payload: bytes) -> bytes:
    """The payload inside a compressed one (uuid ``SPBV1.0_COMPRESSED``, DEFLATE or GZIP ``body``)."""
    p = Payload.FromString(payload)
    if p.uuid != _COMPRESSED.decode():
        return payload
    inflater = zlib.decompressobj(wbits=47)  # zlib or gzip framing, whichever it is
    out = inflater.decompress(p.body, _MAX_INFLATED)
    if inflater.unconsumed_tail:
        raise ValueError(f"a compressed payload inflates past {_MAX_INFLATED} bytes")
    return out


def _unit(metric: Any) -> str | None:
    unit = properties(metric).get("engUnit") if metric.HasField("properties") else None
    return unit if isinstance(unit, str) and unit else None


class _SparkplugKind(SparkplugParser, KindBase):
    """The ``sparkplug`` kind of ``sources:``: device mappings in, :class:`SparkplugHost` out."""

    name = "sparkplug"

    def build(self, spec: SourceSpec, plant: Plant) -> SparkplugHost:
        return SparkplugHost.from_spec(spec, plant)


#: The ``sparkplug`` entry of the source registry (twinverse.plugins.DEFAULT_SOURCES).
SPARKPLUG = _SparkplugKind()
