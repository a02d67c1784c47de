"""Rehearse the workflow locally: ``python -m tools.rehearse FILE [FILE ...]``.

For each scenario file (format: scenarios/README.md) the rehearsal deploys template.yaml for
the scenario's mode into a fresh local AWS (``tools.localaws``), runs the real state machine
with the real handlers, lets EventBridge deliver the execution's status change (so the reaper
runs after an abort or failure, as in AWS), then prints the path of states taken and one JSON
summary line per execution. The exit status is 0 only if every scenario met every
expectation (1 otherwise, 2 for a scenario that cannot be read or deployed, or an invalid
environment variable).

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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tools.localaws import DeployError, LocalAws, Simulation, Stack
from tools.scenario import Scenario, ScenarioError, check_states, load, parse

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TIMEOUT_SECONDS = 60.0
STATUS_CHANGE = "Step Functions Execution Status Change"


@dataclass
class Summary:
    """The summary line of one execution (keys and meaning: scenarios/README.md)."""

    scenario: str
    mode: str
    status: str
    error: str | None
    cause: str | None
    states: list[str]
    transitions: int
    jobAttempts: int
    created: dict[str, int]
    leaked: list[str]
    retained: list[str]
    expectationsMet: bool = True
    failedExpectations: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(", ", ": "))


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
    for key in ("leaked", "retained"):
        wanted_entries = getattr(expect, key)
        if wanted_entries is not None and not entries_match(wanted_entries, getattr(summary, key)):
            differ(key, wanted_entries, getattr(summary, key))
    return failed


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
        cause = f"job {parsed['Status']} after {len(attempts)} attempt(s): {reason}"
    return f"{error}: {_short(cause)}" if cause else str(error)


@dataclass
class History:
    """What an execution's event history says: path, transitions, and a readable trace."""

    states: list[str]
    transitions: int
    lines: list[str]
    job_id: str | None


def read_history(events: list[dict[str, Any]]) -> History:
    states: list[str] = []
    lines: list[str] = []
    transitions = 0
    scheduled = 0
    job_id: str | None = None
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            states.append(name)
            transitions += 1
            scheduled = 0
            lines.append(f"  {name}")
        elif kind in ("TaskScheduled", "LambdaFunctionScheduled"):
            scheduled += 1
            if scheduled > 1:
                transitions += 1
                lines[-1] += f"  (retry {scheduled - 1})"
        elif kind == "TaskSubmitted":
            output = json.loads(event["taskSubmittedEventDetails"].get("output") or "{}")
            job_id = output.get("JobId", job_id)
        elif kind in ("TaskFailed", "LambdaFunctionFailed", "TaskTimedOut"):
            details = next(v for k, v in event.items() if k.endswith("EventDetails"))
            lines.append(f"      ! {_failure_text(details)}")
        elif kind == "ExecutionFailed":
            details = event.get("executionFailedEventDetails", {})
            lines.append(f"  => FAILED {_failure_text(details)}")
        elif kind == "ExecutionAborted":
            lines.append("  => ABORTED (StopExecution)")
        elif kind == "ExecutionTimedOut":
            lines.append("  => TIMED_OUT")
        elif kind == "ExecutionSucceeded":
            lines.append("  => SUCCEEDED")
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


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:60] or "scenario"


def _simulation(scenario: Scenario) -> Simulation:
    return Simulation(behaviour=scenario.aws, log_level=log_level() or "WARNING")


def _merge_secret(aws: LocalAws, stack: Stack, values: dict[str, Any]) -> None:
    secrets = aws.client("secretsmanager")
    for arn in stack.secret_arns:
        current = json.loads(secrets.get_secret_value(SecretId=arn).get("SecretString") or "{}")
        secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({**current, **values}))


class _Aborter:
    """Stops an execution the moment it enters the scenario's ``abortAfter`` state."""

    def __init__(self, aws: LocalAws, state: str) -> None:
        self.aws = aws
        self.state = state
        self.stopped: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, execution_arn: str, state_name: str) -> None:
        if state_name != self.state:
            return
        with self._lock:
            if execution_arn in self.stopped:
                return
            self.stopped.add(execution_arn)
        self.aws.client("stepfunctions").stop_execution(executionArn=execution_arn)


def _wait(aws: LocalAws, arns: list[str], deadline: float) -> list[str]:
    """Wait until every execution ended; stop and return those still running at ``deadline``."""
    sfn = aws.client("stepfunctions")
    pending = list(arns)
    while pending and time.monotonic() < deadline:
        pending = [
            a for a in pending if sfn.describe_execution(executionArn=a)["status"] == "RUNNING"
        ]
        if pending:
            time.sleep(0.01)
    for arn in pending:
        sfn.stop_execution(executionArn=arn, error="Rehearsal.Timeout")
    end = time.monotonic() + 5
    while time.monotonic() < end and any(
        sfn.describe_execution(executionArn=a)["status"] == "RUNNING" for a in pending
    ):
        time.sleep(0.01)
    return pending


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


def _run(scenario: Scenario, root: Path, out: TextIO | None, echo: TextIO | None) -> list[Summary]:
    name = scenario.name or "scenario"
    sim = _simulation(scenario)
    timeout = timeout_seconds()

    def say(text: str) -> None:
        if out is not None:
            out.write(text + "\n")
            out.flush()

    with LocalAws(root, sim, echo=echo) as aws:
        stack = aws.deploy(scenario.mode)
        if scenario.secret:
            _merge_secret(aws, stack, scenario.secret)
        if scenario.aws.abortAfter:
            sim.state_listeners.append(_Aborter(aws, scenario.aws.abortAfter))
        sfn = aws.client("stepfunctions")
        count = scenario.aws.concurrent
        names = [
            (scenario.executionName or f"rehearsal-{_slug(name)}") + (f"-{n}" if count > 1 else "")
            for n in range(1, count + 1)
        ]
        sim.clock.align()
        arns = [
            sfn.start_execution(
                stateMachineArn=stack.state_machine_arn,
                name=execution_name,
                input=json.dumps(scenario.input),
            )["executionArn"]
            for execution_name in names
        ]
        unfinished = _wait(aws, arns, time.monotonic() + timeout)
        descriptions = [sfn.describe_execution(executionArn=arn) for arn in arns]
        for description in descriptions:
            _announce(aws, description)

        summaries: list[Summary] = []
        for arn, description in zip(arns, descriptions, strict=True):
            events = _history(aws, arn)
            history = read_history(events)
            jobs = sim.jobs_of(arn)
            leaked, retained = aws.left_behind(arn)
            created = {kind: len(ids) for kind, ids in sorted(sim.created_by(arn).items())}
            status = description["status"]
            summary = Summary(
                scenario=name,
                mode=scenario.mode,
                status=status,
                error=description.get("error") if status != "SUCCEEDED" else None,
                cause=description.get("cause") if status != "SUCCEEDED" else None,
                states=history.states,
                transitions=history.transitions,
                jobAttempts=len(jobs[-1].attempts) if jobs else 0,
                created=created,
                leaked=leaked,
                retained=retained,
            )
            failed = check_expectations(scenario, summary)
            if arn in unfinished:
                failed.insert(
                    0, f"execution still RUNNING after {timeout:g} s of real time; stopped"
                )
            summary.failedExpectations = failed
            summary.expectationsMet = not failed

            say(f"{name} ({scenario.mode}) execution {description['name']}")
            if sim.throttled and arn == arns[0]:
                throttled = ", ".join(f"{key} x{n}" for key, n in sorted(sim.throttled.items()))
                say(f"  throttled: {throttled}")
            for line in compact(history.lines):
                say(line)
            _report_jobs(jobs, say)
            _report_metric(sim, arn, say)
            _report_drain(events, say)
            _report_refusals(sim, arn, say)
            _report_deletions(sim, arn, say)
            _report_deliveries(sim, description, say)
            say(f"  leaked: {', '.join(leaked) or 'nothing'}")
            say(f"  retained: {', '.join(retained) or 'nothing'}")
            if failed:
                for item in failed:
                    say(f"  expectation not met: {item}")
            say(summary.to_json())
            summaries.append(summary)
        return summaries


def _report_jobs(jobs: list[Any], say: Any) -> None:
    for job in jobs:
        attempts = ", ".join(
            f"{o.status}"
            + (f" ({o.status_reason})" if o.status_reason else "")
            + (f" exit {o.exit_code}" if o.exit_code is not None else "")
            for o in job.attempts
        )
        say(f"  job {job.job_id}: {job.status} after {len(job.attempts)} attempt(s): {attempts}")


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


def _report_metric(sim: Simulation, arn: str, say: Any) -> None:
    published: dict[str, list[float]] = {}
    for datapoint in sim.metrics:
        if datapoint.execution_arn == arn:
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


def _report_deletions(sim: Simulation, arn: str, say: Any) -> None:
    for deletion in sim.deletions:
        if deletion.execution_arn != arn:
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


def _report_refusals(sim: Simulation, arn: str, say: Any) -> None:
    for refusal in sim.refusals:
        if refusal.execution_arn == arn:
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


def run_scenario(
    scenario: str | Path | dict[str, Any] | Scenario,
    *,
    root: str | Path | None = None,
    out: TextIO | None = None,
    echo: TextIO | None = None,
) -> list[Summary]:
    """Rehearse one scenario and return one summary per execution.

    Args:
        scenario: a scenario file, a mapping in the file's format, or a parsed ``Scenario``.
        root: the repository to rehearse (default: the one this module lives in).
        out: where the trace and summary lines are printed (default: nowhere).
        echo: where the handlers' captured output is copied (default: nowhere).

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
    return _run(parsed, repository, out, echo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.rehearse",
        description="Rehearse the workflow on a local AWS: one summary line per execution.",
    )
    parser.add_argument("files", nargs="+", type=Path, help="scenario files (YAML or JSON)")
    args = parser.parse_args(argv)
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
    echo = sys.stderr if log_level() else None
    met = True
    for scenario in scenarios:
        try:
            summaries = _run(scenario, ROOT, sys.stdout, echo)
        except DeployError as error:
            print(f"rehearse: {scenario.name}: {error}", file=sys.stderr)
            return 2
        met = met and all(summary.expectationsMet for summary in summaries)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
