"""The prices a run's cost is worked out with: one dated table, US East (N. Virginia).

Each ``Price`` names its unit and the AWS page it was read from. Monthly prices are turned
into hourly ones at ``HOURS_PER_MONTH`` hours a month, as the AWS pricing pages' own examples
do; FSx for Lustre and EBS bill storage "prorated by the second" (FSx for Lustre pricing
page), so a run pays for the seconds its storage exists. Free tiers are left out: a run is
priced as one of many in a month that has used them up.

The Spot price is an assumption, not a published figure: Spot prices move with supply and
demand, per Availability Zone (Amazon EC2 Spot Instances pricing page), so the table takes a
fixed discount (``SPOT_DISCOUNT``) on the On-Demand price of each instance type it lists
(``INSTANCE_TYPES``: every size of the c6i, m6i, r6i and c7i families, those Batch chooses
from for ``optimal``). Any other type is not in the table (``Unpriced``): its price must be
given (``batch-scratch cost --spot-price``) or looked up (``--look-up-spot-price``).

A price whose note says ``UNCHECKED`` is the figure published for us-east-1 as far as it could
be established on ``PRICES_DATE``, but was not read on the AWS page itself (whose price tables
are drawn by script): check it there before relying on it.

Used by ``tools.bench`` (``BENCH_PRICES``: ``python -m tools.bench`` prints them and
docs/benchmarks.md shows them with the date) and by ``batch-scratch cost``, ``follow``,
``runs`` and ``leftovers`` through ``batchscratch_cli.costs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from batchscratch.config import (
    GP3_BASELINE_IOPS,
    GP3_BASELINE_THROUGHPUT,
    LUSTRE_PER_UNIT_THROUGHPUT,
)

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
VPC_PRICING = "https://aws.amazon.com/vpc/pricing/"
"""NAT gateways and public IPv4 addresses (the page's "NAT Gateway" and "Public IPv4
Addresses" tabs)."""
SECRETS_MANAGER_PRICING = "https://aws.amazon.com/secrets-manager/pricing/"
CLOUDWATCH_PRICING = "https://aws.amazon.com/cloudwatch/pricing/"
KMS_PRICING = "https://aws.amazon.com/kms/pricing/"
S3_PRICING = "https://aws.amazon.com/s3/pricing/"
ECR_PRICING = "https://aws.amazon.com/ecr/pricing/"

UNCHECKED = "UNCHECKED: not read on the AWS page; the us-east-1 figure published elsewhere"
"""The note of a price that could not be read on the AWS page it cites (see the module)."""


class Unpriced(KeyError):
    """The table has no price for what was asked (an instance type, a Lustre deployment type
    or throughput, a volume type); the message names it and what the table does price."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Price:
    """One price: ``dollars`` per ``unit``, read from ``source`` (``note``: what it assumes).

    A unit ending in ``-month`` or ``-hour`` is a price of time (``hourly``).
    """

    name: str
    dollars: float
    unit: str
    source: str
    note: str = ""

    def hourly(self, quantity: float = 1.0) -> float:
        """Dollars per hour of ``quantity`` units (a monthly price at ``HOURS_PER_MONTH``).

        Raises:
            ValueError: the unit is not one of time (``request``, ``state transition``).
        """
        if self.unit.endswith("-month"):
            return quantity * self.dollars / HOURS_PER_MONTH
        if self.unit.endswith("-hour"):
            return quantity * self.dollars
        raise ValueError(f"{self.name} is priced per {self.unit}, not per month or hour")


# --------------------------------------------------------------------------- storage

LUSTRE_SCRATCH_2 = Price(
    "FSx for Lustre SCRATCH_2 (SSD) storage",
    0.140,
    "GB-month",
    FSX_LUSTRE_PRICING,
    "billed per second of the file system's existence",
)


def _persistent(deployment_type: str, throughput: int, dollars: float) -> Price:
    return Price(
        f"FSx for Lustre {deployment_type} (SSD) storage, {throughput} MB/s/TiB",
        dollars,
        "GB-month",
        FSX_LUSTRE_PRICING,
        f"throughput included; backups extra; {UNCHECKED}",
    )


LUSTRE_PERSISTENT_1: dict[int | None, Price] = {
    throughput: _persistent("PERSISTENT_1", throughput, dollars)
    for throughput, dollars in ((50, 0.145), (100, 0.210), (200, 0.290))
}
"""PERSISTENT_1 SSD storage by ``PerUnitStorageThroughput`` (MB/s/TiB)."""
LUSTRE_PERSISTENT_2: dict[int | None, Price] = {
    throughput: _persistent("PERSISTENT_2", throughput, dollars)
    for throughput, dollars in ((125, 0.145), (250, 0.210), (500, 0.340), (1000, 0.600))
}
"""PERSISTENT_2 SSD storage by ``PerUnitStorageThroughput`` (MB/s/TiB)."""

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
EBS_SNAPSHOT = Price(
    "EBS snapshot storage, Standard tier",
    0.05,
    "GB-month",
    EBS_PRICING,
    f"billed for the blocks stored, at most the volume's size; {UNCHECKED}",
)

# --------------------------------------------------------------------------- instances

ON_DEMAND_HOURLY: Mapping[str, float] = MappingProxyType(
    {
        "c6i.large": 0.085,
        "c6i.xlarge": 0.17,
        "c6i.2xlarge": 0.34,
        "c6i.4xlarge": 0.68,
        "c6i.8xlarge": 1.36,
        "c6i.12xlarge": 2.04,
        "c6i.16xlarge": 2.72,
        "c6i.24xlarge": 4.08,
        "c6i.32xlarge": 5.44,
        "m6i.large": 0.096,
        "m6i.xlarge": 0.192,
        "m6i.2xlarge": 0.384,
        "m6i.4xlarge": 0.768,
        "m6i.8xlarge": 1.536,
        "m6i.12xlarge": 2.304,
        "m6i.16xlarge": 3.072,
        "m6i.24xlarge": 4.608,
        "m6i.32xlarge": 6.144,
        "r6i.large": 0.126,
        "r6i.xlarge": 0.252,
        "r6i.2xlarge": 0.504,
        "r6i.4xlarge": 1.008,
        "r6i.8xlarge": 2.016,
        "r6i.12xlarge": 3.024,
        "r6i.16xlarge": 4.032,
        "r6i.24xlarge": 6.048,
        "r6i.32xlarge": 8.064,
        "c7i.large": 0.08925,
        "c7i.xlarge": 0.1785,
        "c7i.2xlarge": 0.357,
        "c7i.4xlarge": 0.714,
        "c7i.8xlarge": 1.428,
        "c7i.12xlarge": 2.142,
        "c7i.16xlarge": 2.856,
        "c7i.24xlarge": 4.284,
        "c7i.48xlarge": 8.568,
    }
)
"""On-Demand Linux dollars per instance-hour of each priced type (EC2 On-Demand pricing page;
c6i.8xlarge read there, the others ``UNCHECKED``). Metal sizes are left out: Batch's default
families are the virtual sizes."""

INSTANCE_FAMILIES = ("c6i", "m6i", "r6i", "c7i")
"""The families of ``ON_DEMAND_HOURLY``: those Batch's ``default_x86_64`` (and ``optimal``)
chooses from (botocore Batch model, ``ComputeResource.instanceTypes``)."""

SIZE_VCPUS = MappingProxyType(
    {
        "large": 2,
        "xlarge": 4,
        "2xlarge": 8,
        "4xlarge": 16,
        "8xlarge": 32,
        "12xlarge": 48,
        "16xlarge": 64,
        "24xlarge": 96,
        "32xlarge": 128,
        "48xlarge": 192,
    }
)
"""vCPUs of each size of the priced families (EC2 Instance Types guide, "Specifications")."""
FAMILY_GIB_PER_VCPU = MappingProxyType({"c": 2, "m": 4, "r": 8})
"""Memory per vCPU of the compute (c), general purpose (m) and memory optimized (r) families
priced (same guide: c6i.large has 4 GiB, m6i.large 8 GiB, r6i.large 16 GiB)."""

SPOT_DISCOUNT = 0.60
"""Assumed: the Spot price is this much below On-Demand (AWS quotes "up to 90%")."""


@dataclass(frozen=True)
class InstanceType:
    """An instance type of the table: its size and its On-Demand Linux price (per hour)."""

    name: str
    vcpus: int
    memory_mib: int
    on_demand: float

    @property
    def family(self) -> str:
        """The family, e.g. ``c6i`` of ``c6i.8xlarge``."""
        return self.name.split(".", 1)[0]

    @property
    def spot(self) -> float:
        """The assumed Spot price per hour: ``SPOT_DISCOUNT`` off On-Demand (4 decimals)."""
        return round(self.on_demand * (1 - SPOT_DISCOUNT), 4)


def _instance_type(name: str, on_demand: float) -> InstanceType:
    family, size = name.split(".", 1)
    vcpus = SIZE_VCPUS[size]
    return InstanceType(name, vcpus, vcpus * FAMILY_GIB_PER_VCPU[family[0]] * 1024, on_demand)


INSTANCE_TYPES: Mapping[str, InstanceType] = MappingProxyType(
    {name: _instance_type(name, dollars) for name, dollars in ON_DEMAND_HOURLY.items()}
)
"""Every instance type the table prices, by name."""


def instance_type(name: str) -> InstanceType:
    """Return the table's entry of the instance type ``name`` (``c6i.8xlarge``).

    Raises:
        Unpriced: the table does not list it.
    """
    if name not in INSTANCE_TYPES:
        raise Unpriced(
            f"instance type {name!r} is not in the price table ({REGION}, {PRICES_DATE}), "
            f"which prices every size of {', '.join(INSTANCE_FAMILIES)}"
        )
    return INSTANCE_TYPES[name]


INSTANCE_TYPE = "c6i.8xlarge"
"""The instance a default run's job gets: the compute environment's default ``InstanceTypes``
is ``optimal``, which Batch treats as ``default_x86_64``, the m6i, c6i, r6i and c7i families
(botocore Batch model, ``ComputeResource.instanceTypes``); the smallest of their types that
holds the default job (``jobDefinitionVcpus`` 32, ``jobDefinitionMemory`` 30,000 MiB) is an
``8xlarge`` with 32 vCPUs, and c6i's is the cheapest of those (an assumption: Batch's
allocation strategy, not this table, picks among them)."""
INSTANCE_VCPUS = INSTANCE_TYPES[INSTANCE_TYPE].vcpus
INSTANCE_MEMORY_MIB = INSTANCE_TYPES[INSTANCE_TYPE].memory_mib
ON_DEMAND_INSTANCE = Price(
    f"EC2 {INSTANCE_TYPE} On-Demand, Linux",
    INSTANCE_TYPES[INSTANCE_TYPE].on_demand,
    "instance-hour",
    EC2_ON_DEMAND_PRICING,
)
SPOT_INSTANCE = Price(
    f"EC2 {INSTANCE_TYPE} Spot, Linux",
    INSTANCE_TYPES[INSTANCE_TYPE].spot,
    "instance-hour",
    EC2_SPOT_PRICING,
    f"an assumption: {SPOT_DISCOUNT:.0%} off On-Demand; Spot prices change with demand",
)

# --------------------------------------------------------------------------- orchestration

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

# --------------------------------------------------------------------------- the idle stack

NAT_DATA_PROCESSED = Price(
    "VPC NAT gateway data processed",
    0.045,
    "GB",
    VPC_PRICING,
    f"what the instances send or receive through it (not S3: the stack's gateway endpoint); "
    f"{UNCHECKED}",
)
NAT_GATEWAY = Price(
    "VPC NAT gateway",
    0.045,
    "NAT gateway-hour",
    VPC_PRICING,
    f"plus ${NAT_DATA_PROCESSED.dollars:g} per GB it processes; {UNCHECKED}",
)
PUBLIC_IPV4 = Price(
    "Public IPv4 address",
    0.005,
    "address-hour",
    VPC_PRICING,
    f"in use or idle, such as a NAT gateway's Elastic IP; {UNCHECKED}",
)
SECRET = Price(
    "Secrets Manager secret",
    0.40,
    "secret-month",
    SECRETS_MANAGER_PRICING,
    f"plus $0.05 per 10,000 API calls; {UNCHECKED}",
)
ALARM = Price(
    "CloudWatch alarm, standard resolution",
    0.10,
    "alarm metric-month",
    CLOUDWATCH_PRICING,
    f"10 alarm metrics a month are free; {UNCHECKED}",
)
KMS_KEY = Price(
    "KMS customer managed key",
    1.00,
    "key-month",
    KMS_PRICING,
    "prorated hourly; each automatic rotation adds $1/month (the first after a year); "
    "requests $0.03 per 10,000",
)
S3_STANDARD = Price(
    "S3 Standard storage", 0.023, "GB-month", S3_PRICING, f"first 50 TB a month; {UNCHECKED}"
)
ECR_STORAGE = Price("ECR private repository storage", 0.10, "GB-month", ECR_PRICING, f"{UNCHECKED}")

# --------------------------------------------------------------------------- the table

BENCH_PRICES: tuple[Price, ...] = (
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
"""The prices ``tools.bench`` works a run's cost out with, in the order it shows them."""

PRICES: tuple[Price, ...] = (
    *BENCH_PRICES,
    *LUSTRE_PERSISTENT_1.values(),
    *LUSTRE_PERSISTENT_2.values(),
    EBS_SNAPSHOT,
    NAT_GATEWAY,
    NAT_DATA_PROCESSED,
    PUBLIC_IPV4,
    SECRET,
    ALARM,
    KMS_KEY,
    S3_STANDARD,
    ECR_STORAGE,
)
"""Every price of the table but the instance types (``INSTANCE_TYPES``), in order."""

LUSTRE_PER_GB_MONTH: Mapping[str, Mapping[int | None, Price]] = MappingProxyType(
    {
        "SCRATCH_2": {None: LUSTRE_SCRATCH_2},
        "PERSISTENT_1": LUSTRE_PERSISTENT_1,
        "PERSISTENT_2": LUSTRE_PERSISTENT_2,
    }
)
"""The Lustre SSD deployment types the table prices, each by ``PerUnitStorageThroughput``
(SCRATCH_2's throughput is fixed: ``None``). The product's default is SCRATCH_2."""


def lustre_price(
    deployment_type: str = "SCRATCH_2", per_unit_throughput: int | None = None
) -> Price:
    """Return the storage price of a Lustre SSD file system of ``deployment_type``.

    Args:
        deployment_type: ``SCRATCH_2``, ``PERSISTENT_1`` or ``PERSISTENT_2``.
        per_unit_throughput: MB/s/TiB of a persistent type (None: its lowest, what the
            product sends when ``lustrePerUnitStorageThroughput`` is unset); ignored for
            SCRATCH_2.

    Raises:
        Unpriced: a deployment type or throughput the table does not price.
    """
    tiers = LUSTRE_PER_GB_MONTH.get(deployment_type)
    if tiers is None:
        raise Unpriced(
            f"no price for Lustre {deployment_type} (priced: {', '.join(LUSTRE_PER_GB_MONTH)})"
        )
    if None in tiers:
        return tiers[None]
    throughput = per_unit_throughput or LUSTRE_PER_UNIT_THROUGHPUT[deployment_type][0]
    if throughput not in tiers:
        raise Unpriced(
            f"no price for Lustre {deployment_type} at {throughput} MB/s/TiB "
            f"(priced: {', '.join(str(t) for t in tiers if t is not None)} MB/s/TiB)"
        )
    return tiers[throughput]


def lustre_hourly(
    capacity_gib: int, deployment_type: str = "SCRATCH_2", per_unit_throughput: int | None = None
) -> float:
    """Dollars per hour of an FSx for Lustre file system of ``capacity_gib`` GiB
    (``lustre_price`` says which price).

    Raises:
        Unpriced: a deployment type or throughput the table does not price (a ``KeyError``).
    """
    return lustre_price(deployment_type, per_unit_throughput).hourly(capacity_gib)


def gp3_hourly(size_gib: int, iops: int, throughput_mib_s: int) -> float:
    """Dollars per hour of a gp3 volume: its size, plus the IOPS above 3,000 and the
    throughput (MiB/s) above 125 it provisions."""
    monthly = (
        size_gib * GP3_STORAGE.dollars
        + max(0, iops - GP3_BASELINE_IOPS) * GP3_IOPS.dollars
        + max(0, throughput_mib_s - GP3_BASELINE_THROUGHPUT) * GP3_THROUGHPUT.dollars
    )
    return monthly / HOURS_PER_MONTH


def instance_hourly(instance_type_name: str = INSTANCE_TYPE) -> float:
    """Dollars per hour of a Spot instance of ``instance_type_name`` (the assumed discount;
    by default the default run's, ``SPOT_INSTANCE``).

    Raises:
        Unpriced: the table does not list the type.
    """
    return instance_type(instance_type_name).spot


def transitions_cost(transitions: float) -> float:
    """Dollars for ``transitions`` Step Functions Standard state transitions."""
    return transitions * STATE_TRANSITION.dollars


def lambda_cost(invocations: float, gb_seconds: float) -> float:
    """Dollars for ``invocations`` arm64 Lambda requests running ``gb_seconds`` in all."""
    return invocations * LAMBDA_REQUEST.dollars + gb_seconds * LAMBDA_ARM_DURATION.dollars
