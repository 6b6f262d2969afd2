"""Simulation jobs run in the background: submit, follow progress, cancel, fetch results.

:class:`SimRunner` is the service behind ``/api/sim/runs``; the platform owns one, starts it
with itself and closes it when it stops (cancelling what still runs). Jobs run on a small
thread pool (the compiled kernel releases the GIL), at most ``max_concurrent`` at a time;
the runner keeps the newest ``max_kept`` finished jobs in memory.

Every resource a job can take is bounded (settings ``sim_max_*``, see
:meth:`SimRunner.from_settings`): waiting jobs, in total and per tenant (a full queue is
:class:`~twinverse.errors.TooManyRequests`, 429 with ``Retry-After``); the horizon, warm-up
and replications of a job (:class:`~twinverse.errors.RunConfigError` naming the field, at
submission); and the events a job may process (the kernel stops it, and the job fails with
an :class:`~twinverse.errors.EventLimitError`).

A job is a frozen :class:`SimJob` record: every change (started, progress, done) replaces
the record, so a reader always sees one consistent version of it.

    >>> from twinverse.sim import RunConfig, loads_network
    >>> net = loads_network('''
    ... simulation:
    ...   sources: {supply: {saturated: true, to: m}}
    ...   stations: {m: {process: 1, to: out}}
    ...   sinks: [out]
    ... ''')
    >>> with SimRunner() as runner:
    ...     job = runner.wait(runner.submit(net, RunConfig(until=100, reps=2)).id)
    >>> job.status, job.result is not None and job.result.throughput.mean
    (<JobStatus.DONE: 'done'>, 1.0)
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from types import TracebackType
from typing import Any

from ..config import Settings
from ..errors import Location, NotFoundError, Problem, RunConfigError, TooManyRequests
from .network import Network
from .results import ScenarioResult
from .runconfig import InitialState, RunConfig
from .scenario import run_scenario

__all__ = ["JobStatus", "SimJob", "SimRunner"]

#: Jobs run at the same time by default (each takes a core while it runs).
DEFAULT_MAX_CONCURRENT = 2
#: Finished jobs kept in memory by default (older ones are forgotten first).
DEFAULT_MAX_KEPT = 200
#: Seconds a client refused for a full queue is asked to wait (``Retry-After``).
RETRY_AFTER = 10

_STOPPED = "the server stopped during the run"


class JobStatus(StrEnum):
    """Where a job is in its life: queued → running → done | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """True once the job will not change any more."""
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True)
class SimJob:
    """One simulation job as it stands; ``request`` and ``snapshot`` are the caller's, kept as given."""

    id: str
    name: str
    status: JobStatus
    progress: float
    created: datetime
    started: datetime | None = None
    finished: datetime | None = None
    error: str | None = None
    result: ScenarioResult | None = None
    request: Any = None
    snapshot: dict[str, Any] | None = None
    tenant: str | None = None


class _Cancelled(Exception):
    """Raised inside a job's progress callback to stop it (cancel, or the runner closing)."""


class SimRunner:
    """Runs simulation jobs on a thread pool; thread-safe (workers update, requests read)."""

    def __init__(
        self,
        *,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
        max_kept: int = DEFAULT_MAX_KEPT,
        max_queued: int | None = None,
        max_queued_per_tenant: int | None = None,
        max_until: float | None = None,
        max_reps: int | None = None,
        max_events: int | None = None,
    ) -> None:
        """``None`` leaves a limit off (library use); the platform builds its runner with :meth:`from_settings`."""
        if max_concurrent < 1 or max_kept < 1:
            raise ValueError("max_concurrent and max_kept must be >= 1")
        self.max_concurrent = max_concurrent
        self.max_kept = max_kept
        self.max_queued = max_queued
        self.max_queued_per_tenant = max_queued_per_tenant
        self.max_until = max_until
        self.max_reps = max_reps
        self.max_events = max_events
        self._lock = threading.Condition()
        self._jobs: dict[str, SimJob] = {}
        self._cancel: dict[str, str] = {}  # job id -> why it is to stop
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        self.submitted = 0  # jobs ever submitted (kept or forgotten): a monotonic counter

    @classmethod
    def from_settings(cls, settings: Settings) -> SimRunner:
        """A runner with the limits of ``settings`` (``sim_max_*``)."""
        return cls(max_concurrent=settings.sim_max_concurrent, max_kept=settings.sim_max_kept,
                   max_queued=settings.sim_max_queued, max_queued_per_tenant=settings.sim_max_queued_per_tenant,
                   max_until=settings.sim_max_until, max_reps=settings.sim_max_reps,
                   max_events=settings.sim_max_events)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the thread pool (submit also opens it on first use)."""
        with self._lock:
            if self._pool is None:
                self._closed = False
                self._pool = ThreadPoolExecutor(max_workers=self.max_concurrent, thread_name_prefix="twinverse-sim")

    def close(self) -> None:
        """Cancel queued and running jobs and stop the pool, without waiting for running jobs to notice."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            for job in self._jobs.values():
                if not job.status.finished:
                    self._cancel[job.id] = _STOPPED
                if job.status is JobStatus.QUEUED:
                    self._set(job.id, status=JobStatus.CANCELLED, error=_STOPPED, finished=datetime.now(UTC))
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> SimRunner:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- jobs ------------------------------------------------------------------------------------
    def submit(self, net: Network, config: RunConfig, *, initial: InitialState | None = None,
               name: str | None = None, request: Any = None, snapshot: dict[str, Any] | None = None,
               tenant: str | None = None) -> SimJob:
        """Queue a run of ``config.reps`` replications of ``net``; returns the queued job.

        ``name`` names the scenario in the result; ``{id}`` in it stands for the job id
        (default ``run-{id}``). ``tenant`` is whose queue the job waits in.
        :class:`~twinverse.errors.RunConfigError` if ``config`` is over a limit,
        :class:`~twinverse.errors.TooManyRequests` if the queue is full.
        """
        self.check(config)
        jid = uuid.uuid4().hex[:12]
        job = SimJob(jid, (name or "run-{id}").replace("{id}", jid), JobStatus.QUEUED, 0.0, datetime.now(UTC),
                     request=request, snapshot=snapshot, tenant=tenant)
        with self._lock:
            if self._closed:
                raise RuntimeError("the simulation runner is closed")
            self._check_queue(tenant)
            if self._pool is None:
                self.start()
            assert self._pool is not None
            self._jobs[jid] = job
            self.submitted += 1
            self._evict()
            self._pool.submit(self._work, jid, net, config, initial)
        return job

    def check(self, config: RunConfig) -> None:
        """:class:`~twinverse.errors.RunConfigError` naming the field if ``config`` is over a limit."""
        over: list[Problem] = []
        for fld, value, limit, what in (
            ("until", config.until, self.max_until, " model time units"),
            ("warmup", config.warmup, self.max_until, " model time units"),
            ("reps", config.reps, self.max_reps, " replications"),
        ):
            if value is not None and limit is not None and value > limit:
                over.append(Problem(f"{value:g} is above the limit of {limit:g}{what}", Location(path=fld)))
        if over:
            raise RunConfigError(str(over[0]), details=over)

    def _check_queue(self, tenant: str | None) -> None:
        """Refuse a new job if the queue is full (call with the lock held)."""
        # Queued jobs that a free worker is about to pick up (the pool is FIFO) are not waiting.
        queued = [j for j in self._jobs.values() if j.status is JobStatus.QUEUED]  # submission order
        running = sum(j.status is JobStatus.RUNNING for j in self._jobs.values())
        free = max(self.max_concurrent - running, 0)
        if len(queued) < free:
            return  # the new job starts at once
        waiting = queued[free:]
        if self.max_queued is not None and len(waiting) >= self.max_queued:
            raise TooManyRequests(f"the simulation queue is full ({len(waiting)} of at most {self.max_queued} "
                                  "runs waiting); try again later", retry_after=RETRY_AFTER)
        mine = sum(j.tenant == tenant for j in waiting)
        if self.max_queued_per_tenant is not None and mine >= self.max_queued_per_tenant:
            raise TooManyRequests(f"the simulation queue of tenant {tenant!r} is full ({mine} of at most "
                                  f"{self.max_queued_per_tenant} runs waiting); try again later",
                                  retry_after=RETRY_AFTER)

    def get(self, job_id: str) -> SimJob:
        """The job as it stands now; :class:`~twinverse.errors.NotFoundError` if there is none."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no simulation run {job_id!r}")
        return job

    def jobs(self) -> list[SimJob]:
        """Every kept job, newest first."""
        with self._lock:
            return list(reversed(self._jobs.values()))  # kept in submission order

    def counts(self) -> dict[JobStatus, int]:
        """Kept jobs by status, every status present (finished jobs beyond ``max_kept`` are forgotten)."""
        with self._lock:
            out = dict.fromkeys(JobStatus, 0)
            for job in self._jobs.values():
                out[job.status] += 1
            return out

    def cancel(self, job_id: str) -> SimJob:
        """Ask a job to stop: a queued job is cancelled at once, a running one at its next progress report.

        Cancelling a finished job changes nothing; the job is returned as it stands.
        """
        with self._lock:
            job = self.get(job_id)
            if job.status is JobStatus.QUEUED:
                job = self._set(job_id, status=JobStatus.CANCELLED, error="cancelled", finished=datetime.now(UTC))
            elif job.status is JobStatus.RUNNING:
                self._cancel[job_id] = "cancelled"
            return job

    def wait(self, job_id: str, timeout: float | None = None) -> SimJob:
        """Block until the job has finished (or ``timeout`` seconds passed); returns it as it stands."""
        with self._lock:
            self._lock.wait_for(lambda: self.get(job_id).status.finished, timeout)
            return self.get(job_id)

    # -- inside -----------------------------------------------------------------------------------
    def _set(self, job_id: str, **changes: Any) -> SimJob:
        """Replace a job's record (call with the lock held) and wake waiters."""
        job = replace(self._jobs[job_id], **changes)
        self._jobs[job_id] = job
        self._lock.notify_all()
        return job

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            if job_id in self._jobs:
                self._set(job_id, **changes)

    def _evict(self) -> None:
        """Forget the oldest finished jobs beyond ``max_kept`` (jobs still to finish are kept)."""
        extra = len(self._jobs) - self.max_kept
        if extra <= 0:
            return
        done = [j for j in self._jobs.values() if j.status.finished]  # oldest first (submission order)
        for j in done[:extra]:
            del self._jobs[j.id]
            self._cancel.pop(j.id, None)

    def _progress(self, job_id: str, fraction: float) -> None:
        with self._lock:
            if job_id in self._cancel:
                raise _Cancelled(self._cancel[job_id])
            if job_id in self._jobs:
                self._set(job_id, progress=round(fraction, 4))

    def _work(self, job_id: str, net: Network, config: RunConfig, initial: InitialState | None) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status is not JobStatus.QUEUED:
                return  # cancelled (or forgotten) before it started
            if job_id in self._cancel:
                self._set(job_id, status=JobStatus.CANCELLED, error=self._cancel[job_id], finished=datetime.now(UTC))
                return
            self._set(job_id, status=JobStatus.RUNNING, started=datetime.now(UTC))
        try:
            res = run_scenario(net, config, name=job.name, initial=initial, max_events=self.max_events,
                               progress=lambda f: self._progress(job_id, f))
        except _Cancelled as exc:
            self._update(job_id, status=JobStatus.CANCELLED, error=str(exc), finished=datetime.now(UTC))
        except Exception as exc:  # a failed run is reported on the job, never lost
            self._update(job_id, status=JobStatus.FAILED, error=str(exc), finished=datetime.now(UTC))
        else:
            with self._lock:
                # A cancel that came after the last progress report is too late: the run is done.
                self._cancel.pop(job_id, None)
                if job_id in self._jobs:
                    self._set(job_id, status=JobStatus.DONE, progress=1.0, result=res, finished=datetime.now(UTC))
