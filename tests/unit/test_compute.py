"""PrepareCompute, CheckCompute and CleanUpCompute against moto (Stubber for states moto lacks)."""

import base64
import email
import re
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from batchscratch import aws as layer_aws
from batchscratch.compute import Names
from batchscratch.errors import ComputeFailed, InvalidConfiguration
from batchscratch.run import BATCH_NAME_LIMIT, MAX_STACK_NAME_LENGTH, Run
from functions.check_compute import app as check_compute
from functions.clean_up_compute import app as clean_up_compute
from functions.create_volume import app as create_volume
from functions.prepare_compute import app as prepare_compute
from tests.conftest import load_event


@pytest.fixture
def with_volume(network, state, lambda_context) -> dict[str, Any]:
    return state | {"volume": create_volume.lambda_handler(state, lambda_context)}


def prepared(state, context) -> dict[str, Any]:
    return state | {"compute": prepare_compute.lambda_handler(state, context)}


def ready(state, context) -> dict[str, Any]:
    state = prepared(state, context)
    return state | {"computeStatus": check_compute.lambda_handler(state, context)}


def user_data_script(template_id: str) -> str:
    version = boto3.client("ec2").describe_launch_template_versions(LaunchTemplateId=template_id)
    data = version["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    message = email.message_from_string(base64.b64decode(data["UserData"]).decode())
    assert message.is_multipart()
    [part] = message.get_payload()
    assert part.get_content_type() == "text/x-shellscript"
    return part.get_payload()


def test_launch_template_mounts_this_runs_volume_with_imdsv2(with_volume, lambda_context):
    compute = prepare_compute.lambda_handler(with_volume, lambda_context)

    script = user_data_script(compute["launchTemplateId"])
    assert f"VOLUME_ID={with_volume['volume']['volumeId']}\n" in script
    assert "MOUNT_POINT=/data\n" in script
    data = boto3.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=compute["launchTemplateId"]
    )["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"


def test_instances_boot_from_an_encrypted_root_volume_of_the_ami_s_size(
    with_volume, lambda_context
):
    compute = prepare_compute.lambda_handler(with_volume, lambda_context)

    data = boto3.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=compute["launchTemplateId"]
    )["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    # /dev/xvda is the ECS-optimized AL2023 AMI's root device; no VolumeSize, so the volume
    # keeps the AMI snapshot's size (30 GiB) rather than a smaller one.
    assert data["BlockDeviceMappings"] == [
        {
            "DeviceName": "/dev/xvda",
            "Ebs": {"Encrypted": True, "DeleteOnTermination": True, "VolumeType": "gp3"},
        }
    ]


def test_compute_environment_uses_only_the_volumes_zone(with_volume, network, lambda_context):
    compute = prepare_compute.lambda_handler(with_volume, lambda_context)

    [environment] = boto3.client("batch").describe_compute_environments(
        computeEnvironments=[compute["computeEnvironmentName"]]
    )["computeEnvironments"]
    resources = environment["computeResources"]
    assert sorted(resources["subnets"]) == sorted(with_volume["volume"]["subnetIds"])
    assert network.subnet_ids[1] not in resources["subnets"]
    assert resources["type"] == "SPOT"
    assert resources["allocationStrategy"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    assert resources["ec2Configuration"] == [{"imageType": "ECS_AL2023"}]
    assert resources["launchTemplate"]["launchTemplateId"] == compute["launchTemplateId"]


def test_job_definition_retries_spot_reclaims_only_and_mounts_data(with_volume, lambda_context):
    compute = prepare_compute.lambda_handler(with_volume, lambda_context)

    [definition] = boto3.client("batch").describe_job_definitions(
        jobDefinitions=[compute["jobDefinitionArn"]]
    )["jobDefinitions"]
    strategy = definition["retryStrategy"]
    assert strategy["attempts"] == 5
    # Batch compares actions case-insensitively (API Reference, EvaluateOnExit).
    rules = [rule | {"action": rule["action"].upper()} for rule in strategy["evaluateOnExit"]]
    assert rules == [
        {"onStatusReason": "Host EC2*", "action": "RETRY"},
        # The job's own exit on the Spot watcher's SIGTERM, and a missing run marker.
        {"onExitCode": "143", "action": "RETRY"},
        {"onExitCode": "75", "action": "RETRY"},
        {"onReason": "*", "action": "EXIT"},
    ]
    container = definition["containerProperties"]
    assert container["mountPoints"] == [
        {"sourceVolume": "scratch", "containerPath": "/data", "readOnly": False}
    ]
    assert container["volumes"] == [{"name": "scratch", "host": {"sourcePath": "/data"}}]
    environment = {item["name"]: item["value"] for item in container["environment"]}
    assert environment["S3_BUCKET_NAME"] == "batch-scratch-data"
    # The run's own prefix: the only one the job role may write under.
    assert environment["S3_PREFIX"] == f"runs/{with_volume['run']['runId']}/"
    # Stated, not left to Batch's default: the IAM condition batch:Privileged reads it.
    assert container["privileged"] is False


def test_job_output_goes_to_the_stack_s_job_log_group(with_volume, lambda_context):
    compute = prepare_compute.lambda_handler(with_volume, lambda_context)

    [definition] = boto3.client("batch").describe_job_definitions(
        jobDefinitions=[compute["jobDefinitionArn"]]
    )["jobDefinitions"]
    assert definition["containerProperties"]["logConfiguration"] == {
        "logDriver": "awslogs",
        "options": {"awslogs-group": "/aws/batch/batch-scratch-onlyebs/jobs"},
    }


def test_job_command_environment_and_timeout_come_from_the_config(with_volume, lambda_context):
    with_volume["config"] |= {
        "jobCommand": ["run.sh", "--fast"],
        "jobEnvironment": {"FILES": "3"},
        "jobAttemptTimeoutSeconds": 3600,
    }

    compute = prepare_compute.lambda_handler(with_volume, lambda_context)

    [definition] = boto3.client("batch").describe_job_definitions(
        jobDefinitions=[compute["jobDefinitionArn"]]
    )["jobDefinitions"]
    assert definition["containerProperties"]["command"] == ["run.sh", "--fast"]
    assert {"name": "FILES", "value": "3"} in definition["containerProperties"]["environment"]
    assert definition["timeout"] == {"attemptDurationSeconds": 3600}


def test_prepare_is_idempotent(with_volume, lambda_context):
    first = prepare_compute.lambda_handler(with_volume, lambda_context)
    second = prepare_compute.lambda_handler(with_volume, lambda_context)

    for key in ("launchTemplateId", "computeEnvironmentArn", "jobDefinitionArn"):
        assert first[key] == second[key]
    definitions = boto3.client("batch").describe_job_definitions(
        jobDefinitionName=first["jobDefinitionName"]
    )["jobDefinitions"]
    assert len(definitions) == 1


def test_check_creates_the_queue_once_the_environment_is_valid(with_volume, lambda_context):
    state = ready(with_volume, lambda_context)

    status = state["computeStatus"]
    assert status["ready"] is True
    [queue] = boto3.client("batch").describe_job_queues(jobQueues=[status["jobQueueArn"]])[
        "jobQueues"
    ]
    assert queue["state"] == "ENABLED"
    assert (
        queue["computeEnvironmentOrder"][0]["computeEnvironment"]
        == (state["compute"]["computeEnvironmentArn"])
    )


def test_check_fails_on_an_invalid_environment(with_volume, lambda_context):
    batch = layer_aws.client("batch")
    with Stubber(batch) as stub:
        stub.add_response(
            "describe_compute_environments",
            {
                "computeEnvironments": [
                    {
                        "computeEnvironmentName": "ce",
                        "computeEnvironmentArn": "arn:aws:batch:us-east-1:1:compute-environment/ce",
                        "status": "INVALID",
                        "state": "ENABLED",
                        "statusReason": "CLIENT_ERROR - instance profile not found",
                    }
                ]
            },
        )
        with pytest.raises(ComputeFailed, match="instance profile not found"):
            check_compute.lambda_handler(with_volume, lambda_context)


def cleanup_until_done(state, context, limit=10) -> dict[str, Any]:
    for _ in range(limit):
        result = clean_up_compute.lambda_handler(state, context)
        state = state | {"cleanup": result}
        if result["done"]:
            return result
    raise AssertionError(f"cleanup not done after {limit} calls: {result}")


def assert_no_compute_left(run: Run) -> None:
    names = Names.of(run)
    batch = boto3.client("batch")
    queues = batch.describe_job_queues(jobQueues=[names.job_queue])["jobQueues"]
    assert [q for q in queues if q["status"] != "DELETED"] == []
    environments = batch.describe_compute_environments(
        computeEnvironments=[names.compute_environment]
    )["computeEnvironments"]
    assert [e for e in environments if e["status"] != "DELETED"] == []
    active = batch.describe_job_definitions(jobDefinitionName=names.job_definition, status="ACTIVE")
    assert active["jobDefinitions"] == []
    templates = boto3.client("ec2").describe_launch_templates(
        Filters=[{"Name": "launch-template-name", "Values": [names.launch_template]}]
    )["LaunchTemplates"]
    assert templates == []


def test_cleanup_deletes_every_compute_resource_of_the_run(with_volume, run, lambda_context):
    state = ready(with_volume, lambda_context)

    cleanup_until_done(state, lambda_context)

    assert_no_compute_left(run)


def test_cleanup_after_prepare_without_a_queue(with_volume, run, lambda_context):
    state = prepared(with_volume, lambda_context)

    cleanup_until_done(state, lambda_context)

    assert_no_compute_left(run)


def test_cleanup_with_nothing_created_is_done_at_once(network, state, lambda_context):
    result = clean_up_compute.lambda_handler(state, lambda_context)

    assert result["done"] is True
    assert result["remaining"] == []


def test_cleanup_leaves_other_runs_compute_alone(with_volume, run, lambda_context):
    other = with_volume | {"run": with_volume["run"] | {"executionArn": "arn:other", "runId": "r2"}}
    other = ready(other, lambda_context)
    state = ready(with_volume, lambda_context)

    cleanup_until_done(state, lambda_context)

    queue = boto3.client("batch").describe_job_queues(
        jobQueues=[other["computeStatus"]["jobQueueArn"]]
    )["jobQueues"]
    assert queue[0]["state"] == "ENABLED"


def test_lustre_compute_mounts_the_file_system_as_scratch(network, lambda_context):
    state = load_event("prepare_compute_lustre")
    state["fileSystem"]["subnetIds"] = [network.subnet_ids[0]]

    compute = prepare_compute.lambda_handler(state, lambda_context)

    script = user_data_script(compute["launchTemplateId"])
    assert "DNS_NAME=fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com\n" in script
    assert "MOUNT_NAME=abcdefgh\n" in script
    assert "mount -t lustre -o relatime,flock" in script
    [definition] = boto3.client("batch").describe_job_definitions(
        jobDefinitions=[compute["jobDefinitionArn"]]
    )["jobDefinitions"]
    container = definition["containerProperties"]
    assert container["volumes"] == [{"name": "scratch", "host": {"sourcePath": "/fsx/scratch"}}]
    assert container["mountPoints"][0]["containerPath"] == "/scratch"
    assert {"name": "SCRATCH_DIR", "value": "/scratch"} in container["environment"]


def test_lustre_job_sees_its_results_prefix_and_no_input_without_one(network, lambda_context):
    state = load_event("prepare_compute_lustre")
    state["fileSystem"]["subnetIds"] = [network.subnet_ids[0]]
    state["config"]["dataRepositoryPath"] = "s3://batch-scratch-data/runs/run-7/"

    container = job_container(prepare_compute.lambda_handler(state, lambda_context))

    assert {"name": "S3_PREFIX", "value": "runs/run-7/"} in container["environment"]
    assert [point["containerPath"] for point in container["mountPoints"]] == ["/scratch"]


def test_lustre_job_sees_the_input_read_only(network, lambda_context):
    state = load_event("prepare_compute_lustre")
    state["fileSystem"]["subnetIds"] = [network.subnet_ids[0]]
    state["config"]["inputDataRepositoryPath"] = "s3://batch-scratch-data/inputs/"

    container = job_container(prepare_compute.lambda_handler(state, lambda_context))

    assert container["volumes"][1] == {"name": "read-only-0", "host": {"sourcePath": "/fsx/input"}}
    assert container["mountPoints"][1] == {
        "sourceVolume": "read-only-0",
        "containerPath": "/input",
        "readOnly": True,
    }


def job_container(compute: dict[str, Any]) -> dict[str, Any]:
    [definition] = boto3.client("batch").describe_job_definitions(
        jobDefinitions=[compute["jobDefinitionArn"]]
    )["jobDefinitions"]
    container: dict[str, Any] = definition["containerProperties"]
    return container


def test_lustre_compute_is_prepared_while_the_file_system_is_created(network, lambda_context):
    """PrepareCompute runs right after CreateFileSystem, before CheckFileSystem: the mount
    names it writes into the user data are the ones CreateFileSystem returned."""
    state = load_event("prepare_compute_lustre")
    del state["fileSystemStatus"]
    state["fileSystem"] |= {
        "subnetIds": [network.subnet_ids[0]],
        "dnsName": "fs-0fedcba9876543210.fsx.us-east-1.amazonaws.com",
        "mountName": "zyxwvuts",
    }

    compute = prepare_compute.lambda_handler(state, lambda_context)

    script = user_data_script(compute["launchTemplateId"])
    assert "DNS_NAME=fs-0fedcba9876543210.fsx.us-east-1.amazonaws.com\n" in script
    assert "MOUNT_NAME=zyxwvuts\n" in script


def test_lustre_compute_refuses_without_the_file_system(network, lambda_context):
    state = load_event("prepare_compute_lustre")
    del state["fileSystem"]

    with pytest.raises(ValueError, match="CreateFileSystem did not run"):
        prepare_compute.lambda_handler(state, lambda_context)


@pytest.mark.parametrize("stack_name", ["s", "batch-scratch-test", "a" * MAX_STACK_NAME_LENGTH])
@pytest.mark.parametrize("run_id", ["run-1", "r" * 80, "días de cálculo"])
def test_compute_names_start_with_the_stack_name_that_iam_matches(
    run: Run, stack_name: str, run_id: str
) -> None:
    """The IAM statements name the run's Batch resources ``${AWS::StackName}-*`` (tagging by
    name prefix): every name starts with the whole stack name and fits Batch's 128."""
    other = run.model_copy(update={"stackName": stack_name, "runId": run_id})
    names = Names.of(other)
    for name in (names.compute_environment, names.job_queue, names.job_definition, names.job):
        assert name.startswith(f"{stack_name}-")
        assert len(name) <= BATCH_NAME_LIMIT
        assert re.fullmatch(r"[A-Za-z0-9_-]+", name)
    assert (
        names.compute_environment
        != Names.of(other.model_copy(update={"executionArn": "x"})).compute_environment
    )


def test_a_stack_name_too_long_for_the_names_is_refused(run: Run) -> None:
    other = run.model_copy(update={"stackName": "a" * (MAX_STACK_NAME_LENGTH + 1)})
    with pytest.raises(InvalidConfiguration, match="stack name"):
        Names.of(other)
