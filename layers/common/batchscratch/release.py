"""The release workflow: release one run, pass by pass, until nothing of it is left.

The release state machine (statemachine/release.asl.json, one per stack) runs ReleaseRun,
then waits ``waitSeconds`` and runs it again until ``done``. It is started by the run's own
Catch (StartRelease) and, for runs that could not run their Catch (aborted, timed out, failed
without it) or whose release never finished, by the StartRelease function
(``batchscratch.release_start``). Its execution is named after the run id, so a second start
is a no-op. It paces itself with Wait states, so no Lambda time budget limits it; only
``cleanupTimeoutSeconds`` does. When that passes (or a step fails for good) RetainRun tags
whatever is left ``retained-reason`` and reports it to the stack's SNS topic.

One pass (``release_pass``):

1. On the first pass that reaches Batch, read the job's outcome from the run's own job queue
   (``read_job_outcome``), before the cleanup deletes the queue.
2. Advance the compute cleanup (``compute.cleanup_compute``).
3. Once the compute is gone, apply the policy to the storage with ``job_succeeded`` = the job
   SUCCEEDED or its outcome is UNKNOWN, so a file system is exported before it is deleted
   whenever its results may exist only there (``policy.choose_file_system_policy``).

AWS errors (``ClientError``, ``BotoCoreError``, ``AwsTransientError``) end a pass, not the
release: the next pass tries again.
"""

import json
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from batchscratch import ebs, fsx
from batchscratch.aws import client
from batchscratch.compute import Names, cleanup_compute
from batchscratch.config import CONFIG_MODELS, CommonConfig, LustreConfig
from batchscratch.errors import AwsTransientError, CleanupTimeout
from batchscratch.history import RELEASE_MAX_PASSES, RELEASE_MIN_PASSES
from batchscratch.modes import MODES
from batchscratch.outputs import (
    CleanupStatus,
    JobOutcome,
    ReleaseStatus,
    RetainedRun,
    RunRelease,
)
from batchscratch.polling import enforce_deadline, waiting_since
from batchscratch.run import TAG_REPORTED, TAG_RETAINED, Run
from batchscratch.state import StepError
from batchscratch.storage import tags_of
from batchscratch.tagging import text_tag_value

logger = Logger(child=True)

JOB_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
"""Every job status (AWS Batch API Reference, ListJobs ``jobStatus``)."""

_FINISHED = ("SUCCEEDED", "FAILED")

REPORTED_KEYS = ("dataRepositoryPath",)
"""Keys a configuration that no longer validates still lends the release (for its report)."""


def release_config(mode: str, config: dict[str, Any]) -> CommonConfig:
    """Return the run's configuration (``$.config``) as its mode's model.

    The release must go on even when the configuration no longer validates (a run started
    before an upgrade that tightened a rule): then the mode's defaults are used, which keep
    data (``onFailure`` snapshot / export, ``deleteLustre`` / ``deleteEbs`` true with an
    export first). Unvalidated on purpose: the release reads only the policy and the timings.
    """
    model = CONFIG_MODELS[mode]
    try:
        return model.model_validate(config)
    except ValidationError as error:
        logger.warning(
            "The run's configuration does not validate; releasing with the defaults",
            extra={"errors": error.errors(include_url=False, include_input=False)},
        )
        # The bucket path only names where results are in RetainRun's report.
        known = {key: config[key] for key in REPORTED_KEYS if isinstance(config.get(key), str)}
        return model.model_construct(jobDefinitionContainerImage="unknown", **known)


def _job_outcome(job: dict[str, Any]) -> JobOutcome:
    status = job["status"]
    reason = job.get("statusReason")
    if status not in _FINISHED:
        # The release's compute cleanup terminates it: it ends FAILED.
        return JobOutcome(
            status="FAILED",
            jobId=job["jobId"],
            statusReason=f"{status} when the release began; terminated by the release",
        )
    return JobOutcome(status=status, jobId=job["jobId"], statusReason=reason)


def read_job_outcome(run: Run) -> JobOutcome:
    """Return what became of the run's job, read from Batch itself.

    The run's job queue is its own (``compute.Names.of(run)``), so any job in it is the run's.
    Read before the compute cleanup deletes the queue.

    - Queue present: the job's status (SUCCEEDED, FAILED; a job still active counts as
      FAILED, since the cleanup terminates it); a queue with no job: NONE. Should it hold
      several (a run never has two), a SUCCEEDED one wins: its results may exist only on the
      storage.
    - Queue gone: NONE when the run never registered a job definition (PrepareCompute never
      ran, so no job can have run); otherwise UNKNOWN (the run's own cleanup deleted the queue
      after the job, or a job may have run). A deregistered definition stays describable as
      INACTIVE (AWS Batch API Reference, DescribeJobDefinitions ``status``).

    Raises:
        botocore.exceptions.ClientError: Batch refused or throttled (the pass ends).
    """
    batch = client("batch")
    names = Names.of(run)
    queues = batch.describe_job_queues(jobQueues=[names.job_queue])["jobQueues"]
    if not [queue for queue in queues if queue.get("status") != "DELETED"]:
        definitions = batch.describe_job_definitions(jobDefinitionName=names.job_definition)
        if definitions["jobDefinitions"]:
            return JobOutcome(
                status="UNKNOWN",
                statusReason=f"job queue {names.job_queue} is gone; the job may have succeeded",
            )
        return JobOutcome(status="NONE", statusReason="the run made no compute")
    jobs = [
        job
        for status in JOB_STATUSES
        for page in batch.get_paginator("list_jobs").paginate(
            jobQueue=names.job_queue, jobStatus=status
        )
        for job in page["jobSummaryList"]
    ]
    if not jobs:
        return JobOutcome(status="NONE", statusReason=f"job queue {names.job_queue} holds no job")
    jobs.sort(key=lambda job: (job["status"] == "SUCCEEDED", job.get("createdAt", 0)))
    return _job_outcome(jobs[-1])


def _previous(previous: dict[str, Any] | None) -> RunRelease | None:
    return RunRelease.model_validate(previous) if previous else None


def _described(error: Exception) -> str:
    """``<Operation> refused: <code>: <message>`` for an AWS error answer (botocore
    ``ClientError``), else ``<class>: <text>``: short enough for a tag value."""
    if isinstance(error, ClientError):
        answer = error.response.get("Error", {})
        return (
            f"{error.operation_name} refused: {answer.get('Code', 'unknown')}: "
            f"{answer.get('Message', '')}"
        ).rstrip(": ")
    return f"{type(error).__name__}: {error}"


def error_text(error: StepError) -> str:
    """The readable text of a Catch's ``{Error, Cause}``: a Lambda error's Cause is the JSON
    Lambda reports (``errorType``, ``errorMessage``, ``stackTrace``), of which only the message
    is kept; any other Cause as it is."""
    cause = error.Cause or ""
    try:
        reported = json.loads(cause)
    except ValueError:
        reported = None
    if isinstance(reported, dict) and isinstance(reported.get("errorMessage"), str):
        cause = reported["errorMessage"]
    return f"{error.Error}: {cause or 'no cause'}"


def release_wait_seconds(config: CommonConfig, release_key: str, compute_done: bool) -> int:
    """Seconds before the release's next pass: the configured interval (``waitForComputeSeconds``
    while compute remains, the storage's release interval ``release_key`` after), but at most
    ``cleanupTimeoutSeconds / RELEASE_MIN_PASSES`` (enough looks to finish in time) and at
    least ``cleanupTimeoutSeconds / RELEASE_MAX_PASSES`` (the execution history's 25,000
    events, ``batchscratch.history``)."""
    interval = int(getattr(config, release_key) if compute_done else config.waitForComputeSeconds)
    limit = config.cleanupTimeoutSeconds
    shortest = -(-limit // RELEASE_MAX_PASSES)  # ceiling division
    longest = max(shortest, limit // RELEASE_MIN_PASSES)
    return max(shortest, min(interval, longest))


def release_pass(
    run: Run, config: CommonConfig, error_name: str, previous: dict[str, Any] | None
) -> RunRelease:
    """Make one pass of the run's release; the workflow calls again until ``done``.

    Args:
        run: the run to release.
        config: its configuration (``release_config``): the policy, the poll intervals
            (seconds) and ``cleanupTimeoutSeconds`` (seconds, for the whole release).
        error_name: why the run is released (``$.error.Error``: the run's error, or
            ``Execution<Status>`` for an execution that ended without its Catch).
        previous: this step's earlier result (``$.release``), or None on the first pass.

    Returns:
        ``RunRelease``: ``done``, the seconds to wait before the next pass, the job's
        outcome, the last cleanup and storage results, and the AWS error that ended the
        pass early, if any.

    Raises:
        CleanupTimeout: more than ``cleanupTimeoutSeconds`` since the release began and
            something is left; RetainRun follows.
        SnapshotFailed: the volume's snapshot failed (the volume is kept and tagged).
        ExportFailed, StorageFailed: as the storage kind's release raises them.
    """
    kind = MODES[run.mode].storage
    before = _previous(previous)
    since = waiting_since(previous)
    clock_of_release = {"waitingSince": since}
    outcome = before.jobOutcome if before else None
    compute: CleanupStatus | None = before.compute if before else None
    storage: ReleaseStatus | None = before.storage if before else None
    last_error = None
    try:
        if outcome is None:
            outcome = read_job_outcome(run)
        if compute is None or not compute.done:
            compute = cleanup_compute(run, config, clock_of_release)
        if compute.done:
            storage = kind.implementation.release(
                run,
                config,
                error_name,
                clock_of_release,
                job_succeeded=outcome.may_have_succeeded,
                job_confirmed=outcome.status == "SUCCEEDED",
            )
    except (ClientError, BotoCoreError, AwsTransientError) as error:
        # Throttling or a transient fault ends this pass, not the release.
        last_error = _described(error)
        logger.warning(
            "Release pass ended early; the next pass tries again", extra={"error": last_error}
        )
    compute_done = compute is not None and compute.done
    done = compute_done and storage is not None and storage.done
    if not done:
        left = [*(compute.remaining if compute else ["compute not looked at yet"])]
        if compute_done:
            left = ["storage not released yet"]
        enforce_deadline(
            since,
            config.cleanupTimeoutSeconds,
            CleanupTimeout,
            f"release of run {run.runId} ({', '.join(left)}; last AWS error: {last_error})",
        )
    return RunRelease(
        done=done,
        waitSeconds=release_wait_seconds(config, kind.release_seconds, compute_done),
        jobOutcome=outcome,
        compute=compute,
        storage=storage,
        waitingSince=since,
        lastError=last_error,
    )


# ---------------------------------------------------------------------------------------
# RetainRun: what the release gives up on is tagged and reported.
# ---------------------------------------------------------------------------------------


def _leftover_compute(run: Run) -> list[tuple[str, str, dict[str, str]]]:
    """Return the run's compute still there as ``(entry, ARN or id, tags)``."""
    batch, ec2 = client("batch"), client("ec2")
    names = Names.of(run)
    found: list[tuple[str, str, dict[str, str]]] = []
    for queue in batch.describe_job_queues(jobQueues=[names.job_queue])["jobQueues"]:
        if queue.get("status") != "DELETED":
            entry = f"batch:job-queue:{names.job_queue}"
            found.append((entry, queue["jobQueueArn"], queue.get("tags", {})))
    environments = batch.describe_compute_environments(
        computeEnvironments=[names.compute_environment]
    )["computeEnvironments"]
    for environment in environments:
        if environment.get("status") != "DELETED":
            entry = f"batch:compute-environment:{names.compute_environment}"
            found.append((entry, environment["computeEnvironmentArn"], environment.get("tags", {})))
    templates = ec2.describe_launch_templates(
        Filters=[{"Name": "launch-template-name", "Values": [names.launch_template]}]
    )["LaunchTemplates"]
    for template in templates:
        entry = f"ec2:launch-template:{template['LaunchTemplateId']}"
        found.append((entry, template["LaunchTemplateId"], tags_of(template)))
    return found


def _leftover_storage(run: Run) -> list[tuple[str, str, dict[str, str]]]:
    """Return the run's storage still there as ``(entry, ARN or id, tags)``."""
    if MODES[run.mode].storage.implementation is ebs.VOLUME:
        return [
            (f"ec2:volume:{volume['VolumeId']}", volume["VolumeId"], tags_of(volume))
            for volume in ebs.run_volumes(run)
        ]
    return [
        (f"fsx:file-system:{system['FileSystemId']}", system["ResourceARN"], tags_of(system))
        for system in fsx.run_file_systems(run)
    ]


def _tag(entry: str, resource: str, key: str, value: str) -> None:
    """Tag one resource ``key`` = ``value`` made a valid tag value (EC2 CreateTags, FSx
    TagResource, Batch TagResource: each takes the value ``tagging.text_tag_value`` writes)."""
    text = text_tag_value(value)
    if entry.startswith("ec2:"):
        client("ec2").create_tags(Resources=[resource], Tags=[{"Key": key, "Value": text}])
    elif entry.startswith("fsx:"):
        client("fsx").tag_resource(ResourceARN=resource, Tags=[{"Key": key, "Value": text}])
    else:
        client("batch").tag_resource(resourceArn=resource, tags={key: text})


def _results(run: Run, config: CommonConfig, kept: list[str]) -> list[str]:
    """Where the run's results are, for the report."""
    where = [entry for entry in kept if entry.startswith(("ec2:volume", "fsx:file-system"))]
    bucket_path = getattr(config, "dataRepositoryPath", None)
    if isinstance(config, LustreConfig) and bucket_path:
        where.append(f"{bucket_path} (what the exports got to S3)")
    return where or ["nothing of the run's storage is left"]


def retain_run(
    run: Run,
    config: CommonConfig,
    release_error: StepError,
    run_error: StepError | None,
    topic_arn: str,
) -> RetainedRun:
    """Tag whatever is left of the run ``retained-reason`` and report it to ``topic_arn``.

    A resource that already carries ``retained-reason`` keeps its own reason. A tag call
    that fails is named in the report rather than ending the step: the report matters most.

    Args:
        run: the run whose release gave up.
        config: its configuration (``release_config``).
        release_error: what ended the release (``$.releaseError``, e.g. CleanupTimeout).
        run_error: why the run was released (``$.error``), or None.
        topic_arn: the stack's SNS topic (``TOPIC_ARN``).

    Returns:
        ``RetainedRun``: the kept entries, the SNS message id, and the cause the release
        execution fails with.

    Raises:
        botocore.exceptions.ClientError: a describe call or SNS Publish was refused.
    """
    reason = f"release gave up: {error_text(release_error)}"
    kept: list[str] = []
    problems: list[str] = []
    leftovers = [*_leftover_storage(run), *_leftover_compute(run)]
    for entry, resource, tags in leftovers:
        kept.append(entry)
        if TAG_RETAINED in tags:
            continue
        try:
            _tag(entry, resource, TAG_RETAINED, reason)
        except (ClientError, BotoCoreError) as error:
            problems.append(f"{entry}: could not tag ({type(error).__name__}: {error})")
    results = _results(run, config, kept)
    cause = (
        f"{error_text(release_error)}. Kept, tagged "
        f"{TAG_RETAINED}: {', '.join(kept) or 'nothing'}. Results: {'; '.join(results)}"
    )
    body = {
        "runId": run.runId,
        "executionArn": run.executionArn,
        "stackName": run.stackName,
        "mode": run.mode,
        "runError": run_error.model_dump() if run_error else None,
        "releaseError": release_error.model_dump(),
        "kept": kept,
        "retainedReason": text_tag_value(reason),
        "problems": problems,
        "results": results,
    }
    subject = f"batch-scratch run {run.runId} kept resources"
    # SNS Subject: no line breaks or control characters, fewer than 100 characters (SNS
    # API Reference, Publish); ASCII keeps every e-mail client readable.
    subject = subject.encode("ascii", "replace").decode()[:99]
    reported = next((tags[TAG_REPORTED] for _, _, tags in leftovers if TAG_REPORTED in tags), None)
    if reported is not None:
        # Run again after it had published (a timeout, a lost answer): one report per run.
        return RetainedRun(kept=kept, messageId=reported, cause=cause)
    message_id = str(
        client("sns").publish(
            TopicArn=topic_arn, Subject=subject, Message=json.dumps(body, indent=2)
        )["MessageId"]
    )
    for entry, resource, _ in leftovers:
        try:
            _tag(entry, resource, TAG_REPORTED, message_id)
        except (ClientError, BotoCoreError) as error:
            logger.warning("Could not mark the report", extra={"entry": entry, "error": str(error)})
    return RetainedRun(kept=kept, messageId=message_id, cause=cause)
