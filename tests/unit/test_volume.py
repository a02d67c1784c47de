"""CreateVolume, CheckVolume and ReleaseVolume against moto (and Stubber for exact shapes)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from batchscratch import aws as layer_aws
from batchscratch.errors import SnapshotFailed, StorageFailed, StorageTimeout
from batchscratch.run import TAG_EXECUTION, TAG_RETAINED
from functions.check_volume import app as check_volume
from functions.create_volume import app as create_volume
from functions.release_volume import app as release_volume
from tests.conftest import load_event


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}


def create(state, context) -> dict[str, Any]:
    return state | {"volume": create_volume.lambda_handler(state, context)}


def test_volume_is_gp3_encrypted_tagged_in_the_first_subnets_zone(network, state, lambda_context):
    volume = create_volume.lambda_handler(state, lambda_context)

    described = boto3.client("ec2").describe_volumes(VolumeIds=[volume["volumeId"]])["Volumes"][0]
    assert described["VolumeType"] == "gp3"
    assert described["Encrypted"] is True
    assert described["Size"] == 500
    assert described["Iops"] == 5000
    assert described["AvailabilityZone"] == network.zone
    assert tags_of(described)[TAG_EXECUTION] == state["run"]["executionArn"]
    # Only subnets in the volume's zone may host the instance that attaches it.
    assert volume["subnetIds"] == [network.subnet_ids[0], network.subnet_ids[2]]


def test_create_volume_request_is_idempotent(network, state, run, lambda_context):
    """The exact CreateVolume request: a retried invocation sends the same ClientToken."""
    ec2 = layer_aws.client("ec2")
    subnets = ec2.describe_subnets(SubnetIds=network.subnet_ids)
    expected = {
        "AvailabilityZone": network.zone,
        "Size": 500,
        "VolumeType": "gp3",
        "Iops": 5000,
        "Throughput": 500,
        "Encrypted": True,
        "ClientToken": run.client_token("volume"),
        "TagSpecifications": ANY,
    }
    with Stubber(ec2) as stub:
        for _ in range(2):
            stub.add_response("describe_subnets", subnets, {"SubnetIds": network.subnet_ids})
            stub.add_response("create_volume", {"VolumeId": "vol-0123456789abcdef0"}, expected)
        first = create_volume.lambda_handler(state, lambda_context)
        second = create_volume.lambda_handler(state, lambda_context)
        stub.assert_no_pending_responses()
    assert first["volumeId"] == second["volumeId"] == "vol-0123456789abcdef0"
    assert len(run.client_token("volume")) <= 64


def test_check_reports_ready_once_available(network, state, lambda_context):
    state = create(state, lambda_context)

    status = check_volume.lambda_handler(state, lambda_context)

    assert status["ready"] is True
    assert status["state"] == "available"


@pytest.mark.parametrize("volume_state", ["error", "deleting", "deleted"])
def test_check_fails_at_once_for_a_volume_that_cannot_become_usable(
    network, volume_state, lambda_context
):
    # Fresh waitingSince: the failure must not wait for storageTimeoutSeconds.
    ec2 = layer_aws.client("ec2")
    state = load_event("check_volume")
    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_volumes",
            {"Volumes": [{"VolumeId": state["volume"]["volumeId"], "State": volume_state}]},
        )
        with pytest.raises(StorageFailed, match=f"state {volume_state}"):
            check_volume.lambda_handler(state, lambda_context)


def test_check_times_out_after_storage_timeout(network, lambda_context):
    ec2 = layer_aws.client("ec2")
    state = load_event("check_volume")
    long_ago = (datetime.now(UTC) - timedelta(seconds=1801)).isoformat()
    state["volumeStatus"] = {"ready": False, "state": "creating", "waitingSince": long_ago}
    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_volumes",
            {"Volumes": [{"VolumeId": state["volume"]["volumeId"], "State": "creating"}]},
        )
        with pytest.raises(StorageTimeout, match="limit 1800 s"):
            check_volume.lambda_handler(state, lambda_context)


def test_check_keeps_waiting_within_the_limit(network, lambda_context):
    ec2 = layer_aws.client("ec2")
    state = load_event("check_volume")
    since = (datetime.now(UTC) - timedelta(seconds=60)).isoformat()
    state["volumeStatus"] = {"ready": False, "state": "creating", "waitingSince": since}
    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_volumes",
            {"Volumes": [{"VolumeId": state["volume"]["volumeId"], "State": "creating"}]},
        )
        status = check_volume.lambda_handler(state, lambda_context)

    # With 60 s of the invocation left it looks once and hands the pause to its Wait: a
    # quarter of the time waited (15 s), at most waitForEbsCreationSeconds (10 s).
    pause = min(60 // 4, state["config"]["waitForEbsCreationSeconds"])
    assert status == {
        "ready": False,
        "state": "creating",
        "waitingSince": since,
        "waitSeconds": pause,
    }


def release_until_done(state, context, limit=10) -> dict[str, Any]:
    for _ in range(limit):
        result = release_volume.lambda_handler(state, context)
        state = state | {"release": result}
        if result["done"]:
            return result
    raise AssertionError(f"release not done after {limit} calls: {result}")


def volumes_of(state) -> list[dict[str, Any]]:
    return boto3.client("ec2").describe_volumes(
        Filters=[{"Name": f"tag:{TAG_EXECUTION}", "Values": [state["run"]["executionArn"]]}]
    )["Volumes"]


def snapshots_of(state) -> list[dict[str, Any]]:
    return boto3.client("ec2").describe_snapshots(
        OwnerIds=["self"],
        Filters=[{"Name": f"tag:{TAG_EXECUTION}", "Values": [state["run"]["executionArn"]]}],
    )["Snapshots"]


def test_success_deletes_the_volume(network, state, lambda_context):
    state = create(state, lambda_context)

    result = release_until_done(state, lambda_context)

    assert result["policy"] == "delete"
    assert volumes_of(state) == []
    assert snapshots_of(state) == []


def test_success_with_delete_ebs_false_retains_and_tags_the_volume(network, state, lambda_context):
    state = create(state, lambda_context)
    state["config"]["deleteEbs"] = False

    result = release_until_done(state, lambda_context)

    [volume] = volumes_of(state)
    assert result["retained"] == [f"ec2:volume:{volume['VolumeId']}"]
    assert tags_of(volume)[TAG_RETAINED] == "deleteEbs is false"


def failed(state) -> dict[str, Any]:
    return state | {"error": load_event("release_volume_after_failure")["error"]}


def test_failure_snapshots_then_deletes_the_volume(network, state, lambda_context):
    state = failed(create(state, lambda_context))

    result = release_until_done(state, lambda_context)

    [snapshot] = snapshots_of(state)
    assert result["policy"] == "snapshot"
    assert f"ec2:snapshot:{snapshot['SnapshotId']}" in result["retained"]
    assert snapshot["VolumeId"] == state["volume"]["volumeId"]
    assert tags_of(snapshot)[TAG_RETAINED] == "onFailure=snapshot after States.TaskFailed"
    assert volumes_of(state) == []


def test_failure_with_retain_keeps_the_volume(network, state, lambda_context):
    state = failed(create(state, lambda_context))
    state["config"]["onFailure"] = "retain"

    release_until_done(state, lambda_context)

    [volume] = volumes_of(state)
    assert "onFailure=retain" in tags_of(volume)[TAG_RETAINED]
    assert snapshots_of(state) == []


def test_failure_with_delete_leaves_nothing(network, state, lambda_context):
    state = failed(create(state, lambda_context))
    state["config"]["onFailure"] = "delete"

    release_until_done(state, lambda_context)

    assert volumes_of(state) == []
    assert snapshots_of(state) == []


def test_release_waits_while_the_volume_is_attached(network, state, lambda_context):
    state = failed(create(state, lambda_context))
    ec2 = boto3.client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SubnetId=network.subnet_ids[0]
    )["Instances"][0]["InstanceId"]
    ec2.attach_volume(VolumeId=state["volume"]["volumeId"], InstanceId=instance, Device="/dev/xvdf")

    first = release_volume.lambda_handler(state, lambda_context)

    assert first["done"] is False
    assert snapshots_of(state) == []  # no snapshot of a volume still in use
    result = release_until_done(state | {"release": first}, lambda_context)
    assert result["done"] is True
    assert len(snapshots_of(state)) == 1


def test_failed_snapshot_keeps_the_volume(network, state, lambda_context):
    state = failed(create(state, lambda_context))
    volume_id = state["volume"]["volumeId"]
    ec2 = layer_aws.client("ec2")
    volume = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
    with Stubber(ec2) as stub:
        stub.add_response("describe_volumes", {"Volumes": [volume]})
        stub.add_response(
            "describe_snapshots",
            {
                "Snapshots": [
                    {
                        "SnapshotId": "snap-0123456789abcdef0",
                        "VolumeId": volume_id,
                        "State": "error",
                    }
                ]
            },
        )
        stub.add_response("create_tags", {})
        with pytest.raises(SnapshotFailed, match="the volume is kept"):
            release_volume.lambda_handler(state, lambda_context)
        stub.assert_no_pending_responses()
    assert volumes_of(state)[0]["VolumeId"] == volume_id


def test_release_leaves_volumes_of_other_runs_alone(network, state, lambda_context):
    state = failed(create(state, lambda_context))
    other = load_event("create_volume")
    other["run"]["executionArn"] += "-other"
    other["run"]["runId"] = "run-0002"
    other = create(other, lambda_context)

    release_until_done(state, lambda_context)

    assert [v["VolumeId"] for v in volumes_of(other)] == [other["volume"]["volumeId"]]


@pytest.mark.parametrize("policy", ["snapshot", "retain", "delete"])
def test_volume_whose_creation_failed_is_deleted_under_every_policy(
    network, state, lambda_context, policy
):
    state = failed(create(state, lambda_context))
    state["config"]["onFailure"] = policy
    ec2 = layer_aws.client("ec2")
    volume_id = state["volume"]["volumeId"]
    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_volumes",
            {"Volumes": [{"VolumeId": volume_id, "State": "error", "Tags": []}]},
        )
        stub.add_response("delete_volume", {}, {"VolumeId": volume_id})
        result = release_volume.lambda_handler(state, lambda_context)
        stub.assert_no_pending_responses()

    assert result["done"] is True
    assert result["deleted"] == [f"ec2:volume:{volume_id}"]
    assert result["retained"] == []


def test_delete_ebs_false_keeps_the_volume_after_a_failure_too(network, state, lambda_context):
    state = failed(create(state, lambda_context))
    state["config"]["deleteEbs"] = False

    release_until_done(state, lambda_context)

    [volume] = volumes_of(state)
    assert tags_of(volume)[TAG_RETAINED] == "deleteEbs is false"
    assert snapshots_of(state) == []
