"""The run's job: the watchdog's start deadline, the lookup after a throttled SubmitJob, and
the run's own deadline. Batch's answers come from botocore's Stubber (DescribeJobs shapes of
the ``batch`` service model), since moto's Batch runs no jobs without Docker."""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from batchscratch import aws as layer_aws
from batchscratch.compute import Names, job_state_time_limit_actions
from batchscratch.config import CommonConfig
from batchscratch.errors import JobFailed, JobNotSubmitted, JobStartTimeout, RunTimeout
from batchscratch.job import MAX_RESUBMISSIONS, check_job_start, find_run_job, watch_wait_seconds
from batchscratch.run import iso_of, run_seconds_left
from batchscratch.state import RunState
from tests.conftest import load_event

JOB_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
CAPACITY = (
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested "
    "for instance type c7g.8xlarge"
)


def state() -> RunState:
    return RunState.model_validate(load_event("check_job_start"))


def job_detail(
    event: dict[str, Any],
    status: str,
    *,
    created_ago: float = 10,
    started: bool = False,
    reason: str | None = None,
    attempts: int = 0,
    summary: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A DescribeJobs ``JobDetail`` of the run's job (times in epoch ms). botocore's model
    marks ``startedAt`` required, so a job that has not started gets 0 (Batch leaves it out;
    the code reads the status and the attempts instead)."""
    names = Names.of(RunState.model_validate(event).run)
    now = time.time()
    detail: dict[str, Any] = {
        "jobName": names.job,
        "jobId": JOB_ID,
        "jobQueue": event["computeStatus"]["jobQueueArn"],
        "status": status,
        "createdAt": int((now - created_ago) * 1000),
        "jobDefinition": event["compute"]["jobDefinitionArn"],
        "attempts": [
            {"startedAt": int((now - 5) * 1000), "stoppedAt": int(now * 1000)}
            for _ in range(attempts)
        ],
    }
    detail["startedAt"] = int((now - 5) * 1000) if started else 0
    if reason:
        detail["statusReason"] = reason
    if summary is not None:
        detail["arrayProperties"] = {"statusSummary": summary, "size": sum(summary.values())}
    return detail


def running_job(event: dict[str, Any]) -> dict[str, Any]:
    """The run's job, RUNNING."""
    return job_detail(event, "RUNNING", started=True)


def job_summary(detail: dict[str, Any]) -> dict[str, Any]:
    """The ListJobs ``JobSummary`` of ``detail``."""
    return {"jobId": detail["jobId"], "jobName": detail["jobName"], "status": detail["status"]}


@pytest.fixture
def batch(monkeypatch) -> Iterator[Stubber]:
    layer_aws.reset_clients()
    with Stubber(layer_aws.client("batch")) as stub:
        yield stub
        stub.assert_no_pending_responses()
    layer_aws.reset_clients()


def answer(stub: Stubber, detail: dict[str, Any] | None) -> None:
    """Batch lists the run's job by name in its own queue, then describes it."""
    run = state().run
    names = Names.of(run)
    listed = [] if detail is None else [job_summary(detail)]
    stub.add_response(
        "list_jobs",
        {"jobSummaryList": listed},
        {"jobQueue": names.job_queue, "filters": [{"name": "JOB_NAME", "values": [names.job]}]},
    )
    if detail is not None:
        stub.add_response("describe_jobs", {"jobs": [detail]}, {"jobs": [JOB_ID]})


def config(**keys: Any) -> CommonConfig:
    return state().run_config().model_copy(update=keys)


def test_a_job_runnable_past_its_deadline_is_terminated_and_named(batch):
    event = load_event("check_job_start")
    answer(batch, job_detail(event, "RUNNABLE", created_ago=3700, reason=CAPACITY))
    batch.add_response(
        "terminate_job",
        {},
        {
            "jobId": JOB_ID,
            "reason": "JobStartTimeout: not started within jobStartTimeoutSeconds = 3600 s",
        },
    )

    with pytest.raises(JobStartTimeout) as raised:
        check_job_start(state().run, config(), None)

    message = str(raised.value)
    assert "jobStartTimeoutSeconds = 3600 s" in message
    assert JOB_ID in message
    assert message.endswith(f"Batch's status reason: {CAPACITY}")


def test_instances_that_keep_terminating_show_no_reason_and_are_named_so(batch):
    event = load_event("check_job_start")
    answer(batch, job_detail(event, "RUNNABLE", created_ago=700))
    batch.add_response("terminate_job", {})

    with pytest.raises(JobStartTimeout, match="Batch gave no status reason"):
        check_job_start(state().run, config(jobStartTimeoutSeconds=600), None)


def test_a_job_runnable_within_its_deadline_is_waited_for(batch):
    event = load_event("check_job_start")
    answer(batch, job_detail(event, "RUNNABLE", created_ago=3500, reason=CAPACITY))

    result = check_job_start(state().run, config(), None)

    assert (result.done, result.started, result.status) == (False, False, "RUNNABLE")


@pytest.mark.parametrize(
    ("status", "started", "summary"),
    [
        ("RUNNING", True, None),
        ("STARTING", False, None),
        ("SUCCEEDED", True, None),
        ("PENDING", False, {"RUNNABLE": 3, "RUNNING": 1}),
    ],
    ids=["running", "starting", "succeeded", "array-child-running"],
)
def test_a_job_that_started_ends_the_watch_however_late(batch, status, started, summary):
    event = load_event("check_job_start")
    answer(batch, job_detail(event, status, created_ago=90000, started=started, summary=summary))

    result = check_job_start(state().run, config(), None)

    assert result.done and result.jobId == JOB_ID


def test_a_job_that_failed_before_it_started_ends_the_watch(batch):
    event = load_event("check_job_start")
    answer(batch, job_detail(event, "FAILED", created_ago=700, reason="Cancelled by queue"))

    result = check_job_start(state().run, config(jobStartTimeoutSeconds=600), None)

    assert (result.done, result.started) == (True, False)


def test_no_job_yet_is_waited_for_but_not_beyond_the_deadline(batch):
    answer(batch, None)
    answer(batch, None)
    first = check_job_start(state().run, config(), None)
    assert (first.done, first.jobId) == (False, None)

    long_ago = iso_of(time.time() - 3700)
    with pytest.raises(JobStartTimeout, match="No job of run run-0001 appeared"):
        check_job_start(state().run, config(), {"waitingSince": long_ago})


def test_no_job_after_a_throttled_submit_asks_for_a_growing_resubmission(batch):
    for _ in range(3):
        answer(batch, None)
    waits = []
    previous = None
    for _ in range(3):
        result = find_run_job(state().run, config(), previous, "Batch.TooManyRequestsException")
        previous = result.model_dump()
        waits.append((result.found, result.resubmissions, result.waitSeconds))

    assert waits == [(False, 1, 10), (False, 2, 20), (False, 3, 40)]


def test_resubmission_is_bounded(batch):
    answer(batch, None)
    previous = {"resubmissions": MAX_RESUBMISSIONS, "waitingSince": iso_of(time.time())}

    with pytest.raises(JobNotSubmitted, match=r"Batch\.TooManyRequestsException: throttled"):
        find_run_job(state().run, config(), previous, "Batch.TooManyRequestsException: throttled")


def test_a_found_job_is_followed_to_its_end(batch):
    event = load_event("find_run_job")
    answer(batch, job_detail(event, "RUNNING", started=True))
    answer(batch, job_detail(event, "SUCCEEDED", started=True, attempts=2))

    following = find_run_job(state().run, config(), None, None)
    ended = find_run_job(state().run, config(), following.model_dump(), None)

    assert (following.found, following.ended, following.resubmissions) == (True, False, 0)
    assert following.waitSeconds == 30  # waitForComputeSeconds, then growing
    assert (ended.ended, ended.status, ended.attempts, ended.jobId) == (
        True,
        "SUCCEEDED",
        2,
        JOB_ID,
    )


def test_a_job_of_days_is_looked_at_less_and_less_often(batch):
    event = load_event("find_run_job")
    waits = []
    previous = None
    for _ in range(7):
        answer(batch, job_detail(event, "RUNNING", started=True))
        previous = find_run_job(state().run, config(), previous, None).model_dump()
        waits.append(previous["waitSeconds"])

    # The 7-day run limit (RUN_TIMEOUT_SECONDS 604800) in at most FOLLOW_PASSES = 400 looks:
    # the waits double up to 604800 / 400 = 1512 s.
    assert waits == [30, 60, 120, 240, 480, 960, 1512]


def test_a_found_job_that_failed_fails_the_run(batch):
    event = load_event("find_run_job")
    answer(batch, job_detail(event, "FAILED", started=True, attempts=1, reason="Exit 2"))

    with pytest.raises(JobFailed, match="FAILED after 1 attempt\\(s\\): Exit 2"):
        find_run_job(state().run, config(), None, None)


def test_a_found_job_gets_the_same_start_deadline(batch):
    event = load_event("find_run_job")
    answer(batch, job_detail(event, "RUNNABLE", created_ago=3700, reason=CAPACITY))
    batch.add_response("terminate_job", {})

    with pytest.raises(JobStartTimeout, match="CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"):
        find_run_job(state().run, config(), None, None)


def test_a_followed_job_past_the_run_deadline_is_terminated(batch, monkeypatch):
    event = load_event("find_run_job")
    answer(batch, job_detail(event, "RUNNING", started=True))
    batch.add_response(
        "terminate_job",
        {},
        {"jobId": JOB_ID, "reason": "RunTimeout: the run outlived RUN_TIMEOUT_SECONDS"},
    )
    monkeypatch.setenv("RUN_TIMEOUT_SECONDS", "3600")  # the sample run started long ago

    with pytest.raises(RunTimeout, match="RUN_TIMEOUT_SECONDS = 3600 s"):
        find_run_job(state().run, config(), None, None)


def test_the_job_gets_the_time_left_until_the_run_deadline(monkeypatch):
    run = state().run.model_copy(update={"startedAt": iso_of(time.time() - 1000)})
    monkeypatch.setenv("RUN_TIMEOUT_SECONDS", "4600")
    assert 3598 <= run_seconds_left(run) <= 3600
    monkeypatch.setenv("RUN_TIMEOUT_SECONDS", "600")
    assert run_seconds_left(run) == 60


@pytest.mark.parametrize(("start", "queue"), [(60, 600), (3600, 3900), (86400, 86400)])
def test_the_queue_cancels_jobs_stuck_for_a_supported_reason_as_a_backstop(start, queue):
    actions = job_state_time_limit_actions(config(jobStartTimeoutSeconds=start))

    assert {a["reason"] for a in actions} == {
        "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
        "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
        "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
    }
    assert {(a["state"], a["action"], a["maxTimeSeconds"]) for a in actions} == {
        ("RUNNABLE", "CANCEL", queue)
    }


@pytest.mark.parametrize(
    ("interval", "left", "wait"),
    [(30, 3000.0, 30), (3600, 60.0, 61), (3600, 0.2, 2), (900, -5.0, 1), (0, 500.0, 1)],
)
def test_the_watchdog_never_waits_past_the_start_deadline(interval, left, wait):
    settings = config().model_copy(update={"waitForComputeSeconds": interval})

    assert watch_wait_seconds(settings, left) == wait
