"""Decode MQTT JSON payloads into engine batches, many messages at a time.

A :class:`PayloadDecoder` turns each message into pieces on paho's network thread; a
:class:`Pending` collects them, and :func:`convert` makes one batch of the lot at flush time,
mapping names to sids once per distinct (twin, signal). Arrays of ``{"ts", "value"}`` number
objects (the common shape) become float64 columns at once, with no Python object per point
kept; other shapes go through :func:`~twinverse.ingest.decode.decode_columns`, which gives
rejects their reasons.
"""

from __future__ import annotations

from collections import Counter
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa

from ..core.batch import BATCH_SCHEMA, make_batch
from ..core.clock import NEVER
from ..core.clock import now_us as _now_us
from ..errors import ConfigError, Location, Problem
from ..model import Plant
from .decode import decode_columns, parse_timestamps, quarantine_rows

__all__ = ["SOURCE", "Decoded", "PayloadDecoder", "Pending", "TopicPattern", "convert", "preview"]

SOURCE = "mqtt"

# One decoded piece of a message: twin, signal (a name, None, or one name per point), ts list,
# value list, quality (None, an int, or a list), unit (None, a str, or a list).
_Part = tuple[Any, Any, list[Any], list[Any], Any, Any]
# One rejected message or point: twin, signal, value shown in quarantine, reason, reason kind.
_Bad = tuple[Any, Any, Any, str, str]
# The common shape, an array of {"ts": number, "value": number} objects, as two float64 columns
# taken out right away (holding the parsed dicts until a flush costs more than parsing them):
# twin, signal, ts (ms), value.
_Fast = tuple[str | None, str | None, npt.NDArray[np.float64], npt.NDArray[np.float64]]
Decoded = tuple[_Fast | None, list[_Part], list[_Bad]]

_TS = itemgetter("ts")
_VALUE = itemgetter("value")
_NUMBER = (int, float)
_BAD_TS = NEVER
_WITH_UNIT = BATCH_SCHEMA.append(pa.field("unit", pa.string()))



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
        if self._twin is None:
            self.subscription = "/".join("+" if lv == "{signal}" else lv for lv in levels)
        else:
            head = ["+" if lv == "{signal}" else lv for lv in levels[: self._twin]]
            self.subscription = "/".join([*head, "#"])
        self._cache: dict[str, tuple[str | None, str | None] | None] = {}

    def within(self, root: str) -> str:
        """The subscription narrowed to the twins under ``root`` (a plant's id): ``twinverse/<root>/#``.

        Only where ``{twin}`` follows fixed levels (or ``+``): then every topic of the plant's
        twins starts so, and another plant's messages on the same broker are not received at
        all. Otherwise the plain :attr:`subscription`.

        >>> TopicPattern("twinverse/{twin}/{signal}").within("bottling")
        'twinverse/bottling/#'
        >>> TopicPattern("site/{signal}/{twin}").within("bottling")
        'site/+/bottling/#'
        >>> TopicPattern("plant/data").within("bottling")
        'plant/data'
        """
        if self._twin is None or any(c in root for c in "/+#"):
            return self.subscription
        head = ["+" if lv == "{signal}" else lv for lv in self._levels[: self._twin]]
        return "/".join([*head, root, "#"])

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
    """Fast-path columns in arrival order, with one (twin, signal) key per message."""

    __slots__ = ("keys", "run_key", "run_len", "size", "ts", "val")

    def __init__(self) -> None:
        self.keys: dict[tuple[str | None, str | None], int] = {}
        self.run_key: list[int] = []
        self.run_len: list[int] = []
        self.ts: list[npt.NDArray[np.float64]] = []
        self.val: list[npt.NDArray[np.float64]] = []
        self.size = 0

    def add(self, fast: _Fast) -> None:
        twin, signal, ts, val = fast
        self.run_key.append(self.keys.setdefault((twin, signal), len(self.keys)))
        self.run_len.append(len(val))
        self.ts.append(ts)
        self.val.append(val)
        self.size += len(val)


class Pending:
    """Messages received since the last flush: decoded columns, rejects, and what to acknowledge."""

    __slots__ = ("acks", "bad", "fast", "first", "messages", "num", "other", "points", "raw")

    def __init__(self) -> None:
        self.fast = _Runs()  # arrays of {ts, value} number objects, as float64 columns
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
            self.points += len(fast[3])
        for part in parts:
            val = part[3]
            (self.num if val and type(val[0]) in _NUMBER else self.other).add(part)
            self.points += len(val)
        if bad:
            self.bad.extend(bad)


def preview(payload: bytes, limit: int = 200) -> str:
    """A payload as quarantine shows it: text if it decodes, else a bytes repr; cut to ``limit``."""
    head = payload[: limit + 1]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = repr(head)
    return text if len(text) <= limit else text[:limit] + "…"


def _quality_ok(q: Any) -> bool:
    return type(q) is int and 0 <= q <= 2


class PayloadDecoder:
    """Turns one MQTT message (topic and payload bytes) into pieces a :class:`Pending` collects."""

    def __init__(self, pattern: TopicPattern, max_message_bytes: int) -> None:
        self.pattern = pattern
        self.max_message_bytes = max_message_bytes

    def decode(self, topic: str, payload: bytes, now_ms: float) -> Decoded:
        """One message → fast-path columns, decoded parts, rejects; pure, so it can be retried alone."""
        names = self.pattern.match(topic)
        if len(payload) > self.max_message_bytes:
            tw, sg = names or (None, None)
            why = f"payload of {len(payload)} bytes exceeds the limit of {self.max_message_bytes} bytes"
            return None, [], [(tw, sg, preview(payload), why, "too_large")]
        if names is None:
            why = f"topic {topic!r} does not match the pattern {self.pattern.pattern!r}"
            return None, [], [(None, None, preview(payload), why, "topic")]
        twin, signal = names
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError as uexc:
                return None, [], [(twin, signal, preview(payload), f"payload is not UTF-8: {uexc}", "not_utf8")]
            why = "empty payload" if not payload.strip() else f"payload is not JSON: {exc}"
            return None, [], [(twin, signal, preview(payload), why, "not_json")]
        kind = type(obj)
        if kind is list:
            n = len(obj)
            if not n:
                return None, [], []
            # The common shape, [{"ts": 1717.., "value": 21.5}, ...], checked without a Python step
            # per point: with four quote marks and two colons per item, the only strings are two
            # keys per item, so once both item getters succeed every item is {"ts": x, "value": y}
            # with x, y numbers or booleans (a null would read as NaN, hence the third test).
            try:
                if payload.count(b'"') == 4 * n and payload.count(b":") == 2 * n and b"null" not in payload:
                    ts = np.fromiter(map(_TS, obj), np.float64, n)
                    val = np.fromiter(map(_VALUE, obj), np.float64, n)
                    return (twin, signal, ts, val), [], []
            except (TypeError, KeyError, ValueError, OverflowError):
                pass
            return None, *self._points(obj, twin, signal, now_ms)
        if kind is dict:
            if "value" not in obj:
                return None, [], [(twin, signal, preview(payload), "object has no 'value'", "shape")]
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
            return [], [(tw, sg, preview(payload), why, "shape")]

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


def convert(plant: Plant, p: Pending) -> tuple[list[pa.RecordBatch], pa.Table | None, Counter[str]]:
    """Pending messages → engine batches, quarantine rows, and the rejects counted by kind."""
    batches: list[pa.RecordBatch] = []
    rejects: list[pa.Table] = []
    counts: Counter[str] = Counter(b[4] for b in p.bad)
    now_us = _now_us()
    if p.fast.size:
        batch, rej = _fast_batch(plant, p.fast, now_us)
        batches.append(batch)
        if rej is not None:
            rejects.append(rej)
            counts["decode"] += rej.num_rows
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
    return _one_batch(batches), pa.concat_tables(rejects) if rejects else None, counts


def _one_batch(batches: list[pa.RecordBatch]) -> list[pa.RecordBatch]:
    """The batches of a flush as one (one store transaction), a null ``unit`` where one lacks it."""
    if len(batches) < 2:
        return batches
    if any("unit" in b.schema.names for b in batches):
        batches = [
            b.select(["ts", "sid", "value", "quality", "unit"]).cast(_WITH_UNIT) if "unit" in b.schema.names
            else pa.RecordBatch.from_arrays([*b.columns[:4], pa.nulls(b.num_rows, pa.string())], schema=_WITH_UNIT)
            for b in batches
        ]
    return [pa.concat_batches(batches)]


def _fast_batch(plant: Plant, runs: _Runs, now_us: int) -> tuple[pa.RecordBatch, pa.Table | None]:
    """Fast-path columns → an engine batch plus rejects.

    Names map to sids once per distinct (twin, signal); the rows that fail (unknown name,
    timestamp out of reach) go through :func:`decode_columns` for their reasons.
    """
    keys = list(runs.keys)  # distinct (twin, signal) pairs: one dict lookup each
    by_key = plant.signals.key_index
    key_sid = np.fromiter((by_key.get(k, -1) for k in keys), dtype=np.int32, count=len(keys))  # type: ignore[arg-type]
    run_key = np.asarray(runs.run_key, np.int64)
    run_len = np.asarray(runs.run_len, np.int64)
    sid = np.repeat(key_sid[run_key], run_len)
    ts_ms = np.concatenate(runs.ts)
    value = np.concatenate(runs.val)
    us = parse_timestamps(pa.array(ts_ms), now_us)
    bad = (sid < 0) | (us == _BAD_TS)
    if not bad.any():
        return make_batch(us, sid, value), None
    ok = ~bad
    rows = np.flatnonzero(bad)
    key_of = np.repeat(run_key, run_len)[rows]
    dec = decode_columns(
        plant, [keys[k][0] for k in key_of], [keys[k][1] for k in key_of],
        ts_ms[rows].tolist(), value[rows].tolist(), source=SOURCE, now_us=now_us,
    )
    return make_batch(us[ok], sid[ok], value[ok]), dec.rejects


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
