"""Sparkplug B mappings: parsing the ``sources:`` entry, and matching births to twin signals.

An entry (docs/sources.md)::

    spb:
      kind: sparkplug
      url: mqtt://10.0.0.9:1883
      host_id: twinverse          # the Primary Host id: spBv1.0/STATE/<host_id>
      reorder_timeout: 2.0        # s a missing seq is waited for before a Rebirth is requested
      rebirth_interval: 5.0       # s between two Rebirth requests to one edge node
      devices:
        - {group: Plant1, node: Line1, device: Filler, twin: line1/filler,
           metrics: {speed: "Motor/Speed", temperature: {metric: Temp, unit: degF}}}
        - {group: Plant1, node: "Line*", device: "*", twin: "line1/{device}"}   # a pattern
        - {group: Plant1, node: Meter7, twin: hall/meter7}                      # node-level metrics
        - {group: Plant2, node: "*", device: "*", twin: "hall/{node}-{device}", create: true}

``group``, ``node`` and ``device`` are globs over the Sparkplug ids; ``device`` left out
means the edge node's own metrics (NBIRTH/NDATA). ``twin`` is a twin id, or a template with
``{group}``, ``{node}`` and ``{device}``. A signal is fed by the metric of the same name
unless ``metrics`` names another (``signal: metric`` or ``signal: {metric, unit}``). The
first entry that matches a birth wins. A birth that matches no entry, names a twin the plant
does not have, or has metrics no signal takes, is counted in health (``unmatched``), not an
error of the file: the edge may publish more than the plant models.

``create`` (``true``, or the name of a twin type) lets births grow the model: a birth that
matches the entry but names a twin the plant lacks, or metrics its type has no signal for,
asks for them (a :class:`~twinverse.model.grow.Growth`; the platform saves it as a new model
version). The twin is created under its parent (which must exist), of the type ``create``
names (created if missing), or with ``true`` of a type of its own, ``sparkplug.<twin path>``;
every numeric or boolean metric becomes a signal (Boolean → ``bool``, integers → ``int``,
Float/Double → ``float``) with its ``engUnit`` as the unit. Characters a twin id may not hold
in ``{group}``/``{node}``/``{device}`` are written ``_``.

Values are converted from the metric's engineering unit (the ``engUnit`` property of its
birth, or the mapping's ``unit``) to the signal's unit.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model import Plant
from ..model.grow import Growth, NewSignal
from ..model.yamlsource import PathKey
from ..units import UnknownUnit, check_unit, conversion
from .mqtt import parse_broker_url
from .sparkplug_pb import DataType
from .spec import Common, SpecReader

__all__ = ["DeviceMap", "Match", "SparkplugConfig", "SparkplugParser", "match_birth"]

_SOURCE_FIELDS = frozenset({"host_id", "client_id", "username", "password", "keepalive", "reorder_timeout",
                            "rebirth_interval", "devices"})  # fmt: skip
_DEVICE_FIELDS = frozenset({"group", "node", "device", "twin", "metrics", "create"})
_ID = re.compile(r"^[^/+#]+$")  # a Sparkplug id (or glob): no topic separators or wildcards
_PLACEHOLDER = re.compile(r"\{([a-z]*)\}")
_CONTROL = ("Node Control/", "Device Control/", "Properties/", "Node Info/", "Device Info/")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")  # what a twin id may not hold
_TYPE_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_KINDS: dict[int, str] = {DataType.BOOLEAN: "bool", DataType.FLOAT: "float", DataType.DOUBLE: "float",
          **{t: "int" for t in (DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64, DataType.UINT8,
                                DataType.UINT16, DataType.UINT32, DataType.UINT64)}}  # fmt: skip


@dataclass(frozen=True)
class DeviceMap:
    """One entry of ``devices``: which births feed which twin, and metric names per signal."""

    group: str
    node: str
    device: str | None  # None: the edge node's own metrics
    twin: str  # a twin id, or a template with {group} {node} {device}
    metrics: tuple[tuple[str, str, str | None], ...]  # (signal, metric name, unit) declared
    where: str
    create: bool = False  # births may add the twin and signals they name (see the module's docs)
    create_type: str | None = None  # the type of created twins; None: a type of each twin's own

    @property
    def is_template(self) -> bool:
        return "{" in self.twin

    def matches(self, group: str, node: str, device: str | None) -> bool:
        if (device is None) != (self.device is None):
            return False
        ok = fnmatch.fnmatchcase(group, self.group) and fnmatch.fnmatchcase(node, self.node)
        return ok and (device is None or fnmatch.fnmatchcase(device, self.device or ""))


@dataclass(frozen=True)
class SparkplugConfig:
    """A validated Sparkplug B host source."""

    url: str
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None
    host_id: str
    client_id: str
    keepalive: int
    timeout: float
    reorder_timeout: float
    rebirth_interval: float
    devices: tuple[DeviceMap, ...]
    declared: tuple[int, ...] = field(default=())  # sids of entries naming a twin outright

    def summary(self, plant: Plant) -> str:
        """What the entries map, for ``twinverse sources``: signals of the twins named outright, and per
        birth-matched entry (a template) the twins of the plant it can name.

        >>> from twinverse.model import loads_plant
        >>> from twinverse.ingest.spec import load_source_specs
        >>> plant = loads_plant("plant: p\\ntypes: {m: {signals: {a: {}, b: {}}}}\\ntwins:\\n"
        ...     "  - {id: l1, type: line, children: [{id: m1, type: m}, {id: m2, type: m}]}\\n"
        ...     "sources: {s: {kind: sparkplug, url: mqtt://h, devices: [{group: G, node: N, device: D, "
        ...     "twin: l1/m1}, {group: G, node: '*', device: '*', twin: 'l1/{device}', create: true}]}}")
        >>> load_source_specs(plant)[0].config.summary(plant)
        '2 metrics mapped to 1 twin; matched at birth: G/*/* → l1/{device} (2 twins, 4 signals it can name; create)'
        """
        fixed = [d for d in self.devices if not d.is_template]
        twins = {d.twin for d in fixed if d.twin in plant.twins}
        metrics = sum(len(plant.type_of(t).signals) for t in twins)
        out = f"{_count(metrics, 'metric')} mapped to {_count(len(twins), 'twin')}"
        created = [d.twin for d in fixed if d.twin not in plant.twins]
        if created:
            more = " …" if len(created) > 3 else ""
            out += f", {len(created)} to be created at birth ({', '.join(created[:3])}{more})"
        birth = []
        for d in self.devices:
            if not d.is_template:
                continue
            parts = _PLACEHOLDER.split(full_twin_id(plant, d.twin))  # literal, name, literal, …
            pattern = re.compile("".join(re.escape(x) if i % 2 == 0 else "[^/]+" for i, x in enumerate(parts)))
            can = [t for t in plant.twins if pattern.fullmatch(t)]
            n = sum(len(plant.type_of(t).signals) for t in can)
            ids = f"{d.group}/{d.node}" + (f"/{d.device}" if d.device is not None else "")
            birth.append(f"{ids} → {d.twin} ({_count(len(can), 'twin')}, {_count(n, 'signal')} it can name"
                         f"{'; create' if d.create else ''})")  # fmt: skip
        return out + ("; matched at birth: " + ", ".join(birth) if birth else "")


class SparkplugParser:
    """Parses ``sparkplug`` entries of ``sources:`` into :class:`SparkplugConfig`."""

    fields = _SOURCE_FIELDS

    def parse(self, r: SpecReader, entry: Mapping[str, Any], path: PathKey, common: Common) -> SparkplugConfig:
        host, port, tls, user, password = "", 1883, False, None, None
        if common.url:
            try:
                host, port, tls, user, password = parse_broker_url(common.url)
            except Exception as exc:  # ConfigError with the reason
                r.fail((*path, "url"), f"url must be mqtt://host[:port] or mqtts://host[:port]: {exc}")
        host_id = r.string(entry, "host_id", path, "twinverse") or "twinverse"
        if not _ID.match(host_id) or "*" in host_id:
            r.fail((*path, "host_id"), f"host_id must not contain '/', '+', '#' or '*', got {host_id!r}")
        client_id = r.string(entry, "client_id", path, f"twinverse-spb-{host_id}-{common.name}") or ""
        username = r.string(entry, "username", path) or user
        password = r.string(entry, "password", path) or password
        keepalive = r.integer(entry, "keepalive", path, 30, lo=5, hi=3600)
        reorder = r.number(entry, "reorder_timeout", path, 2.0, lo=0.001, hi=3600)
        rebirth = r.number(entry, "rebirth_interval", path, 5.0, lo=0.001, hi=86_400)
        devices = [d for i, raw in enumerate(r.sequence(entry.get("devices"), (*path, "devices"), "devices"))
                   if (d := self._device(r, raw, (*path, "devices", i))) is not None]  # fmt: skip
        if "devices" not in entry:
            r.fail(path, "a sparkplug source needs 'devices' (which group/node/device feeds which twin)")
        declared = [s for d in devices if not d.is_template
                    for s in (r.plant.signals.get(d.twin, m[0]) for m in d.metrics) if s is not None]  # fmt: skip
        return SparkplugConfig(common.url, host, port, tls, username, password, host_id, client_id, keepalive,
                               common.timeout, reorder, rebirth, tuple(devices), tuple(declared))  # fmt: skip

    def _device(self, r: SpecReader, raw: Any, path: PathKey) -> DeviceMap | None:
        d = r.mapping(raw, path, "a device mapping")
        if not d:
            return None
        r.unknown(d, _DEVICE_FIELDS, path)
        before = len(r.problems)
        ids: dict[str, str | None] = {}
        for key in ("group", "node", "device"):
            value = r.string(d, key, path)
            if value is None and key != "device" and key not in d:
                r.fail(path, f"missing required field {key!r} (a Sparkplug {key} id, globs allowed)")
            if value is not None and not _ID.match(value):
                r.fail((*path, key), f"{key} must be a Sparkplug id or glob without '/', '+' or '#', got {value!r}")
            ids[key] = value
        create, create_type = False, None
        raw_create = d.get("create", False)
        if isinstance(raw_create, bool):
            create = raw_create
        elif isinstance(raw_create, str) and _TYPE_NAME.match(raw_create):
            create, create_type = True, raw_create
        else:
            r.fail((*path, "create"), f"create must be true, false or the name of a twin type, got {raw_create!r}")
        twin_ref = d.get("twin")
        twin: str | None = None
        if isinstance(twin_ref, str) and "{" in twin_ref:
            bad = [p for p in _PLACEHOLDER.findall(twin_ref) if p not in ("group", "node", "device")]
            if bad or twin_ref.count("{") != len(_PLACEHOLDER.findall(twin_ref)):
                r.fail((*path, "twin"), f"twin template may use {{group}}, {{node}} and {{device}}, got {twin_ref!r}")
            elif "{device}" in twin_ref and ids["device"] is None:
                r.fail((*path, "twin"), "twin uses {device}, but the entry has no 'device' (node-level metrics)")
            else:
                twin = twin_ref
        elif "twin" not in d:
            r.fail(path, "missing required field 'twin' (a twin id or a template such as 'line1/{device}')")
        elif create and isinstance(twin_ref, str) and twin_ref and resolve_twin(r.plant, twin_ref) is None:
            twin = _new_twin(r, twin_ref, (*path, "twin"))
        else:
            twin = r.twin(twin_ref, (*path, "twin"))
        metrics: list[tuple[str, str, str | None]] = []
        for signal, spec in r.mapping(d.get("metrics"), (*path, "metrics"), "metrics").items():
            mpath: PathKey = (*path, "metrics", signal)
            unit: str | None = None
            if isinstance(spec, Mapping):
                r.unknown(spec, frozenset({"metric", "unit"}), mpath)
                name = r.string(spec, "metric", mpath)
                if name is None and "metric" not in spec:
                    r.fail(mpath, "missing required field 'metric' (the Sparkplug metric name)")
                unit = r.string(spec, "unit", mpath)
            elif isinstance(spec, str) and spec:
                name = spec
            else:
                r.fail(mpath, f"a metric must be a metric name or {{metric, unit}}, got {spec!r}")
                continue
            if twin is not None and "{" not in twin and twin in r.plant.twins:
                sid = r.signal(twin, signal, mpath)
                if sid is not None and unit is not None:
                    r.unit_conversion(sid, unit, (*mpath, "unit"))
            if name is not None:
                metrics.append((str(signal), name, unit))
        if twin is None or len(r.problems) > before:
            return None
        return DeviceMap(ids["group"] or "", ids["node"] or "", ids["device"], twin, tuple(metrics), r.where(path),
                         create, create_type)  # fmt: skip


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def full_twin_id(plant: Plant, ref: str) -> str:
    """The full id ``ref`` names: itself when it starts with the plant id, else relative to the plant."""
    return ref if ref.startswith(plant.id + "/") else f"{plant.id}/{ref}"


def _new_twin(r: SpecReader, ref: str, path: PathKey) -> str | None:
    """The full id of a twin ``create`` may add: its parent must be in the plant, its id a valid one."""
    full = full_twin_id(r.plant, ref)
    parent, local = full.rsplit("/", 1)
    if parent not in r.plant.twins:
        r.fail(path, f"twin {ref!r} is not in the plant, and create can add it only under a twin that is "
                     f"({parent.removeprefix(r.plant.id + '/')!r} is not)")  # fmt: skip
        return None
    if not local or _UNSAFE.search(local):
        r.fail(path, f"twin id {local!r} may only hold letters, digits, '_', '-', '.'")
        return None
    return full


def resolve_twin(plant: Plant, ref: str) -> str | None:
    for candidate in (ref, f"{plant.id}/{ref}"):
        if candidate in plant.twins:
            return candidate
    return None


def _control(name: str) -> bool:
    return name == "bdSeq" or name.startswith(_CONTROL)


@dataclass(frozen=True)
class Match:
    """What a birth's metrics feed: per metric, the sid (or -1), unit scale and offset, and what was skipped."""

    twin: str | None
    sids: list[int]
    scale: list[float]
    offset: list[float]
    unmatched: int  # metrics no signal takes
    problem: str  # why the birth matched nothing, or a unit that could not convert ("" if none)
    growth: Growth | None = None  # with ``create``: the twin and signals the model lacks


def match_birth(
    plant: Plant, devices: tuple[DeviceMap, ...], group: str, node: str, device: str | None,
    names: list[str], units: list[str | None], datatypes: list[int] | None = None,
) -> Match:  # fmt: skip
    """The signals a birth's metrics (``names``, with their ``engUnit`` in ``units``) feed.

    With a ``create`` entry and the metrics' ``datatypes``, :attr:`Match.growth` says what the
    model lacks (the twin, signals of its type) for the birth to feed it all.
    """
    n = len(names)
    data = sum(1 for name in names if not _control(name))
    none = Match(None, [-1] * n, [1.0] * n, [0.0] * n, data, "")
    if data == 0:
        return none  # only bdSeq and control metrics: nothing to map
    entry = next((d for d in devices if d.matches(group, node, device)), None)
    where = f"{group}/{node}" + (f"/{device}" if device is not None else "")
    if entry is None:
        return Match(None, none.sids, none.scale, none.offset, data, f"{where}: no 'devices' entry matches")
    ref = entry.twin.format(group=_safe(group), node=_safe(node), device=_safe(device or ""))
    twin = resolve_twin(plant, ref)
    if twin is None:
        growth = _growth(plant, entry, where, full_twin_id(plant, ref), names, units, datatypes)
        if growth is not None:
            return Match(None, none.sids, none.scale, none.offset, data, "", growth)
        return Match(None, none.sids, none.scale, none.offset, data, f"{where}: twin {ref!r} is not in the plant")
    by_metric = {m: (s, u) for s, m, u in entry.metrics}
    renamed = {s for s, _, _ in entry.metrics}
    sids, scale, offset = [-1] * n, [1.0] * n, [0.0] * n
    unmatched, problem = 0, ""
    for i, name in enumerate(names):
        signal, unit = by_metric.get(name, (None, None))
        if signal is None and name not in renamed:
            signal = name
        sid = plant.signals.get(twin, signal) if signal is not None else None
        if sid is None:
            if not _control(name):
                unmatched += 1
            continue
        unit = unit or units[i]
        target = plant.signals.unit[sid]
        if unit and target and unit != target:
            try:
                scale[i], offset[i] = conversion(unit, target)
            except UnknownUnit as exc:
                problem = f"{where}: metric {name!r}: {exc}"
                unmatched += 1
                continue
        sids[i] = sid
    growth = None
    if unmatched and entry.create:
        missing = [i for i, sid in enumerate(sids) if sid < 0]
        types = None if datatypes is None else [datatypes[i] for i in missing]
        growth = _growth(plant, entry, where, twin, [names[i] for i in missing], [units[i] for i in missing], types,
                         plant.twins[twin].type)  # fmt: skip
    return Match(twin, sids, scale, offset, unmatched, problem, growth)


def _safe(sparkplug_id: str) -> str:
    return _UNSAFE.sub("_", sparkplug_id)


def _growth(
    plant: Plant, entry: DeviceMap, where: str, twin: str, names: list[str], units: list[str | None],
    datatypes: list[int] | None, type_name: str | None = None,
) -> Growth | None:  # fmt: skip
    """What ``entry`` (if it may create) asks the model to gain for these metrics; None when nothing."""
    if not entry.create or datatypes is None:
        return None
    parent, local = twin.rsplit("/", 1)
    if parent not in plant.twins or not local:
        return None  # a template naming a twin under one the plant lacks: reported as not in the plant
    renamed = {m: s for s, m, _ in entry.metrics}
    declared_unit = {m: u for _, m, u in entry.metrics}
    signals = []
    for name, unit, dt in zip(names, units, datatypes, strict=True):
        kind = _KINDS.get(dt)
        signal = renamed.get(name, name)
        if _control(name) or kind is None or (twin in plant.twins and plant.signals.get(twin, signal) is not None):
            continue  # not a value, or a signal there already (its unit did not convert: reported)
        unit = declared_unit.get(name) or unit
        if unit:
            try:
                check_unit(unit)
            except UnknownUnit:
                unit = None  # created without a unit: its values are taken as they come
        signals.append(NewSignal(signal, kind, unit, f"Sparkplug metric {name!r}"))
    if not signals:
        return None
    ty = type_name or entry.create_type or "sparkplug." + twin.removeprefix(plant.id + "/").replace("/", ".")
    return Growth(twin, ty, tuple(signals), f"sparkplug birth {where}")
