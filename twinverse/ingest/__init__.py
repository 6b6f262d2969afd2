"""Sources: decode bytes from HTTP, MQTT, files and the synthetic plant into engine batches."""

from __future__ import annotations

from .base import Health, Source, SourceFactory, available_sources, make_source, source_health
from .decode import Decoded, decode_columns, decode_points, parse_timestamps, quarantine_rows
from .http import ARROW_STREAM, decode_arrow, decode_body, decode_json
from .mqtt import MqttConnector, MqttStats
from .mqtt_payload import TopicPattern
from .publish import MqttPublisher
from .replay import ReplayConnector, read_series
from .synthetic import SyntheticPlant

__all__ = [
    "ARROW_STREAM",
    "Decoded",
    "Health",
    "MqttConnector",
    "MqttPublisher",
    "MqttStats",
    "ReplayConnector",
    "Source",
    "SourceFactory",
    "SyntheticPlant",
    "TopicPattern",
    "available_sources",
    "decode_arrow",
    "decode_body",
    "decode_columns",
    "decode_json",
    "decode_points",
    "make_source",
    "parse_timestamps",
    "quarantine_rows",
    "read_series",
    "source_health",
]
