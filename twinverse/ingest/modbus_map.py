"""Modbus register maps: parsing the ``sources:`` entry, coalescing reads, decoding columns.

An entry (docs/sources.md)::

    press_plc:
      kind: modbus
      url: modbus://10.0.0.7:502
      timeout: 1.0          # s per request
      retries: 1            # further attempts of a request before the connection counts as lost
      poll: 1.0             # default polling interval (s)
      unit_id: 1            # default Modbus unit (device) id
      byte_order: big       # within a register: big (AB) or little (BA)
      word_order: big       # of multi-register values: big (high word first) or little
      max_gap: 8            # unmapped registers a read may bridge rather than split (0: never)
      maps:
        - twin: line1/press
          unit_id: 2
          poll: 0.25
          points:
            - {signal: force, table: holding, address: 0, type: float32, unit: kN}
            - {signal: strokes, table: input, address: 10, type: uint32, word_order: little}
            - {signal: running, table: coil, address: 3}
            - {signal: door_open, table: holding, address: 20, bit: 4}
            - {signal: temperature, table: input, address: 30, type: int16, scale: 0.1, offset: -40}

Tables: ``coil``, ``discrete`` (discrete inputs), ``input`` and ``holding`` registers.
Types: ``bool`` (the only one for coils and discrete inputs), ``int16``, ``uint16`` (the
default for registers), ``int32``, ``uint32``, ``int64``, ``uint64``, ``float32``,
``float64``; ``bit: n`` reads bit n (0 = least significant) of a 16-bit register.
A value is ``raw * scale + offset``, then converted from ``unit`` to the signal's unit.

Reads are planned once: the points of one (unit id, table, interval) are sorted and merged
into the fewest requests of at most 125 registers or 2,000 bits, bridging gaps of up to
``max_gap`` registers (or 16 × ``max_gap`` bits). Each request decodes with a handful of
NumPy gathers per (type, order) group, whatever its number of points.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt

from ..model.yamlsource import PathKey
from .spec import Common, SpecReader

__all__ = ["MAX_BITS", "MAX_REGISTERS", "Block", "ModbusConfig", "ModbusParser", "Point", "PollGroup", "plan"]

#: Most registers one read may ask for (Modbus application protocol, function codes 3 and 4).
MAX_REGISTERS = 125
#: Most coils or discrete inputs one read may ask for (function codes 1 and 2).
MAX_BITS = 2000

TABLES = ("coil", "discrete", "input", "holding")
BIT_TABLES = ("coil", "discrete")
#: Register types: (registers, NumPy big-endian dtype).
TYPES: dict[str, tuple[int, str]] = {
    "int16": (1, ">i2"), "uint16": (1, ">u2"), "int32": (2, ">i4"), "uint32": (2, ">u4"),
    "int64": (4, ">i8"), "uint64": (4, ">u8"), "float32": (2, ">f4"), "float64": (4, ">f8"),
}  # fmt: skip
ORDERS = ("big", "little")

_SOURCE_FIELDS = frozenset({"retries", "poll", "unit_id", "byte_order", "word_order", "max_gap", "maps"})
_MAP_FIELDS = frozenset({"twin", "unit_id", "poll", "byte_order", "word_order", "points"})
_POINT_FIELDS = frozenset({"signal", "table", "address", "type", "bit", "scale", "offset", "unit",
                           "byte_order", "word_order", "writable"})  # fmt: skip


@dataclass(frozen=True)
class Point:
    """One mapped register value (or bit) and the signal it feeds."""

    sid: int
    unit_id: int
    table: str
    address: int
    type: str  # "bool" or a key of TYPES
    bit: int | None
    byte_little: bool
    word_little: bool
    scale: float
    offset: float
    poll: float
    writable: bool = False  # commands may write it (holding registers and coils only)

    @property
    def width(self) -> int:
        """Registers (or bits) the point occupies."""
        return 1 if self.type == "bool" or self.bit is not None else TYPES[self.type][0]


@dataclass
class _Decode:
    """Points of one block decoded together: same type, orders and bit-ness."""

    dtype: str
    words: int
    byte_little: bool
    word_little: bool
    offsets: npt.NDArray[np.intp]  # first register (bit) of each point, relative to the block
    bits: npt.NDArray[np.int64] | None  # bit number per point for bit fields
    scale: npt.NDArray[np.float64]
    offset: npt.NDArray[np.float64]
    sids: npt.NDArray[np.int32]


@dataclass
class Block:
    """One read request: a table range of one unit, and how to decode what comes back."""

    unit_id: int
    table: str
    start: int
    count: int
    groups: list[_Decode] = field(default_factory=list)
    sids: npt.NDArray[np.int32] = field(default_factory=lambda: np.empty(0, np.int32))

    def decode(self, data: list[int] | list[bool]) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
        """(sids, values) from a response's registers (or bits)."""
        if self.table in BIT_TABLES:
            arr = np.asarray(data[: self.count], dtype=np.float64)
        else:
            arr = np.asarray(data[: self.count], dtype=np.uint16)
        sids, values = [], []
        for g in self.groups:
            if self.table in BIT_TABLES:
                v = arr[g.offsets]
            elif g.bits is not None:
                v = ((arr[g.offsets].astype(np.int64) >> g.bits) & 1).astype(np.float64)
            else:
                w = arr[g.offsets[:, None] + np.arange(g.words)]
                if g.word_little:
                    w = w[:, ::-1]
                if g.byte_little:
                    w = (w >> 8) | (w << 8)
                v = np.frombuffer(np.ascontiguousarray(w, dtype=">u2").tobytes(), dtype=g.dtype).astype(np.float64)
            sids.append(g.sids)
            values.append(v * g.scale + g.offset)
        if len(sids) == 1:
            return sids[0], values[0]
        return np.concatenate(sids), np.concatenate(values)


@dataclass
class PollGroup:
    """The blocks read together at one interval."""

    interval: float
    blocks: list[Block]


@dataclass(frozen=True)
class ModbusConfig:
    """A validated Modbus source: endpoint, request policy and the planned reads."""

    host: str
    port: int
    timeout: float
    retries: int
    max_gap: int
    points: tuple[Point, ...]


def plan(points: tuple[Point, ...] | list[Point], max_gap: int = 8) -> list[PollGroup]:
    """The fewest reads covering ``points``, grouped by polling interval.

    >>> p = [Point(i, 1, "holding", a, "uint16", None, False, False, 1.0, 0.0, 1.0) for i, a in enumerate([0, 3, 200])]
    >>> [(b.start, b.count) for g in plan(p, max_gap=8) for b in g.blocks]
    [(0, 4), (200, 1)]
    """
    by_key: dict[tuple[float, int, str], list[Point]] = defaultdict(list)
    for p in points:
        by_key[(p.poll, p.unit_id, p.table)].append(p)
    groups: dict[float, list[Block]] = defaultdict(list)
    for (poll, unit_id, table), pts in sorted(by_key.items()):
        limit, gap = (MAX_BITS, max_gap * 16) if table in BIT_TABLES else (MAX_REGISTERS, max_gap)
        pts.sort(key=lambda p: (p.address, p.sid))
        current: list[Point] = []
        start = end = 0
        for p in pts:
            p_end = p.address + p.width
            if current and p.address - end <= gap and max(end, p_end) - start <= limit:
                current.append(p)
                end = max(end, p_end)
                continue
            if current:
                groups[poll].append(_block(unit_id, table, start, end, current))
            current, start, end = [p], p.address, p_end
        if current:
            groups[poll].append(_block(unit_id, table, start, end, current))
    return [PollGroup(poll, blocks) for poll, blocks in sorted(groups.items())]


def _block(unit_id: int, table: str, start: int, end: int, points: list[Point]) -> Block:
    block = Block(unit_id, table, start, end - start)
    by_decode: dict[tuple[str, bool, bool, bool], list[Point]] = defaultdict(list)
    for p in points:
        by_decode[(p.type, p.byte_little, p.word_little, p.bit is not None)].append(p)
    for (typ, byte_little, word_little, is_bit), pts in by_decode.items():
        words, dtype = (1, "?") if typ == "bool" else TYPES[typ]
        block.groups.append(_Decode(
            dtype=dtype, words=1 if is_bit else words, byte_little=byte_little, word_little=word_little,
            offsets=np.array([p.address - start for p in pts], dtype=np.intp),
            bits=np.array([p.bit for p in pts], dtype=np.int64) if is_bit else None,
            scale=np.array([p.scale for p in pts]), offset=np.array([p.offset for p in pts]),
            sids=np.array([p.sid for p in pts], dtype=np.int32),
        ))  # fmt: skip
    block.sids = np.concatenate([g.sids for g in block.groups])
    return block


def parse_url(url: str) -> tuple[str, int] | None:
    """``modbus://host[:port]`` (or ``tcp://``) → (host, port); port 502 by default; None if not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("modbus", "modbus+tcp", "tcp") or not parts.hostname:
        return None
    try:
        return parts.hostname, parts.port or 502
    except ValueError:
        return None


class ModbusParser:
    """Parses the ``modbus`` entries of ``sources:`` into :class:`ModbusConfig` (no pymodbus needed)."""

    fields = _SOURCE_FIELDS

    def parse(self, r: SpecReader, entry: Mapping[str, Any], path: PathKey, common: Common) -> ModbusConfig:
        endpoint = parse_url(common.url) if common.url else None
        if common.url and endpoint is None:
            r.fail((*path, "url"), f"url must be modbus://host[:port], got {common.url!r}")
        defaults = {
            "poll": r.number(entry, "poll", path, 1.0, lo=0.001, hi=86_400),
            "unit_id": r.integer(entry, "unit_id", path, 1, lo=0, hi=255),
            "byte_order": r.choice(entry, "byte_order", path, ORDERS, "big"),
            "word_order": r.choice(entry, "word_order", path, ORDERS, "big"),
        }
        retries = r.integer(entry, "retries", path, 1, lo=0, hi=10)
        max_gap = r.integer(entry, "max_gap", path, 8, lo=0, hi=MAX_REGISTERS)
        points: list[Point] = []
        maps = r.sequence(entry.get("maps"), (*path, "maps"), "maps")
        if not maps and "maps" not in entry:
            r.fail(path, "missing required field 'maps' (the register maps)")
        for i, raw in enumerate(maps):
            mpath: PathKey = (*path, "maps", i)
            m = r.mapping(raw, mpath, "a register map")
            r.unknown(m, _MAP_FIELDS, mpath)
            twin = r.twin(m.get("twin"), (*mpath, "twin"))
            local = {
                "poll": r.number(m, "poll", mpath, defaults["poll"], lo=0.001, hi=86_400),  # type: ignore[arg-type]
                "unit_id": r.integer(m, "unit_id", mpath, defaults["unit_id"], lo=0, hi=255),  # type: ignore[arg-type]
                "byte_order": r.choice(m, "byte_order", mpath, ORDERS, defaults["byte_order"]),  # type: ignore[arg-type]
                "word_order": r.choice(m, "word_order", mpath, ORDERS, defaults["word_order"]),  # type: ignore[arg-type]
            }
            pts = r.sequence(m.get("points"), (*mpath, "points"), "points")
            if not pts:
                r.fail((*mpath, "points") if "points" in m else mpath, "a register map needs at least one point")
            for j, praw in enumerate(pts):
                point = self._point(r, praw, (*mpath, "points", j), twin, local)
                if point is not None:
                    points.append(point)
        host, port = endpoint or ("", 0)
        return ModbusConfig(host, port, common.timeout, retries, max_gap, tuple(points))

    def _point(self, r: SpecReader, raw: Any, path: PathKey, twin: str | None, d: dict[str, Any]) -> Point | None:
        p = r.mapping(raw, path, "a point")
        if not p:
            return None
        r.unknown(p, _POINT_FIELDS, path)
        before = len(r.problems)
        sid = r.signal(twin, p.get("signal"), (*path, "signal")) if twin is not None else None
        if "table" not in p:
            r.fail(path, f"missing required field 'table' ({', '.join(TABLES)})")
        table = r.choice(p, "table", path, TABLES, "holding")
        if "address" not in p:
            r.fail(path, "missing required field 'address' (0-based register or bit number)")
        address = r.integer(p, "address", path, 0, lo=0, hi=65_535)
        bit_table = table in BIT_TABLES
        typ = r.choice(p, "type", path, ("bool", *TYPES), "bool" if bit_table else "uint16")
        bit = None
        if "bit" in p:
            bit = r.integer(p, "bit", path, 0, lo=0, hi=15)
            if bit_table:
                r.fail((*path, "bit"), f"bit selects a bit of a register; a {table} is one bit already")
            elif typ not in ("uint16", "int16") or ("type" in p and typ == "bool"):
                r.fail((*path, "bit"), f"bit needs a 16-bit register (type uint16 or int16), not {typ}")
        if bit_table and typ != "bool":
            r.fail((*path, "type"), f"a {table} holds one bit: type must be bool, got {typ!r}")
        if not bit_table and typ == "bool":
            r.fail((*path, "type"), f"a {table} register holds 16 bits: use a register type or 'bit: n' for one bit")
        width = 1 if bit_table or bit is not None or typ == "bool" else TYPES[typ][0]
        if address + width > 65_536:
            r.fail((*path, "address"), f"a {typ} at {address} runs past the last address 65535")
        scale = r.number(p, "scale", path, 1.0)
        offset = r.number(p, "offset", path, 0.0)
        if sid is not None:
            u_scale, u_offset = r.unit_conversion(sid, p.get("unit"), (*path, "unit"))
            scale, offset = scale * u_scale, offset * u_scale + u_offset
        byte_order = r.choice(p, "byte_order", path, ORDERS, d["byte_order"])
        word_order = r.choice(p, "word_order", path, ORDERS, d["word_order"])
        writable = r.writable(sid, p, path)
        if writable and table in ("input", "discrete"):
            why = "its type declares it writable" if p.get("writable") is not True else "it is marked writable"
            r.fail((*path, "writable") if "writable" in p else (*path, "table"),
                   f"{'input registers' if table == 'input' else 'discrete inputs'} are read-only, but {why}: map it "
                   "to a holding register or a coil")  # fmt: skip
        if sid is None or len(r.problems) > before:
            return None
        return Point(sid, d["unit_id"], table, address, typ, bit, byte_order == "little", word_order == "little",
                     scale, offset, d["poll"], writable)  # fmt: skip

