"""Reaper: an aborted run's compute and storage are released by tag, idempotently."""

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from batchscratch import clock, ebs
from batchscratch import reap as reap_module
from batchscratch.errors import ReapIncomplete
from batchscratch.run import TAG_EXECUTION, TAG_RETAINED
from functions.check_compute import app as check_compute
from functions.create_volume import app as create_volume
from functions.prepare_compute import app as prepare_compute
from functions.reaper import app as reaper
from tests.conftest import load_event
from tests.unit.test_compute import assert_no_compute_left
from tests.unit.test_config import SECRET


@pytest.fixture
def aborted_run(network, state, lambda_context, monkeypatch):
    """A run left mid-job: volume, launch template, compute environment, queue, definition."""
    arn = boto3.client("secretsmanager").create_secret(
        Name="BatchJobWithOnlyEbs-reaper", SecretString=json.dumps(SECRET)
    )["ARN"]
    monkeypatch.setenv("CONFIG_SECRET_ID", arn)
    monkeypatch.setattr(clock, "sleep", lambda seconds: None)
    lambda_context.remaining_millis = 900_000  # the reaper's timeout in template.yaml
    state = state | {"volume": create_volume.lambda_handler(state, lambda_context)}
    state = state | {"compute": prepare_compute.lambda_handler(state, lambda_context)}
    check_compute.lambda_handler(state, lambda_context)
    return state


def run_resources(state, kind):
    ec2 = boto3.client("ec2")
    filters = [{"Name": f"tag:{TAG_EXECUTION}", "Values": [state["run"]["executionArn"]]}]
    if kind == "volume":
        return ec2.describe_volumes(Filters=filters)["Volumes"]
    return ec2.describe_snapshots(OwnerIds=["self"], Filters=filters)["Snapshots"]


def test_aborted_run_is_cleaned_up_and_its_volume_snapshotted(aborted_run, run, lambda_context):
    result = reaper.lambda_handler(load_event("reaper"), lambda_context)

    assert result["compute"]["done"] and result["storage"]["done"]
    assert_no_compute_left(run)
    assert run_resources(aborted_run, "volume") == []
    [snapshot] = run_resources(aborted_run, "snapshot")
    tags = {t["Key"]: t["Value"] for t in snapshot["Tags"]}
    assert tags[TAG_RETAINED] == "onFailure=snapshot after execution ABORTED"


def test_second_reap_finds_nothing_to_do(aborted_run, lambda_context):
    reaper.lambda_handler(load_event("reaper"), lambda_context)

    again = reaper.lambda_handler(load_event("reaper"), lambda_context)

    assert again["storage"]["deleted"] == []
    assert len(run_resources(aborted_run, "snapshot")) == 1


def test_execution_input_policy_is_honoured(aborted_run, lambda_context):
    event = load_event("reaper")
    event["detail"]["input"] = json.dumps({"onFailure": "retain"})

    reaper.lambda_handler(event, lambda_context)

    [volume] = run_resources(aborted_run, "volume")
    assert "onFailure=retain" in {t["Key"]: t["Value"] for t in volume["Tags"]}[TAG_RETAINED]


def test_invalid_input_falls_back_to_the_data_keeping_default(aborted_run, lambda_context):
    event = load_event("reaper")
    event["detail"]["input"] = json.dumps({"ebsSizeGb": -5})

    reaper.lambda_handler(event, lambda_context)

    assert len(run_resources(aborted_run, "snapshot")) == 1


def test_reaper_raises_for_a_retry_when_time_runs_out(aborted_run, network, lambda_context):
    ec2 = boto3.client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SubnetId=network.subnet_ids[0]
    )["Instances"][0]["InstanceId"]
    ec2.attach_volume(
        VolumeId=aborted_run["volume"]["volumeId"], InstanceId=instance, Device="/dev/xvdf"
    )
    # moto detaches at once; report the release as unfinished to model a slow detach.
    release = ebs.release_volumes

    def never_done(*args, **kwargs):
        return release(*args, **kwargs).model_copy(update={"done": False})

    lambda_context.remaining_millis = 30_000

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ebs, "release_volumes", never_done)
        with pytest.raises(ReapIncomplete, match="not fully released"):
            reaper.lambda_handler(load_event("reaper"), lambda_context)


def test_reaper_keeps_trying_through_aws_errors(aborted_run, run, lambda_context):
    """A throttled call ends one pass, not the whole attempt."""
    cleanup = reap_module.cleanup_compute
    failures = iter([True, True, False])

    def throttled_twice(*args, **kwargs):
        if next(failures, False):
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                "DescribeJobQueues",
            )
        return cleanup(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reap_module, "cleanup_compute", throttled_twice)
        result = reaper.lambda_handler(load_event("reaper"), lambda_context)

    assert result["compute"]["done"] and result["storage"]["done"]
    assert_no_compute_left(run)
