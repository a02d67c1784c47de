"""What an execution input may choose, which images a run may use, what jobEnvironment may
set, and that no configuration value that may hold a credential is logged."""

import io
import json
import logging

import boto3
import pytest

from batchscratch import handler
from batchscratch.config import (
    CONFIG_MODELS,
    ENVIRONMENT_DENYLIST,
    INPUT_KEYS_PARAMETER,
    REDACTED,
    build_config,
    default_input_keys,
    input_keys_from_environment,
)
from batchscratch.errors import InvalidConfiguration, MissingSetting
from batchscratch.images import UNPINNED_TAG, check_entries, iam_patterns, image_allowed
from functions.load_config import app
from tests.conftest import load_event
from tests.unit.test_config import REPOSITORY, SECRET, STACK_SETTINGS

CREDENTIAL = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
"""A value that must never reach a log line or a message."""


@pytest.fixture
def stack(aws, monkeypatch):
    """LoadConfig deployed as template.yaml deploys it (the parameters' defaults); returns a
    function that sets the secret (the OnlyEBS one with ``**keys`` merged) and settings."""

    def deploy(secret_keys=None, **settings):
        arn = boto3.client("secretsmanager").create_secret(
            Name=f"secret-{len(str(settings))}-{len(str(secret_keys))}",
            SecretString=json.dumps({**SECRET, **(secret_keys or {})}),
        )["ARN"]
        values = {
            "CONFIG_SECRET_ID": arn,
            "MODE": "OnlyEBS",
            "STACK_NAME": "batch-scratch-onlyebs",
            **STACK_SETTINGS,
            **settings,
        }
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return deploy


def load(lambda_context, **execution_input):
    return app.lambda_handler(
        load_event("load_config") | {"input": execution_input}, lambda_context
    )


def refusal(lambda_context, **execution_input) -> str:
    with pytest.raises(InvalidConfiguration) as refused:
        load(lambda_context, **execution_input)
    return str(refused.value)


# --------------------------------------------------------------------------- the input's keys


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("jobDefinitionContainerImage", f"{REPOSITORY}:v2"),
        ("jobEnvironment", {"TOKEN": CREDENTIAL}),
        ("deleteEbs", False),
        ("jobDefinitionRetryAttempts", 2),
    ],
)
def test_an_input_key_the_stack_does_not_allow_is_refused_naming_the_parameter(
    stack, lambda_context, key, value
):
    stack()

    message = refusal(lambda_context, **{key: value})

    assert f"{key} (from the execution input): the execution input may not set this key" in message
    assert f"add it to the stack parameter {INPUT_KEYS_PARAMETER}" in message
    assert CREDENTIAL not in message


def test_the_secret_may_still_set_the_image_and_the_environment(stack, lambda_context):
    stack({"jobDefinitionContainerImage": f"{REPOSITORY}:v2", "jobEnvironment": {"MODEL": "x"}})

    config = load(lambda_context, ebsSizeGb=100)["config"]

    assert config["jobDefinitionContainerImage"] == f"{REPOSITORY}:v2"
    assert config["jobEnvironment"] == {"MODEL": "x"}
    assert config["ebsSizeGb"] == 100


def test_a_key_the_owner_adds_to_the_parameter_may_come_from_the_input(stack, lambda_context):
    stack(EXECUTION_INPUT_KEYS="ebsSizeGb,jobEnvironment")

    config = load(lambda_context, jobEnvironment={"MODEL": "y"})["config"]

    assert config["jobEnvironment"] == {"MODEL": "y"}
    assert "ebsIOPS (from the execution input)" in refusal(lambda_context, ebsIOPS=4000)


def test_a_star_allows_every_key_and_an_empty_list_none(stack, lambda_context, monkeypatch):
    stack(EXECUTION_INPUT_KEYS="*")
    assert load(lambda_context, deleteEbs=False)["config"]["deleteEbs"] is False

    monkeypatch.setenv("EXECUTION_INPUT_KEYS", "")
    message = refusal(lambda_context, ebsSizeGb=100)
    assert "ebsSizeGb (from the execution input)" in message
    assert "the execution input may set: no key" in message
    # An empty input is always valid.
    assert load(lambda_context)["config"]["ebsSizeGb"] == 500


def test_an_unknown_key_is_still_refused_as_unknown(stack, lambda_context):
    stack()

    message = refusal(lambda_context, lustreStorageCapacity=2400)

    assert "lustreStorageCapacity (from the execution input): unknown key" in message
    assert "ExecutionInputKeys" in message


def test_values_of_a_misspelt_or_misshapen_environment_are_never_shown(stack, lambda_context):
    stack({"jobEnvironment": [f"API_TOKEN={CREDENTIAL}"]})

    assert CREDENTIAL not in refusal(lambda_context)

    stack(EXECUTION_INPUT_KEYS="*")
    assert CREDENTIAL not in refusal(lambda_context, JobEnvironment={"API_TOKEN": CREDENTIAL})


def test_every_environment_problem_is_named_in_one_message(stack, lambda_context):
    stack({"jobEnvironment": {"BAD-NAME": "x", "SHELLOPTS": "xtrace", "S3_PREFIX": "x"}})

    message = refusal(lambda_context)

    assert "not valid environment variable names: ['BAD-NAME']" in message
    assert "SHELLOPTS (the shell's start-up and tracing)" in message
    assert "['S3_PREFIX'] are set by the run itself" in message


def test_refused_and_unknown_keys_are_named_together(stack, lambda_context):
    stack()

    message = refusal(lambda_context, deleteEbs=False, ebsSizeGB=5)

    assert "deleteEbs (from the execution input)" in message
    assert "ebsSizeGB = 5 (from the execution input): unknown key" in message


def test_a_parameter_naming_a_key_no_mode_has_is_a_broken_deployment(monkeypatch):
    monkeypatch.setenv("EXECUTION_INPUT_KEYS", "ebsSizeGb,ebsSizeGB")

    with pytest.raises(
        MissingSetting, match=r"ExecutionInputKeys names keys no mode has: \['ebsSizeGB'\]"
    ):
        input_keys_from_environment()


def test_keys_of_other_modes_in_the_parameter_do_not_apply(monkeypatch):
    monkeypatch.setenv("EXECUTION_INPUT_KEYS", ",".join(default_input_keys()))
    keys = input_keys_from_environment()

    assert "lustreStorageCapacity" in keys
    with pytest.raises(InvalidConfiguration, match="unknown key"):
        build_config("OnlyEBS", SECRET, {"lustreStorageCapacity": 2400}, keys)


@pytest.mark.parametrize("mode", sorted(CONFIG_MODELS))
def test_the_default_keys_are_the_model_s_and_leave_out_what_runs(mode):
    model = CONFIG_MODELS[mode]

    assert set(model.EXECUTION_INPUT_KEYS) <= set(model.model_fields)
    assert set(model.EXECUTION_INPUT_KEYS) <= set(default_input_keys())
    kept = {"jobDefinitionContainerImage", "jobEnvironment", "jobDefinitionRetryAttempts"}
    kept |= {key for key in model.model_fields if key.startswith(("delete", "verify"))}
    kept |= {"dataRepositoryPath", "lustreDeploymentType", "lustreFileSystemTypeVersion"}
    assert not kept & set(model.EXECUTION_INPUT_KEYS)


# --------------------------------------------------------------------------- the image

OTHER = "public.ecr.aws/my-alias/tools"
NAMESPACE = "ghcr.io/my-org/*"
ENTRIES = [REPOSITORY, OTHER, NAMESPACE]
DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "image",
    [
        REPOSITORY,
        f"{REPOSITORY}:latest",
        f"{REPOSITORY}@{DIGEST}",
        f"{REPOSITORY}:v1@{DIGEST}",
        f"{OTHER}:1.0",
        "ghcr.io/my-org/solver:2",
        "ghcr.io/my-org/team/solver@" + DIGEST,
    ],
)
def test_images_of_an_allowed_repository_are_allowed(image):
    assert image_allowed(image, ENTRIES)


@pytest.mark.parametrize(
    "image",
    [
        f"{REPOSITORY}-evil:latest",  # another repository whose name starts the same
        f"{REPOSITORY}/other:latest",  # a repository under it
        REPOSITORY.replace("123456789012", "210987654321") + ":latest",  # another account
        REPOSITORY.replace("us-east-1", "eu-west-1") + ":latest",  # another Region
        "batch-job-with-ebs:latest",  # Docker Hub's, not the stack's
        "docker.io/library/ubuntu:22.04",
        f"{OTHER}-evil:1",
        "ghcr.io/my-org-evil/solver:2",
        "ghcr.io/my-org:2",
        f"{REPOSITORY}:tag/../../x",  # not a reference
    ],
)
def test_images_elsewhere_are_refused(image):
    assert not image_allowed(image, ENTRIES)


def test_an_image_outside_the_allowed_repositories_is_refused_from_the_secret(
    stack, lambda_context
):
    stack({"jobDefinitionContainerImage": "docker.io/library/ubuntu:22.04"})

    message = refusal(lambda_context)

    assert (
        "jobDefinitionContainerImage = 'docker.io/library/ubuntu:22.04' (from the secret)"
        in message
    )
    assert f"the stack's repository {REPOSITORY}" in message
    assert "AllowedImagePrefixes" in message


def test_an_image_outside_the_allowed_repositories_is_refused_from_the_input(stack, lambda_context):
    stack(EXECUTION_INPUT_KEYS="*")

    message = refusal(lambda_context, jobDefinitionContainerImage=f"{REPOSITORY}-evil:1")

    assert "(from the execution input): not in an allowed repository" in message


def test_the_stack_s_unpinned_placeholder_is_refused_before_anything_exists(stack, lambda_context):
    stack({"jobDefinitionContainerImage": f"{REPOSITORY}:{UNPINNED_TAG}"})

    message = refusal(lambda_context)

    assert f"jobDefinitionContainerImage = '{REPOSITORY}:{UNPINNED_TAG}' (from the secret)" in (
        message
    )
    assert "docker/push-image.sh --pin" in message


def test_an_image_under_an_allowed_prefix_is_accepted(stack, lambda_context):
    stack({"jobDefinitionContainerImage": f"{OTHER}@{DIGEST}"}, ALLOWED_IMAGES=",".join(ENTRIES))

    assert load(lambda_context)["config"]["jobDefinitionContainerImage"] == f"{OTHER}@{DIGEST}"


@pytest.mark.parametrize(
    "entry", ["ubuntu", "library/ubuntu", "docker.io", "docker.io/", "docker.io/x*", "x.io/a:1"]
)
def test_an_entry_without_registry_and_path_is_refused(entry):
    with pytest.raises(ValueError, match="registry/path"):
        check_entries([entry])


def test_each_entry_allows_its_repository_three_ways_in_iam():
    assert iam_patterns([OTHER]) == [OTHER, f"{OTHER}:*", f"{OTHER}@*"]


# --------------------------------------------------------------------------- the environment

REFUSED_NAMES = [
    "SHELLOPTS",
    "PS4",
    "ENV",
    "OPENSSL_CONF",
    "GCONV_PATH",
    "HOME",
    "XDG_CONFIG_HOME",
    "CURL_HOME",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CA_BUNDLE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_BATCH_JOB_ID",
    "ECS_CONTAINER_METADATA_URI_V4",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "GLIBC_TUNABLES",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "PYTHONPATH",
    "NODE_OPTIONS",
    "JAVA_TOOL_OPTIONS",
    "BASH_ENV",
    "PATH",
]


@pytest.mark.parametrize("name", REFUSED_NAMES)
def test_environment_names_that_change_sdks_linker_proxies_or_code_are_refused_from_the_secret(
    name,
):
    with pytest.raises(InvalidConfiguration) as refused:
        build_config("OnlyEBS", {**SECRET, "jobEnvironment": {name: CREDENTIAL}}, {})

    message = str(refused.value)
    assert f"{name} (" in message
    assert "(from the secret)" in message
    assert CREDENTIAL not in message


def test_every_refused_name_is_named_with_its_rule():
    environment = {"LD_PRELOAD": "x", "https_proxy": "y", "AWS_PROFILE": "z", "OK": "1"}

    with pytest.raises(InvalidConfiguration) as refused:
        build_config("OnlyEBS", SECRET, {"jobEnvironment": environment})

    message = str(refused.value)
    assert "AWS_PROFILE (AWS SDK and CLI settings" in message
    assert "LD_PRELOAD (the dynamic linker)" in message
    assert "https_proxy (proxies)" in message
    assert "OK (" not in message


@pytest.mark.parametrize(
    "name", ["OMP_NUM_THREADS", "MODEL_PATH", "AWSOME", "LDFLAGS", "PROXY_HOST", "MY_PATH"]
)
def test_other_names_are_accepted(name):
    config = build_config("OnlyEBS", SECRET, {"jobEnvironment": {name: "1"}})

    assert config.jobEnvironment == {name: "1"}


def test_every_rule_refuses_something_the_tests_name():
    assert all(any(rule.refuses(name) for name in REFUSED_NAMES) for rule in ENVIRONMENT_DENYLIST)


# --------------------------------------------------------------------------- nothing logged


@pytest.fixture
def logs():
    """What the handlers' logger writes at INFO (the tests run at WARNING), as deployed: its
    own JSON formatter, into a buffer."""
    buffer = io.StringIO()
    stream = logging.StreamHandler(buffer)
    stream.setFormatter(handler.logger.registered_formatter)
    level = handler.logger.log_level
    handler.logger.addHandler(stream)
    handler.logger.setLevel("INFO")
    yield buffer
    handler.logger.setLevel(level)
    handler.logger.removeHandler(stream)


def test_load_config_logs_environment_names_but_not_their_values(stack, lambda_context, logs):
    stack({"jobEnvironment": {"API_TOKEN": CREDENTIAL}})

    result = load(lambda_context)

    assert result["config"]["jobEnvironment"] == {"API_TOKEN": CREDENTIAL}  # the job gets it
    logged = logs.getvalue()
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    [line] = [line for line in lines if line.get("message") == "Run configuration loaded"]
    assert line["config"]["jobEnvironment"] == {"API_TOKEN": REDACTED}
    assert line["config"]["ebsSizeGb"] == 500
    assert CREDENTIAL not in logged


def test_a_refused_environment_value_is_never_in_the_message():
    with pytest.raises(InvalidConfiguration) as refused:
        build_config("OnlyEBS", SECRET, {"jobEnvironment": {"TOKEN": 12345}})

    message = str(refused.value)
    assert "jobEnvironment.TOKEN" in message
    assert "12345" not in message
