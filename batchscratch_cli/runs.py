"""``batch-scratch list``: the stack's recent runs, with their outcome, duration and cost.

ListExecutions of the stack's state machine, newest first; each run's storage is read from
its history (``progress.read_events``) and priced by its size and lifetime (``costs``, the
price table), an estimate that leaves compute out unless its instances are still listed.
"""

from __future__ import annotations

import io
from typing import Any

import click

from batchscratch_cli.follow import Follower, _history
from batchscratch_cli.options import aws_options, stack_option
from batchscratch_cli.output import Output
from batchscratch_cli.progress import RunRecord, read_events
from batchscratch_cli.session import Aws
from batchscratch_cli.stack import describe_stack


@click.command("list")
@stack_option
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=1000),
    default=20,
    show_default=True,
    help="How many of the newest runs to show.",
)
@click.option(
    "--status",
    type=click.Choice(["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]),
    help="Only runs that ended so (or still run).",
)
@aws_options
def command(aws: Aws, out: Output, stack_name: str, limit: int, status: str | None) -> None:
    """List the stack's recent runs: run id, mode, outcome, start, duration, estimated cost.

    The cost is the storage's (its size and lifetime, from the price table) and the compute
    still listed by EC2: an estimate.
    """
    stack = describe_stack(aws, stack_name)
    request: dict[str, Any] = {"stateMachineArn": stack.state_machine_arn, "maxResults": limit}
    if status:
        request["statusFilter"] = status
    listed = aws.client("stepfunctions").list_executions(**request)["executions"]
    rows: list[dict[str, Any]] = []
    for execution in listed[:limit]:
        follower = Follower(
            aws,
            stack,
            execution["executionArn"],
            Output(json_mode=True, stream=io.StringIO()),
            RunRecord(),
        )
        read_events(_history(aws, execution["executionArn"]), follower.record)
        start, stop = execution.get("startDate"), execution.get("stopDate")
        rows.append(
            {
                "runId": execution["name"],
                "mode": stack.mode,
                "status": execution["status"],
                "error": follower.record.error,
                "startDate": start,
                "durationSeconds": round((stop - start).total_seconds(), 1) if stop else None,
                "estimatedDollars": round(follower.storage_cost() + follower.compute_cost(), 4),
            }
        )
    if out.json_mode:
        out.json(rows)
        return
    out.table(
        ["run", "mode", "outcome", "started", "duration", "estimate"],
        [
            [
                row["runId"],
                row["mode"],
                row["status"] + (f" ({row['error']})" if row["error"] else ""),
                f"{row['startDate']:%Y-%m-%d %H:%M}" if row["startDate"] else "-",
                "running" if row["durationSeconds"] is None else f"{row['durationSeconds']:.0f} s",
                f"${row['estimatedDollars']:.2f}",
            ]
            for row in rows
        ],
        title=f"Runs of {stack.name}",
    )
