"""AutoExport end to end on the local AWS: the shipped scenarios' details, and situations the
shipped scenarios do not cover (a queue that never empties, no metric at all, a failing
verification, verifyExportBeforeDelete off, the job failing).

The file system must never be deleted before its results are known to be in S3: either the
drain check saw the queue empty (and, with verifyExportBeforeDelete, a verifying export task
succeeded too), or, when the drain check gave up, a verifying export task succeeded. The
trace's ``FSx DeleteFileSystem`` line says what the emulated FSx saw when deletion began:
whether auto-export was still on, and every export task of the file system by then.
"""

import io
import re
from collections.abc import Callable
from typing import Any

from batchscratch.metrics import NO_METRIC_PERIODS
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
DRAINS = [240, 60, 0]
VERIFIED = re.compile(
    r"FSx DeleteFileSystem fs-\w+ \(auto-export off\): "
    r"after export task-\w+ SUCCEEDED \(0 failed\)"
)
"""Deletion began after auto-export was turned off and a verifying export succeeded."""


def kinds(entries: list[str]) -> list[str]:
    """The kinds of "kind:id" entries, sorted (e.g. ["fsx:file-system"])."""
    return sorted(":".join(entry.split(":")[:2]) for entry in entries)


def rehearse(**scenario: Any) -> tuple[Summary, str]:
    """Rehearse an AutoExport scenario; return its summary and its printed trace."""
    out = io.StringIO()
    (summary,) = run_scenario({"mode": "AutoExport", **scenario}, out=out)
    return summary, out.getvalue()


def deletions(trace: str) -> list[str]:
    """The trace's ``FSx DeleteFileSystem`` lines, stripped."""
    lines = [line.strip() for line in trace.splitlines()]
    return [line for line in lines if line.startswith("FSx DeleteFileSystem")]


def drain_line(trace: str) -> str:
    (line,) = [line.strip() for line in trace.splitlines() if "drain checks:" in line]
    return line


def in_order(states: list[str], *names: str) -> bool:
    """Whether each of ``names`` is entered (first time) after the one before it."""
    positions = [states.index(name) for name in names]
    return positions == sorted(positions)


def assert_verified_before_delete(summary: Summary, trace: str) -> None:
    assert in_order(
        summary.states, "CheckDrain", "DisableAutoExport", "StartExport", "CheckExport"
    ), summary.states
    assert summary.states.index("CheckExport") < summary.states.index("ReleaseFileSystem")
    (deletion,) = deletions(trace)
    assert VERIFIED.fullmatch(deletion), deletion
    assert "FSx refused" not in trace


# --------------------------------------------------------------------------- shipped


def test_default_run_drains_verifies_then_deletes_everything(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("auto_export/default")
    assert summary.status == "SUCCEEDED"
    assert summary.error is None
    assert summary.states[0] == "LoadConfig"
    assert summary.states[-1] == "Summarize"
    for state in ("CheckDrain", "IsVerificationRequired", "DisableAutoExport", "StartExport"):
        assert state in summary.states
    assert in_order(summary.states, "AfterJob", "CheckDrain", "IsVerificationRequired")
    assert in_order(summary.states, "AfterJob", "CleanUpCompute")
    # the queue was still busy at the first checks: the run waited for it
    assert "WaitForDrain" in summary.states
    assert set(summary.created) == {*LUSTRE, *COMPUTE}
    assert summary.created["fsx:data-repository-task"] == 1  # the verifying export
    assert summary.leaked == []
    assert summary.retained == []


def test_queue_that_never_drains_is_verified_before_delete(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("auto_export/never-drains")
    assert summary.status == "SUCCEEDED"
    # timed out: straight to the verification, never through the "drained" branch
    assert "IsVerificationRequired" not in summary.states
    assert in_order(summary.states, "CheckDrain", "DisableAutoExport", "StartExport")
    assert summary.states.index("CheckExport") < summary.states.index("ReleaseFileSystem")
    assert summary.created["fsx:data-repository-task"] == 1
    assert summary.leaked == []
    assert summary.retained == []


def test_missing_metric_is_verified_before_delete(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("auto_export/no-metric")
    assert summary.status == "SUCCEEDED"
    assert "IsVerificationRequired" not in summary.states
    assert summary.states.index("CheckExport") < summary.states.index("ReleaseFileSystem")
    assert summary.created["fsx:data-repository-task"] == 1
    assert summary.leaked == []


def test_failed_verification_keeps_the_file_system(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("auto_export/verification-fails")
    assert summary.status == "FAILED"
    assert summary.error == "ExportFailed"
    assert "ReleaseFileSystem" not in summary.states
    assert_released(summary)
    assert kinds(summary.retained) == KEPT
    assert summary.leaked == []
    assert summary.created["batch:compute-environment"] == 1


def test_spot_reclaim_is_retried_on_the_same_file_system(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("auto_export/spot-reclaim")
    assert summary.status == "SUCCEEDED"
    assert summary.jobAttempts == 2
    assert summary.states.count("RunJob") == 1
    assert summary.created["fsx:file-system"] == 1
    assert summary.leaked == []


def test_invalid_input_is_refused_before_anything_exists(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("auto_export/invalid-input")
    assert summary.error == "InvalidConfiguration"
    assert "lambdaPeriodSeconds" in (summary.cause or "")
    assert summary.states == ["LoadConfig", "RejectConfiguration"]
    assert summary.created == {}


def test_abort_during_job_is_exported_and_deleted_by_the_release(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("auto_export/abort-during-job")
    assert summary.status == "ABORTED"
    # Stopped while its job ran: inside RunJobWithDeadline, before any cleanup of its own.
    assert "RunJob" in summary.states and "CleanUpCompute" not in summary.states
    assert summary.release == "SUCCEEDED"
    assert summary.created["fsx:data-repository-task"] == 1  # the release's final export
    assert summary.deletedUnexported == []
    assert summary.leaked == []
    assert summary.retained == []


def test_throttled_metric_reads_are_absorbed(rehearsed: Rehearsed) -> None:
    (summary,) = rehearsed("auto_export/throttled")
    assert summary.status == "SUCCEEDED"
    assert summary.created["fsx:data-repository-task"] == 1
    assert summary.leaked == []


# --------------------------------------------------------------------------- not shipped


def test_queue_that_never_reaches_zero_is_not_deleted_before_verification() -> None:
    summary, trace = rehearse(
        name="queue-never-empty",
        input={"drainTimeoutSeconds": 300},
        aws={"export": {"queueAgeSeconds": [45, 90, 30, 5]}},
    )
    assert summary.status == "SUCCEEDED"
    assert drain_line(trace).startswith("drain checks:")
    assert "last: timed out" in drain_line(trace)
    assert "IsVerificationRequired" not in summary.states
    assert_verified_before_delete(summary, trace)
    assert summary.leaked == []


def test_no_datapoints_neither_hang_nor_delete_unverified_data() -> None:
    # Nothing is ever published: the drain stops waiting once NO_METRIC_PERIODS periods have
    # passed since the job's end, long before drainTimeoutSeconds (7200 s by default).
    summary, trace = rehearse(name="metric-never-published")
    assert summary.status == "SUCCEEDED"
    assert "AgeOfOldestQueuedMessage fs-" not in trace  # no datapoint was published
    assert "last: timed out" in drain_line(trace)
    assert "the metric is not published" in drain_line(trace)
    # The job runs 300 s: five one-minute periods after its end, not before, not 2 hours.
    assert (
        300 + NO_METRIC_PERIODS * 60 < summary.virtualSeconds < 300 + NO_METRIC_PERIODS * 60 + 300
    )
    assert_verified_before_delete(summary, trace)
    assert summary.leaked == []


def test_failing_verification_ends_failed_and_keeps_the_file_system() -> None:
    summary, trace = rehearse(
        name="verification-canceled",
        aws={"export": {"queueAgeSeconds": DRAINS, "taskLifecycle": "CANCELED"}},
    )
    assert summary.status == "FAILED"
    assert summary.error == "ExportFailed"
    assert deletions(trace) == []  # never deleted
    assert kinds(summary.retained) == KEPT
    assert summary.leaked == []  # compute cleaned up, the file system kept on purpose
    assert not COMPUTE & set(kinds(summary.retained))


def test_without_verification_a_drained_queue_is_deleted_without_an_export() -> None:
    summary, trace = rehearse(
        name="no-verification-drained",
        secret={"verifyExportBeforeDelete": False},
        aws={"export": {"queueAgeSeconds": DRAINS}},
    )
    assert summary.status == "SUCCEEDED"
    assert "last: drained" in drain_line(trace)
    assert in_order(summary.states, "CheckDrain", "IsVerificationRequired", "ReleaseFileSystem")
    assert "DisableAutoExport" not in summary.states
    assert "StartExport" not in summary.states
    assert "fsx:data-repository-task" not in summary.created
    (deletion,) = deletions(trace)
    assert deletion.endswith("no export task before"), deletion
    assert summary.leaked == []
    assert summary.retained == []


def test_without_verification_a_drain_timeout_still_verifies() -> None:
    summary, trace = rehearse(
        name="no-verification-timeout",
        secret={"verifyExportBeforeDelete": False},
        input={"drainTimeoutSeconds": 300},
        aws={"export": {"queueAgeSeconds": [600]}},
    )
    assert summary.status == "SUCCEEDED"
    assert "last: timed out" in drain_line(trace)
    assert summary.created["fsx:data-repository-task"] == 1
    assert_verified_before_delete(summary, trace)
    assert summary.leaked == []


def test_job_failure_exports_after_turning_auto_export_off() -> None:
    # FSx refuses an export task while auto-export is on (the emulation too), so the
    # release's export (the onFailure policy) must turn it off first.
    summary, trace = rehearse(
        name="job-fails-export",
        input={"onFailure": "export"},
        aws={
            "job": {"attempts": [APPLICATION_FAILURE]},
            "export": {"queueAgeSeconds": DRAINS},
        },
    )
    assert summary.status == "FAILED"
    assert summary.error == "States.TaskFailed"
    assert "CheckDrain" not in summary.states
    assert_released(summary)
    assert summary.created["fsx:data-repository-task"] == 1  # the release's export
    assert "FSx refused" not in trace
    (deletion,) = deletions(trace)
    assert VERIFIED.fullmatch(deletion), deletion
    assert summary.leaked == []
    assert summary.retained == []


def test_concurrent_runs_read_their_own_file_systems_metric() -> None:
    out = io.StringIO()
    summaries = run_scenario(
        {
            "name": "two-auto-export-runs",
            "mode": "AutoExport",
            "aws": {"concurrent": 2, "export": {"queueAgeSeconds": DRAINS}},
        },
        out=out,
    )
    assert [s.status for s in summaries] == ["SUCCEEDED", "SUCCEEDED"]
    assert all(s.created["fsx:file-system"] == 1 for s in summaries)
    assert all(s.leaked == [] for s in summaries)
    published = re.findall(r"AgeOfOldestQueuedMessage (fs-\w+): 240 60 0", out.getvalue())
    assert len(set(published)) == 2
