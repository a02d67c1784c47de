"""The end-of-run policy: what happens to the run's storage, decided without calling AWS.

The release steps (ReleaseVolume, ReleaseFileSystem) and the release workflow (ReleaseRun,
``release.py``) read the facts from AWS (``ebs.py``, ``fsx.py``) and ask these rules what to
do with them, as ``metrics.py`` reads the metric and ``drain.py`` decides. The rules:

- The policy: ``deleteEbs`` / ``deleteLustre`` false keeps the storage whatever happened;
  success deletes it; a failure applies ``onFailure``, except that for a file system
  ``delete`` becomes ``export`` when the job SUCCEEDED or its outcome is unknown (its
  results may exist only there).
- No second export: a finished export of the run that SUCCEEDED with 0 failed files (the
  run's own post-job export, or the release's) covers the file system.
- A resource that already carries ``retained-reason`` is never touched; ``retain`` tags and
  keeps; storage whose creation failed never held data and is deleted under every policy.
- A failed snapshot keeps the volume.
- An export that did not get every file to S3 keeps the file system, whatever the policy.
- ``export`` on a file system that never had an AVAILABLE association deletes it (no job
  can have used it: compute starts after the association), and keeps a MISCONFIGURED one.

Lifecycles follow the EC2 API Reference (Volume ``State``; Snapshot ``State``: pending |
completed | error | recoverable | recovering) and the Amazon FSx API Reference
(FileSystem and DataRepositoryAssociation ``Lifecycle``; DataRepositoryTask ``Lifecycle``:
PENDING | EXECUTING | FAILED | SUCCEEDED | CANCELED | CANCELING).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from batchscratch.config import LustreConfig, OnlyEbsConfig

VolumePolicy = Literal["delete", "snapshot", "retain"]
FileSystemPolicy = Literal["delete", "export", "retain"]

FSX_BROKEN = ("FAILED", "MISCONFIGURED", "MISCONFIGURED_UNAVAILABLE")
"""File system and association lifecycles that never become usable again."""

TASK_RUNNING = ("PENDING", "EXECUTING", "CANCELING")
"""Data repository task lifecycles before the task has finished. FSx refuses
DeleteFileSystem while a task is PENDING or EXECUTING."""

FAILURE_EXPORT = "failure-export"
"""Purpose (tag ``batch-scratch:purpose``) of the export the ``export`` policy runs."""


def choose_volume_policy(
    config: OnlyEbsConfig, error_name: str | None, job_succeeded: bool = False
) -> tuple[VolumePolicy, str]:
    """Return ``(policy, reason)`` for the run's volume at the end of a run.

    Args:
        config: the run's OnlyEBS configuration (``deleteEbs``, ``onFailure``).
        error_name: the error that sent the run to its release (``$.error.Error``, e.g.
            ``ExecutionAborted``); None on success.
        job_succeeded: ignored: the job copies its own results to S3, so a volume's policy
            does not depend on the job's outcome (the parameter keeps the storage kinds'
            common signature, ``modes.StorageInterface``).

    Returns:
        ``deleteEbs`` false: ``retain``. Success: ``delete``. Failure: ``onFailure``
        (default ``snapshot``). The reason is recorded in ``retained-reason`` tags.
    """
    if not config.deleteEbs:
        return "retain", "deleteEbs is false"
    if error_name is None:
        return "delete", "run succeeded"
    return config.onFailure, f"onFailure={config.onFailure} after {error_name}"


def choose_file_system_policy(
    config: LustreConfig, error_name: str | None, job_succeeded: bool = False
) -> tuple[FileSystemPolicy, str]:
    """Return ``(policy, reason)`` for the run's file system at the end of a run.

    Args:
        config: the run's Lustre configuration (``deleteLustre``, ``onFailure``).
        error_name: as for ``choose_volume_policy``; None on success, when the export has
            already been verified.
        job_succeeded: the job ended SUCCEEDED, or (in the release workflow) its outcome is
            unknown (``outputs.JobOutcome.may_have_succeeded``).

    Returns:
        ``deleteLustre`` false: ``retain``. Success: ``delete``. Failure: ``onFailure``
        (default ``export``: export what is there, delete only if that succeeds), except
        that ``delete`` becomes ``export`` when ``job_succeeded``: a failure after the job
        must not discard its results.
    """
    if not config.deleteLustre:
        return "retain", "deleteLustre is false"
    if error_name is None:
        return "delete", "run succeeded and its export verified"
    if job_succeeded and config.onFailure == "delete":
        # The job's results may exist only here: a later failure must not discard them.
        return (
            "export",
            f"onFailure=delete after {error_name}, but the job may have succeeded: export first",
        )
    return config.onFailure, f"onFailure={config.onFailure} after {error_name}"


def volume_never_held_data(state: str) -> bool:
    """Return True for a volume whose creation failed (state ``error``): every policy
    deletes it at once, without detaching or snapshotting."""
    return state == "error"


def reason_to_keep_volume(
    retained_reason: str | None, state: str, policy: VolumePolicy, reason: str
) -> str | None:
    """Return why the volume stays as it is, or None when the release goes on.

    Args:
        retained_reason: the volume's ``retained-reason`` tag, or None.
        state: its EC2 state.
        policy: the chosen policy; reason: why it was chosen.

    Returns:
        The existing tag (it is never touched), or ``reason`` under ``retain`` for a volume
        that may hold data; otherwise None.
    """
    if retained_reason is not None:
        return retained_reason
    if policy == "retain" and not volume_never_held_data(state):
        return reason
    return None


SnapshotStep = Literal["wait", "failed", "delete-volume"]


def snapshot_step(snapshot_state: str) -> SnapshotStep:
    """Return the next step of the ``snapshot`` policy once the run's snapshot of a detached
    volume exists (before that, the release creates it).

    Args:
        snapshot_state: the snapshot's EC2 state.

    Returns:
        ``failed`` (state ``error``: the volume is kept), ``delete-volume`` (``completed``),
        else ``wait``.
    """
    if snapshot_state == "error":
        return "failed"
    return "delete-volume" if snapshot_state == "completed" else "wait"


def exports_before_delete(policy: FileSystemPolicy, lifecycle: str) -> bool:
    """Return True when the release must export the file system before deleting it: the
    ``export`` policy, unless its creation FAILED (it never held data)."""
    return policy == "export" and lifecycle != "FAILED"


def reason_to_keep_file_system(
    retained_reason: str | None,
    lifecycle: str,
    association_lifecycle: str | None,
    policy: FileSystemPolicy,
    reason: str,
    job_succeeded: bool = False,
    job_confirmed: bool = False,
) -> str | None:
    """Return why the file system must be kept before any task is looked at, or None.

    Args:
        retained_reason: its ``retained-reason`` tag, or None.
        lifecycle: the file system's lifecycle.
        association_lifecycle: its association's lifecycle, or None (none, or not read
            because the policy does not export).
        policy: the chosen policy; reason: why it was chosen.
        job_succeeded: the job SUCCEEDED or its outcome is unknown.
        job_confirmed: Batch itself says the job SUCCEEDED (not merely unknown).

    Returns:
        The existing tag; else None for a FAILED file system that was never linked to S3 (no
        association: no job ran on it); ``reason`` under
        ``retain``; under ``export``, ``reason`` with why a broken file system or association
        cannot be exported, or (``job_confirmed``) why one without an association cannot;
        otherwise None. A job runs only once the association is AVAILABLE (the run submits
        it after CheckFileSystem is ready), so with an unknown outcome a file system without
        one had no job on it: nothing to keep (its compute may exist, prepared while the file
        system was created).
    """
    if retained_reason is not None:
        return retained_reason
    if lifecycle == "FAILED" and association_lifecycle is None:
        # Never linked (its creation failed, or it failed before its association): no job
        # ran on it, so it never held results. One that failed later may have: it is kept
        # under retain, and under export as one that cannot be exported.
        return None
    if policy == "retain":
        return reason
    if policy == "export":
        return _reason_not_to_export(lifecycle, association_lifecycle, reason, job_confirmed)
    return None


def _reason_not_to_export(
    lifecycle: str, association_lifecycle: str | None, reason: str, job_confirmed: bool
) -> str | None:
    """Why a file system under ``export`` cannot be exported (so it is kept), or None."""
    if lifecycle in FSX_BROKEN:
        return f"{reason}: {lifecycle}, cannot export"
    if association_lifecycle in FSX_BROKEN:
        return f"{reason}: association {association_lifecycle}"
    if job_confirmed and association_lifecycle is None:
        # Batch says a job ran (it starts after the association), but nothing can export it.
        return f"{reason}: no data repository association to export to"
    return None


@dataclass(frozen=True)
class DataRepositoryTask:
    """A data repository task as the rules see it (read by ``fsx.repository_task``).

    ``export``: its type is EXPORT_TO_REPOSITORY; ``failed_count``: files it did not
    process; ``report``: where its failed-files report is (S3 URL); ``purpose``: its
    ``batch-scratch:purpose`` tag, or None.
    """

    task_id: str
    lifecycle: str
    export: bool
    failed_count: int
    report: str
    purpose: str | None = None

    @property
    def running(self) -> bool:
        """True until the task has finished (``TASK_RUNNING``)."""
        return self.lifecycle in TASK_RUNNING


def export_outcome(task: DataRepositoryTask) -> tuple[bool, str]:
    """Return ``(exported, description)`` of a finished task: exported only when it
    SUCCEEDED with 0 failed files; the description names the task, its end, the failed
    files and the report."""
    exported = task.lifecycle == "SUCCEEDED" and task.failed_count == 0
    description = (
        f"export task {task.task_id} ended {task.lifecycle} with {task.failed_count} "
        f"failed file(s); report: {task.report}"
    )
    return exported, description


def export_left_files_behind(tasks: Iterable[DataRepositoryTask]) -> str | None:
    """Return the description of a finished export that did not get every file to S3, if
    any: such an export keeps the file system whatever the policy, since its data may exist
    nowhere else."""
    for task in tasks:
        if task.export and not task.running:
            exported, description = export_outcome(task)
            if not exported:
                return description
    return None


EXPORT_PURPOSES = ("export", FAILURE_EXPORT)
"""Purposes of the run's own export tasks: the post-job export (StartExport) and the
release's. Both start only after the job has ended: StartExport follows RunJob, and the
release exports only once its compute cleanup (which terminates any job) is done."""


def covered_by_export(tasks: Iterable[DataRepositoryTask]) -> bool:
    """Return True when a finished export of the run (``EXPORT_PURPOSES``) SUCCEEDED with 0
    failed files: everything the job wrote reached S3, so no second export is needed."""
    return any(
        task.export
        and task.purpose in EXPORT_PURPOSES
        and not task.running
        and export_outcome(task)[0]
        for task in tasks
    )


def needs_failure_export(
    association_lifecycle: str | None, tasks: Iterable[DataRepositoryTask]
) -> bool:
    """Return True while the ``export`` policy still has to export before deleting.

    Not when an export of the run already covers the file system (``covered_by_export``), nor
    when the release's own export already ran (the caller keeps the file system when that
    export left files behind), and not when the file system never had an AVAILABLE
    association (None or CREATING): compute starts only after it, so no job wrote there.
    """
    tasks = list(tasks)
    if covered_by_export(tasks) or any(task.purpose == FAILURE_EXPORT for task in tasks):
        return False
    return association_lifecycle is not None and association_lifecycle != "CREATING"
