"""Every scenario in scenarios/ runs the real template, state machine and handlers locally
and ends the way its file says; the fields a user relies on are checked here too (OnlyEBS
here, TaskExport in test_task_export.py)."""

import json
from collections.abc import Callable

import pytest

from tests.e2e.conftest import SHIPPED
from tools.rehearse import Summary

Rehearsed = Callable[[str], list[Summary]]
COMPUTE = {
    "ec2:launch-template",
    "batch:compute-environment",
    "batch:job-queue",
    "batch:job-definition",
}


def kinds(entries: list[str]) -> list[str]:
    """The kinds of "kind:id" entries (e.g. "ec2:snapshot")."""
    return [":".join(entry.split(":")[:2]) for entry in entries]


@pytest.mark.parametrize("key", sorted(SHIPPED))
def test_scenario_meets_its_expectations(rehearsed: Rehearsed, key: str) -> None:
    for summary in rehearsed(key):
        assert summary.expectationsMet, summary.failedExpectations
        assert json.loads(summary.to_json())["scenario"] == summary.scenario


def test_default_run_succeeds_and_leaves_nothing(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("only_ebs/default")
    assert summary.status == "SUCCEEDED"
    assert summary.error is None
    assert summary.jobAttempts == 1
    assert summary.states[0] == "LoadConfig"
    assert summary.states[-1] == "Summarize"
    assert set(summary.created) == {"ec2:volume", *COMPUTE}
    assert summary.leaked == []
    assert summary.retained == []


def test_spot_reclaim_is_retried_on_the_same_volume(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("only_ebs/spot-reclaim")
    assert summary.status == "SUCCEEDED"
    assert summary.jobAttempts == 2
    assert summary.created["ec2:volume"] == 1
    assert summary.states.count("RunJob") == 1
    assert summary.leaked == []


def test_application_failure_keeps_only_a_snapshot(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("only_ebs/application-failure")
    assert summary.status == "FAILED"
    assert summary.error == "States.TaskFailed"
    assert summary.jobAttempts == 1
    # The failure path: the release workflow snapshots the volume, then deletes it.
    assert summary.states[-2:] == ["StartRelease", "FailRun"]
    assert summary.release == "SUCCEEDED"
    assert summary.releaseStates[-1] == "RunReleased"
    assert summary.leaked == []
    assert kinds(summary.retained) == ["ec2:snapshot"]
    assert summary.created["ec2:volume"] == 1


def test_invalid_input_is_refused_before_anything_exists(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("only_ebs/invalid-input")
    assert summary.status == "FAILED"
    assert summary.error == "InvalidConfiguration"
    assert "ebsSizeGb" in (summary.cause or "")
    assert summary.states == ["LoadConfig", "RejectConfiguration"]
    assert summary.created == {}
    assert summary.leaked == []


def test_abort_during_job_is_cleaned_up_by_the_release(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("only_ebs/abort-during-job")
    assert summary.status == "ABORTED"
    # Stopped while its job ran: inside RunJobWithDeadline, before any cleanup of its own.
    assert "RunJob" in summary.states and "CleanUpCompute" not in summary.states
    assert summary.release == "SUCCEEDED"
    assert set(summary.created) >= COMPUTE
    assert summary.leaked == []
    assert kinds(summary.retained) == ["ec2:snapshot"]


def test_throttled_calls_are_absorbed(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("only_ebs/throttled")
    assert summary.status == "SUCCEEDED"
    assert summary.created["ec2:volume"] == 1
    assert summary.created["batch:compute-environment"] == 1
    assert summary.leaked == []
