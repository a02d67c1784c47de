"""LoadConfig: secret overlaid with the execution input, validated before anything exists."""

import json
import re

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from botocore.stub import Stubber

from batchscratch.config import CONFIG_MODELS, build_config, default_input_keys
from batchscratch.errors import AwsTransientError, InvalidConfiguration
from functions.load_config import app
from tests.conftest import load_event

SECRET = {
    "deleteEbs": "true",
    "ebsSizeGb": "500",
    "ebsIOPS": 5000,
    "ebsThroughput": 500,
    "jobDefinitionContainerImage": (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/batch-job-with-ebs:latest"
    ),
    "jobDefinitionRetryAttempts": "5",
    "jobDefinitionVcpus": 32,
    "jobDefinitionMemory": 30000,
    "waitForEbsCreationSeconds": 30,
    "waitForJobCompletionSeconds": 300,
    "waitAfterDetachSeconds": 10,
}


REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/batch-job-with-ebs"
STACK_SETTINGS = {
    "DATA_BUCKET_NAME": "batch-scratch-data",
    "INSTANCE_TYPES": "optimal",
    "MAX_VCPUS": "256",
    "MAX_LUSTRE_STORAGE_CAPACITY": "100800",
    "EXECUTION_INPUT_KEYS": ",".join(default_input_keys()),
    "ALLOWED_IMAGES": REPOSITORY,
}
"""LoadConfig's stack settings, as template.yaml sets them with the parameters' defaults."""


@pytest.fixture
def secret(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The OnlyEBS secret with the original project's defaults (strings where it wrote them)."""
    arn = boto3.client("secretsmanager").create_secret(
        Name="BatchJobWithOnlyEbs-test", SecretString=json.dumps(SECRET)
    )["ARN"]
    for name, value in {
        "CONFIG_SECRET_ID": arn,
        "MODE": "OnlyEBS",
        "STACK_NAME": "batch-scratch-onlyebs",
        **STACK_SETTINGS,
    }.items():
        monkeypatch.setenv(name, value)
    return arn


def test_empty_input_runs_with_the_secret_defaults(secret, lambda_context):
    result = app.lambda_handler(load_event("load_config"), lambda_context)

    assert result["config"]["ebsSizeGb"] == 500
    assert result["config"]["deleteEbs"] is True
    assert result["config"]["jobDefinitionRetryAttempts"] == 5
    assert result["config"]["onFailure"] == "snapshot"
    assert result["run"]["runId"] == "run-0001"
    assert result["run"]["mode"] == "OnlyEBS"


def test_a_secret_edited_between_two_runs_applies_to_the_second(secret, lambda_context):
    event = load_event("load_config")
    assert app.lambda_handler(event, lambda_context)["config"]["ebsSizeGb"] == 500
    edited = {**SECRET, "ebsSizeGb": "750"}
    boto3.client("secretsmanager").put_secret_value(
        SecretId=secret, SecretString=json.dumps(edited)
    )

    assert app.lambda_handler(event, lambda_context)["config"]["ebsSizeGb"] == 750


def test_execution_input_overrides_the_secret(secret, lambda_context):
    event = load_event("load_config") | {"input": {"ebsSizeGb": "200", "onFailure": "retain"}}

    config = app.lambda_handler(event, lambda_context)["config"]

    assert config["ebsSizeGb"] == 200
    assert config["onFailure"] == "retain"


def test_negative_size_is_refused_naming_key_value_and_rule(secret, lambda_context):
    event = load_event("load_config") | {"input": {"ebsSizeGb": -5}}

    with pytest.raises(InvalidConfiguration) as refused:
        app.lambda_handler(event, lambda_context)

    message = str(refused.value)
    assert "ebsSizeGb = -5" in message
    assert "execution input" in message
    assert "greater than or equal to 1" in message


@pytest.mark.parametrize("name", [".", ".."])
def test_an_execution_name_that_cannot_name_the_run_s_directory_is_refused(
    secret, lambda_context, name
):
    # Step Functions accepts them, but the run id names the run's directory on its storage.
    event = load_event("load_config") | {"executionName": name}

    with pytest.raises(InvalidConfiguration, match=f"execution name = '{re.escape(name)}'"):
        app.lambda_handler(event, lambda_context)


def test_unknown_key_is_refused_listing_the_allowed_keys(secret, lambda_context):
    event = load_event("load_config") | {"input": {"lustreStorageCapacity": 2400}}

    with pytest.raises(InvalidConfiguration) as refused:
        app.lambda_handler(event, lambda_context)

    message = str(refused.value)
    assert "lustreStorageCapacity (from the execution input): unknown key" in message
    # The keys an input may set, and where that is decided; never the unknown key's value.
    assert "an execution input may set only" in message and "ebsSizeGb" in message
    assert "ExecutionInputKeys" in message and "2400" not in message


def test_input_that_is_not_an_object_is_refused(secret, lambda_context):
    event = load_event("load_config") | {"input": [1, 2]}

    with pytest.raises(InvalidConfiguration, match="execution input must be a JSON object"):
        app.lambda_handler(event, lambda_context)


def test_secret_that_is_not_json_is_refused(aws, monkeypatch, lambda_context):
    arn = boto3.client("secretsmanager").create_secret(Name="broken", SecretString="ebsSizeGb=5")[
        "ARN"
    ]
    monkeypatch.setenv("CONFIG_SECRET_ID", arn)
    monkeypatch.setenv("MODE", "OnlyEBS")
    monkeypatch.setenv("STACK_NAME", "s")
    for name, value in STACK_SETTINGS.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(InvalidConfiguration, match="is not valid JSON"):
        app.lambda_handler(load_event("load_config"), lambda_context)


@pytest.mark.parametrize(
    ("overlay", "expected"),
    [
        ({"ebsIOPS": 2999}, "ebsIOPS = 2999"),
        ({"ebsIOPS": 80001}, "ebsIOPS = 80001"),
        ({"ebsSizeGb": 65537}, "ebsSizeGb = 65537"),
        ({"ebsThroughput": 2001}, "ebsThroughput = 2001"),
        ({"ebsSizeGb": 10, "ebsIOPS": 6000}, "exceeds 500 IOPS per GiB"),
        ({"ebsIOPS": 3000, "ebsThroughput": 1000}, "exceeds 0.25 MiB/s per provisioned IOPS"),
        ({"jobDefinitionRetryAttempts": 11}, "jobDefinitionRetryAttempts = 11"),
        ({"onFailure": "export"}, 'onFailure = "export"'),
        ({"deleteEbs": "perhaps"}, 'deleteEbs = "perhaps"'),
        ({"jobEnvironment": {"AWS_BATCH_JOB_ID": "x"}}, "AWS_BATCH_JOB_ID (AWS SDK and CLI"),
        ({"waitForEbsCreationSeconds": 1.5}, "waitForEbsCreationSeconds = 1.5"),
        ({"ebsSizeGb": True}, "ebsSizeGb = true: must be a number, not a boolean"),
        ({"jobAttemptTimeoutSeconds": False}, "jobAttemptTimeoutSeconds = false"),
        ({"jobEnvironment": {"SCRATCH_DIR": "/tmp"}}, "['SCRATCH_DIR'] are set by the run itself"),
        ({"jobEnvironment": {"MY VAR": "1"}}, "not valid environment variable names: ['MY VAR']"),
        ({"jobEnvironment": {"": "1"}}, "not valid environment variable names"),
    ],
)
def test_values_outside_the_rules_are_refused(overlay, expected):
    with pytest.raises(InvalidConfiguration) as refused:
        build_config("OnlyEBS", SECRET, overlay)

    assert expected in str(refused.value)


def test_gp3_limits_at_their_boundaries_are_accepted():
    config = build_config(
        "OnlyEBS", SECRET, {"ebsSizeGb": 65536, "ebsIOPS": 80000, "ebsThroughput": 2000}
    )

    assert (config.ebsSizeGb, config.ebsIOPS, config.ebsThroughput) == (65536, 80000, 2000)


def test_small_volume_keeps_the_gp3_baseline():
    config = build_config(
        "OnlyEBS", SECRET, {"ebsSizeGb": 1, "ebsIOPS": 3000, "ebsThroughput": 125}
    )

    assert config.ebsIOPS == 3000


def test_unimplemented_mode_is_refused():
    with pytest.raises(InvalidConfiguration, match="mode = 'Hybrid' is not implemented"):
        build_config("Hybrid", SECRET, {})


LUSTRE_SECRET = {
    "deleteLustre": "true",
    "lustreFileSystemTypeVersion": 2.15,
    "lustreStorageCapacity": "2400",
    "lustreImportedFileChunkSize": 1024,
    "jobDefinitionContainerImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:latest",
    "waitForLustreCreationSeconds": 30,
    "waitForDataRepositoryTaskSeconds": 300,
    "dataRepositoryPath": "s3://batch-scratch-data/",
}


def test_lustre_secret_with_the_original_value_types_validates():
    config = build_config("TaskExport", LUSTRE_SECRET, {})

    assert (
        config.model_dump()
        | {
            "lustreFileSystemTypeVersion": "2.15",
            "lustreStorageCapacity": 2400,
            "lustreDeploymentType": "SCRATCH_2",
            "onFailure": "export",
            "arraySize": 1,
        }
        == config.model_dump()
    )


@pytest.mark.parametrize("capacity", [1200, 2400, 4800, 72000])
def test_lustre_capacities_on_the_rule_are_accepted(capacity):
    config = build_config("TaskExport", LUSTRE_SECRET, {"lustreStorageCapacity": capacity})

    assert config.lustreStorageCapacity == capacity


@pytest.mark.parametrize(
    ("overlay", "expected"),
    [
        (
            {"lustreStorageCapacity": 1000},
            "lustreStorageCapacity = 1000 is not allowed for SCRATCH_2: allowed values are 1200, "
            "2400 or a multiple of 2400 GiB",
        ),
        ({"lustreStorageCapacity": 3600}, "lustreStorageCapacity = 3600 is not allowed"),
        (
            {"lustreDeploymentType": "SCRATCH_1"},
            'lustreDeploymentType = "SCRATCH_1" (from the execution input): SCRATCH_1 file '
            "systems cannot have data repository associations",
        ),
        ({"lustreDeploymentType": "PERSISTENT_3"}, "must be one of SCRATCH_2"),
        ({"lustreFileSystemTypeVersion": "2.10"}, 'lustreFileSystemTypeVersion = "2.10"'),
        (
            {"lustreDeploymentType": "PERSISTENT_1", "lustrePerUnitStorageThroughput": 125},
            "allowed values are 50, 100, 200 MB/s/TiB",
        ),
        ({"lustrePerUnitStorageThroughput": 125}, "applies only to PERSISTENT_1 and PERSISTENT_2"),
        ({"lustreImportedFileChunkSize": 512001}, "lustreImportedFileChunkSize = 512001"),
        ({"dataRepositoryPath": "my-bucket/results"}, 'dataRepositoryPath = "my-bucket/results"'),
        ({"arraySize": 10001}, "arraySize = 10001"),
        ({"onFailure": "snapshot"}, 'onFailure = "snapshot"'),
        ({"ebsSizeGb": 100}, "ebsSizeGb (from the execution input): unknown key"),
    ],
)
def test_lustre_values_outside_the_rules_are_refused(overlay, expected):
    with pytest.raises(InvalidConfiguration) as refused:
        build_config("TaskExport", LUSTRE_SECRET, overlay)

    assert expected in str(refused.value)


def test_persistent_types_default_to_their_lowest_throughput():
    p1 = build_config("TaskExport", LUSTRE_SECRET, {"lustreDeploymentType": "PERSISTENT_1"})
    p2 = build_config("TaskExport", LUSTRE_SECRET, {"lustreDeploymentType": "PERSISTENT_2"})
    scratch = build_config("TaskExport", LUSTRE_SECRET, {})

    assert (p1.per_unit_throughput(), p2.per_unit_throughput()) == (50, 125)
    assert scratch.per_unit_throughput() is None


@pytest.mark.parametrize("value", [True, False, "true", "false"])
def test_booleans_accept_json_booleans_and_their_strings(value):
    config = build_config("OnlyEBS", SECRET, {"deleteEbs": value})

    assert config.deleteEbs is (value in (True, "true"))


@pytest.mark.parametrize("value", [0, 1, "n", "no", "yes", "on", "True", "FALSE", "1", None])
def test_booleans_refuse_anything_else(value):
    with pytest.raises(InvalidConfiguration) as refused:
        build_config("OnlyEBS", SECRET, {"deleteEbs": value})

    assert f"deleteEbs = {json.dumps(value)}" in str(refused.value)
    assert 'must be true or false (JSON booleans, or the strings "true" and "false")' in str(
        refused.value
    )


@pytest.mark.parametrize("value", [0, "n"])
def test_the_export_check_cannot_be_turned_off_by_a_typo(value):
    with pytest.raises(InvalidConfiguration, match="verifyExportBeforeDelete = "):
        build_config("AutoExport", LUSTRE_SECRET, {"verifyExportBeforeDelete": value})


def test_job_start_timeout_defaults_to_an_hour():
    assert build_config("OnlyEBS", SECRET, {}).jobStartTimeoutSeconds == 3600


@pytest.mark.parametrize(
    ("overlay", "expected"),
    [
        ({"jobStartTimeoutSeconds": 59}, "jobStartTimeoutSeconds = 59"),
        ({"jobStartTimeoutSeconds": 86401}, "jobStartTimeoutSeconds = 86401"),
        ({"storageTimeoutSeconds": 31536001}, "storageTimeoutSeconds = 31536001"),
        ({"computeTimeoutSeconds": 31536001}, "computeTimeoutSeconds = 31536001"),
        ({"cleanupTimeoutSeconds": 31536001}, "cleanupTimeoutSeconds = 31536001"),
        ({"jobAttemptTimeoutSeconds": 31536001}, "jobAttemptTimeoutSeconds = 31536001"),
        ({"waitForJobCompletionSeconds": 3601}, "waitForJobCompletionSeconds = 3601"),
        ({"jobDefinitionMemory": 33554433}, "jobDefinitionMemory = 33554433"),
        ({"jobDefinitionVcpus": 4097}, "jobDefinitionVcpus = 4097"),
        ({"jobCommand": [""]}, 'jobCommand = [""] (from the execution input): items must be'),
        ({"jobCommand": ["sh", "-c", ""]}, "item(s) [2] are empty"),
        ({"jobCommand": []}, "jobCommand = []"),
        ({"jobCommand": ["x" * 16384]}, "at most 16384 fit in a job definition"),
        ({"jobDefinitionContainerImage": "not an image"}, "not an image reference"),
        ({"jobDefinitionContainerImage": "Ubuntu:22.04"}, 'jobDefinitionContainerImage = "Ubuntu'),
        ({"jobDefinitionContainerImage": "repo:"}, "not an image reference"),
        ({"jobDefinitionContainerImage": "repo@sha256:abc"}, "not an image reference"),
        ({"jobDefinitionContainerImage": "a/" * 128 + "b"}, "at most 255 characters"),
    ],
)
def test_values_above_what_aws_accepts_are_refused(overlay, expected):
    with pytest.raises(InvalidConfiguration) as refused:
        build_config("OnlyEBS", SECRET, overlay)

    assert expected in str(refused.value)


@pytest.mark.parametrize(
    "image",
    [
        "ubuntu",
        "amazon/amazon-ecs-agent:latest",
        "public.ecr.aws/docker/library/python:3.13-slim",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/batch-job-with-ebs:latest",
        "localhost:5000/team/job_image__v2",
        "quay.io/org/job@sha256:" + "a" * 64,
        "registry.example.com:443/job:v1.2@sha256:" + "0123456789abcdef" * 4,
    ],
)
def test_image_references_in_the_docker_grammar_are_accepted(image):
    config = build_config("OnlyEBS", SECRET, {"jobDefinitionContainerImage": image})

    assert config.jobDefinitionContainerImage == image


def test_a_capacity_no_file_system_can_have_is_refused_before_it_is_created():
    with pytest.raises(InvalidConfiguration) as refused:
        build_config("TaskExport", LUSTRE_SECRET, {"lustreStorageCapacity": 2.4e18})

    assert "lustreStorageCapacity = 2.4e+18" in str(refused.value)
    assert "less than or equal to 2147483647" in str(refused.value)


def test_a_throttled_secret_read_is_retried_by_the_state_machine(secret, lambda_context):
    # Powertools' get_secret uses the provider registered for "secrets": give it a client
    # that answers GetSecretValue as AWS does when it throttles (after the SDK's retries).
    sm = boto3.client("secretsmanager")
    providers = parameters.base.DEFAULT_PROVIDERS
    with Stubber(sm) as stub:
        stub.add_client_error(
            "get_secret_value", service_error_code="ThrottlingException", http_status_code=400
        )
        saved = providers.get("secrets")
        providers["secrets"] = parameters.SecretsProvider(boto3_client=sm)
        try:
            with pytest.raises(AwsTransientError, match=r"reading secret .*ThrottlingException"):
                app.lambda_handler(load_event("load_config"), lambda_context)
        finally:
            if saved is None:
                providers.pop("secrets", None)
            else:
                providers["secrets"] = saved


def test_a_secret_that_cannot_be_read_keeps_its_error(aws, monkeypatch, lambda_context):
    monkeypatch.setenv("CONFIG_SECRET_ID", "no-such-secret")
    monkeypatch.setenv("MODE", "OnlyEBS")
    monkeypatch.setenv("STACK_NAME", "s")
    for name, value in STACK_SETTINGS.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(parameters.exceptions.GetParameterError, match="ResourceNotFound"):
        app.lambda_handler(load_event("load_config"), lambda_context)


def test_poll_intervals_that_could_overflow_the_history_are_refused(secret, lambda_context):
    event = load_event("load_config") | {"input": {"waitAfterDetachSeconds": 0}}

    with pytest.raises(InvalidConfiguration) as refused:
        app.lambda_handler(event, lambda_context)

    message = str(refused.value)
    assert "history events, more than the 25,000 an execution holds" in message
    assert "cleanupTimeoutSeconds = 10800 / waitAfterDetachSeconds = 0" in message


ENUMERATED = {"lustrePerUnitStorageThroughput"}
"""Numbers whose allowed values are a list (LUSTRE_PER_UNIT_THROUGHPUT), not a range."""


@pytest.mark.parametrize("mode", ["OnlyEBS", "TaskExport", "AutoExport"])
def test_every_number_has_an_upper_bound(mode):
    model = CONFIG_MODELS[mode]
    unbounded = [
        key
        for key, field in model.model_fields.items()
        if field.annotation in (int, int | None)
        and key not in ENUMERATED
        and not any(getattr(rule, "le", None) is not None for rule in field.metadata)
    ]

    assert unbounded == []
    with pytest.raises(InvalidConfiguration, match="lustrePerUnitStorageThroughput = 10000"):
        build_config(
            "TaskExport",
            LUSTRE_SECRET,
            {"lustreDeploymentType": "PERSISTENT_2", "lustrePerUnitStorageThroughput": 10000},
        )


@pytest.mark.parametrize("text", ["1_000", " 500 ", "+500", "500.0", "5e2", ""])
def test_a_number_in_a_string_is_digits_only(text):
    with pytest.raises(InvalidConfiguration, match=r"ebsSizeGb = .*digits only"):
        build_config(
            "OnlyEBS", {"jobDefinitionContainerImage": "repo/image:1"}, {"ebsSizeGb": text}
        )


def test_a_number_in_a_string_of_digits_is_read():
    config = build_config(
        "OnlyEBS", {"jobDefinitionContainerImage": "repo/image:1"}, {"ebsSizeGb": "600"}
    )

    assert config.ebsSizeGb == 600  # type: ignore[attr-defined]
