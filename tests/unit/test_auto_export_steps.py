"""AutoExport: the drain check against CloudWatch, and disabling auto-export."""

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from batchscratch import aws as layer_aws
from batchscratch.config import AutoExportConfig, build_config
from batchscratch.errors import ExportTimeout, InvalidConfiguration
from batchscratch.metrics import (
    METRIC_DELAY_SECONDS,
    NO_METRIC_PERIODS,
    job_end,
    next_period_seconds,
)
from batchscratch.metrics import check_drain as check_drain_of
from functions.check_drain import app as check_drain
from functions.disable_auto_export import app as disable_auto_export
from tests.conftest import load_event
from tests.unit.test_config import LUSTRE_SECRET

FS_ID = "fs-0123456789abcdef0"
JOB_ID = "4a6f1d0e-0000-4000-8000-000000000001"
STOPPED = datetime(2026, 11, 29, 15, 42, 7, tzinfo=UTC)


def publish(ages_by_minutes_ago: dict[int, float], at: datetime | None = None) -> None:
    """Publish ``AgeOfOldestQueuedMessage`` datapoints, minutes before ``at`` (default now)
    rounded down to its minute, as FSx does once a minute."""
    now = (at or datetime.now(UTC)).replace(second=0, microsecond=0)
    boto3.client("cloudwatch").put_metric_data(
        Namespace="AWS/FSx",
        MetricData=[
            {
                "MetricName": "AgeOfOldestQueuedMessage",
                "Dimensions": [
                    {"Name": "FileSystemId", "Value": FS_ID},
                    {"Name": "Publisher", "Value": "AutoExport"},
                ],
                "Timestamp": now - timedelta(minutes=minutes),
                "Value": value,
            }
            for minutes, value in ages_by_minutes_ago.items()
        ],
    )


def event_after_job(minutes_ago: int, waited_seconds: int = 0, verify: bool = True):
    event = load_event("check_drain")
    ended = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    since = (datetime.now(UTC) - timedelta(seconds=waited_seconds)).isoformat()
    event["drain"] = {"jobEndedAt": ended, "waitingSince": since}
    event["config"]["verifyExportBeforeDelete"] = verify
    return event


def auto_export(**overlay: object) -> AutoExportConfig:
    config = build_config("AutoExport", LUSTRE_SECRET, overlay)
    assert isinstance(config, AutoExportConfig)
    return config


@pytest.mark.parametrize("verify", [True, False], ids=["verifying", "not-verifying"])
def test_zero_queue_age_after_the_job_is_drained(aws, lambda_context, verify):
    publish(dict.fromkeys(range(1, 30), 0))  # FSx publishes once a minute

    drain = check_drain.lambda_handler(event_after_job(30, verify=verify), lambda_context)

    assert drain["drained"] is True
    assert drain["timedOut"] is False
    assert drain["considered"] >= 2
    assert drain["waitSeconds"] == 0


@pytest.mark.parametrize(("busy_minutes_ago", "drained"), [(17, False), (21, True)])
def test_a_long_period_is_judged_over_the_whole_window(
    aws, lambda_context, busy_minutes_ago, drained
):
    """Without the verifying export the metric alone lets the file system be deleted: at a
    600-s period a 20-minute window is two periods; a queued change 17 minutes ago lies in
    the first of them and holds the drain, one 21 minutes ago lies before it."""
    ages = dict.fromkeys(range(1, 40), 0.0)
    ages[busy_minutes_ago] = 120.0
    publish(ages)
    event = event_after_job(40, verify=False)
    event["config"] |= {"lambdaPeriodSeconds": 600, "lambdaTimeDiffMinutes": 20}

    drain = check_drain.lambda_handler(event, lambda_context)

    assert drain["drained"] is drained, drain["reason"]


@pytest.mark.parametrize(
    ("verify", "drained"), [(False, False), (True, True)], ids=["not-verifying", "verifying"]
)
def test_a_queue_that_aged_and_emptied_drains_only_when_an_export_verifies(
    aws, lambda_context, verify, drained
):
    """With the verifying export (the default) the newest datapoint since the job's end
    reading 0 is enough: the export task proves the rest. Without it the whole quiet window
    must read 0, and a change queued 5 minutes ago holds the drain."""
    publish({10: 0, 5: 240, 2: 0})

    drain = check_drain.lambda_handler(event_after_job(30, verify=verify), lambda_context)

    assert drain["drained"] is drained, drain["reason"]
    if not drained:
        assert "> 0" in drain["reason"]


@pytest.mark.parametrize("verify", [True, False], ids=["verifying", "not-verifying"])
def test_a_queue_still_ageing_is_not_drained(aws, lambda_context, verify):
    publish({10: 0, 5: 0, 2: 240})

    drain = check_drain.lambda_handler(event_after_job(30, verify=verify), lambda_context)

    assert (drain["drained"], drain["timedOut"]) == (False, False), drain["reason"]


def test_zeros_from_before_the_job_s_end_never_drain_it(aws, fake_clock):
    publish({40: 0, 35: 0}, at=fake_clock.at)
    ended = fake_clock.at - timedelta(minutes=30)

    drain = check_drain_of(FS_ID, auto_export(), None, ended)

    assert drain.drained is False
    assert drain.considered == 0


@pytest.mark.parametrize("period", [60, 300])
def test_a_metric_never_published_times_out_after_five_periods_not_before(aws, fake_clock, period):
    """No datapoint at all since the job's end: FSx does not publish the metric, so waiting
    would only keep the file system; after NO_METRIC_PERIODS periods the check says timedOut
    and the run verifies with an export task (never deletes on it)."""
    config = auto_export(lambdaPeriodSeconds=period)
    ended = fake_clock.at - timedelta(seconds=NO_METRIC_PERIODS * period - 1)

    before = check_drain_of(FS_ID, config, None, ended)
    fake_clock.advance(1)
    after = check_drain_of(FS_ID, config, before.model_dump(), None)

    assert NO_METRIC_PERIODS == 5
    assert (before.drained, before.timedOut) == (False, False), before.reason
    assert (after.drained, after.timedOut) == (False, True)
    assert "not published" in after.reason
    assert after.jobEndedAt == before.jobEndedAt == ended.isoformat(timespec="seconds")


def test_a_published_metric_that_stays_busy_times_out_only_after_the_drain_limit(aws, fake_clock):
    publish(dict.fromkeys(range(1, 30), 240.0), at=fake_clock.at)
    config = auto_export()
    ended = fake_clock.at - timedelta(minutes=30)

    first = check_drain_of(FS_ID, config, None, ended)
    fake_clock.advance(config.drainTimeoutSeconds)
    at_the_limit = check_drain_of(FS_ID, config, first.model_dump())
    fake_clock.advance(1)
    past_it = check_drain_of(FS_ID, config, first.model_dump())

    assert (first.drained, first.timedOut) == (False, False), first.reason
    assert (at_the_limit.drained, at_the_limit.timedOut) == (False, False)
    assert (past_it.drained, past_it.timedOut) == (False, True)
    assert "drainTimeoutSeconds (7200 s) passed" in past_it.reason


def test_no_metric_at_all_times_out_without_failing(aws, lambda_context):
    late = check_drain.lambda_handler(event_after_job(200, waited_seconds=7201), lambda_context)

    assert (late["drained"], late["timedOut"]) == (False, True)
    assert late["waitSeconds"] == 0


def test_first_check_takes_its_own_time_as_the_jobs_end_when_batch_gives_none(aws, lambda_context):
    publish({5: 0, 1: 0})  # all before the first check: they must not count
    event = load_event("check_drain")
    with Stubber(layer_aws.client("batch")) as batch:
        batch.add_response("describe_jobs", {"jobs": []}, {"jobs": [event["job"]["jobId"]]})
        drain = check_drain.lambda_handler(event, lambda_context)

    assert drain["drained"] is False
    assert drain["jobEndedAt"] == drain["waitingSince"]


def stopped_job(job_id: str, stopped_at: datetime | None) -> dict[str, Any]:
    """A DescribeJobs ``JobDetail`` (times in epoch milliseconds; botocore's model requires
    ``startedAt``)."""
    detail: dict[str, Any] = {
        "jobName": "batch-scratch-autoexport-run-0001-job-0a1b2c3d",
        "jobId": job_id,
        "jobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/q",
        "status": "SUCCEEDED",
        "startedAt": 1_700_000_000_000,
        "jobDefinition": "arn:aws:batch:us-east-1:123456789012:job-definition/d:1",
    }
    if stopped_at is not None:
        detail["stoppedAt"] = int(stopped_at.timestamp() * 1000)
    return detail


def test_the_first_check_takes_batch_s_stopped_at_as_the_job_s_end(aws, fake_clock, lambda_context):
    """The job's end is when Batch stopped it, not when the check first ran: the compute's
    cleanup no longer runs in between, but Step Functions' own latency does."""
    event = load_event("check_drain")
    job_id = event["job"]["jobId"]
    stopped = fake_clock.at - timedelta(minutes=3)
    publish({4: 240, 2: 0, 1: 0}, at=fake_clock.at)  # the first one before the job's end
    with Stubber(layer_aws.client("batch")) as batch:
        batch.add_response(
            "describe_jobs", {"jobs": [stopped_job(job_id, stopped)]}, {"jobs": [job_id]}
        )
        drain = check_drain.lambda_handler(event, lambda_context)

    assert drain["jobEndedAt"] == stopped.isoformat(timespec="seconds")
    assert drain["waitingSince"] == fake_clock.at.isoformat(timespec="seconds")
    assert drain["drained"] is True, drain["reason"]


def test_later_checks_keep_the_job_s_end_without_asking_batch(aws, lambda_context):
    event = event_after_job(10)
    with Stubber(layer_aws.client("batch")):  # no answer queued: no call allowed
        drain = check_drain.lambda_handler(event, lambda_context)

    assert drain["jobEndedAt"] == event["drain"]["jobEndedAt"]


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        (lambda job_id: [stopped_job(job_id, STOPPED)], STOPPED),
        (lambda job_id: [stopped_job(job_id, None)], None),  # not stopped (yet)
        (lambda job_id: [], None),  # no such job (any more)
    ],
    ids=["stopped", "not-stopped", "unknown"],
)
def test_job_end_reads_batch_s_stopped_at(detail, expected):
    with Stubber(layer_aws.client("batch")) as batch:
        batch.add_response("describe_jobs", {"jobs": detail(JOB_ID)}, {"jobs": [JOB_ID]})
        assert job_end(JOB_ID) == expected
        batch.assert_no_pending_responses()


def test_job_end_without_a_job_asks_nothing():
    with Stubber(layer_aws.client("batch")):  # no answer queued: no call allowed
        assert job_end(None) is None
        assert job_end("") is None


@pytest.mark.parametrize(
    ("now", "period", "seconds"),
    [
        # The job ended at 12:00:30: the periods run from 12:01:00.
        ("12:00:40", 60, 20 + 5),  # before the first period: until it begins
        ("12:01:10", 60, 50 + 5),  # 10 s into a period: until its end
        ("12:01:59", 60, 1 + 5),
        ("12:03:00", 300, 180 + 5),  # 120 s into a 300-s period
    ],
)
def test_the_drain_check_looks_again_just_after_the_period_ends(now, period, seconds):
    ended = datetime(2026, 11, 29, 12, 0, 30, tzinfo=UTC)
    at = datetime.fromisoformat(f"2026-11-29T{now}+00:00")

    assert next_period_seconds(ended, at, period) == seconds
    assert METRIC_DELAY_SECONDS == 5


def test_the_drain_check_asks_its_wait_to_end_after_the_next_period(
    aws, fake_clock, lambda_context
):
    """Outside a watch (60 s left) the check looks once and hands the pause to its Wait:
    until the running period's end plus the metric's delay, at most
    waitForCheckMetricsSeconds."""
    event = event_after_job(0)
    event["drain"]["jobEndedAt"] = (fake_clock.at - timedelta(minutes=30)).isoformat()
    event["drain"]["waitingSince"] = fake_clock.at.isoformat()
    publish({2: 240, 1: 240}, at=fake_clock.at)

    drain = check_drain.lambda_handler(event, lambda_context)

    # The periods run from the whole minute after the job's end (it ended 20 s into one) and
    # the clock stands 20 s into one: 40 s to its end.
    assert fake_clock.at.second == 20
    assert drain["waitSeconds"] == 40 + METRIC_DELAY_SECONDS
    assert drain["waitSeconds"] <= event["config"]["waitForCheckMetricsSeconds"]


def association(export_events):
    return {
        "AssociationId": "dra-0123456789abcdef0",
        "FileSystemId": FS_ID,
        "Lifecycle": "AVAILABLE",
        "FileSystemPath": "/scratch",
        "DataRepositoryPath": "s3://bucket/",
        "S3": {
            "AutoImportPolicy": {"Events": ["NEW", "CHANGED", "DELETED"]},
            "AutoExportPolicy": {"Events": export_events},
        },
    }


def test_disable_auto_export_keeps_auto_import(lambda_context):
    with Stubber(layer_aws.client("fsx")) as stub:
        stub.add_response(
            "describe_data_repository_associations",
            {"Associations": [association(["NEW", "CHANGED", "DELETED"])]},
            {"Filters": [{"Name": "file-system-id", "Values": [FS_ID]}]},
        )
        stub.add_response(
            "update_data_repository_association",
            {"Association": association([]) | {"Lifecycle": "UPDATING"}},
            {
                "AssociationId": "dra-0123456789abcdef0",
                "S3": {
                    "AutoImportPolicy": {"Events": ["NEW", "CHANGED", "DELETED"]},
                    "AutoExportPolicy": {"Events": []},
                },
            },
        )
        stub.add_response(
            "describe_data_repository_associations",
            {"Associations": [association([]) | {"Lifecycle": "UPDATING"}]},
        )
        first = disable_auto_export.lambda_handler(
            load_event("disable_auto_export"), lambda_context
        )
        stub.add_response(
            "describe_data_repository_associations", {"Associations": [association([])]}
        )
        second = disable_auto_export.lambda_handler(
            load_event("disable_auto_export"), lambda_context
        )
        stub.assert_no_pending_responses()

    assert first["done"] is False
    assert second["done"] is True


def test_disable_auto_export_reads_the_run_s_association_not_the_input(lambda_context):
    # The import-only /input association, listed first, has no auto-export to turn off.
    imports = association([]) | {
        "AssociationId": "dra-0123456789abcdef1",
        "FileSystemPath": "/input",
        "DataRepositoryPath": "s3://bucket/inputs/",
    }
    with Stubber(layer_aws.client("fsx")) as stub:
        stub.add_response(
            "describe_data_repository_associations",
            {"Associations": [imports, association(["NEW", "CHANGED", "DELETED"])]},
        )
        stub.add_response(
            "update_data_repository_association",
            {"Association": association([]) | {"Lifecycle": "UPDATING"}},
            {
                "AssociationId": "dra-0123456789abcdef0",
                "S3": {
                    "AutoImportPolicy": {"Events": ["NEW", "CHANGED", "DELETED"]},
                    "AutoExportPolicy": {"Events": []},
                },
            },
        )
        stub.add_response(
            "describe_data_repository_associations",
            {"Associations": [imports, association([])]},
        )
        status = disable_auto_export.lambda_handler(
            load_event("disable_auto_export"), lambda_context
        )
        stub.assert_no_pending_responses()

    assert status["associationId"] == "dra-0123456789abcdef0"
    assert status["done"] is True


@pytest.mark.parametrize(
    ("overlay", "expected"),
    [
        ({"lambdaPeriodSeconds": 90}, "lambdaPeriodSeconds = 90"),
        ({"lambdaTimeDiffMinutes": 0}, "lambdaTimeDiffMinutes = 0"),
        ({"lambdaTimeDiffMinutes": 1}, "must cover at least two metric periods"),
        ({"lambdaPeriodSeconds": 3600}, "at least 120 minutes"),
        ({"waitForCheckMetricsSeconds": 0}, "waitForCheckMetricsSeconds = 0"),
        ({"verifyExportBeforeDelete": "maybe"}, "verifyExportBeforeDelete"),
    ],
)
def test_auto_export_keys_are_validated(overlay, expected):
    with pytest.raises(InvalidConfiguration, match=expected):
        build_config("AutoExport", LUSTRE_SECRET, overlay)


def test_disable_auto_export_gives_up_and_keeps_the_file_system(lambda_context):
    event = load_event("disable_auto_export")
    long_ago = (datetime.now(UTC) - timedelta(seconds=21601)).isoformat()
    event["autoExport"] = {"done": False, "waitingSince": long_ago}
    stuck = association(["NEW"]) | {"Lifecycle": "UPDATING"}
    system = {
        "FileSystemId": FS_ID,
        "Lifecycle": "AVAILABLE",
        "ResourceARN": f"arn:aws:fsx:us-east-1:123456789012:file-system/{FS_ID}",
    }
    with Stubber(layer_aws.client("fsx")) as stub:
        stub.add_response("describe_data_repository_associations", {"Associations": [stuck]})
        stub.add_response("describe_file_systems", {"FileSystems": [system]})
        stub.add_response("tag_resource", {})
        with pytest.raises(ExportTimeout, match=f"file system {FS_ID} is kept"):
            disable_auto_export.lambda_handler(event, lambda_context)
        stub.assert_no_pending_responses()
