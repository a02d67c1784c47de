"""The run's FSx for Lustre file system, its data repository association and export tasks.

Follows the Amazon FSx API Reference: CreateFileSystem (``ClientRequestToken``,
``FileSystemTypeVersion``; ``Lifecycle``: AVAILABLE | CREATING | FAILED | DELETING |
MISCONFIGURED | UPDATING | MISCONFIGURED_UNAVAILABLE), CreateDataRepositoryAssociation,
CreateDataRepositoryTask (``Lifecycle``: PENDING | EXECUTING | FAILED | SUCCEEDED | CANCELED |
CANCELING; ``Status.FailedCount``), DeleteFileSystem (refused while a data repository task is
PENDING or EXECUTING). The completion report ``Path`` must lie inside the association's S3
path; FSx writes the report under ``{Path}/<task id>/`` (``report_location``). What the
release does with a file system is decided by ``batchscratch.policy``; this module reads the
facts and acts.
"""

from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from batchscratch.aws import client
from batchscratch.config import LustreConfig
from batchscratch.encryption import file_system_kms_key, kms_key_arn
from batchscratch.errors import (
    ExportFailed,
    ExportTimeout,
    StorageFailed,
    StorageTimeout,
)
from batchscratch.mounts import lustre_mount
from batchscratch.outputs import (
    AutoExportStatus,
    ExportRef,
    ExportStatus,
    FileSystemRef,
    FileSystemStatus,
    ReleaseStatus,
)
from batchscratch.policy import (
    FAILURE_EXPORT,
    FSX_BROKEN,
    DataRepositoryTask,
    choose_file_system_policy,
    export_left_files_behind,
    export_outcome,
    exports_before_delete,
    needs_failure_export,
    reason_to_keep_file_system,
)
from batchscratch.polling import ReleaseProgress, enforce_deadline, waiting_since
from batchscratch.repository import EXPORT_FILE_SYSTEM_PATH, INPUT_FILE_SYSTEM_PATH
from batchscratch.run import TAG_EXECUTION, TAG_RETAINED, Run, now_iso
from batchscratch.state import RunState
from batchscratch.storage import mark_fsx_retained, placement, tags_of

if TYPE_CHECKING:
    from batchscratch.modes import Mode

TAG_PURPOSE = "batch-scratch:purpose"
"""Marks what a data repository task is for (``export`` after the job, ``failure-export``)."""

FILE_SYSTEM_PATH = EXPORT_FILE_SYSTEM_PATH
"""Where the run's read-write association links its S3 path; the job sees it as /scratch."""
ASSOCIATION_EVENTS = ["NEW", "CHANGED", "DELETED"]
"""What an association imports automatically (and, with auto-export, exports)."""


def _tag_list(run: Run, extra: dict[str, str] | None = None) -> list[dict[str, str]]:
    return [*run.tag_list(), *({"Key": k, "Value": v} for k, v in (extra or {}).items())]


def create_file_system(
    run: Run,
    config: LustreConfig,
    subnet_ids: list[str],
    security_group_id: str,
    kms_key_arn: str | None = None,
) -> FileSystemRef:
    """Create the run's Lustre file system in the first private subnet.

    Args:
        run: the run (tags, idempotency token).
        config: capacity (GiB), deployment type, Lustre version, throughput (MB/s/TiB).
        subnet_ids: the stack's private subnets; the first one hosts the file system.
        security_group_id: the Batch instances' group, which admits Lustre traffic from itself.
        kms_key_arn: the stack's key, sent as ``KmsKeyId`` (persistent types only:
            ``encryption.file_system_kms_key``); None lets FSx use its own key.

    Returns:
        The file system, its mount details (``DNSName``, ``LustreConfiguration.MountName``:
        CreateFileSystem "returns the description of the file system", FSx API Reference;
        described once more if the answer lacks them), and the private subnets in its zone,
        for the compute environment.

    Raises:
        botocore.exceptions.ClientError: FSx refused (quota, capacity, permissions).
        InvalidConfiguration: the stack has a key and the deployment type is a scratch one
            (LoadConfig refuses it first); nothing is created.
        StorageFailed: FSx described the file system without its mount details.
    """
    key = file_system_kms_key(config.lustreDeploymentType, kms_key_arn)
    where = placement(subnet_ids)
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
        **({"KmsKeyId": key} if key else {}),
        Tags=_tag_list(run, {"Name": run.resource_name("fs")}),
    )["FileSystem"]
    dns_name, mount_name = _mount_details(created)
    if not (dns_name and mount_name):
        dns_name, mount_name = _mount_details(_describe(created["FileSystemId"]))
    if not (dns_name and mount_name):
        raise StorageFailed(
            f"File system {created['FileSystemId']} was described without its DNSName or "
            "LustreConfiguration.MountName, which its instances need to mount it"
        )
    return FileSystemRef(
        fileSystemId=created["FileSystemId"],
        availabilityZone=where.zone,
        subnetIds=where.subnet_ids,
        dnsName=dns_name,
        mountName=mount_name,
        createdAt=now_iso(),
    )


def _mount_details(system: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(DNSName, LustreConfiguration.MountName)`` of a file system description."""
    return system.get("DNSName"), system.get("LustreConfiguration", {}).get("MountName")


def _describe(file_system_id: str) -> dict[str, Any]:
    try:
        systems = client("fsx").describe_file_systems(FileSystemIds=[file_system_id])
    except ClientError as error:
        if error.response["Error"]["Code"] == "FileSystemNotFound":
            raise StorageFailed(f"File system {file_system_id} no longer exists") from None
        raise
    system: dict[str, Any] = systems["FileSystems"][0]
    return system


def _associations(file_system_id: str) -> dict[str, dict[str, Any]]:
    """Return the file system's associations that are not being deleted, by file system path
    (without a trailing ``/``)."""
    found = client("fsx").describe_data_repository_associations(
        Filters=[{"Name": "file-system-id", "Values": [file_system_id]}]
    )["Associations"]
    return {
        str(a.get("FileSystemPath", "/")).rstrip("/") or "/": a
        for a in found
        if a["Lifecycle"] not in ("DELETING",)
    }


def _association(file_system_id: str) -> dict[str, Any] | None:
    """Return the run's export association (``/scratch``), never the import-only ``/input``:
    exports, reports and auto-export concern only it."""
    return _associations(file_system_id).get(FILE_SYSTEM_PATH)


def _wanted_associations(
    config: LustreConfig, auto_export: bool
) -> list[tuple[str, str, dict[str, Any], str]]:
    """The associations the run's file system must have, in creation order, each as
    ``(file system path, S3 path, S3 policies, token purpose)``.

    ``/scratch`` imports and (with ``auto_export``) exports the run's path; ``/input``
    imports ``inputDataRepositoryPath`` and has no ``AutoExportPolicy``, so FSx never writes
    into it by itself (S3DataRepositoryConfiguration: without an AutoExportPolicy, nothing is
    exported automatically).
    """
    if config.dataRepositoryPath is None:
        raise ValueError("dataRepositoryPath is unset: LoadConfig did not link the run")
    s3: dict[str, Any] = {"AutoImportPolicy": {"Events": ASSOCIATION_EVENTS}}
    if auto_export:
        s3["AutoExportPolicy"] = {"Events": ASSOCIATION_EVENTS}
    wanted = [(FILE_SYSTEM_PATH, config.dataRepositoryPath, s3, "association")]
    if config.inputDataRepositoryPath is not None:
        imports = {"AutoImportPolicy": {"Events": ASSOCIATION_EVENTS}}
        wanted.append(
            (INPUT_FILE_SYSTEM_PATH, config.inputDataRepositoryPath, imports, "input-association")
        )
    return wanted


def check_file_system(
    run: Run,
    config: LustreConfig,
    file_system_id: str,
    previous: dict[str, Any] | None,
    auto_export: bool = False,
) -> FileSystemStatus:
    """Report whether the file system and its associations are ready; create them.

    Once the file system is AVAILABLE, links ``/scratch`` to ``dataRepositoryPath`` with
    auto-import of new, changed and deleted objects (and auto-export when ``auto_export``),
    and, when ``inputDataRepositoryPath`` is set, ``/input`` to it for import only; each
    imports the metadata under its path at creation. FSx queues association requests and
    works on one at a time (FSx for Lustre User Guide, "Linking your file system to an Amazon
    S3 bucket"), so both may be asked for at once.

    Args:
        run: the run (tags, idempotency token).
        config: S3 path, chunk size (MiB), limit (``storageTimeoutSeconds``, seconds).
        file_system_id: the run's file system.
        previous: this check's earlier result (carries ``waitingSince``), or None.
        auto_export: also export new, changed and deleted files automatically.

    Returns:
        ``ready`` once the association is AVAILABLE, with the mount details (DNS name,
        mount name) and the association (unknown values are None).

    Raises:
        StorageFailed: the file system or association is FAILED or MISCONFIGURED, or gone.
        StorageTimeout: not ready within ``storageTimeoutSeconds``.
    """
    since = waiting_since(previous)
    system = _describe(file_system_id)
    lifecycle = system["Lifecycle"]
    if lifecycle in (*FSX_BROKEN, "DELETING"):
        details = system.get("FailureDetails", {}).get("Message", "no details given")
        raise StorageFailed(f"File system {file_system_id} is {lifecycle}: {details}")
    wanted = _wanted_associations(config, auto_export)
    linked: dict[str, dict[str, Any]] = {}
    if lifecycle in ("AVAILABLE", "UPDATING"):
        linked = _associations(file_system_id)
        for path, repository, s3, purpose in wanted:
            if path in linked or lifecycle != "AVAILABLE":
                continue
            linked[path] = client("fsx").create_data_repository_association(
                FileSystemId=file_system_id,
                FileSystemPath=path,
                DataRepositoryPath=repository,
                BatchImportMetaDataOnCreate=True,
                ImportedFileChunkSize=config.lustreImportedFileChunkSize,
                S3=s3,
                ClientRequestToken=run.client_token(purpose),
                Tags=run.tag_list(),
            )["Association"]
    for path, *_ in wanted:
        link = linked.get(path)
        if link is not None and link["Lifecycle"] in FSX_BROKEN:
            details = link.get("FailureDetails", {}).get("Message", "no details given")
            raise StorageFailed(
                f"Data repository association {link['AssociationId']} ({path}) of file system "
                f"{file_system_id} is {link['Lifecycle']}: {details}"
            )
    association = linked.get(FILE_SYSTEM_PATH)
    ready = all(path in linked and linked[path]["Lifecycle"] == "AVAILABLE" for path, *_ in wanted)
    if not ready:
        enforce_deadline(
            since, config.storageTimeoutSeconds, StorageTimeout, f"file system {file_system_id}"
        )
    return FileSystemStatus(
        ready=ready,
        lifecycle=lifecycle,
        dnsName=system.get("DNSName"),
        mountName=system.get("LustreConfiguration", {}).get("MountName"),
        associationId=association["AssociationId"] if association else None,
        dataRepositoryPath=association["DataRepositoryPath"] if association else None,
        waitingSince=since,
    )


def disable_auto_export(
    file_system_id: str,
    timeout_seconds: int | None = None,
    previous: dict[str, Any] | None = None,
) -> AutoExportStatus:
    """Turn auto-export off on the run's export association (``/scratch``; the input
    association never exports); call again until ``done``.

    FSx runs a data repository task only after auto-export is disabled on the association
    (UpdateDataRepositoryAssociation with an empty ``AutoExportPolicy``); auto-import stays.

    Args:
        file_system_id: the run's file system.
        timeout_seconds: limit (``exportTimeoutSeconds``), or None when the caller bounds
            the wait itself (the failure path's release).
        previous: this step's earlier result (carries ``waitingSince``), or None.

    Returns:
        ``done`` once the association is AVAILABLE without auto-export events.

    Raises:
        StorageFailed: the file system has no association, or it is FAILED or MISCONFIGURED
            (it will not become AVAILABLE again: the release keeps the file system, which
            cannot be exported).
        ExportTimeout: not done within ``timeout_seconds``; the file system is tagged and
            kept, since its export cannot be verified.
    """
    since = waiting_since(previous)
    association = _association(file_system_id)
    if association is None:
        raise StorageFailed(f"File system {file_system_id} has no data repository association")
    if association["Lifecycle"] in FSX_BROKEN:
        details = association.get("FailureDetails", {}).get("Message", "no details given")
        raise StorageFailed(
            f"Data repository association {association['AssociationId']} of file system "
            f"{file_system_id} is {association['Lifecycle']}: {details}; auto-export cannot "
            "be turned off, so no export task can verify the file system"
        )
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
        _export_deadline(
            file_system_id,
            since,
            timeout_seconds,
            f"auto-export off on {file_system_id}",
            "auto-export could not be disabled",
        )
    return AutoExportStatus(
        done=done,
        associationId=association["AssociationId"],
        lifecycle=association["Lifecycle"],
        waitingSince=since,
    )


def start_export(run: Run, file_system_id: str, purpose: str = "export") -> ExportRef:
    """Start an EXPORT_TO_REPOSITORY task of the export association's directory.

    ``Paths`` names ``scratch`` (relative to the file system's root, as CreateDataRepositoryTask
    ``Paths`` requires): without it FSx exports the whole file system, into every linked
    repository, and a file written under ``/input`` would reach the shared input prefix.
    The completion report (failed files only) goes inside the association's S3 path, as FSx
    requires. The idempotency token makes a retried call return the same task.

    Args:
        run: the run (tags, token).
        file_system_id: the run's file system.
        purpose: ``export`` (after the job) or ``failure-export`` (the onFailure policy).

    Returns:
        The task, and the S3 path its completion report goes under.

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
        Paths=[FILE_SYSTEM_PATH.lstrip("/")],
        Report={
            "Enabled": True,
            "Path": report_path,
            "Format": "REPORT_CSV_20191124",
            "Scope": "FAILED_FILES_ONLY",
        },
        ClientRequestToken=run.client_token(purpose),
        Tags=_tag_list(run, {TAG_PURPOSE: purpose}),
    )["DataRepositoryTask"]
    return ExportRef(taskId=task["TaskId"], reportPath=report_path, createdAt=now_iso())


def report_location(report_path: str, task_id: str) -> str:
    """Return where FSx writes the failed-files report of ``task_id``.

    The API Reference (CompletionReport) gives ``{path}/task-{id}/failures.csv``; task ids
    already start with ``task-``, so the folder is the task id itself.
    """
    folder = task_id if task_id.startswith("task-") else f"task-{task_id}"
    return f"{report_path}/{folder}/failures.csv"


def _keep(file_system_id: str, reason: str) -> None:
    """Tag the file system ``retained-reason``: it is kept, and the reason says why."""
    mark_fsx_retained(_describe(file_system_id)["ResourceARN"], reason)


def _export_deadline(
    file_system_id: str, since: str, limit_seconds: int, what: str, reason: str
) -> None:
    """Past ``limit_seconds`` since ``since``, keep the file system (tagged ``reason``) and
    raise ``ExportTimeout``: its export cannot be verified, so it must not be deleted.

    Raises:
        ExportTimeout: the limit has passed; the message names ``what`` and says the file
            system is kept.
    """
    try:
        enforce_deadline(since, limit_seconds, ExportTimeout, what)
    except ExportTimeout as error:
        _keep(file_system_id, reason)
        raise ExportTimeout(f"{error}; file system {file_system_id} is kept") from None


def repository_task(task: dict[str, Any], report_path: str) -> DataRepositoryTask:
    """Return a DescribeDataRepositoryTasks entry as the policy rules read it.

    Args:
        task: the FSx ``DataRepositoryTask`` (``TaskId``, ``Type``, ``Lifecycle``,
            ``Status.FailedCount``, ``Tags``).
        report_path: the task's report ``Path`` (its failed-files report is under it).
    """
    return DataRepositoryTask(
        task_id=task["TaskId"],
        lifecycle=task["Lifecycle"],
        export=task.get("Type") == "EXPORT_TO_REPOSITORY",
        failed_count=int(task.get("Status", {}).get("FailedCount", 0)),
        report=report_location(report_path, task["TaskId"]),
        purpose=tags_of(task).get(TAG_PURPOSE),
    )


def check_export(
    file_system_id: str,
    export: ExportRef,
    config: LustreConfig,
    previous: dict[str, Any] | None,
) -> ExportStatus:
    """Report on the export task StartExport created (by its own id, never "the latest task").

    Args:
        file_system_id: the run's file system.
        export: StartExport's result (the task id and its report path).
        config: the limit (``exportTimeoutSeconds``, seconds).
        previous: this check's earlier result (carries ``waitingSince``), or None.

    Returns:
        The task's lifecycle, its file counts and the report's location; ``done`` only for
        SUCCEEDED with 0 failed files.

    Raises:
        ExportFailed: FAILED, CANCELED, or SUCCEEDED with failed files; the file system is
            tagged ``retained-reason`` and kept, and the message says where the data is.
        ExportTimeout: still running after ``exportTimeoutSeconds``; the file system is kept.
    """
    since = waiting_since(previous)
    task_id = export.taskId
    task = client("fsx").describe_data_repository_tasks(TaskIds=[task_id])["DataRepositoryTasks"][0]
    status = task.get("Status", {})
    facts = repository_task(task, export.reportPath)
    if not facts.running:
        exported, description = export_outcome(facts)
        if not exported:
            _keep(file_system_id, description)
            raise ExportFailed(
                f"Results of file system {file_system_id} did not all reach S3: {description}. "
                f"The file system is kept (tag {TAG_RETAINED}); its data is under "
                f"{FILE_SYSTEM_PATH}."
            )
    else:
        _export_deadline(
            file_system_id,
            since,
            config.exportTimeoutSeconds,
            f"export task {task_id}",
            f"export task {task_id} timed out",
        )
    return ExportStatus(
        done=task["Lifecycle"] == "SUCCEEDED",
        lifecycle=task["Lifecycle"],
        failedCount=int(status.get("FailedCount", 0)),
        succeededCount=int(status.get("SucceededCount", 0)),
        totalCount=int(status.get("TotalCount", 0)),
        reportLocation=facts.report,
        waitingSince=since,
    )


def run_file_systems(run: Run) -> list[dict[str, Any]]:
    """Return the file systems tagged with the run's execution ARN that are not deleting."""
    pages = client("fsx").get_paginator("describe_file_systems").paginate()
    return [
        system
        for page in pages
        for system in page["FileSystems"]
        if tags_of(system).get(TAG_EXECUTION) == run.execution_tag
        and system["Lifecycle"] != "DELETING"
    ]


def _tasks(file_system_id: str) -> list[DataRepositoryTask]:
    """Return the file system's data repository tasks (each with its own report path)."""
    tasks: list[dict[str, Any]] = client("fsx").describe_data_repository_tasks(
        Filters=[{"Name": "file-system-id", "Values": [file_system_id]}]
    )["DataRepositoryTasks"]
    return [repository_task(task, task.get("Report", {}).get("Path", "")) for task in tasks]


def release_file_systems(
    run: Run,
    config: LustreConfig,
    error_name: str | None,
    previous: dict[str, Any] | None,
    job_succeeded: bool = False,
    job_confirmed: bool = False,
) -> ReleaseStatus:
    """Apply the end-of-run policy to every file system of the run; call again until ``done``.

    The policy is ``batchscratch.policy.choose_file_system_policy`` of ``config``,
    ``error_name`` and ``job_succeeded``:

    - ``delete``: delete once no data repository task is running (FSx refuses before).
    - ``export``: run a final export; delete only when it SUCCEEDED with 0 failed files,
      otherwise keep the file system, tagged with the outcome and the report location.
    - ``retain``: tag ``retained-reason`` and keep.

    A file system that already carries ``retained-reason``, or has an export task that did
    not get every file to S3, is kept whatever the policy; a FAILED one that was never linked
    (no association: its creation failed) holds no data and is deleted, one that failed after
    it was linked is kept under ``retain`` and ``export`` (it cannot be exported); a
    MISCONFIGURED one cannot be exported, so ``export`` keeps it;
    one without an AVAILABLE association never had a job (compute starts after the
    association), so ``export`` deletes it, unless ``job_confirmed`` says a job ran. A
    finished export of the run that SUCCEEDED with 0 failed files (the run's own post-job
    export counts) covers the file system: no second export runs
    (``policy.needs_failure_export``).

    Args:
        run: whose file systems.
        config: ``deleteLustre``, ``onFailure``, and the limit for the whole release
            (``cleanupTimeoutSeconds``).
        error_name: what sent the run to its release (``$.error.Error``); None on success.
        previous: this step's earlier result (carries ``waitingSince``), or None.
        job_succeeded: the job ended SUCCEEDED, or (the release workflow) its outcome is
            unknown: ``delete`` exports first.
        job_confirmed: Batch says the job SUCCEEDED (not merely unknown): a file system
            without an association to export to is then kept.

    Returns:
        ``done`` once nothing is pending, the policy applied, ``retained`` and ``deleted``
        (``fsx:file-system:fs-…``).

    Raises:
        CleanupTimeout: not done within ``cleanupTimeoutSeconds``; what is left keeps its
            tags.
    """
    policy, reason = choose_file_system_policy(config, error_name, job_succeeded)
    progress = ReleaseProgress(policy, waiting_since(previous))
    for system in run_file_systems(run):
        system_id = system["FileSystemId"]
        entry = f"fsx:file-system:{system_id}"
        tags = tags_of(system)
        mark = partial(mark_fsx_retained, system["ResourceARN"])
        exporting = exports_before_delete(policy, system["Lifecycle"])
        failed = system["Lifecycle"] == "FAILED"
        association = _association(system_id) if exporting or failed else None
        association_lifecycle = association["Lifecycle"] if association else None
        keep = reason_to_keep_file_system(
            tags.get(TAG_RETAINED),
            system["Lifecycle"],
            association_lifecycle,
            policy,
            reason,
            job_succeeded,
            job_confirmed,
        )
        if keep is not None:
            progress.keep(entry, tags, keep, mark)
            continue
        tasks = _tasks(system_id)
        if any(task.running for task in tasks):
            progress.pending.append(f"{entry} (data repository task running)")
            continue
        failed = export_left_files_behind(tasks)
        if failed is not None:
            # Whatever the policy: its data may exist nowhere else.
            progress.keep(entry, {}, f"{reason}: {failed}", mark)
            continue
        if exporting and needs_failure_export(association_lifecycle, tasks):
            if disable_auto_export(system_id).done:
                start_export(run, system_id, purpose=FAILURE_EXPORT)
            progress.pending.append(f"{entry} (exporting)")
            continue
        client("fsx").delete_file_system(FileSystemId=system_id)
        progress.deleted.append(entry)
    return progress.result(config.cleanupTimeoutSeconds)


class LustreFileSystem:
    """The FSx for Lustre storage kind: ``modes.StorageInterface`` over this module.

    One file system per run with a data repository association at ``/scratch`` (and, with
    ``inputDataRepositoryPath``, an import-only one at ``/input``), shared by every instance
    of the run.
    """

    mount = staticmethod(lustre_mount)
    choose_policy = staticmethod(choose_file_system_policy)
    release = staticmethod(release_file_systems)

    def create(
        self, state: RunState, subnet_ids: list[str], security_group_id: str
    ) -> FileSystemRef:
        """``create_file_system`` for the run, in ``security_group_id``, with the stack's key."""
        config = state.lustre_config()
        return create_file_system(state.run, config, subnet_ids, security_group_id, kms_key_arn())

    def check(
        self, state: RunState, mode: "Mode", previous: dict[str, Any] | None
    ) -> FileSystemStatus:
        """``check_file_system``; the association exports by itself when ``mode`` does."""
        system_id = state.require_file_system().fileSystemId
        exports = mode.exports_automatically
        return check_file_system(state.run, state.lustre_config(), system_id, previous, exports)


FILE_SYSTEM = LustreFileSystem()
"""The FSx for Lustre storage kind's implementation (``modes.LUSTRE_FILE_SYSTEM``)."""
