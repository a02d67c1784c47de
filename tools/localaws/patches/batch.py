"""Batch: jobs on the virtual clock, with the job definition's retry strategy and timeout
(gap 5); compute environments and job queues that take time to become ``VALID`` and to be
deleted; and the service-linked role AWS Batch uses when a compute environment names no
service role (gap 8).

A job's whole life is fixed when it is submitted (``plan``): ``RUNNABLE`` for
``aws.job.runnableSeconds``, then each attempt ``RUNNING`` for its ``after`` seconds, the
retry strategy deciding after each failed one, as AWS Batch does. The schedule lives in the
job's ``JobRecord`` (``Simulation.jobs``); DescribeJobs and ListJobs read it at the virtual
clock's ``now()``, and TerminateJob and CancelJob cut it short at the time of the call. Every
time the job changes is a milestone of the clock, so the ``.sync`` poll
(``patches.clock``) jumps from one to the next, however long the job runs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import botocore.session
from moto.batch.exceptions import ClientException
from moto.iam.exceptions import NotFoundException

from tools.localaws.behaviour import Attempt
from tools.localaws.patches.core import Patcher, Target, active_simulation
from tools.localaws.simulation import (
    TAG_EXECUTION,
    AttemptRun,
    JobOutcome,
    JobRecord,
    JobSchedule,
    Simulation,
    retry_action,
)

# --------------------------------------------------------------------------- what Batch says


@cache
def job_statuses() -> tuple[str, ...]:
    """Batch's job statuses, in life order (botocore's ``JobStatus`` enum): ``SUBMITTED``,
    ``PENDING``, ``RUNNABLE``, ``STARTING``, ``RUNNING``, ``SUCCEEDED``, ``FAILED``."""
    model = botocore.session.get_session().get_service_model("batch")
    return tuple(model.shape_for("JobStatus").enum)  # type: ignore[attr-defined]


CONTAINER_EXITED = "Essential container in task exited"
"""The ``statusReason`` of an attempt whose container exited by itself, whatever its exit code
(the stop reason Batch passes on from Amazon ECS)."""

TIMEOUT_REASON = "Job attempt duration exceeded timeout"
"""The ``statusReason`` of an attempt Batch stopped at ``timeout.attemptDurationSeconds``
(Batch's wording, as jobs that timed out report it)."""
TIMEOUT_EXIT_CODE = 137
"""A timed-out container gets SIGTERM, then SIGKILL 30 s later (AWS Batch User Guide, "Job
timeouts"): 128 + 9, as timed-out jobs report."""

ARRAY_CHILD_FAILED = "Array Child Job failed"
"""The ``statusReason`` of an array job's parent once a child failed (Batch's wording)."""

RUNNABLE_EXPLANATIONS = {
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY": (
        "Service cannot fulfill the capacity requested for instance type {instance_type}"
    ),
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE": (
        "CE(s) associated with the job queue cannot meet the CPU requirement of the job."
    ),
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT": (
        "The job resource requirement (vCPU/memory/GPU) is higher than that can be met by the "
        "CE(s) attached to the job queue."
    ),
}
"""What Batch says after each reason of a job stuck ``RUNNABLE`` (AWS Batch User Guide, "Jobs
stuck in RUNNABLE due to capacity" and "... due to misconfiguration": the ``statusReason``
message while the job is stuck is ``<reason> - <explanation>``)."""

ENVIRONMENT_HEALTHY = "ComputeEnvironment Healthy"
QUEUE_HEALTHY = "JobQueue Healthy"
"""The ``statusReason`` of a ``VALID`` compute environment and job queue (botocore's Batch
examples, DescribeComputeEnvironments and DescribeJobQueues)."""


def runnable_reason(reason: str | None, instance_types: list[str]) -> str | None:
    """The ``statusReason`` Batch gives a job stuck ``RUNNABLE`` for ``reason`` (one of
    ``RUNNABLE_EXPLANATIONS``), naming the compute environment's first instance type where
    Batch names one; ``None`` for no reason."""
    if reason is None:
        return None
    explanation = RUNNABLE_EXPLANATIONS[reason].format(
        instance_type=(instance_types or ["optimal"])[0]
    )
    return f"{reason} - {explanation}"


def outcome_of(attempt: Attempt | None) -> JobOutcome:
    """The attempt as Batch reports it once it ended: the scripted fields, and what Batch
    shows when the script leaves them out.

    A container that exited (the default ``statusReason``, ``CONTAINER_EXITED``) has an exit
    code: 0 when it succeeded, 1 when not, unless scripted. An attempt that ended otherwise
    (``Host EC2 (instance …) terminated.``: the instance went away) has none unless scripted.
    ``None`` (no script for this attempt): it succeeds.
    """
    if attempt is None:
        return JobOutcome("SUCCEEDED", CONTAINER_EXITED, None, 0)
    reason = attempt.statusReason or CONTAINER_EXITED
    exit_code = attempt.exitCode
    if exit_code is None and reason == CONTAINER_EXITED:
        exit_code = 0 if attempt.status == "SUCCEEDED" else 1
    return JobOutcome(attempt.status, reason, attempt.reason, exit_code)


def plan(
    start: float,
    scripted: list[Attempt],
    *,
    attempt_seconds: float,
    runnable_seconds: float,
    never_starts: bool,
    allowed: int,
    rules: list[dict[str, Any]],
    limit: float | None,
    waiting_reason: str | None,
) -> JobSchedule:
    """The whole schedule of a job submitted at ``start`` (epoch seconds, virtual clock).

    ``RUNNABLE`` for ``runnable_seconds``; then attempt *n* runs ``scripted[n].after``
    seconds (``attempt_seconds`` when not given; attempts past the script succeed) and ends
    as scripted. A failed attempt is retried, at once, while fewer than ``allowed`` ran and
    ``retry_action(rules, …)`` says RETRY (RetryStrategy, EvaluateOnExit). An attempt longer
    than ``limit`` (``attemptDurationSeconds``) is stopped at ``limit`` with
    ``TIMEOUT_REASON`` and not retried (AWS Batch User Guide, "Job timeouts": "If a job is
    terminated for exceeding the timeout duration, it isn't retried"). ``never_starts``: no
    attempt ever starts, the job stays ``RUNNABLE`` until it is terminated.
    """
    if never_starts:
        return JobSchedule(runnable_reason=waiting_reason)
    at = start + runnable_seconds
    runs: list[AttemptRun] = []
    for number in range(max(1, allowed)):
        attempt = scripted[number] if number < len(scripted) else None
        seconds = attempt_seconds if attempt is None or attempt.after is None else attempt.after
        if limit is not None and seconds > limit:
            timed_out = JobOutcome("FAILED", TIMEOUT_REASON, None, TIMEOUT_EXIT_CODE)
            runs.append(AttemptRun(timed_out, at, at + limit))
            at += limit
            break
        outcome = outcome_of(attempt)
        runs.append(AttemptRun(outcome, at, at + seconds))
        at += seconds
        if outcome.succeeded or retry_action(rules, outcome) != "RETRY":
            break
    last = runs[-1].outcome
    return JobSchedule(tuple(runs), at, last.status, last.status_reason, waiting_reason)


def cut_short(record: JobRecord, at: float, reason: str, *, terminate: bool) -> None:
    """End ``record``'s job at ``at`` as TerminateJob (``terminate``) or CancelJob does.

    A job that has not started (``RUNNABLE``) ends ``FAILED`` with ``reason`` and no new
    attempt; a running attempt ends ``FAILED`` with ``reason`` (TerminateJob only: CancelJob
    leaves a started job running). An ended job is left alone. An array job's parent passes
    the call on to every child (AWS Batch API Reference, TerminateJob and CancelJob; User
    Guide, "Array jobs": "If you cancel or terminate a parent array job, all of the child jobs
    are cancelled or terminated with it").
    """
    if record.children:
        ended = record.ended_at is not None
        for child in record.children:
            cut_short(child, at, reason, terminate=terminate)
        if not ended:
            record.schedule = replace(
                record.schedule, end_reason=reason, terminated=terminate, cancelled=not terminate
            )
        return
    schedule = record.schedule
    if schedule.end is not None and schedule.end <= at:
        return
    running = next((r for r in schedule.runs if r.started_at <= at < r.stopped_at), None)
    if running is not None and not terminate:
        return
    kept = tuple(r for r in schedule.runs if r.stopped_at <= at)
    if running is not None:
        kept += (AttemptRun(JobOutcome("FAILED", reason), running.started_at, at),)
    record.schedule = replace(
        schedule,
        runs=kept,
        end=at,
        end_status="FAILED",
        end_reason=reason,
        terminated=running is not None,
        cancelled=running is None,
    )


# --------------------------------------------------------------------------- rendering


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _set(detail: dict[str, Any], key: str, value: Any) -> None:
    """Set ``detail[key]``, or remove it for ``None`` (Batch leaves absent fields out)."""
    if value is None:
        detail.pop(key, None)
    else:
        detail[key] = value


def _attempt_detail(run: AttemptRun, log_stream: str | None) -> dict[str, Any]:
    """An ``AttemptDetail`` of DescribeJobs for a run that ended."""
    outcome = run.outcome
    container: dict[str, Any] = {"networkInterfaces": []}
    _set(container, "logStreamName", log_stream)
    _set(container, "exitCode", outcome.exit_code)
    _set(container, "reason", outcome.reason)
    detail: dict[str, Any] = {
        "container": container,
        "startedAt": _ms(run.started_at),
        "stoppedAt": _ms(run.stopped_at),
    }
    _set(detail, "statusReason", outcome.status_reason)
    return detail


def status_reason(record: JobRecord, status: str) -> str | None:
    """The job's ``statusReason`` in ``status``: the runnable reason while it waits, the last
    attempt's (or the terminating call's) once it ended, ``ARRAY_CHILD_FAILED`` for an array
    job's parent whose child failed."""
    schedule = record.schedule
    if record.children:
        return (schedule.end_reason or ARRAY_CHILD_FAILED) if status == "FAILED" else None
    if status in ("SUCCEEDED", "FAILED"):
        return schedule.end_reason
    return schedule.runnable_reason if status == "RUNNABLE" else None


def render(
    record: JobRecord, detail: dict[str, Any], log_stream: str | None, *, full: bool
) -> dict[str, Any]:
    """Rewrite moto's ``JobDetail`` (``full``, DescribeJobs) or ``JobSummary`` (ListJobs) of a
    job with what its schedule says now: ``status``, ``statusReason``, ``createdAt``,
    ``startedAt`` and ``stoppedAt`` (epoch ms; an array job's parent never runs, so it has no
    ``startedAt``), the ended ``attempts`` (none for a parent), the last attempt's container
    ``exitCode``/``reason``, ``arrayProperties`` (the parent's ``statusSummary`` counts every
    ``JobStatus``, a child's ``index``: API Reference, ArrayPropertiesDetail), and
    ``isTerminated``/``isCancelled``.
    """
    at = record.now()
    status = record.status
    detail["status"] = status
    detail["createdAt"] = _ms(record.submitted_at)
    _set(detail, "statusReason", status_reason(record, status))
    started = None if record.children else record.started_at
    _set(detail, "startedAt", None if started is None else _ms(started))
    ended = record.ended_at
    _set(detail, "stoppedAt", None if ended is None else _ms(ended))
    runs = [] if record.children else [r for r in record.schedule.runs if r.stopped_at <= at]
    last = runs[-1].outcome if runs and ended is not None else None
    if full:
        detail["attempts"] = [_attempt_detail(run, log_stream) for run in runs]
        container = detail.get("container")
        if isinstance(container, dict):
            _set(container, "exitCode", None if last is None else last.exit_code)
            _set(container, "reason", None if last is None else last.reason)
    else:
        summary: dict[str, Any] = {}
        _set(summary, "exitCode", None if last is None else last.exit_code)
        _set(summary, "reason", None if last is None else last.reason)
        _set(detail, "container", summary or None)
    if record.children:
        counts = dict.fromkeys(job_statuses(), 0)
        for child in record.children:
            counts[child.status] += 1
        detail["arrayProperties"] = {
            "statusSummary": counts,
            "statusSummaryLastUpdatedAt": _ms(at),
            "size": len(record.children),
        }
    elif record.index is not None:
        detail["arrayProperties"] = {"index": record.index}
    else:
        detail.pop("arrayProperties", None)
    _set(detail, "isTerminated", True if record.schedule.terminated else None)
    _set(detail, "isCancelled", True if record.schedule.cancelled else None)
    return detail


# --------------------------------------------------------------------------- the book


@dataclass
class _Lifecycle:
    """When a compute environment or job queue was created, and since when it is deleting
    (epoch seconds on the virtual clock)."""

    name: str
    created_at: float
    deleting_since: float | None = None


@dataclass
class Book:
    """What the Batch patches of one rehearsal share: every job's record by job id (array
    children too), and the lifecycle of each compute environment and job queue by ARN."""

    records: dict[str, JobRecord] = field(default_factory=dict)
    environments: dict[str, _Lifecycle] = field(default_factory=dict)
    queues: dict[str, _Lifecycle] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)


# --------------------------------------------------------------------------- gap 5

_GAP_5 = "5: simulated Batch ends every job at SubmitJob and ignores retryStrategy and timeout"

MARK_FINISHED = Target(
    "batch_mark_finished",
    "moto.batch_simple.models:BatchSimpleBackend._mark_job_as_finished",
    "(self, include_start_attempt: bool, job: moto.batch.models.Job) -> None",
    _GAP_5,
)
JOB_DESCRIBE = Target(
    "batch_job_describe",
    "moto.batch.models:Job.describe",
    "(self) -> dict[str, typing.Any]",
    f"{_GAP_5} (DescribeJobs shows the job as its schedule stands now)",
)
JOB_DESCRIBE_SHORT = Target(
    "batch_job_describe_short",
    "moto.batch.models:Job.describe_short",
    "(self) -> dict[str, typing.Any]",
    f"{_GAP_5} (ListJobs shows the job as its schedule stands now)",
)
LIST_JOBS = Target(
    "batch_list_jobs",
    "moto.batch.models:BatchBackend.list_jobs",
    "(self, job_queue_name: str | None, array_job_id: str | None, job_status: str | None = "
    "None, filters: list[dict[str, typing.Any]] | None = None) -> list[moto.batch.models.Job]",
    f"{_GAP_5} (jobStatus filters on the status now)",
)
TERMINATE_JOB = Target(
    "batch_terminate_job",
    "moto.batch.models:BatchBackend.terminate_job",
    "(self, job_id: str, reason: str) -> None",
    f"{_GAP_5} (TerminateJob ends the job at the time of the call)",
)
CANCEL_JOB = Target(
    "batch_cancel_job",
    "moto.batch.models:BatchBackend.cancel_job",
    "(self, job_id: str, reason: str) -> None",
    f"{_GAP_5} (CancelJob ends a job that has not started at the time of the call)",
)
ATTEMPT_DURATION = Target(
    "batch_job_attempt_duration",
    "moto.batch.models:Job._get_attempt_duration",
    "(self) -> int | None",
    f"{_GAP_5} (the SubmitJob or job definition timeout)",
    replaced=False,
)
LIST_TAGS = Target(
    "batch_list_tags",
    "moto.batch.models:BatchBackend.list_tags_for_resource",
    "(self, resource_arn: str) -> dict[str, str]",
    _GAP_5,
    replaced=False,
)


def _execution_of_job(backend: Any, job: Any) -> str | None:
    for arn in (job.arn, job.job_queue.arn, job.job_definition.arn):
        tags = backend.list_tags_for_resource(arn) or {}
        if TAG_EXECUTION in tags:
            return str(tags[TAG_EXECUTION])
    return None


def _instance_types(job: Any) -> list[str]:
    for environment in getattr(job.job_queue, "environments", []) or []:
        types = (environment.compute_resources or {}).get("instanceTypes") or []
        if types:
            return [str(t) for t in types]
    return []


def _schedule(sim: Simulation, job: Any, start: float, scripted: list[Attempt]) -> JobSchedule:
    """The schedule of moto's ``job`` (a single job or an array child) submitted at ``start``,
    from the scenario and the job definition's retry strategy and timeout."""
    behaviour = sim.behaviour.job
    strategy = job.job_definition.retry_strategy or {}
    limit = job._get_attempt_duration()
    schedule = plan(
        start,
        scripted,
        attempt_seconds=behaviour.attemptSeconds,
        runnable_seconds=behaviour.runnableSeconds,
        never_starts=behaviour.neverStarts or sim.behaviour.compute.instancesTerminate,
        allowed=int(strategy.get("attempts") or 1),
        rules=list(strategy.get("evaluateOnExit") or []),
        limit=None if limit is None else float(limit),
        waiting_reason=runnable_reason(behaviour.runnableReason, _instance_types(job)),
    )
    for run in schedule.runs:
        sim.clock.milestone(run.started_at)
        sim.clock.milestone(run.stopped_at)
    return schedule


def patch_batch_jobs(patcher: Patcher, book: Book) -> None:
    """Gap 5: simulated Batch (``use_docker: False``) marks every job SUCCEEDED at SubmitJob,
    its attempts taking no time, ignores the job definition's ``retryStrategy`` and
    ``timeout``, and reports an array job's parent SUCCEEDED whatever its children did.

    Now SubmitJob fixes the job's schedule (``plan``) from ``aws.job`` and ``aws.compute``,
    each array child from ``aws.job.children[index]`` (else ``aws.job.attempts``), all
    children running side by side; DescribeJobs and ListJobs show it as it stands at the
    virtual clock's now (``render``); ListJobs' ``jobStatus`` filters on that status (only
    ``RUNNING`` jobs when none is given), and array children are listed by their parent's
    ``arrayJobId``, not with the queue's jobs (API Reference, ListJobs); TerminateJob and
    CancelJob end it at the time of the call (``cut_short``). The submitted jobs' records
    are ``Simulation.jobs`` (array children in their parent's ``children``).
    """

    def record_of(job_id: str) -> JobRecord | None:
        with book.lock:
            return book.records.get(job_id)

    def build_mark(original: Any) -> Callable[..., None]:
        def mark_job_as_finished(self: Any, include_start_attempt: bool, job: Any) -> None:
            sim = active_simulation()
            if sim is None:
                original(self, include_start_attempt, job)
                return
            self.backend._jobs[job.job_id] = job
            job.log_stream_name = job._stream_name
            execution = sim.execution_of_tag(_execution_of_job(self, job))
            start = sim.clock.now()
            array = job.array_properties or {}
            if not include_start_attempt:
                # An array job's parent: moto has just submitted its children.
                size = int(array.get("size") or 0)
                with book.lock:
                    children = [book.records[f"{job.job_id}:{i}"] for i in range(size)]
                record = JobRecord(
                    job.job_id, execution, start, children=children, now=sim.clock.now
                )
            else:
                index = array.get("index")
                given = sim.behaviour.job.children.get(index) if index is not None else None
                scripted = given.attempts if given is not None else sim.behaviour.job.attempts
                record = JobRecord(
                    job.job_id,
                    execution,
                    start,
                    _schedule(sim, job, start, list(scripted)),
                    index=index,
                    now=sim.clock.now,
                )
            with book.lock:
                book.records[job.job_id] = record
            if record.index is None:
                sim.jobs[job.job_id] = record

        return mark_job_as_finished

    def build_describe(original: Any, *, full: bool) -> Callable[..., dict[str, Any]]:
        def describe(self: Any) -> dict[str, Any]:
            detail = dict(original(self))
            record = record_of(self.job_id) if active_simulation() is not None else None
            if record is None:
                return detail
            return render(record, detail, self.log_stream_name, full=full)

        return describe

    def build_list(original: Any) -> Callable[..., list[Any]]:
        def list_jobs(
            self: Any,
            job_queue_name: str | None,
            array_job_id: str | None,
            job_status: str | None = None,
            filters: list[dict[str, Any]] | None = None,
        ) -> list[Any]:
            if active_simulation() is None:
                return list(original(self, job_queue_name, array_job_id, job_status, filters))
            if job_status is not None and job_status not in job_statuses():
                raise ClientException(f"Job status is not one of {' | '.join(job_statuses())}")
            jobs = list(original(self, job_queue_name, array_job_id, None, filters))
            if job_queue_name:
                jobs = [j for j in jobs if "index" not in (j.array_properties or {})]
            if filters is None:
                wanted = job_status or "RUNNING"
                jobs = [
                    j
                    for j in jobs
                    if (r.status if (r := record_of(j.job_id)) is not None else j.status) == wanted
                ]
            return jobs

        return list_jobs

    def build_stop(original: Any, *, terminate: bool) -> Callable[..., None]:
        def stop(self: Any, job_id: str, reason: str) -> None:
            sim = active_simulation()
            record = record_of(job_id) if sim is not None and job_id and reason else None
            if sim is None or record is None:
                original(self, job_id, reason)
                return
            with book.lock:
                cut_short(record, sim.clock.now(), reason, terminate=terminate)

        return stop

    patcher.replace(MARK_FINISHED, build_mark)
    patcher.replace(JOB_DESCRIBE, lambda original: build_describe(original, full=True))
    patcher.replace(JOB_DESCRIBE_SHORT, lambda original: build_describe(original, full=False))
    patcher.replace(LIST_JOBS, build_list)
    patcher.replace(TERMINATE_JOB, lambda original: build_stop(original, terminate=True))
    patcher.replace(CANCEL_JOB, lambda original: build_stop(original, terminate=False))


# --------------------------------------------------------------------------- compute

_GAP_COMPUTE = "Batch: compute environments and job queues are VALID at once, gone at once"

DESCRIBE_COMPUTE_ENVIRONMENTS = Target(
    "batch_describe_compute_environments",
    "moto.batch.models:BatchBackend.describe_compute_environments",
    "(self, environments: list[str] | None = None) -> list[dict[str, typing.Any]]",
    _GAP_COMPUTE,
)
DELETE_COMPUTE_ENVIRONMENT = Target(
    "batch_delete_compute_environment",
    "moto.batch.models:BatchBackend.delete_compute_environment",
    "(self, compute_environment_name: str) -> None",
    _GAP_COMPUTE,
)
CREATE_JOB_QUEUE = Target(
    "batch_create_job_queue",
    "moto.batch.models:BatchBackend.create_job_queue",
    "(self, queue_name: str, priority: str, schedule_policy: str | None, state: str, "
    "compute_env_order: list[dict[str, str]], tags: dict[str, str] | None = None) -> "
    "moto.batch.models.JobQueue",
    _GAP_COMPUTE,
)
DESCRIBE_JOB_QUEUES = Target(
    "batch_describe_job_queues",
    "moto.batch.models:BatchBackend.describe_job_queues",
    "(self, job_queues: list[str] | None = None) -> list[dict[str, typing.Any]]",
    _GAP_COMPUTE,
)
DELETE_JOB_QUEUE = Target(
    "batch_delete_job_queue",
    "moto.batch.models:BatchBackend.delete_job_queue",
    "(self, queue_name: str) -> None",
    _GAP_COMPUTE,
)
GET_COMPUTE_ENVIRONMENT = Target(
    "batch_get_compute_environment",
    "moto.batch.models:BatchBackend.get_compute_environment",
    "(self, identifier: str) -> moto.batch.models.ComputeEnvironment | None",
    _GAP_COMPUTE,
    replaced=False,
)
GET_JOB_QUEUE = Target(
    "batch_get_job_queue",
    "moto.batch.models:BatchBackend.get_job_queue",
    "(self, identifier: str) -> moto.batch.models.JobQueue | None",
    _GAP_COMPUTE,
    replaced=False,
)


def environment_status(life: _Lifecycle, sim: Simulation) -> tuple[str, str | None]:
    """A compute environment's ``(status, statusReason)`` now (``CEStatus``): ``DELETING``
    once deleted, ``CREATING`` for ``aws.compute.readySeconds``, then ``INVALID`` with
    ``invalidReason`` or ``VALID``."""
    compute = sim.behaviour.compute
    if life.deleting_since is not None:
        return "DELETING", None
    if sim.clock.now() < life.created_at + compute.readySeconds:
        return "CREATING", None
    if compute.invalidReason is not None:
        return "INVALID", compute.invalidReason
    return "VALID", ENVIRONMENT_HEALTHY


def queue_status(life: _Lifecycle, sim: Simulation) -> tuple[str, str | None]:
    """A job queue's ``(status, statusReason)`` now (``JQStatus``): ``DELETING`` once
    deleted, else ``INVALID`` with ``queueInvalidReason`` or ``VALID``."""
    reason = sim.behaviour.compute.queueInvalidReason
    if life.deleting_since is not None:
        return "DELETING", None
    return ("INVALID", reason) if reason is not None else ("VALID", QUEUE_HEALTHY)


def patch_batch_compute(patcher: Patcher, book: Book) -> None:
    """moto's compute environments are ``VALID`` from CreateComputeEnvironment on, a job
    queue is ``VALID`` with no ``statusReason``, and DeleteComputeEnvironment and
    DeleteJobQueue remove them at once.

    Now, following ``aws.compute``: a compute environment is ``CREATING`` for
    ``readySeconds``, then ``VALID`` (``ComputeEnvironment Healthy``) or ``INVALID`` with
    ``invalidReason``; a job queue is ``VALID`` (``JobQueue Healthy``) or ``INVALID`` with
    ``queueInvalidReason``; after a delete call each is ``DELETING`` for ``deleteSeconds``,
    then gone (at once with the default 0), as in AWS Batch (CEStatus, JQStatus).
    """
    delete_environment = DELETE_COMPUTE_ENVIRONMENT.resolve()
    delete_queue = DELETE_JOB_QUEUE.resolve()

    def settle(backend: Any, sim: Simulation) -> None:
        """Remove what has been deleting for ``deleteSeconds`` by now."""
        due = sim.clock.now() - sim.behaviour.compute.deleteSeconds
        with book.lock:
            for lives, delete in (
                (book.queues, delete_queue),
                (book.environments, delete_environment),
            ):
                for arn, life in list(lives.items()):
                    if life.deleting_since is not None and life.deleting_since <= due:
                        del lives[arn]
                        delete(backend, life.name)

    def start_deleting(
        backend: Any, lives: dict[str, _Lifecycle], resource: Any, delete: Callable[..., None]
    ) -> None:
        sim = active_simulation()
        assert sim is not None
        seconds = sim.behaviour.compute.deleteSeconds
        with book.lock:
            life = lives.get(resource.arn)
            if life is None or not seconds:
                lives.pop(resource.arn, None)
                delete(backend, resource.name)
                return
            if life.deleting_since is None:
                life.deleting_since = sim.clock.now()
                sim.clock.milestone(life.deleting_since + seconds)

    def build_describe(
        original: Any, lives: dict[str, _Lifecycle], key: str, status: Callable[..., Any]
    ) -> Callable[..., list[dict[str, Any]]]:
        def describe(self: Any, names: list[str] | None = None) -> list[dict[str, Any]]:
            sim = active_simulation()
            if sim is None:
                return list(original(self, names))
            settle(self, sim)
            entries = [dict(entry) for entry in original(self, names)]
            for entry in entries:
                with book.lock:
                    life = lives.get(entry[key])
                if life is not None:
                    entry["status"], reason = status(life, sim)
                    _set(entry, "statusReason", reason)
            return entries

        return describe

    def build_delete_environment(original: Any) -> Callable[..., None]:
        def delete(self: Any, compute_environment_name: str) -> None:
            found = self.get_compute_environment(compute_environment_name)
            if active_simulation() is None or found is None:
                original(self, compute_environment_name)
                return
            start_deleting(self, book.environments, found, original)

        return delete

    def build_delete_queue(original: Any) -> Callable[..., None]:
        def delete(self: Any, queue_name: str) -> None:
            found = self.get_job_queue(queue_name)
            if active_simulation() is None or found is None:
                original(self, queue_name)
                return
            start_deleting(self, book.queues, found, original)

        return delete

    def build_create_queue(original: Any) -> Callable[..., Any]:
        def create_job_queue(
            self: Any,
            queue_name: str,
            priority: str,
            schedule_policy: str | None,
            state: str,
            compute_env_order: list[dict[str, str]],
            tags: dict[str, str] | None = None,
        ) -> Any:
            queue = original(
                self, queue_name, priority, schedule_policy, state, compute_env_order, tags
            )
            sim = active_simulation()
            if sim is not None:
                with book.lock:
                    book.queues[queue.arn] = _Lifecycle(queue.name, sim.clock.now())
            return queue

        return create_job_queue

    patcher.replace(
        DESCRIBE_COMPUTE_ENVIRONMENTS,
        lambda original: build_describe(
            original, book.environments, "computeEnvironmentArn", environment_status
        ),
    )
    patcher.replace(
        DESCRIBE_JOB_QUEUES,
        lambda original: build_describe(original, book.queues, "jobQueueArn", queue_status),
    )
    patcher.replace(DELETE_COMPUTE_ENVIRONMENT, build_delete_environment)
    patcher.replace(DELETE_JOB_QUEUE, build_delete_queue)
    patcher.replace(CREATE_JOB_QUEUE, build_create_queue)


# --------------------------------------------------------------------------- gap 8

_GAP_8 = "8: Batch requires serviceRole (AWS uses its service-linked role)"

CREATE_COMPUTE_ENVIRONMENT = Target(
    "batch_create_compute_environment",
    "moto.batch.models:BatchBackend.create_compute_environment",
    "(self, compute_environment_name: str, _type: str, state: str, compute_resources: "
    "dict[str, typing.Any], service_role: str, tags: dict[str, str] | None = None) -> "
    "moto.batch.models.ComputeEnvironment",
    f"{_GAP_8}; {_GAP_COMPUTE}",
)
IAM_CREATE_ROLE = Target(
    "iam_create_role",
    "moto.iam.models:IAMBackend.create_role",
    "(self, role_name: 'str', assume_role_policy_document: 'str', path: 'str', "
    "permissions_boundary: 'str | None', description: 'str', tags: 'list[dict[str, str]]', "
    "max_session_duration: 'str | None', linked_service: 'str | None' = None) -> 'Role'",
    _GAP_8,
    replaced=False,
)
IAM_GET_ROLE = Target(
    "iam_get_role",
    "moto.iam.models:IAMBackend.get_role",
    "(self, role_name: 'str') -> 'Role'",
    _GAP_8,
    replaced=False,
)

BATCH_SERVICE_LINKED_ROLE = "AWSServiceRoleForBatch"


def patch_batch_service_role(patcher: Patcher, book: Book) -> None:
    """Gap 8 (part): moto refuses CreateComputeEnvironment without ``serviceRole``.

    AWS Batch then uses its service-linked role ``AWSServiceRoleForBatch`` (creating it on
    first use); so does the patched call, creating the role in the emulated IAM if needed.
    The call also starts the compute environment's lifecycle (``patch_batch_compute``).
    """

    def build(original: Any) -> Callable[..., Any]:
        def create_compute_environment(
            self: Any,
            compute_environment_name: str,
            _type: str,
            state: str,
            compute_resources: dict[str, Any],
            service_role: str,
            tags: dict[str, str] | None = None,
        ) -> Any:
            if not service_role:
                try:
                    role = self.iam_backend.get_role(BATCH_SERVICE_LINKED_ROLE)
                except NotFoundException:
                    role = self.iam_backend.create_role(
                        BATCH_SERVICE_LINKED_ROLE,
                        json.dumps(
                            {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Principal": {"Service": "batch.amazonaws.com"},
                                        "Action": "sts:AssumeRole",
                                    }
                                ],
                            }
                        ),
                        "/aws-service-role/batch.amazonaws.com/",
                        None,
                        "Service-linked role for AWS Batch",
                        [],
                        "3600",
                        "batch.amazonaws.com",
                    )
                service_role = role.arn
            environment = original(
                self,
                compute_environment_name,
                _type,
                state,
                compute_resources,
                service_role,
                tags,
            )
            sim = active_simulation()
            if sim is not None:
                created = sim.clock.now()
                with book.lock:
                    book.environments[environment.arn] = _Lifecycle(environment.name, created)
                sim.clock.milestone(created + sim.behaviour.compute.readySeconds)
            return environment

        return create_compute_environment

    patcher.replace(CREATE_COMPUTE_ENVIRONMENT, build)


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher``."""
    book = Book()
    patch_batch_jobs(patcher, book)
    patch_batch_compute(patcher, book)
    patch_batch_service_role(patcher, book)
