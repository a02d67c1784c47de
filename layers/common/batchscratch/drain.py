"""AutoExport: has FSx finished exporting what the job wrote?

The CloudWatch metric ``AgeOfOldestQueuedMessage`` (namespace ``AWS/FSx``, dimensions
``FileSystemId`` and ``Publisher=AutoExport``; FSx for Lustre User Guide, "Monitoring with
Amazon CloudWatch") is the age in seconds of the oldest change still waiting for
auto-export. It reads 0 once the queue is empty, but a look-back window with no datapoint
after the job ended also "reads 0", and a metric that is never published never drains. So:

    drained  ⇔  at least one datapoint starts at or after the job's end and inside the quiet
                window, and every such datapoint is 0.

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
        A ``DrainVerdict``; ``drained`` only for a non-empty, all-zero window that starts no
        earlier than the job's end. A datapoint exactly at the window's start is inside it.
    """
    start = max(job_ended_at, now - quiet)
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
