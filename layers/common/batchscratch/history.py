"""The execution history budget: how many events a run's poll loops can add at worst.

A Standard execution holds at most 25,000 history events (Step Functions Developer Guide,
"Step Functions service quotas": maximum execution history size, 25,000 events); an
execution that reaches it fails at once, without running its Catch, so nothing cleans up
what the run created. LoadConfig therefore refuses a configuration whose poll loops could
take a state machine past it.

Each loop is the check Task, a Choice and a Wait (``tools/asl/spine.py`` ``poll``); one pass
adds the events of those three states, counted in ``EVENTS_PER_STATE`` (Step Functions
Developer Guide, "Execution history events": a Lambda Task is TaskStateEntered,
TaskScheduled, TaskStarted, TaskSucceeded, TaskStateExited; a Choice and a Wait each their
StateEntered and StateExited). A watched loop's task looks for ``polling.WATCH_SECONDS``
within its invocation before its Wait (``polling.watch``), so a pass lasts at least that long:
at most ``timeout // WATCH_SECONDS + 1`` passes. Another loop (and a watched one whose
interval is 0, which hands back after each look) checks once at once and then once per
interval until its timeout: at most ``timeout // max(interval, 1) + 1`` passes. An interval of
0 is counted as 1 s: a pass then lasts as long as its Lambda call and transitions, often less
than a second, so for 0 the figure is a lower estimate (a configuration it refuses surely
overflows; one it accepts with a 0 interval may still come close).
The rest of a state machine is a bounded number of states, at most ``FIXED_EVENTS``
events.

The budget is per state machine: the run's own (``run``), and the stack's release state
machine (``release``), whose one loop is bounded as a whole by ``cleanupTimeoutSeconds`` and
waits the shorter of its intervals. Retries of a failed Lambda call (each adds a few events)
are not counted: they happen only under faults, and then a few at a time.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from batchscratch.errors import InvalidConfiguration

MAX_HISTORY_EVENTS = 25_000
"""Events a Standard execution's history holds (Step Functions service quotas)."""

EVENTS_PER_STATE: Mapping[str, int] = {
    "Task": 5,
    "Choice": 2,
    "Wait": 2,
    "Pass": 2,
    "Parallel": 4,
    "Map": 4,
    "Succeed": 2,
    "Fail": 1,
}
"""History events one pass through a state of each type adds. A Lambda task adds 5 (entered,
scheduled, started, succeeded, exited; a ``.sync`` integration adds TaskSubmitted too:
``SYNC_TASK_EVENTS``); a Parallel adds entered, started, succeeded, exited."""
SYNC_TASK_EVENTS = EVENTS_PER_STATE["Task"] + 1
"""A ``.sync`` Task's events (``arn:aws:states:::batch:submitJob.sync``)."""

LOOP_STATES = ("Wait", "Task", "Choice")
"""The states one pass of a poll loop goes through (``tools/asl/spine.py`` ``poll``)."""
EVENTS_PER_PASS = sum(EVENTS_PER_STATE[kind] for kind in LOOP_STATES)
"""A pass's events: 9 (its Lambda task 5, the Choice 2, the Wait 2)."""

WATCH_SECONDS = 240
"""The longest a check step watches within one invocation (seconds, ``polling.watch``). Its
function's ``Timeout`` leaves ``WATCH_MARGIN_SECONDS`` beyond it (tests/template checks)."""
WATCH_MARGIN_SECONDS = 60
"""Time a watching invocation keeps for its last look and its answer (seconds)."""

FIXED_EVENTS: Mapping[str, int] = {"run": 200, "release": 100}
"""An upper bound of the events of every state outside the loops, each passed once, plus the
execution's own start and end (tests/unit/test_history.py counts them in statemachine/)."""

Machine = Literal["run", "release"]

FOLLOW_PASSES = 400
"""The most looks at a job the run follows after a transient SubmitJob or ``.sync`` poll
error (FindRunJob, ``batchscratch.job``): its waits grow until the run's whole limit
(``RunTimeoutSeconds``) fits in this many, so that loop adds at most ``FOLLOW_PASSES`` passes
whatever the job's length."""
RELEASE_MAX_PASSES = 2000
"""Passes a release may make within ``cleanupTimeoutSeconds`` (``batchscratch.release``): a
pass costs about 10 events, so 2,000 leave room for RetainRun. The release waits at least
``cleanupTimeoutSeconds / RELEASE_MAX_PASSES`` between passes, whatever the poll intervals."""
RELEASE_MIN_PASSES = 30
"""Passes a release can at least make within ``cleanupTimeoutSeconds``: it waits at most
``cleanupTimeoutSeconds / RELEASE_MIN_PASSES`` between passes, so that hourly poll intervals
cannot leave it too few looks to finish a cleanup of several steps in time."""
RESUBMISSIONS = 5
"""The most times a run submits its job again when its queue holds none after a transient
error (``batchscratch.job``); each goes through the Parallel RunJobWithDeadline again."""
RESUBMISSION_EVENTS = 40
"""An upper bound of one resubmission's events: the Wait (2), the Parallel (4), the job's
branch (its Choice 2, the ``.sync`` Task 6, a Fail 1), the watchdog's first pass (9) and
FindRunJob with its Choice (7), rounded up."""


@dataclass(frozen=True)
class PollLoop:
    """One poll loop of a state machine, as the configuration bounds it.

    Attributes:
        machine: ``run`` (the mode's state machine) or ``release`` (the stack's release
            state machine).
        step: the Lambda step it polls (the Task's name, e.g. ``CheckVolume``).
        timeout: the configuration key of the loop's time limit (seconds).
        intervals: the configuration key(s) of its Wait (seconds); a loop that waits one of
            several intervals (the release) is bounded by the shortest.
    """

    machine: Machine
    step: str
    timeout: str | None
    intervals: tuple[str, ...]
    max_passes: int | None = None
    """A bound the loop keeps by itself (its waits grow), whatever its timeout: ``timeout``
    None means only this bound counts."""
    events_per_pass: int = EVENTS_PER_PASS
    """History events of one pass (a resubmission goes through a whole Parallel)."""
    watched: bool = False
    """The step watches within its invocation (``polling.watch``): a pass lasts at least
    ``polling.WATCH_SECONDS`` unless its interval is 0."""

    def passes(self, values: Mapping[str, Any]) -> int:
        """Return the most passes the loop makes with configuration ``values`` (key -> value)."""
        if self.timeout is None:
            return int(self.max_passes or 0)
        shortest = min(int(values[key]) for key in self.intervals)
        interval = WATCH_SECONDS if self.watched and shortest > 0 else max(shortest, 1)
        passes = int(values[self.timeout]) // interval + 1
        return passes if self.max_passes is None else min(passes, self.max_passes)

    def describe(self, values: Mapping[str, Any]) -> str:
        """Return ``"<timeout> = N / <interval> = M: P polls (E events)"`` for a message."""
        passes = self.passes(values)
        figure = f"{passes:,} polls ({passes * self.events_per_pass:,} events)"
        if self.timeout is None:
            return f"{self.step}: at most {figure}"
        interval_key = min(self.intervals, key=lambda key: int(values[key]))
        return (
            f"{self.step}: {self.timeout} = {values[self.timeout]} / {interval_key} = "
            f"{values[interval_key]} -> {figure}"
        )


def worst_case_events(loops: tuple[PollLoop, ...], values: Mapping[str, Any]) -> dict[str, int]:
    """Return ``{machine: the most history events an execution of it can have}``.

    Args:
        loops: the mode's poll loops (its configuration model's ``POLL_LOOPS``).
        values: the run's configuration (key -> value).
    """
    totals = dict(FIXED_EVENTS)
    for loop in loops:
        totals[loop.machine] += loop.passes(values) * loop.events_per_pass
    return totals


def check_history_budget(loops: tuple[PollLoop, ...], values: Mapping[str, Any]) -> None:
    """Refuse a configuration whose poll loops could exceed an execution's history.

    Args:
        loops: the mode's poll loops (``POLL_LOOPS`` of its configuration model).
        values: the run's configuration (key -> value).

    Raises:
        InvalidConfiguration: a state machine could exceed ``MAX_HISTORY_EVENTS``; the message
            names the computed figure and each loop's keys, values and share, largest first.
    """
    problems = []
    for machine, events in worst_case_events(loops, values).items():
        if events <= MAX_HISTORY_EVENTS:
            continue
        own = sorted(
            (loop for loop in loops if loop.machine == machine),
            key=lambda loop: -loop.passes(values),
        )
        name = "the run's state machine" if machine == "run" else "the release state machine"
        problems.append(
            f"the poll loops of {name} could add up to {events:,} history events, more than "
            f"the {MAX_HISTORY_EVENTS:,} an execution holds (Step Functions quotas; past that "
            f"it fails without cleaning up): "
            + "; ".join(loop.describe(values) for loop in own)
            + ". Raise the intervals or lower the timeouts"
        )
    if problems:
        raise InvalidConfiguration("Invalid run configuration: " + "; ".join(problems))
