"""AutoExport: has FSx finished exporting what the job wrote?

The CloudWatch metric ``AgeOfOldestQueuedMessage`` (namespace ``AWS/FSx``, dimensions
``FileSystemId`` and ``Publisher=AutoExport``; FSx for Lustre User Guide, "Monitoring with
Amazon CloudWatch") is the age in seconds of the oldest change still waiting for
auto-export. It reads 0 once the queue is empty, but a look-back window with no datapoint
after the job ended also "reads 0", and a metric that is never published never drains.

A datapoint stands for a whole period: CloudWatch aggregates every value whose time stamp
falls within a period into one datapoint (CloudWatch API Reference, GetMetricStatistics),
and the datapoint's ``Timestamp`` is the START of that period (GetMetricData, ``StartTime``:
a query at 01:05:23 for the previous 10-second period "receive[s] data from 01:05:10 to
01:05:20"). So the datapoint stamped ``t`` at a period of ``p`` seconds covers
``[t, t + p)``, and a datapoint stamped before the job's end mixes in values from while the
job still wrote. The rule:

    drained  ⇔  a whole quiet window [now - quiet, now] has passed since the job's end,
                every datapoint judged is 0, and the judged datapoints cover the window
                from its start,

where the judged datapoints are those whose whole period lies after the job's end
(``t ≥ job end``) and overlaps the window (``t + p > now - quiet``, ``t ≤ now``), and
"cover the window from its start" means one of them began at or before ``now - quiet``. A
period that straddles the window's start is judged (a value in it may lie inside the
window), so the window is judged in full for any period, whether or not the window is a
whole number of periods; a period that straddles the job's end is never judged, and while
it would be the one to cover the window's start, the verdict waits.

A queue can read 0 for a moment right after the job, before FSx has queued the last
changes; requiring the whole window after the job's end rules that out.

Anything else (no datapoint yet, any non-zero value in the window, a window whose start no
judged datapoint covers yet) is "not drained yet"; the caller bounds the wait and then
verifies with an export task instead of deleting.

That rule is what lets a file system be deleted on the metric alone
(``verifyExportBeforeDelete`` false). With the verifying export on (the default) the export
task itself proves that nothing is left unexported, and the wait before it only keeps that
task small: ``latest_reads_zero`` then says drained as soon as the newest datapoint whose
period began after the job's end reads 0, a period after the queue emptied. It does not
anchor a window at "now", so a metric that CloudWatch publishes late still drains.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

NAMESPACE = "AWS/FSx"
METRIC = "AgeOfOldestQueuedMessage"

_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Datapoint:
    """One metric datapoint: the start of its period (aware datetime) and its value (s)."""

    timestamp: datetime
    value: float


@dataclass(frozen=True)
class DrainVerdict:
    """The decision and why: ``considered`` datapoints judged (see the module docstring)."""

    drained: bool
    considered: int
    reason: str


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def ceil_minute(moment: datetime) -> datetime:
    """Return ``moment`` rounded up to a whole minute (itself when it is one)."""
    floor = _floor_minute(moment)
    return floor if floor == moment else floor + _MINUTE


def query_start(job_ended_at: datetime, now: datetime, quiet: timedelta) -> datetime:
    """Return the ``StartTime`` to query the metric from: a whole minute, never before the
    job's end, and at or before the quiet window's start once the window lies after it.

    CloudWatch rounds a ``StartTime`` less than 15 days ago down to the whole minute
    (CloudWatch API Reference, GetMetricData ``StartTime``), so a whole minute is sent as
    is: rounding the job's end up keeps the first period from straddling it. The window's
    start rounded down is the later bound once the window lies after the job's end; when
    CloudWatch counts the periods from ``StartTime``, as the examples there show, the
    first period then covers the window's start. The rule (``drain_verdict``) does not
    rely on that alignment: with periods aligned otherwise it only waits longer.

    Args:
        job_ended_at: when the job ended (aware datetime).
        now: the time of the query (aware datetime).
        quiet: the quiet window.

    Returns:
        ``max(job_ended_at rounded up, (now - quiet) rounded down)``, whole minutes.
    """
    return max(ceil_minute(job_ended_at), _floor_minute(now - quiet))


def latest_reads_zero(datapoints: Iterable[Datapoint], job_ended_at: datetime) -> DrainVerdict:
    """Decide whether auto-export's queue is empty now, for a run that verifies with an export
    task afterwards: the newest datapoint whose period began at or after the job's end reads
    0 (module docstring).

    Args:
        datapoints: the metric's datapoints (any order), each stamped with the start of
            its period.
        job_ended_at: when the job ended (aware datetime).

    Returns:
        A ``DrainVerdict``: ``drained`` when that datapoint exists and is 0; ``considered``
        the datapoints since the job's end.
    """
    judged = [point for point in datapoints if point.timestamp >= job_ended_at]
    if not judged:
        return DrainVerdict(False, 0, f"no datapoint since the job ended at {job_ended_at}")
    latest = max(judged, key=lambda point: point.timestamp)
    if latest.value != 0:
        return DrainVerdict(
            False,
            len(judged),
            f"the queue's oldest change was {latest.value:g} s old at "
            f"{latest.timestamp.isoformat()}",
        )
    return DrainVerdict(
        True, len(judged), f"the datapoint of {latest.timestamp.isoformat()} reads 0"
    )


def drain_verdict(
    datapoints: Iterable[Datapoint],
    job_ended_at: datetime,
    now: datetime,
    quiet: timedelta,
    period: timedelta,
) -> DrainVerdict:
    """Decide whether auto-export has drained (the rule: the module docstring).

    Args:
        datapoints: the metric's datapoints (any order), each stamped with the start of
            its period.
        job_ended_at: when the job ended (aware datetime).
        now: the time of the decision (aware datetime).
        quiet: the quiet window: how far back from ``now`` every datapoint must be 0.
        period: the datapoints' period (``lambdaPeriodSeconds``).

    Returns:
        A ``DrainVerdict``; ``drained`` only for an all-zero window that lies entirely
        after the job's end and whose start a datapoint that began after the job's end
        covers. A datapoint that began exactly at the job's end, or exactly at the
        window's start, is judged.
    """
    start = now - quiet
    if start < job_ended_at:
        return DrainVerdict(
            False, 0, f"quiet window of {quiet} not yet over since the job ended at {job_ended_at}"
        )
    window = [
        point
        for point in datapoints
        if job_ended_at <= point.timestamp <= now and point.timestamp + period > start
    ]
    if not window:
        return DrainVerdict(False, 0, f"no datapoint since {start.isoformat()} yet")
    busy = [point for point in window if point.value != 0]
    if busy:
        oldest = max(point.value for point in busy)
        return DrainVerdict(
            False, len(window), f"{len(busy)} of {len(window)} datapoints > 0 (max {oldest:g} s)"
        )
    first = min(point.timestamp for point in window)
    if first > start:
        return DrainVerdict(
            False,
            len(window),
            f"the window from {start.isoformat()} is covered only from {first.isoformat()}: "
            "no period that began after the job's end covers its start yet",
        )
    return DrainVerdict(True, len(window), f"{len(window)} datapoints, all 0")
