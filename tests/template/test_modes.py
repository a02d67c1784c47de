"""The mode registry (batchscratch.modes) and the files that cannot import it agree exactly.

template.yaml (the Mode parameter, the ModeNames mapping, the conditions and state machines)
and the repository's folders name the modes too; each test compares both ways, so a mode
added or removed in one place only fails here.
"""

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from batchscratch.modes import EBS_VOLUME, LUSTRE_FILE_SYSTEM, MODES, RELEASE_STEPS
from tests.template import conftest
from tests.template.cfn import REPO, resources_of_type

STORAGE_CONDITIONS = {EBS_VOLUME.id: "IsEbs", LUSTRE_FILE_SYSTEM.id: "IsLustre"}
"""The template condition that holds exactly in the modes of each storage kind."""


def test_the_mode_parameter_allows_exactly_the_registry_s_modes(
    sam_template: dict[str, Any],
) -> None:
    mode = sam_template["Parameters"]["Mode"]
    assert sorted(mode["AllowedValues"]) == sorted(MODES)
    assert mode["Default"] in MODES


def test_the_mode_names_mapping_is_the_registry_s(sam_template: dict[str, Any]) -> None:
    mapping = sam_template["Mappings"]["ModeNames"]
    assert mapping == {
        name: {
            "SecretNamePrefix": mode.secret_prefix,
            "StateMachineNamePrefix": mode.state_machine_prefix,
            "EcrRepositoryName": mode.ecr_repository,
        }
        for name, mode in MODES.items()
    }


def _compared_with_mode(node: Any) -> Iterator[str]:
    """Yield every value a condition compares the Mode parameter with."""
    if isinstance(node, list):
        for item in node:
            yield from _compared_with_mode(item)
    elif isinstance(node, dict):
        for function, args in node.items():
            if function == "Fn::Equals" and {"Ref": "Mode"} in args:
                yield from (arg for arg in args if arg != {"Ref": "Mode"})
            else:
                yield from _compared_with_mode(args)


def test_conditions_compare_the_mode_only_with_registry_modes(
    sam_template: dict[str, Any],
) -> None:
    compared = set(_compared_with_mode(sam_template["Conditions"]))
    assert compared
    assert compared <= set(MODES)


@pytest.mark.parametrize("name", sorted(MODES))
def test_conditions_hold_in_the_modes_they_name(
    render: Callable[..., dict[str, Any]], name: str
) -> None:
    conditions = render(Mode=name)["Conditions"]
    for kind, condition in STORAGE_CONDITIONS.items():
        assert conditions[condition] is (MODES[name].storage.id == kind), condition
    for other in MODES:
        if f"Is{other}" in conditions:
            assert conditions[f"Is{other}"] is (other == name), f"Is{other}"


def test_every_storage_kind_has_its_condition() -> None:
    assert {mode.storage.id for mode in MODES.values()} == set(STORAGE_CONDITIONS)


def test_each_state_machine_of_the_template_is_one_mode_s(sam_template: dict[str, Any]) -> None:
    state_machines = resources_of_type(sam_template, "AWS::Serverless::StateMachine")
    files = sorted(body["Properties"]["DefinitionUri"] for body in state_machines.values())
    release = "statemachine/release.asl.json"  # the release workflow, one per stack
    assert files == sorted([*(mode.definition_uri for mode in MODES.values()), release])


@pytest.mark.parametrize("name", sorted(MODES))
def test_each_mode_deploys_one_state_machine_named_with_its_prefix(
    render: Callable[..., dict[str, Any]], name: str
) -> None:
    machines = resources_of_type(render(Mode=name), "AWS::StepFunctions::StateMachine")
    prefixes = sorted(
        body["Properties"]["StateMachineName"]["Fn::Sub"][0] for body in machines.values()
    )
    assert prefixes == sorted(
        ["BatchScratchRelease-${StackKey}", MODES[name].state_machine_prefix + "-${StackKey}"]
    )


def test_the_template_tests_mode_lists_are_the_registry_s() -> None:
    assert sorted(conftest.DEPLOYABLE_MODES) == sorted(MODES)
    lustre = [name for name, mode in MODES.items() if mode.storage is LUSTRE_FILE_SYSTEM]
    assert sorted(conftest.LUSTRE_MODES) == sorted(lustre)


def test_the_scenario_folders_are_the_registry_s() -> None:
    folders = {
        path.relative_to(REPO).as_posix()
        for path in (REPO / "scenarios").iterdir()
        if path.is_dir()
    }
    assert folders == {mode.scenarios for mode in MODES.values()}


@pytest.mark.parametrize("name", sorted(MODES))
def test_a_mode_s_scenarios_rehearse_that_mode(name: str) -> None:
    files = sorted((REPO / MODES[name].scenarios).glob("*.yaml"))
    assert files, f"{MODES[name].scenarios} has no scenario"
    for path in files:
        assert yaml.safe_load(path.read_text())["mode"] == name, path.name


@pytest.mark.parametrize("name", [*sorted(MODES), "release"])
def test_every_lambda_state_is_named_like_its_function_and_handler_folder(
    sam_template: dict[str, Any], name: str
) -> None:
    if name == "release":
        steps = {step.name: step for step in RELEASE_STEPS}
        uri = "statemachine/release.asl.json"
    else:
        steps = {step.name: step for step in MODES[name].steps}
        uri = MODES[name].definition_uri
    functions = resources_of_type(sam_template, "AWS::Serverless::Function")
    states = json.loads((REPO / uri).read_text())["States"]
    lambda_states = {
        state: body
        for state, body in states.items()
        if body.get("Resource") == "arn:aws:states:::lambda:invoke"
    }
    assert lambda_states
    for state, body in lambda_states.items():
        step = steps[state]
        placeholder = re.fullmatch(r"\$\{(\w+)Arn\}", body["Parameters"]["FunctionName"])
        assert placeholder, state
        assert placeholder.group(1) == step.function, state
        code = functions[step.function]["Properties"]["CodeUri"]
        assert code == f"functions/{step.folder}/", state
        assert (REPO / "functions" / step.folder / "app.py").is_file(), state
