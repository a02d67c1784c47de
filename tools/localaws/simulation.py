"""What simulated AWS does in one rehearsal, and what it saw happen.

Plain Python, no moto internals: ``patches`` reads these objects from inside moto, the
rehearsal fills them from a scenario file and reads the records afterwards.
"""

from __future__ import annotations

import fnmatch
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from batchscratch.tagging import identity_tag_value
from tools.localaws.behaviour import STATE_MACHINE_CALLER, Aws, ErrorWindow, Window

TAG_EXECUTION = "batch-scratch:execution-arn"


@dataclass(frozen=True)
class JobOutcome:
    """One attempt of a Batch job: scripted, or as it ran (``JobRecord.attempts``).

    ``status`` is SUCCEEDED or FAILED; ``status_reason`` is the attempt's ``statusReason``
    (Spot reclaim: "Host EC2 (instance i-…) terminated."), ``reason`` the container's reason
    and ``exit_code`` its exit code (``None``: the container has none, e.g. its host went).
    """

    status: str = "SUCCEEDED"
    status_reason: str | None = None
    reason: str | None = None
    exit_code: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


def _glob(pattern: str, value: str | None) -> bool:
    """AWS Batch's evaluateOnExit matching: exact, or a prefix when the pattern ends with *."""
    return fnmatch.fnmatchcase(value or "", pattern)


def retry_action(rules: list[dict[str, Any]], outcome: JobOutcome) -> str:
    """Return RETRY or EXIT for a failed attempt, as AWS Batch applies ``evaluateOnExit``.

    The first rule whose given conditions (onStatusReason, onReason, onExitCode) all match
    decides; when no rule matches, the attempt is retried (AWS Batch API Reference,
    RetryStrategy and EvaluateOnExit).
    """
    exit_code = "" if outcome.exit_code is None else str(outcome.exit_code)
    for rule in rules:
        checks = (
            ("onStatusReason", outcome.status_reason),
            ("onReason", outcome.reason),
            ("onExitCode", exit_code),
        )
        given = [(pattern, value) for key, value in checks if (pattern := rule.get(key))]
        if all(_glob(pattern, value) for pattern, value in given):
            return str(rule.get("action", "EXIT")).upper()
    return "RETRY"


@dataclass(frozen=True)
class AttemptRun:
    """One attempt of a Batch job on the virtual clock: its outcome, and when it started and
    stopped (epoch seconds; ``RUNNING`` in between)."""

    outcome: JobOutcome
    started_at: float
    stopped_at: float


@dataclass(frozen=True)
class JobSchedule:
    """A Batch job's whole life on the virtual clock, fixed when it is submitted and cut short
    when it is terminated or cancelled (``patches.batch``).

    The job is ``RUNNABLE`` until its first run starts (and between runs), ``RUNNING`` during a
    run, and ends ``end_status`` at ``end``; with no ``end`` it never ends on its own (it
    never starts). Every time is epoch seconds on the virtual clock.
    """

    runs: tuple[AttemptRun, ...] = ()
    """Every attempt the job makes, ended or to come; a retry starts as the one before stops."""
    end: float | None = None
    end_status: str = "SUCCEEDED"
    end_reason: str | None = None
    """The job's ``statusReason`` once it ended."""
    runnable_reason: str | None = None
    """The job's ``statusReason`` while it is ``RUNNABLE``."""
    terminated: bool = False
    """TerminateJob stopped a running attempt (DescribeJobs ``isTerminated``)."""
    cancelled: bool = False
    """The job was cancelled before it started (DescribeJobs ``isCancelled``)."""


@dataclass
class JobRecord:
    """A Batch job the rehearsal ran: which execution submitted it, and its schedule.

    Every property reads the job as it stands at ``now()`` (the virtual clock): a job whose
    last attempt ends in two hours is ``RUNNING`` with no ``ended_at`` until then. An array
    job's parent has no runs of its own; it reads its ``children``.
    """

    job_id: str
    execution_arn: str | None
    submitted_at: float = 0.0
    """When SubmitJob was called (epoch seconds on the virtual clock)."""
    schedule: JobSchedule = field(default_factory=JobSchedule)
    """Replaced as a whole (never edited) when the job is terminated, so a reader on another
    thread sees the schedule before or after, not half of each."""
    children: list[JobRecord] = field(default_factory=list)
    """An array job's children, by index (empty for any other job)."""
    index: int | None = None
    """An array child's index in its array (``None`` for any other job)."""
    now: Callable[[], float] = time.time

    def _ended(self, at: float) -> bool:
        if self.children:
            return all(child._ended(at) for child in self.children)
        end = self.schedule.end
        return end is not None and end <= at

    @property
    def attempts(self) -> list[JobOutcome]:
        """The outcomes of the attempts that ran to their end by now, in order; for an array
        job, its children's, child after child (every attempt the array ran)."""
        if self.children:
            return [outcome for child in self.children for outcome in child.attempts]
        at = self.now()
        return [run.outcome for run in self.schedule.runs if run.stopped_at <= at]

    @property
    def running(self) -> AttemptRun | None:
        """The attempt in progress now, if any (never for an array job's parent)."""
        at = self.now()
        schedule = self.schedule
        if self.children or (schedule.end is not None and schedule.end <= at):
            return None
        return next((r for r in schedule.runs if r.started_at <= at < r.stopped_at), None)

    @property
    def status(self) -> str:
        """The job's status now, as DescribeJobs gives it: ``RUNNABLE``, ``RUNNING``,
        ``SUCCEEDED`` or ``FAILED``; an array job's parent is ``PENDING`` until every child
        ended, then ``FAILED`` if one of them failed (AWS Batch User Guide, "Array jobs")."""
        at = self.now()
        if self.children:
            if not self._ended(at):
                return "PENDING"
            failed = any(child.status == "FAILED" for child in self.children)
            return "FAILED" if failed else "SUCCEEDED"
        if self._ended(at):
            return self.schedule.end_status
        return "RUNNING" if self.running is not None else "RUNNABLE"

    @property
    def started_at(self) -> float | None:
        """When the job's first attempt started (an array job: its first child's), if it did
        by now (epoch seconds on the virtual clock)."""
        if self.children:
            starts = [s for child in self.children if (s := child.started_at) is not None]
            return min(starts, default=None)
        runs = self.schedule.runs
        return runs[0].started_at if runs and runs[0].started_at <= self.now() else None

    @property
    def ended_at(self) -> float | None:
        """When the job ended (an array job: its last child), on the virtual clock (epoch
        seconds); ``None`` while it runs or waits."""
        at = self.now()
        if not self._ended(at):
            return None
        if self.children:
            return max(child.schedule.end or 0.0 for child in self.children)
        return self.schedule.end


@dataclass(frozen=True)
class Created:
    """A Create*/Register* call that succeeded: the resource kind, its id, its execution."""

    kind: str
    resource_id: str
    execution_arn: str | None
    at: float = 0.0
    """When the call was answered, on the virtual clock (epoch seconds)."""


@dataclass(frozen=True)
class Released:
    """A Delete*/Deregister* call that AWS accepted: what it released, for which execution,
    and when (virtual epoch seconds). The resource may take a while longer to be gone."""

    kind: str
    resource_id: str
    execution_arn: str | None
    at: float


@dataclass(frozen=True)
class Lifecycle:
    """A per-run resource of the emulated AWS reaching a lifecycle state, and when it did.

    ``at`` is when the change happened on the virtual clock, not when a describe call first
    reported it: an FSx file system's or EBS volume's ``AVAILABLE``/``available`` at the
    time it became ready (``aws.storage.readySeconds``), a data repository association's
    ``UPDATING`` at the UpdateDataRepositoryAssociation call and its ``AVAILABLE`` at the
    step that made it so, a data repository task's ``EXECUTING`` at its ``StartTime`` and its
    end (``SUCCEEDED``, ``FAILED``, ``CANCELED``) at its ``EndTime``. Recorded by the
    emulation the first time it reports the state (``Simulation.record_lifecycle``).
    """

    kind: str
    """The resource kind, as in ``Created`` (``fsx:file-system``, ``ec2:volume``,
    ``fsx:data-repository-association``, ``fsx:data-repository-task``)."""
    resource_id: str
    execution_arn: str | None
    state: str
    at: float


@dataclass(frozen=True)
class Refusal:
    """An error answer of the local AWS: the emulated FSx (e.g. DeleteFileSystem while a task
    runs), or any service refusing a value its API does not accept (``constraints``)."""

    execution_arn: str | None
    operation: str
    code: str
    message: str
    service: str = "FSx"
    """The service that refused, as botocore names it (``serviceId``: EC2, FSx, Batch, SFN)."""


@dataclass(frozen=True)
class Published:
    """A datapoint of the AutoExport queue metric put into the emulated CloudWatch."""

    file_system_id: str
    execution_arn: str | None
    timestamp: float
    """Epoch seconds on the virtual clock."""
    value: float


@dataclass(frozen=True)
class Deletion:
    """A DeleteFileSystem the emulated FSx accepted, and what had been exported by then."""

    file_system_id: str
    execution_arn: str | None
    auto_export: bool
    """Whether auto-export was still enabled on one of its data repository associations."""
    exports: tuple[tuple[str, str, int], ...]
    """Its export tasks, oldest first: (task id, lifecycle, failed files)."""


@dataclass(frozen=True)
class Link:
    """A data repository association the emulated FSx created, and what it imported."""

    execution_arn: str | None
    file_system_path: str
    data_repository_path: str
    imported: tuple[str, ...]
    """The data bucket's keys under ``data_repository_path`` when the association was created
    with ``BatchImportMetaDataOnCreate``: the files its file system shows at first."""


@dataclass(frozen=True)
class FunctionCode:
    """Where a deployed Lambda function's handler lives in the repository."""

    logical_id: str
    app_path: Path
    handler: str = "app.lambda_handler"


LAMBDA_INVOCATION_SECONDS = 1.0
"""Simulated time each Lambda invocation takes (about what a real one of these handlers
costs, cold starts aside), so a loop without waits still moves time on and its time limits
fire on simulated time."""


class VirtualClock:
    """A clock that skips waits: sleeping advances ``offset`` instead of blocking.

    Wait states, Retry intervals, the .sync poll and SDK retry back-off all go through
    ``sleep``; ``now()`` is the wall clock plus every second skipped so far, so a handler
    that measures how long something has been pending sees the time a real run would.
    """

    def __init__(self, real_seconds_per_wait: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._alarms: list[tuple[float, int, Callable[[], None]]] = []
        self._milestones: set[float] = set()
        self._sequence = itertools.count()
        self.real_seconds_per_wait = real_seconds_per_wait

    def align(self, second_of_minute: float = 15.0) -> None:
        """Skip ahead (less than a minute) to ``second_of_minute`` seconds past a minute.

        A run's waits are multiples of 30 s by default, so when its executions start at 15 s
        past a minute their steps stay clear of whole minutes, where CloudWatch's one-minute
        periods begin: which period a metric datapoint falls in, and so the AutoExport drain
        verdicts, then do not depend on the second the rehearsal happened to start at.
        """
        with self._lock:
            self._offset += (second_of_minute - (time.time() + self._offset)) % 60

    @property
    def offset(self) -> float:
        return self._offset

    def sleep(self, seconds: float, interrupted: Callable[[], bool] | None = None) -> None:
        """Skip ``seconds`` of virtual time; an alarm due on the way runs, in this thread,
        at its time (``schedule``). ``interrupted``: asked after each alarm; when it says
        True the sleep ends there (a Wait state whose execution the alarm stopped)."""
        if seconds and seconds > 0:
            self._advance_to(self.now() + float(seconds), interrupted)
            if self.real_seconds_per_wait:
                time.sleep(self.real_seconds_per_wait)

    def advance(self, seconds: float) -> None:
        """Move simulated time on by ``seconds`` without pausing (work that takes time)."""
        if seconds > 0:
            self._advance_to(self.now() + float(seconds))

    def now(self) -> float:
        """Epoch seconds on the virtual clock."""
        return time.time() + self._offset

    def schedule(self, at: float, action: Callable[[], None]) -> None:
        """Run ``action`` once when virtual time reaches ``at`` (epoch seconds): in the thread
        whose sleep or advance crosses it, or at the next ``run_due``. Also a milestone."""
        with self._lock:
            self._alarms.append((at, next(self._sequence), action))
            self._alarms.sort(key=lambda alarm: alarm[:2])
            self._milestones.add(at)

    def milestone(self, at: float) -> None:
        """Note that something changes at ``at`` (a job attempt ends): ``sleep_until_change``
        jumps there instead of polling towards it."""
        with self._lock:
            self._milestones.add(at)

    def next_milestone(self) -> float | None:
        """The earliest milestone still ahead, if any."""
        now = self.now()
        with self._lock:
            ahead = [at for at in self._milestones if at > now]
            self._milestones = set(ahead)
        return min(ahead, default=None)

    def sleep_until_change(self, seconds: float) -> None:
        """Sleep at least ``seconds``, and on to the next milestone when one lies ahead: a
        poll of something whose changes are all scheduled (the ``.sync`` job poll) then
        costs one step, however long the job runs."""
        target = self.now() + max(0.0, float(seconds))
        upcoming = self.next_milestone()
        if upcoming is not None and upcoming > target:
            target = upcoming
        # After an alarm (another execution's start, an abort) the poll looks again.
        self._advance_to(target, interrupted=lambda: True)

    def run_due(self) -> None:
        """Run the alarms whose time has come (the rehearsal calls this while it waits)."""
        self._advance_to(self.now())

    def _advance_to(self, target: float, interrupted: Callable[[], bool] | None = None) -> None:
        while True:
            with self._lock:
                due = self._alarms[0] if self._alarms and self._alarms[0][0] <= target else None
                if due is not None:
                    self._alarms.pop(0)
                    self._offset = max(self._offset, due[0] - time.time())
                else:
                    self._offset = max(self._offset, target - time.time())
            if due is None:
                return
            due[2]()
            if interrupted is not None and interrupted():
                return


REHEARSAL_CALLER = "Rehearsal"
"""The caller the rehearsal command's own calls are made as (``Simulation.enter_function``)."""


@dataclass
class Simulation:
    """Scripted AWS behaviour for one rehearsal, plus everything recorded while it ran."""

    behaviour: Aws = field(default_factory=Aws)
    """How simulated AWS behaves (the scenario's ``aws:`` key)."""
    clock: VirtualClock = field(default_factory=VirtualClock)
    log_level: str = "WARNING"
    functions: dict[str, FunctionCode] = field(default_factory=dict)
    layer_paths: list[Path] = field(default_factory=list)
    root: Path | None = None
    """The repository rehearsed (tracebacks name its files relative to it)."""

    created: list[Created] = field(default_factory=list)
    released: list[Released] = field(default_factory=list)
    """Accepted Delete*/Deregister* calls of per-run resources, in order (``hooks``)."""
    jobs: dict[str, JobRecord] = field(default_factory=dict)
    throttled: dict[str, int] = field(default_factory=dict)
    state_listeners: list[Callable[[str, str], None]] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    """Error answers of the emulated FSx (``tools.localaws.patches.fsx``) and requests AWS would
    refuse (``tools.localaws.constraints``), in order."""
    deletions: list[Deletion] = field(default_factory=list)
    """File systems the emulated FSx started deleting, in order (``tools.localaws.patches.fsx``)."""
    links: list[Link] = field(default_factory=list)
    """Data repository associations the emulated FSx created, in order."""
    metrics: list[Published] = field(default_factory=list)
    """AutoExport metric datapoints published so far, in order."""
    lifecycles: list[Lifecycle] = field(default_factory=list)
    """Lifecycle changes of per-run storage, associations and tasks, in the order the
    emulation reported them (``record_lifecycle``)."""
    lambda_faults: list[Any] = field(default_factory=list)
    """The Lambda invocation faults played, in order (``faults.LambdaFault``)."""
    lambda_containers: dict[str, Any] = field(default_factory=dict)
    """Each function's warm Lambda environment, by logical id (``invoke.Container``)."""
    deliveries: list[Any] = field(default_factory=list)
    """EventBridge deliveries to Lambda targets (``patches.events.Delivery``)."""
    modules: dict[str, ModuleType] = field(default_factory=dict)
    """Handler modules imported so far, by function logical id (warm containers)."""
    enabled: bool = True
    """False while the rehearsal inspects the results: no throttling, no records."""
    current_execution: str | None = None
    """The execution the Lambda invocation in progress works for."""
    executions: set[str] = field(default_factory=set)
    """Every execution ARN seen at work (``execution_of_tag`` decodes their tags)."""
    branches: dict[str, int] = field(default_factory=dict)
    """Parallel branches running now, by execution ARN (``patches.stepfunctions``)."""
    _call_counts: dict[tuple[str, str | None], int] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _thread: threading.local = field(default_factory=threading.local)

    # -- what the patches ask -------------------------------------------------------------

    def _fault_plan(self) -> dict[str, tuple[list[Window], list[ErrorWindow]]]:
        """The scenario's throttled and failing call windows, by normalised
        ``"service:Operation"`` (``hooks.operation_key``)."""
        cached = getattr(self, "_plan", None)
        if cached is not None and cached[0] is self.behaviour:
            return cast(dict[str, tuple[list[Window], list[ErrorWindow]]], cached[1])
        from tools.localaws.hooks import operation_key  # noqa: PLC0415 - hooks imports us

        keys = {*self.behaviour.throttle, *self.behaviour.errors}
        plan = {
            operation_key(key): (
                self.behaviour.throttle_windows(key),
                self.behaviour.error_windows(key),
            )
            for key in keys
        }
        self._plan = (self.behaviour, plan)
        return plan

    def take_fault(self, key: str) -> Window | None:
        """What this call of ``key`` (normalised ``"service:Operation"``) meets: ``None`` (it
        goes through), a ``Window`` (throttled) or an ``ErrorWindow`` (that error answer).

        A window counts the calls of its ``function`` (every caller when not given), from 1;
        calls with no caller (a test's client) count among every caller's; the rehearsal
        command's own (``REHEARSAL_CALLER``: starting, describing and announcing executions) are
        never counted nor failed, so a scenario cannot break the rehearsal itself.
        """
        plan = self._fault_plan()
        caller = self.caller()
        if not self.enabled or key not in plan or caller == REHEARSAL_CALLER:
            return None
        throttles, errors = plan[key]
        with self._lock:
            counts = self._call_counts
            for who in {None, caller}:
                counts[(key, who)] = counts.get((key, who), 0) + 1
            for window in [*throttles, *errors]:
                if window.function not in (None, caller):
                    continue
                if window.covers(counts[(key, window.function)]):
                    if not isinstance(window, ErrorWindow):
                        self.throttled[key] = self.throttled.get(key, 0) + 1
                    return window
        return None

    def calls_of(self, key: str, function: str | None = None) -> int:
        """How many calls of ``key`` (a scenario's ``"service:Operation"``) a window counted
        so far: ``function``'s, or every caller's."""
        from tools.localaws.hooks import operation_key  # noqa: PLC0415 - hooks imports us

        with self._lock:
            return self._call_counts.get((operation_key(key), function), 0)

    def caller(self) -> str | None:
        """Who makes the call in progress on this thread: the Lambda function whose handler
        runs (its logical id), ``StateMachine`` for a state's own service integration, or
        ``None`` for the rehearsal itself."""
        function = getattr(self._thread, "function", None)
        if function is not None:
            return str(function)
        if getattr(self._thread, "execution", None) is not None:
            return STATE_MACHINE_CALLER
        return None

    def enter_function(self, logical_id: str | None) -> str | None:
        """Note that this thread now runs ``logical_id``'s handler (``None``: no longer);
        returns the previous one."""
        previous = getattr(self._thread, "function", None)
        self._thread.function = logical_id
        return previous

    def enter_invocation(self, execution_arn: str | None) -> None:
        """Note the execution the Lambda invocation starting now works for."""
        self.current_execution = execution_arn
        self._know(execution_arn)

    def _know(self, execution_arn: str | None) -> None:
        if execution_arn:
            with self._lock:
                self.executions.add(execution_arn)

    def execution_of_tag(self, value: str | None) -> str | None:
        """Return the execution ARN a ``batch-scratch:execution-arn`` tag value stands for.

        The product writes an ARN that FSx or Batch would refuse as a tag value in an encoded
        form (``batchscratch.tagging.identity_tag_value``); this maps it back.
        """
        if not value:
            return None
        with self._lock:
            known = list(self.executions)
        return next((arn for arn in known if identity_tag_value(arn) == value), value)

    def record_created(self, kind: str, resource_id: str, tags: dict[str, str]) -> None:
        if not self.enabled:
            return
        execution = self.execution_of_tag(tags.get(TAG_EXECUTION)) or self.current_execution
        with self._lock:
            self.created.append(Created(kind, resource_id, execution, self.clock.now()))

    def record_released(self, kind: str, resource_id: str) -> None:
        """Record an accepted delete of ``resource_id``, for the execution that created it
        (else the execution at work)."""
        if not self.enabled:
            return
        with self._lock:
            execution = self._creator(kind, resource_id)
            self.released.append(Released(kind, resource_id, execution, self.clock.now()))

    def _creator(self, kind: str, resource_id: str) -> str | None:
        """The execution that created ``resource_id`` (else the execution at work); call it
        holding ``_lock``."""
        created = (
            c.execution_arn for c in self.created if (c.kind, c.resource_id) == (kind, resource_id)
        )
        return next(created, None) or self.execution_at_work()

    def record_lifecycle(self, kind: str, resource_id: str, state: str, at: float) -> None:
        """Record that ``resource_id`` reached ``state`` at ``at`` (virtual epoch seconds),
        for the execution that created it (else the execution at work), unless that change
        (the same state at the same time) is recorded already: the emulation reports a state
        each time it describes the resource."""
        if not self.enabled:
            return
        with self._lock:
            if any(
                (item.kind, item.resource_id, item.state, item.at) == (kind, resource_id, state, at)
                for item in self.lifecycles
            ):
                return
            execution = self._creator(kind, resource_id)
            self.lifecycles.append(Lifecycle(kind, resource_id, execution, state, at))

    def record_refusal(
        self,
        operation: str,
        code: str,
        message: str,
        service: str = "FSx",
        execution_arn: str | None = None,
    ) -> None:
        """Record an error answer, for ``execution_arn`` or else the execution at work."""
        if not self.enabled:
            return
        execution = execution_arn or self.execution_at_work()
        with self._lock:
            self.refusals.append(Refusal(execution, operation, code, message, service))

    def enter_execution(self, execution_arn: str) -> None:
        """Note that the calling thread runs ``execution_arn``'s states (the Step Functions
        interpreter runs each execution in a thread of its own)."""
        self._thread.execution = execution_arn
        self._know(execution_arn)

    def branch_running(self, execution_arn: str, change: int) -> None:
        """Count a Parallel branch of ``execution_arn`` starting (``change`` 1) or ending (-1)."""
        with self._lock:
            self.branches[execution_arn] = self.branches.get(execution_arn, 0) + change

    def beside_other_branches(self) -> bool:
        """True when the calling thread's execution runs more than one Parallel branch now:
        what it waits for is not the only thing that moves (a watchdog branch polls)."""
        execution = self.execution_at_work()
        with self._lock:
            return execution is not None and self.branches.get(execution, 0) > 1

    def execution_at_work(self) -> str | None:
        """The execution the calling thread works for: the one whose states it runs (its
        service integrations, e.g. ``batch:submitJob.sync``, and its Lambda invocations), or
        the execution of the Lambda invocation in progress (e.g. StartRelease's)."""
        return getattr(self._thread, "execution", None) or self.current_execution

    def record_link(self, link: Link) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.links.append(link)

    def record_deletion(self, deletion: Deletion) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.deletions.append(deletion)

    def record_published(self, datapoint: Published) -> None:
        with self._lock:
            self.metrics.append(datapoint)

    def published_count(self, file_system_id: str) -> int:
        """How many metric datapoints were published for ``file_system_id`` so far."""
        with self._lock:
            return sum(1 for d in self.metrics if d.file_system_id == file_system_id)

    def state_entered(self, execution_arn: str, state_name: str) -> None:
        for listener in list(self.state_listeners):
            listener(execution_arn, state_name)

    # -- what the rehearsal reads ---------------------------------------------------------

    def created_by(self, execution_arn: str) -> dict[str, set[str]]:
        """Return ``{kind: {id, ...}}`` of resources created for ``execution_arn``."""
        result: dict[str, set[str]] = {}
        for item in self.created:
            if item.execution_arn == execution_arn:
                result.setdefault(item.kind, set()).add(item.resource_id)
        return result

    def jobs_of(self, execution_arn: str) -> list[JobRecord]:
        return [job for job in self.jobs.values() if job.execution_arn == execution_arn]
