"""The demo over Sparkplug B: an in-process edge node publishes the synthetic line to a broker.

``twinverse demo --protocol sparkplug`` starts a :class:`SimulatedEdge`: an
:class:`~twinverse.ingest.sparkplug_edge.EdgeNode` (group ``twinverse``, node the plant id)
with one device per twin (its id the twin's path below the plant, ``/`` written ``.``, as
Sparkplug ids hold no ``/``) and one metric per signal (Double, Int64, Boolean or Int32 by
the signal's kind, ``engUnit`` its unit). The synthetic plant's batches go out as DDATA with
their timestamps. twinverse's :class:`~twinverse.ingest.sparkplug.SparkplugHost` reads them
back from the broker: the births arrive (or are asked for with a Rebirth, when the host
comes up after the edge), then the data by alias. A DCMD to a writable signal is echoed
back by the edge, as a device's read-back would be.

The broker is the demo's (``--broker``, by default mosquitto at ``127.0.0.1:1883``); none
reachable is a :class:`~twinverse.errors.ConfigError` saying so.
"""

from __future__ import annotations

import math
import os
import socket
from collections import defaultdict

import numpy as np
import pyarrow as pa

from ..errors import ConfigError, ConnectorError
from ..live.engine import Engine
from ..model import Plant
from .base import Health, Source
from .mqtt import parse_broker_url
from .sparkplug import SparkplugHost
from .sparkplug_edge import KIND_TYPES, Device, EdgeNode
from .sparkplug_map import DeviceMap, SparkplugConfig
from .synthetic import SyntheticPlant

__all__ = ["DEMO_GROUP", "SimulatedEdge", "device_id", "sparkplug_demo"]

#: The Sparkplug group of the demo's edge node.
DEMO_GROUP = "twinverse"


def device_id(plant: Plant, twin: str) -> str:
    """The Sparkplug device id of ``twin`` in the demo: its path below the plant, ``/`` as ``.``.

    >>> from twinverse.model import loads_plant
    >>> device_id(loads_plant("plant: p\\ntypes: {m: {}}\\ntwins: [{id: m1, type: m}]"), "p/m1")
    'm1'
    """
    return twin.removeprefix(plant.id + "/").replace("/", ".")


class SimulatedEdge:
    """A Sparkplug B edge node publishing the synthetic line (every twin a device) to a broker."""

    kind = "simulated-sparkplug"

    def __init__(self, plant: Plant, broker: str, rate: float = 1.0, seed: int = 42) -> None:
        self.plant = plant
        self.broker = broker
        self.synthetic = SyntheticPlant(plant, rate=rate, seed=seed, sink=self.publish)
        self.published = 0
        idx = plant.signals
        by_twin: dict[str, list[int]] = defaultdict(list)
        for sid in range(len(idx)):
            by_twin[str(idx.twin[sid])].append(sid)
        self.twins = dict(by_twin)
        self.devices = [Device(device_id(plant, twin), tuple(_metric(plant, s) for s in sids))
                        for twin, sids in self.twins.items()]  # fmt: skip
        self._device_of = np.empty(len(idx), dtype=object)
        for twin, sids in self.twins.items():
            self._device_of[sids] = device_id(plant, twin)
        self.edge = EdgeNode(broker, DEMO_GROUP, plant.id, self.devices, bdseq=0,
                             client_id=f"twinverse-demo-edge-{plant.id}-{os.getpid()}")  # fmt: skip
        self._started = False

    def describe(self) -> str:
        return (f"simulated Sparkplug B edge node {DEMO_GROUP}/{self.plant.id} on {self.broker} "
                f"({len(self.devices)} devices, {len(self.plant.signals)} metrics)")  # fmt: skip

    def start(self, engine: Engine) -> None:
        """Connect the edge node and publish its births, then start the synthetic plant feeding it."""
        try:
            self.edge.start()
        except ConnectorError as exc:
            raise ConfigError(f"the Sparkplug demo's edge node cannot reach the broker {self.broker}: "
                              f"{exc.message}") from exc  # fmt: skip
        self._started = True
        self.synthetic.start(engine)

    def publish(self, batch: pa.RecordBatch) -> None:
        """One DDATA per device of the batch, with the batch's timestamp (called by the synthetic plant)."""
        if not self._started or batch.num_rows == 0:
            return
        ts_ms = int(batch.column("ts").cast(pa.int64()).to_numpy()[0]) // 1000
        sids = batch.column("sid").to_numpy()
        values = batch.column("value").to_numpy()
        names = self.plant.signals.name
        per: dict[str, dict[str, float]] = defaultdict(dict)
        nulls: dict[str, list[str]] = defaultdict(list)
        for sid, v in zip(sids.tolist(), values.tolist(), strict=True):
            dev = self._device_of[sid]
            if math.isfinite(v):
                per[dev][str(names[sid])] = v
            else:
                nulls[dev].append(str(names[sid]))
        for dev in per.keys() | nulls.keys():
            try:
                self.edge.publish(dev, per.get(dev, {}), ts_ms=ts_ms, null=nulls.get(dev, ()))
            except ConnectorError:
                return  # stopping: the edge is gone
        self.published += len(sids)

    def stop(self) -> None:
        self.synthetic.stop()
        self._started = False
        self.edge.stop()

    def health(self) -> Health:
        return {"kind": self.kind, "running": self._started, "connected": self._started,
                "broker": self.broker, "published": self.published, "rebirths": self.edge.rebirths}  # fmt: skip

    def connector(self, name: str = "demo") -> SparkplugHost:
        """The Primary Host reading this edge node: one device mapping per twin, metrics by signal name."""
        host, port, tls, user, password = parse_broker_url(self.broker)
        maps = tuple(DeviceMap(DEMO_GROUP, self.plant.id, device_id(self.plant, twin), twin, (), "demo")
                     for twin in self.twins)  # fmt: skip
        host_id = f"twinverse-demo-{self.plant.id}"
        config = SparkplugConfig(self.broker, host, port, tls, user, password, host_id, f"{host_id}-{os.getpid()}",
                                 30, 5.0, 2.0, 1.0, maps, tuple(range(len(self.plant.signals))))  # fmt: skip
        return SparkplugHost(name, self.plant, config, reconnect=(0.2, 5.0))


def _metric(plant: Plant, sid: int) -> tuple[str, int, str | None]:
    idx = plant.signals
    return str(idx.name[sid]), int(KIND_TYPES[idx.signal[sid].kind]), idx.unit[sid] or None


def _reachable(broker: str) -> bool:
    host, port, *_ = parse_broker_url(broker)
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def sparkplug_demo(plant: Plant, rate: float, seed: int, broker: str | None) -> tuple[Source, Source]:
    """The demo's edge node and the host reading it, on ``broker``; ConfigError when there is none to reach."""
    if not broker:
        raise ConfigError("the Sparkplug demo needs an MQTT broker: pass --broker mqtt://host:port")
    if not _reachable(broker):
        raise ConfigError(f"the Sparkplug demo needs an MQTT broker, and none is reachable at {broker} "
                          "(start mosquitto, or pass --broker mqtt://host:port)")  # fmt: skip
    device = SimulatedEdge(plant, broker, rate, seed)
    return device, device.connector()
