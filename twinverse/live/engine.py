"""The live engine: validate a batch, convert units, store it durably, update live state.

Everything here works on whole columns: a batch of a million points costs a handful of
NumPy passes, never a Python object per point.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ..core.batch import BATCH_SCHEMA, QUARANTINE_SCHEMA, ts_array, ts_to_us
from ..core.clock import NEVER, iso
from ..core.clock import now_us as _now_us
from ..core.metrics import LATENCY_BUCKETS, SIZE_BUCKETS, Histogram
from ..core.reasons import RejectReason as R
from ..core.values import KindCode
from ..model import Plant
from ..store.base import Store
from ..units import UnknownUnit, conversion
from .prepared import IngestResult, PreparedBatch
from .rejects import first_errors, reject_rows
from .rows import sorted_unique
from .small import SmallPoints, prepare_smalls
from .writer import GroupWriter, WriterStats

__all__ = ["CommitHook", "Engine", "IngestResult", "Listener", "PreparedBatch"]

#: Timestamps before this are rejected as implausible (µs since the epoch: 2000-01-01).
MIN_TS_US = 946_684_800_000_000

Listener = Callable[[pa.RecordBatch], None]


CommitHook = Callable[[list[tuple[object, IngestResult]]], object]


class Engine:
    """Live state of a plant plus the ingest path into a :class:`Store`.

    ``value``, ``ts`` (µs) and ``quality`` are arrays indexed by sid; ``seq`` records the
    ingest sequence number that last changed each signal (subscribers diff against it).

    Counters for monitoring, read at scrape time (never computed on the ingest path beyond
    an addition): ``received_total``, ``accepted_total``, ``rejected_total``,
    ``stored_total``, rejects by reason (:meth:`rejects_by_reason`), and two histograms of
    the store's commits, ``commit_seconds`` (append latency) and ``commit_rows`` (rows per
    append).
    """

    def __init__(self, plant: Plant, store: Store, *, max_future_s: float = 86_400.0) -> None:
        self.plant = plant
        self.store = store
        self.max_future_us = int(max_future_s * 1e6)
        idx = plant.signals
        n = len(idx)
        self.value: npt.NDArray[np.float64] = np.full(n, np.nan)
        self.ts: npt.NDArray[np.int64] = np.full(n, NEVER, dtype=np.int64)
        self.quality: npt.NDArray[np.uint8] = np.zeros(n, dtype=np.uint8)
        self.seq: npt.NDArray[np.int64] = np.zeros(n, dtype=np.int64)
        self.sequence = 0
        self.received_total = 0
        self.accepted_total = 0
        self.rejected_total = 0
        self.stored_total = 0
        # Rejected rows by RejectReason code; slot 0 (OK) counts rows a source rejected before
        # the engine saw them (:meth:`reject`: unknown names, unparsable payloads).
        self._rejects = np.zeros(len(R), dtype=np.int64)
        self.commit_seconds = Histogram(LATENCY_BUCKETS)
        self.commit_rows = Histogram(SIZE_BUCKETS)
        self.group_batches = Histogram(SIZE_BUCKETS)  # batches written per group commit
        self._index(plant)
        self._lock = threading.RLock()  # held while writing to the store
        self._writer: GroupWriter[tuple[PreparedBatch | SmallPoints, object], IngestResult | None] = GroupWriter(
            self._commit_group, finish=self._run_hooks
        )
        self._hooks: list[CommitHook] = []
        self._listeners: list[Listener] = []
        self._restore()

    def _index(self, plant: Plant) -> None:
        """Take the per-sid checks (bounds, kinds, units, retired slots) from ``plant``'s index."""
        idx = plant.signals
        units = sorted({u for u in idx.unit if u})
        self._unit_names = [None, *units]
        self._unit_code = np.array([0 if u is None else units.index(u) + 1 for u in idx.unit], dtype=np.int32)
        self._integral = idx.kind != KindCode.FLOAT
        self._lo, self._hi, self._kind = idx.lo, idx.hi, idx.kind
        self._retired = idx.retired

    def switch(self, plant: Plant) -> None:
        """Serve a new version of the plant from now on, keeping the live state of every signal.

        ``plant``'s index must carry this one's sids (:meth:`SignalIndex.carried
        <twinverse.model.SignalIndex.carried>`): a sid is the key of a signal's history, so a
        kept signal keeps its value, time and quality here and its history in the store; new
        signals start empty and retired ones refuse data. Waits for the commit in progress.
        """
        n = len(plant.signals)
        with self._lock:
            grow = n - len(self.value)
            if grow < 0:
                raise ValueError(f"the new index has {n} sids, fewer than the {len(self.value)} in use")
            if grow:
                self.value = np.concatenate([self.value, np.full(grow, np.nan)])
                self.ts = np.concatenate([self.ts, np.full(grow, NEVER, dtype=np.int64)])
                self.quality = np.concatenate([self.quality, np.zeros(grow, dtype=np.uint8)])
                self.seq = np.concatenate([self.seq, np.zeros(grow, dtype=np.int64)])
            self._index(plant)
            self.plant = plant

    # -- subscribers -------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(batch)`` after every stored batch; returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # -- ingest ------------------------------------------------------------------------------
    def ingest(
        self,
        batch: pa.RecordBatch | pa.Table,
        *,
        source: str = "api",
        atomic: bool = False,
        rejects: pa.Table | None = None,
        tag: object = None,
    ) -> IngestResult:
        """Validate, convert, store durably and apply a batch; rejects go to quarantine.

        Returns after the accepted rows are durable in the store. With ``atomic`` a batch
        with any rejected row stores nothing (its rejects are still quarantined) and the
        result lists the reasons in ``errors``. ``rejects`` are rows the caller's decoder
        already refused (``QUARANTINE_SCHEMA``): quarantined with the batch, counted in its
        result and listed first in its errors (with ``atomic``, they alone stop the batch).

        Group commit: each caller validates its batch on its own thread (:meth:`prepare`);
        the engine's writer thread then stores everything handed in while it was busy in
        one store transaction (:meth:`submit`), and every caller gets its own result.
        ``tag`` travels with the batch to the :meth:`on_commit` hooks (the API passes what
        its audit-log entry needs).
        """
        return self.submit(self.prepare(batch, source=source, atomic=atomic, rejects=rejects), tag=tag).result()

    def prepare(
        self,
        batch: pa.RecordBatch | pa.Table,
        *,
        source: str = "api",
        atomic: bool = False,
        rejects: pa.Table | None = None,
    ) -> PreparedBatch:
        """The validating half of :meth:`ingest`: checks and converts, touches no shared state."""
        return self._prepare(batch, source, atomic, rejects)

    def submit(self, prepared: PreparedBatch, *, tag: object = None) -> Future[IngestResult]:
        """The storing half of :meth:`ingest`: queue for the next group commit, without waiting.

        The future's result is the batch's :class:`IngestResult`, set once its rows are durable
        and the commit hooks ran (``asyncio.wrap_future`` awaits it from an event loop).
        """
        return cast("Future[IngestResult]", self._writer.submit((prepared, tag)))

    def submit_points(
        self,
        sid: npt.NDArray[np.int32],
        ts: npt.NDArray[np.int64],
        value: npt.NDArray[np.float64],
        *,
        tag: object = None,
    ) -> Future[IngestResult | None]:
        """Queue a small request's points, validated on the writer with the rest of its group.

        The columns are what :func:`twinverse.ingest.decode.small_columns` gives: names
        resolved, nothing else checked. The future's result is the request's
        :class:`IngestResult` once durable — or None if any point would be rejected: then
        nothing of it was stored or quarantined, and the caller takes the general path
        (:meth:`ingest`), which words the reasons. See :mod:`twinverse.live.small`.
        """
        return self._writer.submit((SmallPoints(sid, ts, value), tag))

    def submit_points_async(
        self,
        sid: npt.NDArray[np.int32],
        ts: npt.NDArray[np.int64],
        value: npt.NDArray[np.float64],
        *,
        tag: object = None,
    ) -> asyncio.Future[IngestResult | None]:
        """:meth:`submit_points` for a coroutine (call it on the event loop): an asyncio future.

        The same result, settled without a hop per request (:meth:`GroupWriter.submit_async
        <twinverse.live.writer.GroupWriter.submit_async>`).
        """
        return self._writer.submit_async((SmallPoints(sid, ts, value), tag))

    @property
    def writer_stats(self) -> WriterStats:
        """Group-commit counters: groups written, batches in them, the largest group."""
        return self._writer.stats

    def close(self) -> None:
        """Store what is queued and stop the writer thread."""
        self._writer.close()

    def on_commit(self, hook: CommitHook) -> Callable[[], None]:
        """Call ``hook(items)`` after every group commit, before its callers return.

        ``items`` are ``(tag, result)`` pairs of the batches written together. The hooks run
        on the writer's second thread, one group at a time in commit order, so what they
        record commits in the same order as the data, while the writer already stores the
        next group (the audit-log commit overlaps the next store commit). Callers get their
        results only after the hooks ran; if one raises, every caller of the group gets the
        exception. Returns an unhook function.
        """
        self._hooks.append(hook)
        return lambda: self._hooks.remove(hook) if hook in self._hooks else None

    def _prepare(
        self, batch: pa.RecordBatch | pa.Table, source: str, atomic: bool, pre: pa.Table | None
    ) -> PreparedBatch:
        """Validate and convert one batch (no shared state touched: runs on the caller's thread)."""
        if pre is not None and pre.num_rows:
            pre = pre.cast(QUARANTINE_SCHEMA)
            npre = pre.num_rows
            pre_errors = tuple(pre.slice(0, 50).select(["twin", "signal", "value", "reason"]).to_pylist())
            by_source = np.zeros(len(R), dtype=np.int64)
            by_source[R.OK] = npre  # the "source" slot of rejects_by_reason
            if atomic:  # nothing of this request will be stored: its own rows need no checking
                return PreparedBatch(batch.num_rows + npre, 0, npre, rejects=pre, errors=pre_errors, reasons=by_source)
            own = self._prepare(batch, source, atomic, None)
            rejects = pre if own.rejects is None else pa.concat_tables([pre, own.rejects])
            reasons = by_source if own.reasons is None else by_source + own.reasons
            return PreparedBatch(own.received + npre, own.accepted, own.rejected + npre, own.rows, rejects,
                                 (*pre_errors, *own.errors)[:50], reasons)
        if isinstance(batch, pa.Table):
            batch = pa.concat_batches(batch.to_batches()) if batch.num_rows else pa.RecordBatch.from_pylist(
                [], schema=BATCH_SCHEMA)
        n = batch.num_rows
        if n == 0:
            return PreparedBatch(0)
        ts_col = batch.column("ts")
        ts = ts_to_us(ts_col.fill_null(0) if ts_col.null_count else ts_col)
        sid = self._sid_column(batch.column("sid"))
        vcol = batch.column("value")
        value = np.asarray((vcol.fill_null(np.nan) if vcol.null_count else vcol).to_numpy(zero_copy_only=False),
                           dtype=np.float64)
        qcol = batch.column("quality") if "quality" in batch.schema.names else None
        quality = (
            np.zeros(n, np.uint8)
            if qcol is None
            else np.asarray((qcol.fill_null(0) if qcol.null_count else qcol).to_numpy(zero_copy_only=False),
                            dtype=np.uint8)
        )
        reason = np.zeros(n, dtype=np.uint8)
        nsig = len(self._lo)
        known = self.known(sid)
        all_known = bool(known.all())
        if not all_known:
            reason[~known] = R.UNKNOWN_SIGNAL
        safe = sid if all_known else np.where(known, sid, 0)
        # Missing fields first: a null value is filled with NaN above, but it is "missing".
        if vcol.null_count:
            reason[(reason == 0) & np.asarray(vcol.is_null().to_numpy(zero_copy_only=False))] = R.MISSING_VALUE
        if ts_col.null_count:
            reason[(reason == 0) & np.asarray(ts_col.is_null().to_numpy(zero_copy_only=False))] = R.MISSING_TIMESTAMP
        if "unit" in batch.schema.names:
            value = self._convert_units(batch.column("unit"), safe, value, reason)
        now_us = _now_us()
        # One combined pass decides whether the batch is clean (the common case); only a batch
        # with a bad row pays for working out which reason applies to each row.
        if not all_known or reason.any() or not self.all_valid(ts, safe, value, now_us):
            self._reasons(ts, safe, value, reason, now_us)

        ok = reason == 0
        n_ok = int(ok.sum())
        rejects = reject_rows(self.plant.signals, batch, ~ok, reason, ts, sid, value, source) if n_ok < n else None
        counts = np.bincount(reason[~ok], minlength=len(R)) if n_ok < n else None
        errors = first_errors(rejects, np.flatnonzero(~ok)) if rejects is not None else ()
        if n_ok == 0 or (atomic and n_ok < n):
            return PreparedBatch(n, 0, n - n_ok, rejects=rejects, errors=errors, reasons=counts)
        if n_ok < n:
            ts, sid, value, quality = ts[ok], sid[ok], value[ok], quality[ok]
        rows = self._sorted_unique(ts, sid, value, quality, nsig)
        return PreparedBatch(n, n_ok, n - n_ok, rows=rows, rejects=rejects, errors=errors, reasons=counts)

    def _commit_group(self, items: list[tuple[PreparedBatch | SmallPoints, object]]) -> list[IngestResult | None]:
        """Write a group of prepared batches (on the writer thread) and run the commit hooks.

        Small requests (:meth:`submit_points`) are validated here, together; one that would
        have a rejected row gets None and is left out.
        """
        with self._lock:
            small = [i for i, (p, _) in enumerate(items) if isinstance(p, SmallPoints)]
            whole: PreparedBatch | None = None
            prepared: list[PreparedBatch | None] = [p if isinstance(p, PreparedBatch) else None for p, _ in items]
            if small:
                whole, parts = prepare_smalls(self, [cast(SmallPoints, items[i][0]) for i in small], "http")
                for i, part in zip(small, parts, strict=False):
                    prepared[i] = part
            batches = [p for p in prepared if p is not None]
            stored = self._write([*batches, whole] if whole is not None else batches)
            results: list[IngestResult | None] = [None] * len(items)
            done = iter(stored)
            for i, p in enumerate(prepared):
                if p is not None:
                    results[i] = IngestResult(p.received, p.accepted, p.rejected, next(done), errors=p.errors)
            if whole is not None:
                left = next(done)  # fewer than all only if another process wrote some meanwhile
                for i in small:
                    n = len(cast(SmallPoints, items[i][0]).sid)
                    results[i] = IngestResult(n, n, 0, min(n, left))
                    left = max(0, left - n)
            written = sum(r is not None for r in results)
            if written:  # a group of refused small requests only wrote nothing: no count
                self.group_batches.observe(written)
        return results

    def _run_hooks(
        self, items: list[tuple[PreparedBatch | SmallPoints, object]], results: list[IngestResult | None]
    ) -> None:
        """The commit hooks of a written group (the writer's second stage, see :meth:`on_commit`)."""
        written = [(tag, r) for (_, tag), r in zip(items, results, strict=True) if r is not None]
        if written:  # a group of refused small requests only wrote nothing: no audit entry
            for hook in list(self._hooks):
                hook(written)

    def _write(self, group: list[PreparedBatch]) -> list[int]:
        """Store and apply the accepted rows of ``group``; returns the rows stored per batch.

        Batches whose rows all lie after their signal's newest value and that share no
        (sid, ts) are written in one append; any other (a redelivery, late data, two
        batches with the same point) is written on its own so that its count is exact.
        """
        stored = [0] * len(group)
        fresh: list[int] = []  # batches that can go together
        alone: list[int] = []
        for i, p in enumerate(group):
            if p.rows is not None:
                _, sid, ts, _, _ = p.rows
                (fresh if bool(np.all(ts > self.ts[sid])) else alone).append(i)
        if len(fresh) > 1:
            parts = [rows for i in fresh if (rows := group[i].rows) is not None]
            counts = [rows[0].num_rows for rows in parts]
            merged = self._sorted_unique(
                np.concatenate([rows[2] for rows in parts]),
                np.concatenate([rows[1] for rows in parts]),
                np.concatenate([rows[3] for rows in parts]),
                np.concatenate([rows[4] for rows in parts]),
                len(self._lo),
            )
            if merged[0].num_rows == sum(counts):
                written = self._append(merged[0])
                left = written  # less than all only if another process wrote some meanwhile
                for i, c in zip(fresh, counts, strict=True):
                    stored[i], left = min(c, left), max(0, left - c)
                self._apply(*merged[1:])
                self._publish(merged[0])
                fresh = []
        for i in sorted(alone + fresh):
            rows = group[i].rows
            assert rows is not None
            stored[i] = self._append(rows[0])
            self._apply(*rows[1:])
            self._publish(rows[0])
        rejects = [p.rejects for p in group if p.rejects is not None]
        if rejects:
            self.store.append_quarantine(rejects[0] if len(rejects) == 1 else pa.concat_tables(rejects))
        for p in group:
            self.received_total += p.received
            self.accepted_total += p.accepted
            self.rejected_total += p.rejected
            if p.reasons is not None:
                self._rejects += p.reasons
        self.stored_total += sum(stored)
        return stored

    def _append(self, clean: pa.RecordBatch) -> int:
        """One store append, timed into ``commit_seconds`` and sized into ``commit_rows``."""
        t0 = time.perf_counter()
        written = self.store.append(clean)
        self.commit_seconds.observe(time.perf_counter() - t0)
        self.commit_rows.observe(clean.num_rows)
        return written

    def _publish(self, clean: pa.RecordBatch) -> None:
        for listener in list(self._listeners):
            listener(clean)

    def follow(self, sid: npt.ArrayLike, ts: npt.ArrayLike, value: npt.ArrayLike, quality: npt.ArrayLike) -> int:
        """Take in newest values that another process stored (a shared live source); returns how many changed.

        Only points strictly newer than the live value are kept (the rule of :meth:`_apply`);
        they are stamped with a new sequence and handed to the listeners like a stored batch,
        so websocket sessions send them as deltas. Nothing is written to the store.
        """
        s = np.asarray(sid, dtype=np.int32)
        t = np.asarray(ts, dtype=np.int64)
        keep = (s >= 0) & (s < len(self.value))
        s, t = s[keep], t[keep]
        v = np.asarray(value, dtype=np.float64)[keep]
        q = np.asarray(quality, dtype=np.uint8)[keep]
        with self._lock:
            newer = t > self.ts[s]
            if not newer.any():
                return 0
            order = np.lexsort((t[newer], s[newer]))
            s, t, v, q = s[newer][order], t[newer][order], v[newer][order], q[newer][order]
            self._apply(s, t, v, q)
            self._publish(pa.RecordBatch.from_arrays([ts_array(t), pa.array(s), pa.array(v), pa.array(q)],
                                                     schema=BATCH_SCHEMA))  # fmt: skip
        return len(np.unique(s))

    def reject(self, rows: pa.Table) -> None:
        """Quarantine observations a connector could not even map to a sid (``QUARANTINE_SCHEMA``).

        They count as rejected with the reason ``source`` (:meth:`rejects_by_reason`).
        """
        if rows.num_rows == 0:
            return
        with self._lock:
            self.store.append_quarantine(rows.cast(QUARANTINE_SCHEMA))
            self.received_total += rows.num_rows
            self.rejected_total += rows.num_rows
            self._rejects[R.OK] += rows.num_rows

    # -- internals ---------------------------------------------------------------------------
    def _convert_units(
        self,
        unit_col: pa.Array,
        sid: npt.NDArray[np.int32],
        value: npt.NDArray[np.float64],
        reason: npt.NDArray[np.uint8],
    ) -> npt.NDArray[np.float64]:
        enc = unit_col if pa.types.is_dictionary(unit_col.type) else pc.dictionary_encode(unit_col)
        src_names = [None if u is None else str(u) for u in enc.dictionary.to_pylist()]
        src_code = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        dst_code = self._unit_code[sid]
        pair = src_code * (len(self._unit_names) + 1) + dst_code
        value = value.copy()
        for p in np.unique(pair[(src_code >= 0) & (reason == 0)]):
            s, d = divmod(int(p), len(self._unit_names) + 1)
            src, dst = src_names[s], self._unit_names[d]
            rows = pair == p
            if not src or src == dst:
                continue
            if dst is None:
                reason[rows & (reason == 0)] = R.UNIT_MISMATCH
                continue
            try:
                scale, offset = conversion(src, dst)
            except UnknownUnit:
                reason[rows & (reason == 0)] = R.UNIT_MISMATCH
                continue
            value[rows] = value[rows] * scale + offset
        return value

    def _sid_column(self, col: pa.Array) -> npt.NDArray[np.int32]:
        """The sid column as int32; nulls and values outside int32 become -1 (unknown)."""
        if col.null_count:
            col = col.fill_null(-1)
        raw = col.to_numpy(zero_copy_only=False)
        if raw.dtype == np.int32:
            return np.asarray(raw)
        wide = np.asarray(raw, dtype=np.int64)  # no silent wrap-around of huge ids into valid ones
        return np.where((wide >= 0) & (wide < len(self._lo)), wide, -1).astype(np.int32)

    def known(self, sid: npt.NDArray[np.int32]) -> npt.NDArray[np.bool_]:
        """Which sids name a signal of the served model (in range, not retired by a model version)."""
        known = (sid >= 0) & (sid < len(self._lo))
        retired = self._retired
        if retired is not None:  # removed by a model version: no name maps to them, nor may a sid
            known[known] = ~retired[sid[known]]
        return known

    def all_valid(
        self, ts: npt.NDArray[np.int64], sid: npt.NDArray[np.int32], value: npt.NDArray[np.float64], now_us: int
    ) -> bool:
        """True if every row passes every check (sids already known to be valid)."""
        # np.take rather than fancy indexing: the same gather, noticeably faster.
        ok = np.isfinite(value)
        ok &= value >= np.take(self._lo, sid)
        ok &= value <= np.take(self._hi, sid)
        ok &= ts >= MIN_TS_US
        ok &= ts <= now_us + self.max_future_us
        if not ok.all():
            return False
        integral = np.take(self._integral, sid)
        if not integral.any():
            return True
        return bool(np.all((value == np.trunc(value)) | ~integral))

    def _reasons(
        self,
        ts: npt.NDArray[np.int64],
        safe: npt.NDArray[np.int32],
        value: npt.NDArray[np.float64],
        reason: npt.NDArray[np.uint8],
        now_us: int,
    ) -> None:
        """Fill in the first failing check of every row still marked valid (0)."""
        reason[(reason == 0) & np.isinf(value)] = R.INFINITE
        reason[(reason == 0) & np.isnan(value)] = R.NAN
        reason[(reason == 0) & (ts < MIN_TS_US)] = R.TOO_OLD
        reason[(reason == 0) & (ts > now_us + self.max_future_us)] = R.TOO_NEW
        kind = self._kind[safe]
        out = (value < self._lo[safe]) | (value > self._hi[safe])
        reason[(reason == 0) & out & (kind == KindCode.STATE)] = R.NOT_A_STATE
        reason[(reason == 0) & out & (kind == KindCode.BOOL)] = R.NOT_BOOLEAN
        reason[(reason == 0) & out] = R.OUT_OF_RANGE
        reason[(reason == 0) & self._integral[safe] & (value != np.round(value))] = R.NOT_INTEGER

    _sorted_unique = staticmethod(sorted_unique)

    def _apply(
        self,
        sid: npt.NDArray[np.int32],
        ts: npt.NDArray[np.int64],
        value: npt.NDArray[np.float64],
        quality: npt.NDArray[np.uint8],
    ) -> None:
        """Scatter the newest point of each signal into the live arrays (input sorted by sid, ts)."""
        last = np.ones(len(sid), dtype=bool)
        last[:-1] = sid[1:] != sid[:-1]
        s, t = sid[last], ts[last]
        # Strictly newer: a redelivered (sid, ts) keeps the first stored value, as the store does.
        newer = t > self.ts[s]
        s, t = s[newer], t[newer]
        # Stamp the signals first, publish the new sequence last: a subscriber that reads
        # ``sequence`` (on another thread) then never skips a stamp it has not yet seen.
        n = self.sequence + 1
        self.value[s] = value[last][newer]
        self.ts[s] = t
        self.quality[s] = quality[last][newer]
        self.seq[s] = n
        self.sequence = n

    def _restore(self) -> None:
        """Load the newest stored value of every signal so a restart resumes where it was."""
        latest = self.store.latest()
        if latest.num_rows == 0:
            return
        sid = np.asarray(latest.column("sid").to_numpy(), dtype=np.int32)
        keep = sid < len(self.value)
        self.value[sid[keep]] = np.asarray(latest.column("value").to_numpy())[keep]
        self.ts[sid[keep]] = ts_to_us(latest.column("ts"))[keep]
        self.quality[sid[keep]] = np.asarray(latest.column("quality").to_numpy(), dtype=np.uint8)[keep]

    # -- reading -----------------------------------------------------------------------------
    def live(self, sids: npt.NDArray[np.int32] | Sequence[int]) -> list[dict[str, object]]:
        """Current values of some signals as JSON-ready records (states by name)."""
        idx = self.plant.signals
        out: list[dict[str, object]] = []
        for s in np.asarray(sids, dtype=np.int64):
            t = int(self.ts[s])
            v = float(self.value[s])
            out.append(
                {
                    "twin": idx.twin[s],
                    "signal": idx.name[s],
                    "value": self.display_value(int(s), v),
                    "ts": None if t == NEVER else iso(t),
                    "quality": int(self.quality[s]),
                    "unit": idx.unit[s],
                }
            )
        return out

    def display_value(self, sid: int, v: float) -> object:
        """A stored float as users see it: state name, bool, int or float; None if unknown."""
        return self.plant.signals.format.value(sid, v)

    def stats(self) -> dict[str, int]:
        """Points received, accepted, rejected and stored (new rows) since start, and the sequence."""
        return {
            "received": self.received_total,
            "accepted": self.accepted_total,
            "rejected": self.rejected_total,
            "stored": self.stored_total,
            "sequence": self.sequence,
        }

    def rejects_by_reason(self) -> dict[str, int]:
        """Rejected points since start by reason (``RejectReason`` names in lower case).

        ``source`` counts the points a source rejected before the engine saw them (see
        :meth:`reject`). Every reason is present, zeros included, so no monitoring series
        appears late or disappears.
        """
        with self._lock:
            counts = self._rejects.tolist()
        return {("source" if code == R.OK else R(code).name.lower()): int(n) for code, n in enumerate(counts)}
