"""Secrets of the original CDK project: the keys it wrote that these models have no field for
are accepted when they say what the mode does, and otherwise refused with a message that names
the key, the value and the migration page; any other unknown key is refused as before."""

import pytest

from batchscratch.config import (
    DEPLOYMENT_KEYS,
    MIGRATION_PAGE,
    build_config,
    configuration_keys,
)
from batchscratch.errors import InvalidConfiguration
from batchscratch.modes import MODES
from tests.conftest import REPO

IMAGE = {"jobDefinitionContainerImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:1"}
ORIGINAL_AUTO_EXPORT_SECRET = {
    # The original AutoExport stack's secret (its values as strings, as it wrote them).
    "autoExport": "true",
    "deleteLustre": "true",
    "lustreFileSystemTypeVersion": "2.15",
    "lustreStorageCapacity": "2400",
    "lustreImportedFileChunkSize": "1024",
    "jobDefinitionRetryAttempts": "5",
    "jobDefinitionVcpus": "32",
    "jobDefinitionMemory": "30000",
    "waitForLustreCreationSeconds": "30",
    "waitForJobCompletionSeconds": "300",
    "waitForCheckMetricsSeconds": "60",
    **IMAGE,
}


@pytest.mark.parametrize("value", [True, "true"])
def test_auto_export_true_is_what_auto_export_mode_does(value):
    config = build_config("AutoExport", {**ORIGINAL_AUTO_EXPORT_SECRET, "autoExport": value}, {})

    assert "autoExport" not in config.model_dump()
    assert config.lustreStorageCapacity == 2400  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", [False, "false"])
def test_auto_export_false_is_what_task_export_mode_does(value):
    config = build_config("TaskExport", {**IMAGE, "autoExport": value}, {})

    assert "autoExport" not in config.model_dump()


@pytest.mark.parametrize("value", [False, "false"])
def test_auto_export_false_in_auto_export_mode_points_to_task_export(value):
    secret = {**ORIGINAL_AUTO_EXPORT_SECRET, "autoExport": value}

    with pytest.raises(InvalidConfiguration) as refused:
        build_config("AutoExport", secret, {})

    message = str(refused.value)
    shown = "false" if value is False else '"false"'
    assert f"autoExport = {shown} (from the secret)" in message
    assert "deploy the stack with Mode=TaskExport" in message
    assert MIGRATION_PAGE in message


def test_auto_export_true_in_task_export_mode_points_to_auto_export():
    with pytest.raises(InvalidConfiguration) as refused:
        build_config("TaskExport", {**IMAGE, "autoExport": True}, {})

    message = str(refused.value)
    assert "autoExport = true (from the secret)" in message
    assert "deploy the stack with Mode=AutoExport" in message
    assert MIGRATION_PAGE in message


@pytest.mark.parametrize("value", [1, 0, "yes", None])
def test_auto_export_must_be_a_boolean(value):
    with pytest.raises(InvalidConfiguration, match=r"autoExport = .* must be true or false"):
        build_config("AutoExport", {**IMAGE, "autoExport": value}, {})


def test_auto_export_in_the_execution_input_is_judged_like_the_secret_s():
    # The input overrides the secret: its value is the one judged and named.
    secret = {**ORIGINAL_AUTO_EXPORT_SECRET, "autoExport": True}

    with pytest.raises(InvalidConfiguration, match=r"autoExport = false \(from the execution"):
        build_config("AutoExport", secret, {"autoExport": False}, ("jobCommand",))
    config = build_config("AutoExport", IMAGE, {"autoExport": True}, ("jobCommand",))
    assert "autoExport" not in config.model_dump()


def test_auto_export_stays_an_unknown_key_in_only_ebs_mode():
    with pytest.raises(InvalidConfiguration) as refused:
        build_config("OnlyEBS", {**IMAGE, "autoExport": True}, {})

    message = str(refused.value)
    assert "autoExport (from the secret): unknown key; allowed keys are:" in message
    assert MIGRATION_PAGE not in message


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize(
    ("key", "value", "parameter"),
    [
        ("ecrRepositoryName", "batch-job-with-lustre-auto-export", "EcrRepositoryName"),
        ("computeEnvironmentType", "SPOT", "ComputeEnvironmentType"),
        ("computeEnvironmentAllocationStrategy", "BEST_FIT_PROGRESSIVE", "AllocationStrategy"),
        ("computeEnvironmentInstanceTypes", ["optimal"], "InstanceTypes"),
        ("computeEnvironmentMinvCpus", 0, "MinvCpus"),
        ("computeEnvironmentMaxvCpus", 256, "MaxvCpus"),
        ("computeEnvironmentDesiredvCpus", 0, "DesiredvCpus"),
    ],
)
def test_a_deployment_setting_names_the_template_parameter(mode, key, value, parameter):
    with pytest.raises(InvalidConfiguration) as refused:
        build_config(mode, {**IMAGE, key: value}, {})

    message = str(refused.value)
    assert f"{key} = " in message and "(from the secret)" in message
    assert f"set the template parameter {parameter} when deploying" in message
    assert MIGRATION_PAGE in message


def test_every_deployment_setting_names_a_parameter_the_template_has():
    from tools.docs_tables import template_parameters_of  # noqa: PLC0415

    parameters = set(template_parameters_of(REPO / "template.yaml"))
    named = {
        original.name: original.refusal.split("template parameter ")[1].split()[0]
        for original in DEPLOYMENT_KEYS
        if "template parameter" in original.refusal
    }
    assert set(named.values()) <= parameters
    assert len(named) == len(DEPLOYMENT_KEYS) - 1  # envName names no parameter


def test_env_name_is_refused_naming_its_value():
    with pytest.raises(InvalidConfiguration) as refused:
        build_config("AutoExport", {**ORIGINAL_AUTO_EXPORT_SECRET, "envName": "AutoExport"}, {})

    message = str(refused.value)
    assert 'envName = "AutoExport" (from the secret)' in message
    assert "the stack's name and its Mode parameter take its place" in message
    assert MIGRATION_PAGE in message


def test_refusals_and_rule_breaks_are_reported_together():
    secret = {**ORIGINAL_AUTO_EXPORT_SECRET, "autoExport": False, "lustreStorageCapacity": 1000}

    with pytest.raises(InvalidConfiguration) as refused:
        build_config("AutoExport", secret, {})

    message = str(refused.value)
    assert "autoExport = false" in message
    assert "lustreStorageCapacity = 1000" in message


def test_other_unknown_keys_are_refused_as_before_without_their_value():
    with pytest.raises(InvalidConfiguration) as refused:
        build_config("AutoExport", {**IMAGE, "autoExprot": "secret-looking-value"}, {})

    message = str(refused.value)
    assert "autoExprot (from the secret): unknown key" in message
    assert "secret-looking-value" not in message


def test_original_keys_are_no_configuration_keys():
    # ExecutionInputKeys may not name them: they configure no run here.
    names = {
        original.name for mode in MODES.values() for original in mode.config_model.ORIGINAL_KEYS
    }
    assert names.isdisjoint(configuration_keys())
