"""Step Functions on the virtual clock (``tools.localaws.patches.stepfunctions``): a state's
and an execution's ``TimeoutSeconds``, the one-year limit of a Standard execution, and the
dates of the history and of DescribeExecution.

Small state machines created here run in a local AWS without a deploy (a probe Lambda
function, written here, stands for work that takes virtual time); the scenario keys
``aws.stepFunctions`` are checked on the project's own state machine, end to end.
"""

import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import deploy_probe
from tools.localaws import LocalAws, Simulation
from tools.localaws.behaviour import StepFunctions
from tools.localaws.patches.stepfunctions import MAX_STANDARD_SECONDS, apply_timeouts
from tools.rehearse import run_scenario

REPO = Path(__file__).resolve().parents[2]
ROLE = "arn:aws:iam::123456789012:role/probe"
PROBE = '''
from tools.localaws.patches.core import active_simulation


def lambda_handler(event, context):
    """Take ``seconds`` of virtual time, in one step or (``untilChange``) as a poll that
    sleeps until the next scheduled change."""
    clock = active_simulation().clock
    if event.get("untilChange"):
        clock.sleep_until_change(1)
    else:
        clock.advance(float(event.get("seconds", 0)))
    return {"done": True}
'''


@dataclass
class Local:
    aws: LocalAws
    sim: Simulation
    probe_arn: str

    def run(self, definition: dict[str, Any], name: str = "probe") -> dict[str, Any]:
        """Run ``definition`` to its end; return its description with ``events`` (its
        history) and ``real`` (real seconds it took)."""
        sfn = self.aws.client("stepfunctions")
        machine = sfn.create_state_machine(
            name=name, definition=json.dumps(definition), roleArn=ROLE
        )["stateMachineArn"]
        started = time.monotonic()
        arn = sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"]
        while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
            assert time.monotonic() - started < 20, "the execution did not end"
            time.sleep(0.01)
        return {
            **sfn.describe_execution(executionArn=arn),
            "events": sfn.get_execution_history(executionArn=arn)["events"],
            "real": time.monotonic() - started,
        }


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Local]:
    sim = Simulation()
    with LocalAws(REPO, sim) as aws:
        arn, _ = deploy_probe(aws, tmp_path, PROBE, timeout=900)
        yield Local(aws, sim, arn)


def _seconds(execution: dict[str, Any]) -> float:
    return float((execution["stopDate"] - execution["startDate"]).total_seconds())


def _at(execution: dict[str, Any]) -> Callable[[str], float]:
    """Seconds from the execution's start to its first history event of a type."""

    def at(event_type: str) -> float:
        event = next(e for e in execution["events"] if e["type"] == event_type)
        return float((event["timestamp"] - execution["startDate"]).total_seconds())

    return at


def _wait(seconds: int, **machine: Any) -> dict[str, Any]:
    return {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "Seconds": seconds, "Next": "Done"},
            "Done": {"Type": "Pass", "End": True},
        },
        **machine,
    }


def _task(payload: dict[str, Any], arn: str, timeout: int) -> dict[str, Any]:
    """One Lambda task with ``TimeoutSeconds`` whose every error is caught."""
    return {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": arn, "Payload": payload},
                "TimeoutSeconds": timeout,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }


# --------------------------------------------------------------------------- dates


def test_history_and_execution_dates_are_virtual(local: Local) -> None:
    execution = local.run(_wait(3600))
    at = _at(execution)
    assert execution["status"] == "SUCCEEDED"
    assert execution["real"] < 10
    assert _seconds(execution) == pytest.approx(3600, abs=2)
    assert at("WaitStateExited") - at("WaitStateEntered") == pytest.approx(3600, abs=1)
    assert at("ExecutionSucceeded") == pytest.approx(_seconds(execution), abs=0.1)


# --------------------------------------------------------------------------- execution


def test_an_execution_past_its_timeout_seconds_ends_timed_out_at_the_deadline(
    local: Local,
) -> None:
    execution = local.run(_wait(3600, TimeoutSeconds=120))
    assert execution["status"] == "TIMED_OUT"
    assert _seconds(execution) == pytest.approx(120, abs=0.01)
    last = execution["events"][-1]
    assert last["type"] == "ExecutionTimedOut"
    assert _at(execution)("ExecutionTimedOut") == pytest.approx(120, abs=0.1)
    assert "WaitStateExited" not in [e["type"] for e in execution["events"]]


def test_a_stuck_execution_times_out_after_the_year_a_standard_execution_may_last(
    local: Local,
) -> None:
    execution = local.run(_wait(400 * 86400))
    assert execution["status"] == "TIMED_OUT"
    assert _seconds(execution) == pytest.approx(MAX_STANDARD_SECONDS, abs=0.01)
    assert execution["real"] < 10


# --------------------------------------------------------------------------- state


def test_a_state_whose_work_outlasts_its_timeout_seconds_fails_with_states_timeout(
    local: Local,
) -> None:
    execution = local.run(_task({"seconds": 600}, local.probe_arn, timeout=60))
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"]) == {"Error": "States.Timeout", "Cause": ""}
    types = [e["type"] for e in execution["events"]]
    assert "TaskTimedOut" in types
    assert "TaskSucceeded" not in types


def test_a_state_whose_work_ends_in_time_succeeds(local: Local) -> None:
    execution = local.run(_task({"seconds": 50}, local.probe_arn, timeout=60))
    assert json.loads(execution["output"])["Payload"] == {"done": True}


def test_a_poll_that_sleeps_until_the_next_change_jumps_to_the_state_deadline(
    local: Local,
) -> None:
    before = local.sim.clock.now()
    execution = local.run(_task({"untilChange": True}, local.probe_arn, timeout=3600))
    assert json.loads(execution["output"])["Error"] == "States.Timeout"
    assert local.sim.clock.now() - before == pytest.approx(3600, abs=5)


# --------------------------------------------------------------------------- scenario keys


NESTED = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [{"StartAt": "Inner", "States": {"Inner": {"Type": "Task", "End": True}}}],
            "Next": "Outer",
        },
        "Outer": {"Type": "Task", "TimeoutSecondsPath": "$.t", "End": True},
        "Choose": {"Type": "Pass", "End": True},
    },
}


def test_scenario_timeouts_are_written_into_the_definition() -> None:
    settings = StepFunctions(timeoutSeconds=600, stateTimeouts={"Inner": 5, "Outer": 7})
    written = json.loads(apply_timeouts(json.dumps(NESTED), settings))
    assert written["TimeoutSeconds"] == 600
    assert written["States"]["Both"]["Branches"][0]["States"]["Inner"]["TimeoutSeconds"] == 5
    assert written["States"]["Outer"] == {"Type": "Task", "TimeoutSeconds": 7, "End": True}
    assert apply_timeouts(json.dumps(NESTED), StepFunctions()) == json.dumps(NESTED)


def test_a_scenario_timeout_on_a_state_that_is_no_task_is_refused() -> None:
    with pytest.raises(ValueError, match="Choose: not a Task state"):
        apply_timeouts(json.dumps(NESTED), StepFunctions(stateTimeouts={"Choose": 5}))


def test_the_state_machine_timeout_of_a_scenario_times_the_run_out_and_its_release_cleans_up() -> (
    None
):
    (summary,) = run_scenario(
        {
            "name": "execution-timeout",
            "mode": "OnlyEBS",
            "aws": {"stepFunctions": {"timeoutSeconds": 60}},
            "expect": {"status": "TIMED_OUT", "release": "SUCCEEDED", "leaked": []},
        }
    )
    assert summary.failedExpectations == []
    # A timed-out execution runs no Catch: the status change started the release.
    assert "StartRelease" not in summary.states


def test_a_state_timeout_of_a_scenario_sends_the_run_down_its_failure_path() -> None:
    (summary,) = run_scenario(
        {
            "name": "state-timeout",
            "mode": "OnlyEBS",
            "aws": {
                "stepFunctions": {"stateTimeouts": {"CheckVolume": 30}},
                "lambda": {"CheckVolumeFunction": {"timeout": [1]}},
            },
            "expect": {"status": "FAILED", "error": "States.Timeout", "leaked": []},
        }
    )
    assert summary.failedExpectations == []
    assert summary.states[-2:] == ["StartRelease", "FailRun"]
    assert summary.release == "SUCCEEDED"


def test_a_failed_run_starts_its_release_from_its_own_catch() -> None:
    # states:startExecution (StartRelease) as Step Functions runs it: PascalCase parameters,
    # an ExecutionArn in the answer. The status change then finds the release started.
    out = io.StringIO()
    (summary,) = run_scenario(
        {
            "name": "release-from-catch",
            "mode": "OnlyEBS",
            "aws": {"job": {"attempts": [{"status": "FAILED", "exitCode": 1}]}},
            "expect": {"status": "FAILED", "release": "SUCCEEDED", "leaked": []},
        },
        out=out,
    )
    assert summary.failedExpectations == []
    lines = out.getvalue().splitlines()
    at = lines.index("  StartRelease")
    assert lines[at + 1] == "  FailRun"  # no failure line between: the start was accepted
    (delivery,) = [line for line in lines if "ExecutionEnded" in line]
    assert "its release exists already" in delivery
