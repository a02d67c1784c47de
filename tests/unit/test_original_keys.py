"""Secrets of the original CDK project: ``autoExport``, the one key it wrote that these models
have no field for, is accepted where it says what the mode does (``true`` in AutoExport) and
otherwise refused with a message that names the key, the value and the migration page
(docs/migrating-from-cdk.md, "Keys of the original secrets"); any other unknown key is refused
as before."""

import pytest

from batchscratch.config import MIGRATION_PAGE, build_config, configuration_keys
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
def test_auto_export_false_in_task_export_mode_asks_to_remove_the_key(value):
    with pytest.raises(InvalidConfiguration) as refused:
        build_config("TaskExport", {**IMAGE, "autoExport": value}, {})

    message = str(refused.value)
    assert "autoExport = " in message and "(from the secret)" in message
    assert "false chose what this stack's mode, TaskExport, does: remove the key" in message
    assert MIGRATION_PAGE in message


@pytest.mark.parametrize("value", [False, "false"])
def test_auto_export_false_in_auto_export_mode_points_to_task_export(value):
    secret = {**ORIGINAL_AUTO_EXPORT_SECRET, "autoExport": value}

    with pytest.raises(InvalidConfiguration) as refused:
        build_config("AutoExport", secret, {})

    message = str(refused.value)
    shown = "false" if value is False else '"false"'
    assert f"autoExport = {shown} (from the secret)" in message
    assert "deploy a stack with Mode=TaskExport instead" in message
    assert MIGRATION_PAGE in message


def test_auto_export_true_in_task_export_mode_points_to_auto_export():
    with pytest.raises(InvalidConfiguration) as refused:
        build_config("TaskExport", {**IMAGE, "autoExport": True}, {})

    message = str(refused.value)
    assert "autoExport = true (from the secret)" in message
    assert "deploy a stack with Mode=AutoExport instead" in message
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


@pytest.mark.parametrize("value", [True, False])
def test_auto_export_in_only_ebs_mode_asks_to_remove_the_key(value):
    with pytest.raises(InvalidConfiguration) as refused:
        build_config("OnlyEBS", {**IMAGE, "autoExport": value}, {})

    message = str(refused.value)
    assert f"autoExport = {str(value).lower()} (from the secret)" in message
    assert "never applied to OnlyEBS: remove the key" in message
    assert MIGRATION_PAGE in message


def test_the_migration_page_explains_the_keys_it_is_named_for():
    page = REPO / MIGRATION_PAGE.split("#")[0]
    if not page.exists():
        pytest.skip(f"{page.name} is not in this checkout")
    headings = [line.lstrip("#").strip() for line in page.read_text().splitlines()]
    anchor = MIGRATION_PAGE.split("#")[1]
    assert any(h.lower().replace(" ", "-") == anchor for h in headings if h)


@pytest.mark.parametrize("key", ["envName", "ecrRepositoryName", "computeEnvironmentMaxvCpus"])
def test_a_cdk_json_setting_is_an_unknown_key_without_its_value(key):
    # Deploy-time settings of the original (its cdk.json) are template parameters here.
    with pytest.raises(InvalidConfiguration) as refused:
        build_config("AutoExport", {**IMAGE, key: "AutoExport-setting"}, {})

    message = str(refused.value)
    assert f"{key} (from the secret): unknown key" in message
    assert "AutoExport-setting" not in message


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
