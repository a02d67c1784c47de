"""The prices a run's cost is worked out with: one dated table, US East (N. Virginia).

Each ``Price`` names its unit and the AWS page it was read from. Monthly prices are turned
into hourly ones at ``HOURS_PER_MONTH`` hours a month, as the AWS pricing pages' own examples
do; FSx for Lustre and EBS bill storage "prorated by the second" (FSx for Lustre pricing
page), so a run pays for the seconds its storage exists. Free tiers are left out: a run is
priced as one of many in a month that has used them up.

The Spot price is an assumption, not a published figure: Spot prices move with supply and
demand, per Availability Zone (Amazon EC2 Spot Instances pricing page), so the table takes a
fixed discount on the On-Demand price of the instance a default run gets.

Used by ``tools.bench`` and ``batch-scratch``; ``python -m tools.bench`` prints the table and
docs/benchmarks.md shows it with its date.
"""

from __future__ import annotations

from dataclasses import dataclass

from batchscratch.config import GP3_BASELINE_IOPS, GP3_BASELINE_THROUGHPUT

PRICES_DATE = "2026-12-02"
"""When the figures below were read from the pages they cite."""
REGION = "us-east-1"
HOURS_PER_MONTH = 730.0
"""Hours in a month as AWS's pricing examples count them (365 days x 24 h / 12)."""

FSX_LUSTRE_PRICING = "https://aws.amazon.com/fsx/lustre/pricing/"
EBS_PRICING = "https://aws.amazon.com/ebs/pricing/"
EC2_ON_DEMAND_PRICING = "https://aws.amazon.com/ec2/pricing/on-demand/"
EC2_SPOT_PRICING = "https://aws.amazon.com/ec2/spot/pricing/"
STEP_FUNCTIONS_PRICING = "https://aws.amazon.com/step-functions/pricing/"
LAMBDA_PRICING = "https://aws.amazon.com/lambda/pricing/"


@dataclass(frozen=True)
class Price:
    """One price: ``dollars`` per ``unit``, read from ``source`` (``note``: what it assumes)."""

    name: str
    dollars: float
    unit: str
    source: str
    note: str = ""


LUSTRE_SCRATCH_2 = Price(
    "FSx for Lustre SCRATCH_2 (SSD) storage",
    0.140,
    "GB-month",
    FSX_LUSTRE_PRICING,
    "billed per second of the file system's existence",
)
GP3_STORAGE = Price("EBS gp3 storage", 0.08, "GB-month", EBS_PRICING)
GP3_IOPS = Price(
    "EBS gp3 IOPS above the baseline",
    0.005,
    "provisioned IOPS-month",
    EBS_PRICING,
    f"{GP3_BASELINE_IOPS} IOPS are included",
)
GP3_THROUGHPUT = Price(
    "EBS gp3 throughput above the baseline",
    0.040,
    "provisioned MiB/s-month",
    EBS_PRICING,
    f"{GP3_BASELINE_THROUGHPUT} MiB/s are included",
)
INSTANCE_TYPE = "c6i.8xlarge"
"""The instance a default run's job gets: the compute environment's default ``InstanceTypes``
is ``optimal``, which Batch treats as ``default_x86_64``, the m6i, c6i, r6i and c7i families
(botocore Batch model, ``ComputeResource.instanceTypes``); the smallest of their types that
holds the default job (``jobDefinitionVcpus`` 32, ``jobDefinitionMemory`` 30,000 MiB) is an
``8xlarge`` with 32 vCPUs, and c6i's is the cheapest of those (an assumption: Batch's
allocation strategy, not this table, picks among them)."""
INSTANCE_VCPUS = 32
INSTANCE_MEMORY_MIB = 64 * 1024
ON_DEMAND_INSTANCE = Price(
    f"EC2 {INSTANCE_TYPE} On-Demand, Linux", 1.36, "instance-hour", EC2_ON_DEMAND_PRICING
)
SPOT_DISCOUNT = 0.60
"""Assumed: the Spot price is this much below On-Demand (AWS quotes "up to 90%")."""
SPOT_INSTANCE = Price(
    f"EC2 {INSTANCE_TYPE} Spot, Linux",
    round(ON_DEMAND_INSTANCE.dollars * (1 - SPOT_DISCOUNT), 4),
    "instance-hour",
    EC2_SPOT_PRICING,
    f"an assumption: {SPOT_DISCOUNT:.0%} off On-Demand; Spot prices change with demand",
)
STATE_TRANSITION = Price(
    "Step Functions Standard state transition",
    0.025 / 1000,
    "state transition",
    STEP_FUNCTIONS_PRICING,
    "$0.025 per 1,000; retries count",
)
LAMBDA_ARM_DURATION = Price(
    "Lambda duration, Arm (arm64)", 0.0000133334, "GB-second", LAMBDA_PRICING, "first tier"
)
LAMBDA_REQUEST = Price("Lambda requests", 0.20 / 1_000_000, "request", LAMBDA_PRICING)

PRICES: tuple[Price, ...] = (
    LUSTRE_SCRATCH_2,
    GP3_STORAGE,
    GP3_IOPS,
    GP3_THROUGHPUT,
    ON_DEMAND_INSTANCE,
    SPOT_INSTANCE,
    STATE_TRANSITION,
    LAMBDA_ARM_DURATION,
    LAMBDA_REQUEST,
)
"""Every price of the table, in the order it is shown."""

LUSTRE_PER_GB_MONTH = {"SCRATCH_2": LUSTRE_SCRATCH_2}
"""The Lustre deployment types the table prices (the product's default is SCRATCH_2)."""


def lustre_hourly(capacity_gib: int, deployment_type: str = "SCRATCH_2") -> float:
    """Dollars per hour of an FSx for Lustre file system of ``capacity_gib`` GiB.

    Raises:
        KeyError: a deployment type the table does not price.
    """
    if deployment_type not in LUSTRE_PER_GB_MONTH:
        raise KeyError(
            f"no price for Lustre {deployment_type} (priced: {', '.join(LUSTRE_PER_GB_MONTH)})"
        )
    return capacity_gib * LUSTRE_PER_GB_MONTH[deployment_type].dollars / HOURS_PER_MONTH


def gp3_hourly(size_gib: int, iops: int, throughput_mib_s: int) -> float:
    """Dollars per hour of a gp3 volume: its size, plus the IOPS above 3,000 and the
    throughput (MiB/s) above 125 it provisions."""
    monthly = (
        size_gib * GP3_STORAGE.dollars
        + max(0, iops - GP3_BASELINE_IOPS) * GP3_IOPS.dollars
        + max(0, throughput_mib_s - GP3_BASELINE_THROUGHPUT) * GP3_THROUGHPUT.dollars
    )
    return monthly / HOURS_PER_MONTH


def instance_hourly() -> float:
    """Dollars per hour of the run's Spot instance (``SPOT_INSTANCE``, an assumption)."""
    return SPOT_INSTANCE.dollars


def transitions_cost(transitions: float) -> float:
    """Dollars for ``transitions`` Step Functions Standard state transitions."""
    return transitions * STATE_TRANSITION.dollars


def lambda_cost(invocations: float, gb_seconds: float) -> float:
    """Dollars for ``invocations`` arm64 Lambda requests running ``gb_seconds`` in all."""
    return invocations * LAMBDA_REQUEST.dollars + gb_seconds * LAMBDA_ARM_DURATION.dollars
