"""AutoExport's drain check: read AgeOfOldestQueuedMessage and apply the drain rule.

Reads CloudWatch ``GetMetricData`` with one ``MetricStat`` (statistic Maximum), per the
CloudWatch API Reference; the rule itself is ``batchscratch.drain.drain_verdict``.
"""

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from batchscratch import clock
from batchscratch.aws import client
from batchscratch.config import AutoExportConfig
from batchscratch.drain import (
    METRIC,
    NAMESPACE,
    Datapoint,
    ceil_minute,
    drain_verdict,
    latest_reads_zero,
    query_start,
)
from batchscratch.outputs import DrainStatus
from batchscratch.polling import waiting_since
from batchscratch.run import seconds_since


def queue_age(file_system_id: str, start: datetime, end: datetime, period: int) -> list[Datapoint]:
    """Return the Maximum of ``AgeOfOldestQueuedMessage`` per ``period`` seconds.

    Dimensions ``FileSystemId`` and ``Publisher=AutoExport`` (FSx for Lustre User Guide,
    "Amazon FSx for Lustre metrics"). ``StartTime`` is inclusive and ``EndTime`` exclusive
    (CloudWatch API Reference, GetMetricData); each datapoint is stamped with the start of
    its period.

    Args:
        file_system_id: the run's file system.
        start: ``StartTime`` (aware datetime; a whole minute, see ``drain.query_start``).
        end: ``EndTime`` (aware datetime, after ``start``).
        period: the period in seconds (a multiple of 60).

    Returns:
        The datapoints, in the order CloudWatch returns them.
    """
    pages = (
        client("cloudwatch")
        .get_paginator("get_metric_data")
        .paginate(
            MetricDataQueries=[
                {
                    "Id": "queue",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": NAMESPACE,
                            "MetricName": METRIC,
                            "Dimensions": [
                                {"Name": "FileSystemId", "Value": file_system_id},
                                {"Name": "Publisher", "Value": "AutoExport"},
                            ],
                        },
                        "Period": period,
                        "Stat": "Maximum",
                    },
                    "ReturnData": True,
                }
            ],
            StartTime=start,
            EndTime=end,
        )
    )
    return [
        Datapoint(timestamp.astimezone(UTC), float(value))
        for page in pages
        for result in page["MetricDataResults"]
        for timestamp, value in zip(result["Timestamps"], result["Values"], strict=True)
    ]


NO_METRIC_PERIODS = 5
"""Periods after the job's end with no datapoint at all before the metric counts as not
published: the drain check stops waiting (``timedOut``) and the run verifies with an export
task. FSx publishes ``AgeOfOldestQueuedMessage`` at a one-minute resolution while auto-export
works; five periods leave room for CloudWatch's publication delay."""

METRIC_DELAY_SECONDS = 5
"""How long after a period ends the check looks for its datapoint (seconds)."""


def job_end(job_id: str | None) -> datetime | None:
    """Return when the run's Batch job ended (``stoppedAt``, DescribeJobs, epoch
    milliseconds), or None when there is no job id or Batch gives no ``stoppedAt``."""
    if not job_id:
        return None
    jobs = client("batch").describe_jobs(jobs=[job_id])["jobs"]
    stopped = jobs[0].get("stoppedAt") if jobs else None
    return datetime.fromtimestamp(stopped / 1000, UTC) if stopped else None


def next_period_seconds(job_ended_at: datetime, now: datetime, period: int) -> int:
    """Return the seconds until the next datapoint can be read: the end of the period now
    running, on the grid of whole periods from the job's end rounded up to a minute (as the
    query starts, ``drain.query_start``), plus ``METRIC_DELAY_SECONDS``."""
    origin = ceil_minute(job_ended_at)
    elapsed = max(0.0, (now - origin).total_seconds())
    if now < origin:
        return math.ceil((origin - now).total_seconds()) + METRIC_DELAY_SECONDS
    since_end = elapsed % period
    if since_end < METRIC_DELAY_SECONDS - 1:
        # A period ended a moment ago: read it once the delay has passed, not a period later.
        return math.ceil(METRIC_DELAY_SECONDS - since_end)
    return math.ceil(period - since_end) + METRIC_DELAY_SECONDS


def check_drain(
    file_system_id: str,
    config: AutoExportConfig,
    previous: dict[str, Any] | None,
    job_ended_at: datetime | None = None,
) -> DrainStatus:
    """Report whether auto-export has drained since the job ended.

    The job's end is Batch's ``stoppedAt`` (``job_ended_at``, from ``job_end``), else the first
    call's time; later calls keep it (``previous["jobEndedAt"]``). With
    ``verifyExportBeforeDelete`` (the default) the queue has drained once the newest
    datapoint since the job's end reads 0 (``drain.latest_reads_zero``): the verifying export
    task then proves the rest. Without it, the quiet-window rule decides
    (``drain.drain_verdict``): the last ``lambdaTimeDiffMinutes`` all 0, read from
    ``drain.query_start`` (never from before the job's end). The result says ``timedOut``
    (the state machine then verifies with an export task; it never deletes on a timeout)
    past ``drainTimeoutSeconds``, or when no datapoint at all was published in
    ``NO_METRIC_PERIODS`` periods since the job's end (a metric that is not published never
    drains: waiting for it would only keep the file system).

    Args:
        file_system_id: the run's file system.
        config: quiet window (minutes), period (seconds), drain limit (seconds).
        previous: this check's earlier result (carries ``jobEndedAt``, ``waitingSince``).
        job_ended_at: when the job ended (aware datetime), for the first call.

    Returns:
        The verdict (``drained``, the datapoints considered, why), ``timedOut``, and the
        job's end and the wait's start (ISO 8601).
    """
    since = waiting_since(previous)
    kept = (previous or {}).get("jobEndedAt")
    if kept:
        job_ended_iso = str(kept)
    elif job_ended_at is not None:
        job_ended_iso = job_ended_at.isoformat(timespec="seconds")
    else:
        job_ended_iso = since
    ended = datetime.fromisoformat(job_ended_iso)
    now = clock.now()
    period = config.lambdaPeriodSeconds
    if config.verifyExportBeforeDelete:
        start = ceil_minute(ended)
        points = queue_age(file_system_id, start, now, period) if now > start else []
        verdict = latest_reads_zero(points, ended)
    else:
        quiet = timedelta(minutes=config.lambdaTimeDiffMinutes)
        start = query_start(ended, now, quiet)
        points = queue_age(file_system_id, start, now, period) if now - quiet >= ended else []
        verdict = drain_verdict(points, ended, now, quiet, timedelta(seconds=period))
    reason = verdict.reason
    timed_out = False
    if not verdict.drained:
        unpublished = timedelta(seconds=NO_METRIC_PERIODS * period)
        if seconds_since(since) > config.drainTimeoutSeconds:
            timed_out = True
            reason = f"{reason}; drainTimeoutSeconds ({config.drainTimeoutSeconds} s) passed"
        elif now - ended >= unpublished and not (
            # With the verifying export on, ``points`` already covers every period since the
            # job's end; otherwise the query read only the quiet window.
            points
            if config.verifyExportBeforeDelete
            else _published_since(file_system_id, ended, now)
        ):
            timed_out = True
            reason = (
                f"no {METRIC} datapoint published in {int(unpublished.total_seconds())} s "
                "since the job ended: the metric is not published"
            )
    return DrainStatus(
        drained=verdict.drained,
        timedOut=timed_out,
        considered=verdict.considered,
        reason=reason,
        jobEndedAt=job_ended_iso,
        waitingSince=since,
    )


def _published_since(file_system_id: str, ended: datetime, now: datetime) -> bool:
    """Whether any datapoint (one-minute periods) was published since the job's end."""
    start = ceil_minute(ended)
    return now > start and bool(queue_age(file_system_id, start, now, 60))
