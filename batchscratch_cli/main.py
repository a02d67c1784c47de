"""The ``batch-scratch`` command: its group and subcommands (click).

Exit status: 0 on success (``follow``, ``start --follow`` and ``smoke``: the run SUCCEEDED),
1 when the run did not succeed or a refusal or AWS error was reported, 2 for a usage error.
"""

from __future__ import annotations

import click
from botocore.exceptions import BotoCoreError, ClientError

from batchscratch_cli import cost, follow, leftovers, runs, smoke, start


class Group(click.Group):
    """The command group: an AWS error a subcommand does not handle becomes one line on
    stderr and exit status 1, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ClientError as error:
            detail = error.response.get("Error", {})
            raise click.ClickException(
                f"AWS refused {error.operation_name}: {detail.get('Code', '')}: "
                f"{detail.get('Message', '')}"
            ) from None
        except BotoCoreError as error:
            raise click.ClickException(f"AWS call failed: {error}") from None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="batch-scratch")
def cli() -> None:
    """Start, follow and account for the runs of a batch-scratch stack.

    Each run is one Step Functions execution of the stack's state machine: it creates its
    scratch storage (FSx for Lustre or EBS), runs the Batch job on Spot instances, saves the
    results to S3 and deletes what it created. Every subcommand takes --endpoint-url, so it
    works against the rehearsal's local AWS (python -m tools.rehearse --serve) as against AWS.
    """


for module in (start, follow, runs, leftovers, cost, smoke):
    cli.add_command(module.command)
