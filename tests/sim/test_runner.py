"""SimRunner: jobs finish with the same results as a direct run, cancel, fail with their error, stay bounded."""

from __future__ import annotations

import doctest
import time

import pytest

from twinverse.errors import NotFoundError
from twinverse.sim import RunConfig
from twinverse.sim.runner import JobStatus, SimRunner
from twinverse.sim.scenario import run_scenario

from .conftest import line, model

LINE = line([1.0, 1.2, 0.9], [3, 3])
LONG = RunConfig(parts=100_000_000, method="engine")  # never finishes in a test: cancelled instead

DEADLOCK = model("""
sources: {s: {saturated: true, to: m1}}
buffers: {b1: {capacity: 1}}
stations:
  m1: {process: {dist: exponential, mean: 1}, to: b1}
  m2: {from: b1, process: {dist: exponential, mean: 1}, rework: {probability: 0.6, to: m1}, to: out}
sinks: [out]
""")


def wait_status(runner: SimRunner, jid: str, status: JobStatus) -> None:
    for _ in range(2000):
        if runner.get(jid).status is status:
            return
        time.sleep(0.005)
    raise AssertionError(f"job {jid} never reached {status}")


def test_a_job_gives_the_result_of_a_direct_run_with_the_same_seed() -> None:
    cfg = RunConfig(until=2_000, warmup=100, reps=3, seed=11)
    with SimRunner() as runner:
        queued = runner.submit(LINE, cfg, name="base", request={"who": "test"})
        assert queued.status is JobStatus.QUEUED and queued.progress == 0.0 and queued.result is None
        job = runner.wait(queued.id)
    assert job.status is JobStatus.DONE and job.progress == 1.0 and job.error is None
    assert job.request == {"who": "test"} and job.started is not None and job.finished is not None
    assert job.created <= job.started <= job.finished
    assert job.result is not None
    assert job.result.to_dict(replications=True) == run_scenario(LINE, cfg, name="base").to_dict(replications=True)


def test_the_name_may_hold_the_job_id() -> None:
    with SimRunner() as runner:
        job = runner.wait(runner.submit(LINE, RunConfig(until=10), name="live-{id}").id)
    assert job.name == f"live-{job.id}" and job.result is not None and job.result.name == job.name


def test_cancel_a_running_and_a_queued_job() -> None:
    with SimRunner(max_concurrent=1) as runner:
        first = runner.submit(LINE, LONG)
        second = runner.submit(LINE, LONG)
        wait_status(runner, first.id, JobStatus.RUNNING)
        assert runner.get(second.id).status is JobStatus.QUEUED  # one at a time
        cancelled = runner.cancel(second.id)
        assert cancelled.status is JobStatus.CANCELLED  # at once: it never started
        runner.cancel(first.id)
        job = runner.wait(first.id)
        assert job.status is JobStatus.CANCELLED and job.error == "cancelled" and job.result is None
        assert 0.0 <= job.progress < 1.0
        assert runner.cancel(first.id) == job  # cancelling a finished job changes nothing
        # the pool is free again: a new job runs
        assert runner.wait(runner.submit(LINE, RunConfig(until=10)).id).status is JobStatus.DONE


def test_a_failing_job_reports_its_error() -> None:
    with SimRunner() as runner:
        job = runner.wait(runner.submit(DEADLOCK, RunConfig(parts=1_000_000, seed=17)).id)
    assert job.status is JobStatus.FAILED and job.result is None
    assert job.error is not None and job.error.startswith("deadlock at t=")


def test_closing_cancels_what_still_runs_and_refuses_new_jobs() -> None:
    runner = SimRunner(max_concurrent=1)
    running = runner.submit(LINE, LONG)
    queued = runner.submit(LINE, LONG)
    wait_status(runner, running.id, JobStatus.RUNNING)
    runner.close()
    assert runner.get(queued.id).status is JobStatus.CANCELLED
    job = runner.wait(running.id)
    assert job.status is JobStatus.CANCELLED and job.error == "the server stopped during the run"
    with pytest.raises(RuntimeError, match="closed"):
        runner.submit(LINE, LONG)


def test_the_job_list_is_bounded_and_newest_first() -> None:
    with SimRunner(max_kept=3) as runner:
        ids = [runner.wait(runner.submit(LINE, RunConfig(until=5, seed=i)).id).id for i in range(5)]
        kept = runner.jobs()
    assert [j.id for j in kept] == ids[:1:-1]  # the newest three, newest first
    with pytest.raises(NotFoundError):
        runner.get(ids[0])


def test_unknown_jobs_are_not_found() -> None:
    with SimRunner() as runner, pytest.raises(NotFoundError, match="no simulation run 'nope'"):
        runner.cancel("nope")


def test_status_lifecycle() -> None:
    assert [s.value for s in JobStatus] == ["queued", "running", "done", "failed", "cancelled"]
    assert {s for s in JobStatus if s.finished} == {JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED}


def test_docstring_examples() -> None:
    from twinverse.sim import runner, states

    for mod in (runner, states):
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0, mod.__name__
