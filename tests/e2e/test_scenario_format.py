"""Scenario files are strict: a malformed file is refused in one line naming the key, before
anything is rehearsed (scenarios/README.md, "File format")."""

from pathlib import Path
from typing import get_args

import pytest
import yaml
from pydantic import BaseModel

from tools.scenario import Scenario, ScenarioError, check_states, load

REPO = Path(__file__).resolve().parents[2]

REFUSED = {
    "a boolean for a count": (
        "mode: OnlyEBS\naws:\n  concurrent: true\n",
        ["aws.concurrent = true", "valid integer"],
    ),
    "a string for a boolean": (
        'mode: OnlyEBS\naws:\n  storage:\n    createFails: "no"\n',
        ["aws.storage.createFails", "valid boolean"],
    ),
    "a key given twice": (
        "mode: OnlyEBS\nexpect:\n  status: FAILED\nexpect:\n  status: SUCCEEDED\n",
        ["line 4", "'expect' is given twice"],
    ),
    "an export in OnlyEBS": (
        "mode: OnlyEBS\naws:\n  export:\n    failedFiles: 1\n",
        ["aws.export", "does not apply to mode OnlyEBS"],
    ),
    "a queue metric in TaskExport": (
        "mode: TaskExport\naws:\n  export:\n    queueAgeSeconds: [0]\n",
        ["aws.export.queueAgeSeconds", "does not apply to mode TaskExport"],
    ),
    "a null status": ("mode: OnlyEBS\nexpect:\n  status: null\n", ["status: null checks nothing"]),
    "an infinite metric": (
        "mode: AutoExport\naws:\n  export:\n    queueAgeSeconds: [.inf]\n",
        ["aws.export.queueAgeSeconds.0", "finite"],
    ),
    "a SUCCEEDED attempt exiting 3": (
        "mode: OnlyEBS\naws:\n  job:\n    attempts: [{status: SUCCEEDED, exitCode: 3}]\n",
        ["aws.job.attempts.0", "exitCode = 3"],
    ),
    "a boolean for a throttle count": (
        "mode: OnlyEBS\naws:\n  throttle:\n    ec2:CreateVolume: true\n",
        ["aws.throttle.ec2:CreateVolume = true"],
    ),
    "a fraction of a poll": (
        "mode: OnlyEBS\naws:\n  storage:\n    readyAfterPolls: 1.5\n",
        ["aws.storage.readyAfterPolls = 1.5"],
    ),
    "NaN in the input": ("mode: OnlyEBS\ninput: {x: .nan}\n", ["input.x", "not a finite number"]),
    "two ways to abort": (
        "mode: OnlyEBS\naws:\n  abortAfter: RunJob\n  abortAt: 10\n",
        ["abortAfter and abortAt"],
    ),
    "executions and concurrent": (
        "mode: OnlyEBS\nexecutions: [{startAt: 0}]\naws:\n  concurrent: 2\n",
        ["aws.concurrent and executions"],
    ),
    "a function the mode does not deploy": (
        "mode: OnlyEBS\naws:\n  lambda:\n    CheckExportFunction: {timeout: [1]}\n",
        ["aws.lambda.CheckExportFunction", "LoadConfigFunction"],
    ),
    "a window for an unknown caller": (
        "mode: OnlyEBS\naws:\n  throttle:\n"
        "    secretsmanager:GetSecretValue: {count: 2, function: Sweeper}\n",
        ['function = "Sweeper"', "StateMachine"],
    ),
    "an error code the operation never answers": (
        "mode: TaskExport\naws:\n  errors:\n    fsx:DeleteFileSystem: {code: AccessDenied}\n",
        ["'AccessDenied' is not an error", "AccessDeniedException"],
    ),
    "a timeout on a Choice state": (
        "mode: OnlyEBS\naws:\n  stepFunctions:\n    stateTimeouts: {IsVolumeReady: 10}\n",
        ["stateTimeouts.IsVolumeReady", "not a Task state"],
    ),
    "array children in a mode without array jobs": (
        "mode: OnlyEBS\naws:\n  job:\n    children: {1: {attempts: [{status: FAILED}]}}\n",
        ["aws.job.children", "no array job"],
    ),
    "a job that never starts yet has attempts": (
        "mode: OnlyEBS\naws:\n  job:\n    neverStarts: true\n    attempts: [{status: SUCCEEDED}]\n",
        ["neverStarts"],
    ),
    "an empty range": (
        "mode: OnlyEBS\nexpect:\n  storageSeconds: {min: 5, max: 1}\n",
        ["expect.storageSeconds", "min 5 is above max 1"],
    ),
    "a Lustre state for a volume": (
        "mode: OnlyEBS\naws:\n  storage:\n    failsAfterSeconds: 5\n    lateStatus: FAILED\n",
        ["aws.storage.lateStatus", "error"],
    ),
    "one invocation with two faults": (
        "mode: OnlyEBS\naws:\n  lambda:\n    LoadConfigFunction: {timeout: [1], duplicate: [1]}\n",
        ["invocation 1 is in both timeout and duplicate"],
    ),
}


def check(tmp_path: Path, text: str) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    check_states(load(path), REPO, str(path))


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_malformed_file_is_refused_in_one_line_naming_the_key(tmp_path: Path, case: str) -> None:
    text, expected = REFUSED[case]
    with pytest.raises(ScenarioError) as error:
        check(tmp_path, text)
    message = str(error.value)
    assert "\n" not in message
    for part in expected:
        assert part in message


def test_call_windows_faults_and_executions_are_accepted(tmp_path: Path) -> None:
    check(
        tmp_path,
        "mode: TaskExport\n"
        "executions: [{name: first}, {name: second, input: {x: 1}, startAt: 600}]\n"
        "aws:\n"
        "  abortAt: 3600\n"
        "  throttle:\n"
        "    secretsmanager:GetSecretValue: {from: 2, count: 2, function: LoadConfigFunction}\n"
        "  errors:\n"
        "    fsx:DeleteFileSystem:\n"
        "      - {code: AccessDeniedException, count: 2}\n"
        "      - {code: InternalServerError, from: 4}\n"
        "  lambda:\n"
        "    LoadConfigFunction: {duplicate: [1], lostResponse: [2]}\n"
        "  job:\n"
        "    children: {3: {attempts: [{status: FAILED, exitCode: 2}]}}\n"
        "expect:\n"
        "  storageSeconds: {max: 9000}\n"
        "  deletedUnexported: []\n",
    )


def _documented_example() -> dict[str, object]:
    """The annotated example of scenarios/README.md's "File format" section."""
    text = (REPO / "scenarios" / "README.md").read_text()
    section = text[text.index("## File format") :]
    block = section[section.index("```yaml") + len("```yaml") : section.index("```\n", 8)]
    return dict(yaml.safe_load(block))


_FREE_FORM = {"input", "secret", "created", "stateTimeouts"}
"""Keys whose values are the user's own mapping, not format keys."""
_KEYED = {"throttle", "errors", "lambda", "children", "linked"}
"""Keys whose mapping is keyed by the user (an operation, a function, an index) and whose
values are format models."""


def _paths(value: object, prefix: str = "") -> set[str]:
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _paths(item, prefix)
        return found
    if not isinstance(value, dict):
        return found
    for key, item in value.items():
        path = f"{prefix}{key}"
        found.add(path)
        if key in _FREE_FORM:
            continue
        if key in _KEYED:
            for inner in item.values():
                found |= _paths(inner, f"{path}.*.")
        else:
            found |= _paths(item, f"{path}.")
    return found


def _model_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for name, info in model.model_fields.items():
        key = info.alias or name
        path = f"{prefix}{key}"
        found.add(path)
        if key in _FREE_FORM:
            continue
        for inner in _models(info.annotation):
            found |= _model_paths(inner, f"{path}.*." if key in _KEYED else f"{path}.")
    return found


def _models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models(arg)]


_UNDOCUMENTED_IN_EXAMPLE = {
    "aws.errors.*.message",
    "aws.throttle.*.from",
    "aws.errors.*.from",
    "aws.errors.*.function",
}
"""Keys the example leaves out (the prose beside it describes them)."""


def test_the_documented_example_names_every_key_of_the_format_and_no_other() -> None:
    documented = _paths(_documented_example())
    declared = _model_paths(Scenario) | {"expect.storageSeconds.min", "expect.storageSeconds.max"}
    declared |= {
        f"expect.{key}.{bound}"
        for key in ("virtualSeconds", "computeSecondsAfterJob")
        for bound in ("min", "max")
    }
    assert documented <= declared, sorted(documented - declared)
    missing = declared - documented - _UNDOCUMENTED_IN_EXAMPLE
    missing = {path for path in missing if not path.endswith((".min", ".max"))}
    assert not missing, sorted(missing)
