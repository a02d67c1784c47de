"""Rehearse the workflow locally: ``python -m tools.rehearse FILE [FILE ...]``.

For each scenario file (format: scenarios/README.md) the rehearsal deploys template.yaml for
the scenario's mode into a fresh local AWS (``tools.localaws``), runs the real state machine
with the real handlers, lets EventBridge deliver the execution's status change (so
StartRelease starts the run's release after an abort or a timeout, as in AWS), follows the
release executions started for each run (the stack's ``ReleaseStateMachine``, from the run's
``Catch`` or its status change) to their end, then prints the
path of states taken and one JSON summary line per execution. The exit status is 0 only if
every scenario met every expectation (1 otherwise, 2 for a scenario that cannot be read or
deployed, or an invalid environment variable).

Environment: ``REHEARSAL_LOG_LEVEL`` (e.g. INFO, DEBUG) shows the handlers' logs on stderr at
that level; ``REHEARSAL_TIMEOUT_SECONDS`` (default 60) bounds each scenario in real time.

The same runs are available to tests: ``run_scenario(path_or_mapping) -> list[Summary]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tools.localaws import DeployError, LocalAws, Notification, Simulation, Stack
from tools.localaws.faults import lambda_faults
from tools.localaws.inventory import TAG_RETAINED, Resource, left_behind
from tools.localaws.invoke import containers
from tools.localaws.simulation import REHEARSAL_CALLER, Created, JobRecord, Released
from tools.scenario import (
    SECONDS_TOLERANCE,
    Range,
    Scenario,
    ScenarioError,
    check_states,
    load,
    parse,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TIMEOUT_SECONDS = 60.0
STATUS_CHANGE = "Step Functions Execution Status Change"


@dataclass
class Summary:
    """The summary line of one execution (keys and meaning: scenarios/README.md)."""

    scenario: str
    mode: str
    execution: str
    status: str
    error: str | None
    cause: str | None
    states: list[str]
    transitions: int
    jobAttempts: int
    jobStatus: str
    jobs: int
    created: dict[str, int]
    leaked: list[str]
    retained: list[str]
    retainedReasons: dict[str, str] = field(default_factory=dict)
    deletedUnexported: list[str] = field(default_factory=list)
    exportTasks: int = 0
    release: str | None = None
    releaseStates: list[str] = field(default_factory=list)
    notifications: int = 0
    startSeconds: float = 0.0
    virtualSeconds: float = 0.0
    storageSeconds: float | None = None
    computeSecondsAfterJob: float | None = None
    linked: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Lustre modes: file system path -> ``{"prefix", "imported"}`` of each association the
    run created (its S3 path as a key prefix of the data bucket, the keys it imported)."""
    expectationsMet: bool = True
    failedExpectations: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(", ", ": "))


@dataclass(frozen=True)
class Observed:
    """What one execution of a rehearsal leaves to read beyond its summary line, for tools
    that measure a run (``tools.bench``): handed to ``run_scenario``'s ``observe`` while the
    local AWS still stands, once per execution, after its summary is made.

    Every time is epoch seconds on the rehearsal's virtual clock.
    """

    summary: Summary
    events: list[dict[str, Any]]
    """The execution's history (GetExecutionHistory events, oldest first)."""
    releases: list[tuple[dict[str, Any], list[dict[str, Any]]]]
    """Each release execution started for the run: its DescribeExecution answer and its
    history, oldest first."""
    simulation: Simulation
    """The rehearsal's records (``Created``, ``Released``, ``Lifecycle``, jobs, metric
    datapoints ...), shared by every execution of the scenario."""
    arns: frozenset[str]
    """The run's execution ARN and its release executions' (what the records are filtered by)."""
    jobs: list[JobRecord]
    """The Batch jobs the run submitted."""
    started: float
    """When the execution started."""
    end: float
    """When the rehearsal ended (every execution and release done)."""
    function_memory: dict[str, int] = field(default_factory=dict)
    """``MemorySize`` (MB) of every deployed Lambda function, by function name and by ARN
    (ListFunctions)."""


# --------------------------------------------------------------------------- expectations


def entries_match(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` entries ("kind:id") are exactly those ``expected``.

    An expected "kind:id" matches that entry; an expected bare kind ("ec2:snapshot")
    matches any one entry of that kind. Every actual entry must be matched, once.
    """
    remaining = list(actual)
    for entry in sorted(expected, key=lambda e: e.count(":") < 2):
        if entry.count(":") >= 2:
            if entry not in remaining:
                return False
            remaining.remove(entry)
        else:
            match = next((a for a in remaining if a.startswith(entry + ":")), None)
            if match is None:
                return False
            remaining.remove(match)
    return not remaining


def check_expectations(scenario: Scenario, summary: Summary) -> list[str]:
    """Return what ``summary`` fails of ``scenario.expect`` (empty: all met)."""
    expect = scenario.expect
    given = expect.model_fields_set
    failed: list[str] = []

    def differ(key: str, wanted: Any, got: Any) -> None:
        failed.append(f"{key}: expected {json.dumps(wanted)}, got {json.dumps(got)}")

    if expect.status is not None and summary.status != expect.status:
        differ("status", expect.status, summary.status)
    if "error" in given and summary.error != expect.error:
        differ("error", expect.error, summary.error)
    cause_texts = expect.causeContains
    for text in [cause_texts] if isinstance(cause_texts, str) else cause_texts or []:
        if text not in (summary.cause or ""):
            failed.append(f"cause: expected to contain {json.dumps(text)}")
    if expect.jobAttempts is not None and summary.jobAttempts != expect.jobAttempts:
        differ("jobAttempts", expect.jobAttempts, summary.jobAttempts)
    if expect.created is not None:
        wanted = {kind: n for kind, n in expect.created.items() if n}
        if summary.created != wanted:
            differ("created", wanted, summary.created)
    for key in ("leaked", "retained", "deletedUnexported"):
        wanted_entries = getattr(expect, key)
        if wanted_entries is not None and not entries_match(wanted_entries, getattr(summary, key)):
            differ(key, wanted_entries, getattr(summary, key))
    if expect.jobStatus is not None and summary.jobStatus != expect.jobStatus:
        differ("jobStatus", expect.jobStatus, summary.jobStatus)
    if expect.jobs is not None and summary.jobs != expect.jobs:
        differ("jobs", expect.jobs, summary.jobs)
    if expect.exportTasks is not None and summary.exportTasks != expect.exportTasks:
        differ("exportTasks", expect.exportTasks, summary.exportTasks)
    if "release" in given and summary.release != expect.release:
        differ("release", expect.release, summary.release)
    if expect.notifications is not None and summary.notifications != expect.notifications:
        differ("notifications", expect.notifications, summary.notifications)
    reason_texts = expect.retainedReasonContains
    reasons = list(summary.retainedReasons.values())
    for text in [reason_texts] if isinstance(reason_texts, str) else reason_texts or []:
        if not any(text in reason for reason in reasons):
            failed.append(
                f"retainedReasons: expected one to contain {json.dumps(text)}, got "
                f"{json.dumps(reasons)}"
            )
    if expect.linked is not None:
        name = summary.execution
        wanted_links = {
            path: {
                "prefix": link.prefix.replace("{execution}", name),
                "imported": sorted(key.replace("{execution}", name) for key in link.imported),
            }
            for path, link in expect.linked.items()
        }
        if summary.linked != wanted_links:
            differ("linked", wanted_links, summary.linked)
    for key in ("virtualSeconds", "storageSeconds", "computeSecondsAfterJob"):
        wanted_seconds = getattr(expect, key)
        if wanted_seconds is not None and not seconds_match(wanted_seconds, getattr(summary, key)):
            shown = (
                wanted_seconds.model_dump(exclude_none=True)
                if isinstance(wanted_seconds, Range)
                else wanted_seconds
            )
            differ(key, shown, getattr(summary, key))
    return failed


def seconds_match(wanted: float | Range, got: float | None) -> bool:
    """Whether a summary's seconds meet an expectation: within ``SECONDS_TOLERANCE`` of an
    exact figure, or inside a range; ``None`` (nothing to measure) meets neither."""
    if got is None:
        return False
    if isinstance(wanted, Range):
        return (wanted.min is None or got >= wanted.min - SECONDS_TOLERANCE) and (
            wanted.max is None or got <= wanted.max + SECONDS_TOLERANCE
        )
    return abs(got - wanted) <= SECONDS_TOLERANCE


# --------------------------------------------------------------------------- trace


def _short(text: str | None, limit: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _failure_text(details: dict[str, Any]) -> str:
    error, cause = details.get("error"), details.get("cause") or ""
    try:
        parsed = json.loads(cause)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        cause = parsed["errorMessage"]
    elif isinstance(parsed, dict) and "Status" in parsed:
        attempts = parsed.get("Attempts") or []
        reason = (attempts[-1] if attempts else parsed).get("StatusReason", "")
        summary = (parsed.get("ArrayProperties") or {}).get("StatusSummary")
        if isinstance(summary, dict) and summary:
            counts = ", ".join(f"{n} {status}" for status, n in summary.items() if n)
            cause = f"array job {parsed['Status']} ({counts}): {reason}"
        else:
            cause = f"job {parsed['Status']} after {len(attempts)} attempt(s): {reason}"
    return f"{error}: {_short(cause)}" if cause else str(error)


@dataclass
class History:
    """What an execution's event history says: path, transitions, and a readable trace."""

    states: list[str]
    transitions: int
    lines: list[str]
    job_id: str | None


def _since(start: float | None, events: list[dict[str, Any]], event: dict[str, Any]) -> str:
    """When ``event`` happened, as virtual seconds after ``start`` (epoch seconds; ``None``:
    the execution's own start): ``+3600.0s``."""
    stamp: Any = event.get("timestamp")
    if start is not None and hasattr(stamp, "timestamp"):
        return f"+{float(stamp.timestamp()) - start:.1f}s"
    return f"+{_seconds(events[0].get('timestamp'), stamp):.1f}s"


def _entered_event(by_id: dict[Any, dict[str, Any]], event: dict[str, Any]) -> Any:
    """The id of the StateEntered event ``event`` descends from (following
    ``previousEventId``), or None."""
    seen = 0
    current = by_id.get(event.get("previousEventId"))
    while current is not None and seen < 1000:
        if current["type"].endswith("StateEntered"):
            return current.get("id")
        current = by_id.get(current.get("previousEventId"))
        seen += 1
    return None


def read_history(events: list[dict[str, Any]], start: float | None = None) -> History:
    """Read an execution's history (GetExecutionHistory events, oldest first); the
    ``=> STATUS at +…s`` line counts from ``start`` (virtual epoch seconds; default: the
    execution's own start)."""
    states: list[str] = []
    lines: list[str] = []
    transitions = 0
    job_id: str | None = None
    # A retry is a task scheduled after its own failure, not after its state's entry. The
    # previousEventId chain tells them apart even where Parallel branches interleave.
    by_id = {event.get("id"): event for event in events}
    line_of: dict[Any, int] = {}
    retries: dict[Any, int] = {}
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            states.append(name)
            transitions += 1
            lines.append(f"  {name}")
            line_of[event.get("id")] = len(lines) - 1
        elif kind in ("TaskScheduled", "LambdaFunctionScheduled"):
            entered = _entered_event(by_id, event)
            previous = by_id.get(event.get("previousEventId"))
            if entered is not None and previous is not None and previous.get("id") != entered:
                transitions += 1
                retries[entered] = retries.get(entered, 0) + 1
                index = line_of[entered]
                lines[index] = lines[index].split("  (retry")[0] + f"  (retry {retries[entered]})"
        elif kind == "TaskSubmitted":
            output = json.loads(event["taskSubmittedEventDetails"].get("output") or "{}")
            job_id = output.get("JobId", job_id)
        elif kind in ("TaskFailed", "LambdaFunctionFailed", "TaskTimedOut"):
            details = next(v for k, v in event.items() if k.endswith("EventDetails"))
            lines.append(f"      ! {_failure_text(details)}")
        elif kind == "ExecutionFailed":
            details = event.get("executionFailedEventDetails", {})
            when = _since(start, events, event)
            lines.append(f"  => FAILED at {when} {_failure_text(details)}")
        elif kind == "ExecutionAborted":
            lines.append(f"  => ABORTED at {_since(start, events, event)} (StopExecution)")
        elif kind == "ExecutionTimedOut":
            lines.append(f"  => TIMED_OUT at {_since(start, events, event)}")
        elif kind == "ExecutionSucceeded":
            lines.append(f"  => SUCCEEDED at {_since(start, events, event)}")
    return History(states, transitions, lines, job_id)


def compact(lines: list[str]) -> list[str]:
    """Fold polling loops: a run of states repeated back to back prints once, with a count."""
    out: list[str] = []
    index = 0
    while index < len(lines):
        best: tuple[int, int] | None = None
        for period in (1, 2, 3, 4):
            block = lines[index : index + period]
            if len(block) < period or any(
                not line.startswith("  ") or line.startswith(("  =>", "      ")) for line in block
            ):
                continue
            repeats = 1
            while lines[index + repeats * period : index + (repeats + 1) * period] == block:
                repeats += 1
            if repeats >= 2 and (best is None or repeats * period > best[0] * best[1]):
                best = (period, repeats)
        if best is None:
            out.append(lines[index])
            index += 1
            continue
        period, repeats = best
        loop = " -> ".join(line.strip() for line in lines[index : index + period])
        out.append(f"  {loop}  (x{repeats})")
        index += period * repeats
    return out


# --------------------------------------------------------------------------- running


class SettingsError(ValueError):
    """An environment variable of the rehearsal has a value it cannot use."""


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def log_level() -> str | None:
    """``REHEARSAL_LOG_LEVEL`` (None when unset or empty)."""
    value = os.environ.get("REHEARSAL_LOG_LEVEL", "").strip()
    if not value:
        return None
    if value.upper() not in LOG_LEVELS:
        raise SettingsError(
            f"REHEARSAL_LOG_LEVEL = {value!r}: not a log level (one of {', '.join(LOG_LEVELS)})"
        )
    return value.upper()


def timeout_seconds() -> float:
    """``REHEARSAL_TIMEOUT_SECONDS``: the real-time limit per scenario, a positive number."""
    value = os.environ.get("REHEARSAL_TIMEOUT_SECONDS", "").strip()
    if not value:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not math.isfinite(seconds) or seconds <= 0:
        raise SettingsError(
            f"REHEARSAL_TIMEOUT_SECONDS = {value!r}: must be a positive number of seconds"
        )
    return seconds


def _simulation(scenario: Scenario) -> Simulation:
    return Simulation(behaviour=scenario.aws, log_level=log_level() or "WARNING")


def _merge_secret(aws: LocalAws, stack: Stack, values: dict[str, Any]) -> None:
    """Set the scenario's ``secret`` keys in the stack's secret, ``${DataBucketName}`` written
    as the stack's data bucket (as in the execution input)."""
    text = json.dumps(values).replace(
        DATA_BUCKET_PLACEHOLDER, stack.outputs.get("DataBucketName", "")
    )
    aws.merge_secret(stack, json.loads(text))


def prepare(aws: LocalAws, sim: Simulation, scenario: Scenario) -> Stack:
    """Deploy the scenario's stack and set the stage its executions play on: its ``secret``
    keys, the ``abortAfter`` stop, the bucket's objects; then every call the set-up makes is
    the rehearsal's own (``REHEARSAL_CALLER``). Returns the deployed stack."""
    stack = aws.deploy(scenario.mode)
    if scenario.secret:
        _merge_secret(aws, stack, scenario.secret)
    if scenario.aws.abortAfter:
        sim.state_listeners.append(_Aborter(aws, scenario.aws.abortAfter, stack.state_machine_arn))
    sim.enter_function(REHEARSAL_CALLER)
    _fill_bucket(aws, stack, scenario.aws.bucket.objects)
    return stack


def state_machine_of(execution_arn: str) -> str:
    """The ARN of the state machine an execution ARN belongs to:
    ``arn:aws:states:<region>:<account>:execution:<machine>:<name>`` ->
    ``arn:aws:states:<region>:<account>:stateMachine:<machine>`` (Step Functions Developer
    Guide, "Amazon Resource Names for Step Functions"); ``""`` for any other text."""
    parts = execution_arn.split(":")
    if len(parts) < 8 or parts[5] != "execution":
        return ""
    return ":".join([*parts[:5], "stateMachine", parts[6]])


class _Aborter:
    """Stops an execution of the run state machine (``machine_arn``) the moment it enters
    the scenario's ``abortAfter`` state (another state machine's executions, e.g. the
    release's, are never stopped)."""

    def __init__(self, aws: LocalAws, state: str, machine_arn: str) -> None:
        self.aws = aws
        self.state = state
        self.machine_arn = machine_arn
        self.stopped: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, execution_arn: str, state_name: str) -> None:
        if state_name != self.state or state_machine_of(execution_arn) != self.machine_arn:
            return
        with self._lock:
            if execution_arn in self.stopped:
                return
            self.stopped.add(execution_arn)
        self.aws.client("stepfunctions").stop_execution(executionArn=execution_arn)


@dataclass(frozen=True)
class Planned:
    """An execution the scenario starts: its name, input and start (virtual seconds after
    the first)."""

    name: str
    input: Any
    start_at: float


DATA_BUCKET_PLACEHOLDER = "${DataBucketName}"
"""Stands for the stack's data bucket in an execution input (scenarios/README.md)."""


def plan_executions(scenario: Scenario) -> list[Planned]:
    """The executions of a scenario, in start order (names: ``Scenario.execution_names``)."""
    names = scenario.execution_names()
    if scenario.executions:
        planned = [
            Planned(
                name,
                scenario.input if execution.input is None else execution.input,
                execution.startAt,
            )
            for name, execution in zip(names, scenario.executions, strict=True)
        ]
        return sorted(planned, key=lambda item: item.start_at)
    return [Planned(name, scenario.input, 0.0) for name in names]


@dataclass
class Started:
    """An execution the rehearsal started: its plan, ARN and virtual start time."""

    planned: Planned
    arn: str
    at: float
    announced: bool = False


class _Driver:
    """Starts a scenario's executions at their virtual times, stops them at ``abortAt``,
    announces each end on the default bus as soon as it happens (so what the EventBridge
    rule invokes runs then), and waits for the executions of the stack's other state
    machines (the release's) too."""

    def __init__(self, aws: LocalAws, sim: Simulation, stack: Stack, scenario: Scenario) -> None:
        self.aws = aws
        self.sim = sim
        self.stack = stack
        self.scenario = scenario
        self.started: list[Started] = []
        self.pending: list[Planned] = []
        self.first = 0.0
        """Virtual time the first execution was due to start (``startAt`` counts from it)."""
        self._lock = threading.Lock()

    def start_all(self) -> None:
        plans = plan_executions(self.scenario)
        self.sim.clock.align()
        first = self.first = self.sim.clock.now()
        for planned in plans:
            if planned.start_at <= 0:
                self._start(planned)
            else:
                self.pending.append(planned)
                self.sim.clock.schedule(first + planned.start_at, self._starter(planned))

    def _starter(self, planned: Planned) -> Any:
        def start() -> None:
            with self._lock:
                if planned not in self.pending:
                    return
                self.pending.remove(planned)
            self._start(planned)

        return start

    def _start(self, planned: Planned) -> None:
        previous = self.sim.enter_function(REHEARSAL_CALLER)
        try:
            self._start_execution(planned)
        finally:
            self.sim.enter_function(previous)

    def _start_execution(self, planned: Planned) -> None:
        at = self.sim.clock.now()
        # The data bucket's name is the stack's: a scenario writes it as ${DataBucketName}.
        text = json.dumps(planned.input).replace(
            DATA_BUCKET_PLACEHOLDER, self.stack.outputs.get("DataBucketName", "")
        )
        arn = self.aws.client("stepfunctions").start_execution(
            stateMachineArn=self.stack.state_machine_arn, name=planned.name, input=text
        )["executionArn"]
        with self._lock:
            self.started.append(Started(planned, arn, at))
        abort_at = self.scenario.aws.abortAt
        if abort_at is not None:
            self.sim.clock.schedule(at + abort_at, self._stopper(arn))

    def _stopper(self, arn: str) -> Any:
        def stop() -> None:
            previous = self.sim.enter_function(REHEARSAL_CALLER)
            try:
                sfn = self.aws.client("stepfunctions")
                if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                    sfn.stop_execution(executionArn=arn)
            finally:
                self.sim.enter_function(previous)

        return stop

    def wait(self, deadline: float) -> list[str]:
        """Run until every execution started and ended, its end announced, and every
        execution of the stack's other state machines (a release started from a run's Catch
        or by its announced end, perhaps later on the virtual clock) ended too. At
        ``deadline`` (real time, ``time.monotonic``) stop what still runs, and return the
        ARNs of the executions stopped (the runs', then the others')."""
        sfn = self.aws.client("stepfunctions")
        while time.monotonic() < deadline:
            with self._lock:
                started = list(self.started)
                pending = list(self.pending)
            running = False
            for execution in started:
                if execution.announced:
                    continue
                description = sfn.describe_execution(executionArn=execution.arn)
                if description["status"] == "RUNNING":
                    running = True
                    continue
                execution.announced = True
                _announce(self.aws, description)
            # After the announcements: what they started is listed now.
            running = running or bool(self.running_elsewhere())
            if not running and not pending:
                return []
            if not running:
                # Nothing runs to move time on until the next start: skip to it.
                self.sim.clock.advance(max(0.0, min(self._start_times()) - self.sim.clock.now()))
            self.sim.clock.run_due()
            time.sleep(0.02)
        unfinished = [e for e in self.started if not e.announced]
        for execution in unfinished:
            sfn.stop_execution(executionArn=execution.arn, error="Rehearsal.Timeout")
        self._until_ended([e.arn for e in unfinished])
        for execution in unfinished:
            execution.announced = True
            _announce(self.aws, sfn.describe_execution(executionArn=execution.arn))
        # Releases still running, and those the announcements just started.
        others = self.running_elsewhere()
        for arn in others:
            sfn.stop_execution(executionArn=arn, error="Rehearsal.Timeout")
        self._until_ended(others)
        return [execution.arn for execution in unfinished] + others

    def _until_ended(self, arns: list[str], seconds: float = 5.0) -> None:
        """Wait (real time, at most ``seconds``) until none of ``arns`` is RUNNING."""
        sfn = self.aws.client("stepfunctions")
        end = time.monotonic() + seconds
        while time.monotonic() < end and any(
            sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" for arn in arns
        ):
            time.sleep(0.01)

    def running_elsewhere(self) -> list[str]:
        """The RUNNING executions of the stack's state machines other than the run's."""
        sfn = self.aws.client("stepfunctions")
        running: list[str] = []
        for machine in other_state_machines(self.stack):
            for listed in _executions(self.aws, machine):
                if listed["status"] != "RUNNING":
                    continue
                # The listing may lag; DescribeExecution says how the execution stands now.
                arn = listed["executionArn"]
                if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                    running.append(arn)
        return running

    def _start_times(self) -> list[float]:
        with self._lock:
            return [self.first + planned.start_at for planned in self.pending] or [
                self.sim.clock.now()
            ]


def _millis(value: Any) -> int | None:
    return int(value.timestamp() * 1000) if hasattr(value, "timestamp") else None


def _announce(aws: LocalAws, description: dict[str, Any]) -> None:
    """Put the execution's status change on the default bus, as Step Functions does."""
    detail = {
        "executionArn": description["executionArn"],
        "stateMachineArn": description["stateMachineArn"],
        "name": description["name"],
        "status": description["status"],
        "startDate": _millis(description.get("startDate")),
        "stopDate": _millis(description.get("stopDate")),
        "input": description.get("input"),
        "output": description.get("output"),
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if description.get("output") else None,
        "error": description.get("error"),
        "cause": description.get("cause"),
    }
    aws.client("events").put_events(
        Entries=[
            {
                "Source": "aws.states",
                "DetailType": STATUS_CHANGE,
                "Detail": json.dumps(detail),
                "Resources": [description["executionArn"]],
            }
        ]
    )


def _history(aws: LocalAws, arn: str) -> list[dict[str, Any]]:
    sfn = aws.client("stepfunctions")
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def _executions(aws: LocalAws, machine_arn: str) -> list[dict[str, Any]]:
    """Every execution of a state machine (ListExecutions items), newest first."""
    sfn = aws.client("stepfunctions")
    found: list[dict[str, Any]] = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine_arn):
        found.extend(page["executions"])
    return found


def other_state_machines(stack: Stack) -> list[str]:
    """The ARNs of the stack's state machines other than the run's (the release's)."""
    run = stack.state_machine_arn
    return [arn for arn in stack.state_machine_arns.values() if arn != run]


# --------------------------------------------------------------------------- releases


def _release_run(description: dict[str, Any]) -> str | None:
    """The run execution ARN a release execution's input names (``$.run.executionArn``)."""
    try:
        data = json.loads(description.get("input") or "{}")
    except ValueError:
        return None
    run = data.get("run") if isinstance(data, dict) else None
    arn = run.get("executionArn") if isinstance(run, dict) else None
    return arn if isinstance(arn, str) else None


RELEASE_NAME_PREFIX = 64
"""A later release of a run is named ``<run id[:64]>-<stamp>`` (the first: the run id), so
that the name stays within Step Functions' 80 characters."""


def is_release_of(description: dict[str, Any], run_arn: str) -> bool:
    """Whether a release execution (a DescribeExecution answer) releases the run
    ``run_arn``: its name is the run id (the run execution's name) or ``<run id[:64]>-…``,
    and its input's ``run.executionArn`` is ``run_arn``."""
    run_id = run_arn.rsplit(":", 1)[-1]
    name = str(description.get("name") or "")
    named = name == run_id or name.startswith(run_id[:RELEASE_NAME_PREFIX] + "-")
    return named and _release_run(description) == run_arn


def releases_of(
    aws: LocalAws, stack: Stack, run_arns: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """The release executions started for each run (run ARN -> DescribeExecution answers,
    oldest first); a run without any maps to ``[]``."""
    found: dict[str, list[dict[str, Any]]] = {arn: [] for arn in run_arns}
    machine = stack.release_state_machine_arn
    if machine is None:
        return found
    sfn = aws.client("stepfunctions")
    for listed in reversed(_executions(aws, machine)):
        description = sfn.describe_execution(executionArn=listed["executionArn"])
        run = _release_run(description)
        if run in found and is_release_of(description, run):
            found[run].append(description)
    return found


def names_run(notification: Notification, run_arn: str) -> bool:
    """Whether an SNS message names the run ``run_arn``: its message, subject or an
    attribute value holds the run id (the execution's name) as a whole word (not inside a
    longer name: ``run-1`` is not named by ``run-12``), or the execution ARN (which ends
    with it)."""
    run_id = run_arn.rsplit(":", 1)[-1]
    word = re.compile(rf"(?<![A-Za-z0-9_.-]){re.escape(run_id)}(?![A-Za-z0-9_-])")
    return any(word.search(text) for text in notification.texts)


# --------------------------------------------------------------------------- figures

STORAGE_KINDS = ("fsx:file-system", "ec2:volume")
"""The resource kinds that are a run's scratch storage (what ``storageSeconds`` measures)."""
COMPUTE_ENVIRONMENT = "batch:compute-environment"
EXPORT_TASK = "fsx:data-repository-task"


def created_by(sim: Simulation, arns: AbstractSet[str]) -> dict[str, set[str]]:
    """``{kind: {id, ...}}`` of the resources created for any of ``arns`` (a run's execution
    and its release executions)."""
    result: dict[str, set[str]] = {}
    for arn in arns:
        for kind, ids in sim.created_by(arn).items():
            result.setdefault(kind, set()).update(ids)
    return result


def _first_created(
    sim: Simulation, arns: AbstractSet[str], kinds: tuple[str, ...]
) -> dict[str, Created]:
    """The first Create record of each resource of ``kinds`` made for ``arns``, by entry."""
    found: dict[str, Created] = {}
    for item in sim.created:
        if item.execution_arn in arns and item.kind in kinds:
            found.setdefault(f"{item.kind}:{item.resource_id}", item)
    return found


def _first_released(sim: Simulation, kinds: tuple[str, ...]) -> dict[str, Released]:
    found: dict[str, Released] = {}
    for item in sim.released:
        if item.kind in kinds:
            found.setdefault(f"{item.kind}:{item.resource_id}", item)
    return found


def storage_seconds(sim: Simulation, arns: AbstractSet[str], end: float) -> float | None:
    """Virtual seconds the run's storage existed: from its create call to the first delete
    AWS accepted (to ``end`` for storage never deleted); summed over the run's storage,
    ``None`` when it made none. ``arns``: the run's execution and its release executions."""
    created = _first_created(sim, arns, STORAGE_KINDS)
    if not created:
        return None
    released = _first_released(sim, STORAGE_KINDS)
    return round(
        sum(
            (released[entry].at if entry in released else end) - item.at
            for entry, item in created.items()
        ),
        1,
    )


def compute_seconds_after_job(
    sim: Simulation, arns: AbstractSet[str], job: JobRecord | None, end: float
) -> float | None:
    """Virtual seconds from the job's end to the first accepted DeleteComputeEnvironment of
    the run's compute environment (to ``end`` if never deleted); ``None`` without an ended
    job or a compute environment. ``arns``: the run's execution and its releases'."""
    created = _first_created(sim, arns, (COMPUTE_ENVIRONMENT,))
    if job is None or job.ended_at is None or not created:
        return None
    released = _first_released(sim, (COMPUTE_ENVIRONMENT,))
    deleted = min((released[e].at if e in released else end) for e in created)
    return round(max(0.0, deleted - job.ended_at), 1)


def _attempt_ran(jobs: list[JobRecord]) -> bool:
    """Whether an attempt of the run's job ran (an array job's ``attempts`` are its
    children's)."""
    return any(job.attempts for job in jobs)


def _job_end(jobs: list[JobRecord]) -> float | None:
    """When the run's last job ended (virtual epoch seconds); ``None`` while one runs."""
    ends = [job.ended_at for job in jobs]
    if not ends or any(end is None for end in ends):
        return None
    return max(end for end in ends if end is not None)


def _drained(events: list[dict[str, Any]]) -> bool:
    """Whether the run's last drain check found auto-export's queue drained (AutoExport)."""
    results = _drain_results(events)
    return bool(results and results[-1].get("drained"))


def deleted_unexported(
    sim: Simulation,
    arns: AbstractSet[str],
    jobs: list[JobRecord],
    resources: list[Resource],
    drained: bool = False,
) -> list[str]:
    """The run's storage that AWS deleted though a job attempt had run on it and nothing
    saved what it held: a file system with no export task that started after the job ended
    and SUCCEEDED with 0 failed files by then (unless auto-export, still on, had drained:
    ``drained``); a volume of a job that did not succeed, with no snapshot of the run left.
    ``arns``: the run's execution and its release executions. Entries ``"kind:id"``."""
    if not _attempt_ran(jobs):
        return []
    job_end = _job_end(jobs)
    task_created = {c.resource_id: c.at for c in sim.created if c.kind == EXPORT_TASK}
    unexported = [
        f"fsx:file-system:{deletion.file_system_id}"
        for deletion in sim.deletions
        if deletion.execution_arn in arns
        and not (deletion.auto_export and drained and job_end is not None)
        and not any(
            lifecycle == "SUCCEEDED"
            and not failed
            and job_end is not None
            and task_created.get(task_id, job_end) >= job_end
            for task_id, lifecycle, failed in deletion.exports
        )
    ]
    succeeded = any(job.status == "SUCCEEDED" for job in jobs)
    snapshots = created_by(sim, arns).get("ec2:snapshot", set())
    kept_snapshot = any(r.kind == "ec2:snapshot" and r.resource_id in snapshots for r in resources)
    volumes = _first_created(sim, arns, ("ec2:volume",))
    released = _first_released(sim, ("ec2:volume",))
    if not succeeded and not kept_snapshot:
        unexported += [entry for entry in volumes if entry in released]
    return sorted(set(unexported))


def _seconds(start: Any, stop: Any) -> float:
    """Seconds from ``start`` to ``stop`` (datetimes of DescribeExecution; 0 if missing)."""
    if hasattr(start, "timestamp") and hasattr(stop, "timestamp"):
        return round(float(stop.timestamp()) - float(start.timestamp()), 1)
    return 0.0


def _job_status(jobs: list[JobRecord]) -> str:
    return jobs[-1].status if jobs else "NONE"


def _job_attempts(jobs: list[JobRecord]) -> int:
    """The attempts of the run's last job that ran (an array job's: all its children's)."""
    return len(jobs[-1].attempts) if jobs else 0


def unplayed(sim: Simulation, scenario: Scenario) -> list[str]:
    """What the scenario scripted that never happened, once every execution ended: a Lambda
    fault of an invocation that never came, a call window past the calls made, an array
    child the job never had. Such a file tests less than it says, so each is reported as an
    expectation not met."""
    found: list[str] = []
    played = {(fault.function, fault.number) for fault in lambda_faults(sim)}
    made = {name: container.invocations for name, container in containers(sim).items()}
    for function, plan in scenario.aws.functions.items():
        for kind in ("timeout", "duplicate", "lostResponse"):
            missed = [n for n in getattr(plan, kind) if (function, n) not in played]
            if missed:
                found.append(
                    f"aws.lambda.{function}.{kind} {missed}: never played ({function} was "
                    f"invoked {made.get(function, 0)} time(s))"
                )
    for key_name in ("throttle", "errors"):
        for operation in getattr(scenario.aws, key_name):
            windows = (
                scenario.aws.throttle_windows(operation)
                if key_name == "throttle"
                else scenario.aws.error_windows(operation)
            )
            for window in windows:
                calls = sim.calls_of(operation, window.function)
                if calls < window.from_:
                    who = f" by {window.function}" if window.function else ""
                    found.append(
                        f"aws.{key_name}.{operation}: call {window.from_} never made{who} "
                        f"(only {calls})"
                    )
    children = scenario.aws.job.children
    if children:
        size = max((len(job.children) for job in sim.jobs.values()), default=0)
        missing = sorted(index for index in children if index >= size)
        if missing:
            found.append(
                f"aws.job.children {missing}: the run's job had no such child (array size {size})"
            )
    return found


# --------------------------------------------------------------------------- running


def _run(
    scenario: Scenario,
    root: Path,
    out: TextIO | None,
    echo: TextIO | None,
    quiet: bool = False,
    observe: Callable[[Observed], None] | None = None,
) -> list[Summary]:
    sim = _simulation(scenario)
    timeout = timeout_seconds()

    def say(text: str) -> None:
        if out is not None:
            out.write(text + "\n")
            out.flush()

    trace = (lambda text: None) if quiet else say

    with LocalAws(root, sim, echo=echo) as aws:
        stack = prepare(aws, sim, scenario)
        driver = _Driver(aws, sim, stack, scenario)
        driver.start_all()
        unfinished = driver.wait(time.monotonic() + timeout)
        end = sim.clock.now()
        resources = aws.inventory()
        releases = releases_of(aws, stack, [e.arn for e in driver.started])
        topics = set(stack.topic_arns)
        notifications = [n for n in aws.notifications if n.topic_arn in topics]

        summaries = [
            summarize(
                Context(aws, sim, stack, scenario, resources, notifications, releases, end),
                execution,
                driver.first,
                unfinished,
                trace,
                say,
                observe,
                first_execution=execution is driver.started[0],
            )
            for execution in driver.started
        ]
        return summaries


@dataclass(frozen=True)
class Context:
    """What every execution's summary of one rehearsal reads: the local AWS and its records,
    the deployed stack, the scenario, and what was listed once the executions ended."""

    aws: LocalAws
    sim: Simulation
    stack: Stack
    scenario: Scenario
    resources: list[Resource]
    """Every per-run resource that exists (``LocalAws.inventory``)."""
    notifications: list[Notification]
    """The messages SNS accepted on the stack's topics."""
    releases: dict[str, list[dict[str, Any]]]
    """Each run's release executions (``releases_of``), by the run's execution ARN."""
    end: float
    """When the rehearsal ended (virtual epoch seconds)."""


def summarize(
    context: Context,
    execution: Started,
    first: float,
    unfinished: list[str],
    trace: Callable[[str], None],
    say: Callable[[str], None],
    observe: Callable[[Observed], None] | None = None,
    *,
    first_execution: bool = True,
) -> Summary:
    """Return the summary of one ended execution (and its releases), printing its trace
    with ``trace`` and its summary line with ``say``, and handing ``observe`` its records.

    Args:
        context: the rehearsal's local AWS, records and listings.
        execution: the execution; ``first``: when the scenario's first was due (virtual s).
        unfinished: executions stopped at the real-time limit (their summaries say so).
        first_execution: whether to trace the scenario's throttling totals with this one.
    """
    aws, sim, scenario = context.aws, context.sim, context.scenario
    resources, end, name = context.resources, context.end, scenario.name or "scenario"
    timeout = timeout_seconds()
    sfn = aws.client("stepfunctions")
    never = unplayed(sim, scenario)
    releases = context.releases
    notifications = context.notifications
    arn = execution.arn
    description = sfn.describe_execution(executionArn=arn)
    events = _history(aws, arn)
    history = read_history(events)
    started = _started_at(events, execution.at)
    release_events = [
        (release, _history(aws, release["executionArn"])) for release in releases[arn]
    ]
    released = [
        (release, read_history(release_history, started))
        for release, release_history in release_events
    ]
    arns = frozenset({arn, *(release["executionArn"] for release, _ in released)})
    mine = [n for n in notifications if names_run(n, arn)]
    jobs = sim.jobs_of(arn)
    made = created_by(sim, arns)
    leaked, retained = left_behind(resources, arn, made)
    reasons = {
        r.entry: r.tags[TAG_RETAINED]
        for r in resources
        if r.entry in retained and TAG_RETAINED in r.tags
    }
    created = {kind: len(ids) for kind, ids in sorted(made.items())}
    status = description["status"]
    summary = Summary(
        scenario=name,
        mode=scenario.mode,
        execution=description["name"],
        status=status,
        error=description.get("error") if status != "SUCCEEDED" else None,
        cause=description.get("cause") if status != "SUCCEEDED" else None,
        states=history.states,
        transitions=history.transitions,
        jobAttempts=_job_attempts(jobs),
        jobStatus=_job_status(jobs),
        jobs=len(jobs),
        created=created,
        leaked=leaked,
        retained=retained,
        retainedReasons=reasons,
        deletedUnexported=deleted_unexported(sim, arns, jobs, resources, drained=_drained(events)),
        exportTasks=created.get(EXPORT_TASK, 0),
        release=released[-1][0]["status"] if released else None,
        releaseStates=[state for _, history in released for state in history.states],
        notifications=len(mine),
        startSeconds=round(execution.at - first, 1),
        virtualSeconds=_seconds(
            events[0].get("timestamp") if events else None,
            events[-1].get("timestamp") if events else None,
        ),
        storageSeconds=storage_seconds(sim, arns, end),
        computeSecondsAfterJob=compute_seconds_after_job(
            sim, arns, jobs[-1] if jobs else None, end
        ),
        linked=linked_by(sim, arn),
    )
    failed = check_expectations(scenario, summary)
    failed += [f"unplayed: {item}" for item in never]
    for release, _ in reversed(released):
        if release["executionArn"] in unfinished:
            failed.insert(
                0,
                f"release execution {release['name']} still RUNNING after "
                f"{timeout:g} s of real time; stopped",
            )
    if arn in unfinished:
        failed.insert(0, f"execution still RUNNING after {timeout:g} s of real time; stopped")
    summary.failedExpectations = failed
    summary.expectationsMet = not failed

    trace(f"{name} ({scenario.mode}) execution {description['name']}")
    if sim.throttled and first_execution:
        throttled = ", ".join(f"{key} x{n}" for key, n in sorted(sim.throttled.items()))
        trace(f"  throttled: {throttled}")
    for line in compact(history.lines):
        trace(line)
    for release, release_history in released:
        _report_release(release, release_history, trace, started)
    _report_jobs(jobs, trace, started)
    _report_timeline(sim, arns, trace, started)
    _report_notifications(mine, trace, started)
    _report_metric(sim, arns, trace)
    _report_drain(events, trace)
    _report_refusals(sim, arns, trace)
    _report_deletions(sim, arns, trace)
    _report_deliveries(sim, description, trace)
    trace(f"  leaked: {', '.join(leaked) or 'nothing'}")
    trace(f"  retained: {', '.join(retained) or 'nothing'}")
    for item in failed:
        trace(f"  expectation not met: {item}")
    say(summary.to_json())
    if observe is not None:
        observe(
            Observed(
                summary=summary,
                events=events,
                releases=release_events,
                simulation=sim,
                arns=arns,
                jobs=jobs,
                started=started,
                end=end,
                function_memory=_function_memory(aws),
            )
        )
    return summary


def _function_memory(aws: LocalAws) -> dict[str, int]:
    """``MemorySize`` (MB) of every deployed function, by name and by ARN (ListFunctions)."""
    memory: dict[str, int] = {}
    for page in aws.client("lambda").get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            size = int(function.get("MemorySize") or 128)
            memory[function["FunctionName"]] = size
            memory[function["FunctionArn"]] = size
    return memory


def _started_at(events: list[dict[str, Any]], default: float) -> float:
    """The execution's start on the virtual clock: its first history event's timestamp (the
    base of every ``+…s`` in its trace, as of ``=> … at``)."""
    stamp: Any = events[0].get("timestamp") if events else None
    return float(stamp.timestamp()) if hasattr(stamp, "timestamp") else default


def _offset(at: float | None, start: float) -> str:
    """A virtual time as seconds after the execution's start: ``+3600.0s``."""
    return "?" if at is None else f"+{at - start:.1f}s"


def _report_release(description: dict[str, Any], history: History, say: Any, start: float) -> None:
    """A release execution of the run: when it started, its states (polling loops folded)
    and how it ended, indented under the run's, every time after the run's ``start``."""
    started: Any = description.get("startDate")
    when = (
        f" started at {_offset(float(started.timestamp()), start)}"
        if hasattr(started, "timestamp")
        else ""
    )
    say(f"  release {description['name']}{when}:")
    for line in compact(history.lines):
        say(f"  {line}")


def _report_notifications(notifications: list[Notification], say: Any, start: float) -> None:
    """Each SNS message naming the run, with when it was published and to which topic."""
    for notification in notifications:
        topic = notification.topic_arn.rsplit(":", 1)[-1]
        text = notification.subject or notification.message
        say(f"  {_offset(notification.at, start)} SNS Publish {topic}: {_short(text, 120)}")


def _report_timeline(sim: Simulation, arns: AbstractSet[str], say: Any, start: float) -> None:
    """When the run's storage and compute environment were created and their deletes
    accepted (what ``storageSeconds`` and ``computeSecondsAfterJob`` measure), and when a
    scripted Lambda fault struck, in order on the virtual clock."""
    kinds = (*STORAGE_KINDS, COMPUTE_ENVIRONMENT)
    created = _first_created(sim, arns, kinds)
    released = _first_released(sim, kinds)
    verbs = {
        "fsx:file-system": ("FSx CreateFileSystem", "FSx DeleteFileSystem"),
        "ec2:volume": ("EC2 CreateVolume", "EC2 DeleteVolume"),
        COMPUTE_ENVIRONMENT: (
            "Batch CreateComputeEnvironment",
            "Batch DeleteComputeEnvironment",
        ),
    }
    lines = _fault_lines(sim, arns)
    for entry, item in created.items():
        make, delete = verbs[item.kind]
        lines.append((item.at, f"{make} {item.resource_id}"))
        if entry in released:
            lines.append((released[entry].at, f"{delete} {item.resource_id} (accepted)"))
    for at, text in sorted(lines):
        say(f"  {_offset(at, start)} {text}")


_FAULT_MEANING = {
    "timeout": "timed out (Sandbox.Timedout) after the handler ran",
    "duplicate": "ran twice with the same event",
    "lostResponse": "ran, its answer lost (ServiceException)",
}


def _fault_lines(sim: Simulation, arns: AbstractSet[str]) -> list[tuple[float, str]]:
    """Each Lambda invocation fault the scenario scripted for ``arns``, as it was played."""
    return [
        (
            fault.at,
            f"Lambda {fault.function} invocation {fault.number} "
            f"{_FAULT_MEANING.get(fault.fault, fault.fault)}",
        )
        for fault in lambda_faults(sim)
        if fault.execution in arns
    ]


def _report_jobs(jobs: list[JobRecord], say: Any, start: float) -> None:
    for job in jobs:
        attempts = ", ".join(
            f"{o.status}"
            + (f" ({o.status_reason})" if o.status_reason else "")
            + (f" exit {o.exit_code}" if o.exit_code is not None else "")
            for o in job.attempts
        )
        started = job.started_at
        when = (
            f" [{_offset(started, start)} to {_offset(job.ended_at, start)}]"
            if started is not None or job.ended_at is not None
            else ""
        )
        reason = job.schedule.end_reason or job.schedule.runnable_reason
        shown = attempts or (f"({reason})" if reason else "")
        say(f"  job {job.job_id}: {job.status} after {len(job.attempts)} attempt(s){when}: {shown}")
        children = job.children
        if children:
            failed = [c for c in children if c.status == "FAILED"]
            say(
                f"    array: {len(children)} children, {len(failed)} FAILED, "
                f"{sum(len(c.attempts) for c in children)} attempts"
            )
            for child in failed:
                reasons = ", ".join(
                    f"{o.status}" + (f" ({o.status_reason})" if o.status_reason else "")
                    for o in child.attempts
                )
                say(
                    f"    child {child.job_id}: FAILED after {len(child.attempts)} "
                    f"attempt(s): {reasons}"
                )


def _runs(values: list[float]) -> str:
    """``[300, 0, 0, 0]`` -> ``"300 0 (x3)"``."""
    parts: list[str] = []
    index = 0
    while index < len(values):
        end = index
        while end + 1 < len(values) and values[end + 1] == values[index]:
            end += 1
        count = end - index + 1
        parts.append(f"{values[index]:g}" + (f" (x{count})" if count > 1 else ""))
        index = end + 1
    return " ".join(parts)


def _report_metric(sim: Simulation, arns: AbstractSet[str], say: Any) -> None:
    published: dict[str, list[float]] = {}
    for datapoint in sim.metrics:
        if datapoint.execution_arn in arns:
            published.setdefault(datapoint.file_system_id, []).append(datapoint.value)
    for file_system_id, values in published.items():
        say(
            f"  AgeOfOldestQueuedMessage {file_system_id}: {_runs(values)} "
            "(one datapoint a minute, from the first whole minute after the job ended)"
        )


def _drain_results(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``$.drain`` each CheckDrain state produced, in order."""
    results = []
    for event in events:
        details = event.get("stateExitedEventDetails") or {}
        if details.get("name") == "CheckDrain":
            try:
                drain = json.loads(details.get("output") or "{}").get("drain")
            except ValueError:
                drain = None
            if isinstance(drain, dict):
                results.append(drain)
    return results


def _report_drain(events: list[dict[str, Any]], say: Any) -> None:
    results = _drain_results(events)
    if not results:
        return
    last = results[-1]
    verdict = (
        "drained" if last.get("drained") else "timed out" if last.get("timedOut") else "waiting"
    )
    say(f"  drain checks: {len(results)}, last: {verdict} ({last.get('reason')})")


def _report_deletions(sim: Simulation, arns: AbstractSet[str], say: Any) -> None:
    for deletion in sim.deletions:
        if deletion.execution_arn not in arns:
            continue
        exports = ", ".join(
            f"{task_id} {lifecycle} ({failed} failed)"
            for task_id, lifecycle, failed in deletion.exports
        )
        auto = "on" if deletion.auto_export else "off"
        say(
            f"  FSx DeleteFileSystem {deletion.file_system_id} (auto-export {auto}): "
            + (f"after export {exports}" if exports else "no export task before")
        )


def _report_refusals(sim: Simulation, arns: AbstractSet[str], say: Any) -> None:
    for refusal in sim.refusals:
        if refusal.execution_arn in arns:
            say(
                f"  {refusal.service} refused {refusal.operation}: {refusal.code}: "
                f"{_short(refusal.message)}"
            )


def _delivered_for(event: str) -> str | None:
    """The execution ARN an EventBridge event (JSON text) is about; JSON may escape it."""
    try:
        detail = json.loads(event).get("detail") or {}
    except (ValueError, AttributeError):
        return None
    arn = detail.get("executionArn") if isinstance(detail, dict) else None
    return arn if isinstance(arn, str) else None


def _report_deliveries(sim: Simulation, description: dict[str, Any], say: Any) -> None:
    status = description["status"]
    mine = [d for d in sim.deliveries if _delivered_for(d.event) == description["executionArn"]]
    if not mine:
        if status != "SUCCEEDED":
            say(f"  EventBridge: no rule sent the {status} status change to a function")
        return
    for delivery in mine:
        function = delivery.function.rsplit(":", 1)[-1]
        outcome = "errored" if delivery.errored else "ok"
        result = _short(delivery.result, 200)
        say(
            f"  EventBridge rule {delivery.rule} -> {function}: {outcome} "
            f"after {delivery.attempts} attempt(s): {result}"
        )


def _fill_bucket(aws: LocalAws, stack: Stack, keys: list[str]) -> None:
    """Put ``keys`` (empty objects) into the stack's data bucket (``aws.bucket.objects``)."""
    s3 = aws.client("s3")
    for key in keys:
        s3.put_object(Bucket=stack.outputs["DataBucketName"], Key=key, Body=b"")


def linked_by(sim: Simulation, arn: str) -> dict[str, dict[str, Any]]:
    """The associations the run ``arn`` created: file system path -> its S3 path as a key
    prefix (``s3://bucket/`` dropped) and the keys it imported, sorted."""
    return {
        link.file_system_path: {
            "prefix": link.data_repository_path.removeprefix("s3://").partition("/")[2],
            "imported": sorted(link.imported),
        }
        for link in sim.links
        if link.execution_arn == arn
    }


def run_scenario(
    scenario: str | Path | dict[str, Any] | Scenario,
    *,
    root: str | Path | None = None,
    out: TextIO | None = None,
    echo: TextIO | None = None,
    quiet: bool = False,
    observe: Callable[[Observed], None] | None = None,
) -> list[Summary]:
    """Rehearse one scenario and return one summary per execution.

    Args:
        scenario: a scenario file, a mapping in the file's format, or a parsed ``Scenario``.
        root: the repository to rehearse (default: the one this module lives in).
        out: where the trace and summary lines are printed (default: nowhere).
        echo: where the handlers' captured output is copied (default: nowhere).
        quiet: print only the summary lines to ``out``, not the trace.
        observe: called with each execution's ``Observed`` (its history, its release
            executions' and the rehearsal's records), while the local AWS still stands.

    Raises:
        ScenarioError: the scenario breaks the format.
        SettingsError: ``REHEARSAL_TIMEOUT_SECONDS`` or ``REHEARSAL_LOG_LEVEL`` is invalid.
        DeployError: the template cannot be translated or deployed.
    """
    if isinstance(scenario, Scenario):
        parsed = scenario
    elif isinstance(scenario, dict):
        parsed = parse(scenario)
    else:
        parsed = load(scenario)
    repository = Path(root) if root else ROOT
    check_states(parsed, repository)
    return _run(parsed, repository, out, echo, quiet=quiet, observe=observe)


@dataclass
class Tally:
    """The closing line of a run of many scenarios: how many met their expectations."""

    scenarios: int = 0
    executions: int = 0
    met: int = 0
    notMet: list[str] = field(default_factory=list)

    def add(self, name: str, summaries: list[Summary]) -> None:
        self.scenarios += 1
        self.executions += len(summaries)
        if summaries and all(summary.expectationsMet for summary in summaries):
            self.met += 1
        else:
            self.notMet.append(name)

    def to_json(self) -> str:
        return json.dumps({"tally": asdict(self)}, separators=(", ", ": "))


def argument_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m tools.rehearse``: scenario files, ``--quiet``,
    ``--serve`` and ``--port`` (what ``main`` parses; the README's commands are checked against
    it without running them)."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.rehearse",
        description="Rehearse the workflow on a local AWS: one summary line per execution, "
        "then a tally line.",
    )
    parser.add_argument("files", nargs="+", type=Path, help="scenario files (YAML or JSON)")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print only the summary and tally lines"
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="serve the scenario's stack over HTTP until stopped, instead of rehearsing its "
        "executions (one scenario file; see docs/rehearsal.md, 'The local server')",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="with --serve: the port to listen on at 127.0.0.1 (default: any free port)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser()
    args = parser.parse_args(argv)
    if args.serve and len(args.files) != 1:
        parser.error("--serve takes one scenario file")
    try:
        timeout_seconds()
        log_level()
    except SettingsError as error:
        print(f"rehearse: {error}", file=sys.stderr)
        return 2
    try:
        scenarios = [load(path) for path in args.files]
        for path, scenario in zip(args.files, scenarios, strict=True):
            check_states(scenario, ROOT, str(path))
    except ScenarioError as error:
        print(f"rehearse: {error}", file=sys.stderr)
        return 2
    if args.serve:
        from tools.serve import serve  # noqa: PLC0415 - imports this module

        try:
            serve(scenarios[0], ROOT, sys.stdout, port=args.port)
        except DeployError as error:
            print(f"rehearse: {scenarios[0].name}: {error}", file=sys.stderr)
            return 2
        return 0
    echo = sys.stderr if log_level() else None
    tally = Tally()
    for scenario in scenarios:
        try:
            summaries = _run(scenario, ROOT, sys.stdout, echo, quiet=args.quiet)
        except DeployError as error:
            print(f"rehearse: {scenario.name}: {error}", file=sys.stderr)
            return 2
        tally.add(scenario.name or "scenario", summaries)
    print(tally.to_json())
    return 0 if not tally.notMet else 1


if __name__ == "__main__":
    sys.exit(main())
