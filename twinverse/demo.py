"""The demo factory twin: the bundled bottling line fed by its synthetic plant.

With a reachable MQTT broker the synthetic sensors publish over MQTT and the platform
ingests them through its ``mqtt`` source (QoS 1, acknowledged after durable storage) — the
path a real plant takes. Without one (or with ``no_mqtt``) they feed the engine in-process.
With ``protocol`` (``opcua``, ``modbus``, ``sparkplug``, or a protocol whose connector registered a
demo in :data:`twinverse.ingest.fielddemo.FIELD_DEMOS`) a simulated PLC, meter rack or edge node
serves the synthetic line in-process and twinverse reads it over that protocol on the loopback
(Sparkplug B through ``broker``).
Either way :func:`build_demo` returns a :class:`Demo` whose platform is ready to serve;
``twinverse demo`` prints its ``message`` and serves it.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlparse

from .config import PlantEntry, load_settings
from .errors import ConnectorError
from .ingest.fielddemo import field_demo
from .ingest.publish import MqttPublisher
from .ingest.synthetic import SyntheticPlant
from .park import Park
from .platform import Platform, example_path

__all__ = ["Demo", "DemoFeed", "broker_reachable", "build_demo"]


class DemoFeed(StrEnum):
    """How the demo's data reaches the engine."""

    MQTT = "mqtt"
    IN_PROCESS = "in-process"
    FIELD = "field"  # a simulated device over a field protocol (OPC UA, Modbus, …)


@dataclass(frozen=True)
class Demo:
    """A platform wired for the demo, how it is fed, and one line saying so."""

    platform: Platform
    feed: DemoFeed
    message: str
    park: Park | None = None  # with --park: the plants served beside the bottling line


def broker_reachable(url: str, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections at the broker URL's host and port."""
    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 1883), timeout=timeout):
            return True
    except OSError:
        return False


def build_demo(
    *,
    port: int = 8000,
    data_dir: Path = Path("data/demo"),
    broker: str = "mqtt://127.0.0.1:1883",
    no_mqtt: bool = False,
    rate: float = 1.0,
    seed: int = 42,
    auth: str = "token",
    protocol: str | None = None,
    park: bool = False,
) -> Demo:
    """The demo platform: over ``protocol`` if given, else over MQTT when ``broker`` accepts a connection,
    else in-process. With ``park`` a press shop is served beside it (``/plants/pressing/``), fed in-process."""
    demo = _build_demo(port=port, data_dir=data_dir, broker=broker, no_mqtt=no_mqtt, rate=rate, seed=seed, auth=auth,
                       protocol=protocol, park=park)  # fmt: skip
    if not park:
        return demo
    more = Park(demo.platform.settings, platform=demo.platform)
    for entry in list(more)[1:]:
        entry.platform.add_source(SyntheticPlant(entry.platform.plant, rate=rate, seed=seed))
    names = ", ".join(f"{e.platform.plant.name} at /plants/{e.id}/" for e in list(more)[1:])
    return Demo(demo.platform, demo.feed, f"{demo.message}; beside it {names} (synthetic, in-process)", more)


def _build_demo(*, port: int, data_dir: Path, broker: str, no_mqtt: bool, rate: float, seed: int, auth: str,
                protocol: str | None, park: bool) -> Demo:  # fmt: skip
    plants = [PlantEntry(file=example_path("press-shop.yaml"))] if park else []
    settings = load_settings(plant=example_path("bottling.yaml"), port=port, data_dir=data_dir, synthetic_rate=rate,
                             seed=seed, auth=auth, plants=plants)  # fmt: skip
    if protocol is not None:
        platform = Platform(settings)
        device, connector = field_demo(protocol, platform.plant, rate, seed, broker)
        platform.add_source(device)  # started first, stopped last
        platform.add_source(connector)
        return Demo(platform, DemoFeed.FIELD, f"{device.describe()} serves the synthetic line; twinverse reads it: "
                                              f"{connector.describe()}")  # fmt: skip
    publisher: MqttPublisher | None = None
    if no_mqtt:
        why = "--no-mqtt given"
    elif not broker_reachable(broker):
        why = f"no broker reachable at {broker}"
    else:
        try:
            publisher = MqttPublisher(broker, settings.mqtt_topic, client_id="twinverse-demo-sensors")
        except ConnectorError as exc:
            why = f"the broker at {broker} did not accept a connection ({exc.message})"
    if publisher is None:
        platform = Platform(settings)
        platform.add_source(SyntheticPlant(platform.plant, rate=rate, seed=seed))
        return Demo(platform, DemoFeed.IN_PROCESS, f"synthetic sensors feed the engine in-process ({why})")
    # The broker in the settings starts the platform's mqtt source (see Platform.configured_sources).
    platform = Platform(load_settings(**{**settings.model_dump(), "broker": broker}))
    model, sink = platform.plant, publisher.publish_batch
    platform.add_source(SyntheticPlant(model, rate=rate, seed=seed, sink=lambda b: sink(model, b)))
    return Demo(
        platform,
        DemoFeed.MQTT,
        f"synthetic sensors publish over MQTT to {broker} (topic {settings.mqtt_topic}); "
        "twinverse ingests them with QoS 1",
    )
