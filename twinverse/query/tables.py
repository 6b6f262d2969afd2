"""The virtual tables a query reads: the model, the live state and history, as columns.

The model tables (``twins``, ``relationships``, ``signals``, ``states``) are built once per
plant as Arrow tables; ``live`` is taken from the engine's arrays when a query reads it
(one NumPy pass, no Python object per signal). ``history`` and ``quarantine`` are not
copied at all: each runner defines them over the store's own tables (``points`` joined to
the signal names by sid).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..core.batch import TS_TYPE
from ..core.clock import NEVER
from ..live.engine import Engine
from ..model import Plant
from ..trust.records import Permission

__all__ = ["FUNCTION_TABLES", "MODEL_TABLES", "TABLES", "LiveTable", "TableInfo", "model_tables"]


@dataclass(frozen=True)
class TableInfo:
    """One virtual table: its columns (name, SQL type, meaning) and the permission it needs."""

    name: str
    permission: Permission
    columns: tuple[tuple[str, str, str], ...]
    summary: str


TABLES: dict[str, TableInfo] = {
    t.name: t
    for t in (
        TableInfo("twins", Permission.PLANT_READ, (
            ("id", "VARCHAR", "path from the plant root, e.g. bottling/line1/filler"),
            ("type", "VARCHAR", "twin type"),
            ("name", "VARCHAR", "display name"),
            ("parent", "VARCHAR", "containing twin (NULL for a root)"),
            ("properties", "JSON", "the twin's properties (type defaults merged)"),
        ), "every twin of the plant"),
        TableInfo("relationships", Permission.PLANT_READ, (
            ("source", "VARCHAR", "twin id"), ("name", "VARCHAR", "contains, feeds, supplied_by, …"),
            ("target", "VARCHAR", "twin id"),
        ), "directed, named edges between twins (contains included)"),
        TableInfo("signals", Permission.PLANT_READ, (
            ("twin", "VARCHAR", "twin id"), ("signal", "VARCHAR", "signal name"), ("unit", "VARCHAR", "unit or NULL"),
            ("kind", "VARCHAR", "float, int, bool or state"), ("lo", "DOUBLE", "lower end of the range"),
            ("hi", "DOUBLE", "upper end of the range"), ("states", "VARCHAR[]", "state names (kind state)"),
        ), "every signal of every twin"),
        TableInfo("states", Permission.PLANT_READ, (
            ("twin", "VARCHAR", "twin id"), ("signal", "VARCHAR", "signal name"),
            ("code", "DOUBLE", "the stored value"), ("state", "VARCHAR", "the state's name"),
        ), "the stored code of every state name (join history on code = value)"),
        TableInfo("live", Permission.DATA_READ, (
            ("twin", "VARCHAR", "twin id"), ("signal", "VARCHAR", "signal name"),
            ("value", "DOUBLE", "newest value (state code, 0/1 for bools); NULL before the first"),
            ("state", "VARCHAR", "the state's name for state signals"),
            ("ts", "TIMESTAMPTZ", "time of the newest observation"),
            ("quality", "UTINYINT", "0 good, 1 uncertain, 2 bad"),
        ), "the newest value of every signal, as the engine holds it"),
        TableInfo("history", Permission.DATA_READ, (
            ("twin", "VARCHAR", "twin id"), ("signal", "VARCHAR", "signal name"), ("ts", "TIMESTAMPTZ", "time"),
            ("value", "DOUBLE", "value (state code, 0/1 for bools)"), ("quality", "UTINYINT", "quality code"),
        ), "every stored observation (downsample with time_bucket and GROUP BY)"),
        TableInfo("quarantine", Permission.QUARANTINE_READ, (
            ("received", "TIMESTAMPTZ", "when it was rejected"), ("ts", "TIMESTAMPTZ", "its own time"),
            ("twin", "VARCHAR", ""), ("signal", "VARCHAR", ""), ("value", "VARCHAR", "as received"),
            ("reason", "VARCHAR", "why it was rejected"), ("source", "VARCHAR", "http, mqtt, …"),
        ), "rejected observations with their reasons"),
        TableInfo("alarms", Permission.ALARM_READ, (
            ("id", "VARCHAR", "twin:rule"), ("twin", "VARCHAR", "twin id"), ("rule", "VARCHAR", "rule name"),
            ("kind", "VARCHAR", "hihi, hi, lo, lolo, rate, state, stale"),
            ("signal", "VARCHAR", "signal the rule watches"),
            ("priority", "VARCHAR", "urgent, high, medium, low"),
            ("state", "VARCHAR", "ISA-18.2 state: normal, unacknowledged, acknowledged, …"),
            ("active", "BOOLEAN", "the condition holds now"), ("acknowledged", "BOOLEAN", "an operator acked it"),
            ("value", "DOUBLE", "the value it last saw"), ("limit_value", "DOUBLE", "the rule's limit"),
            ("message", "VARCHAR", "the rule's message"), ("changed", "TIMESTAMPTZ", "last transition"),
            ("raised", "TIMESTAMPTZ", "the condition's last raise"),
            ("shelved_until", "TIMESTAMPTZ", "end of a shelve"),
        ), "every alarm (rule × twin) as the alarm service holds it now"),
        TableInfo("alarm_events", Permission.ALARM_READ, (
            ("seq", "BIGINT", "journal sequence number"), ("ts", "TIMESTAMPTZ", "time of the transition"),
            ("alarm", "VARCHAR", "alarm id (twin:rule)"), ("twin", "VARCHAR", "twin id"),
            ("rule", "VARCHAR", "rule name"), ("event", "VARCHAR", "raise, clear, ack, shelve, comment, …"),
            ("state", "VARCHAR", "state after"), ("previous", "VARCHAR", "state before"),
            ("priority", "VARCHAR", "the rule's priority"), ("value", "DOUBLE", "value that caused it"),
            ("actor", "VARCHAR", "who acted (operator actions)"), ("comment", "VARCHAR", "why"),
            ("until", "TIMESTAMPTZ", "a shelve's end"),
        ), "every alarm transition of the journal, oldest first"),
        TableInfo("annotations", Permission.PLANT_READ, (
            ("id", "VARCHAR", "note id"), ("twin", "VARCHAR", "twin the note is on"), ("text", "VARCHAR", "the note"),
            ("author", "VARCHAR", "display name"), ("author_id", "VARCHAR", "did:key of the author"),
            ("created", "TIMESTAMPTZ", "when it was written"), ("status", "VARCHAR", "open or resolved"),
            ("resolved_by", "VARCHAR", "who resolved it"), ("resolved_at", "TIMESTAMPTZ", "when"),
        ), "the shared notes of the plant's room (docs/collaboration.md)"),
        TableInfo("kpis", Permission.DATA_READ, (
            ("twin", "VARCHAR", "machine (a twin with a state signal)"), ("type", "VARCHAR", "twin type"),
            ("availability", "DOUBLE", "APT / PBT"), ("effectiveness", "DOUBLE", "PRU × PQ / APT"),
            ("quality_ratio", "DOUBLE", "GQ / PQ"), ("oee", "DOUBLE", "availability × effectiveness × quality"),
            ("scrap_ratio", "DOUBLE", "SQ / PQ"), ("throughput_per_h", "DOUBLE", "PQ per hour of APT"),
            ("mttr_s", "DOUBLE", "ADOT / failures"), ("mtbf_s", "DOUBLE", "APT / failures"),
            ("planned_s", "DOUBLE", "planned busy time PBT"), ("production_s", "DOUBLE", "actual production time APT"),
            ("down_s", "DOUBLE", "ADOT"), ("setup_s", "DOUBLE", "ASUT"), ("failures", "BIGINT", "entries into down"),
            ("produced", "DOUBLE", "PQ"), ("good", "DOUBLE", "GQ"), ("energy_kwh", "DOUBLE", "energy by state"),
        ), "table function kpis(start, end[, twin]): ISO 22400 KPIs per machine over [start, end) "
           "(of twin's subtree), as docs/kpis.md defines them"),
    )
}  # fmt: skip

#: Tables that are table functions (called in FROM with arguments), not plain names.
FUNCTION_TABLES = frozenset({"kpis"})

#: Tables built from the plant model alone.
MODEL_TABLES = ("twins", "relationships", "signals", "states")


def model_tables(plant: Plant) -> dict[str, pa.Table]:
    """``twins``, ``relationships``, ``signals``, ``states`` and the internal ``sid`` map of a plant."""
    twins = list(plant)
    idx = plant.signals
    props = [json.dumps({**plant.types[t.type].properties, **t.properties}, sort_keys=True) for t in twins]
    out = {
        "twins": pa.table({
            "id": pa.array([t.id for t in twins], pa.string()),
            "type": pa.array([t.type for t in twins], pa.string()),
            "name": pa.array([t.name for t in twins], pa.string()),
            "parent": pa.array([t.parent for t in twins], pa.string()),
            "properties": pa.array(props, pa.string()),
        }),
        "relationships": pa.table({
            "source": pa.array([r.source for r in plant.relationships], pa.string()),
            "name": pa.array([r.name for r in plant.relationships], pa.string()),
            "target": pa.array([r.target for r in plant.relationships], pa.string()),
        }),
        "signals": pa.table({
            "twin": pa.array(idx.twin.tolist(), pa.string()),
            "signal": pa.array(idx.name.tolist(), pa.string()),
            "unit": pa.array(idx.unit, pa.string()),
            "kind": pa.array([s.kind.value for s in idx.signal], pa.string()),
            "lo": pa.array(idx.lo), "hi": pa.array(idx.hi),
            "states": pa.array([list(s.states) if s.states else None for s in idx.signal], pa.list_(pa.string())),
        }),
        "sids": pa.table({
            "sid": pa.array(np.arange(len(idx), dtype=np.int32)),
            "twin": pa.array(idx.twin.tolist(), pa.string()),
            "signal": pa.array(idx.name.tolist(), pa.string()),
        }),
    }  # fmt: skip
    rows = [(str(idx.twin[i]), str(idx.name[i]), float(c), name)
            for i, s in enumerate(idx.signal) if s.states for c, name in enumerate(s.states)]  # fmt: skip
    out["states"] = pa.table({
        "twin": pa.array([r[0] for r in rows], pa.string()), "signal": pa.array([r[1] for r in rows], pa.string()),
        "code": pa.array([r[2] for r in rows], pa.float64()), "state": pa.array([r[3] for r in rows], pa.string()),
    })  # fmt: skip
    return out


class LiveTable:
    """The engine's newest values as the ``live`` table (NULL value and ts before the first).

    Built per query in a few NumPy passes: state names come by a gather from one flat array
    (each state signal's names start at its offset), never a Python loop over signals.
    """

    def __init__(self, engine: Engine, model: dict[str, pa.Table]) -> None:
        self.engine = engine
        self._sids = model["sids"]
        states = model["signals"].column("states").to_pylist()
        self._count = np.array([len(s) if s else 0 for s in states], dtype=np.int64)
        self._offset = np.concatenate([[0], np.cumsum(self._count)[:-1]]).astype(np.int64)
        self._names = pa.array([n for s in states if s for n in s] or [""], pa.string())

    def table(self) -> pa.Table:
        """A snapshot of the live state (the writer replaces whole slots: consistent per signal)."""
        e = self.engine
        value, ts, quality = e.value.copy(), e.ts.copy(), e.quality.copy()
        never = ts == NEVER
        code = np.where(np.isnan(value), -1.0, value)
        ok = (self._count > 0) & ~never & (code >= 0) & (code < self._count) & (code == np.floor(code))
        pick = np.where(ok, self._offset + np.where(ok, code, 0).astype(np.int64), 0)
        states = self._names.take(pa.array(pick)).to_numpy(zero_copy_only=False)
        return pa.table({
            "twin": self._sids.column("twin"), "signal": self._sids.column("signal"),
            "value": pa.array(value, mask=never | np.isnan(value)),
            "state": pa.array(states, pa.string(), mask=~ok),
            "ts": pa.array(ts, pa.int64(), mask=never).cast(TS_TYPE),
            "quality": pa.array(quality, pa.uint8()),
        })  # fmt: skip
