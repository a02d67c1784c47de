"""What runs and the idle stack cost, worked out with the price table (``prices``).

Hourly figures for what AWS describes (a volume, a file system, a snapshot: the entries of
EC2 DescribeVolumes and DescribeSnapshots, FSx DescribeFileSystems), for an instance type, for
a run's configuration and for the stack while no run exists, and ``estimate``, which puts a
run's together for ``batch-scratch cost``. The only AWS call here is ``latest_spot_price``
(EC2 DescribeSpotPriceHistory); everything else is arithmetic on the table.

How many instances a run pays for (``instances_for``), a simple rule, not Batch's own:

- The job, or each child of an array job (``arraySize``, the Lustre modes), needs
  ``jobDefinitionVcpus`` vCPUs and ``jobDefinitionMemory`` MiB on one instance.
- At most ``MaxvCpus // jobDefinitionVcpus`` children run at once (a compute environment never
  runs more than ``maxvCpus`` vCPUs of jobs; AWS Batch API Reference, ComputeResource).
- The instance type is the cheapest of the table that holds one child (``choose_instance_type``)
  among the stack's ``InstanceTypes``, unless one is given; as many children share an instance
  as its vCPUs and memory (less the ``AGENT_RESERVED_MIB`` Batch's AMI keeps) hold.
- The instances those children need run for the whole job length: an upper bound when an
  array's last children finish early.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from batchscratch.config import (
    CONFIG_MODELS,
    GP3_BASELINE_IOPS,
    GP3_BASELINE_THROUGHPUT,
    CommonConfig,
    LustreConfig,
    OnlyEbsConfig,
)
from batchscratch.placement import AGENT_RESERVED_MIB, BATCH_CHOSEN_TYPES
from batchscratch_cli import prices
from batchscratch_cli.prices import InstanceType, Price, Unpriced

DEFAULT_MAX_VCPUS = 256
"""The template's default ``MaxvCpus`` (tests/cli/test_costs.py checks template.yaml)."""
DEFAULT_INSTANCE_TYPES = ("optimal",)
"""The template's default ``InstanceTypes``."""
X86_DEFAULTS = frozenset({"optimal", "default_x86_64"})
"""``InstanceTypes`` values that mean the m6i, c6i, r6i and c7i families (botocore Batch model,
``ComputeResource.instanceTypes``): ``INSTANCE_FAMILIES``, all of which the table prices."""

SPOT_PRODUCT = "Linux/UNIX"
"""The Spot price history's product of the run's instances (ECS-optimized Amazon Linux)."""
SPOT_HISTORY_PAGES = 20
"""Pages of DescribeSpotPriceHistory read at most (one page holds every zone's latest price
of one type; the limit only ends a loop that would not)."""


# --------------------------------------------------------------------------- what AWS describes


def volume_hourly(volume: Mapping[str, Any]) -> float:
    """Dollars per hour of an EBS volume, from its EC2 DescribeVolumes entry.

    Args:
        volume: ``{"VolumeType": "gp3", "Size": GiB, "Iops": ..., "Throughput": MiB/s}``
            (EC2 API Reference, Volume); missing Iops/Throughput count as gp3's baseline.

    Raises:
        Unpriced: a volume type other than gp3 (what the product creates).
    """
    kind = volume.get("VolumeType", "gp3")
    if kind != "gp3":
        raise Unpriced(f"no price for EBS volume type {kind!r} in the table (priced: gp3)")
    return prices.gp3_hourly(
        int(volume["Size"]),
        int(volume.get("Iops") or GP3_BASELINE_IOPS),
        int(volume.get("Throughput") or GP3_BASELINE_THROUGHPUT),
    )


def file_system_hourly(file_system: Mapping[str, Any]) -> float:
    """Dollars per hour of an FSx for Lustre file system, from its DescribeFileSystems entry.

    Args:
        file_system: ``{"StorageCapacity": GiB, "StorageType": "SSD", "LustreConfiguration":
            {"DeploymentType": ..., "PerUnitStorageThroughput": MB/s/TiB}}`` (FSx API
            Reference, FileSystem and LustreFileSystemConfiguration).

    Raises:
        Unpriced: not a Lustre SSD file system, or a deployment type or throughput the table
            does not price.
    """
    kind = file_system.get("FileSystemType", "LUSTRE")
    storage = file_system.get("StorageType", "SSD")
    if kind != "LUSTRE" or storage != "SSD":
        raise Unpriced(
            f"no price for an FSx {kind} file system with {storage} storage in the table "
            "(priced: Lustre SSD)"
        )
    lustre = file_system.get("LustreConfiguration", {})
    return prices.lustre_hourly(
        int(file_system["StorageCapacity"]),
        str(lustre.get("DeploymentType", "SCRATCH_2")),
        lustre.get("PerUnitStorageThroughput"),
    )


def snapshot_hourly(snapshot: Mapping[str, Any]) -> float:
    """Dollars per hour of an EBS snapshot, at most: its EC2 DescribeSnapshots entry's
    ``VolumeSize`` (GiB) at the Standard tier's price. A snapshot bills only the blocks it
    stores (Amazon EBS pricing page; re:Post "How am I billed for my Amazon EBS snapshots?"),
    which the entry does not say, so this is an upper bound."""
    return prices.EBS_SNAPSHOT.hourly(int(snapshot["VolumeSize"]))


def instance_hourly(instance_type: str, spot_price: float | None = None) -> float:
    """Dollars per hour of one Spot instance of ``instance_type``.

    Args:
        instance_type: an EC2 instance type, e.g. ``c6i.8xlarge``.
        spot_price: the price to use (given, or looked up: ``latest_spot_price``); None: the
            table's assumption (``prices.SPOT_DISCOUNT`` off its On-Demand price).

    Raises:
        Unpriced: no ``spot_price`` and the table does not list the type.
        ValueError: ``spot_price`` is not positive.
    """
    if spot_price is not None:
        if not spot_price > 0:
            raise ValueError(f"spot price = {spot_price}: must be more than 0 dollars an hour")
        return spot_price
    return prices.instance_hourly(instance_type)


def config_storage_price(config: CommonConfig) -> tuple[Price, ...]:
    """The prices a run's storage is billed at: its Lustre deployment type's, or gp3's."""
    if isinstance(config, LustreConfig):
        return (prices.lustre_price(config.lustreDeploymentType, config.per_unit_throughput()),)
    return (prices.GP3_STORAGE, prices.GP3_IOPS, prices.GP3_THROUGHPUT)


def config_storage_hourly(mode: str, config: CommonConfig) -> float:
    """Dollars per hour of the storage a run of ``mode`` with ``config`` creates: an FSx for
    Lustre file system (``lustreStorageCapacity`` GiB of ``lustreDeploymentType`` at its
    ``per_unit_throughput``) or a gp3 volume (``ebsSizeGb``, ``ebsIOPS``, ``ebsThroughput``).

    Raises:
        ValueError: ``config`` is not a configuration of ``mode``'s kind of storage.
        Unpriced: a Lustre deployment type or throughput the table does not price.
    """
    model = CONFIG_MODELS.get(mode)
    if model is None or not isinstance(config, model):
        raise ValueError(f"a {type(config).__name__} is not a configuration of mode {mode}")
    if isinstance(config, LustreConfig):
        return prices.lustre_hourly(
            config.lustreStorageCapacity,
            config.lustreDeploymentType,
            config.per_unit_throughput(),
        )
    if isinstance(config, OnlyEbsConfig):
        return prices.gp3_hourly(config.ebsSizeGb, config.ebsIOPS, config.ebsThroughput)
    raise ValueError(f"mode {mode}'s configuration names no storage the table prices")


def describe_storage(config: CommonConfig) -> str:
    """One line naming a run's storage, e.g. ``FSx for Lustre SCRATCH_2, 2400 GiB``."""
    if isinstance(config, LustreConfig):
        throughput = config.per_unit_throughput()
        return (
            f"FSx for Lustre {config.lustreDeploymentType}, {config.lustreStorageCapacity} GiB"
            + (f", {throughput} MB/s/TiB" if throughput else "")
        )
    if isinstance(config, OnlyEbsConfig):
        return (
            f"EBS gp3, {config.ebsSizeGb} GiB, {config.ebsIOPS} IOPS, {config.ebsThroughput} MiB/s"
        )
    raise ValueError(f"{type(config).__name__} names no storage")


# --------------------------------------------------------------------------- the idle stack


@dataclass(frozen=True)
class IdleResource:
    """A resource of template.yaml that bills while the stack exists, runs or not.

    ``resource_type`` is its CloudFormation type, ``count`` how many the template declares,
    ``own_vpc_only`` whether only a stack that creates its VPC (``VpcId`` empty, condition
    ``CreateVpc``) has them."""

    resource_type: str
    price: Price
    count: int
    own_vpc_only: bool = False


IDLE_RESOURCES: tuple[IdleResource, ...] = (
    IdleResource("AWS::EC2::NatGateway", prices.NAT_GATEWAY, 1, own_vpc_only=True),
    IdleResource("AWS::EC2::EIP", prices.PUBLIC_IPV4, 1, own_vpc_only=True),
    IdleResource("AWS::SecretsManager::Secret", prices.SECRET, 1),
    IdleResource("AWS::CloudWatch::Alarm", prices.ALARM, 2),
    IdleResource("AWS::KMS::Key", prices.KMS_KEY, 1),
)
"""What the stack bills by the hour or month without a run (counted in template.yaml;
tests/cli/test_costs.py counts them again). The KMS key is the release topic's own; a
``KmsKeyArn`` of the user's is billed to them whether or not the stack uses it."""

IDLE_LEFT_OUT: tuple[str, ...] = (
    f"NAT gateway data processed (${prices.NAT_DATA_PROCESSED.dollars:g} per GB): what the "
    "instances exchange with the internet and AWS services other than S3 (image pulls from "
    "ECR, logs, API calls)",
    f"S3 storage of the results (${prices.S3_STANDARD.dollars:g} per GB-month) and ECR storage "
    f"of the images (${prices.ECR_STORAGE.dollars:g} per GB-month): they depend on the data kept",
    "CloudWatch Logs ingestion and storage of the job and function logs",
    "the daily sweep's Lambda and Step Functions use, KMS and Secrets Manager requests, and "
    "the alarms' free tier",
)
"""What the idle figures leave out, and why."""


@dataclass(frozen=True)
class IdleLine:
    """One line of the idle stack: ``quantity`` of ``price`` (``resource_type``)."""

    resource_type: str
    price: Price
    quantity: float

    @property
    def hourly(self) -> float:
        """Dollars per hour of the line."""
        return self.price.hourly(self.quantity)

    def as_dict(self) -> dict[str, Any]:
        """The line as the ``--json`` output shows it."""
        return {
            "name": self.price.name,
            "resourceType": self.resource_type,
            "quantity": self.quantity,
            "dollars": self.price.dollars,
            "unit": self.price.unit,
            "hourly": self.hourly,
            "source": self.price.source,
            "note": self.price.note,
        }


def idle_stack_hourly(creates_vpc: bool) -> list[IdleLine]:
    """The lines of what the stack bills per hour with no run: its secret, alarms and KMS key,
    and, when it created its VPC, the NAT gateway and that gateway's public IPv4 address.

    Args:
        creates_vpc: the stack's ``VpcId`` parameter is empty (it created its network).

    Returns:
        One ``IdleLine`` per kind of resource, with its price and quantity (``IDLE_LEFT_OUT``
        says what is not counted).
    """
    return [
        IdleLine(resource.resource_type, resource.price, resource.count)
        for resource in IDLE_RESOURCES
        if creates_vpc or not resource.own_vpc_only
    ]


# --------------------------------------------------------------------------- compute


def holds(instance: InstanceType, vcpus: int, memory_mib: int) -> bool:
    """True when one job of ``vcpus`` vCPUs and ``memory_mib`` MiB fits on ``instance``: the
    memory the ECS agent may register is the instance's less ``AGENT_RESERVED_MIB`` at least
    (Batch User Guide, "Compute resource memory management"; ``batchscratch.placement``)."""
    return vcpus <= instance.vcpus and memory_mib <= instance.memory_mib - AGENT_RESERVED_MIB


def allowed_instance_types(instance_types: Collection[str]) -> list[InstanceType]:
    """The table's types a compute environment with ``instance_types`` (the stack parameter
    ``InstanceTypes``: families, types, ``optimal``, ``default_x86_64``) may launch."""
    families = {name for name in instance_types if "." not in name}
    if families & X86_DEFAULTS:
        families |= set(prices.INSTANCE_FAMILIES)
    return [
        kind
        for kind in prices.INSTANCE_TYPES.values()
        if kind.family in families or kind.name in instance_types
    ]


def choose_instance_type(
    vcpus: int, memory_mib: int, instance_types: Collection[str] = DEFAULT_INSTANCE_TYPES
) -> InstanceType:
    """Return the cheapest type of the table (On-Demand price, then fewer vCPUs) that holds
    one job of ``vcpus`` and ``memory_mib`` among ``instance_types`` (an assumption: Batch's
    allocation strategy picks, by price and Spot capacity).

    Raises:
        Unpriced: no type of the table among ``instance_types`` holds the job (the types are
            not in the table, such as ``default_arm64``'s, or too small).
    """
    fitting = [
        kind for kind in allowed_instance_types(instance_types) if holds(kind, vcpus, memory_mib)
    ]
    if not fitting:
        batch_chosen = sorted(set(instance_types) & BATCH_CHOSEN_TYPES - X86_DEFAULTS)
        raise Unpriced(
            f"no instance type of the price table holds a job of {vcpus} vCPUs and "
            f"{memory_mib} MiB among InstanceTypes {','.join(instance_types)}"
            + (
                f" ({', '.join(batch_chosen)}: families the table does not price)"
                if batch_chosen
                else ""
            )
        )
    return min(fitting, key=lambda kind: (kind.on_demand, kind.vcpus))


def jobs_at_once(config: CommonConfig, max_vcpus: int) -> int:
    """How many of the run's jobs run at once: its array's children (``arraySize``, Lustre
    modes; else 1), at most ``max_vcpus // jobDefinitionVcpus``, at least 1."""
    children = config.arraySize if isinstance(config, LustreConfig) else 1
    return max(1, min(children, max_vcpus // config.jobDefinitionVcpus))


def instances_for(config: CommonConfig, instance: InstanceType | None, max_vcpus: int) -> int:
    """How many instances run the job at once (the module's rule).

    Args:
        config: the run's configuration (vCPUs, memory, array size).
        instance: the instance type, or None when the table does not know its size (one job
            per instance is then assumed).
        max_vcpus: the compute environment's ``MaxvCpus``.

    Raises:
        ValueError: ``instance`` cannot hold one job.
    """
    vcpus, memory = config.jobDefinitionVcpus, config.jobDefinitionMemory
    jobs = jobs_at_once(config, max_vcpus)
    if instance is None:
        return jobs
    if not holds(instance, vcpus, memory):
        raise ValueError(
            f"{instance.name} ({instance.vcpus} vCPUs, {instance.memory_mib} MiB) cannot hold "
            f"a job of jobDefinitionVcpus = {vcpus} and jobDefinitionMemory = {memory} MiB"
        )
    per_instance = min(
        instance.vcpus // vcpus, (instance.memory_mib - AGENT_RESERVED_MIB) // memory
    )
    needed = math.ceil(jobs / per_instance)
    # Batch exceeds maxvCpus by at most one instance (AWS Batch API Reference, ComputeResource).
    return max(1, min(needed, max_vcpus // instance.vcpus))


@dataclass(frozen=True)
class SpotQuote:
    """The latest Spot price of an instance type in the cheapest Availability Zone."""

    instance_type: str
    dollars: float
    availability_zone: str
    timestamp: datetime


def latest_spot_price(
    ec2: Any, instance_type: str, now: datetime | None = None
) -> SpotQuote | None:
    """Return the lowest current Spot price of ``instance_type`` across the Region's zones.

    EC2 DescribeSpotPriceHistory (``InstanceTypes``, ``ProductDescriptions`` Linux/UNIX,
    ``StartTime`` now): with a start time, it "returns the last price change before the start
    time, which is the effective price as of the start time" (botocore ec2 model), per zone;
    the latest of each zone is its price, and the lowest of those is returned.

    Args:
        ec2: a boto3 EC2 client of the stack's Region.
        instance_type: e.g. ``c6i.8xlarge``.
        now: the start time (default: the current UTC time).

    Returns:
        The quote, or None when the Region has no Spot price of the type.
    """
    start = now or datetime.now(UTC)
    latest: dict[str, tuple[datetime, float]] = {}
    request: dict[str, Any] = {
        "InstanceTypes": [instance_type],
        "ProductDescriptions": [SPOT_PRODUCT],
        "StartTime": start,
    }
    for _ in range(SPOT_HISTORY_PAGES):
        page = ec2.describe_spot_price_history(**request)
        for entry in page.get("SpotPriceHistory", []):
            if entry.get("InstanceType") != instance_type:
                continue
            if not str(entry.get("ProductDescription", "")).startswith(SPOT_PRODUCT):
                continue
            zone, stamp = str(entry["AvailabilityZone"]), entry["Timestamp"]
            if zone not in latest or stamp > latest[zone][0]:
                latest[zone] = (stamp, float(entry["SpotPrice"]))
        token = page.get("NextToken")
        if not token:
            break
        request["NextToken"] = token
    if not latest:
        return None
    zone, (stamp, dollars) = min(latest.items(), key=lambda item: item[1][1])
    return SpotQuote(instance_type, dollars, zone, stamp)


# --------------------------------------------------------------------------- the estimate

RUN_LEFT_OUT: tuple[str, ...] = (
    "the storage's minutes before and after the job (creation, export, deletion) and the "
    "compute's after it: docs/benchmarks.md measures them",
    "the run's Step Functions state transitions and Lambda time (cents a run: docs/benchmarks.md)",
    "each instance's root volume (30 GiB gp3) and data transfer",
    "a failed run's kept file system, volume or snapshot (batch-scratch leftovers prices them)",
)
"""What a run's figures leave out, and why."""


@dataclass(frozen=True)
class Estimate:
    """What a run of a configuration costs, and what the stack costs meanwhile.

    Attributes:
        mode: the stack's mode.
        storage: one line naming the storage (``describe_storage``).
        storage_hourly: dollars per hour of the run's storage.
        storage_prices: the prices it is billed at.
        instance_type: the instance type priced.
        instances: how many run at once (``instances_for``).
        instance_hourly: dollars per hour of one instance.
        instance_basis: where that price comes from (the table's assumption, On-Demand, a
            given or a looked-up Spot price).
        idle: the idle stack's lines (``idle_stack_hourly``).
        hours: the job's length, hours.
        region: the stack's Region (the table is ``prices.REGION``'s).
        left_out: what the figures do not count.
    """

    mode: str
    storage: str
    storage_hourly: float
    storage_prices: tuple[Price, ...]
    instance_type: str
    instances: int
    instance_hourly: float
    instance_basis: str
    idle: tuple[IdleLine, ...]
    hours: float
    region: str = prices.REGION
    left_out: tuple[str, ...] = field(default=RUN_LEFT_OUT + IDLE_LEFT_OUT)

    @property
    def compute_hourly(self) -> float:
        """Dollars per hour of the run's instances."""
        return self.instances * self.instance_hourly

    @property
    def run_hourly(self) -> float:
        """Dollars per hour of a run: its storage and its instances."""
        return self.storage_hourly + self.compute_hourly

    @property
    def per_run(self) -> float:
        """Dollars of one run whose job lasts ``hours``: storage and instances that long."""
        return self.run_hourly * self.hours

    @property
    def idle_hourly(self) -> float:
        """Dollars per hour of the stack itself, with or without runs."""
        return sum(line.hourly for line in self.idle)

    @property
    def idle_monthly(self) -> float:
        """Dollars per month of the stack itself (``prices.HOURS_PER_MONTH`` hours)."""
        return self.idle_hourly * prices.HOURS_PER_MONTH

    @property
    def sources(self) -> list[str]:
        """The pricing pages of every figure, each once, in the order they are used."""
        pages = [price.source for price in self.storage_prices]
        pages += [prices.EC2_ON_DEMAND_PRICING, prices.EC2_SPOT_PRICING]
        pages += [line.price.source for line in self.idle]
        return list(dict.fromkeys(pages))

    def as_dict(self) -> dict[str, Any]:
        """Every figure, as ``batch-scratch cost --json`` prints it."""
        return {
            "mode": self.mode,
            "region": self.region,
            "pricesRegion": prices.REGION,
            "pricesDate": prices.PRICES_DATE,
            "hours": self.hours,
            "storage": {
                "description": self.storage,
                "hourly": self.storage_hourly,
                "prices": [_price(price) for price in self.storage_prices],
            },
            "compute": {
                "instanceType": self.instance_type,
                "instances": self.instances,
                "instanceHourly": self.instance_hourly,
                "basis": self.instance_basis,
                "hourly": self.compute_hourly,
            },
            "run": {"hourly": self.run_hourly, "total": self.per_run},
            "idle": {
                "hourly": self.idle_hourly,
                "monthly": self.idle_monthly,
                "items": [line.as_dict() for line in self.idle],
            },
            "leftOut": list(self.left_out),
            "sources": self.sources,
        }


def _price(price: Price) -> dict[str, Any]:
    return {
        "name": price.name,
        "dollars": price.dollars,
        "unit": price.unit,
        "source": price.source,
        "note": price.note,
    }


def estimate(
    mode: str,
    config: CommonConfig,
    hours: float,
    *,
    creates_vpc: bool = True,
    max_vcpus: int = DEFAULT_MAX_VCPUS,
    instance_types: Sequence[str] = DEFAULT_INSTANCE_TYPES,
    instance_type: str | None = None,
    spot_price: float | None = None,
    spot_basis: str = "a given Spot price",
    on_demand: bool = False,
    region: str = prices.REGION,
) -> Estimate:
    """Estimate a run of ``mode`` with ``config`` whose job lasts ``hours``.

    Args:
        mode: the stack's mode.
        config: the run's validated configuration.
        hours: the job's length (wall clock, every child of an array included), hours.
        creates_vpc: the stack created its VPC (NAT gateway and its address bill).
        max_vcpus: the stack's ``MaxvCpus``.
        instance_types: the stack's ``InstanceTypes`` (to choose the type from).
        instance_type: the type to price instead of choosing one.
        spot_price: the Spot price to use (dollars per instance-hour), else the table's.
        spot_basis: where ``spot_price`` comes from, as the output says it.
        on_demand: the compute environments are On-Demand (``ComputeEnvironmentType`` EC2).
        region: the stack's Region.

    Raises:
        ValueError: ``hours`` is not positive, ``spot_price`` with ``on_demand``, or the given
            ``instance_type`` cannot hold the job.
        Unpriced: what the run needs is not in the table, and no price was given.
    """
    if not hours > 0:
        raise ValueError(f"hours = {hours}: a job lasts more than 0 hours")
    if on_demand and spot_price is not None:
        raise ValueError("the compute environments are On-Demand: a Spot price does not apply")
    vcpus, memory = config.jobDefinitionVcpus, config.jobDefinitionMemory
    if instance_type is None:
        kind: InstanceType | None = choose_instance_type(vcpus, memory, instance_types)
    else:
        kind = prices.INSTANCE_TYPES.get(instance_type)
    name = instance_type or (kind.name if kind else "")
    left_out = RUN_LEFT_OUT + IDLE_LEFT_OUT
    if kind is None:
        left_out += (f"{name}'s size: the table does not know it, one job per instance assumed",)
    if on_demand:
        hourly = prices.instance_type(name).on_demand
        basis = "On-Demand (ComputeEnvironmentType EC2), the table's price"
    elif spot_price is not None:
        hourly, basis = instance_hourly(name, spot_price), spot_basis
    else:
        hourly = instance_hourly(name)
        basis = f"Spot, the table's assumption: {prices.SPOT_DISCOUNT:.0%} off On-Demand"
    return Estimate(
        mode=mode,
        storage=describe_storage(config),
        storage_hourly=config_storage_hourly(mode, config),
        storage_prices=config_storage_price(config),
        instance_type=name,
        instances=instances_for(config, kind, max_vcpus),
        instance_hourly=hourly,
        instance_basis=basis,
        idle=tuple(idle_stack_hourly(creates_vpc)),
        hours=hours,
        region=region,
        left_out=left_out,
    )
