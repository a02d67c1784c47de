"""The state machine builder (tools/asl): the committed files are its output, and the drift
check fails on any file edited by hand."""

import dataclasses
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from batchscratch.modes import MODES, RELEASE_RUN, RELEASE_STEPS, Mode
from tools.asl import STATEMACHINE_DIR, build, check, definition_of, release, write
from tools.asl.__main__ import main
from tools.asl.outputs import STEP_OUTPUTS, output_of
from tools.asl.slots import slots_of
from tools.asl.spine import LAMBDA_INVOKE, STANDARD_RETRY, all_states, definition


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of statemachine/ to tamper with."""
    target = tmp_path / "statemachine"
    shutil.copytree(STATEMACHINE_DIR, target)
    return target


def edit(path: Path, change: Any) -> None:
    """Apply ``change`` to the parsed file and write it back as the builder formats files."""
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2) + "\n")


def test_the_committed_state_machines_are_what_the_builder_writes() -> None:
    assert check(STATEMACHINE_DIR) == []
    assert sorted(build()) == sorted(path.name for path in STATEMACHINE_DIR.glob("*.asl.json"))


def test_the_builder_writes_one_file_per_mode_and_the_release_s(tmp_path: Path) -> None:
    written = write(tmp_path)

    expected = [*(m.asl_file for m in MODES.values()), "release.asl.json"]
    assert sorted(path.name for path in written) == sorted(expected)
    assert check(tmp_path) == []
    assert write(tmp_path) == []  # nothing changed the second time


def test_a_hand_edit_fails_the_check(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def reword(data: dict[str, Any]) -> None:
        data["States"]["RunJobWithDeadline"]["Comment"] = "Edited by hand."

    edit(copy / "only_ebs.asl.json", reword)

    (problem,) = check(copy)
    assert problem.startswith(f"{copy / 'only_ebs.asl.json'}: differs")
    assert '-      "Comment": "Edited by hand.",' in problem
    assert main(["--check", "--directory", str(copy)]) == 1
    assert "only_ebs.asl.json: differs" in capsys.readouterr().err


def test_a_retry_changed_in_one_mode_only_fails_the_check(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """TaskExport's CheckExport retrying AwsTransientError 2 times instead of 8: a state the
    other modes do not all share, which the test of shared states cannot see."""

    def fewer_attempts(data: dict[str, Any]) -> None:
        # CheckExport runs inside AfterJob's storage branch.
        (rule,) = [
            rule
            for rule in dict(all_states(data["States"]))["CheckExport"]["Retry"]
            if rule["ErrorEquals"] == ["AwsTransientError"]
        ]
        rule["MaxAttempts"] = 2

    edit(copy / "lustre_task_export.asl.json", fewer_attempts)

    (problem,) = check(copy)
    assert "lustre_task_export.asl.json: differs" in problem
    assert re.search(r'^-\s+"MaxAttempts": 2,$', problem, re.MULTILINE)
    assert re.search(r'^\+\s+"MaxAttempts": 8,$', problem, re.MULTILINE)
    assert main(["--check", "--directory", str(copy)]) == 1
    assert "lustre_task_export.asl.json" in capsys.readouterr().err


def test_a_missing_file_and_a_file_no_mode_deploys_fail_the_check(copy: Path) -> None:
    (copy / "lustre_auto_export.asl.json").rename(copy / "auto_export.asl.json")

    problems = check(copy)

    assert len(problems) == 2
    assert "lustre_auto_export.asl.json: missing" in problems[0]
    assert "auto_export.asl.json: tools/asl builds no such state machine" in problems[1]


def test_the_check_writes_nothing(copy: Path) -> None:
    (copy / "only_ebs.asl.json").write_text("{}\n")

    assert main(["--check", "--directory", str(copy)]) == 1
    assert (copy / "only_ebs.asl.json").read_text() == "{}\n"
    assert main(["--directory", str(copy)]) == 0
    assert check(copy) == []


@pytest.mark.parametrize("name", sorted(MODES))
def test_every_lambda_task_is_the_standard_task(name: str) -> None:
    """One Retry, one Catch shape and one ResultSelector source for every Lambda task. A task
    inside a Parallel's branch has no Catch (a branch's Catch may only name states of its
    branch): its Parallel's Catch takes the error."""
    top = definition_of(MODES[name])["States"]
    tasks = {n: s for n, s in all_states(top) if s.get("Resource") == LAMBDA_INVOKE}
    assert set(tasks) - set(top), "no Lambda task inside a branch"
    for state_name, state in tasks.items():
        assert state["Retry"] == list(STANDARD_RETRY), state_name
        if state_name in top:
            (catcher,) = state["Catch"]
            assert catcher["ErrorEquals"] == ["States.ALL"], state_name
        else:
            assert "Catch" not in state, state_name
        step = state["Parameters"]["FunctionName"].removeprefix("${").removesuffix("FunctionArn}")
        output = output_of(step)
        assert state["ResultPath"] == output.path, state_name
        assert state["ResultSelector"] == {f"{f}.$": f"$.Payload.{f}" for f in output.fields}


def test_every_step_of_every_mode_and_of_the_release_has_an_output() -> None:
    steps = {step.name for mode in MODES.values() for step in mode.steps}
    assert steps | {step.name for step in RELEASE_STEPS} == set(STEP_OUTPUTS)


def test_the_release_s_lambda_tasks_are_the_standard_task() -> None:
    states = release.definition()["States"]
    for step in RELEASE_STEPS:
        task = states[step.name]
        assert task["Resource"] == LAMBDA_INVOKE
        expected = list(STANDARD_RETRY)
        if step == RELEASE_RUN:
            # A release keeps trying a pass that timed out for hours, not twice.
            expected = [
                release.RELEASE_TIMEOUT_RETRY
                if rule["ErrorEquals"] == release.RELEASE_TIMEOUT_RETRY["ErrorEquals"]
                else rule
                for rule in expected
            ]
            assert release.RELEASE_TIMEOUT_RETRY["MaxAttempts"] > 2
        assert task["Retry"] == expected
        assert task["ResultSelector"] == {
            f"{field}.$": f"$.Payload.{field}" for field in output_of(step.name).fields
        }


def test_a_mode_without_slots_is_named() -> None:
    new = dataclasses.replace(MODES["OnlyEBS"], name="FourthMode")

    with pytest.raises(KeyError, match="no slots for the mode 'FourthMode'"):
        definition_of(new)


def test_a_step_watching_with_a_key_the_configuration_lacks_is_refused() -> None:
    """A watching step's interval caps its pauses: a key the mode's configuration lacks would
    fail every run at its first look, so the builder refuses it."""
    mode: Mode = MODES["OnlyEBS"]
    check_volume = dataclasses.replace(mode.storage.check, interval="waitForLustreCreationSeconds")
    lustre_keyed = dataclasses.replace(
        mode, storage=dataclasses.replace(mode.storage, check=check_volume)
    )

    with pytest.raises(
        ValueError, match="OnlyEBS: CheckVolume watches with waitForLustreCreationSeconds"
    ):
        definition(lustre_keyed, slots_of(mode))
    assert definition(mode, slots_of(mode)) == definition_of(mode)


def test_a_comment_on_a_state_the_mode_lacks_is_refused() -> None:
    mode = MODES["OnlyEBS"]
    slots = slots_of(mode)
    own = dataclasses.replace(slots.mode, comments={"StartExport": "OnlyEBS exports nothing."})

    with pytest.raises(ValueError, match=r"states it does not have: \['StartExport'\]"):
        definition(mode, dataclasses.replace(slots, mode=own))


@pytest.mark.parametrize(
    "name",
    [
        "Summarize",  # a state of the spine, outside AfterJob
        "CleanUpCompute",  # a state of AfterJob's other branch
        "ReleaseFileSystem",  # a state of the stage's own branch, after the stages
    ],
)
def test_a_stage_that_redefines_a_state_is_refused(name: str) -> None:
    """State names are unique in the whole state machine, Parallel branches included
    (Amazon States Language specification, "States"), and a stage's state of the name of
    another would silently replace it."""
    mode = MODES["TaskExport"]
    slots = slots_of(mode)
    (export,) = slots.stages

    def clashing(next_state: str, release_state: str) -> dict[str, Any]:
        return export.build(next_state, release_state) | {name: {"Type": "Succeed"}}

    clash = dataclasses.replace(export, build=clashing)

    with pytest.raises(ValueError, match=rf"states defined twice: \['{name}'\]"):
        definition(mode, dataclasses.replace(slots, stages=(clash,)))
