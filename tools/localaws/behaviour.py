"""How simulated AWS behaves in one rehearsal: the ``aws:`` key of a scenario file.

Plain pydantic models, no moto: the scenario file is read into them (``tools.scenario``),
the patches read them from ``Simulation.behaviour``. Every duration is in virtual seconds
(``VirtualClock``). The models are strict, as a reliability test needs its file to be:
a boolean is not a count, a string is not a boolean, a number is finite, an unknown key is
refused. Meaning of every key: scenarios/README.md.
"""

from __future__ import annotations

import functools
from typing import Annotated, Literal

import botocore.session
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Seconds = Annotated[float, Field(ge=0, le=400 * 86400)]
"""A duration in virtual seconds: finite, at least 0, at most 400 days (Step Functions
keeps a Standard execution for at most one year)."""
Count = Annotated[int, Field(ge=0, le=100_000)]


class Strict(BaseModel):
    """A scenario model: unknown keys refused, no type coercion, finite numbers only."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False, populate_by_name=True
    )


# --------------------------------------------------------------------------- calls


_SERVICE_MODELS = {"states": "stepfunctions", "sfn": "stepfunctions", "eventbridge": "events"}
"""Scenario service prefixes (IAM's) whose botocore service model has another name."""


@functools.cache
def service_model(service: str) -> object | None:
    """botocore's service model of an IAM service prefix (``ec2``, ``states`` ...); None if
    botocore knows no such service."""
    session = botocore.session.get_session()
    name = _SERVICE_MODELS.get(service.lower(), service.lower())
    if name not in session.get_available_services():
        return None
    return session.get_service_model(name)


def check_operation_key(key: str) -> tuple[str, str]:
    """Split ``"service:Operation"`` and check both against botocore's service models.

    Raises:
        ValueError: not that shape, an unknown service prefix, or an unknown operation.
    """
    service, _, operation = key.partition(":")
    if not service or not operation or not operation[:1].isupper():
        raise ValueError(f"{key!r} is not 'service:Operation' (e.g. 'ec2:CreateVolume')")
    model = service_model(service)
    if model is None:
        raise ValueError(
            f"{key!r}: {service!r} is not an AWS service prefix "
            "(e.g. ec2, batch, lambda, states, secretsmanager, fsx, events, logs)"
        )
    if operation not in model.operation_names:  # type: ignore[attr-defined]
        raise ValueError(f"{key!r}: {service} has no operation {operation!r}")
    return service, operation


STATE_MACHINE_CALLER = "StateMachine"
"""The ``function`` of a call window that picks the state machine's own service
integrations (``batch:submitJob.sync``, ``lambda:invoke``) instead of a function's calls."""


class Window(Strict):
    """Which calls of an operation are affected: the ``from``-th call (1-based) and the
    ``count - 1`` after it, counting only ``function``'s calls when it is given."""

    from_: int = Field(1, alias="from", ge=1, le=100_000)
    count: int = Field(1, ge=1, le=100_000)
    function: str | None = None
    """A Lambda function's logical id in template.yaml (``StartReleaseFunction``), or
    ``StateMachine`` for the state machine's own service integrations."""

    def covers(self, number: int) -> bool:
        """Whether the ``number``-th call (1-based, of the window's caller) is affected."""
        return self.from_ <= number < self.from_ + self.count


class ErrorWindow(Window):
    """Calls that get an error answer: ``code`` as the service sends it."""

    code: str = Field(min_length=1, max_length=128)
    message: str | None = Field(None, max_length=1000)


# --------------------------------------------------------------------------- storage


class Storage(Strict):
    readyAfterPolls: Count = 0
    """Describe calls that still report the storage as creating before it is ready."""
    readySeconds: Seconds = 0.0
    """Virtual seconds the storage is creating before it is ready (both this and
    ``readyAfterPolls`` must have passed)."""
    createFails: bool = False
    """The storage ends in its failed state (EBS ``error``, FSx ``FAILED``)."""
    failsAfterSeconds: Seconds | None = None
    """Once ready, the storage turns ``lateStatus`` this many seconds later."""
    lateStatus: Literal["FAILED", "MISCONFIGURED", "error"] | None = None
    """What a late failure turns the storage into: FSx ``FAILED`` (default in the Lustre
    modes) or ``MISCONFIGURED``; EBS ``error`` (the only choice in OnlyEBS)."""
    deleteSeconds: Seconds | None = None
    """Virtual seconds the storage is deleting before it is gone (default: one describe
    call for a file system; a volume goes at once)."""
    heldSeconds: Seconds | None = None
    """OnlyEBS: after the job, the volume stays attached (``in-use``) to a still running
    instance for this long: DetachVolume waits for it, DeleteVolume is VolumeInUse."""

    @model_validator(mode="after")
    def _late(self) -> Storage:
        if self.lateStatus is not None and self.failsAfterSeconds is None:
            raise ValueError("lateStatus needs failsAfterSeconds (when the storage fails)")
        if self.createFails and self.failsAfterSeconds is not None:
            raise ValueError(
                "createFails and failsAfterSeconds: storage that fails to create never "
                "becomes ready, so it cannot fail later"
            )
        return self


class Snapshot(Strict):
    """OnlyEBS: the snapshots the failure policy takes."""

    seconds: Seconds = 0.0
    """Virtual seconds a snapshot is ``pending`` before it completes."""
    fails: bool = False
    """The snapshot ends ``error`` instead of ``completed``."""


class Association(Strict):
    """Lustre modes: the run's data repository association."""

    updateStuck: bool = False
    """UpdateDataRepositoryAssociation leaves it ``UPDATING`` for ever."""
    readySeconds: Seconds | None = None
    """Virtual seconds a new association is ``CREATING`` before it is ``AVAILABLE``, however
    often it is described (default: one describe call, or 60 simulated seconds)."""
    updateSeconds: Seconds | None = None
    """Virtual seconds it is ``UPDATING`` after UpdateDataRepositoryAssociation, however often
    it is described (default: one describe call, or 60 simulated seconds)."""
    failsAfterSeconds: Seconds | None = None
    """Once ``AVAILABLE``, the association turns ``lateStatus`` this many seconds later."""
    lateStatus: Literal["FAILED", "MISCONFIGURED"] = "FAILED"

    @model_validator(mode="after")
    def _stuck(self) -> Association:
        if self.updateStuck and self.updateSeconds is not None:
            raise ValueError(
                "updateStuck and updateSeconds: an update that never ends takes no number of "
                "seconds"
            )
        return self


# --------------------------------------------------------------------------- compute


class Compute(Strict):
    """The run's compute environment and job queue."""

    readySeconds: Seconds = 0.0
    """Virtual seconds the compute environment is ``CREATING`` before it is ``VALID``."""
    invalidReason: str | None = Field(None, min_length=1, max_length=1000)
    """The compute environment goes ``INVALID`` with this ``statusReason`` instead."""
    queueInvalidReason: str | None = Field(None, min_length=1, max_length=1000)
    """The job queue goes ``INVALID`` with this ``statusReason``."""
    deleteSeconds: Seconds = 0.0
    """Virtual seconds a compute environment (and job queue) is ``DELETING``."""
    instancesTerminate: bool = False
    """Every instance terminates itself at boot (its storage did not mount): no job attempt
    ever starts, the job stays ``RUNNABLE``."""


# --------------------------------------------------------------------------- job

RUNNABLE_REASONS = (
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
)
"""The reasons AWS Batch gives a job that stays RUNNABLE (AWS Batch User Guide, "Jobs stuck
in a RUNNABLE status"); the rehearsal adds Batch's explanation after ``" - "``."""

SPOT_RECLAIM_REASON = "Host EC2 (instance {instance}) terminated."
"""The status reason of an attempt whose Spot instance was reclaimed."""


class Attempt(Strict):
    status: Literal["SUCCEEDED", "FAILED"]
    statusReason: str | None = Field(None, max_length=1000)
    reason: str | None = Field(None, max_length=1000)
    """The container's reason (what ``onReason`` matches)."""
    exitCode: int | None = Field(None, ge=0, le=255)
    after: Seconds | None = None
    """Virtual seconds the attempt runs before it ends (default ``job.attemptSeconds``); for
    a Spot reclaim, how long after the attempt started the instance is taken away."""

    @model_validator(mode="after")
    def _exit_code(self) -> Attempt:
        if self.status == "SUCCEEDED" and self.exitCode not in (None, 0):
            raise ValueError(
                f"exitCode = {self.exitCode}: a SUCCEEDED attempt's container exits 0 "
                "(AWS Batch marks any other exit code FAILED)"
            )
        if self.status == "FAILED" and self.exitCode == 0:
            raise ValueError("exitCode = 0: a FAILED attempt's container did not exit 0")
        return self


class Child(Strict):
    """One array child's attempts (the others follow ``job.attempts``)."""

    attempts: list[Attempt] = Field(default_factory=list)


class Job(Strict):
    attemptSeconds: Seconds = 300.0
    """Virtual seconds an attempt runs when its ``after`` is not given."""
    runnableSeconds: Seconds = 0.0
    """Virtual seconds the job is ``RUNNABLE`` before its first attempt starts."""
    runnableReason: Literal[RUNNABLE_REASONS] | None = None  # type: ignore[valid-type]
    """The ``statusReason`` Batch shows while the job is ``RUNNABLE``."""
    neverStarts: bool = False
    """The job stays ``RUNNABLE`` until it is terminated (``runnableSeconds`` is then
    meaningless)."""
    attempts: list[Attempt] = Field(default_factory=list)
    children: dict[int, Child] = Field(default_factory=dict)
    """Array jobs: child index -> its own attempts."""

    @field_validator("children", mode="before")
    @classmethod
    def _json_indexes(cls, value: object) -> object:
        # JSON (which scenario files may be) has only string keys: "3" is child 3.
        if isinstance(value, dict):
            return {
                int(key) if isinstance(key, str) and key.isdecimal() else key: child
                for key, child in value.items()
            }
        return value

    @field_validator("children")
    @classmethod
    def _indexes(cls, value: dict[int, Child]) -> dict[int, Child]:
        for index in value:
            if not 0 <= index < 10_000:
                raise ValueError(f"child {index}: an array child's index is 0 to 9999")
        return value

    @model_validator(mode="after")
    def _never(self) -> Job:
        if self.neverStarts and (self.runnableSeconds or self.attempts):
            raise ValueError(
                "neverStarts: a job that never starts has no runnableSeconds and no attempts"
            )
        return self


# --------------------------------------------------------------------------- export


class Export(Strict):
    taskLifecycle: Literal["SUCCEEDED", "FAILED", "CANCELED"] = "SUCCEEDED"
    failedFiles: Count = 0
    seconds: Seconds | None = None
    """Virtual seconds an export task is ``EXECUTING`` (default: until the next describe)."""
    queueAgeSeconds: list[Annotated[float, Field(ge=0, le=86400 * 14)]] = Field(
        default_factory=list
    )
    """AutoExport: ``AgeOfOldestQueuedMessage`` one value a minute after the job, the last
    repeating; empty: the metric is never published."""

    @model_validator(mode="after")
    def _failed_files(self) -> Export:
        if self.taskLifecycle == "CANCELED" and self.failedFiles:
            raise ValueError("failedFiles with taskLifecycle CANCELED: FSx counts no files")
        return self


# --------------------------------------------------------------------------- Lambda, SFN


class Invocations(Strict):
    """Faults of one Lambda function's invocations, by invocation number (1-based)."""

    timeout: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)
    """These invocations run past the function's configured timeout: they take that many
    virtual seconds and answer ``Sandbox.Timedout``."""
    duplicate: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)
    """These invocations run the handler twice with the same event (at-least-once)."""
    lostResponse: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)
    """These invocations run the handler, but its answer never reaches the caller, which
    gets ``Lambda.ServiceException``."""

    @model_validator(mode="after")
    def _disjoint(self) -> Invocations:
        seen: dict[int, str] = {}
        for key in ("timeout", "duplicate", "lostResponse"):
            for number in getattr(self, key):
                if number in seen:
                    raise ValueError(f"invocation {number} is in both {seen[number]} and {key}")
                seen[number] = key
        return self


class StepFunctions(Strict):
    timeoutSeconds: int | None = Field(None, ge=1, le=31_536_000)
    """The state machine's ``TimeoutSeconds`` (the execution ends TIMED_OUT after it)."""
    stateTimeouts: dict[str, Annotated[int, Field(ge=1, le=31_536_000)]] = Field(
        default_factory=dict
    )
    """State name -> that Task state's ``TimeoutSeconds`` (``States.Timeout`` after it)."""


# --------------------------------------------------------------------------- aws


class Bucket(Strict):
    objects: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(
        default_factory=list, max_length=100
    )
    """Keys put into the stack's data bucket (empty objects) before the first execution
    starts: what a file system linked to their prefix imports."""


class Aws(Strict):
    storage: Storage = Field(default_factory=Storage)
    bucket: Bucket = Field(default_factory=Bucket)
    snapshot: Snapshot = Field(default_factory=Snapshot)
    association: Association = Field(default_factory=Association)
    compute: Compute = Field(default_factory=Compute)
    job: Job = Field(default_factory=Job)
    export: Export = Field(default_factory=Export)
    throttle: dict[str, Count | Window | list[Window]] = Field(default_factory=dict)
    """``"service:Operation"`` -> how many first calls are throttled, or which."""
    errors: dict[str, ErrorWindow | list[ErrorWindow]] = Field(default_factory=dict)
    """``"service:Operation"`` -> which calls get which error answer."""
    functions: dict[str, Invocations] = Field(default_factory=dict, alias="lambda")
    stepFunctions: StepFunctions = Field(default_factory=StepFunctions)
    abortAfter: str | None = None
    """StopExecution as soon as the execution enters this state."""
    abortAt: Seconds | None = None
    """StopExecution this many virtual seconds after the execution started."""
    concurrent: int = Field(1, ge=1, le=25)

    @field_validator("throttle", "errors")
    @classmethod
    def _operation_keys(cls, value: dict[str, object]) -> dict[str, object]:
        for key in value:
            check_operation_key(key)
        return value

    @field_validator("errors")
    @classmethod
    def _error_codes(
        cls, value: dict[str, ErrorWindow | list[ErrorWindow]]
    ) -> dict[str, ErrorWindow | list[ErrorWindow]]:
        for key, windows in value.items():
            for window in windows if isinstance(windows, list) else [windows]:
                codes = error_codes(key)
                if window.code not in codes:
                    raise ValueError(
                        f"{key}: {window.code!r} is not an error {key.split(':')[0]} answers "
                        f"{key.split(':')[1]} with; one of {', '.join(sorted(codes))}"
                    )
        return value

    @model_validator(mode="after")
    def _one_abort(self) -> Aws:
        if self.abortAfter is not None and self.abortAt is not None:
            raise ValueError("abortAfter and abortAt: give one time to stop the execution")
        job = self.job
        waits = job.runnableSeconds or job.neverStarts or self.compute.instancesTerminate
        if job.runnableReason is not None and not waits:
            raise ValueError(
                "job.runnableReason: the job is never RUNNABLE long enough to show it; give "
                "runnableSeconds (or neverStarts, or compute.instancesTerminate)"
            )
        return self

    def throttle_windows(self, key: str) -> list[Window]:
        """The throttled call windows of ``"service:Operation"`` (an int N: the first N)."""
        given = self.throttle.get(key)
        if given is None or given == 0:
            return []
        if isinstance(given, int):
            return [Window(count=given)]
        return given if isinstance(given, list) else [given]

    def error_windows(self, key: str) -> list[ErrorWindow]:
        """The error windows of ``"service:Operation"``."""
        given = self.errors.get(key)
        if given is None:
            return []
        return given if isinstance(given, list) else [given]


COMMON_ERRORS: dict[str, tuple[int, str]] = {
    "AccessDeniedException": (400, "User is not authorized to perform this action"),
    "InternalFailure": (500, "The request processing has failed because of an unknown error"),
    "ServiceUnavailable": (503, "The request has failed due to a temporary failure"),
}
"""Errors every JSON-protocol AWS API can answer besides its own (AWS API common errors);
EC2 names them ``UnauthorizedOperation``, ``InternalError`` and ``Unavailable``."""
EC2_COMMON_ERRORS: dict[str, tuple[int, str]] = {
    "UnauthorizedOperation": (403, "You are not authorized to perform this operation."),
    "InternalError": (500, "An internal error has occurred."),
    "Unavailable": (503, "The server is overloaded and can't handle the request."),
    "VolumeInUse": (400, "The volume is currently attached to an instance."),
    "IncorrectState": (400, "The resource is in an incorrect state for the request."),
    "InvalidVolume.NotFound": (400, "The volume does not exist."),
}
"""EC2's common client and server errors (EC2 API Reference, "Error codes")."""


def _status_of(code: str) -> int:
    """The HTTP status of an error whose model gives none (FSx's models give none): 500 for a
    server-side failure (FSx API Reference, Common Errors and each operation's Errors:
    ``InternalServerError``, "HTTP Status Code: 500"), 503 for an unavailable service, else 400
    (a client error)."""
    if "Unavailable" in code:
        return 503
    if "Internal" in code or code.startswith("Server"):
        return 500
    return 400


@functools.cache
def error_codes(key: str) -> dict[str, tuple[int, str]]:
    """The error codes ``"service:Operation"`` can answer: its modelled errors (with their
    HTTP status from botocore's model) and the common ones. Code -> (HTTP status, message)."""
    service, operation = check_operation_key(key)
    model = service_model(service)
    op = model.operation_model(operation)  # type: ignore[attr-defined]
    codes: dict[str, tuple[int, str]] = {}
    for shape in op.error_shapes:
        code = shape.metadata.get("error", {}).get("code", shape.name)
        status = int(shape.metadata.get("error", {}).get("httpStatusCode", _status_of(code)))
        codes[code] = (status, f"{code} (from the scenario)")
    protocol = model.metadata.get("protocol")  # type: ignore[attr-defined]
    codes.update(EC2_COMMON_ERRORS if protocol == "ec2" else COMMON_ERRORS)
    return codes
