"""SimRunner: jobs finish with the same results as a direct run, cancel, fail with their error, stay bounded."""

from __future__ import annotations

import doctest
import time

import pytest

from twinverse.config import Settings
from twinverse.errors import EventLimitError, NotFoundError, RunConfigError, TooManyRequests
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


def test_options_over_a_limit_are_refused_naming_the_field() -> None:
    with SimRunner(max_until=1e6, max_reps=10) as runner:
        with pytest.raises(RunConfigError) as err:
            runner.submit(LINE, RunConfig(until=1e300, reps=1000))
        assert str(err.value) == "until: 1e+300 is above the limit of 1e+06 model time units"
        assert [str(p) for p in err.value.details] == [
            "until: 1e+300 is above the limit of 1e+06 model time units",
            "reps: 1000 is above the limit of 10 replications",
        ]
        with pytest.raises(RunConfigError, match=r"^warmup: 2e\+06 is above the limit of 1e\+06 model time units$"):
            runner.submit(LINE, RunConfig(parts=10, warmup=2e6))
        assert runner.jobs() == []  # nothing was queued
        ok = runner.submit(LINE, RunConfig(until=1e6, reps=10, warmup=10))
        assert runner.wait(ok.id, 60).status is JobStatus.DONE


def test_the_queue_is_bounded_in_total_and_per_tenant() -> None:
    with SimRunner(max_concurrent=1, max_queued=3, max_queued_per_tenant=2) as runner:
        running = runner.submit(LINE, LONG, tenant="a")
        wait_status(runner, running.id, JobStatus.RUNNING)
        a1, a2 = runner.submit(LINE, LONG, tenant="a"), runner.submit(LINE, LONG, tenant="a")
        with pytest.raises(TooManyRequests) as err:
            runner.submit(LINE, LONG, tenant="a")
        assert str(err.value) == ("the simulation queue of tenant 'a' is full (2 of at most 2 runs waiting); "
                                  "try again later")
        assert err.value.retry_after == 10 and err.value.status == 429
        b1 = runner.submit(LINE, LONG, tenant="b")  # another tenant's queue has room
        full = r"^the simulation queue is full \(3 of at most 3 runs waiting\); try again later$"
        with pytest.raises(TooManyRequests, match=full):
            runner.submit(LINE, LONG, tenant="c")
        runner.cancel(a1.id)  # a cancelled job waits no more
        a3 = runner.submit(LINE, LONG, tenant="a")
        assert [(j.id, j.status, j.tenant) for j in runner.jobs()] == [
            (a3.id, JobStatus.QUEUED, "a"), (b1.id, JobStatus.QUEUED, "b"), (a2.id, JobStatus.QUEUED, "a"),
            (a1.id, JobStatus.CANCELLED, "a"), (running.id, JobStatus.RUNNING, "a"),
        ]


def test_a_job_over_its_event_budget_fails_with_the_reason() -> None:
    with SimRunner(max_events=50_000) as runner:
        job = runner.wait(runner.submit(LINE, RunConfig(parts=10_000, reps=3)).id, 60)
        small = runner.wait(runner.submit(LINE, RunConfig(parts=1_000, reps=3)).id, 60)
    assert job.status is JobStatus.FAILED and job.result is None
    assert job.error == ("the run was stopped after 50001 events, above its limit of 50000 events; "
                         "shorten the horizon (until), or ask for fewer parts or replications")
    assert small.status is JobStatus.DONE and small.result is not None
    assert sum(r.events for r in small.result.reps) <= 50_000


@pytest.mark.parametrize("method", ["engine", "auto"])
def test_the_event_budget_counts_every_replication(method: str) -> None:
    two = sum(r.events for r in run_scenario(LINE, RunConfig(parts=2_000, reps=2, method=method)).reps)
    run_scenario(LINE, RunConfig(parts=2_000, reps=2, method=method), max_events=two)  # just fits
    with pytest.raises(EventLimitError) as err:
        run_scenario(LINE, RunConfig(parts=2_000, reps=3, method=method), max_events=two)
    assert err.value.limit == two and err.value.events > two


def test_a_fast_path_job_can_be_cancelled() -> None:
    with SimRunner() as runner:
        job = runner.submit(LINE, RunConfig(parts=100_000_000, method="auto"))
        wait_status(runner, job.id, JobStatus.RUNNING)
        time.sleep(0.3)
        runner.cancel(job.id)
        done = runner.wait(job.id, 30)
    assert done.status is JobStatus.CANCELLED and done.error == "cancelled"


def test_limits_come_from_the_settings() -> None:
    s = Settings(sim_max_concurrent=3, sim_max_kept=7, sim_max_queued=4, sim_max_queued_per_tenant=1,
                 sim_max_until=5.0, sim_max_reps=6, sim_max_events=8)
    r = SimRunner.from_settings(s)
    assert (r.max_concurrent, r.max_kept, r.max_queued, r.max_queued_per_tenant, r.max_until, r.max_reps,
            r.max_events) == (3, 7, 4, 1, 5.0, 6, 8)


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
