"""Retention per signal class on PostgreSQL: short-lived classes' rows deleted, partitions kept for the longest.

A plant may keep some signals' raw rows (or rollups) shorter than others (``retention`` in the
plant YAML, :class:`~twinverse.store.retention.RetentionPolicy`). On PostgreSQL whole
partitions are dropped (:mod:`~twinverse.store.pgpartition`) and rollups deleted by bucket
(:mod:`~twinverse.store.pgrollup`) once *every* signal's retention has passed — the longest
one (:func:`longest_days`) — and :class:`PgRetention` deletes, every round of the history job,
the rows of the classes kept shorter: one ``DELETE … WHERE sid = ANY(…) AND ts < …`` per class,
not per signal. Several processes may run the job on one database: an advisory lock lets one
round at a time do the work.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..core.clock import from_us
from ..errors import StoreError
from .retention import KEEP_ALL, RetentionPolicy

try:
    import psycopg
    from psycopg import sql
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise StoreError("PostgreSQL retention needs psycopg: pip install 'twinverse[postgres]'") from exc

__all__ = ["PgRetention", "longest_days", "uniform"]


def longest_days(policy: RetentionPolicy, rollups: bool) -> float:
    """The longest retention of any signal, in days (0: some signal keeps for ever)."""
    keep = policy.rollup_s if rollups else policy.raw_s
    if keep.size == 0:
        return (policy.default_rollup_s if rollups else policy.default_raw_s) / 86_400
    return 0.0 if bool((keep == 0).any()) else float(keep.max()) / 86_400


def uniform(policy: RetentionPolicy) -> bool:
    """Whether every signal keeps its rows as long as the others (then partitions and rollups alone do it)."""
    return all(keep.size == 0 or bool((keep == keep[0]).all()) for keep in (policy.raw_s, policy.rollup_s))


class PgRetention:
    """The history job's store on PostgreSQL: nothing to move, the shorter classes to delete."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def archive(self, before_us: int) -> list[Any]:
        return []  # PostgreSQL history is not moved anywhere (pg_partition drops old partitions)

    def expire(self, policy: RetentionPolicy, now_us: int) -> dict[str, int]:
        """Delete the rows of every class whose retention is shorter than the longest; counts of what went."""
        out = {"raw_rows": 0, "rollup_rows": 0}
        try:
            with psycopg.connect(self.store.url) as con, con.transaction():
                got = con.execute("SELECT pg_try_advisory_xact_lock(hashtext('twinverse.retention'))").fetchone()
                if not (got and got[0]):
                    return out  # another process is at it
                cut, _ = policy.cutoffs(False, now_us)
                out["raw_rows"] = _delete(con, "points", "ts", cut, _floor(policy, False, now_us))
                if getattr(self.store, "rollups", None) is not None:
                    cut, _ = policy.cutoffs(True, now_us)
                    for table in ("rollup_1m", "rollup_1h"):
                        out["rollup_rows"] += _delete(con, table, "bucket", cut, _floor(policy, True, now_us))
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL retention failed: {exc}") from exc
        return out


def _floor(policy: RetentionPolicy, rollups: bool, now_us: int) -> int:
    """The cutoff of the longest class: those rows go with their partitions (or the rollup delete), not here."""
    days = longest_days(policy, rollups)
    return KEEP_ALL if days == 0 else now_us - int(days * 86_400e6)


def _delete(con: psycopg.Connection[Any], table: str, column: str, cut: npt.NDArray[np.int64], floor: int) -> int:
    rows = 0
    for c in np.unique(cut):
        if c == KEEP_ALL or c <= floor:  # kept for ever, or the longest class (dropped by partition)
            continue
        sids = np.flatnonzero(cut == c).astype(np.int64).tolist()
        query = sql.SQL("DELETE FROM {} WHERE sid = ANY(%s) AND {} < %s").format(sql.Identifier(table),
                                                                                sql.Identifier(column))  # fmt: skip
        rows += con.execute(query, (sids, from_us(int(c)))).rowcount
    return rows
