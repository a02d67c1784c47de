"""The run's Batch job as its own queue shows it: found, started or ended, and the deadlines on it.

A run's job queue is its own (``compute.Names``), so "a job of the run" is the job its queue
holds under the run's job name; a run never has two. Two steps read it:

- ``check_job_start`` (CheckJobStart), the watchdog that runs beside RunJob: once the job has
  not started within ``jobStartTimeoutSeconds`` of its submission it terminates the job and
  raises ``JobStartTimeout`` naming Batch's ``statusReason``.
- ``find_run_job`` (FindRunJob), after SubmitJob or the ``.sync`` poll failed on a transient
  error: follow the job that exists (with the same start deadline and the run's deadline), or
  report that there is none, so the state machine submits again (a bounded number of times).

Batch facts (botocore's ``batch`` service model): ListJobs with a ``JOB_NAME`` filter lists
jobs in every status, most recent first ("When the filter is used, jobStatus is ignored");
``JobDetail.createdAt`` is when SubmitJob was called and ``startedAt`` when the job went from
STARTING to RUNNING, both Unix milliseconds (Batch leaves ``startedAt`` out before);
``statusReason`` of a RUNNABLE job names why it waits
(``CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - …``); an array parent's
``arrayProperties.statusSummary`` counts its children by status; TerminateJob terminates a
STARTING or RUNNING job and cancels one that has not reached STARTING.
"""

import math
from dataclasses import dataclass
from typing import Any

from batchscratch.aws import client
from batchscratch.compute import Names
from batchscratch.config import CommonConfig
from batchscratch.errors import JobFailed, JobNotSubmitted, JobStartTimeout, RunTimeout
from batchscratch.history import FOLLOW_PASSES, RESUBMISSIONS
from batchscratch.outputs import JobStart, RunJobSearch
from batchscratch.polling import waiting_since
from batchscratch.run import RUN_TIMEOUT_SETTING, Run, iso_of, run_limit_seconds, seconds_since

ENDED = ("SUCCEEDED", "FAILED")
RUNNING = ("STARTING", "RUNNING")
"""A job that reached STARTING has been placed on an instance: it is no longer waiting."""
CHILD_PROGRESS = ("STARTING", "RUNNING", "SUCCEEDED", "FAILED")
"""Children statuses that show an array job on its way (a child that ended had its turn)."""

MAX_RESUBMISSIONS = RESUBMISSIONS
"""How many times a run submits its job again after SubmitJob failed on a transient error
(``batchscratch.history`` budgets them)."""
RESUBMIT_FIRST_SECONDS = 10
RESUBMIT_MAX_SECONDS = 300
"""The wait before resubmission *n* (1-based): 10 s, doubling, at most 300 s."""
FOLLOW_MAX_SECONDS = 900
"""The longest wait between two looks at a job followed after a transient error: each look
adds about 9 events to the execution's history, which holds at most 25,000 (Step Functions
Developer Guide, "Step Functions service quotas"), and a job may run for days."""

NO_REASON = (
    "Batch gave no status reason (instances that keep terminating before they join the "
    "compute environment show none)"
)


@dataclass(frozen=True)
class JobView:
    """What the run needs of a job's ``JobDetail`` (DescribeJobs).

    ``created_at`` is epoch seconds; ``attempts`` counts the attempts that ended;
    ``started`` is True once the job (or, for an array job, one of its children) was placed
    on an instance.
    """

    job_id: str
    status: str
    created_at: float
    started: bool
    attempts: int
    status_reason: str | None

    @property
    def ended(self) -> bool:
        """True once the job is SUCCEEDED or FAILED."""
        return self.status in ENDED

    @classmethod
    def of(cls, detail: dict[str, Any]) -> "JobView":
        """Read a DescribeJobs ``JobDetail``."""
        status = str(detail["status"])
        summary = (detail.get("arrayProperties") or {}).get("statusSummary")
        if isinstance(summary, dict):
            started = any(int(summary.get(s) or 0) > 0 for s in CHILD_PROGRESS)
        else:
            # Not ``startedAt``: botocore's model marks it required, while Batch leaves it out
            # until the job runs; the status and the attempts say the same without doubt.
            started = status in RUNNING or status == "SUCCEEDED" or bool(detail.get("attempts"))
        return cls(
            job_id=str(detail["jobId"]),
            status=status,
            created_at=float(detail["createdAt"]) / 1000,
            started=started,
            attempts=len(detail.get("attempts") or []),
            status_reason=detail.get("statusReason") or None,
        )


def run_job(run: Run) -> JobView | None:
    """Return the run's job as Batch describes it now, or None while its queue holds none.

    Raises:
        botocore.exceptions.ClientError: Batch refused (the queue does not exist, throttling).
    """
    names = Names.of(run)
    batch = client("batch")
    listed = batch.list_jobs(
        jobQueue=names.job_queue, filters=[{"name": "JOB_NAME", "values": [names.job]}]
    )["jobSummaryList"]
    if not listed:
        return None
    jobs = batch.describe_jobs(jobs=[listed[0]["jobId"]])["jobs"]
    return JobView.of(jobs[0]) if jobs else None


def enforce_start_deadline(run: Run, job: JobView, config: CommonConfig) -> None:
    """Terminate ``job`` and raise once it has waited to start longer than
    ``jobStartTimeoutSeconds`` since its submission (``createdAt``).

    Raises:
        JobStartTimeout: naming ``jobStartTimeoutSeconds``, the job id and Batch's
            ``statusReason`` (or that it gave none); the job was terminated first (reason
            ``JobStartTimeout: …``).
    """
    limit = config.jobStartTimeoutSeconds
    waited = seconds_since(iso_of(job.created_at))
    if job.started or job.ended or waited <= limit:
        return
    client("batch").terminate_job(
        jobId=job.job_id,
        reason=f"JobStartTimeout: not started within jobStartTimeoutSeconds = {limit} s",
    )
    reason = job.status_reason or NO_REASON
    raise JobStartTimeout(
        f"Job {job.job_id} of run {run.runId} did not start within jobStartTimeoutSeconds = "
        f"{limit} s of its submission at {iso_of(job.created_at)} ({waited:.0f} s, "
        f"{job.status}); terminated. Batch's status reason: {reason}"
    )


def check_job_start(run: Run, config: CommonConfig, previous: dict[str, Any] | None) -> JobStart:
    """The watchdog's check: is the run's job started, or ended, in time?

    Args:
        run: whose job.
        config: ``jobStartTimeoutSeconds`` (60-86,400 s).
        previous: this check's earlier result (carries ``waitingSince``), or None.

    Returns:
        ``done`` once the job has started or ended. While the queue holds no job (the
        watchdog can look before SubmitJob has returned) it keeps waiting.

    Raises:
        JobStartTimeout: the job has not started within ``jobStartTimeoutSeconds`` of its
            submission (it is terminated first), or no job appeared within that long of the
            watchdog's first check.
    """
    since = waiting_since(previous)
    job = run_job(run)
    if job is None:
        waited = seconds_since(since)
        if waited > config.jobStartTimeoutSeconds:
            raise JobStartTimeout(
                f"No job of run {run.runId} appeared in its job queue "
                f"{Names.of(run).job_queue} within jobStartTimeoutSeconds = "
                f"{config.jobStartTimeoutSeconds} s ({waited:.0f} s since {since})"
            )
        return JobStart(
            done=False,
            started=False,
            jobId=None,
            status=None,
            waitSeconds=watch_wait_seconds(config, config.jobStartTimeoutSeconds - waited),
            waitingSince=since,
        )
    enforce_start_deadline(run, job, config)
    left = config.jobStartTimeoutSeconds - seconds_since(iso_of(job.created_at))
    return JobStart(
        done=job.started or job.ended,
        started=job.started,
        jobId=job.job_id,
        status=job.status,
        waitSeconds=watch_wait_seconds(config, left),
        waitingSince=since,
    )


def watch_wait_seconds(config: CommonConfig, seconds_left: float) -> int:
    """Seconds before the watchdog's next look: ``waitForComputeSeconds``, but no later than
    just past the start deadline (``seconds_left`` until it), and at least 1."""
    return max(1, min(config.waitForComputeSeconds, math.ceil(max(seconds_left, 0)) + 1))


def resubmit_wait_seconds(resubmission: int) -> int:
    """Seconds to wait before resubmission ``resubmission`` (1-based): 10, 20, 40, … ≤ 300."""
    return int(min(RESUBMIT_MAX_SECONDS, RESUBMIT_FIRST_SECONDS * 2 ** (resubmission - 1)))


def follow_wait_seconds(config: CommonConfig, previous: dict[str, Any] | None) -> int:
    """Seconds to wait before the next look at a job followed: ``waitForComputeSeconds`` (at
    least 1) at first, then twice the previous wait, at most ``FOLLOW_MAX_SECONDS`` -- or, for
    a run limit longer than ``FOLLOW_PASSES`` such waits, that limit over ``FOLLOW_PASSES``
    (so that the follow never fills the history, ``batchscratch.history``)."""
    first = max(1, config.waitForComputeSeconds)
    before = int((previous or {}).get("waitSeconds") or 0) if (previous or {}).get("found") else 0
    longest = max(FOLLOW_MAX_SECONDS, math.ceil(run_limit_seconds() / FOLLOW_PASSES))
    return min(longest, max(first, 2 * before))


def find_run_job(
    run: Run, config: CommonConfig, previous: dict[str, Any] | None, failure: str | None
) -> RunJobSearch:
    """Follow the run's job after a transient SubmitJob or ``.sync`` poll error, or report
    that its queue holds none (the state machine then submits again).

    Args:
        run: whose job.
        config: ``jobStartTimeoutSeconds``.
        previous: this step's earlier result (``resubmissions``, ``waitingSince``), or None.
        failure: the error that sent the run here (``Error: Cause``), named when giving up.

    Returns:
        ``found`` with the job's id, status and ended attempts; ``ended`` once it SUCCEEDED;
        or, with no job, the resubmission count and the wait before it.

    Raises:
        JobFailed: the job ended FAILED (Batch's ``statusReason`` in the message).
        JobStartTimeout: the job has not started within ``jobStartTimeoutSeconds``.
        RunTimeout: the run's deadline (``RUN_TIMEOUT_SECONDS``) passed while the job ran;
            the job was terminated.
        JobNotSubmitted: no job after ``MAX_RESUBMISSIONS`` resubmissions.
    """
    since = waiting_since(previous)
    done = int((previous or {}).get("resubmissions") or 0)
    job = run_job(run)
    if job is None:
        if done >= MAX_RESUBMISSIONS:
            raise JobNotSubmitted(
                f"Run {run.runId}: its job queue holds no job after {done} resubmissions "
                f"(at most {MAX_RESUBMISSIONS}); last error: {failure or 'unknown'}"
            )
        return RunJobSearch(
            found=False,
            ended=False,
            jobId=None,
            status=None,
            attempts=0,
            resubmissions=done + 1,
            waitSeconds=resubmit_wait_seconds(done + 1),
            waitingSince=since,
        )
    if job.status == "FAILED":
        raise JobFailed(
            f"Job {job.job_id} of run {run.runId} FAILED after {job.attempts} attempt(s): "
            f"{job.status_reason or 'no status reason given'}"
        )
    if not job.ended:
        enforce_start_deadline(run, job, config)
        limit = run_limit_seconds()
        if seconds_since(run.startedAt) > limit:
            client("batch").terminate_job(
                jobId=job.job_id, reason=f"RunTimeout: the run outlived {RUN_TIMEOUT_SETTING}"
            )
            raise RunTimeout(
                f"Run {run.runId} outlived its limit ({RUN_TIMEOUT_SETTING} = {limit} s since "
                f"{run.startedAt}); job {job.job_id} terminated"
            )
    return RunJobSearch(
        found=True,
        ended=job.ended,
        jobId=job.job_id,
        status=job.status,
        attempts=job.attempts,
        resubmissions=done,
        waitSeconds=0 if job.ended else follow_wait_seconds(config, previous),
        waitingSince=since,
    )
