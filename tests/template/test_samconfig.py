"""samconfig.toml: one config-env per mode, each deploying its own stack with valid values."""

import re
import tomllib
from collections.abc import Callable
from typing import Any

import pytest

from batchscratch.modes import MODES
from tests.template.cfn import SAMCONFIG, parse_overrides, rule_failures

MODE_ENVS = {mode.config_env: name for name, mode in MODES.items()}
REPOSITORIES = {name: mode.ecr_repository for name, mode in MODES.items()}


@pytest.fixture(scope="module")
def samconfig() -> dict[str, Any]:
    with SAMCONFIG.open("rb") as file:
        return tomllib.load(file)


def _deploy(samconfig: dict[str, Any], env: str) -> dict[str, Any]:
    parameters: dict[str, Any] = samconfig[env]["deploy"]["parameters"]
    return parameters


def test_version_and_environments(samconfig: dict[str, Any]) -> None:
    assert samconfig["version"] == 0.1
    # Exactly one config-env per mode of the registry, and the default.
    assert set(samconfig) == {"version", "default", *MODE_ENVS}


@pytest.mark.parametrize("env", ["default", *MODE_ENVS])
def test_deploy_settings(samconfig: dict[str, Any], env: str) -> None:
    deploy = _deploy(samconfig, env)
    assert deploy["capabilities"] in {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is True
    build = samconfig[env]["build"]["parameters"]
    assert build["cached"] is True
    assert build["parallel"] is True


@pytest.mark.parametrize(("env", "mode"), sorted(MODE_ENVS.items()))
def test_each_mode_env_deploys_its_mode_and_repository(
    samconfig: dict[str, Any], render: Callable[..., dict[str, Any]], env: str, mode: str
) -> None:
    overrides = parse_overrides(_deploy(samconfig, env)["parameter_overrides"])
    assert overrides["Mode"] == mode
    repository = render(**overrides)["Resources"]["EcrRepository"]["Properties"]
    assert repository["RepositoryName"] == REPOSITORIES[mode]


def test_the_default_env_is_the_default_mode_s_stack(
    samconfig: dict[str, Any], sam_template: dict[str, Any]
) -> None:
    default = parse_overrides(_deploy(samconfig, "default")["parameter_overrides"])
    assert default == parse_overrides(_deploy(samconfig, "taskexport")["parameter_overrides"])
    assert default["Mode"] == sam_template["Parameters"]["Mode"]["Default"]
    stack = samconfig["default"]["global"]["parameters"]["stack_name"]
    assert stack == samconfig["taskexport"]["global"]["parameters"]["stack_name"]


def test_mode_envs_deploy_distinct_stacks(samconfig: dict[str, Any]) -> None:
    stacks = [samconfig[env]["global"]["parameters"]["stack_name"] for env in MODE_ENVS]
    assert len(set(stacks)) == len(stacks)
    for stack in stacks:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,127}", stack), stack


@pytest.mark.parametrize("env", ["default", *MODE_ENVS])
def test_overrides_are_template_parameters_with_allowed_values(
    samconfig: dict[str, Any], sam_template: dict[str, Any], env: str
) -> None:
    overrides = parse_overrides(_deploy(samconfig, env)["parameter_overrides"])
    for name, value in overrides.items():
        spec = sam_template["Parameters"][name]
        if "AllowedValues" in spec:
            assert value in spec["AllowedValues"], (name, value)
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], value), (name, value)


@pytest.mark.parametrize("env", ["default", *MODE_ENVS])
def test_every_env_passes_the_rules(
    samconfig: dict[str, Any], sam_template: dict[str, Any], env: str
) -> None:
    overrides = parse_overrides(_deploy(samconfig, env)["parameter_overrides"])
    assert rule_failures(sam_template, overrides) == []
