"""LoadConfig refuses what the stack cannot give a run: a job no instance can hold, a file
system above the stack's maximum, a data repository path outside the stack's bucket."""

import json
import re
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from batchscratch import aws as layer_aws
from batchscratch.config import build_config
from batchscratch.errors import AwsTransientError, InvalidConfiguration
from batchscratch.placement import StackLimits, check_data_repository, check_placement
from functions.load_config import app
from tests.conftest import load_event

BUCKET = "batch-scratch-data"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/batch-job:latest"
EBS_SECRET = {"jobDefinitionContainerImage": IMAGE}
LUSTRE_SECRET = {"jobDefinitionContainerImage": IMAGE, "dataRepositoryPath": f"s3://{BUCKET}/runs/"}


@pytest.fixture
def stack(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Deploy a mode's secret and LoadConfig's settings (the template's defaults); return a
    function ``(mode, **settings)`` that does it."""

    def deploy(mode: str, secret: dict[str, Any] | None = None, **settings: str) -> None:
        if secret is None:
            secret = EBS_SECRET if mode == "OnlyEBS" else LUSTRE_SECRET
        arn = boto3.client("secretsmanager").create_secret(
            Name=f"secret-{mode}", SecretString=json.dumps(secret)
        )["ARN"]
        values = {
            "CONFIG_SECRET_ID": arn,
            "MODE": mode,
            "STACK_NAME": "batch-scratch",
            "DATA_BUCKET_NAME": BUCKET,
            "INSTANCE_TYPES": "optimal",
            "MAX_VCPUS": "256",
            "MAX_LUSTRE_STORAGE_CAPACITY": "100800",
            # Every key from the input: these tests are about the stack's limits.
            "EXECUTION_INPUT_KEYS": "*",
            "ALLOWED_IMAGES": IMAGE.removesuffix(":latest"),
            **settings,
        }
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return deploy


def run(lambda_context: Any, **config: Any) -> dict[str, Any]:
    """LoadConfig's answer for an execution whose input is ``config``."""
    result: dict[str, Any] = app.lambda_handler(
        load_event("load_config") | {"input": config}, lambda_context
    )
    return result


def refused(lambda_context: Any, **config: Any) -> str:
    """LoadConfig's refusal message for an execution whose input is ``config``."""
    with pytest.raises(InvalidConfiguration) as error:
        run(lambda_context, **config)
    return str(error.value)


def test_more_vcpus_than_the_compute_environment_may_launch_is_refused(stack, lambda_context):
    stack("OnlyEBS")

    message = refused(lambda_context, jobDefinitionVcpus=300)

    assert "jobDefinitionVcpus = 300: more than the compute environment's MaxvCpus = 256" in message


def test_vcpus_up_to_max_vcpus_are_accepted_when_batch_chooses_the_types(stack, lambda_context):
    stack("OnlyEBS")

    assert run(lambda_context, jobDefinitionVcpus=256)["config"]["jobDefinitionVcpus"] == 256


def test_vcpus_no_type_of_the_family_offers_are_refused(stack, lambda_context):
    stack("OnlyEBS", INSTANCE_TYPES="c5")

    message = refused(lambda_context, jobDefinitionVcpus=128, jobDefinitionMemory=1024)

    assert "jobDefinitionVcpus = 128 with jobDefinitionMemory = 1024 (MiB)" in message
    assert "no instance type of InstanceTypes = c5 offers both" in message
    assert re.search(r"the most vCPUs: c5\.\w+ with 96;", message)


def test_memory_an_instance_has_but_batch_keeps_for_itself_is_refused(stack, lambda_context):
    # c5.large has 4096 MiB, of which Batch's AMI keeps at least 32 for the ECS agent.
    stack("OnlyEBS", INSTANCE_TYPES="c5.large")

    message = refused(lambda_context, jobDefinitionVcpus=2, jobDefinitionMemory=4096)

    assert "jobDefinitionMemory = 4096" in message
    assert "c5.large with 4096 MiB, of which Batch keeps at least 32 MiB" in message


def test_a_job_one_named_type_can_hold_is_accepted(stack, lambda_context):
    stack("OnlyEBS", INSTANCE_TYPES="c5.large,m7i")

    config = run(lambda_context, jobDefinitionVcpus=192, jobDefinitionMemory=700000)["config"]

    assert (config["jobDefinitionVcpus"], config["jobDefinitionMemory"]) == (192, 700000)


@pytest.mark.parametrize("types", ["optimal", "default_x86_64", "default_arm64", "optimal,c5"])
def test_types_batch_chooses_are_not_second_guessed(stack, lambda_context, types):
    stack("OnlyEBS", INSTANCE_TYPES=types)

    config = run(lambda_context, jobDefinitionVcpus=200, jobDefinitionMemory=1_000_000)["config"]

    assert config["jobDefinitionVcpus"] == 200


def test_every_page_of_instance_types_is_read(aws):
    # The only type that fits is on the second page.
    config = build_config("OnlyEBS", EBS_SECRET, {"jobDefinitionVcpus": 64})
    limits = StackLimits(256, ("c7i",), None, BUCKET)

    def kind(name: str, cpus: int) -> dict[str, Any]:
        return {
            "InstanceType": name,
            "VCpuInfo": {"DefaultVCpus": cpus},
            "MemoryInfo": {"SizeInMiB": cpus * 2048},
        }

    ec2 = layer_aws.client("ec2")
    with Stubber(ec2) as stub:
        request = {"Filters": [{"Name": "instance-type", "Values": ["c7i.*"]}]}
        stub.add_response(
            "describe_instance_types",
            {"InstanceTypes": [kind("c7i.large", 2)], "NextToken": "page-2"},
            request,
        )
        stub.add_response(
            "describe_instance_types",
            {"InstanceTypes": [kind("c7i.16xlarge", 64)]},
            {**request, "NextToken": "page-2"},
        )
        check_placement(config, limits)
        stub.assert_no_pending_responses()


def test_a_file_system_larger_than_the_stack_allows_is_refused(stack, lambda_context):
    stack("TaskExport", MAX_LUSTRE_STORAGE_CAPACITY="4800")

    message = refused(lambda_context, lustreStorageCapacity=7200)

    assert "lustreStorageCapacity = 7200 (GiB): more than the stack's " in message
    assert "MaxLustreStorageCapacity = 4800 GiB" in message


def test_a_path_in_another_bucket_is_refused(stack, lambda_context):
    stack("TaskExport")

    message = refused(lambda_context, dataRepositoryPath="s3://someone-elses-bucket/results/")

    assert "dataRepositoryPath = 's3://someone-elses-bucket/results/': must lie in the " in message
    assert f"stack's data bucket {BUCKET}" in message


@pytest.mark.parametrize("mode", ["TaskExport", "AutoExport"])
def test_a_run_links_its_own_prefix_by_default(stack, lambda_context, mode):
    stack(mode, secret={"jobDefinitionContainerImage": IMAGE})
    start = load_event("load_config")

    config = run(lambda_context)["config"]

    assert config["dataRepositoryPath"] == f"s3://{BUCKET}/runs/{start['executionName']}/"
    assert config["inputDataRepositoryPath"] is None


def test_two_runs_link_prefixes_that_do_not_overlap(stack, lambda_context):
    stack("TaskExport", secret={"jobDefinitionContainerImage": IMAGE})
    start = load_event("load_config")
    paths = [
        app.lambda_handler(start | {"input": {}, "executionName": name}, lambda_context)["config"][
            "dataRepositoryPath"
        ]
        for name in ("run-1", "run-10")
    ]

    assert paths == [f"s3://{BUCKET}/runs/run-1/", f"s3://{BUCKET}/runs/run-10/"]
    # The trailing slash keeps run-1's prefix from holding run-10's objects.
    assert not paths[1].startswith(paths[0])


@pytest.mark.parametrize(
    ("given", "linked"),
    [
        (f"s3://{BUCKET}", f"s3://{BUCKET}/"),
        (f"s3://{BUCKET}/", f"s3://{BUCKET}/"),
        (f"s3://{BUCKET}/scratch", f"s3://{BUCKET}/scratch/"),
    ],
)
def test_an_explicit_path_is_linked_as_given_root_included(stack, lambda_context, given, linked):
    # The way to keep the original layout: the root or a prefix every run shares.
    stack("TaskExport")

    assert run(lambda_context, dataRepositoryPath=given)["config"]["dataRepositoryPath"] == linked


def test_an_empty_key_segment_is_refused(stack, lambda_context):
    stack("TaskExport")

    message = refused(lambda_context, dataRepositoryPath=f"s3://{BUCKET}//")

    assert f"dataRepositoryPath = 's3://{BUCKET}//': holds an empty folder name" in message


def test_an_input_prefix_beside_the_run_s_prefix_is_linked(stack, lambda_context):
    stack("TaskExport", secret={"jobDefinitionContainerImage": IMAGE})

    config = run(lambda_context, inputDataRepositoryPath=f"s3://{BUCKET}/inputs")["config"]

    assert config["inputDataRepositoryPath"] == f"s3://{BUCKET}/inputs/"


@pytest.mark.parametrize(
    ("export", "given"),
    [
        (None, f"s3://{BUCKET}/"),  # the root holds every run's prefix
        (None, f"s3://{BUCKET}/runs/"),
        (f"s3://{BUCKET}/shared/", f"s3://{BUCKET}/shared/inputs/"),
        (f"s3://{BUCKET}/", f"s3://{BUCKET}/inputs/"),
        (f"s3://{BUCKET}/data/", f"s3://{BUCKET}/data"),
    ],
)
def test_an_input_prefix_that_overlaps_the_export_path_is_refused(
    stack, lambda_context, export, given
):
    stack("TaskExport", secret={"jobDefinitionContainerImage": IMAGE})
    paths = {"inputDataRepositoryPath": given}
    if export is not None:
        paths["dataRepositoryPath"] = export

    message = refused(lambda_context, **paths)

    linked = given if given.endswith("/") else f"{given}/"  # as the run would link it
    assert f"inputDataRepositoryPath = {linked!r}: overlaps dataRepositoryPath" in message


def test_an_input_prefix_in_another_bucket_is_refused(stack, lambda_context):
    stack("TaskExport")

    message = refused(lambda_context, inputDataRepositoryPath="s3://someone-elses-bucket/in/")

    assert "inputDataRepositoryPath = 's3://someone-elses-bucket/in/': must lie in the " in message


def test_an_execution_name_fsx_cannot_link_is_refused(stack, lambda_context):
    stack("TaskExport", secret={"jobDefinitionContainerImage": IMAGE})
    start = load_event("load_config") | {"input": {}, "executionName": "run\u2028one"}

    with pytest.raises(InvalidConfiguration, match="not a valid FSx DataRepositoryPath"):
        app.lambda_handler(start, lambda_context)


def test_a_bucket_that_no_longer_exists_is_refused(stack, lambda_context):
    stack("TaskExport", DATA_BUCKET_NAME="batch-scratch-deleted")

    message = refused(lambda_context, dataRepositoryPath="s3://batch-scratch-deleted/runs/")

    assert "bucket batch-scratch-deleted does not exist" in message


def test_a_bucket_this_stack_cannot_read_is_refused(aws):
    config = build_config("TaskExport", LUSTRE_SECRET, {})
    s3 = layer_aws.client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("head_bucket", service_error_code="403", http_status_code=403)
        with pytest.raises(InvalidConfiguration, match=f"bucket {BUCKET} cannot be read"):
            check_data_repository(config, StackLimits(256, ("optimal",), 100800, BUCKET))


def test_a_throttled_head_bucket_is_retried_not_refused(stack, lambda_context):
    stack("TaskExport")
    s3 = layer_aws.client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("head_bucket", service_error_code="SlowDown", http_status_code=503)
        with pytest.raises(AwsTransientError):
            run(lambda_context)


def test_a_path_under_a_prefix_of_the_stack_s_bucket_is_accepted(stack, lambda_context):
    stack("TaskExport")

    config = run(lambda_context, dataRepositoryPath=f"s3://{BUCKET}/runs/run-0001/")["config"]

    assert config["dataRepositoryPath"] == f"s3://{BUCKET}/runs/run-0001/"
