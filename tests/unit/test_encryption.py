"""The stack's customer managed key (KmsKeyArn) reaches every volume and file system it can,
and a file system it cannot encrypt is refused before anything exists."""

import boto3
import pytest
from botocore.stub import ANY, Stubber

from batchscratch import aws as layer_aws
from batchscratch.config import TaskExportConfig
from batchscratch.encryption import (
    KMS_KEY_ARN_SETTING,
    file_system_kms_key,
    kms_key_arn,
)
from batchscratch.errors import InvalidConfiguration
from batchscratch.placement import StackLimits, check_stack
from functions.create_file_system import app as create_file_system
from functions.create_volume import app as create_volume
from functions.prepare_compute import app as prepare_compute
from tests.conftest import load_event
from tests.unit.test_file_system import create_request, file_system

BUCKET = "batch-scratch-taskexport-databucket-0123456789ab"

ROOT_VOLUME_REST = {"DeleteOnTermination": True, "VolumeType": "gp3"}
"""What the root volume's mapping holds besides its encryption (compute.root_volume_mapping)."""


@pytest.fixture
def stack_key(network, monkeypatch: pytest.MonkeyPatch) -> str:
    """A customer managed key in moto, set as the stack's KmsKeyArn."""
    arn = boto3.client("kms").create_key(Description="stack key")["KeyMetadata"]["Arn"]
    monkeypatch.setenv(KMS_KEY_ARN_SETTING, arn)
    return str(arn)


def test_create_volume_request_names_the_stack_s_key(
    stack_key, network, state, run, lambda_context
):
    """The exact CreateVolume request (without a key: test_volume's request test)."""
    ec2 = layer_aws.client("ec2")
    subnets = ec2.describe_subnets(SubnetIds=network.subnet_ids)
    expected = {
        "AvailabilityZone": network.zone,
        "Size": 500,
        "VolumeType": "gp3",
        "Iops": 5000,
        "Throughput": 500,
        "Encrypted": True,
        "KmsKeyId": stack_key,
        "ClientToken": run.client_token("volume"),
        "TagSpecifications": ANY,
    }
    with Stubber(ec2) as stub:
        stub.add_response("describe_subnets", subnets, {"SubnetIds": network.subnet_ids})
        stub.add_response("create_volume", {"VolumeId": "vol-0123456789abcdef0"}, expected)
        create_volume.lambda_handler(state, lambda_context)
        stub.assert_no_pending_responses()


def test_the_volume_is_encrypted_with_the_stack_s_key(stack_key, state, lambda_context):
    volume = create_volume.lambda_handler(state, lambda_context)

    described = boto3.client("ec2").describe_volumes(VolumeIds=[volume["volumeId"]])["Volumes"]
    assert described[0]["Encrypted"] is True
    assert described[0]["KmsKeyId"] == stack_key


def test_the_instances_root_volume_is_encrypted_with_the_stack_s_key(
    stack_key, state, lambda_context
):
    state = state | {"volume": create_volume.lambda_handler(state, lambda_context)}
    compute = prepare_compute.lambda_handler(state, lambda_context)

    data = boto3.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=compute["launchTemplateId"]
    )["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert data["BlockDeviceMappings"] == [
        {
            "DeviceName": "/dev/xvda",
            "Ebs": {**ROOT_VOLUME_REST, "Encrypted": True, "KmsKeyId": stack_key},
        }
    ]


def test_without_a_key_the_root_volume_is_still_encrypted(network, state, lambda_context):
    state = state | {"volume": create_volume.lambda_handler(state, lambda_context)}
    compute = prepare_compute.lambda_handler(state, lambda_context)

    data = boto3.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=compute["launchTemplateId"]
    )["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert data["BlockDeviceMappings"] == [
        {"DeviceName": "/dev/xvda", "Ebs": {**ROOT_VOLUME_REST, "Encrypted": True}}
    ]


@pytest.mark.parametrize(
    ("deployment_type", "throughput"), [("PERSISTENT_1", 50), ("PERSISTENT_2", 125)]
)
def test_a_persistent_file_system_is_created_with_the_stack_s_key(
    stack_key, network, lambda_context, deployment_type, throughput
):
    event = load_event("create_file_system")
    event["config"] |= {"lustreDeploymentType": deployment_type}
    request = create_request(event, network, PerUnitStorageThroughput=throughput)
    request["LustreConfiguration"]["DeploymentType"] = deployment_type
    request["KmsKeyId"] = stack_key
    with Stubber(layer_aws.client("fsx")) as fsx:
        fsx.add_response("create_file_system", {"FileSystem": file_system("CREATING")}, request)
        create_file_system.lambda_handler(event, lambda_context)
        fsx.assert_no_pending_responses()


def test_a_scratch_file_system_is_refused_before_it_is_created(stack_key, lambda_context):
    event = load_event("create_file_system")
    assert event["config"]["lustreDeploymentType"] == "SCRATCH_2"
    with Stubber(layer_aws.client("fsx")) as fsx:  # no response queued: any call fails
        with pytest.raises(InvalidConfiguration, match="lustreDeploymentType = 'SCRATCH_2'"):
            create_file_system.lambda_handler(event, lambda_context)
        fsx.assert_no_pending_responses()


def test_load_config_refuses_a_scratch_file_system_when_the_stack_has_a_key() -> None:
    config = TaskExportConfig.model_validate(load_event("create_file_system")["config"])
    assert config.lustreDeploymentType == "SCRATCH_2"
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    limits = StackLimits(256, ("optimal",), 100800, BUCKET, kms_key_arn=key)

    with pytest.raises(InvalidConfiguration) as refused:
        check_stack(config, limits)

    message = str(refused.value)
    assert "lustreDeploymentType = 'SCRATCH_2'" in message
    assert key in message
    assert "PERSISTENT_1 or PERSISTENT_2" in message


@pytest.mark.parametrize("deployment_type", ["SCRATCH_2", "PERSISTENT_1", "PERSISTENT_2"])
def test_without_a_key_every_deployment_type_is_fine(deployment_type: str) -> None:
    assert file_system_kms_key(deployment_type, None) is None


def test_the_setting_is_optional_and_must_be_a_key_arn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KMS_KEY_ARN_SETTING, raising=False)
    assert kms_key_arn() is None
    monkeypatch.setenv(KMS_KEY_ARN_SETTING, "")
    assert kms_key_arn() is None
    monkeypatch.setenv(KMS_KEY_ARN_SETTING, "arn:aws:kms:us-east-1:123456789012:alias/scratch")
    with pytest.raises(InvalidConfiguration, match="not a KMS key ARN"):
        kms_key_arn()
