"""Live state shared between processes through PostgreSQL: a latest-values table and NOTIFY.

Every process that writes history (ingest workers, API processes that ingest) upserts the
newest point of each signal it wrote into ``live_latest`` **in the same transaction** as the
history rows, and sends those points with ``pg_notify`` on a channel. PostgreSQL delivers a
notification only if its transaction commits, at commit, in commit order; so a follower
(an API process) that LISTENs first, then reads the table, then applies notifications with
the rule "a strictly newer timestamp wins" ends with exactly the table's state, whichever
arrives first. The rule is the engine's own, so live state still equals the store's latest.

Notification payloads are base64 of packed ``(sid i4, ts i8 µs, value f8, quality u1)``
records, at most :data:`ROWS_PER_NOTIFY` a notification (PostgreSQL's limit is 8000 bytes).

Row locks: two writers that both touch signal ``s`` wait for each other on its
``live_latest`` row. The upsert is the last statement before COMMIT and takes rows in sid
order, so the wait is one commit long and cannot deadlock.
"""

from __future__ import annotations

import base64
import logging
import re
import struct
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ConfigError, StoreError
from .postgres import POINT_ROW, PostgresStore

try:
    import psycopg
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise StoreError("shared live state needs psycopg: pip install 'twinverse[postgres]'") from exc

__all__ = ["DELTA", "ROWS_PER_NOTIFY", "LiveFollower", "LiveTable", "decode_delta", "encode_delta", "share_live"]

log = logging.getLogger("twinverse.store.pglive")

PG_EPOCH_US = 946_684_800_000_000  # PostgreSQL's timestamps count from 2000-01-01
#: One changed signal in a notification payload.
DELTA = np.dtype([("sid", "<i4"), ("ts", "<i8"), ("value", "<f8"), ("quality", "u1")])
#: Records per notification: base64 of this many records stays under PostgreSQL's 8000 bytes.
ROWS_PER_NOTIFY = 7800 // 4 * 3 // DELTA.itemsize

_SCHEMA = """
CREATE TABLE IF NOT EXISTS live_latest (
    ts timestamptz NOT NULL,
    sid integer PRIMARY KEY,
    value double precision NOT NULL,
    quality smallint NOT NULL
)
"""
_UPSERT = """INSERT INTO live_latest AS l SELECT * FROM live_stage ORDER BY sid
ON CONFLICT (sid) DO UPDATE SET ts = excluded.ts, value = excluded.value, quality = excluded.quality
WHERE l.ts < excluded.ts"""
_CHANNEL = re.compile(r"[a-z_][a-z0-9_]{0,62}")

Delta = tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.uint8]]


def _channel(name: str) -> str:
    if not _CHANNEL.fullmatch(name):
        raise ConfigError(f"live channel {name!r} must be a lower-case SQL identifier ([a-z_][a-z0-9_]*)")
    return name


def encode_delta(sid: Any, ts: Any, value: Any, quality: Any) -> list[str]:
    """Payloads for the given newest points (µs timestamps), :data:`ROWS_PER_NOTIFY` records each.

    >>> p = encode_delta([3], [1_700_000_000_000_000], [2.5], [0])
    >>> [a.tolist() for a in decode_delta(p[0])]
    [[3], [1700000000000000], [2.5], [0]]
    """
    rec = np.empty(len(sid), dtype=DELTA)
    rec["sid"], rec["ts"], rec["value"], rec["quality"] = sid, ts, value, quality
    raw = rec.tobytes()
    step = ROWS_PER_NOTIFY * DELTA.itemsize
    return [base64.b64encode(raw[i : i + step]).decode("ascii") for i in range(0, len(raw), step)]


def decode_delta(payload: str) -> Delta:
    """(sid, ts µs, value, quality) columns of one notification payload."""
    rec = np.frombuffer(base64.b64decode(payload), dtype=DELTA)
    return (rec["sid"].astype(np.int32), rec["ts"].astype(np.int64), rec["value"].astype(np.float64),
            rec["quality"].astype(np.uint8))  # fmt: skip


class LiveTable:
    """The writer's half: called by :class:`PostgresStore` inside each append's transaction."""

    def __init__(self, channel: str = "twinverse_live") -> None:
        self.channel = _channel(channel)
        self._ready: set[tuple[int, int]] = set()  # connections (id, backend pid) with the staging table

    def __call__(self, con: psycopg.Connection[Any], body: npt.NDArray[np.uint8]) -> None:
        rows = body.view(POINT_ROW)
        if len(rows) == 0:
            return
        sid, ts = rows["sid"].astype(np.int64), rows["ts"].astype(np.int64)
        if len(rows) > 1 and not bool(np.all((sid[1:] > sid[:-1]) | ((sid[1:] == sid[:-1]) & (ts[1:] >= ts[:-1])))):
            order = np.lexsort((ts, sid))
            rows, sid = rows[order], sid[order]
        last = np.ones(len(rows), dtype=bool)
        last[:-1] = sid[1:] != sid[:-1]
        newest = rows[last]
        key = (id(con), con.info.backend_pid)
        if key not in self._ready:
            con.execute("CREATE TEMP TABLE IF NOT EXISTS live_stage (LIKE live_latest) ON COMMIT DELETE ROWS")
            self._ready.add(key)
        PostgresStore._copy(con, "live_stage", newest.view(np.uint8))
        con.execute(_UPSERT)
        payloads = encode_delta(newest["sid"], newest["ts"].astype(np.int64) + PG_EPOCH_US, newest["value"],
                                newest["quality"])  # fmt: skip
        con.execute("SELECT pg_notify(%s, p) FROM unnest(%s::text[]) AS p", (self.channel, payloads))


def share_live(store: PostgresStore, channel: str = "twinverse_live") -> LiveTable:
    """Make every append of ``store`` keep ``live_latest`` and notify ``channel`` (creates the table)."""
    for hook in store.after_write:  # once per store, whoever asks again
        if isinstance(hook, LiveTable):
            return hook
    table = LiveTable(channel)
    try:
        with psycopg.connect(store.url, autocommit=True) as con, con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(hashtext('twinverse.schema'))")
            con.execute(_SCHEMA)
    except psycopg.Error as exc:
        raise StoreError(f"cannot create the live_latest table: {exc}") from exc
    store.after_write.append(table)
    return table


def read_latest(con: psycopg.Connection[Any]) -> Delta:
    """Every row of ``live_latest`` as columns (one binary COPY)."""
    data = bytearray()
    with con.cursor().copy("COPY (SELECT ts, sid, value, quality FROM live_latest) TO STDOUT (FORMAT BINARY)") as cp:
        for chunk in cp:
            data += chunk
    (ext,) = struct.unpack_from(">i", data, 15)
    rows = np.frombuffer(bytes(data[19 + ext : -2]), dtype=POINT_ROW)
    return (rows["sid"].astype(np.int32), rows["ts"].astype(np.int64) + PG_EPOCH_US, rows["value"].astype(np.float64),
            rows["quality"].astype(np.uint8))  # fmt: skip


class LiveFollower:
    """The reader's half: LISTEN on the channel, read ``live_latest``, hand every change to ``apply``.

    Runs on its own thread; after a lost connection it reconnects and reads the table again
    (so nothing committed meanwhile is missed). ``apply(sid, ts, value, quality)`` must keep
    only strictly newer points (:meth:`Engine.follow <twinverse.live.Engine.follow>` does).
    """

    def __init__(
        self, url: str, apply: Callable[[Any, Any, Any, Any], object], channel: str = "twinverse_live",
        *, retry: float = 1.0,
    ) -> None:  # fmt: skip
        self.url = url
        self.channel = _channel(channel)
        self.apply = apply
        self.retry = retry
        self.notifications = 0
        self.resyncs = 0
        self.errors = 0
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._con: psycopg.Connection[Any] | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start following; returns once the table has been read (or raises :class:`StoreError`)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pg-live-follower", daemon=True)
        self._thread.start()
        if not self.connected.wait(timeout):
            self.stop()
            raise StoreError(f"cannot follow live state on PostgreSQL within {timeout:g} s")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def _apply(self, *delta: Any) -> None:
        try:
            self.apply(*delta)
        except Exception:  # a bug costs one delta (the next resync repairs it), never the thread
            log.exception("live follower: applying a change failed")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, application_name="twinverse-live-follower") as con:
                    con.execute(f"LISTEN {self.channel}")
                    self._apply(*read_latest(con))  # after LISTEN: nothing can fall between the two
                    self.resyncs += 1
                    self.connected.set()
                    while not self._stop.is_set():
                        for note in con.notifies(timeout=0.25, stop_after=1):
                            self.notifications += 1
                            try:
                                delta = decode_delta(note.payload)
                            except ValueError:  # not ours (someone else NOTIFYing on the channel)
                                log.warning("live follower: ignored a malformed notification")
                                continue
                            self._apply(*delta)
            except psycopg.Error as exc:
                self.connected.clear()
                self.errors += 1
                log.warning("live follower lost PostgreSQL (%s); reconnecting", exc)
                self._stop.wait(self.retry)
