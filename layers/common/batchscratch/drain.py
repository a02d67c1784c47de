"""AutoExport: has FSx finished exporting what the job wrote?

The CloudWatch metric ``AgeOfOldestQueuedMessage`` (namespace ``AWS/FSx``, dimensions
``FileSystemId`` and ``Publisher=AutoExport``; FSx for Lustre User Guide, "Monitoring with
Amazon CloudWatch") is the age in seconds of the oldest change still waiting for
auto-export. It reads 0 once the queue is empty, but a look-back window with no datapoint
after the job ended also "reads 0", and a metric that is never published never drains. So:

    drained  ⇔  a whole quiet window has passed since the job's end, at least one datapoint
                lies inside that window, and every datapoint inside it is 0.

A queue can read 0 for a moment right after the job, before FSx has queued the last
changes; requiring the whole window after the job's end rules that out.

Anything else (no datapoint yet, any non-zero value in the window) is "not drained yet";
the caller bounds the wait and then verifies with an export task instead of deleting.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

NAMESPACE = "AWS/FSx"
METRIC = "AgeOfOldestQueuedMessage"


@dataclass(frozen=True)
class Datapoint:
    """One metric datapoint: the start of its period (aware datetime) and its value (s)."""

    timestamp: datetime
    value: float


@dataclass(frozen=True)
class DrainVerdict:
    """The decision and why: ``considered`` datapoints in the window after the job's end."""

    drained: bool
    considered: int
    reason: str


def drain_verdict(
    datapoints: Iterable[Datapoint], job_ended_at: datetime, now: datetime, quiet: timedelta
) -> DrainVerdict:
    """Decide whether auto-export has drained.

    Args:
        datapoints: the metric's datapoints (any order).
        job_ended_at: when the job ended (aware datetime).
        now: the time of the decision (aware datetime).
        quiet: the quiet window: how far back from ``now`` every datapoint must be 0.

    Returns:
        A ``DrainVerdict``; ``drained`` only for a non-empty, all-zero window that lies
        entirely after the job's end. A datapoint exactly at the window's start is inside it.
    """
    start = now - quiet
    if start < job_ended_at:
        return DrainVerdict(
            False, 0, f"quiet window of {quiet} not yet over since the job ended at {job_ended_at}"
        )
    window = [point for point in datapoints if start <= point.timestamp <= now]
    if not window:
        return DrainVerdict(False, 0, f"no datapoint since {start.isoformat()} yet")
    busy = [point for point in window if point.value != 0]
    if busy:
        oldest = max(point.value for point in busy)
        return DrainVerdict(
            False, len(window), f"{len(busy)} of {len(window)} datapoints > 0 (max {oldest:g} s)"
        )
    return DrainVerdict(True, len(window), f"{len(window)} datapoints, all 0")
