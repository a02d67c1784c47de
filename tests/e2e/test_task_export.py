"""TaskExport end to end on the local AWS: the shipped scenarios' details, and situations the
shipped scenarios do not cover (failure policies, the export ending CANCELED, the release
workflow meeting a running export task)."""

import io
import re
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import assert_released
from tools.rehearse import Summary, run_scenario

Rehearsed = Callable[[str], list[Summary]]
COMPUTE = {
    "ec2:launch-template",
    "batch:compute-environment",
    "batch:job-queue",
    "batch:job-definition",
}
LUSTRE = {"fsx:file-system", "fsx:data-repository-association", "fsx:data-repository-task"}
KEPT = ["fsx:data-repository-association", "fsx:file-system"]
"""A kept file system, as ``retained`` lists it: with its data repository association."""
APPLICATION_FAILURE = {
    "status": "FAILED",
    "statusReason": "Essential container in task exited",
    "exitCode": 1,
}


VERIFIED = re.compile(
    r"FSx DeleteFileSystem fs-\w+ \(auto-export off\): "
    r"after export task-\w+ SUCCEEDED \(0 failed\)"
)
"""Deletion began after an export task of the file system succeeded with 0 failed files."""


def deletions(trace: str) -> list[str]:
    """The trace's ``FSx DeleteFileSystem`` lines, stripped."""
    lines = [line.strip() for line in trace.splitlines()]
    return [line for line in lines if line.startswith("FSx DeleteFileSystem")]


def kinds(entries: list[str]) -> list[str]:
    """The kinds of "kind:id" entries, sorted (e.g. ["fsx:file-system"])."""
    return sorted(":".join(entry.split(":")[:2]) for entry in entries)


def rehearse(**scenario: Any) -> tuple[Summary, str]:
    """Rehearse a TaskExport scenario; return its summary and its printed trace."""
    out = io.StringIO()
    (summary,) = run_scenario({"mode": "TaskExport", **scenario}, out=out)
    return summary, out.getvalue()


# --------------------------------------------------------------------------- shipped


def test_default_run_exports_then_deletes_everything(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("task_export/default")
    assert summary.status == "SUCCEEDED"
    assert summary.error is None
    assert summary.states[0] == "LoadConfig"
    assert summary.states[-1] == "Summarize"
    for state in ("CreateFileSystem", "CheckFileSystem", "RunJob", "StartExport", "CheckExport"):
        assert state in summary.states
    # The compute's cleanup and the export run side by side, both after the job.
    after_job = summary.states.index("AfterJob")
    assert summary.states.index("RunJob") < after_job
    assert after_job < summary.states.index("CleanUpCompute")
    assert after_job < summary.states.index("StartExport")
    assert summary.states.index("CheckExport") < summary.states.index("ReleaseFileSystem")
    assert set(summary.created) == {*LUSTRE, *COMPUTE}
    assert summary.created["fsx:file-system"] == 1
    assert summary.leaked == []
    assert summary.retained == []


def test_spot_reclaim_is_retried_on_the_same_file_system(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("task_export/spot-reclaim")
    assert summary.status == "SUCCEEDED"
    assert summary.jobAttempts == 2
    assert summary.states.count("RunJob") == 1
    # one watch: two looks CREATING, AVAILABLE (association created), CREATING, ready
    assert summary.states.count("CheckFileSystem") == 1
    assert summary.created["fsx:file-system"] == 1
    assert summary.leaked == []


def test_failed_export_keeps_the_file_system(rehearsed: Rehearsed) -> None:
    for key in ("task_export/export-failed", "task_export/export-failed-files"):
        (summary,) = rehearsed(key)
        assert summary.status == "FAILED", key
        assert summary.error == "ExportFailed", key
        assert_released(summary)
        assert "ReleaseFileSystem" not in summary.states
        assert kinds(summary.retained) == KEPT, key
        assert summary.leaked == [], key
        assert summary.created["batch:compute-environment"] == 1


def test_file_system_that_fails_to_create_is_not_left_behind(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("task_export/create-failed")
    assert summary.status == "FAILED"
    assert summary.error == "StorageFailed"
    # The compute was prepared while the file system was created; the release deleted it.
    assert "RunJobWithDeadline" not in summary.states
    assert summary.created == {
        "fsx:file-system": 1,
        "ec2:launch-template": 1,
        "batch:compute-environment": 1,
        "batch:job-definition": 1,
    }
    assert summary.leaked == []
    assert summary.retained == []


def test_invalid_capacity_is_refused_before_anything_exists(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("task_export/invalid-capacity")
    assert summary.error == "InvalidConfiguration"
    assert "lustreStorageCapacity" in (summary.cause or "")
    assert summary.states == ["LoadConfig", "RejectConfiguration"]
    assert summary.created == {}


def test_abort_during_job_is_exported_and_deleted_by_the_release(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("task_export/abort-during-job")
    assert summary.status == "ABORTED"
    # Stopped while its job ran: inside RunJobWithDeadline, before any cleanup of its own.
    assert "RunJob" in summary.states and "CleanUpCompute" not in summary.states
    assert summary.release == "SUCCEEDED"
    assert summary.created["fsx:data-repository-task"] == 1  # the release's final export
    assert summary.deletedUnexported == []
    assert summary.leaked == []
    assert summary.retained == []


def test_throttled_fsx_calls_are_absorbed(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("task_export/throttled")
    assert summary.status == "SUCCEEDED"
    assert summary.created["fsx:file-system"] == 1
    assert summary.created["fsx:data-repository-task"] == 1
    assert summary.leaked == []


# --------------------------------------------------------------------------- not shipped


def test_canceled_export_keeps_the_file_system() -> None:
    summary, _ = rehearse(name="export-canceled", aws={"export": {"taskLifecycle": "CANCELED"}})
    assert summary.status == "FAILED"
    assert summary.error == "ExportFailed"
    assert "CANCELED" in (summary.cause or "")
    assert kinds(summary.retained) == KEPT
    assert summary.leaked == []


def test_release_waits_for_a_running_export_before_deleting() -> None:
    # Stopped the moment CheckExport is entered: the run's export task (started after the
    # job SUCCEEDED) is still PENDING when the release begins, and FSx refuses
    # DeleteFileSystem until it has ended. The release waits for it, and needs no second
    # export once it SUCCEEDED with 0 failed files.
    summary, trace = rehearse(name="abort-while-exporting", aws={"abortAfter": "CheckExport"})
    assert summary.status == "ABORTED"
    assert summary.states[-1] == "CheckExport"
    assert summary.release == "SUCCEEDED"
    assert "WaitForRelease" in summary.releaseStates
    assert "FSx refused" not in trace
    assert summary.created["fsx:data-repository-task"] == 1  # the run's own
    (deletion,) = deletions(trace)
    assert VERIFIED.fullmatch(deletion), deletion
    assert summary.deletedUnexported == []
    assert summary.leaked == []
    assert summary.retained == []


def test_application_failure_exports_then_deletes() -> None:
    summary, _ = rehearse(
        name="job-fails-export-succeeds", aws={"job": {"attempts": [APPLICATION_FAILURE]}}
    )
    assert summary.status == "FAILED"
    assert summary.error == "States.TaskFailed"
    assert "StartExport" not in summary.states
    assert_released(summary)
    assert summary.created["fsx:data-repository-task"] == 1  # the release's export
    assert summary.leaked == []
    assert summary.retained == []


def test_application_failure_whose_export_fails_keeps_the_file_system() -> None:
    summary, _ = rehearse(
        name="job-fails-export-fails",
        aws={
            "job": {"attempts": [APPLICATION_FAILURE]},
            "export": {"taskLifecycle": "FAILED", "failedFiles": 2},
        },
    )
    assert summary.status == "FAILED"
    assert summary.error == "States.TaskFailed"
    assert kinds(summary.retained) == KEPT
    assert summary.leaked == []


def test_retain_policy_keeps_the_file_system_without_exporting() -> None:
    summary, _ = rehearse(
        name="retain-on-failure",
        input={"onFailure": "retain"},
        aws={"job": {"attempts": [APPLICATION_FAILURE]}},
    )
    assert summary.status == "FAILED"
    assert "fsx:data-repository-task" not in summary.created
    assert kinds(summary.retained) == KEPT
    assert summary.leaked == []


def test_delete_policy_deletes_the_file_system_without_exporting() -> None:
    summary, _ = rehearse(
        name="delete-on-failure",
        input={"onFailure": "delete"},
        aws={"job": {"attempts": [APPLICATION_FAILURE]}},
    )
    assert summary.status == "FAILED"
    assert "fsx:data-repository-task" not in summary.created
    assert summary.retained == []
    assert summary.leaked == []


def test_scratch_1_is_refused_before_anything_exists() -> None:
    summary, _ = rehearse(name="scratch-1", secret={"lustreDeploymentType": "SCRATCH_1"})
    assert summary.status == "FAILED"
    assert summary.error == "InvalidConfiguration"
    assert "SCRATCH_1" in (summary.cause or "")
    assert summary.created == {}


def test_concurrent_runs_use_their_own_file_systems() -> None:
    summaries = run_scenario(
        {"name": "two-lustre-runs", "mode": "TaskExport", "aws": {"concurrent": 2}}
    )
    assert [s.status for s in summaries] == ["SUCCEEDED", "SUCCEEDED"]
    assert all(s.created["fsx:file-system"] == 1 for s in summaries)
    assert all(s.leaked == [] for s in summaries)


def test_storage_timeout_fires_on_simulated_time() -> None:
    summary, _ = rehearse(
        name="file-system-never-ready",
        input={"storageTimeoutSeconds": 60, "waitForLustreCreationSeconds": 30},
        aws={"storage": {"readySeconds": 3600}},
    )
    assert summary.status == "FAILED"
    assert summary.error == "StorageTimeout"
    assert summary.leaked == []


def test_abort_before_the_file_system_is_linked_leaves_nothing() -> None:
    summary, _ = rehearse(
        name="abort-while-creating",
        aws={"abortAfter": "WaitForFileSystem", "storage": {"readySeconds": 3600}},
    )
    assert summary.status == "ABORTED"
    assert summary.leaked == []
