"""``batch-scratch leftovers``: what the stack's runs left behind, and what it costs an hour.

Every per-run resource (``inventory.existing_resources``: volumes, snapshots, launch
templates, file systems with their data repository associations and running tasks, compute
environments, job queues, ACTIVE job definitions) that carries the stack's
``batch-scratch:stack-name`` tag, or is part of a file system that does, and whose execution
(its ``batch-scratch:execution-arn`` tag) is not RUNNING: kept on purpose (its
``batch-scratch:retained-reason``, shown) or not. ``--release`` hands the runs that left
something not kept on purpose to the stack's own release workflow, exactly as the daily sweep
does (``batchscratch.release_start.sweep``); nothing here deletes anything itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click
from botocore.exceptions import ClientError

from batchscratch.config import INPUT_KEYS_VARIABLE
from batchscratch.run import TAG_EXECUTION, TAG_RETAINED, TAG_RUN_ID, TAG_STACK
from batchscratch_cli import costs
from batchscratch_cli.inventory import Resource, existing_resources
from batchscratch_cli.options import aws_options, stack_option
from batchscratch_cli.output import Output
from batchscratch_cli.session import Aws
from batchscratch_cli.stack import Stack, describe_stack

HOURLY: dict[str, Callable[[dict[str, Any]], float]] = {
    "ec2:volume": costs.volume_hourly,
    "ec2:snapshot": costs.snapshot_hourly,
    "fsx:file-system": costs.file_system_hourly,
}
"""The kinds that bill by the hour while they exist; the others bill nothing idle."""


def hourly_of(resource: Resource) -> float | None:
    """Dollars per hour ``resource`` bills while it exists (0 for the kinds that bill nothing;
    ``None`` when the price table has no price for it)."""
    price = HOURLY.get(resource.kind)
    if price is None:
        return 0.0
    try:
        return price(resource.details)
    except (KeyError, ValueError):
        return None


def _running(aws: Aws, execution: str, cache: dict[str, bool]) -> bool:
    if execution not in cache:
        try:
            status = aws.client("stepfunctions").describe_execution(executionArn=execution)[
                "status"
            ]
            cache[execution] = status == "RUNNING"
        except ClientError:
            # An encoded tag value (no ARN), or a history older than 90 days: not running.
            cache[execution] = False
    return cache[execution]


def find_leftovers(aws: Aws, stack: Stack) -> list[dict[str, Any]]:
    """Return the stack's leftovers, sorted by kind and id: each ``{"kind", "id", "entry",
    "runId", "executionArn", "retainedReason", "hourly"}`` (``hourly``: dollars per hour,
    ``None`` when unpriced)."""
    resources = existing_resources(aws.client)
    by_entry = {resource.entry: resource for resource in resources}

    def owner(resource: Resource) -> Resource | None:
        if resource.tags.get(TAG_STACK) == stack.name:
            return resource
        parent = by_entry.get(resource.part_of or "")
        return owner(parent) if parent is not None else None

    def reason(resource: Resource) -> str | None:
        if TAG_RETAINED in resource.tags:
            return resource.tags[TAG_RETAINED]
        parent = by_entry.get(resource.part_of or "")
        return reason(parent) if parent is not None else None

    running: dict[str, bool] = {}
    found = []
    for resource in resources:
        tagged = owner(resource)
        if tagged is None:
            continue
        execution = tagged.tags.get(TAG_EXECUTION, "")
        if execution and _running(aws, execution, running):
            continue
        found.append(
            {
                "kind": resource.kind,
                "id": resource.resource_id,
                "entry": resource.entry,
                "runId": tagged.tags.get(TAG_RUN_ID),
                "executionArn": execution or None,
                "retainedReason": reason(resource),
                "hourly": hourly_of(resource),
            }
        )
    return sorted(found, key=lambda item: (item["kind"], item["id"]))


def release(aws: Aws, stack: Stack) -> dict[str, Any]:
    """Start the stack's release of every run whose execution ended and that left billed
    resources without ``retained-reason`` (``release_start.sweep``, the daily sweep's own
    logic, with this process's clients pointed where ``aws`` points).

    Returns:
        ``{"started": [release names], "skipped": {run: why}}``.
    """
    from batchscratch.release_start import sweep  # noqa: PLC0415 - only --release needs it

    aws.activate()
    os.environ[INPUT_KEYS_VARIABLE] = ",".join(stack.input_keys)
    result = sweep(stack.mode, stack.name, stack.secret_id, stack.release_state_machine_arn)
    return {"started": result.started, "skipped": result.skipped}


@click.command("leftovers")
@stack_option
@click.option(
    "--release",
    "then_release",
    is_flag=True,
    help="Then start the stack's release workflow for each ended run that left something not "
    "kept on purpose, as the daily sweep does (kept resources stay: remove their "
    "batch-scratch:retained-reason tag first to release them).",
)
@aws_options
def command(aws: Aws, out: Output, stack_name: str, then_release: bool) -> None:
    """List what the stack's runs left behind, with what each costs an hour.

    Every resource tagged with the stack whose execution is not running, kept on purpose (the
    retained-reason is shown) or not, and the total per hour from the price table.
    """
    stack = describe_stack(aws, stack_name)
    found = find_leftovers(aws, stack)
    released = release(aws, stack) if then_release else None
    if out.json_mode:
        out.json(found if released is None else {"leftovers": found, "release": released})
        return
    rows = [
        [
            item["kind"],
            item["id"],
            item["runId"] or "-",
            f"kept: {item['retainedReason']}" if item["retainedReason"] else "not kept",
            "?" if item["hourly"] is None else f"${item['hourly']:.4f}",
        ]
        for item in found
    ]
    out.table(["kind", "id", "run", "kept", "per hour"], rows, title=f"Leftovers of {stack.name}")
    total = sum(item["hourly"] or 0.0 for item in found)
    noun = "resource" if len(found) == 1 else "resources"
    out.line(f"{len(found)} {noun}, ${total:.4f} per hour (price table estimates)")
    if released is not None:
        if not released["started"] and not released["skipped"]:
            out.line("release: no run left anything that is not kept on purpose")
        for name in released["started"]:
            out.line(f"release started: {name}")
        for run, why in released["skipped"].items():
            out.line(f"not released: {run}: {why}")
