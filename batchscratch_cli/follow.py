"""``batch-scratch follow``: one run, as it goes, and its summary at the end.

It polls (every ``--interval`` seconds, until ``--timeout``): the execution's history
(``progress.read_events``), the job's attempts while it runs (Batch DescribeJobs), the export
task's progress while it runs (FSx DescribeDataRepositoryTasks), and the run's storage and
instances for the cost so far (EC2 DescribeVolumes or FSx DescribeFileSystems; EC2
DescribeInstances by the run's ``batch-scratch:execution-arn`` tag, priced by
``costs``). When the execution did not succeed it then follows the run's release execution
(the release workflow's execution named after the run id), which decides what is kept.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click
from botocore.exceptions import ClientError

from batchscratch.repository import run_data_repository_path
from batchscratch.run import TAG_EXECUTION, TAG_RETAINED
from batchscratch.run import execution_arn as run_execution_arn
from batchscratch.tagging import identity_tag_value
from batchscratch_cli import costs
from batchscratch_cli.options import aws_options, stack_option
from batchscratch_cli.output import CliError, Output
from batchscratch_cli.progress import Fact, RunRecord, attempt_facts, read_events
from batchscratch_cli.session import Aws
from batchscratch_cli.stack import Stack, describe_stack

DEFAULT_TIMEOUT_SECONDS = 8 * 24 * 3600
"""A run lasts at most the stack's RunTimeoutSeconds (7 days by default) and its release
``cleanupTimeoutSeconds`` more (3 h by default): 8 days covers both."""

RELEASE_APPEARS_SECONDS = 300.0
"""How long to wait for the release execution of a run that did not succeed to appear (the
Catch starts it at once; the EventBridge rule within about a minute)."""


def execution_arn(stack: Stack, execution: str) -> str:
    """The ARN of ``execution``: an ARN as it is, or an execution name of the stack's state
    machine (``batchscratch.run.execution_arn``)."""
    if execution.startswith("arn:"):
        return execution
    return run_execution_arn(stack.state_machine_arn, execution)


def release_arn(stack: Stack, run_id: str) -> str:
    """The ARN of the release execution named after ``run_id``
    (``batchscratch.release_start``: the release is named after the run id)."""
    return run_execution_arn(stack.release_state_machine_arn, run_id)


def _history(aws: Aws, arn: str) -> list[dict[str, Any]]:
    pages = (
        aws.client("stepfunctions")
        .get_paginator("get_execution_history")
        .paginate(executionArn=arn, includeExecutionData=True)
    )
    return [event for page in pages for event in page["events"]]


REPORT = re.compile(r"report: (s3://\S+)")
"""Where an export's failure report is, as CheckExport's ``ExportFailed`` message says."""


def error_message(cause: str | None) -> str | None:
    """The message of a Lambda error's cause (``{"errorType", "errorMessage", ...}``), or the
    cause as it is."""
    if not cause:
        return cause
    try:
        parsed = json.loads(cause)
    except json.JSONDecodeError:
        return cause
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return str(parsed["errorMessage"])
    return cause


def _hours(start: datetime | None, end: datetime | None) -> float:
    if start is None or end is None:
        return 0.0
    return max(0.0, (end - start).total_seconds()) / 3600


@dataclass
class Follower:
    """The polling of one execution: what was shown, and the cost so far."""

    aws: Aws
    stack: Stack
    arn: str
    out: Output
    record: RunRecord
    seen: int = 0
    storage_hourly: float | None = None
    compute_dollars: float = 0.0
    last_export: tuple[Any, Any] | None = None

    def show(self, facts: list[Fact]) -> None:
        for fact in facts:
            self.out.json(fact.as_dict())
            self.out.line(f"{_clock(fact.at)}  {fact.text}")

    def poll(self) -> None:
        """Look once: new history events, live attempts and export progress."""
        events = _history(self.aws, self.arn)
        self.show(read_events(events[self.seen :], self.record))
        self.seen = len(events)
        if self.record.status is None:
            self._live()

    def until_ended(self, deadline: float, interval: float, late: str) -> None:
        """Poll every ``interval`` seconds until the execution ended.

        Raises:
            CliError: ``late``, when it still runs at ``deadline`` (``time.monotonic``).
        """
        while True:
            self.poll()
            if self.record.status is not None:
                return
            if time.monotonic() >= deadline:
                raise CliError(late)
            time.sleep(interval)

    def _live(self) -> None:
        record = self.record
        if record.job_id and not record.job_ended:
            jobs = self.aws.client("batch").describe_jobs(jobs=[record.job_id])["jobs"]
            if jobs:
                self.show(attempt_facts(jobs[0], record, datetime.now(UTC)))
        if record.export_task and record.failed_files is None:
            tasks = self.aws.client("fsx").describe_data_repository_tasks(
                TaskIds=[record.export_task]
            )["DataRepositoryTasks"]
            status = tasks[0].get("Status") or {} if tasks else {}
            shown = (tasks[0].get("Lifecycle"), status.get("SucceededCount")) if tasks else None
            if tasks and shown != self.last_export:
                self.last_export = shown
                self.out.json({"kind": "exportProgress", **status})
                self.out.line(
                    f"{_clock(datetime.now(UTC))}  export: {tasks[0].get('Lifecycle')}, "
                    f"{status.get('SucceededCount', 0)} of {status.get('TotalCount', '?')} files, "
                    f"{status.get('FailedCount', 0)} failed"
                )

    def storage_cost(self) -> float:
        """Dollars the run's storage has cost: its hourly price (read once) times the hours from
        its creation to its release (or the run's end, or now)."""
        record = self.record
        if record.storage_id is None:
            return 0.0
        if self.storage_hourly is None:
            self.storage_hourly = self._storage_hourly(record.storage_id)
        end = record.storage_released or record.stopped or datetime.now(UTC)
        return self.storage_hourly * _hours(record.storage_created, end)

    def _storage_hourly(self, storage_id: str) -> float:
        try:
            if storage_id.startswith("fs-"):
                found = self.aws.client("fsx").describe_file_systems(FileSystemIds=[storage_id])
                return costs.file_system_hourly(found["FileSystems"][0])
            found = self.aws.client("ec2").describe_volumes(VolumeIds=[storage_id])
            return costs.volume_hourly(found["Volumes"][0])
        except (ClientError, IndexError, KeyError, ValueError):
            return 0.0  # deleted already, or not priced by the table

    def compute_cost(self) -> float:
        """Dollars of the run's instances so far (their Spot price from the table), from each
        instance's launch to the run's end (or now)."""
        values = [self.arn, identity_tag_value(self.arn)]
        pages = (
            self.aws.client("ec2")
            .get_paginator("describe_instances")
            .paginate(Filters=[{"Name": f"tag:{TAG_EXECUTION}", "Values": sorted(set(values))}])
        )
        end = self.record.stopped or datetime.now(UTC)
        total = 0.0
        for page in pages:
            for reservation in page.get("Reservations", []):
                for instance in reservation.get("Instances", []):
                    try:
                        hourly = costs.instance_hourly(instance["InstanceType"])
                    except (KeyError, ValueError):
                        continue
                    total += hourly * _hours(instance.get("LaunchTime"), end)
        self.compute_dollars = total
        return total


def _clock(at: datetime | None) -> str:
    return at.strftime("%H:%M:%S") if isinstance(at, datetime) else "--:--:--"


def _wait_for_release(
    aws: Aws, stack: Stack, run_id: str, deadline: float, interval: float
) -> str | None:
    """The release execution's ARN once it exists (``None`` when none appeared in time)."""
    arn = release_arn(stack, run_id)
    sfn = aws.client("stepfunctions")
    appear_by = min(deadline, time.monotonic() + RELEASE_APPEARS_SECONDS)
    while True:
        try:
            sfn.describe_execution(executionArn=arn)
            return arn
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ExecutionDoesNotExist":
                raise
        if time.monotonic() >= appear_by:
            return None
        time.sleep(interval)


def _kept_reasons(aws: Aws, entries: list[str]) -> dict[str, str]:
    """The ``retained-reason`` tag of each kept volume, snapshot or file system."""
    reasons: dict[str, str] = {}
    for entry in entries:
        kind, _, resource = entry.rpartition(":")
        try:
            if kind == "fsx:file-system":
                tags = (
                    aws.client("fsx")
                    .describe_file_systems(FileSystemIds=[resource])["FileSystems"][0]
                    .get("Tags", [])
                )
            elif kind in ("ec2:volume", "ec2:snapshot"):
                tags = aws.client("ec2").describe_tags(
                    Filters=[{"Name": "resource-id", "Values": [resource]}]
                )["Tags"]
            else:
                continue
        except (ClientError, IndexError):
            continue
        for tag in tags:
            if tag["Key"] == TAG_RETAINED:
                reasons[entry] = tag["Value"]
    return reasons


def follow_execution(
    aws: Aws,
    stack: Stack,
    execution: str,
    out: Output,
    interval: float = 10.0,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """Follow ``execution`` (and its release) until it ended, printing each new fact; return
    the run's summary (``status``, ``error``, ``cause``, ``deleted``, ``kept`` with reasons,
    ``results``, ``failureReport``, ``elapsedSeconds``, ``storageDollars``,
    ``computeDollars``).

    Args:
        interval: seconds between two looks. timeout: seconds until it gives up.

    Raises:
        CliError: the execution does not exist, or has not ended within ``timeout``.
    """
    arn = execution_arn(stack, execution)
    try:
        aws.client("stepfunctions").describe_execution(executionArn=arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("ExecutionDoesNotExist", "InvalidArn"):
            raise CliError(
                f"execution {execution!r} of stack {stack.name} does not exist"
            ) from None
        raise
    run_id = arn.rsplit(":", 1)[1]
    deadline = time.monotonic() + timeout
    follower = Follower(aws, stack, arn, out, RunRecord())
    follower.until_ended(
        deadline, interval, f"execution {run_id} still running after {timeout:g} s"
    )
    record = follower.record
    release_status = None
    if record.status != "SUCCEEDED":
        release = _wait_for_release(aws, stack, run_id, deadline, interval)
        if release is not None:
            out.line(f"{_clock(record.stopped)}  release: {release.rsplit(':', 1)[1]}")
            released = Follower(aws, stack, release, out, RunRecord())
            released.record.deleted, released.record.retained = record.deleted, record.retained
            released.until_ended(
                deadline, interval, f"release {run_id} still running after {timeout:g} s"
            )
            release_status = released.record.status
            if record.storage_released is None:
                record.storage_released = released.record.storage_released
    results = record.data_repository_path or run_data_repository_path(stack.bucket, run_id)
    message = error_message(record.cause)
    report = record.report_location if record.failed_files else None
    if report is None and message:
        found = REPORT.search(message)
        report = found.group(1).rstrip(".") if found else None
    reasons = _kept_reasons(aws, record.retained)
    summary = {
        "execution": run_id,
        "executionArn": arn,
        "status": record.status,
        "error": record.error,
        "cause": message,
        "release": release_status,
        "deleted": record.deleted,
        "kept": {entry: reasons.get(entry, "") for entry in record.retained},
        "results": results,
        "failureReport": report,
        "failedFiles": record.failed_files,
        "elapsedSeconds": round(_hours(record.started, record.stopped) * 3600, 1),
        "storageDollars": round(follower.storage_cost(), 4),
        "computeDollars": round(follower.compute_cost(), 4),
    }
    _show_summary(out, summary)
    return summary


def _show_summary(out: Output, summary: dict[str, Any]) -> None:
    out.json({"summary": summary})
    out.line(
        f"run {summary['execution']}: {summary['status']}"
        + (f" ({summary['error']})" if summary["error"] else "")
        + f" after {summary['elapsedSeconds']:.0f} s"
    )
    if summary["cause"]:
        out.line(f"  cause: {summary['cause']}")
    out.line(f"  deleted: {', '.join(summary['deleted']) or 'nothing'}")
    for entry, reason in summary["kept"].items():
        out.line(f"  kept: {entry}" + (f" ({reason})" if reason else ""))
    if not summary["kept"]:
        out.line("  kept: nothing")
    out.line(f"  results: {summary['results']}")
    if summary["failureReport"]:
        out.line(
            f"  export failure report: {summary['failureReport']} "
            f"({summary['failedFiles']} failed files)"
        )
    out.line(
        f"  cost so far: storage ${summary['storageDollars']:.2f}, "
        f"compute ${summary['computeDollars']:.2f} (estimates from the price table)"
    )


def interval_option(command: Any) -> Any:
    """Add ``--interval`` and ``--timeout`` (seconds)."""
    command = click.option(
        "--interval",
        type=click.FloatRange(min=0.05),
        default=10.0,
        show_default=True,
        metavar="SECONDS",
        help="Seconds between two looks at the run.",
    )(command)
    return click.option(
        "--timeout",
        type=click.FloatRange(min=1),
        default=DEFAULT_TIMEOUT_SECONDS,
        show_default=True,
        metavar="SECONDS",
        help="Give up (exit 1) when the run and its release have not ended by then.",
    )(command)


@click.command("follow")
@stack_option
@click.argument("execution")
@interval_option
@aws_options
def command(
    aws: Aws, out: Output, stack_name: str, execution: str, interval: float, timeout: float
) -> None:
    """Show one run as it goes, then its summary; exit 0 only when it SUCCEEDED.

    EXECUTION is the execution's name (the run id) or ARN. Shown: each state entered, the
    storage created, ready and released or kept, the job and each attempt (a Spot reclaim with
    its instance), the export task's progress and failed files, and at the end what was
    deleted, what was kept and why, where the results are, the time and the cost so far.
    """
    stack = describe_stack(aws, stack_name)
    summary = follow_execution(aws, stack, execution, out, interval, timeout)
    if summary["status"] != "SUCCEEDED":
        raise SystemExit(1)
