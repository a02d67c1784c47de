"""``batch-scratch start``: start one run of a stack, its configuration checked first.

The overrides are checked with LoadConfig's rules before any AWS call
(``configuration.check_locally``), then against the stack's secret, mode, ExecutionInputKeys
and image repositories (``configuration.load``); only then is the execution started
(Step Functions StartExecution), with the overrides as its input.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import click

from batchscratch.errors import InvalidConfiguration
from batchscratch.run import check_run_id
from batchscratch_cli import configuration
from batchscratch_cli.follow import follow_execution, interval_option
from batchscratch_cli.options import aws_options, stack_option
from batchscratch_cli.output import Output
from batchscratch_cli.session import Aws
from batchscratch_cli.stack import describe_stack

NAME_LENGTH = 80
"""StartExecution ``name``: 1 to 80 characters (botocore stepfunctions model, ``Name``)."""

NAME_REFUSED = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
"""Characters Step Functions refuses in a name: white space, brackets ``< > { } [ ]``,
wildcards ``? *``, the special characters ``" # % \\ ^ | ~ ` $ & , ; : /`` and control
characters (Step Functions API Reference, StartExecution ``name``)."""


def check_name(name: str) -> None:
    """Refuse an execution name Step Functions or LoadConfig would refuse.

    Raises:
        click.BadParameter: a usage error (exit status 2): the name breaks StartExecution's
            rule, or is no run id
            (``batchscratch.run.check_run_id``).
    """
    if not 1 <= len(name) <= NAME_LENGTH:
        raise click.BadParameter(
            f"{name!r}: must have 1 to {NAME_LENGTH} characters", param_hint="--name"
        )
    refused = sorted(set(NAME_REFUSED.findall(name)))
    if refused:
        raise click.BadParameter(
            f"{name!r}: Step Functions refuses {' '.join(map(repr, refused))} in a name "
            '(white space, brackets, wildcards, " # % \\ ^ | ~ ` $ & , ; : / and control '
            "characters)",
            param_hint="--name",
        )
    try:
        check_run_id(name)
    except InvalidConfiguration as error:
        raise click.BadParameter(str(error), param_hint="--name") from None


def default_name() -> str:
    """A readable execution name when ``--name`` is not given: ``run-<UTC time>``
    (``run-20260102T030405Z-123456``: unique per microsecond, sorts by start)."""
    return datetime.now(UTC).strftime("run-%Y%m%dT%H%M%SZ-%f")


@click.command("start")
@stack_option
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help="Set one configuration key for this run (repeatable); VALUE is read as JSON when it "
    'is JSON (200, true, ["a", "b"]), else as text.',
)
@click.option(
    "--input",
    "input_file",
    metavar="FILE",
    help="Take the execution input from a JSON object in FILE (- for standard input); "
    "--set keys replace its keys.",
)
@click.option(
    "--name",
    metavar="NAME",
    help="Execution name, which is also the run id (1-80 characters). Default: run-<UTC time>.",
)
@click.option(
    "--follow",
    "then_follow",
    is_flag=True,
    help="Then follow the run as `batch-scratch follow` does, and exit as it does.",
)
@interval_option
@aws_options
def command(
    aws: Aws,
    out: Output,
    stack_name: str,
    assignments: tuple[str, ...],
    input_file: str | None,
    name: str | None,
    then_follow: bool,
    interval: float,
    timeout: float,
) -> None:
    """Start one run of the stack, after checking its configuration as LoadConfig would.

    The stack's secret gives every key; --set and --input override what the stack lets an
    execution input set (its ExecutionInputKeys parameter). A refused override is reported
    with LoadConfig's message before any AWS call is made. Prints the execution's ARN.
    """
    overlay = configuration.parse_overrides(assignments, input_file)
    configuration.check_locally(overlay)
    if name is not None:
        check_name(name)
    stack = describe_stack(aws, stack_name)
    configuration.load(aws, stack, overlay)
    execution_name = name or default_name()
    started: dict[str, Any] = aws.client("stepfunctions").start_execution(
        stateMachineArn=stack.state_machine_arn, name=execution_name, input=json.dumps(overlay)
    )
    arn = started["executionArn"]
    out.json({"executionArn": arn, "name": execution_name, "stack": stack.name, "mode": stack.mode})
    out.line(arn)
    if then_follow:
        summary = follow_execution(aws, stack, arn, out, interval, timeout)
        if summary["status"] != "SUCCEEDED":
            raise SystemExit(1)
