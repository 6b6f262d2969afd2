"""Every alarm transition as a stored event: an append-only SQLite table in the data directory.

One row per event (a condition raising or clearing, a suppression, an operator action),
with its time, the alarm's state before and after, the value that caused it and, for
actions, who and why. ``:memory:`` keeps the journal in memory (tests, benchmarks).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..core.batch import TS_TYPE

__all__ = ["AlarmEvent", "Journal"]


@dataclass(frozen=True)
class AlarmEvent:
    """One transition of one alarm (``seq`` is set by the journal)."""

    ts: int  # µs since the epoch
    alarm: str
    twin: str
    rule: str
    event: str
    state: str
    previous: str
    priority: str
    value: float | None = None
    user: str | None = None
    comment: str | None = None
    until: int | None = None  # a shelve's end (µs)
    seq: int = 0

    def to_dict(self) -> dict[str, Any]:
        from ..core.clock import iso

        d = asdict(self)
        d["ts"] = iso(self.ts)
        d["until"] = None if self.until is None else iso(self.until)
        if d["value"] is not None and d["value"] != d["value"]:  # NaN: no value
            d["value"] = None
        return d


_COLUMNS = ("ts", "alarm", "twin", "rule", "event", "state", "previous", "priority", "value", "user", "comment",
            "until")
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS alarm_events (seq INTEGER PRIMARY KEY, plant TEXT, {", ".join(f"{c} {'INTEGER' if c in ('ts', 'until') else 'REAL' if c == 'value' else 'TEXT'}" for c in _COLUMNS)});
CREATE INDEX IF NOT EXISTS alarm_events_ts ON alarm_events (ts);
CREATE INDEX IF NOT EXISTS alarm_events_alarm ON alarm_events (alarm, seq);
"""  # noqa: E501


class Journal:
    """The alarm event table; thread-safe (one connection, one lock)."""

    def __init__(self, path: Path | str = ":memory:", *, plant: str = "") -> None:
        self.plant = plant  # several plants may share a data directory: each sees its own events
        self._con = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._con.executescript("PRAGMA journal_mode=WAL;" if str(path) != ":memory:" else "")
        self._con.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self.last_seq = self._max_seq()

    def _max_seq(self) -> int:
        row = self._con.execute("SELECT coalesce(max(seq), 0) FROM alarm_events").fetchone()
        return int(row[0])

    def append(self, events: Sequence[AlarmEvent]) -> list[AlarmEvent]:
        """Store ``events`` in one transaction; returns them with their sequence numbers."""
        if not events:
            return []
        with self._lock:
            self._con.execute("BEGIN IMMEDIATE")  # sequence numbers are taken inside the write lock
            first = self._max_seq() + 1
            out = [AlarmEvent(**{**asdict(e), "seq": first + i}) for i, e in enumerate(events)]
            rows = [(e.seq, self.plant, *(getattr(e, c) for c in _COLUMNS)) for e in out]
            self._con.executemany(f"INSERT INTO alarm_events VALUES ({', '.join('?' * (len(_COLUMNS) + 2))})", rows)
            self._con.execute("COMMIT")
            self.last_seq = out[-1].seq
        return out

    def query(
        self,
        *,
        alarm: str | None = None,
        twins: Sequence[str] | None = None,
        start_us: int | None = None,
        end_us: int | None = None,
        after_seq: int = 0,
        limit: int = 1000,
    ) -> list[AlarmEvent]:
        """Events in sequence order, filtered by alarm, twins, time range [start, end) and sequence."""
        where = ["seq > ?", "plant = ?"]
        params: list[Any] = [after_seq, self.plant]
        if alarm is not None:
            where.append("alarm = ?")
            params.append(alarm)
        if start_us is not None:
            where.append("ts >= ?")
            params.append(start_us)
        if end_us is not None:
            where.append("ts < ?")
            params.append(end_us)
        sql = f"SELECT seq, {', '.join(_COLUMNS)} FROM alarm_events WHERE {' AND '.join(where)}"
        if twins is not None:
            sql += " AND twin IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(list(twins)))
        sql += " ORDER BY seq LIMIT ?"
        params.append(int(limit))
        with self._lock:
            rows = self._con.execute(sql, params).fetchall()
        return [AlarmEvent(seq=r[0], **dict(zip(_COLUMNS, r[1:], strict=True))) for r in rows]

    def latest(self) -> list[AlarmEvent]:
        """The last event of every alarm of this plant (what a restart restores states from)."""
        sql = (f"SELECT seq, {', '.join(_COLUMNS)} FROM alarm_events WHERE seq IN "
               "(SELECT max(seq) FROM alarm_events WHERE plant = ? GROUP BY alarm) ORDER BY seq")  # fmt: skip
        with self._lock:
            rows = self._con.execute(sql, [self.plant]).fetchall()
        return [AlarmEvent(seq=r[0], **dict(zip(_COLUMNS, r[1:], strict=True))) for r in rows]

    def raises(self, start_us: int, end_us: int, twins: Sequence[str]) -> list[tuple[int, str, str, str]]:
        """(time, alarm, twin, new state) of the raise events of ``twins`` in [start, end), in time order."""
        sql = ("SELECT ts, alarm, twin, state FROM alarm_events WHERE plant = ? AND event = 'raise' AND ts >= ? "
               "AND ts < ? AND twin IN (SELECT value FROM json_each(?)) ORDER BY ts, seq")  # fmt: skip
        with self._lock:
            rows = self._con.execute(sql, [self.plant, start_us, end_us, json.dumps(list(twins))]).fetchall()
        return [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]

    def standing(self, at_us: int, twins: Sequence[str]) -> list[tuple[str, int, str]]:
        """(alarm, raised at, state at ``at_us``) of the alarms of ``twins`` whose condition is active at
        ``at_us`` (their last raise or clear before it is a raise)."""
        sql = ("SELECT r.alarm, r.ts, (SELECT e.state FROM alarm_events e WHERE e.plant = r.plant "
               "AND e.alarm = r.alarm AND e.ts < ? ORDER BY e.seq DESC LIMIT 1) FROM alarm_events r "
               "WHERE r.event = 'raise' AND r.seq IN (SELECT max(seq) FROM alarm_events WHERE plant = ? "
               "AND event IN ('raise', 'clear') AND ts < ? AND twin IN (SELECT value FROM json_each(?)) "
               "GROUP BY alarm) ORDER BY r.ts")  # fmt: skip
        with self._lock:
            rows = self._con.execute(sql, [at_us, self.plant, at_us, json.dumps(list(twins))]).fetchall()
        return [(str(r[0]), int(r[1]), str(r[2])) for r in rows]
    def table(self) -> pa.Table:
        """Every event of this plant, oldest first, as the query service's ``alarm_events`` table."""
        sql = f"SELECT seq, {', '.join(_COLUMNS)} FROM alarm_events WHERE plant = ? ORDER BY seq"
        with self._lock:
            rows = self._con.execute(sql, [self.plant]).fetchall()
        cols = list(zip(*rows, strict=True)) if rows else [()] * (len(_COLUMNS) + 1)
        by = dict(zip(("seq", *_COLUMNS), cols, strict=True))
        value = [None if v is None or v != v else float(v) for v in by["value"]]
        text = {c: pa.array(by[c], pa.string()) for c in ("alarm", "twin", "rule", "event", "state", "previous",
                                                          "priority")}  # fmt: skip
        return pa.table({
            "seq": pa.array(by["seq"], pa.int64()), "ts": pa.array(by["ts"], pa.int64()).cast(TS_TYPE), **text,
            "value": pa.array(value, pa.float64()), "actor": pa.array(by["user"], pa.string()),
            "comment": pa.array(by["comment"], pa.string()), "until": pa.array(by["until"], pa.int64()).cast(TS_TYPE),
        })  # fmt: skip

    def close(self) -> None:
        with self._lock:
            self._con.close()
