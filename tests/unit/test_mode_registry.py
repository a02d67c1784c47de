"""The mode registry (batchscratch.modes): one declaration per mode, read by everything else."""

import dataclasses
import inspect
from collections.abc import Callable
from itertools import combinations

import pytest

from batchscratch.config import CONFIG_MODELS, build_config
from batchscratch.errors import InvalidConfiguration
from batchscratch.modes import MODES, Step, StorageInterface
from tests.conftest import REPO
from tools.scenario import ScenarioError, parse


def test_a_step_s_function_and_folder_follow_its_name() -> None:
    step = Step("CleanUpCompute")
    assert step.function == "CleanUpComputeFunction"
    assert step.folder == "clean_up_compute"


@pytest.mark.parametrize("name", sorted(MODES))
def test_every_step_of_a_mode_has_its_handler(name: str) -> None:
    for step in MODES[name].steps:
        assert (REPO / "functions" / step.folder / "app.py").is_file(), step.name


def test_modes_do_not_share_a_name_users_look_for() -> None:
    fields = [
        "secret_prefix",
        "state_machine_prefix",
        "ecr_repository",
        "asl_file",
        "scenarios",
        "config_env",
    ]
    for first, second in combinations(MODES.values(), 2):
        for field in fields:
            assert getattr(first, field) != getattr(second, field), (first.name, field)


def test_a_mode_is_declared_under_its_own_name() -> None:
    assert all(mode.name == name for name, mode in MODES.items())


def test_the_registry_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        MODES["OnlyEBS"] = MODES["TaskExport"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        MODES["OnlyEBS"].asl_file = "other.asl.json"  # type: ignore[misc]


def test_the_configuration_models_are_the_registry_s() -> None:
    assert dict(CONFIG_MODELS) == {name: mode.config_model for name, mode in MODES.items()}


def test_an_unknown_mode_is_refused_naming_the_registry_s_modes() -> None:
    with pytest.raises(InvalidConfiguration, match="implemented modes are: OnlyEBS, TaskExport"):
        build_config("OnlyEbs", {}, {})


def test_a_scenario_of_an_unknown_mode_is_refused_naming_the_modes() -> None:
    with pytest.raises(ScenarioError, match='mode = "Ebs": not a mode; the modes are OnlyEBS'):
        parse({"mode": "Ebs"})
    assert parse({"mode": "AutoExport"}).mode == "AutoExport"


def test_only_the_mode_that_waits_for_auto_export_exports_automatically() -> None:
    exporting = {name for name, mode in MODES.items() if mode.exports_automatically}

    assert exporting == {"AutoExport"}


PATHS = {
    "OnlyEBS": {},
    "TaskExport": {"dataRepositoryPath": "s3://bucket/"},
    "AutoExport": {"dataRepositoryPath": "s3://bucket/"},
}


def test_every_storage_kind_implements_the_storage_interface() -> None:
    def parameters(function: Callable[..., object]) -> list[str]:
        return [name for name in inspect.signature(function).parameters if name != "self"]

    interface = {
        name: parameters(method)
        for name, method in vars(StorageInterface).items()
        if not name.startswith("_") and callable(method)
    }
    assert set(interface) == {"create", "check", "mount", "choose_policy", "release"}
    for mode in MODES.values():
        implementation = mode.storage.implementation
        for name, expected in interface.items():
            assert parameters(getattr(implementation, name)) == expected, (mode.name, name)


@pytest.mark.parametrize(
    ("mode", "error", "job_succeeded", "policy"),
    [
        ("OnlyEBS", "States.TaskFailed", False, "snapshot"),
        ("TaskExport", "States.TaskFailed", False, "export"),
        ("AutoExport", None, True, "delete"),
    ],
)
def test_each_mode_s_storage_chooses_its_own_policy(
    mode: str, error: str | None, job_succeeded: bool, policy: str
) -> None:
    config = build_config(mode, {"jobDefinitionContainerImage": "i", **PATHS[mode]}, {})

    chosen, _reason = MODES[mode].storage.implementation.choose_policy(config, error, job_succeeded)

    assert chosen == policy


@pytest.mark.parametrize("name", sorted(MODES))
def test_every_watching_step_s_interval_is_a_key_of_the_mode_s_configuration(name: str) -> None:
    """A watching step's handler reads its interval from the run's configuration
    (``state.config[step.interval]``): a key the mode's model lacks would fail every run."""
    mode = MODES[name]
    fields = mode.config_model.model_fields
    watching = [step for step in mode.steps if step.interval is not None]

    assert {mode.storage.check, mode.storage.release} <= set(watching)
    for step in watching:
        assert step.interval in fields, (name, step.name, step.interval)
        assert fields[step.interval].annotation is int, (name, step.interval)  # seconds
    assert mode.storage.release_seconds == mode.storage.release.interval
