"""The summary's figures on the virtual clock: ``storageSeconds`` and
``computeSecondsAfterJob`` are what the trace's timeline shows (scenarios/README.md)."""

import io
import re

import pytest

from tools.rehearse import Summary, run_scenario

TIMELINE = re.compile(r"^  \+(?P<at>[0-9.]+)s (?P<call>\w+ \w+) (?P<id>\S+)", re.MULTILINE)


def rehearse(scenario: dict[str, object]) -> tuple[Summary, dict[str, float]]:
    out = io.StringIO()
    (summary,) = run_scenario(scenario, out=out)
    times = {match["call"]: float(match["at"]) for match in TIMELINE.finditer(out.getvalue())}
    return summary, times


def test_storage_seconds_of_a_task_export_run_is_its_file_systems_time_in_the_trace() -> None:
    summary, times = rehearse({"name": "figures", "mode": "TaskExport"})
    assert summary.status == "SUCCEEDED"
    lifetime = times["FSx DeleteFileSystem"] - times["FSx CreateFileSystem"]
    assert summary.storageSeconds == pytest.approx(lifetime, abs=0.15)
    # The job ran (300 s by default) while the file system existed.
    assert summary.storageSeconds is not None and summary.storageSeconds > 300
    after_job = summary.computeSecondsAfterJob
    assert after_job is not None and 0 < after_job < times["Batch DeleteComputeEnvironment"]


def test_storage_that_is_never_deleted_counts_to_the_end_of_the_rehearsal() -> None:
    summary, times = rehearse(
        {
            "name": "kept",
            "mode": "OnlyEBS",
            "secret": {"deleteEbs": False},
            "expect": {"retained": ["ec2:volume"]},
        }
    )
    assert summary.expectationsMet, summary.failedExpectations
    assert "EC2 DeleteVolume" not in times
    assert summary.storageSeconds is not None
    assert summary.storageSeconds >= summary.virtualSeconds - times["EC2 CreateVolume"] - 0.15


def test_executions_differ_in_input_and_start_time() -> None:
    first, second = run_scenario(
        {
            "name": "staggered",
            "mode": "OnlyEBS",
            "executions": [
                {"name": "late", "input": {"ebsSizeGb": "big"}, "startAt": 600},
                {"name": "early"},
            ],
        }
    )
    assert (first.execution, first.startSeconds, first.status) == ("early", 0.0, "SUCCEEDED")
    assert (second.execution, second.status) == ("late", "FAILED")
    assert second.error == "InvalidConfiguration"
    assert second.startSeconds == pytest.approx(600, abs=1)


def test_abort_at_stops_the_execution_at_that_virtual_time() -> None:
    summary, times = rehearse(
        {
            "name": "stopped",
            "mode": "OnlyEBS",
            "aws": {"abortAt": 1800, "job": {"attempts": [{"status": "SUCCEEDED", "after": 7200}]}},
        }
    )
    assert summary.status == "ABORTED"
    assert summary.virtualSeconds == pytest.approx(1800, abs=1)
    assert summary.jobStatus == "FAILED"
    assert times["EC2 DeleteVolume"] > 1800


def test_a_scripted_fault_that_never_plays_is_reported() -> None:
    (summary,) = run_scenario(
        {
            "name": "unplayed",
            "mode": "OnlyEBS",
            "aws": {
                "lambda": {"CheckVolumeFunction": {"duplicate": [50]}},
                "errors": {"ec2:DeleteVolume": {"code": "VolumeInUse", "from": 3}},
            },
        }
    )
    assert summary.status == "SUCCEEDED"
    assert not summary.expectationsMet
    assert any(
        "aws.lambda.CheckVolumeFunction.duplicate [50]" in f for f in summary.failedExpectations
    )
    assert any("aws.errors.ec2:DeleteVolume: call 3" in f for f in summary.failedExpectations)


def test_a_scenario_cannot_fault_the_rehearsals_own_calls() -> None:
    (summary,) = run_scenario(
        {
            "name": "own-calls",
            "mode": "OnlyEBS",
            "aws": {"errors": {"states:StartExecution": {"code": "InvalidArn"}}},
        }
    )
    assert summary.status == "SUCCEEDED"
    assert any("states:StartExecution: call 1 never made" in f for f in summary.failedExpectations)


def test_abort_at_lands_in_the_middle_of_a_wait_state() -> None:
    (summary,) = run_scenario(
        {
            "name": "stopped-waiting",
            "mode": "OnlyEBS",
            "input": {"waitForEbsCreationSeconds": 3600},
            # CheckVolume watches for WATCH_SECONDS, then waits a quarter of that: the abort
            # lands in the Wait.
            "aws": {"abortAt": 270, "storage": {"readySeconds": 7200}},
        }
    )
    assert summary.status == "ABORTED"
    assert summary.states[-1] == "WaitForVolume"
    assert summary.virtualSeconds == pytest.approx(270, abs=1)
