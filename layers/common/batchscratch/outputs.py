"""What each Lambda step returns: one pydantic model per step, the only copy of its contract.

A model's fields are the step's output fields, in order; its ``state_key`` is where the state
machine puts the result (the task's ``ResultPath`` is ``$.<state_key>``, or ``$`` when the
result becomes the whole state). The builder derives each task's ``ResultSelector`` from the
fields (tools/asl/outputs.py), and ``batchscratch.state.RunState`` reads earlier results
with the same models, so a field is added, renamed or removed here and nowhere else.

The handlers return these models (``batchscratch.handler.step_handler`` turns them into the
plain dict Lambda sends back). Every model refuses unknown keys: what a later step reads from
the state is exactly what an earlier step returned.

Every check step's result (the ones with ``waitingSince``) also carries ``waitSeconds``: the
pause in seconds before the step's next look, which the state machine's Wait takes, 0 once
done (``batchscratch.polling.watch`` sets it).
"""

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from batchscratch.config import redacted
from batchscratch.policy import FileSystemPolicy, VolumePolicy
from batchscratch.run import Run


class StepOutput(BaseModel):
    """Base of every step's output: frozen, unknown keys refused.

    ``state_key``: the key of the state the result is stored under; ``""`` when the result
    becomes the whole state (LoadConfig) or no state machine stores it (StartRelease).
    Validators are built at first use (``defer_build``): a step builds only its own.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    state_key: ClassVar[str] = ""

    @classmethod
    def result_path(cls) -> str:
        """Return the task's ``ResultPath``: ``$.<state_key>``, or ``$`` for the whole state."""
        return f"$.{cls.state_key}" if cls.state_key else "$"

    def log_fields(self) -> dict[str, Any]:
        """Return the fields the handler's log line records (by default every field)."""
        return self.model_dump()


class LoadedConfig(StepOutput):
    """LoadConfig: the run and its validated configuration, which become the whole state.

    ``config`` is the mode's configuration model dumped to a dict (every key, defaults
    included), so later steps and Wait states read any key from ``$.config``.
    """

    state_key: ClassVar[str] = ""

    run: Run
    config: dict[str, Any]

    def log_fields(self) -> dict[str, Any]:
        """Return ``{"config": ...}`` with ``jobEnvironment``'s values redacted (they may hold
        credentials; ``config.redacted``): the run's identity is in the log's correlation id."""
        return {"config": redacted(self.config)}


class VolumeRef(StepOutput):
    """CreateVolume, ``$.volume``: the run's EBS volume.

    ``subnetIds``: the stack's private subnets in the volume's Availability Zone (a volume
    attaches only to an instance in its own zone); ``createdAt``: ISO 8601, UTC.
    """

    state_key: ClassVar[str] = "volume"

    volumeId: str
    availabilityZone: str
    subnetIds: list[str]
    createdAt: str


class VolumeStatus(StepOutput):
    """CheckVolume, ``$.volumeStatus``: ``ready`` once the volume is available (or in use).

    ``state``: the EC2 volume state; ``waitingSince``: when the wait began (ISO 8601).
    """

    state_key: ClassVar[str] = "volumeStatus"

    ready: bool
    state: str
    waitingSince: str
    waitSeconds: int = 0


class FileSystemRef(StepOutput):
    """CreateFileSystem, ``$.fileSystem``: the run's FSx for Lustre file system.

    ``subnetIds``: the private subnets in the file system's zone, for the compute
    environment; ``dnsName`` and ``mountName``: how instances mount it (FSx assigns both
    when it accepts the file system, before it is AVAILABLE), so the run's compute is
    prepared while the file system is created; ``createdAt``: ISO 8601, UTC.
    """

    state_key: ClassVar[str] = "fileSystem"

    fileSystemId: str
    availabilityZone: str
    subnetIds: list[str]
    dnsName: str
    mountName: str
    createdAt: str


class FileSystemStatus(StepOutput):
    """CheckFileSystem, ``$.fileSystemStatus``: ``ready`` once the file system and its data
    repository association are AVAILABLE; the mount details are None until FSx reports them."""

    state_key: ClassVar[str] = "fileSystemStatus"

    ready: bool
    lifecycle: str
    dnsName: str | None = None
    mountName: str | None = None
    associationId: str | None = None
    dataRepositoryPath: str | None = None
    waitingSince: str
    waitSeconds: int = 0


class ComputeRef(StepOutput):
    """PrepareCompute, ``$.compute``: the names and ARNs of the run's own compute.

    The job queue is named here and created by CheckCompute, once the compute environment is
    VALID; ``jobName`` is the name RunJob submits the job under.
    """

    state_key: ClassVar[str] = "compute"

    launchTemplateId: str
    launchTemplateName: str
    computeEnvironmentName: str
    computeEnvironmentArn: str
    jobQueueName: str
    jobDefinitionName: str
    jobDefinitionArn: str
    jobName: str
    createdAt: str


class ComputeStatus(StepOutput):
    """CheckCompute, ``$.computeStatus``: ``ready`` once the job queue is VALID and ENABLED;
    ``jobQueueArn`` is None until then. ``jobTimeoutSeconds``: the seconds left until the
    run's deadline (``run.run_seconds_left``), the job task's ``TimeoutSecondsPath``."""

    state_key: ClassVar[str] = "computeStatus"

    ready: bool
    jobQueueArn: str | None
    jobTimeoutSeconds: int
    waitingSince: str
    waitSeconds: int = 0


class JobStart(StepOutput):
    """CheckJobStart, ``$.jobStart`` (the watchdog beside RunJob): ``done`` once the run's job
    has started or ended; ``jobId`` and ``status`` are None while its queue holds no job yet.
    ``waitSeconds``: the wait before the next look (``waitForComputeSeconds``, but never past
    the start deadline); ``waitingSince``: the watchdog's first check (ISO 8601), the
    deadline's start while no job exists."""

    state_key: ClassVar[str] = "jobStart"

    done: bool
    started: bool
    jobId: str | None
    status: str | None
    waitSeconds: int
    waitingSince: str


class RunJobSearch(StepOutput):
    """FindRunJob, ``$.runJob``: the run's job looked up in its own queue after SubmitJob or
    the ``.sync`` poll failed on a transient error.

    ``found``: the queue holds a job of the run (then ``jobId``, ``status``, ``attempts``, the
    attempts that ended, describe it); ``ended``: it SUCCEEDED (a FAILED one raises);
    ``resubmissions``: how many times the run found no job and submitted again;
    ``waitSeconds``: the wait before the next look at a job followed (growing from
    ``waitForComputeSeconds`` to 900 s, so a job of days stays within the execution's
    history) or before the next submission (10 s, doubling).
    """

    state_key: ClassVar[str] = "runJob"

    found: bool
    ended: bool
    jobId: str | None
    status: str | None
    attempts: int
    resubmissions: int
    waitSeconds: int
    waitingSince: str


class CleanupStatus(StepOutput):
    """CleanUpCompute, ``$.cleanup``: ``done`` once none of the run's compute is left.

    ``remaining``: what is still being deleted, e.g. ``"batch:job-queue:<name> (disabling)"``.
    """

    state_key: ClassVar[str] = "cleanup"

    done: bool
    remaining: list[str]
    waitingSince: str
    waitSeconds: int = 0


class DrainStatus(StepOutput):
    """CheckDrain, ``$.drain``: whether auto-export has drained since the job ended.

    ``timedOut``: ``drainTimeoutSeconds`` passed first (the state machine then verifies with
    an export task); ``considered``: datapoints in the quiet window; ``reason``: why;
    ``jobEndedAt``: the first check's time, taken as the job's end (ISO 8601).
    """

    state_key: ClassVar[str] = "drain"

    drained: bool
    timedOut: bool
    considered: int
    reason: str
    jobEndedAt: str
    waitingSince: str
    waitSeconds: int = 0


class AutoExportStatus(StepOutput):
    """DisableAutoExport, ``$.autoExport``: ``done`` once the association is AVAILABLE without
    auto-export events; ``lifecycle`` is the association's."""

    state_key: ClassVar[str] = "autoExport"

    done: bool
    associationId: str
    lifecycle: str
    waitingSince: str
    waitSeconds: int = 0


class ExportRef(StepOutput):
    """StartExport, ``$.export``: the export task and the S3 path of its completion report."""

    state_key: ClassVar[str] = "export"

    taskId: str
    reportPath: str
    createdAt: str


class ExportStatus(StepOutput):
    """CheckExport, ``$.exportStatus``: ``done`` once the task SUCCEEDED (a task that left
    files behind raises instead). Counts are files; ``reportLocation`` is the report's S3 URL."""

    state_key: ClassVar[str] = "exportStatus"

    done: bool
    lifecycle: str
    failedCount: int
    succeededCount: int
    totalCount: int
    reportLocation: str
    waitingSince: str
    waitSeconds: int = 0


class ReleaseStatus(StepOutput):
    """ReleaseVolume / ReleaseFileSystem, ``$.release`` (and the release workflow's
    ``$.release.storage``).

    ``done`` once nothing is pending; ``policy``: what was applied; ``retained`` and
    ``deleted``: ``"kind:id"`` entries, e.g. ``"ec2:volume:vol-…"``,
    ``"fsx:file-system:fs-…"``.
    """

    state_key: ClassVar[str] = "release"

    done: bool
    policy: VolumePolicy | FileSystemPolicy
    retained: list[str]
    deleted: list[str]
    waitingSince: str
    waitSeconds: int = 0


JobStatus = Literal["SUCCEEDED", "FAILED", "NONE", "UNKNOWN"]
"""The job's outcome as the release reads it from Batch (``batchscratch.release``)."""


class JobOutcome(BaseModel):
    """What became of the run's Batch job, read from the run's own job queue.

    ``status``: SUCCEEDED or FAILED (the job's own status; a job still active when the
    release began counts as FAILED, since the release terminates it); NONE: no job was ever
    submitted (no compute was made, or its queue holds no job); UNKNOWN: the queue is gone but
    compute was made, so a job may have succeeded. ``jobId`` and ``statusReason`` are Batch's,
    None when there is no job.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    status: JobStatus
    jobId: str | None = None
    statusReason: str | None = None

    @property
    def may_have_succeeded(self) -> bool:
        """True when the job's results may exist only on the storage: SUCCEEDED or UNKNOWN."""
        return self.status in ("SUCCEEDED", "UNKNOWN")


class RunRelease(StepOutput):
    """ReleaseRun, ``$.release`` of the release workflow: one pass of a run's release.

    ``done`` once the compute is gone and the storage released; ``waitSeconds``: how long the
    workflow waits before the next pass (``waitForComputeSeconds`` while compute remains, then
    the storage kind's release interval, ``StorageKind.release_seconds``; at least
    ``cleanupTimeoutSeconds / history.RELEASE_MAX_PASSES``, to fit the execution history);
    ``jobOutcome``: read
    on the first pass that reached Batch, None until then; ``compute`` and ``storage``: the
    last results of the cleanup and of the storage release (None until they ran);
    ``waitingSince``: when the release began (ISO 8601); ``lastError``: the AWS error that
    ended the last pass early, or None.
    """

    state_key: ClassVar[str] = "release"

    done: bool
    waitSeconds: int
    jobOutcome: JobOutcome | None
    compute: CleanupStatus | None
    storage: ReleaseStatus | None
    waitingSince: str
    lastError: str | None


class RetainedRun(StepOutput):
    """RetainRun, ``$.retained``: what the release gave up on and kept.

    ``kept``: ``"kind:id"`` entries now tagged ``retained-reason``; ``messageId``: the SNS
    message that reported them; ``cause``: the text the release execution fails with (the
    error that ended the release, what is kept, where the results are).
    """

    state_key: ClassVar[str] = "retained"

    kept: list[str]
    messageId: str
    cause: str


class StartedRelease(StepOutput):
    """StartRelease (no state machine reads it): the release executions it started, and the
    runs it left alone with why (``{"run id": "reason"}``)."""

    started: list[str]
    skipped: dict[str, str]
