"""Bounded polling: a check handler answers "not ready yet" normally and raises once its
time limit has passed, so no Wait → check → Choice loop in a state machine can spin forever.

A check step also *watches*: inside one Lambda invocation it looks, pauses and looks again
until what it waits for happened or its watch is over (``watch``), and only then hands back
to the state machine, which waits the pause the step chose (``waitSeconds``) and invokes it
again. Each pass of a Wait → Task → Choice loop costs three state transitions; a look inside
a watch costs one API call and the Lambda time of the pause (about 0.0000033 USD a second at
256 MB on arm64, a thousandth of what a 2,400 GiB SCRATCH_2 file system costs meanwhile), so
the storage is noticed ready, exported or released within seconds instead of within one poll
interval, and a run's transitions do not grow with the length of its waits.

The pauses back off: the first look comes ``FIRST_LOOK_SECONDS`` after the wait began, and
each pause is a quarter of the time waited so far (``LOOK_GROWTH``), at most the step's
configured interval (its ``waitFor…Seconds`` key): a wait of a few seconds is noticed within
a second or two, one of an hour at most one interval late.
"""

import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, Self

from batchscratch import clock
from batchscratch.errors import BatchScratchError, CleanupTimeout
from batchscratch.history import WATCH_MARGIN_SECONDS, WATCH_SECONDS
from batchscratch.outputs import ReleaseStatus
from batchscratch.policy import FileSystemPolicy, VolumePolicy
from batchscratch.run import TAG_RETAINED, now_iso, seconds_since

FIRST_LOOK_SECONDS = 2
"""The pause before the second look of a wait (seconds)."""
LOOK_GROWTH = 0.25
"""Each pause is this fraction of the time waited so far (then capped by the interval)."""

_invocation_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "invocation_deadline", default=None
)


def start_invocation(remaining_milliseconds: int) -> contextvars.Token[float | None]:
    """Record that a Lambda invocation with ``remaining_milliseconds`` left has begun (the
    runtime's ``context.get_remaining_time_in_millis()``), so that ``watch`` may pause within
    it. Outside an invocation (a direct call, a test) a watch looks once.

    Returns:
        The token that ``end_invocation`` takes.
    """
    deadline = _now() + remaining_milliseconds / 1000
    return _invocation_deadline.set(deadline)


def end_invocation(token: contextvars.Token[float | None]) -> None:
    """Forget the invocation ``start_invocation`` recorded."""
    _invocation_deadline.reset(token)


def next_look_seconds(waited_seconds: float, interval_seconds: int) -> int:
    """Return the pause before the next look (whole seconds, at least 1 unless the interval
    is 0): ``LOOK_GROWTH`` of ``waited_seconds`` (the time since the wait began), at least
    ``FIRST_LOOK_SECONDS``, at most ``interval_seconds`` (the step's ``waitFor…Seconds``)."""
    pause = max(FIRST_LOOK_SECONDS, int(waited_seconds * LOOK_GROWTH))
    return min(pause, interval_seconds)


class Watched(Protocol):
    """A check step's result (a frozen output model): when its wait began and the pause it
    asks for."""

    @property
    def waitingSince(self) -> str: ...  # noqa: N802 - the output models' field names

    @property
    def waitSeconds(self) -> int: ...  # noqa: N802 - the output models' field names

    def model_dump(self) -> dict[str, Any]: ...

    def model_copy(self, *, update: dict[str, Any]) -> Self: ...


def watch[R: Watched](
    look: Callable[[dict[str, Any] | None], R],
    previous: dict[str, Any] | None,
    *,
    done: Callable[[R], bool],
    interval_seconds: int,
    pause: Callable[[R], float] | None = None,
) -> R:
    """Look until ``done``, pausing between looks, for at most the watch (``WATCH_SECONDS``,
    and never closer than ``WATCH_MARGIN_SECONDS`` to the invocation's timeout); return the
    last look's result with ``waitSeconds``: the pause before the next look, which the
    state machine's Wait takes (0 when done).

    Each look is one call of the step (``look(previous)``, each given the result of the one
    before), so a watch does what as many Wait → Task → Choice passes would, and a look that
    raises (a failure, a time limit) ends the watch with that error. The back-off counts from
    when the wait began, or from the last look whose answer differed from the one before (a
    file system that became AVAILABLE and got its association, a job queue that was disabled,
    an export task that started): what follows a change is looked at soon again.

    Args:
        look: the step's check, taking its earlier result (a dict, or None the first time).
        previous: the step's result from its last invocation, or None.
        done: whether a result ends the wait (ready, deleted, drained ...).
        interval_seconds: the step's configured interval: the longest pause.
        pause: the step's own choice of pause for a result (e.g. until the next metric
            period), used instead of the back-off; capped by the interval too.

    Returns:
        The last result, its ``waitSeconds`` set.
    """
    deadline = _invocation_deadline.get()
    watch_ends = _now() + WATCH_SECONDS
    if deadline is not None:
        watch_ends = min(watch_ends, deadline - WATCH_MARGIN_SECONDS)
    result = look(previous)
    answer = _answer(previous)
    changed_at: float | None = None
    while True:
        if done(result):
            return result.model_copy(update={"waitSeconds": 0})
        latest = _answer(result.model_dump())
        if latest != answer:
            answer, changed_at = latest, _now()
        waited = seconds_since(result.waitingSince)
        if changed_at is not None:
            waited = min(waited, _now() - changed_at)
        chosen = pause(result) if pause is not None else next_look_seconds(waited, interval_seconds)
        seconds = max(0, min(int(chosen), interval_seconds))
        # A look outside an invocation, or one whose pause would outlast the watch, hands
        # the pause to the state machine's Wait instead.
        if deadline is None or seconds == 0 or _now() + seconds > watch_ends:
            return result.model_copy(update={"waitSeconds": seconds})
        clock.sleep(seconds)
        result = look(result.model_dump())


def _answer(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a look reported, without its timing (``waitingSince``, ``waitSeconds``)."""
    if result is None:
        return None
    return {key: value for key, value in result.items() if key not in _TIMING}


_TIMING = frozenset({"waitingSince", "waitSeconds"})


def _now() -> float:
    """Epoch seconds on the layer's clock (the rehearsal's virtual one there)."""
    return clock.now().timestamp()


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
