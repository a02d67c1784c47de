"""AutoExport's drain check: read AgeOfOldestQueuedMessage and apply the drain rule.

Reads CloudWatch ``GetMetricData`` with one ``MetricStat`` (statistic Maximum), per the
CloudWatch API Reference; the rule itself is ``batchscratch.drain.drain_verdict``.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from batchscratch import clock
from batchscratch.aws import client
from batchscratch.config import AutoExportConfig
from batchscratch.drain import METRIC, NAMESPACE, Datapoint, drain_verdict, query_start
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


def check_drain(
    file_system_id: str, config: AutoExportConfig, previous: dict[str, Any] | None
) -> DrainStatus:
    """Report whether auto-export has drained since the job ended.

    The job's end is taken as the first call's time (this step runs right after the job and
    compute cleanup), which only makes the rule stricter. The metric is read from
    ``drain.query_start`` (never from before the job's end) to now; before the quiet
    window has passed since the job's end nothing is read. Past ``drainTimeoutSeconds`` the
    result says ``timedOut``: the state machine then verifies with an export task; it
    never deletes on a timeout.

    Args:
        file_system_id: the run's file system.
        config: quiet window (minutes), period (seconds), drain limit (seconds).
        previous: this check's earlier result (carries ``jobEndedAt``, ``waitingSince``).

    Returns:
        The verdict (``drained``, the datapoints considered, why), ``timedOut`` past
        ``drainTimeoutSeconds``, and the job's end and the wait's start (ISO 8601).
    """
    since = waiting_since(previous)
    job_ended_at = str((previous or {}).get("jobEndedAt") or since)
    ended = datetime.fromisoformat(job_ended_at)
    now = clock.now()
    period = config.lambdaPeriodSeconds
    quiet = timedelta(minutes=config.lambdaTimeDiffMinutes)
    start = query_start(ended, now, quiet)
    points = queue_age(file_system_id, start, now, period) if now - quiet >= ended else []
    verdict = drain_verdict(points, ended, now, quiet, timedelta(seconds=period))
    timed_out = not verdict.drained and seconds_since(since) > config.drainTimeoutSeconds
    return DrainStatus(
        drained=verdict.drained,
        timedOut=timed_out,
        considered=verdict.considered,
        reason=verdict.reason,
        jobEndedAt=job_ended_at,
        waitingSince=since,
    )
