"""A run's timeline, read from its execution history and the emulator's records, and the
orchestration overhead worked out on it.

The **orchestration overhead** is the storage's lifetime (its create call to the delete AWS
accepted) minus the time covered by AWS work: the union of the intervals in which AWS, not
the orchestrator, is what the run waits for. Those are

- the storage creating (create call to AVAILABLE / available),
- the data repository association creating or updating (call to AVAILABLE),
- the job, from SubmitJob to its end (RUNNABLE, every attempt and the retry included),
- every export task, from its creation to its end,
- AutoExport's queue: from the job's end until the datapoint showing it empty can be read,
  that is one metric period (``RESOLUTION_SECONDS``) after the minute that datapoint
  describes began (the queue is not empty until then, or not known to be).

Everything else the storage lives through is the orchestrator's: poll waits, Lambda
invocations, compute preparation and cleanup the storage waits for, quiet windows. The gaps
(``Timeline.gaps``) say which states the run was in meanwhile.

Every time of a ``Timeline`` is in seconds after the execution started (virtual clock).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tools.localaws.patches.cloudwatch import RESOLUTION_SECONDS
from tools.localaws.simulation import LAMBDA_INVOCATION_SECONDS
from tools.rehearse import COMPUTE_ENVIRONMENT, EXPORT_TASK, STORAGE_KINDS, Observed

ASSOCIATION = "fsx:data-repository-association"
READY_STATES = frozenset({"AVAILABLE", "available"})
TASK_ENDS = frozenset({"SUCCEEDED", "FAILED", "CANCELED"})
CONTAINER_STATES = frozenset({"Parallel", "Map"})
"""State types that only hold other states: a gap is attributed to the states inside."""

STORAGE_CREATING = "storage creating"
ASSOCIATION_CREATING = "association creating"
ASSOCIATION_UPDATING = "association updating"
JOB = "job (SubmitJob to its end)"
EXPORT = "export task"
QUEUE = "auto-export queue not empty (+ one metric period)"


@dataclass(frozen=True)
class Span:
    """An interval of time (seconds), with what it was."""

    start: float
    end: float
    label: str = ""

    @property
    def seconds(self) -> float:
        """Its length in seconds (0 for an empty or reversed span)."""
        return max(0.0, self.end - self.start)


def union(spans: Iterable[Span]) -> list[Span]:
    """The union of ``spans``: disjoint spans in time order, overlapping or touching ones
    merged (a merged span's label lists its parts' labels, once each, joined by " + ");
    empty spans are dropped."""
    merged: list[Span] = []
    for span in sorted((s for s in spans if s.seconds > 0), key=lambda s: (s.start, s.end)):
        if merged and span.start <= merged[-1].end:
            last = merged[-1]
            labels = last.label.split(" + ") if last.label else []
            if span.label and span.label not in labels:
                labels.append(span.label)
            merged[-1] = Span(last.start, max(last.end, span.end), " + ".join(labels))
        else:
            merged.append(span)
    return merged


def clip(spans: Iterable[Span], window: Span) -> list[Span]:
    """The parts of ``spans`` inside ``window`` (empty parts dropped)."""
    clipped = (
        Span(max(span.start, window.start), min(span.end, window.end), span.label) for span in spans
    )
    return [span for span in clipped if span.seconds > 0]


def covered_seconds(spans: Iterable[Span], window: Span) -> float:
    """Seconds of ``window`` that at least one of ``spans`` covers."""
    return sum(span.seconds for span in union(clip(spans, window)))


def uncovered(window: Span, spans: Iterable[Span]) -> list[Span]:
    """The parts of ``window`` that none of ``spans`` covers, in time order."""
    gaps: list[Span] = []
    at = window.start
    for span in union(clip(spans, window)):
        if span.start > at:
            gaps.append(Span(at, span.start))
        at = max(at, span.end)
    if window.end > at:
        gaps.append(Span(at, window.end))
    return gaps


@dataclass(frozen=True)
class StateSpan:
    """A state the run (or its release) was in: from its StateEntered to its StateExited."""

    name: str
    type: str
    start: float
    end: float


@dataclass(frozen=True)
class Gap:
    """A stretch of the storage's life with no AWS work in it, and the states the
    orchestrator was in meanwhile: (state name, seconds of the gap it covered), in the order
    they were first entered."""

    start: float
    end: float
    states: tuple[tuple[str, float], ...]

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class Timeline:
    """What a run's storage lived through: its lifetime, the AWS work, the job and the
    compute's deletion, and the states entered (times: seconds after the execution started).
    """

    storage: Span | None
    """Create call to the delete AWS accepted (to the rehearsal's end if never deleted);
    None for a run that made no storage."""
    work: tuple[Span, ...]
    """The AWS-work intervals (module docstring), labelled."""
    attempts: tuple[Span, ...]
    """Each job attempt that ran, start to stop (the instance-time the job used)."""
    job_end: float | None
    compute_deleted: float | None
    """When DeleteComputeEnvironment was first accepted for the run's compute environment."""
    states: tuple[StateSpan, ...]

    @property
    def overhead_seconds(self) -> float | None:
        """The storage's lifetime not covered by AWS work (None without storage)."""
        if self.storage is None:
            return None
        return self.storage.seconds - covered_seconds(self.work, self.storage)

    @property
    def instance_seconds(self) -> float:
        """Seconds the job's attempts ran (what the job itself keeps an instance for)."""
        return sum(attempt.seconds for attempt in self.attempts)

    def gaps(self) -> list[Gap]:
        """The overhead's parts: each stretch of the storage's life without AWS work, with
        the states (not Parallel or Map, which only hold states) the run was in."""
        if self.storage is None:
            return []
        found: list[Gap] = []
        for hole in uncovered(self.storage, self.work):
            seconds: dict[str, float] = {}
            for state in sorted(self.states, key=lambda s: s.start):
                if state.type in CONTAINER_STATES:
                    continue
                overlap = min(state.end, hole.end) - max(state.start, hole.start)
                if overlap > 0:
                    seconds[state.name] = seconds.get(state.name, 0.0) + overlap
            found.append(Gap(hole.start, hole.end, tuple(seconds.items())))
        return found


# --------------------------------------------------------------------------- reading


def _stamp(event: dict[str, Any]) -> float:
    stamp: Any = event.get("timestamp")
    return float(stamp.timestamp()) if hasattr(stamp, "timestamp") else 0.0


def state_spans(events: list[dict[str, Any]], start: float, suffix: str = "") -> list[StateSpan]:
    """The states of an execution's history (GetExecutionHistory events, oldest first), as
    seconds after ``start`` (epoch seconds); a state never exited (Fail, Succeed, one the
    execution stopped in) ends with the history's last event. ``suffix`` is added to every
    name (a release execution's states: `` (release)``)."""
    spans: list[StateSpan] = []
    open_states: dict[str, tuple[float, str]] = {}
    last = 0.0
    for event in events:
        kind = str(event.get("type", ""))
        at = _stamp(event) - start
        last = max(last, at)
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            open_states[name] = (at, kind.removesuffix("StateEntered"))
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            if name in open_states:
                entered, state_type = open_states.pop(name)
                spans.append(StateSpan(name + suffix, state_type, entered, at))
    for name, (entered, state_type) in open_states.items():
        spans.append(StateSpan(name + suffix, state_type, entered, last))
    return sorted(spans, key=lambda s: (s.start, s.end))


def timeline_of(observed: Observed) -> Timeline:
    """Read a run's ``Timeline`` from what its rehearsal left (``tools.rehearse.Observed``):
    the ``Created``/``Released`` records, the ``Lifecycle`` records of its storage,
    association and export tasks, its Batch jobs, the AutoExport metric's datapoints and
    the execution histories (its own and its release executions')."""
    sim = observed.simulation
    t0 = observed.started
    end = observed.end - t0

    def after(at: float) -> float:
        return at - t0

    first: dict[tuple[str, str], float] = {}
    for made in sim.created:
        if made.execution_arn in observed.arns:
            first.setdefault((made.kind, made.resource_id), made.at)
    released: dict[tuple[str, str], float] = {}
    for gone in sim.released:
        released.setdefault((gone.kind, gone.resource_id), gone.at)
    changes = [c for c in sim.lifecycles if (c.kind, c.resource_id) in first]

    def changed(kind: str, resource_id: str, states: frozenset[str], since: float) -> float | None:
        times = [
            c.at
            for c in changes
            if (c.kind, c.resource_id) == (kind, resource_id)
            and c.state in states
            and c.at >= since
        ]
        return min(times, default=None)

    storage_key = next(((k, i) for (k, i) in first if k in STORAGE_KINDS), None)
    storage: Span | None = None
    work: list[Span] = []
    if storage_key is not None:
        created = first[storage_key]
        deleted = released.get(storage_key, observed.end)
        storage = Span(after(created), after(deleted), "storage")
        ready = changed(*storage_key, READY_STATES, created)
        work.append(
            Span(after(created), after(ready if ready is not None else deleted), STORAGE_CREATING)
        )

    for (kind, resource_id), created in first.items():
        if kind == ASSOCIATION:
            ready = changed(kind, resource_id, READY_STATES, created)
            work.append(
                Span(
                    after(created), after(ready) if ready is not None else end, ASSOCIATION_CREATING
                )
            )
            for update in (c for c in changes if c.resource_id == resource_id):
                if update.state == "UPDATING":
                    done = changed(kind, resource_id, READY_STATES, update.at)
                    work.append(
                        Span(
                            after(update.at),
                            after(done) if done is not None else end,
                            ASSOCIATION_UPDATING,
                        )
                    )
        elif kind == EXPORT_TASK:
            ended = changed(kind, resource_id, TASK_ENDS, created)
            work.append(Span(after(created), after(ended) if ended is not None else end, EXPORT))

    attempts: list[Span] = []
    job_ends: list[float] = []
    for job in observed.jobs:
        job_end = job.ended_at
        work.append(
            Span(after(job.submitted_at), after(job_end) if job_end is not None else end, JOB)
        )
        if job_end is not None:
            job_ends.append(after(job_end))
        for child in job.children or [job]:
            attempts += [
                Span(after(run.started_at), after(run.stopped_at), "attempt")
                for run in child.schedule.runs
                if run.stopped_at <= observed.end
            ]
    job_end_at = max(job_ends) if job_ends and len(job_ends) == len(observed.jobs) else None

    if storage_key is not None and job_end_at is not None:
        queue = _queue_span(observed, storage_key[1], job_end_at, storage)
        if queue is not None:
            work.append(queue)

    compute = [
        after(released[key]) for key in first if key[0] == COMPUTE_ENVIRONMENT and key in released
    ]
    states = state_spans(observed.events, t0)
    for _, events in observed.releases:
        states += state_spans(events, t0, " (release)")
    return Timeline(
        storage=storage,
        work=tuple(work),
        attempts=tuple(attempts),
        job_end=job_end_at,
        compute_deleted=min(compute, default=None),
        states=tuple(states),
    )


def _queue_span(
    observed: Observed, file_system_id: str, job_end: float, storage: Span | None
) -> Span | None:
    """AutoExport's queue after the job: from the job's end until the first datapoint of 0
    after the last non-zero one can be read (one period after the minute it describes began;
    with no non-zero datapoint, until the first datapoint can be read; never emptied: to the
    storage's end). None when no datapoint was published for the file system."""
    points = [m for m in observed.simulation.metrics if m.file_system_id == file_system_id]
    if not points:
        return None
    t0 = observed.started
    busy = [p.timestamp for p in points if p.value > 0]
    if busy:
        later = [p.timestamp for p in points if p.timestamp > max(busy)]
        if later:
            empty = min(later) + RESOLUTION_SECONDS - t0
        else:
            empty = storage.end if storage is not None else job_end
    else:
        empty = min(p.timestamp for p in points) + RESOLUTION_SECONDS - t0
    return Span(job_end, empty, QUEUE)


# --------------------------------------------------------------------------- from the history


def run_config(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's validated configuration: the ``config`` LoadConfig put in the state (its
    StateExited output), as the run used it.

    Raises:
        ValueError: the history has no LoadConfig output with a ``config``.
    """
    for event in events:
        details = event.get("stateExitedEventDetails") or {}
        if details.get("name") == "LoadConfig":
            config = json.loads(details.get("output") or "{}").get("config")
            if isinstance(config, dict):
                return config
    raise ValueError("the execution history has no LoadConfig output with a config")


@dataclass(frozen=True)
class LambdaUse:
    """The Lambda invocations Step Functions scheduled, and their GB-seconds (each lasting
    from its TaskScheduled to the event that ended it: a check step that watches runs for
    minutes)."""

    invocations: int
    gb_seconds: float


_TASK_ENDS = frozenset({"TaskSucceeded", "TaskFailed", "TaskTimedOut"})


def _seconds(value: Any) -> float:
    return float(value.timestamp()) if hasattr(value, "timestamp") else float(value)


def lambda_use(histories: Iterable[list[dict[str, Any]]], memory: dict[str, int]) -> LambdaUse:
    """Count the ``lambda:invoke`` tasks scheduled in ``histories`` (retries included: each
    is a request) and their GB-seconds at each function's ``MemorySize`` (``memory``, MB by
    function name or ARN), each for as long as its task ran (at least the rehearsal's
    ``LAMBDA_INVOCATION_SECONDS``; that long when the history shows no end).

    Raises:
        ValueError: a scheduled function whose memory size ``memory`` does not give.
    """
    invocations = 0
    gb_seconds = 0.0
    for events in histories:
        by_id = {event.get("id"): event for event in events}
        ended: dict[Any, float] = {}
        for event in events:
            if event.get("type") not in _TASK_ENDS:
                continue
            earlier = by_id.get(event.get("previousEventId"))
            while earlier is not None and earlier.get("type") != "TaskScheduled":
                earlier = by_id.get(earlier.get("previousEventId"))
            if earlier is not None:
                ended[earlier.get("id")] = _seconds(event["timestamp"])
        for event in events:
            details = event.get("taskScheduledEventDetails") or {}
            if event.get("type") != "TaskScheduled" or details.get("resourceType") != "lambda":
                continue
            name = str(json.loads(details.get("parameters") or "{}").get("FunctionName", ""))
            # An ARN, perhaps with a version or alias after the name: try the bare name too.
            bare = name.rsplit(":function:", maxsplit=1)[-1].split(":", maxsplit=1)[0]
            size = memory.get(name, memory.get(bare))
            if size is None:
                raise ValueError(f"no MemorySize for the function {name!r}")
            invocations += 1
            end = ended.get(event.get("id"))
            duration = LAMBDA_INVOCATION_SECONDS
            if end is not None:
                duration = max(duration, end - _seconds(event["timestamp"]))
            gb_seconds += size / 1024 * duration
    return LambdaUse(invocations, gb_seconds)
