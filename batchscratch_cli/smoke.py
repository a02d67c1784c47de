"""`batch-scratch smoke` (placeholder until implemented)."""

from __future__ import annotations

from typing import Any

import click

from batchscratch_cli.options import aws_options, stack_option
from batchscratch_cli.output import CliError


@click.command("smoke")
@stack_option
@aws_options
def command(**_: Any) -> None:
    """Not implemented yet."""
    raise CliError("not implemented yet")
