"""`batch-scratch cost`: what a run of a configuration would cost, before it is started.

The configuration is a stack's (``--stack``: its secret, read as LoadConfig reads it, with the
overrides) or a mode's defaults (``--mode``: no AWS call at all) with ``--set``/``--input``.
The figures come from the dated price table shipped with the command
(``batchscratch_cli.prices``, us-east-1) and the rules of ``batchscratch_cli.costs``: the
storage, the Spot instances the job needs (at the table's assumed price, a given one, or the
Region's latest, EC2 DescribeSpotPriceHistory), and what the stack bills with no run (NAT
gateway, its public address, the secret, the alarms, the KMS key).
"""

from __future__ import annotations

from typing import Any

import click

from batchscratch.config import CONFIG_MODELS, CommonConfig, build_config
from batchscratch.errors import InvalidConfiguration
from batchscratch_cli import costs, prices
from batchscratch_cli.configuration import PLACEHOLDER_IMAGE, check_locally, load, parse_overrides
from batchscratch_cli.options import STACK_VARIABLE, aws_options
from batchscratch_cli.output import CliError, Output
from batchscratch_cli.session import Aws
from batchscratch_cli.stack import describe_stack

UNPRICED_HINT = "give --instance-type with a type of the table, or its price with --spot-price"
MODE_ASSUMPTIONS = (
    f"the template's defaults: the stack creates its VPC (VpcId empty), MaxvCpus "
    f"{costs.DEFAULT_MAX_VCPUS}, InstanceTypes {','.join(costs.DEFAULT_INSTANCE_TYPES)}, "
    "ComputeEnvironmentType SPOT"
)
"""What ``--mode`` assumes of the stack, since it reads none."""


def _money(dollars: float, digits: int = 4) -> str:
    return f"${dollars:.{digits}f}"


def _stack_settings(parameters: dict[str, str]) -> dict[str, Any]:
    """The stack parameters that change the estimate, as ``costs.estimate`` takes them."""
    try:
        max_vcpus = int(parameters.get("MaxvCpus", costs.DEFAULT_MAX_VCPUS))
    except ValueError:
        raise CliError(
            f"stack parameter MaxvCpus = {parameters['MaxvCpus']!r}: not a number"
        ) from None
    types = parameters.get("InstanceTypes", "") or ",".join(costs.DEFAULT_INSTANCE_TYPES)
    return {
        "creates_vpc": not parameters.get("VpcId", "").strip(),
        "max_vcpus": max_vcpus,
        "instance_types": tuple(t.strip() for t in types.split(",") if t.strip()),
        "on_demand": parameters.get("ComputeEnvironmentType", "SPOT") == "EC2",
    }


def _check_usage(
    mode: str | None, stack_name: str | None, spot_price: float | None, look_up: bool
) -> None:
    """Refuse options that do not go together, before anything is read."""
    source = click.get_current_context().get_parameter_source("stack_name")
    if mode is not None and source == click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError("give --stack or --mode, not both")
    if mode is None and not stack_name:
        raise click.UsageError(f"give --stack NAME (or set {STACK_VARIABLE}) or --mode MODE")
    if spot_price is not None and look_up:
        raise click.UsageError("give --spot-price or --look-up-spot-price, not both")
    if mode is not None and look_up:
        raise click.UsageError(
            "--look-up-spot-price asks the stack's Region: use it with --stack "
            "(with --mode, give --spot-price DOLLARS)"
        )


def _configuration(
    aws: Aws, stack_name: str | None, mode: str | None, overlay: dict[str, Any]
) -> tuple[str, CommonConfig, dict[str, Any], str, list[str]]:
    """The run's mode, configuration, stack settings (``costs.estimate``'s keywords), Region
    and notes: a mode's defaults (no AWS call), or the stack's secret and parameters."""
    if mode is not None:
        name = next(known for known in CONFIG_MODELS if known.lower() == mode.lower())
        try:
            config = build_config(name, {"jobDefinitionContainerImage": PLACEHOLDER_IMAGE}, overlay)
        except InvalidConfiguration as error:
            raise CliError(str(error)) from None
        return name, config, {}, aws.region or prices.REGION, [f"--mode assumes {MODE_ASSUMPTIONS}"]
    assert stack_name is not None
    stack = describe_stack(aws, stack_name)
    config = load(aws, stack, overlay)
    region = aws.region_name or prices.REGION
    return stack.mode, config, _stack_settings(stack.parameters), region, []


def _look_up(aws: Aws, instance_type: str) -> tuple[float, str]:
    """The Region's latest Spot price of ``instance_type`` and how the output names it."""
    quote = costs.latest_spot_price(aws.client("ec2"), instance_type)
    if quote is None:
        raise CliError(
            f"EC2 DescribeSpotPriceHistory has no Linux/UNIX Spot price of {instance_type} in "
            f"{aws.region_name or 'the Region'}: the type may not be offered there; "
            "give --spot-price DOLLARS"
        )
    return quote.dollars, (
        f"Spot, looked up: {quote.availability_zone}'s at {quote.timestamp:%Y-%m-%d %H:%M %Z}, "
        "the lowest of the Region's zones (EC2 DescribeSpotPriceHistory)"
    )


def _show(out: Output, estimate: costs.Estimate, notes: list[str]) -> None:
    hours = f"{estimate.hours:g} h"
    out.line(
        f"{estimate.mode} run, {hours} job: prices of {prices.REGION} read on {prices.PRICES_DATE}"
    )
    out.table(
        ("cost", "what", "per hour", f"per {hours} run"),
        [
            (
                "storage",
                estimate.storage,
                _money(estimate.storage_hourly),
                _money(estimate.storage_hourly * estimate.hours, 2),
            ),
            (
                "compute",
                f"{estimate.instances} x {estimate.instance_type} at "
                f"{_money(estimate.instance_hourly)}/h ({estimate.instance_basis})",
                _money(estimate.compute_hourly),
                _money(estimate.compute_hourly * estimate.hours, 2),
            ),
            (
                "run",
                "storage and compute",
                _money(estimate.run_hourly),
                _money(estimate.per_run, 2),
            ),
        ],
    )
    out.line(
        f"idle stack: {_money(estimate.idle_hourly)} per hour, "
        f"{_money(estimate.idle_monthly, 2)} per month, with or without runs"
    )
    out.table(
        ("idle", "quantity", "price", "per hour"),
        [
            (
                line.price.name,
                f"{line.quantity:g}",
                f"${line.price.dollars:g} per {line.price.unit}",
                _money(line.hourly),
            )
            for line in estimate.idle
        ],
    )
    for note in notes:
        out.line(f"note: {note}")
    for item in estimate.left_out:
        out.line(f"left out: {item}")
    for source in estimate.sources:
        out.line(f"source: {source}")


@click.command("cost")
@click.option(
    "--stack",
    "stack_name",
    envvar=STACK_VARIABLE,
    metavar="NAME",
    help="Price a run of this deployed stack: its secret with the overrides, its VPC, "
    f"MaxvCpus, InstanceTypes and Region (or set {STACK_VARIABLE}).",
)
@click.option(
    "--mode",
    type=click.Choice(list(CONFIG_MODELS), case_sensitive=False),
    help="Price a run of this mode's defaults with the overrides, for the template's default "
    "stack, without any AWS call (instead of --stack).",
)
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override one configuration key, as an execution input would (repeatable), "
    "e.g. --set lustreStorageCapacity=4800.",
)
@click.option(
    "--input",
    "input_file",
    metavar="FILE",
    help="Override keys from a JSON object in FILE (- for standard input); --set wins.",
)
@click.option(
    "--hours",
    type=click.FloatRange(min=0, min_open=True),
    metavar="HOURS",
    default=1.0,
    show_default=True,
    help="How long the job runs, in hours (an array job: until its last child ends).",
)
@click.option(
    "--spot-price",
    type=click.FloatRange(min=0, min_open=True),
    metavar="DOLLARS",
    help="Spot price of one instance, dollars per hour, instead of the table's assumption "
    f"({prices.SPOT_DISCOUNT:.0%} off On-Demand).",
)
@click.option(
    "--look-up-spot-price",
    is_flag=True,
    help="Use the latest Spot price of the instance type in the stack's Region, the lowest "
    "of its zones (EC2 DescribeSpotPriceHistory; needs --stack).",
)
@click.option(
    "--instance-type",
    metavar="TYPE",
    help="Price this instance type instead of the table's cheapest that holds the job "
    "(a type outside the table needs --spot-price or --look-up-spot-price).",
)
@aws_options
def command(
    aws: Aws,
    out: Output,
    stack_name: str | None,
    mode: str | None,
    assignments: tuple[str, ...],
    input_file: str | None,
    hours: float,
    spot_price: float | None,
    look_up_spot_price: bool,
    instance_type: str | None,
) -> None:
    """Estimate what a run and the idle stack cost.

    The hourly and per-run cost of a configuration, and the hourly cost of the idle stack:
    the run's storage (FSx for Lustre or EBS gp3), its Spot instances (as many as the job's
    vCPUs, memory and array size need, up to MaxvCpus), and what the stack bills without a
    run (NAT gateway, public IPv4 address, secret, alarms, KMS key), from the price table
    shipped with the command: its date, Region and source pages are printed too.
    """
    _check_usage(mode, stack_name, spot_price, look_up_spot_price)
    overlay = parse_overrides(assignments, input_file)
    check_locally(overlay)
    mode, config, settings, region, notes = _configuration(aws, stack_name, mode, overlay)
    warnings: list[str] = []
    if region != prices.REGION:
        warnings.append(
            f"the price table is {prices.REGION}'s, not {region}'s: prices there differ, "
            "the estimate does not"
        )
    try:
        if look_up_spot_price:
            if settings.get("on_demand"):
                raise CliError(
                    "the stack's ComputeEnvironmentType is EC2: its instances bill On-Demand "
                    "prices, not Spot"
                )
            chosen = (
                instance_type
                or costs.choose_instance_type(
                    config.jobDefinitionVcpus,
                    config.jobDefinitionMemory,
                    settings.get("instance_types", costs.DEFAULT_INSTANCE_TYPES),
                ).name
            )
            spot_price, basis = _look_up(aws, chosen)
            instance_type = chosen
        else:
            basis = "Spot, given (--spot-price)"
        estimate = costs.estimate(
            mode,
            config,
            hours,
            instance_type=instance_type,
            spot_price=spot_price,
            spot_basis=basis,
            region=region,
            **settings,
        )
    except prices.Unpriced as error:
        raise CliError(f"{error}: {UNPRICED_HINT}") from None
    except ValueError as error:
        raise CliError(str(error)) from None
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if out.json_mode:
        out.json({**estimate.as_dict(), "notes": notes, "warnings": warnings})
        return
    _show(out, estimate, notes)
