"""A model of the original design's documented loops, worked on a measured run's AWS work.

The original (the CDK project this one replaces) runs each step after the one before and
learns that AWS is done by polling: the storage every 30 s, the job every 300 s, the export
task every 300 s; in AutoExport it deletes the file system once a 15-minute look-back of
``AgeOfOldestQueuedMessage`` reads all 0, checked every 300 s, and runs no verifying export.
Its compute environment is static: no per-run compute to prepare or clean up, and no compute
is counted after the job (the most favourable reading for it: a static environment's idle
instance is billed until Batch scales it in).

A loop that waits for an event sees it, on average, half its interval after it happened (the
event's time is independent of the loop's phase), plus the check's own Lambda invocation
(``LAMBDA_INVOCATION_SECONDS``, as in the rehearsal). Every figure here is such an average,
so counts can be fractional. Each loop is Task (the check) -> Choice -> Wait, starting with
the check: ``n`` waits mean ``n + 1`` checks and choices, ``3n + 2`` state transitions. The
steps between loops are one Lambda task each (a state transition, an invocation and its
second): create the storage, submit the job, start the export (TaskExport), delete the
storage; then one Succeed state.

The AWS work (storage creating, association creating, the job, the export task, the queue
draining) takes what it took in the measured run (``Work``), so ours and the original are
compared on the same timeline.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.localaws.patches.cloudwatch import RESOLUTION_SECONDS
from tools.localaws.simulation import LAMBDA_INVOCATION_SECONDS


@dataclass(frozen=True)
class OriginalDesign:
    """The original's documented poll intervals and its AutoExport rule (seconds)."""

    storage_poll: float = 30.0
    job_poll: float = 300.0
    export_poll: float = 300.0
    drain_poll: float = 300.0
    lookback: float = 900.0
    """Deleted once this much look-back of the queue metric reads all 0."""


ORIGINAL = OriginalDesign()


@dataclass(frozen=True)
class Work:
    """The AWS work of a measured run, in seconds: what the original waits for too.

    ``queue`` is AutoExport's queue after the job, until the datapoint showing 0 can be read
    (``timeline.QUEUE``); ``association`` is 0 for OnlyEBS, ``export`` 0 unless TaskExport.
    """

    storage: float
    job: float
    association: float = 0.0
    export: float = 0.0
    queue: float = 0.0


@dataclass(frozen=True)
class Wait:
    """One of the original's loops or steps on the critical path: how long the storage waits
    for the orchestrator there (``seconds``), and the transitions and Lambda invocations."""

    label: str
    seconds: float
    transitions: float
    invocations: float


@dataclass(frozen=True)
class Modeled:
    """The original's figures for one run: the storage's lifetime, its overhead (the
    lifetime less the AWS work), the state transitions and Lambda invocations, and the waits
    the overhead is made of."""

    storage_seconds: float
    overhead_seconds: float
    transitions: float
    invocations: float
    waits: tuple[Wait, ...]


def loop(label: str, waiting: float, interval: float) -> Wait:
    """A Task -> Choice -> Wait loop entered ``waiting`` seconds before its event: it sees the
    event ``interval / 2`` after it on average, plus its check's invocation; ``waiting / interval
    + 1/2`` waits on average (none when the event came first)."""
    if waiting <= 0:
        return Wait(label, LAMBDA_INVOCATION_SECONDS, 2.0, 1.0)
    waits = waiting / interval + 0.5
    return Wait(label, interval / 2 + LAMBDA_INVOCATION_SECONDS, 3 * waits + 2, waits + 1)


def step(label: str) -> Wait:
    """A Lambda task between two loops: one transition, one invocation, its second."""
    return Wait(label, LAMBDA_INVOCATION_SECONDS, 1.0, 1.0)


def model(
    work: Work,
    *,
    lustre: bool,
    task_export: bool,
    auto_export: bool,
    design: OriginalDesign = ORIGINAL,
) -> Modeled:
    """Work the original's loops on ``work`` for a mode: ``lustre`` (a file system with an
    association, polled like the storage), ``task_export`` (an export task after the job,
    polled every ``export_poll``), ``auto_export`` (the look-back rule after the job).

    The storage's lifetime starts at its create call and ends with the delete step; the
    create step's own transition and invocation count, its second does not (it is before the
    call).
    """
    waits = [
        Wait("create storage", 0.0, 1.0, 1.0),
        loop(f"storage poll ({design.storage_poll:g} s)", work.storage, design.storage_poll),
    ]
    aws = work.storage + work.job
    if lustre:
        aws += work.association
        waits.append(
            loop(
                f"association poll ({design.storage_poll:g} s)",
                work.association,
                design.storage_poll,
            )
        )
    waits.append(step("submit job"))
    job = loop(f"job poll ({design.job_poll:g} s)", work.job, design.job_poll)
    waits.append(job)
    if task_export:
        waits.append(step("start export"))
        waits.append(
            loop(f"export poll ({design.export_poll:g} s)", work.export, design.export_poll)
        )
        aws += work.export
    if auto_export:
        # The look-back reads all 0 ``lookback`` after the first 0 datapoint's minute began,
        # one period before ``work.queue`` ends; the check loop starts when the job is seen
        # done, which happens while the queue drains: that part of the job poll's lag is
        # under AWS work, not overhead.
        quiet = design.lookback - RESOLUTION_SECONDS
        beyond_queue = max(0.0, job.seconds - work.queue)
        waits[-1] = Wait(job.label, beyond_queue, job.transitions, job.invocations)
        quiet_left = max(0.0, work.queue + quiet - max(job.seconds, work.queue))
        waits.append(Wait(f"look-back of {design.lookback / 60:g} min all 0", quiet_left, 0.0, 0.0))
        waiting = work.queue + quiet - job.seconds
        waits.append(loop(f"drain check ({design.drain_poll:g} s)", waiting, design.drain_poll))
        aws += work.queue
    waits.append(step("delete storage"))
    overhead = sum(w.seconds for w in waits)
    transitions = sum(w.transitions for w in waits) + 1.0  # the Succeed state
    return Modeled(
        storage_seconds=aws + overhead,
        overhead_seconds=overhead,
        transitions=transitions,
        invocations=sum(w.invocations for w in waits),
        waits=tuple(w for w in waits if w.seconds > 0),
    )
