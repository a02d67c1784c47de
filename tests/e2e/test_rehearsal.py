"""Rehearsals of situations the shipped scenarios do not cover, and the rehearsal's own rules."""

import io
from typing import Any

import pytest

from batchscratch.compute import retry_strategy
from batchscratch.history import WATCH_SECONDS
from tools.localaws import JobOutcome, retry_action
from tools.rehearse import entries_match, run_scenario
from tools.scenario import ScenarioError, parse

RECLAIM = {
    "status": "FAILED",
    "statusReason": "Host EC2 (instance i-0123456789abcdef0) terminated.",
}
RULES = retry_strategy(5)["evaluateOnExit"]


def kinds(entries: list[str]) -> list[str]:
    """The kinds of "kind:id" entries (e.g. "ec2:snapshot")."""
    return [":".join(entry.split(":")[:2]) for entry in entries]


def rehearse(**scenario: Any) -> Any:
    (summary,) = run_scenario({"mode": "OnlyEBS", **scenario})
    return summary


def test_reclaimed_on_every_attempt_fails_after_the_configured_attempts() -> None:
    summary = rehearse(
        name="reclaimed-every-time",
        secret={"jobDefinitionRetryAttempts": 3},
        aws={"job": {"attempts": [RECLAIM] * 5}},
    )
    assert summary.status == "FAILED"
    assert summary.error == "States.TaskFailed"
    assert summary.jobAttempts == 3
    assert summary.leaked == []
    assert kinds(summary.retained) == ["ec2:snapshot"]


def test_volume_that_takes_three_polls_is_waited_for() -> None:
    # CheckVolume watches within its invocation: three looks at a creating volume and the
    # fourth at an available one cost one task, no Wait state.
    summary = rehearse(name="slow-volume", aws={"storage": {"readyAfterPolls": 3}})
    assert summary.status == "SUCCEEDED"
    assert summary.states.count("CheckVolume") == 1
    assert "WaitForVolume" not in summary.states
    assert summary.leaked == []


def test_volume_slower_than_a_watch_is_waited_for_through_the_wait_state() -> None:
    # Created in 10 minutes: each CheckVolume watches for WATCH_SECONDS, then the Wait takes
    # the pause it chose, until the volume is available.
    summary = rehearse(name="slower-volume", aws={"storage": {"readySeconds": 600}})
    assert summary.status == "SUCCEEDED"
    assert 2 <= summary.states.count("CheckVolume") <= 600 // WATCH_SECONDS + 1
    assert summary.states.count("WaitForVolume") == summary.states.count("CheckVolume") - 1
    assert summary.leaked == []


def test_volume_that_fails_to_create_ends_the_run_and_is_not_left_behind() -> None:
    summary = rehearse(
        name="volume-fails",
        secret={"cleanupTimeoutSeconds": 300},
        aws={"storage": {"createFails": True, "readyAfterPolls": 1}},
    )
    assert summary.status == "FAILED"
    assert summary.error == "StorageFailed"
    assert summary.jobAttempts == 0
    assert summary.leaked == []


def test_storage_timeout_fires_on_simulated_time() -> None:
    summary = rehearse(
        name="volume-never-ready",
        input={"storageTimeoutSeconds": 60, "waitForEbsCreationSeconds": 30},
        aws={"storage": {"readySeconds": 3600}},
    )
    assert summary.status == "FAILED"
    assert summary.error == "StorageTimeout"
    assert summary.states.count("CheckVolume") < 10
    assert summary.leaked == []


def test_storage_timeout_fires_without_waits_between_polls() -> None:
    # No Wait time at all: only the simulated time each Lambda invocation takes moves the
    # clock, as in AWS, where a check is never instantaneous.
    summary = rehearse(
        name="zero-poll-interval",
        input={"storageTimeoutSeconds": 60, "waitForEbsCreationSeconds": 0},
        aws={"storage": {"readyAfterPolls": 100}},
    )
    assert summary.status == "FAILED"
    assert summary.error == "StorageTimeout"
    assert summary.states.count("CheckVolume") < 70
    assert summary.leaked == []


def test_retain_policy_keeps_the_volume() -> None:
    summary = rehearse(
        name="retain-on-failure",
        input={"onFailure": "retain"},
        aws={
            "job": {
                "attempts": [
                    {"status": "FAILED", "statusReason": "Essential container in task exited"}
                ]
            }
        },
    )
    assert summary.status == "FAILED"
    assert kinds(summary.retained) == ["ec2:volume"]
    assert summary.leaked == []


def test_concurrent_executions_use_their_own_resources() -> None:
    summaries = run_scenario({"name": "two-at-once", "mode": "OnlyEBS", "aws": {"concurrent": 2}})
    assert [s.status for s in summaries] == ["SUCCEEDED", "SUCCEEDED"]
    assert all(s.created["batch:compute-environment"] == 1 for s in summaries)
    assert all(s.leaked == [] for s in summaries)


def test_throttled_lambda_invoke_is_retried_by_the_state_machine() -> None:
    summary = rehearse(name="lambda-throttled", aws={"throttle": {"lambda:Invoke": 1}})
    assert summary.status == "SUCCEEDED"
    assert summary.transitions == len(summary.states) + 1


def test_unmet_expectations_are_listed() -> None:
    summary = rehearse(
        name="wrong-expectations", expect={"status": "FAILED", "retained": ["ec2:snapshot"]}
    )
    assert not summary.expectationsMet
    assert summary.failedExpectations == [
        'status: expected "FAILED", got "SUCCEEDED"',
        'retained: expected ["ec2:snapshot"], got []',
    ]


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"mode": "OnlyEBS", "aws": {"job": {"atempts": []}}}, "aws.job.atempts: unknown key"),
        ({"mode": "OnlyEBS", "expected": {}}, "expected: unknown key"),
        ({"aws": {}}, "mode: required"),
        (
            {"mode": "OnlyEBS", "aws": {"storage": {"readyAfterPolls": -1}}},
            "aws.storage.readyAfterPolls",
        ),
        ({"mode": "OnlyEBS", "expect": {"leaked": ["ec2:disk"]}}, "expect.leaked"),
        ({"mode": "OnlyEBS", "aws": {"throttle": {"CreateVolume": 1}}}, "aws.throttle"),
        ({"mode": "OnlyEBS", "aws": {"throttle": {"ec2:CreateVolumes": 1}}}, "aws.throttle"),
        ({"mode": "OnlyEBS", "aws": {"throttle": {"ecc2:CreateVolume": 1}}}, "aws.throttle"),
        (
            {"mode": "AutoExport", "aws": {"export": {"queueAgeSeconds": [30, -1]}}},
            "aws.export.queueAgeSeconds.1",
        ),
    ],
)
def test_invalid_scenarios_are_refused_naming_the_key(data: dict[str, Any], named: str) -> None:
    with pytest.raises(ScenarioError, match=named.replace(".", r"\.")):
        parse(data)


@pytest.mark.parametrize(
    ("expected", "actual", "match"),
    [
        ([], [], True),
        (["ec2:snapshot"], ["ec2:snapshot:snap-1"], True),
        (["ec2:snapshot"], ["ec2:snapshot:snap-1", "ec2:snapshot:snap-2"], False),
        (["ec2:snapshot", "ec2:snapshot"], ["ec2:snapshot:snap-1", "ec2:snapshot:snap-2"], True),
        (["ec2:volume:vol-1"], ["ec2:volume:vol-1"], True),
        (["ec2:volume:vol-1"], ["ec2:volume:vol-2"], False),
        (["ec2:volume"], ["ec2:snapshot:snap-1"], False),
        ([], ["batch:job-queue:q"], False),
        (["ec2:volume:vol-1", "ec2:volume"], ["ec2:volume:vol-2", "ec2:volume:vol-1"], True),
    ],
)
def test_expected_entries_match_kinds_or_exact_ids(
    expected: list[str], actual: list[str], match: bool
) -> None:
    assert entries_match(expected, actual) is match


@pytest.mark.parametrize(
    ("outcome", "action"),
    [
        (JobOutcome("FAILED", "Host EC2 (instance i-0123456789abcdef0) terminated."), "RETRY"),
        (JobOutcome("FAILED", "Essential container in task exited", exit_code=1), "EXIT"),
        # The job exited on the Spot watcher's SIGTERM before the host went away.
        (JobOutcome("FAILED", "Essential container in task exited", exit_code=143), "RETRY"),
        (JobOutcome("FAILED", "Essential container in task exited", exit_code=75), "RETRY"),
        (JobOutcome("FAILED", None, reason="CannotPullContainerError: not found"), "EXIT"),
    ],
)
def test_retry_strategy_is_applied_as_batch_does(outcome: JobOutcome, action: str) -> None:
    assert retry_action(RULES, outcome) == action
    assert retry_action([], outcome) == "RETRY"


def test_execution_that_never_ends_is_stopped_and_fails_the_scenario(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REHEARSAL_TIMEOUT_SECONDS", "1")
    summary = rehearse(
        name="never-ready",
        # A shorter storage limit: polling every 0 s for 1800 s would not fit the execution
        # history, and LoadConfig would refuse the run (batchscratch.history).
        input={"waitForEbsCreationSeconds": 0, "storageTimeoutSeconds": 600},
        aws={"storage": {"readyAfterPolls": 1_000}},
    )
    assert summary.status == "ABORTED", (summary.error, (summary.cause or "")[:400], summary.states)
    assert not summary.expectationsMet
    assert summary.failedExpectations[0].startswith("execution still RUNNING after 1 s")


def test_the_trace_reports_the_release_of_a_run_with_a_non_ascii_name() -> None:
    # EventBridge's JSON escapes non-ASCII characters: the delivery must still be found, and
    # the release (named after the run) followed.
    out = io.StringIO()
    (summary,) = run_scenario(
        {
            "mode": "OnlyEBS",
            "executionName": "データ-ラン(ü)!",
            "aws": {"abortAt": 120},
            "expect": {"status": "ABORTED", "release": "SUCCEEDED", "leaked": []},
        },
        out=out,
    )

    assert summary.expectationsMet, summary.failedExpectations
    assert "  release データ-ラン(ü)! started at +" in out.getvalue()
    assert "no rule sent" not in out.getvalue()
    assert "EventBridge rule" in out.getvalue()


def test_concurrent_names_that_would_exceed_80_characters_are_refused_when_loaded() -> None:
    with pytest.raises(ScenarioError, match="is 81 characters"):
        parse({"mode": "OnlyEBS", "executionName": "z" * 79, "aws": {"concurrent": 2}})
    with pytest.raises(ScenarioError, match="refuses ':'"):
        parse({"mode": "OnlyEBS", "executionName": "a:b"})
