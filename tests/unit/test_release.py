"""The release workflow's steps: a run is released pass by pass, knows its job's outcome from
Batch, never deletes results that may exist only on its storage, and reports what it keeps."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from batchscratch import aws as layer_aws
from batchscratch import release as release_module
from batchscratch.compute import Names
from batchscratch.errors import CleanupTimeout
from batchscratch.history import RELEASE_MAX_PASSES, RELEASE_MIN_PASSES
from batchscratch.release import read_job_outcome, release_config, release_pass
from batchscratch.run import TAG_EXECUTION, TAG_RETAINED, Run, now_iso
from functions.check_compute import app as check_compute
from functions.create_volume import app as create_volume
from functions.prepare_compute import app as prepare_compute
from functions.release_run import app as release_run
from functions.retain_run import app as retain_run
from tests.conftest import load_event
from tests.unit.test_compute import assert_no_compute_left
from tests.unit.test_file_system import (  # fake_fsx: a fixture
    FS_ID,
    association,
    fake_fsx,  # noqa: F401
    file_system,
    task,
)

PASSES = 20
"""More passes than any release here needs (moto detaches and snapshots at once)."""


@pytest.fixture
def aborted_run(network, state, lambda_context):
    """A run left mid-job: volume, launch template, compute environment, queue, definition."""
    state = state | {"volume": create_volume.lambda_handler(state, lambda_context)}
    state = state | {"compute": prepare_compute.lambda_handler(state, lambda_context)}
    check_compute.lambda_handler(state, lambda_context)
    return state


def release_event(**error: str) -> dict[str, Any]:
    event = load_event("release_run")
    if error:
        event["error"] = error
    return event


def released(event: dict[str, Any], context) -> dict[str, Any]:
    """Run ReleaseRun as the workflow does (Choice on done, Wait, again); return the state."""
    for _ in range(PASSES):
        event = event | {"release": release_run.lambda_handler(event, context)}
        if event["release"]["done"]:
            return event
    raise AssertionError(f"not released after {PASSES} passes: {event['release']}")


def run_resources(state, kind):
    ec2 = boto3.client("ec2")
    filters = [{"Name": f"tag:{TAG_EXECUTION}", "Values": [state["run"]["executionArn"]]}]
    if kind == "volume":
        return ec2.describe_volumes(Filters=filters)["Volumes"]
    return ec2.describe_snapshots(OwnerIds=["self"], Filters=filters)["Snapshots"]


def tags(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def test_an_aborted_run_is_cleaned_up_and_its_volume_snapshotted(aborted_run, run, lambda_context):
    state = released(release_event(), lambda_context)

    assert state["release"]["jobOutcome"]["status"] == "NONE"  # its queue held no job
    assert_no_compute_left(run)
    assert run_resources(aborted_run, "volume") == []
    [snapshot] = run_resources(aborted_run, "snapshot")
    assert tags(snapshot)[TAG_RETAINED] == "onFailure=snapshot after ExecutionAborted"


def test_a_second_release_finds_nothing_to_do(aborted_run, lambda_context):
    released(release_event(), lambda_context)

    again = released(release_event(), lambda_context)

    assert again["release"]["storage"]["deleted"] == []
    assert len(run_resources(aborted_run, "snapshot")) == 1


def test_the_run_s_own_policy_is_honoured(aborted_run, lambda_context):
    event = release_event()
    event["config"]["onFailure"] = "retain"

    released(event, lambda_context)

    [volume] = run_resources(aborted_run, "volume")
    assert "onFailure=retain" in tags(volume)[TAG_RETAINED]


def test_a_configuration_that_no_longer_validates_releases_with_the_data_keeping_defaults():
    config = release_config("OnlyEBS", {"ebsSizeGb": -5, "onFailure": "delete"})

    assert config.onFailure == "snapshot"  # type: ignore[attr-defined]


def test_it_waits_for_compute_then_at_the_storage_s_interval(aborted_run, lambda_context):
    first = release_run.lambda_handler(release_event(), lambda_context)

    assert first["done"] is False
    assert first["compute"]["done"] is False
    assert first["waitSeconds"] == aborted_run["config"]["waitForComputeSeconds"]
    state = released(release_event() | {"release": first}, lambda_context)
    assert state["release"]["compute"]["done"] is True


def test_the_release_s_passes_fit_the_execution_history(aborted_run, lambda_context):
    """Poll intervals of 0 would make a pass a second: 21,600 passes in the default
    cleanupTimeoutSeconds, past the 25,000 events an execution holds."""
    event = release_event()
    event["config"]["waitForComputeSeconds"] = 0

    first = release_run.lambda_handler(event, lambda_context)

    limit = event["config"]["cleanupTimeoutSeconds"]
    assert first["waitSeconds"] == -(-limit // RELEASE_MAX_PASSES)
    assert limit / first["waitSeconds"] * 10 < 25_000


def test_hourly_intervals_leave_the_release_enough_passes(aborted_run, lambda_context):
    """waitForComputeSeconds 3600 would give a 3-hour cleanupTimeoutSeconds three looks, too
    few to take a job queue and a compute environment down in turn."""
    event = release_event()
    event["config"]["waitForComputeSeconds"] = 3600

    first = release_run.lambda_handler(event, lambda_context)

    limit = event["config"]["cleanupTimeoutSeconds"]
    assert first["waitSeconds"] == limit // RELEASE_MIN_PASSES
    assert limit / first["waitSeconds"] >= RELEASE_MIN_PASSES


def test_aws_errors_end_a_pass_not_the_release(aborted_run, run, lambda_context, monkeypatch):
    cleanup = release_module.cleanup_compute
    failures = iter([True, True])

    def throttled_twice(*args, **kwargs):
        if next(failures, False):
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                "DescribeJobQueues",
            )
        return cleanup(*args, **kwargs)

    monkeypatch.setattr(release_module, "cleanup_compute", throttled_twice)
    first = release_run.lambda_handler(release_event(), lambda_context)

    assert first["done"] is False
    assert first["lastError"].startswith("DescribeJobQueues refused: ThrottlingException")
    state = released(release_event() | {"release": first}, lambda_context)
    assert state["release"]["lastError"] is None
    assert_no_compute_left(run)


def test_past_the_cleanup_timeout_the_release_gives_up(aborted_run, lambda_context):
    first = release_run.lambda_handler(release_event(), lambda_context)
    limit = aborted_run["config"]["cleanupTimeoutSeconds"]
    long_ago = (datetime.now(UTC) - timedelta(seconds=limit + 60)).isoformat(timespec="seconds")

    with pytest.raises(CleanupTimeout, match=f"limit {limit} s"):
        release_run.lambda_handler(
            release_event() | {"release": first | {"waitingSince": long_ago}}, lambda_context
        )


# The job's outcome, from the run's own queue (Stubber: moto's Batch runs no jobs here).


def job_answers(stub, run, jobs=(), queue=True, definitions=()):
    names = Names.of(run)
    queues = [
        {
            "jobQueueName": names.job_queue,
            "jobQueueArn": "arn:q",
            "state": "ENABLED",
            "status": "VALID",
            "priority": 1,
            "computeEnvironmentOrder": [],
        }
    ]
    stub.add_response(
        "describe_job_queues",
        {"jobQueues": queues if queue else []},
        {"jobQueues": [names.job_queue]},
    )
    if not queue:
        stub.add_response(
            "describe_job_definitions",
            {"jobDefinitions": list(definitions)},
            {"jobDefinitionName": names.job_definition},
        )
        return
    for status in release_module.JOB_STATUSES:
        listed = [job for job in jobs if job["status"] == status]
        stub.add_response(
            "list_jobs",
            {"jobSummaryList": listed},
            {"jobQueue": names.job_queue, "jobStatus": status},
        )


def summary(status, job_id="job-1", reason=None, created=1):
    found = {"jobId": job_id, "jobName": "job", "status": status, "createdAt": created}
    return found | ({"statusReason": reason} if reason else {})


@pytest.mark.parametrize(
    ("jobs", "queue", "definitions", "expected"),
    [
        ([summary("SUCCEEDED")], True, (), "SUCCEEDED"),
        ([summary("FAILED", reason="Essential container in task exited")], True, (), "FAILED"),
        # Still running: the release's cleanup terminates it.
        ([summary("RUNNABLE")], True, (), "FAILED"),
        ([], True, (), "NONE"),
        # A run never has two jobs; should it, a succeeded one keeps its results safe.
        (
            [summary("SUCCEEDED", "a", created=1), summary("FAILED", "b", created=2)],
            True,
            (),
            "SUCCEEDED",
        ),
        # The queue is gone after compute was made: a job may have succeeded.
        (
            [],
            False,
            [
                {
                    "jobDefinitionName": "jd",
                    "jobDefinitionArn": "arn:jd",
                    "revision": 1,
                    "type": "container",
                    "status": "INACTIVE",
                }
            ],
            "UNKNOWN",
        ),
        ([], False, (), "NONE"),  # no compute was ever made
    ],
)
def test_the_job_outcome_is_read_from_the_run_s_queue(aws, run, jobs, queue, definitions, expected):
    with Stubber(layer_aws.client("batch")) as stub:
        job_answers(stub, run, jobs, queue, definitions)
        outcome = read_job_outcome(run)
        stub.assert_no_pending_responses()

    assert outcome.status == expected


def test_the_outcome_is_read_once_before_the_cleanup_deletes_the_queue(
    aborted_run, run, lambda_context, monkeypatch
):
    """A later pass keeps the first pass's outcome, though the queue is gone by then."""
    monkeypatch.setattr(
        release_module,
        "read_job_outcome",
        lambda run: release_module.JobOutcome(status="SUCCEEDED"),
    )
    first = release_run.lambda_handler(release_event(), lambda_context)
    monkeypatch.setattr(release_module, "read_job_outcome", lambda run: pytest.fail("read again"))

    state = released(release_event() | {"release": first}, lambda_context)

    assert state["release"]["jobOutcome"]["status"] == "SUCCEEDED"


# Lustre: never delete before an export covering the file system SUCCEEDED with 0 failed
# files, whenever the job succeeded or its outcome is unknown, under every onFailure.


def lustre_run() -> tuple[Run, dict[str, Any]]:
    event = load_event("release_file_system_after_failure")
    return Run.model_validate(event["run"]), event["config"]


def after_cleanup(outcome: str) -> dict[str, Any]:
    """The release's state once its compute is gone, the job's outcome known."""
    return {
        "done": False,
        "waitSeconds": 30,
        "jobOutcome": {"status": outcome, "jobId": None, "statusReason": None},
        "compute": {"done": True, "remaining": [], "waitingSince": now_iso()},
        "storage": None,
        "waitingSince": now_iso(),
        "lastError": None,
    }


def lustre_pass(fsx, config, outcome, previous=None):
    run, _ = lustre_run()
    model = release_config(run.mode, config)
    return release_pass(run, model, "ExecutionAborted", previous or after_cleanup(outcome))


@pytest.mark.parametrize("on_failure", ["export", "retain", "delete"])
@pytest.mark.parametrize("outcome", ["SUCCEEDED", "UNKNOWN"])
def test_results_that_may_exist_only_on_the_file_system_are_exported_first(
    fake_fsx,  # noqa: F811 - the fixture imported above
    on_failure,
    outcome,
):
    fsx = fake_fsx([file_system("AVAILABLE")], [association("AVAILABLE")])
    _, config = lustre_run()
    config = config | {"onFailure": on_failure}

    first = lustre_pass(fsx, config, outcome)

    assert fsx.deleted == []
    if on_failure == "retain":
        assert first.done and first.storage is not None
        assert first.storage.retained == [f"fsx:file-system:{FS_ID}"]
        assert TAG_RETAINED in fsx.tagged
        return
    assert first.done is False
    [request] = fsx.started
    assert request["Type"] == "EXPORT_TO_REPOSITORY"
    fsx.tasks = [task("EXECUTING", purpose="failure-export")]
    assert lustre_pass(fsx, config, outcome, first.model_dump()).done is False
    assert fsx.deleted == []
    fsx.tasks = [task("SUCCEEDED", failed=2, purpose="failure-export")]
    kept = lustre_pass(fsx, config, outcome, first.model_dump())
    assert kept.done and fsx.deleted == []  # files left behind: kept, whatever the policy
    fsx.tagged.clear()
    fsx.systems = [file_system("AVAILABLE")]
    fsx.tasks = [task("SUCCEEDED", purpose="failure-export")]
    assert lustre_pass(fsx, config, outcome, first.model_dump()).done
    assert fsx.deleted == [FS_ID]


@pytest.mark.parametrize("outcome", ["SUCCEEDED", "UNKNOWN"])
def test_a_finished_export_of_the_run_is_not_run_twice(fake_fsx, outcome):  # noqa: F811
    """The run's own post-job export got every file to S3; the run failed after it."""
    fsx = fake_fsx(
        [file_system("AVAILABLE")],
        [association("AVAILABLE")],
        [task("SUCCEEDED", purpose="export")],
    )
    _, config = lustre_run()

    result = lustre_pass(fsx, config | {"onFailure": "delete"}, outcome)

    assert result.done
    assert fsx.started == []
    assert fsx.deleted == [FS_ID]


@pytest.mark.parametrize("outcome", ["FAILED", "NONE"])
def test_delete_deletes_at_once_when_no_job_succeeded(fake_fsx, outcome):  # noqa: F811
    fsx = fake_fsx([file_system("AVAILABLE")], [association("AVAILABLE")])
    _, config = lustre_run()

    result = lustre_pass(fsx, config | {"onFailure": "delete"}, outcome)

    assert result.done
    assert fsx.started == []
    assert fsx.deleted == [FS_ID]


# RetainRun: what the release gave up on is tagged and reported.


@pytest.fixture
def topic(aws, monkeypatch):
    """The release topic, with a queue subscribed to read what it was sent."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic_arn = sns.create_topic(Name="release")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="release-reports")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    monkeypatch.setenv("TOPIC_ARN", topic_arn)
    return queue_url


def test_what_the_release_gave_up_on_is_tagged_and_reported(
    aborted_run, run, topic, lambda_context
):
    event = load_event("retain_run")

    result = retain_run.lambda_handler(event, lambda_context)

    names = Names.of(run)
    volume_id = aborted_run["volume"]["volumeId"]
    assert f"ec2:volume:{volume_id}" in result["kept"]
    assert f"batch:job-queue:{names.job_queue}" in result["kept"]
    [volume] = run_resources(aborted_run, "volume")
    assert tags(volume)[TAG_RETAINED].startswith("release gave up: CleanupTimeout")
    [queue] = boto3.client("batch").describe_job_queues(jobQueues=[names.job_queue])["jobQueues"]
    assert TAG_RETAINED in queue["tags"]
    assert result["cause"].startswith("CleanupTimeout: Gave up waiting")
    [message] = boto3.client("sqs").receive_message(QueueUrl=topic)["Messages"]
    body = json.loads(message["Body"])
    assert body["runId"] == run.runId
    assert body["executionArn"] == run.executionArn
    assert body["releaseError"]["Error"] == "CleanupTimeout"
    assert f"ec2:volume:{volume_id}" in body["results"]


def test_a_resource_already_kept_keeps_its_own_reason(aborted_run, topic, lambda_context):
    volume_id = aborted_run["volume"]["volumeId"]
    boto3.client("ec2").create_tags(
        Resources=[volume_id], Tags=[{"Key": TAG_RETAINED, "Value": "snapshot failed"}]
    )

    retain_run.lambda_handler(load_event("retain_run"), lambda_context)

    [volume] = run_resources(aborted_run, "volume")
    assert tags(volume)[TAG_RETAINED] == "snapshot failed"


def test_retain_run_run_again_reports_once(aborted_run, topic, lambda_context):
    """Lambda may run RetainRun again (a timeout or a lost answer after it published): the
    run still gets one message."""
    first = retain_run.lambda_handler(load_event("retain_run"), lambda_context)

    again = retain_run.lambda_handler(load_event("retain_run"), lambda_context)

    assert again["messageId"] == first["messageId"]
    assert again["kept"] == first["kept"]
    messages = boto3.client("sqs").receive_message(QueueUrl=topic, MaxNumberOfMessages=10)
    assert len(messages["Messages"]) == 1
