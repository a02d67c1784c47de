"""The run's FSx for Lustre file system, its data repository association and export tasks.

Follows the Amazon FSx API Reference: CreateFileSystem (``ClientRequestToken``,
``FileSystemTypeVersion``; ``Lifecycle``: AVAILABLE | CREATING | FAILED | DELETING |
MISCONFIGURED | UPDATING | MISCONFIGURED_UNAVAILABLE), CreateDataRepositoryAssociation,
CreateDataRepositoryTask (``Lifecycle``: PENDING | EXECUTING | FAILED | SUCCEEDED | CANCELED |
CANCELING; ``Status.FailedCount``), DeleteFileSystem (refused while a data repository task is
PENDING or EXECUTING). The completion report ``Path`` must lie inside the association's S3
path; FSx writes the report under ``{Path}/<task id>/`` (``report_location``).
"""

from typing import Any, Literal

from botocore.exceptions import ClientError

from batchscratch.aws import client
from batchscratch.config import LustreConfig
from batchscratch.errors import (
    ExportFailed,
    ExportTimeout,
    StorageFailed,
    StorageTimeout,
)
from batchscratch.polling import ReleaseProgress, enforce_deadline, waiting_since
from batchscratch.run import TAG_EXECUTION, TAG_RETAINED, Run, now_iso
from batchscratch.tagging import text_tag_value

Policy = Literal["delete", "export", "retain"]
TAG_PURPOSE = "batch-scratch:purpose"
"""Marks what a data repository task is for (``export`` after the job, ``failure-export``)."""

FILE_SYSTEM_PATH = "/scratch"
"""Where the association links the bucket in the file system; the job sees it as /scratch."""

_RUNNING_TASK = ("PENDING", "EXECUTING", "CANCELING")
_BROKEN = ("FAILED", "MISCONFIGURED", "MISCONFIGURED_UNAVAILABLE")


def choose_policy(
    config: LustreConfig, error_name: str | None, job_succeeded: bool = False
) -> tuple[Policy, str]:
    """Return ``(policy, reason)`` for the run's file system at the end of a run.

    ``deleteLustre`` false keeps the file system whatever happened. Otherwise success
    (``error_name`` None; the export has already succeeded) deletes it, and failure applies
    ``onFailure`` (default ``export``: export what is there, delete only if that succeeds),
    except that ``delete`` becomes ``export`` once the job SUCCEEDED (``job_succeeded``): a
    failure after the job must not discard its results.
    """
    if not config.deleteLustre:
        return "retain", "deleteLustre is false"
    if error_name is None:
        return "delete", "run succeeded and its export verified"
    if job_succeeded and config.onFailure == "delete":
        # The job's results exist only here: a later step's failure must not discard them.
        return "export", f"onFailure=delete after {error_name}, but the job succeeded: export first"
    return config.onFailure, f"onFailure={config.onFailure} after {error_name}"


def _tag_list(run: Run, extra: dict[str, str] | None = None) -> list[dict[str, str]]:
    return [*run.tag_list(), *({"Key": k, "Value": v} for k, v in (extra or {}).items())]


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}


def create_file_system(
    run: Run, config: LustreConfig, subnet_ids: list[str], security_group_id: str
) -> dict[str, Any]:
    """Create the run's Lustre file system in the first private subnet.

    Args:
        run: the run (tags, idempotency token).
        config: capacity (GiB), deployment type, Lustre version, throughput (MB/s/TiB).
        subnet_ids: the stack's private subnets; the first one hosts the file system.
        security_group_id: the Batch instances' group, which admits Lustre traffic from itself.

    Returns:
        ``{"fileSystemId", "availabilityZone", "subnetIds", "createdAt"}``; ``subnetIds`` are
        the private subnets in the file system's zone, for the compute environment.

    Raises:
        botocore.exceptions.ClientError: FSx refused (quota, capacity, permissions).
    """
    subnets = client("ec2").describe_subnets(SubnetIds=subnet_ids)["Subnets"]
    zone_of = {subnet["SubnetId"]: subnet["AvailabilityZone"] for subnet in subnets}
    zone = zone_of[subnet_ids[0]]
    lustre: dict[str, Any] = {
        "DeploymentType": config.lustreDeploymentType,
        "DataCompressionType": "LZ4",
    }
    throughput = config.per_unit_throughput()
    if throughput is not None:
        lustre["PerUnitStorageThroughput"] = throughput
    created = client("fsx").create_file_system(
        ClientRequestToken=run.client_token("file-system"),
        FileSystemType="LUSTRE",
        StorageCapacity=config.lustreStorageCapacity,
        StorageType="SSD",
        SubnetIds=[subnet_ids[0]],
        SecurityGroupIds=[security_group_id],
        # Always sent: without it FSx creates 2.10, which cannot have associations.
        FileSystemTypeVersion=config.lustreFileSystemTypeVersion,
        LustreConfiguration=lustre,
        Tags=_tag_list(run, {"Name": run.resource_name("fs")}),
    )["FileSystem"]
    return {
        "fileSystemId": created["FileSystemId"],
        "availabilityZone": zone,
        "subnetIds": [subnet for subnet in subnet_ids if zone_of.get(subnet) == zone],
        "createdAt": now_iso(),
    }


def _describe(file_system_id: str) -> dict[str, Any]:
    try:
        systems = client("fsx").describe_file_systems(FileSystemIds=[file_system_id])
    except ClientError as error:
        if error.response["Error"]["Code"] == "FileSystemNotFound":
            raise StorageFailed(f"File system {file_system_id} no longer exists") from None
        raise
    system: dict[str, Any] = systems["FileSystems"][0]
    return system


def _association(file_system_id: str) -> dict[str, Any] | None:
    found = client("fsx").describe_data_repository_associations(
        Filters=[{"Name": "file-system-id", "Values": [file_system_id]}]
    )["Associations"]
    live = [a for a in found if a["Lifecycle"] not in ("DELETING",)]
    return live[0] if live else None


def check_file_system(
    run: Run,
    config: LustreConfig,
    file_system_id: str,
    timeout_seconds: int,
    previous: dict[str, Any] | None,
    auto_export: bool = False,
) -> dict[str, Any]:
    """Report whether the file system and its association are ready; create the association.

    Once the file system is AVAILABLE, links ``/scratch`` to ``dataRepositoryPath`` with
    auto-import of new, changed and deleted objects (and auto-export when ``auto_export``),
    importing the bucket's metadata at creation.

    Args:
        run: the run (tags, idempotency token).
        config: S3 path, chunk size (MiB).
        file_system_id: the run's file system.
        timeout_seconds: limit (``storageTimeoutSeconds``).
        previous: this check's earlier result (carries ``waitingSince``), or None.
        auto_export: also export new, changed and deleted files automatically.

    Returns:
        ``{"ready", "lifecycle", "dnsName", "mountName", "associationId",
        "dataRepositoryPath", "waitingSince"}`` (unknown values are None).

    Raises:
        StorageFailed: the file system or association is FAILED or MISCONFIGURED, or gone.
        StorageTimeout: not ready within ``timeout_seconds``.
    """
    since = waiting_since(previous)
    system = _describe(file_system_id)
    lifecycle = system["Lifecycle"]
    if lifecycle in (*_BROKEN, "DELETING"):
        details = system.get("FailureDetails", {}).get("Message", "no details given")
        raise StorageFailed(f"File system {file_system_id} is {lifecycle}: {details}")
    association = None
    if lifecycle in ("AVAILABLE", "UPDATING"):
        association = _association(file_system_id)
        if association is None and lifecycle == "AVAILABLE":
            events = ["NEW", "CHANGED", "DELETED"]
            s3: dict[str, Any] = {"AutoImportPolicy": {"Events": events}}
            if auto_export:
                s3["AutoExportPolicy"] = {"Events": events}
            association = client("fsx").create_data_repository_association(
                FileSystemId=file_system_id,
                FileSystemPath=FILE_SYSTEM_PATH,
                DataRepositoryPath=config.dataRepositoryPath,
                BatchImportMetaDataOnCreate=True,
                ImportedFileChunkSize=config.lustreImportedFileChunkSize,
                S3=s3,
                ClientRequestToken=run.client_token("association"),
                Tags=run.tag_list(),
            )["Association"]
    if association is not None and association["Lifecycle"] in _BROKEN:
        details = association.get("FailureDetails", {}).get("Message", "no details given")
        raise StorageFailed(
            f"Data repository association {association['AssociationId']} of file system "
            f"{file_system_id} is {association['Lifecycle']}: {details}"
        )
    ready = association is not None and association["Lifecycle"] == "AVAILABLE"
    if not ready:
        enforce_deadline(since, timeout_seconds, StorageTimeout, f"file system {file_system_id}")
    return {
        "ready": ready,
        "lifecycle": lifecycle,
        "dnsName": system.get("DNSName"),
        "mountName": system.get("LustreConfiguration", {}).get("MountName"),
        "associationId": association["AssociationId"] if association else None,
        "dataRepositoryPath": association["DataRepositoryPath"] if association else None,
        "waitingSince": since,
    }


def disable_auto_export(
    file_system_id: str,
    timeout_seconds: int | None = None,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Turn auto-export off on the file system's association; call again until ``done``.

    FSx runs a data repository task only after auto-export is disabled on the association
    (UpdateDataRepositoryAssociation with an empty ``AutoExportPolicy``); auto-import stays.

    Args:
        file_system_id: the run's file system.
        timeout_seconds: limit (``exportTimeoutSeconds``), or None when the caller bounds
            the wait itself (the failure path's release).
        previous: this step's earlier result (carries ``waitingSince``), or None.

    Returns:
        ``{"done": bool, "associationId", "lifecycle", "waitingSince"}``; done once the
        association is AVAILABLE without auto-export events.

    Raises:
        StorageFailed: the file system has no association.
        ExportTimeout: not done within ``timeout_seconds``; the file system is tagged and
            kept, since its export cannot be verified.
    """
    since = waiting_since(previous)
    association = _association(file_system_id)
    if association is None:
        raise StorageFailed(f"File system {file_system_id} has no data repository association")
    s3 = association.get("S3", {})
    exporting = bool(s3.get("AutoExportPolicy", {}).get("Events"))
    if exporting and association["Lifecycle"] == "AVAILABLE":
        client("fsx").update_data_repository_association(
            AssociationId=association["AssociationId"],
            S3={
                "AutoImportPolicy": s3.get("AutoImportPolicy", {"Events": []}),
                "AutoExportPolicy": {"Events": []},
            },
        )
        association = _association(file_system_id) or association
        exporting = bool(association.get("S3", {}).get("AutoExportPolicy", {}).get("Events"))
    done = not exporting and association["Lifecycle"] == "AVAILABLE"
    if not done and timeout_seconds is not None:
        try:
            enforce_deadline(
                since, timeout_seconds, ExportTimeout, f"auto-export off on {file_system_id}"
            )
        except ExportTimeout as error:
            _mark_retained(_describe(file_system_id), "auto-export could not be disabled")
            raise ExportTimeout(f"{error}; file system {file_system_id} is kept") from None
    return {
        "done": done,
        "associationId": association["AssociationId"],
        "lifecycle": association["Lifecycle"],
        "waitingSince": since,
    }


def start_export(run: Run, file_system_id: str, purpose: str = "export") -> dict[str, Any]:
    """Start an EXPORT_TO_REPOSITORY task of the whole file system.

    The completion report (failed files only) goes inside the association's S3 path, as FSx
    requires. The idempotency token makes a retried call return the same task.

    Args:
        run: the run (tags, token).
        file_system_id: the run's file system.
        purpose: ``export`` (after the job) or ``failure-export`` (the onFailure policy).

    Returns:
        ``{"taskId", "reportPath", "createdAt"}``.

    Raises:
        StorageFailed: the file system has no association to export to.
    """
    association = _association(file_system_id)
    if association is None:
        raise StorageFailed(f"File system {file_system_id} has no data repository association")
    report_path = association["DataRepositoryPath"].rstrip("/")
    task = client("fsx").create_data_repository_task(
        Type="EXPORT_TO_REPOSITORY",
        FileSystemId=file_system_id,
        Report={
            "Enabled": True,
            "Path": report_path,
            "Format": "REPORT_CSV_20191124",
            "Scope": "FAILED_FILES_ONLY",
        },
        ClientRequestToken=run.client_token(purpose),
        Tags=_tag_list(run, {TAG_PURPOSE: purpose}),
    )["DataRepositoryTask"]
    return {"taskId": task["TaskId"], "reportPath": report_path, "createdAt": now_iso()}


def report_location(report_path: str, task_id: str) -> str:
    """Return where FSx writes the failed-files report of ``task_id``.

    The API Reference (CompletionReport) gives ``{path}/task-{id}/failures.csv``; task ids
    already start with ``task-``, so the folder is the task id itself.
    """
    folder = task_id if task_id.startswith("task-") else f"task-{task_id}"
    return f"{report_path}/{folder}/failures.csv"


def _mark_retained(file_system: dict[str, Any], reason: str) -> None:
    """Tag the file system ``retained-reason``; ``reason`` is made a valid FSx tag value."""
    client("fsx").tag_resource(
        ResourceARN=file_system["ResourceARN"],
        Tags=[{"Key": TAG_RETAINED, "Value": text_tag_value(reason)}],
    )


def _task_outcome(task: dict[str, Any], report_path: str) -> tuple[bool, str]:
    """Return ``(exported, description)`` of a finished task."""
    failed = int(task.get("Status", {}).get("FailedCount", 0))
    lifecycle = task["Lifecycle"]
    exported = lifecycle == "SUCCEEDED" and failed == 0
    description = (
        f"export task {task['TaskId']} ended {lifecycle} with {failed} failed file(s); "
        f"report: {report_location(report_path, task['TaskId'])}"
    )
    return exported, description


def check_export(
    file_system_id: str,
    task_id: str,
    report_path: str,
    timeout_seconds: int,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    """Report on the export task ``task_id`` (by its own id, never "the latest task").

    Args:
        file_system_id: the run's file system.
        task_id: the task StartExport created.
        report_path: the task's report path.
        timeout_seconds: limit (``exportTimeoutSeconds``).
        previous: this check's earlier result (carries ``waitingSince``), or None.

    Returns:
        ``{"done", "lifecycle", "failedCount", "succeededCount", "totalCount",
        "reportLocation", "waitingSince"}``; ``done`` only for SUCCEEDED with 0 failed files.

    Raises:
        ExportFailed: FAILED, CANCELED, or SUCCEEDED with failed files; the file system is
            tagged ``retained-reason`` and kept, and the message says where the data is.
        ExportTimeout: still running after ``timeout_seconds``; the file system is kept.
    """
    since = waiting_since(previous)
    task = client("fsx").describe_data_repository_tasks(TaskIds=[task_id])["DataRepositoryTasks"][0]
    status = task.get("Status", {})
    location = report_location(report_path, task_id)
    if task["Lifecycle"] not in _RUNNING_TASK:
        exported, description = _task_outcome(task, report_path)
        if not exported:
            _mark_retained(_describe(file_system_id), description)
            raise ExportFailed(
                f"Results of file system {file_system_id} did not all reach S3: {description}. "
                f"The file system is kept (tag {TAG_RETAINED}); its data is under "
                f"{FILE_SYSTEM_PATH}."
            )
    else:
        try:
            enforce_deadline(since, timeout_seconds, ExportTimeout, f"export task {task_id}")
        except ExportTimeout as error:
            _mark_retained(_describe(file_system_id), f"export task {task_id} timed out")
            raise ExportTimeout(f"{error}; file system {file_system_id} is kept") from None
    return {
        "done": task["Lifecycle"] == "SUCCEEDED",
        "lifecycle": task["Lifecycle"],
        "failedCount": int(status.get("FailedCount", 0)),
        "succeededCount": int(status.get("SucceededCount", 0)),
        "totalCount": int(status.get("TotalCount", 0)),
        "reportLocation": location,
        "waitingSince": since,
    }


def run_file_systems(run: Run) -> list[dict[str, Any]]:
    """Return the file systems tagged with the run's execution ARN that are not deleting."""
    pages = client("fsx").get_paginator("describe_file_systems").paginate()
    return [
        system
        for page in pages
        for system in page["FileSystems"]
        if _tags(system).get(TAG_EXECUTION) == run.execution_tag
        and system["Lifecycle"] != "DELETING"
    ]


def _tasks(file_system_id: str) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = client("fsx").describe_data_repository_tasks(
        Filters=[{"Name": "file-system-id", "Values": [file_system_id]}]
    )["DataRepositoryTasks"]
    return tasks


def _failed_export(tasks: list[dict[str, Any]]) -> str | None:
    """Return the outcome of a finished export task that left files behind, if any."""
    for task in tasks:
        if task.get("Type") == "EXPORT_TO_REPOSITORY" and task["Lifecycle"] not in _RUNNING_TASK:
            exported, description = _task_outcome(task, task.get("Report", {}).get("Path", ""))
            if not exported:
                return description
    return None


def _reason_to_keep(
    system: dict[str, Any], association: dict[str, Any] | None, policy: Policy, reason: str
) -> str | None:
    """Return why the file system must be kept before any task is looked at, or None."""
    existing = _tags(system).get(TAG_RETAINED)
    if existing is not None:
        return existing
    lifecycle = system["Lifecycle"]
    if lifecycle == "FAILED":  # creation failed: it never held data
        return None
    if policy == "retain":
        return reason
    if policy == "export":
        if lifecycle in _BROKEN:
            return f"{reason}: {lifecycle}, cannot export"
        if association is not None and association["Lifecycle"] in _BROKEN:
            return f"{reason}: association {association['Lifecycle']}"
    return None


def _needs_failure_export(association: dict[str, Any] | None, tasks: list[dict[str, Any]]) -> bool:
    """Return True while the export policy still has to export before deleting.

    Not when the failure export already succeeded, and not when the file system never had
    an AVAILABLE association: compute starts only after it, so no job wrote there.
    """
    if any(_tags(task).get(TAG_PURPOSE) == "failure-export" for task in tasks):
        return False
    return association is not None and association["Lifecycle"] not in ("CREATING",)


def release_file_systems(
    run: Run, policy: Policy, reason: str, timeout_seconds: int, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """Apply ``policy`` to every file system of the run; call again until ``done``.

    - ``delete``: delete once no data repository task is running (FSx refuses before).
    - ``export``: run a final export; delete only when it SUCCEEDED with 0 failed files,
      otherwise keep the file system, tagged with the outcome and the report location.
    - ``retain``: tag ``retained-reason`` and keep.

    A file system that already carries ``retained-reason``, or has an export task that did
    not get every file to S3, is kept whatever the policy; one whose creation FAILED holds
    no data and is deleted; a MISCONFIGURED one cannot be exported, so ``export`` keeps it;
    one without an AVAILABLE association never had a job (compute starts after the
    association), so ``export`` deletes it.

    Args:
        run: whose file systems.
        policy: ``delete`` | ``export`` | ``retain``.
        reason: why, recorded in the ``retained-reason`` tag.
        timeout_seconds: limit for the whole release (``cleanupTimeoutSeconds``).
        previous: this step's earlier result (carries ``waitingSince``), or None.

    Returns:
        ``{"done", "policy", "retained": ["fsx:file-system:fs-…"],
        "deleted": ["fsx:file-system:fs-…"], "waitingSince"}``.

    Raises:
        CleanupTimeout: not done within ``timeout_seconds``; what is left keeps its tags.
    """
    since = waiting_since(previous)
    fsx = client("fsx")
    progress = ReleaseProgress(policy, since)
    for system in run_file_systems(run):
        system_id = system["FileSystemId"]
        kind_id = f"fsx:file-system:{system_id}"
        lifecycle = system["Lifecycle"]
        exporting = policy == "export" and lifecycle != "FAILED"
        association = _association(system_id) if exporting else None
        keep = _reason_to_keep(system, association, policy, reason)
        if keep is not None:
            if TAG_RETAINED not in _tags(system):
                _mark_retained(system, keep)
            progress.retained.append(kind_id)
            continue
        tasks = _tasks(system_id)
        if any(task["Lifecycle"] in _RUNNING_TASK for task in tasks):
            progress.pending.append(f"{kind_id} (data repository task running)")
            continue
        failed = _failed_export(tasks)
        if failed is not None:
            # An export that did not get everything to S3 keeps the file system, whatever
            # the policy: its data may exist nowhere else.
            _mark_retained(system, f"{reason}: {failed}")
            progress.retained.append(kind_id)
            continue
        if exporting and _needs_failure_export(association, tasks):
            if disable_auto_export(system_id)["done"]:
                start_export(run, system_id, purpose="failure-export")
            progress.pending.append(f"{kind_id} (exporting)")
            continue
        fsx.delete_file_system(FileSystemId=system_id)
        progress.deleted.append(kind_id)
    return progress.result(timeout_seconds)
