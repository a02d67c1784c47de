"""The ASL is data: check its graph, its error names and its paths against the code."""

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from batchscratch import errors
from batchscratch.config import CONFIG_MODELS
from batchscratch.modes import MODES
from tests.conftest import REPO
from tools.asl.spine import FAILURE_PATH

MACHINES = {name: REPO / mode.definition_uri for name, mode in MODES.items()}
RELEASE = REPO / "statemachine" / "release.asl.json"
SERVICE_PREFIXES = ("States.", "Lambda.", "Batch.", "Sandbox.", "StepFunctions.")
STANDARD_LAMBDA_RETRY = {
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.Unknown",
    "Sandbox.Timedout",
}


def load(path: Path) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(path.read_text())
    return definition


def targets(state: dict[str, Any]) -> list[str]:
    found = [state[key] for key in ("Next", "Default") if key in state]
    found += [rule["Next"] for rule in state.get("Choices", [])]
    found += [catcher["Next"] for catcher in state.get("Catch", [])]
    return found


def nested(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state by name, those of Parallel branches included (names are unique)."""
    found: dict[str, dict[str, Any]] = {}
    for name, state in definition["States"].items():
        found[name] = state
        for branch in state.get("Branches", []):
            found |= nested(branch)
    return found


def branches(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The definition and every Parallel branch in it: each a state machine of its own."""
    found = [definition]
    for state in definition["States"].values():
        for branch in state.get("Branches", []):
            found += branches(branch)
    return found


def reachable(definition: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = [definition["StartAt"]]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += targets(definition["States"][name])
    return seen


def raised_names() -> set[str]:
    """Names of the exceptions raised anywhere in the layer or the handlers, or by a Fail
    state of a state machine."""
    names: set[str] = {
        state["Error"]
        for path in REPO.glob("statemachine/*.asl.json")
        for state in load(path)["States"].values()
        if state["Type"] == "Fail" and "Error" in state
    }
    for path in [*REPO.glob("layers/common/batchscratch/**/*.py"), *REPO.glob("functions/*/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                function = node.exc.func
                if isinstance(function, ast.Name):
                    names.add(function.id)
            # enforce_deadline(since, limit, ErrorClass, what) raises the class it is given.
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "enforce_deadline"
            ):
                names.update(arg.id for arg in node.args if isinstance(arg, ast.Name))
    return names


@pytest.fixture(params=sorted(MACHINES), ids=str)
def machine(request) -> tuple[str, dict[str, Any]]:
    return request.param, load(MACHINES[request.param])


def test_every_target_exists_and_every_state_is_reachable(machine):
    _, definition = machine
    for machine_or_branch in branches(definition):
        states = machine_or_branch["States"]
        for name, state in states.items():
            for target in targets(state):
                assert target in states, f"{name} goes to missing state {target}"
        assert reachable(machine_or_branch) == set(states)


def test_every_path_ends(machine):
    _, definition = machine
    for name, state in nested(definition).items():
        ends = state.get("End") or state["Type"] in ("Succeed", "Fail")
        assert ends or targets(state), f"{name} neither ends nor continues"


def test_error_names_exist_and_are_raised(machine):
    _, definition = machine
    raised = raised_names()
    for name, state in nested(definition).items():
        for rule in [*state.get("Retry", []), *state.get("Catch", [])]:
            for error in rule["ErrorEquals"]:
                if error.startswith(SERVICE_PREFIXES):
                    continue
                assert isinstance(getattr(errors, error, None), type), (name, error)
                assert error in raised, f"{name} handles {error}, which nothing raises"


def test_every_named_error_is_raised_somewhere():
    raised = raised_names()
    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.BatchScratchError)
    } - {"BatchScratchError"}

    assert defined - raised == set()


def test_every_lambda_task_retries_transient_lambda_errors(machine):
    _, definition = machine
    for name, state in nested(definition).items():
        if state.get("Resource") == "arn:aws:states:::lambda:invoke":
            retried = {e for rule in state.get("Retry", []) for e in rule["ErrorEquals"]}
            assert retried >= STANDARD_LAMBDA_RETRY | {"AwsTransientError"}, name
            for rule in state["Retry"]:
                assert rule["JitterStrategy"] == "FULL"
                assert "MaxDelaySeconds" in rule


def failure_path(definition: dict[str, Any]) -> set[str]:
    """States reachable from the first failure-path state."""
    start = definition["States"]["RunJobWithDeadline"]["Catch"][-1]["Next"]
    return reachable({"StartAt": start, "States": definition["States"]})


def test_every_state_after_load_config_catches_into_the_failure_path(machine):
    _, definition = machine
    states = definition["States"]
    failure = failure_path(definition)
    for name, state in states.items():
        if state["Type"] != "Task" or name == "LoadConfig" or name in failure:
            continue
        catchers = state.get("Catch", [])
        assert any("States.ALL" in c["ErrorEquals"] for c in catchers), f"{name} has no Catch"
        assert all(c["Next"] in failure for c in catchers), name
        assert all(c["ResultPath"] == "$.error" for c in catchers), name


def test_failure_path_ends_with_the_original_error(machine):
    _, definition = machine
    failure = failure_path(definition)
    fails = [definition["States"][n] for n in failure if definition["States"][n]["Type"] == "Fail"]
    assert fails == [{"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}]
    # Errors inside the failure path keep the original $.error.
    for name in failure:
        for catcher in definition["States"][name].get("Catch", []):
            assert catcher["ResultPath"] not in ("$", "$.error"), name


def step_of(task: dict[str, Any]) -> str:
    """The step a Lambda task invokes (``${<Step>FunctionArn}``)."""
    name: str = task["Parameters"]["FunctionName"]
    return name.removeprefix("${").removesuffix("FunctionArn}")


def test_no_wait_loop_is_unbounded(machine):
    """Every loop passes through a Lambda check, which raises once its time limit passes;
    the waits after FindRunJob are its own verdict (see there). A check step's Wait takes the
    pause the step chose (its ``waitSeconds``), which its watch caps at a configured interval
    (batchscratch.polling.watch)."""
    mode, definition = machine
    fields = CONFIG_MODELS[mode].model_fields
    intervals = {step.name: step.interval for step in MODES[mode].steps}
    states = nested(definition)
    waits = 0
    for name, state in states.items():
        if state["Type"] != "Wait":
            continue
        waits += 1
        if name in ("WaitBeforeResubmit", "WaitForRunJob"):
            # FindRunJob's own verdict: it raises after the last resubmission, and applies the
            # job's start deadline and the run's deadline to a job it follows.
            assert state["SecondsPath"] == "$.runJob.waitSeconds"
            into = [n for n, s in states.items() if name in targets(s)]
            assert into == ["IsRunJobFound"]
            continue
        if name == "WaitForJobStart":
            # CheckJobStart's own choice: waitForComputeSeconds, never past the start deadline,
            # after which CheckJobStart raises JobStartTimeout.
            assert state["SecondsPath"] == "$.jobStart.waitSeconds"
            assert state["Next"] == "CheckJobStart"
            continue
        check = states[state["Next"]]
        assert check["Resource"] == "arn:aws:states:::lambda:invoke", name
        assert state["SecondsPath"] == f"{check['ResultPath']}.waitSeconds", name
        interval = intervals[step_of(check)]
        assert interval in fields, f"{name}: {step_of(check)} watches with no configured interval"
    assert waits >= 6


def test_job_runs_with_submit_job_sync_and_is_resubmitted_only_when_none_exists(machine):
    mode, definition = machine
    states = nested(definition)
    jobs = [
        n for n, s in states.items() if s.get("Resource") == "arn:aws:states:::batch:submitJob.sync"
    ]
    assert jobs == (["RunJob", "RunArrayJob"] if mode != "OnlyEBS" else ["RunJob"])
    for name in jobs:
        assert "Retry" not in states[name]
        assert states[name]["TimeoutSecondsPath"] == "$.computeStatus.jobTimeoutSeconds"
    # Back into the job only from FindRunJob's verdict "no job in the run's queue".
    into = sorted(n for n, s in states.items() if "RunJobWithDeadline" in targets(s))
    assert into == ["IsComputeReady", "WaitBeforeResubmit"]
    assert states["IsRunJobFound"]["Default"] == "WaitBeforeResubmit"
    assert [c["Variable"] for c in states["IsRunJobFound"]["Choices"]] == [
        "$.runJob.ended",
        "$.runJob.found",
    ]


def test_the_job_runs_beside_its_watchdog(machine):
    _, definition = machine
    parallel = definition["States"]["RunJobWithDeadline"]
    assert parallel["Type"] == "Parallel"
    job, watchdog = parallel["Branches"]
    assert parallel["OutputPath"] == "$[0]"
    # It looks at once: a long waitForComputeSeconds must not delay the first look.
    assert watchdog["StartAt"] == "CheckJobStart"
    assert watchdog["States"]["CheckJobStart"]["Next"] == "IsJobStarted"
    # A job that ends FAILED (or times out) is kept in its branch, so that only the watchdog's
    # verdict or a transient Batch error (re-raised for FindRunJob) fails the Parallel;
    # IsJobFailed then takes the failed job to the failure path.
    transient = parallel["Catch"][0]
    assert transient["Next"] == "FindRunJob"
    for name, state in job["States"].items():
        if "Catch" in state:
            assert state["Catch"] == [
                {
                    "ErrorEquals": transient["ErrorEquals"],
                    "ResultPath": "$.runJobError",
                    "Next": "RaiseBatchError",
                },
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "JobEnded"},
            ], name
    assert job["States"]["RaiseBatchError"] == {
        "Type": "Fail",
        "ErrorPath": "$.runJobError.Error",
        "CausePath": "$.runJobError.Cause",
    }
    assert "Catch" not in watchdog["States"]["CheckJobStart"]
    assert definition["States"]["IsJobFailed"]["Choices"] == [
        {"Variable": "$.error", "IsPresent": True, "Next": FAILURE_PATH}
    ]


def test_states_of_a_shared_step_are_identical_in_every_machine():
    """A step that is the same in two modes is one spine state, written identically into
    every file by tools/asl (docs/architecture.md), in Parallel branches too; the compute's
    cleanup beside the storage's stages is one branch."""
    definitions = [nested(load(path)) for path in MACHINES.values()]
    common = set.intersection(*(set(states) for states in definitions))
    shared = common - {
        "LoadConfig",
        "PrepareCompute",
        "RunJobWithDeadline",
        "AfterJob",
        "Summarize",
    }
    assert {"CleanUpCompute", "IsComputeCleanedUp", "WaitForComputeCleanup"} <= shared
    for name in sorted(shared):
        assert all(states[name] == definitions[0][name] for states in definitions), name
    cleanups = [after_job_branches(load(path))[0] for path in MACHINES.values()]
    assert all(branch == cleanups[0] for branch in cleanups)


def after_job_branches(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """AfterJob's branches: the compute's cleanup, and the storage's stages and release."""
    branches: list[dict[str, Any]] = definition["States"]["AfterJob"]["Branches"]
    return branches


FIRST_STAGE = {"OnlyEBS": "ReleaseVolume", "TaskExport": "StartExport", "AutoExport": "CheckDrain"}
"""What the storage's branch of AfterJob starts with: OnlyEBS has no post-job stage."""


def test_the_compute_is_cleaned_up_beside_the_storage_s_stages_and_release(machine):
    """After the job the compute is deleted at once, and the export, the drain and the
    storage's release do not wait for it; an error in either branch takes the run to its
    failure path, which releases what is left."""
    mode, definition = machine
    states = definition["States"]
    storage = MODES[mode].storage
    after_job = states["AfterJob"]
    compute, storage_branch = after_job_branches(definition)

    assert after_job["Type"] == "Parallel"
    assert states["IsJobFailed"]["Default"] == "AfterJob"
    assert after_job["Next"] == "Summarize"
    # Summarize reads the storage's results ($.release, $.exportStatus, $.drain).
    assert after_job["OutputPath"] == "$[1]"
    assert after_job["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILURE_PATH}
    ]
    assert compute["StartAt"] == "CleanUpCompute"
    assert compute["States"]["IsComputeCleanedUp"]["Choices"] == [
        {"Variable": "$.cleanup.done", "BooleanEquals": True, "Next": "ComputeReleased"}
    ]
    assert storage_branch["StartAt"] == FIRST_STAGE[mode]
    released = [n for n, s in storage_branch["States"].items() if "StorageReleased" in targets(s)]
    assert released == [storage_branch["States"][storage.release.name]["Next"]]
    for branch in (compute, storage_branch):
        ends = [n for n, s in branch["States"].items() if s["Type"] == "Succeed"]
        assert len(ends) == 1
        for name, state in branch["States"].items():
            # A branch's Catch could only name a state of its branch, not the failure path.
            assert "Catch" not in state, name
            assert state["Type"] != "Fail", name


def test_the_compute_is_prepared_while_the_storage_is_created(machine):
    """PrepareCompute needs only what the create step returned (the volume's zone, or the
    file system's DNS and mount names), so it runs before the storage is ready; the compute
    is checked once the storage is ready, and the job runs once both are."""
    mode, definition = machine
    states = definition["States"]
    storage = MODES[mode].storage
    ready = states[storage.check.name]["Next"]

    assert states[storage.create.name]["Next"] == "PrepareCompute"
    assert states["PrepareCompute"]["Next"] == storage.check.name
    assert [rule["Next"] for rule in states[ready]["Choices"]] == ["CheckCompute"]
    assert [rule["Next"] for rule in states["IsComputeReady"]["Choices"]] == ["RunJobWithDeadline"]


def storage_branch_states(mode: str) -> dict[str, dict[str, Any]]:
    """The states of AfterJob's storage branch of ``mode``'s state machine."""
    states: dict[str, dict[str, Any]] = after_job_branches(load(MACHINES[mode]))[1]["States"]
    return states


def test_auto_export_deletes_only_after_a_drain_or_a_verified_export():
    every = nested(load(MACHINES["AutoExport"]))
    states = storage_branch_states("AutoExport")
    into_release = sorted(n for n, s in every.items() if "ReleaseFileSystem" in targets(s))
    assert into_release == ["IsExportDone", "IsVerificationRequired", "WaitForFileSystemRelease"]
    assert set(into_release) <= set(states)
    # Skipping verification is possible only after a real drain, never after a timeout.
    assert [c["Next"] for c in states["IsDrained"]["Choices"]] == [
        "IsVerificationRequired",
        "DisableAutoExport",
    ]
    assert states["IsDrained"]["Choices"][0]["Variable"] == "$.drain.drained"
    assert states["IsVerificationRequired"]["Choices"] == [
        {
            "Variable": "$.config.verifyExportBeforeDelete",
            "BooleanEquals": True,
            "Next": "DisableAutoExport",
        }
    ]
    assert states["DisableAutoExport"]["Next"] == "IsAutoExportDisabled"
    assert states["IsAutoExportDisabled"]["Choices"][0]["Next"] == "StartExport"
    assert states["IsExportDone"]["Choices"] == [
        {"Variable": "$.exportStatus.done", "BooleanEquals": True, "Next": "ReleaseFileSystem"}
    ]


def test_lustre_deletes_only_after_the_export_was_checked():
    every = nested(load(MACHINES["TaskExport"]))
    states = storage_branch_states("TaskExport")
    path_to_release = reachable({"StartAt": "StartExport", "States": states})
    assert "ReleaseFileSystem" in path_to_release
    # The only way into ReleaseFileSystem is a done export.
    into_release = [n for n, s in every.items() if "ReleaseFileSystem" in targets(s)]
    assert into_release == ["IsExportDone", "WaitForFileSystemRelease"]
    assert states["IsExportDone"]["Choices"] == [
        {"Variable": "$.exportStatus.done", "BooleanEquals": True, "Next": "ReleaseFileSystem"}
    ]


def test_the_release_loops_until_done_and_reports_what_it_gives_up_on():
    definition = load(RELEASE)
    states = definition["States"]
    raised = raised_names()

    assert reachable(definition) == set(states)
    assert states["WaitForRelease"] == {
        "Type": "Wait",
        "SecondsPath": "$.release.waitSeconds",
        "Next": "ReleaseRun",
    }
    assert [c["Next"] for c in states["IsRunReleased"]["Choices"]] == ["RunReleased"]
    assert states["IsRunReleased"]["Default"] == "WaitForRelease"
    # Every error of a pass (CleanupTimeout after cleanupTimeoutSeconds) goes to RetainRun.
    assert states["ReleaseRun"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.releaseError", "Next": "RetainRun"}
    ]
    assert states["RetainRun"]["Next"] == "FailRelease"
    fails = {name: s for name, s in states.items() if s["Type"] == "Fail"}
    assert {s["Error"] for s in fails.values()} == {"ReleaseIncomplete"}
    for name, state in states.items():
        for rule in [*state.get("Retry", []), *state.get("Catch", [])]:
            for error in rule["ErrorEquals"]:
                assert error.startswith(SERVICE_PREFIXES) or error in raised, (name, error)


def test_every_run_s_failure_path_starts_the_release_named_after_the_run(machine):
    _, definition = machine
    start = definition["States"][failure_path_start(definition)]

    assert start["Resource"] == "arn:aws:states:::states:startExecution"
    assert start["Parameters"]["StateMachineArn"] == "${ReleaseStateMachineArn}"
    assert start["Parameters"]["Name.$"] == "$.run.runId"
    assert start["Parameters"]["Input"] == {
        "run.$": "$.run",
        "config.$": "$.config",
        "error.$": "$.error",
        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
    }
    # A release that exists already counts as started; the run fails with its own error.
    assert {c["Next"] for c in start["Catch"]} == {"FailRun"}
    assert start["Catch"][0]["ErrorEquals"] == ["StepFunctions.ExecutionAlreadyExists"]
    assert start["Next"] == "FailRun"


def failure_path_start(definition: dict[str, Any]) -> str:
    name: str = definition["States"][
        "CreateVolume" if "CreateVolume" in definition["States"] else "CreateFileSystem"
    ]["Catch"][0]["Next"]
    return name
