"""MQTT JSON payloads → batches: every shape with known columns, every reject with its reason.

Pure functions of the payload (no broker): :class:`PayloadDecoder` per message, then
:func:`convert` over a :class:`Pending` flush.
"""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pytest

from twinverse.core import iso
from twinverse.ingest.mqtt_payload import PayloadDecoder, Pending, TopicPattern, convert, preview
from twinverse.model import Plant

FILLER = "bottling/line1/filler"
T = f"twinverse/{FILLER}/"
NOW_MS = 1_790_000_000_000  # 2026-09-21, inside the engine's plausible window


def flush(plant: Plant, *messages: tuple[str, bytes], limit: int = 1 << 20) -> tuple[pa.RecordBatch | None,
                                                                                   pa.Table | None, dict[str, int]]:
    decoder = PayloadDecoder(TopicPattern("twinverse/{twin}/{signal}"), limit)
    p = Pending()
    for topic, payload in messages:
        p.take(*decoder.decode(topic, payload, NOW_MS))
    batches, rejects, counts = convert(plant, p)
    assert len(batches) <= 1  # a flush is one engine batch
    return (batches[0] if batches else None), rejects, dict(counts)


def columns(batch: pa.RecordBatch) -> tuple[list[int], list[int], list[float]]:
    return (
        batch.column("sid").to_pylist(),
        np.asarray(batch.column("ts").cast(pa.int64())).tolist(),
        batch.column("value").to_pylist(),
    )


def test_fast_path_array_of_ts_value_objects(plant: Plant) -> None:
    sid = plant.signals.sid(FILLER, "speed")
    payload = orjson.dumps([{"ts": NOW_MS + i * 1000, "value": 590.0 + i} for i in range(3)])
    decoder = PayloadDecoder(TopicPattern("twinverse/{twin}/{signal}"), 1 << 20)
    fast, parts, bad = decoder.decode(T + "speed", payload, NOW_MS)
    assert fast is not None and (parts, bad) == ([], [])
    batch, rejects, counts = flush(plant, (T + "speed", payload))
    assert batch is not None and (rejects, counts) == (None, {})
    assert columns(batch) == ([sid] * 3, [(NOW_MS + i * 1000) * 1000 for i in range(3)], [590.0, 591.0, 592.0])


def test_bare_values_objects_and_column_objects(plant: Plant) -> None:
    idx = plant.signals
    batch, rejects, _ = flush(
        plant,
        (T + "temperature", b"21.5"),  # a bare number: received now
        (T + "state", b'"down"'),  # a state by name
        (T + "pressure", orjson.dumps({"ts": iso(NOW_MS * 1000), "value": 2.5, "quality": 1})),
        (T + "speed", orjson.dumps({"ts": [NOW_MS, NOW_MS + 1000], "value": [600, 601]})),
    )
    assert rejects is None and batch is not None
    got = sorted(zip(*columns(batch), batch.column("quality").to_pylist(), strict=True))
    assert got == sorted([
        (idx.sid(FILLER, "temperature"), NOW_MS * 1000, 21.5, 0),
        (idx.sid(FILLER, "state"), NOW_MS * 1000, 4.0, 0),  # "down" is code 4
        (idx.sid(FILLER, "pressure"), NOW_MS * 1000, 2.5, 1),
        (idx.sid(FILLER, "speed"), NOW_MS * 1000, 600.0, 0),
        (idx.sid(FILLER, "speed"), (NOW_MS + 1000) * 1000, 601.0, 0),
    ])


@pytest.mark.parametrize(
    ("topic", "payload", "reason", "kind"),
    [
        ("elsewhere/x", b"1", "topic 'elsewhere/x' does not match the pattern 'twinverse/{twin}/{signal}'", "topic"),
        (T + "speed", b"{not json", "payload is not JSON: unexpected character", "not_json"),
        (T + "speed", b"", "empty payload", "not_json"),
        (T + "speed", b"\xff\xfe", "payload is not UTF-8", "not_utf8"),
        (T + "speed", b'{"ts": 1}', "object has no 'value'", "shape"),
        (T + "speed", b"x" * 65, "payload of 65 bytes exceeds the limit of 64 bytes", "too_large"),
    ],
)
def test_rejected_messages_say_why(plant: Plant, topic: str, payload: bytes, reason: str, kind: str) -> None:
    batch, rejects, counts = flush(plant, (topic, payload), limit=64)
    assert batch is None and rejects is not None
    assert rejects.num_rows == 1 and rejects.column("source").to_pylist() == ["mqtt"]
    assert rejects.column("reason")[0].as_py().startswith(reason)
    assert counts == {kind: 1}


def test_bad_points_are_quarantined_and_good_ones_kept(plant: Plant) -> None:
    sid = plant.signals.sid(FILLER, "speed")
    payload = orjson.dumps([{"ts": NOW_MS, "value": 600}, {"ts": "yesterday", "value": 601}, {"value": None}])
    batch, rejects, counts = flush(plant, (T + "speed", payload), (f"twinverse/{FILLER}/nope", b"1"))
    assert batch is not None and columns(batch) == ([sid], [NOW_MS * 1000], [600.0])
    assert rejects is not None and rejects.num_rows == 3
    reasons = sorted(rejects.column("reason").to_pylist())
    assert any("yesterday" in r or "timestamp" in r for r in reasons)
    assert any("missing value" in r for r in reasons)
    assert any("nope" in r for r in reasons)
    assert sum(counts.values()) == 3


def test_preview_is_bounded_and_readable() -> None:
    assert preview(b"abc") == "abc"
    long = preview(b"y" * 1000, limit=10)
    assert long.startswith("y" * 10) and len(long) < 40
    assert "\\x" in preview(b"\xff\x00") or "�" in preview(b"\xff\x00")


def test_issue10_shapes_get_reasons_and_keep_valid_points(plant: Plant) -> None:
    """Huge timestamps and deep nesting are quarantined with a reason; one bad timestamp in a
    columns message costs only its own point."""
    sid = plant.signals.sid(FILLER, "temperature")
    batch, rejects, counts = flush(
        plant,
        (T + "temperature", b'[{"ts": 9223372036854775807, "value": 4.2}]'),
        (T + "temperature", b'{"ts": 1790000000000, "value": ' + b"[" * 1000 + b"]" * 1000 + b"}"),
        (T + "temperature", orjson.dumps({"ts": [NOW_MS, "bad", NOW_MS + 1000], "value": [1.0, 2.0, 3.0]})),
    )
    assert batch is not None and columns(batch) == ([sid, sid], [NOW_MS * 1000, (NOW_MS + 1000) * 1000], [1.0, 3.0])
    assert rejects is not None
    reasons = sorted(rejects.column("reason").to_pylist())
    assert len(reasons) == 3 and not any("internal error" in r for r in reasons)
    assert sum("unparsable timestamp" in r for r in reasons) == 2
    assert counts == {"decode": 2, "shape": 1}
