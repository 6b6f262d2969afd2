"""The resolved plant: twins, types, relationships, graph queries and the signal index."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ..core.gridfactors import DEFAULT_GRID, MarketInstrument
from ..core.values import ValueFormatter
from ..errors import NotFoundError
from .anomalyspec import AnomalySpec
from .rules import AlarmRule
from .shifts import ShiftCalendar
from .types import Relationship, Signal, SignalKind, Twin, TwinType

__all__ = ["Plant", "SignalIndex"]


def _objects(values: Sequence[Any]) -> npt.NDArray[np.object_]:
    """A 1-D object array of ``values`` (never a 2-D array of tuples)."""
    arr = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):  # element by element: tuples stay elements
        arr[i] = v
    return arr


def _starts(sizes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Where each of consecutive runs of these sizes starts: ``[0, s0, s0 + s1, …]``."""
    out = np.zeros(len(sizes), dtype=np.int64)
    np.cumsum(sizes[:-1], out=out[1:])
    return out


def _pair(key: str) -> tuple[str, str]:
    twin, _, signal = key.partition("\x00")
    return twin, signal


class KeyIndex(Mapping[tuple[str, str], int]):
    """``(twin, signal) → sid`` without a million tuples: a twin's first sid plus the
    signal's position within its type (twins of one type share one small dict)."""

    __slots__ = ("_n", "_twins")

    def __init__(self, twins: dict[str, tuple[int, dict[str, int]]], n: int) -> None:
        self._twins = twins
        self._n = n

    def __getitem__(self, key: tuple[str, str]) -> int:
        start, pos = self._twins[key[0]]
        return start + pos[key[1]]

    def get(self, key: tuple[str, str], default: Any = None) -> Any:
        try:
            start, pos = self._twins[key[0]]
            return start + pos[key[1]]
        except (KeyError, TypeError, IndexError):
            return default

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for twin, (_, pos) in self._twins.items():
            for name in pos:
                yield twin, name

    def __len__(self) -> int:
        return self._n


class SignalIndex:
    """Dense integer ids (``sid``) for every (twin, signal) pair of a plant.

    The sids of one twin are contiguous, so a subtree's signals are a few slices.
    Per-sid metadata lives in NumPy arrays for vectorised validation. Built per distinct
    signal list (twins of one type share theirs), so a plant of a million signals costs
    a few array gathers, not a Python object per signal.
    """

    def __init__(self, entries: Sequence[tuple[str, Signal]]) -> None:
        by_twin: dict[str, list[Signal]] = {}
        last = None
        for t, sig in entries:
            if t != last and t in by_twin:
                raise ValueError(f"the signals of one twin must be contiguous ({t!r} appears twice)")
            by_twin.setdefault(t, []).append(sig)
            last = t
        self._build([(t, tuple(sigs)) for t, sigs in by_twin.items()])

    @classmethod
    def from_twins(cls, twins: Sequence[tuple[str, Sequence[Signal]]]) -> SignalIndex:
        """The index of twins in order, each with its signals (a shared sequence per type is fastest)."""
        index = cls.__new__(cls)
        index._build(twins)
        return index

    def _build(self, twins: Sequence[tuple[str, Sequence[Signal]]]) -> None:
        templates: dict[int, int] = {}  # id(signal sequence) -> template number
        seqs: list[Sequence[Signal]] = []
        tix = np.empty(len(twins), dtype=np.int64)
        for j, (_, sigs) in enumerate(twins):
            k = templates.get(id(sigs))
            if k is None:
                k = templates[id(sigs)] = len(seqs)
                seqs.append(sigs)
            tix[j] = k
        flat = [sig for seq in seqs for sig in seq]  # every template's signals, one after another
        sizes = np.array([len(seq) for seq in seqs], dtype=np.int64)
        base = _starts(sizes)
        counts = sizes[tix] if len(twins) else np.empty(0, np.int64)
        n = int(counts.sum())
        starts = _starts(counts)
        within = np.arange(n, dtype=np.int64) - np.repeat(starts, counts)
        at = np.repeat(base[tix], counts) + within  # position in `flat` of every sid

        def gather(values: list[Any], dtype: Any) -> npt.NDArray[Any]:
            arr = _objects(values) if dtype is object else np.array(values, dtype=dtype).reshape(len(values))
            out: npt.NDArray[Any] = arr[at]
            return out

        self.kind = gather([s.kind.code for s in flat], np.uint8)
        bounds = np.array([s.bounds() for s in flat], dtype=np.float64).reshape(len(flat), 2)
        self.lo = bounds[:, 0][at].copy()
        self.hi = bounds[:, 1][at].copy()
        self.twin: npt.NDArray[np.object_] = np.repeat(_objects([t for t, _ in twins]), counts)
        self.name: npt.NDArray[np.object_] = gather([s.name for s in flat], object)
        self.signal: list[Signal] = gather(flat, object).tolist()
        self.unit: list[str | None] = gather([s.unit for s in flat], object).tolist()
        self._by_twin: dict[str, tuple[int, int]] = {}
        keyed: dict[str, tuple[int, dict[str, int]]] = {}
        positions = [{s.name: i for i, s in enumerate(seq)} for seq in seqs]
        for (t, _), k, start, c in zip(twins, tix.tolist(), starts.tolist(), counts.tolist(), strict=True):
            if c:
                self._by_twin[t] = (start, start + c)
                keyed[t] = (start, positions[k])
        self._by_key = KeyIndex(keyed, n)
        self._scattered: dict[str, tuple[int, ...]] = {}  # twins whose sids are not one run (carried)
        #: Sids no name maps to any more (a carried index's removed signals); None when there are none.
        self.retired: npt.NDArray[np.bool_] | None = None
        #: Stored floats of these sids as users see them (state names, bools, ints).
        self.format = ValueFormatter(self.kind, gather([s.states for s in flat], object).tolist())

    @classmethod
    def carried(
        cls,
        layout: Sequence[tuple[str, str]],
        twins: Sequence[tuple[str, Sequence[Signal]]],
        retired: Mapping[tuple[str, str], Signal] | None = None,
    ) -> SignalIndex:
        """The index of ``twins`` that keeps the sid of every pair of an earlier ``layout``.

        ``layout`` lists ``(twin, signal)`` by sid (an earlier version's :meth:`layout`).
        A pair still present keeps its sid, so its stored history stays its own; a pair no
        longer present is *retired*: its slot stays (exports still name its history), but
        no name maps to it and the engine refuses data for it; new pairs get sids after
        the last one. ``retired`` gives the old definitions of retired pairs (their kind
        formats old history); a pair missing from it is read as a float.

        Built with a Python object per signal: it runs when a model version changes, not
        on a hot path.
        """
        old = {pair: sid for sid, pair in enumerate(layout)}
        n_old = len(layout)
        sigs: list[Signal | None] = [None] * n_old
        owners = [t for t, _ in layout]
        keyed: dict[str, tuple[int, dict[str, int]]] = {}
        by_twin: dict[str, tuple[int, ...]] = {}
        for t, seq in twins:
            pos: dict[str, int] = {}
            for s in seq:
                sid = old.get((t, s.name))
                if sid is None or sigs[sid] is not None:
                    sid = len(sigs)
                    sigs.append(s)
                    owners.append(t)
                else:
                    sigs[sid] = s
                pos[s.name] = sid
            if pos:
                keyed[t] = (0, pos)
                by_twin[t] = tuple(pos.values())
        gone = [sid for sid in range(n_old) if sigs[sid] is None]
        for sid in gone:
            pair = layout[sid]
            sigs[sid] = (retired or {}).get(pair) or Signal(name=pair[1])
        index = cls.__new__(cls)
        index._fill([s for s in sigs if s is not None], owners, keyed, by_twin, gone)
        return index

    def _fill(
        self,
        sigs: list[Signal],
        owners: list[str],
        keyed: dict[str, tuple[int, dict[str, int]]],
        by_twin: dict[str, tuple[int, ...]],
        gone: list[int],
    ) -> None:
        n = len(sigs)
        self.kind = np.array([s.kind.code for s in sigs], dtype=np.uint8).reshape(n)
        bounds = np.array([s.bounds() for s in sigs], dtype=np.float64).reshape(n, 2)
        self.lo = bounds[:, 0].copy()
        self.hi = bounds[:, 1].copy()
        self.twin = _objects(owners)
        self.name = _objects([s.name for s in sigs])
        self.signal = sigs
        self.unit = [s.unit for s in sigs]
        self._by_twin = {}
        self._scattered = {}
        for t, sids in by_twin.items():
            if list(sids) == list(range(sids[0], sids[0] + len(sids))):
                self._by_twin[t] = (sids[0], sids[0] + len(sids))
            else:
                self._scattered[t] = sids
        self._by_key = KeyIndex(keyed, n - len(gone))
        self.retired = np.zeros(n, dtype=bool) if gone else None
        if self.retired is not None:
            self.retired[gone] = True
        self.format = ValueFormatter(self.kind, [s.states for s in sigs])

    def layout(self) -> list[tuple[str, str]]:
        """``(twin, signal)`` by sid, retired slots included: what :meth:`carried` keeps."""
        return list(zip(self.twin.tolist(), self.name.tolist(), strict=True))

    def __len__(self) -> int:
        return len(self.signal)

    def sid(self, twin: str, signal: str) -> int:
        """The sid of ``twin``'s ``signal``; :class:`NotFoundError` if there is none."""
        try:
            return self._by_key[(twin, signal)]
        except KeyError:
            raise NotFoundError(f"twin {twin!r} has no signal {signal!r}") from None

    @property
    def key_index(self) -> Mapping[tuple[str, str], int]:
        """``(twin, signal) → sid`` for every signal (read-only use)."""
        return self._by_key

    def get(self, twin: str, signal: str) -> int | None:
        sid: int | None = self._by_key.get((twin, signal))
        return sid

    def of_twin(self, twin: str) -> Sequence[int]:
        """The sids of one twin in signal order (empty if it has no signals); a ``range`` unless carried."""
        scattered = self._scattered.get(twin)
        if scattered is not None:
            return scattered
        start, stop = self._by_twin.get(twin, (0, 0))
        return range(start, stop)

    def of_twins(self, twins: Iterable[str]) -> npt.NDArray[np.int32]:
        """All sids of these twins, ascending."""
        parts = [np.asarray(r, dtype=np.int32) for t in twins if (r := self.of_twin(t))]
        if not parts:
            return np.empty(0, dtype=np.int32)
        return np.sort(np.concatenate(parts))

    def lookup(self, twins: pa.Array | Sequence[str], signals: pa.Array | Sequence[str]) -> npt.NDArray[np.int32]:
        """Map name columns to sids, ``-1`` where unknown; one dict lookup per distinct pair."""
        t = pa.array(twins, type=pa.string()) if not isinstance(twins, pa.Array) else twins
        s = pa.array(signals, type=pa.string()) if not isinstance(signals, pa.Array) else signals
        if len(t) == 0:
            return np.empty(0, dtype=np.int32)
        key = pc.binary_join_element_wise(pc.fill_null(t, ""), pc.fill_null(s, ""), "\x00")
        enc = pc.dictionary_encode(key)
        uniques = enc.dictionary.to_pylist()
        by_key = self._by_key
        table = np.array([by_key.get(_pair(u), -1) for u in uniques], dtype=np.int32)
        out: npt.NDArray[np.int32] = table[enc.indices.to_numpy(zero_copy_only=False)]
        return out

    def as_table(self) -> pa.Table:
        """``(sid, twin, signal, unit)`` for every signal: what exports join to name rows."""
        return pa.table(
            {
                "sid": pa.array(np.arange(len(self), dtype=np.int32)),
                "twin": pa.array(self.twin.tolist(), pa.string()),
                "signal": pa.array(self.name.tolist(), pa.string()),
                "unit": pa.array(self.unit, pa.string()),
            }
        )

    def describe(self, sid: int) -> tuple[str, str]:
        return str(self.twin[sid]), str(self.name[sid])


class Plant:
    """A resolved plant model; answers graph questions and owns the signal index."""

    def __init__(
        self,
        id: str,
        name: str,
        types: Mapping[str, TwinType],
        twins: Sequence[Twin],
        relationships: Sequence[Relationship],
        *,
        source: str | None = None,
        description: str = "",
    ) -> None:
        self.id = id
        self.name = name
        self.description = description
        self.source = source
        self.types: dict[str, TwinType] = dict(types)
        self.twins: dict[str, Twin] = {t.id: t for t in twins}
        self.relationships: list[Relationship] = list(relationships)
        self._out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        self._in: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for r in self.relationships:
            self._out[r.name][r.source].append(r.target)
            self._in[r.name][r.target].append(r.source)
        self._children: dict[str | None, list[str]] = defaultdict(list)
        for t in twins:
            self._children[t.parent].append(t.id)
        #: The raw ``simulation:`` section of the YAML (validated by ``twinverse.sim``).
        self.simulation_doc: dict[str, Any] | None = None
        #: The raw ``sources:`` section (a mapping or a file name), validated by ``twinverse.ingest.spec``.
        self.sources_doc: Any = None
        #: The grid the plant draws power from and the data year of its factor (``energy:`` section).
        self.grid: tuple[str, int] = DEFAULT_GRID
        #: Market-based instruments (contracts, certificates) and the residual factor (``energy:``).
        self.instruments: tuple[MarketInstrument, ...] = ()
        self.residual_factor: float | None = None
        #: The shift calendar (``shifts:``), shared by KPIs and the simulator; None without one.
        self.shifts: ShiftCalendar | None = None
        #: Alarm rules of single twins (overrides and additions to their type's ``alarms``).
        self.twin_alarms: dict[str, dict[str, AlarmRule]] = {}
        #: Anomaly detectors of single twins (overrides of their type's ``anomaly``).
        self.twin_anomaly: dict[str, dict[str, AnomalySpec]] = {}
        #: The located YAML document the plant came from (for file:line in later checks).
        self.located_doc: Any = None
        #: The plant YAML's ``aas`` section: identifier base and what an AAS import kept.
        self.aas_doc: dict[str, Any] | None = None
        self.signals = SignalIndex.from_twins(self._signal_lists())

    def _signal_lists(self) -> list[tuple[str, tuple[Signal, ...]]]:
        by_type = {name: tuple(t.signals.values()) for name, t in self.types.items()}
        return [(t.id, by_type[t.type]) for t in self.twins.values()]

    def carry_sids(
        self, layout: Sequence[tuple[str, str]], retired: Mapping[tuple[str, str], Signal] | None = None
    ) -> None:
        """Renumber the signals to keep an earlier version's sids (:meth:`SignalIndex.carried`).

        A no-op when ``layout`` is this plant's own numbering already.
        """
        if self.signals.retired is None and self.signals.layout() == list(layout):
            return
        self.signals = SignalIndex.carried(layout, self._signal_lists(), retired)

    # -- lookups ---------------------------------------------------------------------------
    def twin(self, twin_id: str) -> Twin:
        try:
            return self.twins[twin_id]
        except KeyError:
            raise NotFoundError(f"no twin {twin_id!r} in plant {self.id!r}") from None

    def type_of(self, twin_id: str) -> TwinType:
        return self.types[self.twin(twin_id).type]

    def is_a(self, type_name: str, base: str) -> bool:
        """True if ``type_name`` is ``base`` or extends it (transitively)."""
        t: str | None = type_name
        while t is not None:
            if t == base:
                return True
            t = self.types[t].extends if t in self.types else None
        return False

    # -- graph queries ---------------------------------------------------------------------
    def roots(self) -> list[str]:
        return list(self._children.get(None, []))

    def children(self, twin_id: str) -> list[str]:
        self.twin(twin_id)
        return list(self._children.get(twin_id, []))

    def subtree(self, twin_id: str) -> list[str]:
        """``twin_id`` and every twin it contains, depth-first in model order."""
        self.twin(twin_id)
        out: list[str] = []
        stack = [twin_id]
        while stack:
            t = stack.pop()
            out.append(t)
            stack.extend(reversed(self._children.get(t, [])))
        return out

    def ancestors(self, twin_id: str) -> list[str]:
        """Parents from the nearest up to the root."""
        out: list[str] = []
        parent = self.twin(twin_id).parent
        while parent is not None:
            out.append(parent)
            parent = self.twins[parent].parent
        return out

    def related(self, twin_id: str, name: str, *, reverse: bool = False) -> list[str]:
        """Direct targets (or sources, with ``reverse``) of relationship ``name``."""
        self.twin(twin_id)
        edges = self._in if reverse else self._out
        return list(edges.get(name, {}).get(twin_id, []))

    def _walk(self, twin_id: str, name: str, reverse: bool) -> list[str]:
        self.twin(twin_id)
        edges = (self._in if reverse else self._out).get(name, {})
        seen = {twin_id}
        order: list[str] = []
        queue = deque([twin_id])
        while queue:
            for nxt in edges.get(queue.popleft(), []):
                if nxt not in seen:
                    seen.add(nxt)
                    order.append(nxt)
                    queue.append(nxt)
        return order

    def downstream(self, twin_id: str, relation: str = "feeds") -> list[str]:
        """Every twin reachable along ``relation`` (breadth-first, nearest first)."""
        return self._walk(twin_id, relation, reverse=False)

    def upstream(self, twin_id: str, relation: str = "feeds") -> list[str]:
        """Every twin that reaches ``twin_id`` along ``relation`` (nearest first)."""
        return self._walk(twin_id, relation, reverse=True)

    def of_type(self, type_name: str, *, within: str | None = None) -> list[str]:
        """Twins whose type is ``type_name`` or extends it, optionally within a subtree."""
        pool: Iterable[str] = self.subtree(within) if within is not None else self.twins
        return [t for t in pool if self.is_a(self.twins[t].type, type_name)]

    def machines(self) -> list[str]:
        """Twins whose type reports a state (what the live views colour)."""
        return [t.id for t in self.twins.values() if self.types[t.type].state_signal() is not None]

    def alarm_rules(self) -> list[tuple[str, str, AlarmRule]]:
        """``(twin, rule name, rule)`` of every enabled alarm rule, in twin order then rule name."""
        out: list[tuple[str, str, AlarmRule]] = []
        for t in self.twins.values():
            rules = {**self.types[t.type].alarms, **self.twin_alarms.get(t.id, {})}
            out.extend((t.id, name, rule) for name, rule in sorted(rules.items()) if rule.enabled)
        return out

    def anomaly_detectors(self) -> list[tuple[str, AnomalySpec]]:
        """``(twin, detector)`` of every enabled anomaly detector, in twin order then signal name."""
        out: list[tuple[str, AnomalySpec]] = []
        for t in self.twins.values():
            specs = {**self.types[t.type].anomaly, **self.twin_anomaly.get(t.id, {})}
            out.extend((t.id, spec) for _, spec in sorted(specs.items()) if spec.enabled)
        return out

    def __iter__(self) -> Iterator[Twin]:
        return iter(self.twins.values())

    def __len__(self) -> int:
        return len(self.twins)

    # -- serialisation ---------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "twins": len(self.twins),
            "types": len(self.types),
            "signals": len(self.signals),
            "relationships": len(self.relationships),
        }

    def twin_dict(self, twin_id: str) -> dict[str, Any]:
        """A twin as JSON-ready data, with its type's signals and its relationships."""
        t = self.twin(twin_id)
        ty = self.types[t.type]
        return {
            **t.model_dump(mode="json"),
            "signals": {
                name: s.model_dump(mode="json", exclude={"name"} if s.writable else {"name", "writable"},
                                   exclude_none=True)
                for name, s in ty.signals.items()
            },
            "power": dict(ty.power),
            "children": self._children.get(t.id, []),
            "relationships": [
                r.model_dump() for r in self.relationships if r.source == t.id or r.target == t.id
            ],
        }

    def state_names(self, twin_id: str) -> tuple[str, ...] | None:
        sig = self.type_of(twin_id).state_signal()
        return sig.states if sig is not None else None

    def signal(self, twin_id: str, signal: str) -> Signal:
        sig = self.type_of(twin_id).signals.get(signal)
        if sig is None:
            raise NotFoundError(f"twin {twin_id!r} has no signal {signal!r}")
        return sig

    def kind(self, twin_id: str, signal: str) -> SignalKind:
        return self.signal(twin_id, signal).kind
