"""The rehearsal follows a run's release executions (scenarios/README.md, "The summary line").

The stack deploys one release state machine beside the run's (``ReleaseStateMachine``); the
tests here deploy a stand-in of it, with a stand-in starter on the run's status change, into
a copy of the repository, so that the rehearsal's plumbing is tested on its own: the driver
waits for the release, the summary reports it and what it published, the trace shows it.
"""

import io
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tools.localaws import Created, LocalAws, Notification, Simulation
from tools.localaws.simulation import Released
from tools.localaws.stack import Artifacts, DeployError, Stack
from tools.rehearse import (
    Summary,
    created_by,
    is_release_of,
    names_run,
    releases_of,
    run_scenario,
    state_machine_of,
    storage_seconds,
)
from tools.scenario import ScenarioError, parse

REPO = Path(__file__).resolve().parents[2]

STARTER = '''\
import json
import os

import boto3


def lambda_handler(event, context):
    """Start the run's release, named after the run, as the stack's starter does."""
    detail = event["detail"]
    run = {"executionArn": detail["executionArn"], "runId": detail["name"]}
    sfn = boto3.client("stepfunctions")
    try:
        sfn.start_execution(
            stateMachineArn=os.environ["RELEASE_STATE_MACHINE_ARN"],
            name=detail["name"],
            input=json.dumps({"run": run, "error": {"Error": detail["status"]}}),
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        pass
    return {"started": detail["name"]}
'''

RELEASE_WAIT_SECONDS = 7200
RELEASE: dict[str, Any] = {
    "StartAt": "ReleaseRun",
    "States": {
        "ReleaseRun": {"Type": "Pass", "Next": "WaitForRelease"},
        "WaitForRelease": {"Type": "Wait", "Seconds": RELEASE_WAIT_SECONDS, "Next": "RetainRun"},
        "RetainRun": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {
                "TopicArn": "${ReleaseTopicArn}",
                "Message.$": "States.Format('kept what {} left', $.run.executionArn)",
            },
            "End": True,
        },
    },
}
SAME_NAMES = {
    "StartAt": "CheckCompute",
    "States": {"CheckCompute": {"Type": "Pass", "Next": "WaitForRelease"}, **RELEASE["States"]},
}
"""A release with a state named as the run's state ``abortAfter`` names."""
NEVER_ENDS = {
    "StartAt": "ReleaseRun",
    "States": {
        "ReleaseRun": {"Type": "Pass", "Next": "WaitForRelease"},
        "WaitForRelease": {"Type": "Wait", "Seconds": 60, "Next": "ReleaseRun"},
    },
}


def stand_in(tmp_path: Path, definition: dict[str, Any]) -> Path:
    """A copy of the repository (links to its folders) whose template also deploys a
    release state machine with ``definition``, an SNS topic it publishes to, and a function
    that starts it for every ABORTED, FAILED or TIMED_OUT run."""
    root = tmp_path / "repo"
    root.mkdir()
    for item in REPO.iterdir():
        if item.name not in ("template.yaml", ".git", ".venv"):
            (root / item.name).symlink_to(item)
    (tmp_path / "starter").mkdir()
    (tmp_path / "starter" / "app.py").write_text(STARTER)
    extra = textwrap.indent(
        textwrap.dedent(
            f"""\
            ReleaseTopic:
              Type: AWS::SNS::Topic
            ReleaseStateMachine:
              Type: AWS::Serverless::StateMachine
              Properties:
                Type: STANDARD
                Definition: {json.dumps(definition)}
                DefinitionSubstitutions:
                  ReleaseTopicArn: !Ref ReleaseTopic
                Policies:
                  - SNSPublishMessagePolicy: {{TopicName: !GetAtt ReleaseTopic.TopicName}}
            StartReleaseFunction:
              Type: AWS::Serverless::Function
              Properties:
                CodeUri: {tmp_path / "starter"}/
                Environment:
                  Variables:
                    RELEASE_STATE_MACHINE_ARN: !Ref ReleaseStateMachine
                Policies:
                  - StepFunctionsExecutionPolicy:
                      StateMachineName: !GetAtt ReleaseStateMachine.Name
                Events:
                  ExecutionEnded:
                    Type: EventBridgeRule
                    Properties:
                      Pattern:
                        source: [aws.states]
                        detail-type: [Step Functions Execution Status Change]
                        detail:
                          status: [ABORTED, TIMED_OUT, FAILED]
            """
        ),
        "  ",
    )
    template = (REPO / "template.yaml").read_text()
    assert "\nOutputs:\n" in template
    (root / "template.yaml").write_text(template.replace("\nOutputs:\n", f"\n{extra}\nOutputs:\n"))
    return root


ABORTED_RUN = {
    "name": "released",
    "mode": "OnlyEBS",
    "aws": {"abortAt": 1800, "job": {"attempts": [{"status": "SUCCEEDED", "after": 7200}]}},
}


def rehearse(root: Path, scenario: dict[str, Any]) -> tuple[Summary, str]:
    out = io.StringIO()
    (summary,) = run_scenario(scenario, root=root, out=out)
    return summary, out.getvalue()


def test_the_release_of_an_aborted_run_is_followed_to_its_end(tmp_path: Path) -> None:
    expect = {"status": "ABORTED", "release": "SUCCEEDED", "notifications": 1}
    scenario = {**ABORTED_RUN, "expect": expect}
    summary, trace = rehearse(stand_in(tmp_path, RELEASE), scenario)
    assert summary.expectationsMet, summary.failedExpectations
    assert summary.release == "SUCCEEDED"
    assert summary.releaseStates == ["ReleaseRun", "WaitForRelease", "RetainRun"]
    assert summary.notifications == 1
    # The trace shows the release under the run, timed from the run's start.
    lines = trace.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("  release rehearsal-released "))
    # Started after the abort at 1800 s, once EventBridge delivered the ABORTED status change.
    started = float(lines[at].split("started at +")[1].rstrip("s:"))
    assert 1800 <= started < 1800 + RELEASE_WAIT_SECONDS
    assert lines[at + 1 : at + 4] == ["    ReleaseRun", "    WaitForRelease", "    RetainRun"]
    ended = lines[at + 4]
    assert ended.startswith("    => SUCCEEDED at +")
    assert float(ended.split("+")[1].rstrip("s")) >= started + RELEASE_WAIT_SECONDS
    assert any(" SNS Publish " in line and "kept what" in line for line in lines)
    # virtualSeconds is the run's own duration, not its release's.
    assert summary.virtualSeconds == pytest.approx(1800, abs=1)


def test_a_release_expectation_not_met_is_reported(tmp_path: Path) -> None:
    scenario = {**ABORTED_RUN, "expect": {"release": None, "notifications": 0}}
    summary, _ = rehearse(stand_in(tmp_path, RELEASE), scenario)
    assert summary.failedExpectations == [
        'release: expected null, got "SUCCEEDED"',
        "notifications: expected 0, got 1",
    ]


def test_storage_never_deleted_counts_until_the_release_ended(tmp_path: Path) -> None:
    scenario = {**ABORTED_RUN, "secret": {"deleteEbs": False}}
    summary, _ = rehearse(stand_in(tmp_path, RELEASE), scenario)
    assert summary.release == "SUCCEEDED"
    assert summary.storageSeconds is not None
    assert summary.storageSeconds >= 1800 + RELEASE_WAIT_SECONDS - 60


def test_a_release_still_running_at_the_deadline_is_stopped_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REHEARSAL_TIMEOUT_SECONDS", "10")
    scenario = {"name": "endless", "mode": "OnlyEBS", "aws": {"abortAfter": "CreateVolume"}}
    summary, _ = rehearse(stand_in(tmp_path, NEVER_ENDS), scenario)
    assert summary.status == "ABORTED"
    assert summary.release == "ABORTED"
    assert summary.failedExpectations[0] == (
        "release execution rehearsal-endless still RUNNING after 10 s of real time; stopped"
    )


def test_abort_after_stops_only_the_run_not_its_release(tmp_path: Path) -> None:
    # A state outside the Parallel states: stopping a run as it enters RunJob races, in moto's
    # interpreter, with the watchdog branch beside it (the run may end FAILED States.Runtime).
    scenario = {"name": "abort-run-only", "mode": "OnlyEBS", "aws": {"abortAfter": "CheckCompute"}}
    summary, _ = rehearse(stand_in(tmp_path, SAME_NAMES), scenario)
    assert summary.status == "ABORTED"
    assert summary.release == "SUCCEEDED"
    assert summary.releaseStates[0] == "CheckCompute"


def test_a_run_that_succeeds_has_no_release() -> None:
    # The stack's own release state machine is deployed; nothing starts it for a run that
    # cleaned up after itself (neither a Catch nor a FAILED, ABORTED or TIMED_OUT status).
    expect = {"status": "SUCCEEDED", "release": None, "notifications": 0}
    (summary,) = run_scenario({"name": "no-release", "mode": "OnlyEBS", "expect": expect})
    assert summary.expectationsMet, summary.failedExpectations
    assert (summary.release, summary.releaseStates, summary.notifications) == (None, [], 0)


def test_without_a_release_state_machine_no_release_is_looked_for() -> None:
    # A stack (e.g. a template before the release workflow) that deploys no
    # ReleaseStateMachine: every run maps to no release, and no AWS call is made.
    machine = ("AWS::StepFunctions::StateMachine", RUN.replace("execution:", "stateMachine:"))
    stack = Stack("old", "OnlyEBS", {"RunMachine": machine}, {}, Artifacts(), {})
    assert stack.release_state_machine_arn is None
    assert releases_of(None, stack, [RUN]) == {RUN: []}  # type: ignore[arg-type]


# --------------------------------------------------------------------------- pure rules


def test_figures_count_what_the_runs_release_executions_did() -> None:
    run, release_arn = RUN, RUN.replace("execution:", "execution:Release-") + "-x"
    sim = Simulation()
    sim.created += [
        Created("ec2:volume", "vol-1", run, at=100.0),
        Created("ec2:snapshot", "snap-1", release_arn, at=900.0),
    ]
    sim.released.append(Released("ec2:volume", "vol-1", release_arn, at=1000.0))
    both = frozenset({run, release_arn})
    assert created_by(sim, both) == {"ec2:volume": {"vol-1"}, "ec2:snapshot": {"snap-1"}}
    assert created_by(sim, frozenset({run})) == {"ec2:volume": {"vol-1"}}
    assert storage_seconds(sim, both, end=5000.0) == 900.0


RUN = "arn:aws:states:us-east-1:123456789012:execution:BatchJobWithOnlyEBSStateMachine-1:run-1"


def release(name: str, run_arn: str = RUN) -> dict[str, Any]:
    return {"name": name, "input": json.dumps({"run": {"executionArn": run_arn}})}


def test_a_release_is_the_runs_by_its_name_and_its_input() -> None:
    assert is_release_of(release("run-1"), RUN)
    assert is_release_of(release("run-1-20261201T220000Z"), RUN)
    assert not is_release_of(release("run-12"), RUN)
    assert not is_release_of(release("run-1", RUN.replace("run-1", "run-2")), RUN)
    assert not is_release_of({"name": "run-1", "input": "{}"}, RUN)
    long_id = "r" * 80
    assert is_release_of(release(f"{'r' * 64}-1", f"{RUN[:-5]}{long_id}"), f"{RUN[:-5]}{long_id}")


def test_a_notification_names_the_run_by_its_id_as_a_whole_word() -> None:
    def published(message: str, subject: str | None = None) -> Notification:
        return Notification("arn:aws:sns:us-east-1:123456789012:topic", message, subject)

    assert names_run(published(f"kept what {RUN} left"), RUN)
    assert names_run(published("run run-1 kept its volume."), RUN)
    assert names_run(published("{}", subject="run-1: retained"), RUN)
    assert not names_run(published("run run-12 kept its volume"), RUN)
    assert not names_run(published("nothing to say"), RUN)


def test_an_execution_arn_names_its_state_machine() -> None:
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:BatchJobWithOnlyEBSStateMachine-1"
    assert state_machine_of(RUN) == machine
    assert state_machine_of("not an arn") == ""


def _stack(mode: str, machines: dict[str, str], uris: dict[str, str]) -> Stack:
    resources = {
        logical: ("AWS::StepFunctions::StateMachine", f"arn:{logical}") for logical in machines
    }
    return Stack("s", mode, resources, {}, Artifacts(definition_uris=uris), {})


def test_the_run_state_machine_is_the_one_with_the_modes_definition() -> None:
    stack = _stack(
        "TaskExport",
        {"ReleaseStateMachine": "", "TaskExportStateMachine": ""},
        {
            "ReleaseStateMachine": "statemachine/release.asl.json",
            "TaskExportStateMachine": "statemachine/lustre_task_export.asl.json",
        },
    )
    assert stack.state_machine_arn == "arn:TaskExportStateMachine"
    assert stack.release_state_machine_arn == "arn:ReleaseStateMachine"
    alone = _stack(
        "OnlyEBS",
        {"OnlyEbsStateMachine": ""},
        {"OnlyEbsStateMachine": "statemachine/only_ebs.asl.json"},
    )
    assert (alone.state_machine_arn, alone.release_state_machine_arn) == (
        "arn:OnlyEbsStateMachine",
        None,
    )
    with pytest.raises(DeployError, match="deploys no state machine defined by"):
        _ = _stack("OnlyEBS", {"ReleaseStateMachine": ""}, {}).state_machine_arn


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ({"release": "DONE"}, "expect.release"),
        ({"release": True}, "expect.release"),
        ({"notifications": -1}, "expect.notifications = -1"),
        ({"notifications": 1.0}, "expect.notifications = 1.0"),
        ({"notifications": True}, "expect.notifications = true"),
        ({"notifications": None}, "notifications: null checks nothing"),
    ],
)
def test_release_expectations_are_strict(expect: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=message.replace(".", r"\.")):
        parse({"mode": "OnlyEBS", "expect": expect})


def test_every_message_sns_accepts_is_recorded_once() -> None:
    with LocalAws(REPO, Simulation()) as aws:
        sns = aws.client("sns")
        topic = sns.create_topic(Name="release")["TopicArn"]
        sns.publish(TopicArn=topic, Message="run-1 retained", Subject="retained")
        sns.publish_batch(
            TopicArn=topic,
            PublishBatchRequestEntries=[
                {"Id": "a", "Message": "one"},
                {
                    "Id": "b",
                    "Message": "two",
                    "MessageAttributes": {"run": {"DataType": "String", "StringValue": "run-1"}},
                },
            ],
        )
        with pytest.raises(sns.exceptions.NotFoundException):
            sns.publish(TopicArn=f"{topic}-gone", Message="never")
        recorded = aws.notifications
    assert [(n.topic_arn, n.message, n.subject) for n in recorded] == [
        (topic, "run-1 retained", "retained"),
        (topic, "one", None),
        (topic, "two", None),
    ]
    assert [names_run(n, RUN) for n in recorded] == [True, False, True]
