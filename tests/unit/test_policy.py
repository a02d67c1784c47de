"""The end-of-run policy rules, without AWS: what happens to a run's volume or file system."""

import pytest

from batchscratch.config import build_config
from batchscratch.policy import (
    DataRepositoryTask,
    choose_file_system_policy,
    choose_volume_policy,
    export_left_files_behind,
    export_outcome,
    exports_before_delete,
    needs_failure_export,
    reason_to_keep_file_system,
    reason_to_keep_volume,
    snapshot_step,
    volume_never_held_data,
)
from tests.unit.test_config import LUSTRE_SECRET, SECRET


def ebs(**overlay):
    return build_config("OnlyEBS", SECRET, overlay)


def lustre(**overlay):
    return build_config("TaskExport", LUSTRE_SECRET, overlay)


def task(lifecycle="SUCCEEDED", failed=0, export=True, purpose=None):
    return DataRepositoryTask(
        task_id="task-1",
        lifecycle=lifecycle,
        export=export,
        failed_count=failed,
        report="s3://bucket/task-1/failures.csv",
        purpose=purpose,
    )


@pytest.mark.parametrize(
    ("overlay", "error", "expected"),
    [
        ({}, None, ("delete", "run succeeded")),
        ({}, "StorageTimeout", ("snapshot", "onFailure=snapshot after StorageTimeout")),
        ({"onFailure": "delete"}, "X", ("delete", "onFailure=delete after X")),
        ({"deleteEbs": False}, None, ("retain", "deleteEbs is false")),
        ({"deleteEbs": False, "onFailure": "delete"}, "X", ("retain", "deleteEbs is false")),
    ],
)
def test_volume_policy(overlay, error, expected):
    assert choose_volume_policy(ebs(**overlay), error) == expected


@pytest.mark.parametrize(
    ("overlay", "error", "job_succeeded", "policy"),
    [
        ({}, None, True, "delete"),
        ({}, "ExportFailed", False, "export"),
        ({"onFailure": "retain"}, "X", True, "retain"),
        ({"onFailure": "delete"}, "X", False, "delete"),
        # A failure after the job must not discard its results.
        ({"onFailure": "delete"}, "X", True, "export"),
        ({"deleteLustre": False}, None, True, "retain"),
        ({"deleteLustre": False, "onFailure": "delete"}, "X", True, "retain"),
    ],
)
def test_file_system_policy(overlay, error, job_succeeded, policy):
    chosen, reason = choose_file_system_policy(lustre(**overlay), error, job_succeeded)

    assert chosen == policy
    if (overlay, job_succeeded) == ({"onFailure": "delete"}, True):
        assert reason == "onFailure=delete after X, but the job may have succeeded: export first"


@pytest.mark.parametrize("policy", ["delete", "snapshot", "retain"])
def test_a_retained_volume_keeps_its_reason_under_every_policy(policy):
    assert reason_to_keep_volume("kept by hand", "available", policy, "r") == "kept by hand"


def test_retain_keeps_a_volume_that_may_hold_data():
    assert reason_to_keep_volume(None, "in-use", "retain", "deleteEbs is false") == (
        "deleteEbs is false"
    )
    assert reason_to_keep_volume(None, "available", "snapshot", "r") is None


@pytest.mark.parametrize("policy", ["delete", "snapshot", "retain"])
def test_a_volume_whose_creation_failed_is_deleted_under_every_policy(policy):
    assert volume_never_held_data("error")
    assert reason_to_keep_volume(None, "error", policy, "r") is None
    assert not volume_never_held_data("available")


@pytest.mark.parametrize(
    ("state", "step"),
    [
        ("pending", "wait"),
        ("recovering", "wait"),
        ("completed", "delete-volume"),
        ("error", "failed"),
    ],
)
def test_snapshot_steps(state, step):
    assert snapshot_step(state) == step


@pytest.mark.parametrize(
    ("lifecycle", "association", "policy", "expected"),
    [
        ("AVAILABLE", "AVAILABLE", "delete", None),
        ("AVAILABLE", "AVAILABLE", "export", None),
        ("AVAILABLE", None, "retain", "r"),
        ("FAILED", None, "retain", None),  # creation failed: it never held data
        ("FAILED", "AVAILABLE", "retain", "r"),  # failed after a job may have written to it
        ("FAILED", "AVAILABLE", "export", "r: FAILED, cannot export"),
        ("FAILED", "AVAILABLE", "delete", None),
        ("MISCONFIGURED", "AVAILABLE", "export", "r: MISCONFIGURED, cannot export"),
        ("AVAILABLE", "MISCONFIGURED", "export", "r: association MISCONFIGURED"),
        ("MISCONFIGURED", None, "delete", None),
    ],
)
def test_reasons_to_keep_a_file_system(lifecycle, association, policy, expected):
    assert reason_to_keep_file_system(None, lifecycle, association, policy, "r") == expected


def test_a_job_batch_says_succeeded_keeps_a_file_system_nothing_can_export():
    keep = reason_to_keep_file_system(
        None, "AVAILABLE", None, "export", "r", job_succeeded=True, job_confirmed=True
    )
    assert keep == "r: no data repository association to export to"
    # Without a job, a file system without an association never held results.
    assert reason_to_keep_file_system(None, "AVAILABLE", None, "export", "r", False) is None


def test_an_unknown_outcome_does_not_keep_a_file_system_that_was_never_linked():
    # The compute (and its job definition) is prepared while the file system is created, so
    # the release may not know whether a job ran; but a job is submitted only once the
    # association is AVAILABLE: without one, there is nothing to keep.
    keep = reason_to_keep_file_system(None, "CREATING", None, "export", "r", job_succeeded=True)
    assert keep is None


def test_a_retained_file_system_is_never_touched():
    assert reason_to_keep_file_system("export failed", "FAILED", None, "delete", "r") == (
        "export failed"
    )


def test_export_applies_only_to_a_file_system_that_may_hold_data():
    assert exports_before_delete("export", "AVAILABLE")
    assert not exports_before_delete("export", "FAILED")
    assert not exports_before_delete("delete", "AVAILABLE")


@pytest.mark.parametrize(
    ("lifecycle", "failed", "exported"),
    [("SUCCEEDED", 0, True), ("SUCCEEDED", 2, False), ("FAILED", 0, False), ("CANCELED", 0, False)],
)
def test_an_export_succeeds_only_with_every_file(lifecycle, failed, exported):
    outcome, description = export_outcome(task(lifecycle, failed))

    assert outcome is exported
    assert description == (
        f"export task task-1 ended {lifecycle} with {failed} failed file(s); "
        "report: s3://bucket/task-1/failures.csv"
    )


def test_an_export_that_left_files_behind_keeps_the_file_system():
    assert export_left_files_behind([task("SUCCEEDED", 0), task("SUCCEEDED", 3)]) == (
        "export task task-1 ended SUCCEEDED with 3 failed file(s); "
        "report: s3://bucket/task-1/failures.csv"
    )
    assert export_left_files_behind([task("SUCCEEDED", 0)]) is None
    # Still running, or not an export: not an outcome yet.
    assert export_left_files_behind([task("EXECUTING", 3), task("FAILED", export=False)]) is None


@pytest.mark.parametrize(
    ("association", "tasks", "needed"),
    [
        ("AVAILABLE", [], True),
        # The run's own post-job export that got every file to S3 covers the file system.
        ("AVAILABLE", [task(purpose="export")], False),
        ("AVAILABLE", [task(purpose="failure-export")], False),
        # ... but not one that is still running, left files behind, or is not the run's.
        ("AVAILABLE", [task("EXECUTING", purpose="export")], True),
        ("AVAILABLE", [task("CANCELED", purpose="export")], True),
        ("AVAILABLE", [task(failed=2, purpose="export")], True),
        ("AVAILABLE", [task(purpose=None)], True),
        ("AVAILABLE", [task(purpose="export", export=False)], True),
        ("CREATING", [], False),  # no job can have written there
        (None, [], False),
    ],
)
def test_the_failure_export_runs_once_and_only_where_a_job_can_have_written(
    association, tasks, needed
):
    assert needs_failure_export(association, tasks) is needed
