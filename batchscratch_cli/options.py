"""The options every subcommand takes, and the objects they make.

``@aws_options`` adds ``--endpoint-url``, ``--region``, ``--profile`` and ``--json`` and
passes the subcommand ``aws`` (``session.Aws``) and ``out`` (``output.Output``) instead;
``@stack_option`` adds ``--stack``. Each option has an environment variable too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from batchscratch_cli.output import Output
from batchscratch_cli.session import Aws

STACK_VARIABLE = "BATCH_SCRATCH_STACK"


def aws_options[F: Callable[..., Any]](command: F) -> F:
    """Add the connection and output options; the command gets ``aws`` and ``out``."""

    @click.option(
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL",
        metavar="URL",
        help="Send every AWS call to this endpoint, e.g. the rehearsal's local AWS "
        "(python -m tools.rehearse --serve prints it). Default: AWS.",
    )
    @click.option(
        "--region",
        envvar="AWS_REGION",
        metavar="REGION",
        help="AWS Region of the stack. Default: the profile's, or AWS_DEFAULT_REGION.",
    )
    @click.option(
        "--profile",
        envvar="AWS_PROFILE",
        metavar="NAME",
        help="Named profile of the AWS config and credentials files.",
    )
    @click.option(
        "--json",
        "json_mode",
        is_flag=True,
        help="Print JSON only (one document; follow prints one object per line).",
    )
    @functools.wraps(command)
    def wrapper(
        *args: Any,
        endpoint_url: str | None,
        region: str | None,
        profile: str | None,
        json_mode: bool,
        **kwargs: Any,
    ) -> Any:
        aws = Aws(endpoint_url=endpoint_url, region=region, profile=profile)
        return command(*args, aws=aws, out=Output(json_mode=json_mode), **kwargs)

    return wrapper  # type: ignore[return-value]


def stack_option[F: Callable[..., Any]](command: F) -> F:
    """Add ``--stack NAME`` (required; or ``BATCH_SCRATCH_STACK``)."""
    return click.option(
        "--stack",
        "stack_name",
        envvar=STACK_VARIABLE,
        required=True,
        metavar="NAME",
        help=f"Name of the deployed stack (CloudFormation), or set {STACK_VARIABLE}.",
    )(command)
