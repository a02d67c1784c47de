"""AutoExport: the drain check against CloudWatch, and disabling auto-export."""

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from batchscratch import aws as layer_aws
from batchscratch.config import build_config
from batchscratch.errors import ExportTimeout, InvalidConfiguration
from functions.check_drain import app as check_drain
from functions.disable_auto_export import app as disable_auto_export
from tests.conftest import load_event
from tests.unit.test_config import LUSTRE_SECRET

FS_ID = "fs-0123456789abcdef0"


def publish(ages_by_minutes_ago: dict[int, float]) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
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


def event_after_job(minutes_ago: int, waited_seconds: int = 0):
    event = load_event("check_drain")
    ended = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    since = (datetime.now(UTC) - timedelta(seconds=waited_seconds)).isoformat()
    event["drain"] = {"jobEndedAt": ended, "waitingSince": since}
    return event


def test_zero_queue_age_after_the_job_is_drained(aws, lambda_context):
    publish(dict.fromkeys(range(1, 30), 0))  # FSx publishes once a minute

    drain = check_drain.lambda_handler(event_after_job(30), lambda_context)

    assert drain["drained"] is True
    assert drain["timedOut"] is False
    assert drain["considered"] >= 2


@pytest.mark.parametrize(("busy_minutes_ago", "drained"), [(17, False), (21, True)])
def test_a_long_period_is_judged_over_the_whole_window(
    aws, lambda_context, busy_minutes_ago, drained
):
    """At a 600-s period a 20-minute window is two periods; a queued change 17 minutes ago
    lies in the first of them and holds the drain, one 21 minutes ago lies before it."""
    ages = dict.fromkeys(range(1, 40), 0.0)
    ages[busy_minutes_ago] = 120.0
    publish(ages)
    event = event_after_job(40)
    event["config"] |= {"lambdaPeriodSeconds": 600, "lambdaTimeDiffMinutes": 20}

    drain = check_drain.lambda_handler(event, lambda_context)

    assert drain["drained"] is drained, drain["reason"]


def test_queue_still_ageing_is_not_drained(aws, lambda_context):
    publish({10: 0, 5: 240, 2: 0})

    drain = check_drain.lambda_handler(event_after_job(30), lambda_context)

    assert drain["drained"] is False
    assert "> 0" in drain["reason"]


def test_no_metric_at_all_is_not_drained_and_times_out_without_failing(aws, lambda_context):
    first = check_drain.lambda_handler(event_after_job(30), lambda_context)
    late = check_drain.lambda_handler(event_after_job(200, waited_seconds=7201), lambda_context)

    assert (first["drained"], first["timedOut"]) == (False, False)
    assert (late["drained"], late["timedOut"]) == (False, True)


def test_first_check_takes_its_own_time_as_the_jobs_end(aws, lambda_context):
    publish({5: 0, 1: 0})  # all before the first check: they must not count
    event = load_event("check_drain")

    drain = check_drain.lambda_handler(event, lambda_context)

    assert drain["drained"] is False
    assert drain["jobEndedAt"] == drain["waitingSince"]


def association(export_events):
    return {
        "AssociationId": "dra-0123456789abcdef0",
        "FileSystemId": FS_ID,
        "Lifecycle": "AVAILABLE",
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
