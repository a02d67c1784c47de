"""Bounded polling: a check handler answers "not ready yet" normally and raises once its
time limit has passed, so no Wait → check → Choice loop in a state machine can spin forever.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from batchscratch.errors import BatchScratchError, CleanupTimeout
from batchscratch.outputs import ReleaseStatus
from batchscratch.policy import FileSystemPolicy, VolumePolicy
from batchscratch.run import TAG_RETAINED, now_iso, seconds_since


def waiting_since(previous: dict[str, Any] | None) -> str:
    """Return when the current wait began: ``previous["waitingSince"]`` or now.

    ``previous`` is this check's own earlier result in the state data (absent on the first
    call), so the first call starts the clock and later calls keep it.
    """
    if previous and isinstance(previous.get("waitingSince"), str):
        return str(previous["waitingSince"])
    return now_iso()


def enforce_deadline(
    since: str, limit_seconds: int, error: type[BatchScratchError], what: str
) -> None:
    """Raise ``error`` when more than ``limit_seconds`` have passed since ``since``.

    Args:
        since: ISO 8601 time the wait began.
        limit_seconds: the configured limit, in seconds.
        error: the named error class to raise.
        what: what is being waited for, named in the message (e.g. "volume vol-0abc").

    Raises:
        error: with a message naming ``what``, the elapsed time and the limit.
    """
    elapsed = seconds_since(since)
    if elapsed > limit_seconds:
        raise error(
            f"Gave up waiting for {what}: {elapsed:.0f} s since {since}, limit {limit_seconds} s"
        )


@dataclass
class ReleaseProgress:
    """What one pass of a storage release did, as ``"kind:id"`` entries.

    ``retained``: kept on purpose; ``deleted``: deleted in this pass; ``pending``: waiting
    for AWS (detaching, snapshotting, a running task), with the reason in parentheses.
    """

    policy: VolumePolicy | FileSystemPolicy
    since: str
    retained: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    def keep(
        self, entry: str, tags: dict[str, str], reason: str, mark: Callable[[str], None]
    ) -> None:
        """Record ``entry`` as retained; first ``mark`` it with ``reason`` (a function that
        writes the ``retained-reason`` tag) unless ``tags`` already hold one."""
        if TAG_RETAINED not in tags:
            mark(reason)
        self.retained.append(entry)

    def result(self, timeout_seconds: int) -> ReleaseStatus:
        """Return the step's result; ``done`` once nothing is pending.

        Raises:
            CleanupTimeout: something is still pending after ``timeout_seconds`` since
                ``since``; what is left keeps its tags.
        """
        if self.pending:
            enforce_deadline(
                self.since,
                timeout_seconds,
                CleanupTimeout,
                f"storage release ({', '.join(self.pending)})",
            )
        return ReleaseStatus(
            done=not self.pending,
            policy=self.policy,
            retained=self.retained,
            deleted=self.deleted,
            waitingSince=self.since,
        )
