"""What runs and the idle stack cost (batchscratch_cli/costs.py), against the price table
(batchscratch_cli/prices.py) and template.yaml: every expected figure is derived from the
table, so a price change changes the figure and these tests still hold."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from batchscratch.config import (
    CONFIG_MODELS,
    LUSTRE_PER_UNIT_THROUGHPUT,
    CommonConfig,
    OnlyEbsConfig,
    TaskExportConfig,
    build_config,
)
from batchscratch.placement import AGENT_RESERVED_MIB
from batchscratch_cli import costs, prices
from batchscratch_cli.configuration import PLACEHOLDER_IMAGE
from tests.template import cfn

MONTH = prices.HOURS_PER_MONTH
OWN_VPC = {"VpcId": "vpc-0123456789abcdef0", "PrivateSubnetIds": "subnet-0123456789abcdef0"}


def config(mode: str, **overrides: Any) -> CommonConfig:
    """A mode's default configuration with ``overrides``, as LoadConfig would build it."""
    return build_config(mode, {"jobDefinitionContainerImage": PLACEHOLDER_IMAGE}, overrides)


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return cfn.translate(cfn.load_sam_template())


# --------------------------------------------------------------------------- the table


def test_every_price_names_its_unit_page_and_region_s_table() -> None:
    assert prices.REGION == "us-east-1"
    datetime.strptime(prices.PRICES_DATE, "%Y-%m-%d")  # a date, or ValueError
    for price in (*prices.PRICES, prices.SPOT_INSTANCE):
        assert price.dollars > 0, price
        assert price.unit, price
        assert price.source.startswith("https://aws.amazon.com/"), price
    # The bench's subset is the table's first prices, in its order.
    assert prices.PRICES[: len(prices.BENCH_PRICES)] == prices.BENCH_PRICES


def test_every_lustre_deployment_and_throughput_a_run_may_ask_for_is_priced() -> None:
    assert prices.lustre_price("SCRATCH_2") is prices.LUSTRE_SCRATCH_2
    for deployment_type, tiers in LUSTRE_PER_UNIT_THROUGHPUT.items():
        for throughput in tiers:
            price = prices.lustre_price(deployment_type, throughput)
            assert f"{deployment_type} (SSD) storage, {throughput} MB/s/TiB" in price.name
        # Unset: the lowest tier, as the product creates it (LustreConfig.per_unit_throughput).
        assert prices.lustre_price(deployment_type) == prices.lustre_price(
            deployment_type, tiers[0]
        )


def test_the_instance_table_sizes_its_types_and_assumes_the_same_spot_discount() -> None:
    kind = prices.INSTANCE_TYPES["r6i.2xlarge"]
    assert (kind.vcpus, kind.memory_mib) == (8, 64 * 1024)
    assert prices.INSTANCE_TYPES["c7i.48xlarge"].vcpus == 192
    for kind in prices.INSTANCE_TYPES.values():
        assert kind.family in prices.INSTANCE_FAMILIES
        assert kind.spot == pytest.approx(kind.on_demand * (1 - prices.SPOT_DISCOUNT), abs=5e-5)
    # The bench's instance is the table's entry.
    assert prices.SPOT_INSTANCE.dollars == prices.INSTANCE_TYPES[prices.INSTANCE_TYPE].spot


def test_a_monthly_price_is_an_hourly_one_at_730_hours_and_a_count_is_not_time() -> None:
    assert prices.SECRET.hourly(3) == pytest.approx(3 * prices.SECRET.dollars / MONTH)
    assert prices.NAT_GATEWAY.hourly() == prices.NAT_GATEWAY.dollars
    with pytest.raises(ValueError, match="per state transition"):
        prices.STATE_TRANSITION.hourly()


# --------------------------------------------------------------------------- what AWS describes


@mock_aws
def test_a_described_gp3_volume_pays_its_size_and_what_it_provisions_above_the_baseline() -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    created = ec2.create_volume(
        AvailabilityZone="us-east-1a", Size=500, VolumeType="gp3", Iops=5000, Throughput=500
    )
    volume = ec2.describe_volumes(VolumeIds=[created["VolumeId"]])["Volumes"][0]

    expected = (
        500 * prices.GP3_STORAGE.dollars
        + (5000 - 3000) * prices.GP3_IOPS.dollars
        + (500 - 125) * prices.GP3_THROUGHPUT.dollars
    ) / MONTH
    assert costs.volume_hourly(volume) == pytest.approx(expected)
    with pytest.raises(prices.Unpriced, match=r"'io2'.*priced: gp3"):
        costs.volume_hourly({**volume, "VolumeType": "io2"})


@mock_aws
def test_a_described_snapshot_is_priced_at_its_volume_size_an_upper_bound() -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=200, VolumeType="gp3")
    snapshot_id = ec2.create_snapshot(VolumeId=volume["VolumeId"])["SnapshotId"]
    snapshot = ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"][0]

    assert costs.snapshot_hourly(snapshot) == pytest.approx(
        200 * prices.EBS_SNAPSHOT.dollars / MONTH
    )


def file_system(
    deployment_type: str, capacity: int, throughput: int | None = None
) -> dict[str, Any]:
    """A DescribeFileSystems entry (FSx API Reference, FileSystem), the keys priced."""
    lustre: dict[str, Any] = {"DeploymentType": deployment_type}
    if throughput is not None:
        lustre["PerUnitStorageThroughput"] = throughput
    return {
        "FileSystemType": "LUSTRE",
        "StorageType": "SSD",
        "StorageCapacity": capacity,
        "LustreConfiguration": lustre,
    }


def test_a_described_file_system_is_priced_by_deployment_type_throughput_and_capacity() -> None:
    assert costs.file_system_hourly(file_system("SCRATCH_2", 2400)) == pytest.approx(
        2400 * prices.LUSTRE_SCRATCH_2.dollars / MONTH
    )
    assert costs.file_system_hourly(file_system("PERSISTENT_2", 4800, 250)) == pytest.approx(
        4800 * prices.LUSTRE_PERSISTENT_2[250].dollars / MONTH
    )
    with pytest.raises(prices.Unpriced, match="HDD"):
        costs.file_system_hourly({**file_system("PERSISTENT_1", 6000, 12), "StorageType": "HDD"})
    with pytest.raises(prices.Unpriced, match="SCRATCH_1"):
        costs.file_system_hourly(file_system("SCRATCH_1", 3600))


def test_an_instance_is_the_table_s_spot_assumption_unless_a_price_is_given() -> None:
    assert costs.instance_hourly("m6i.4xlarge") == prices.INSTANCE_TYPES["m6i.4xlarge"].spot
    assert costs.instance_hourly("x2iedn.32xlarge", spot_price=4.2) == 4.2
    with pytest.raises(prices.Unpriced, match=r"'x2iedn.32xlarge' is not in the price table"):
        costs.instance_hourly("x2iedn.32xlarge")
    with pytest.raises(ValueError, match="spot price = 0"):
        costs.instance_hourly("c6i.large", spot_price=0)


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("mode", list(CONFIG_MODELS))
def test_a_mode_s_default_storage_follows_the_table(mode: str) -> None:
    defaults = config(mode)
    if isinstance(defaults, OnlyEbsConfig):
        expected = prices.gp3_hourly(defaults.ebsSizeGb, defaults.ebsIOPS, defaults.ebsThroughput)
    else:
        fields = TaskExportConfig.model_fields
        expected = (
            fields["lustreStorageCapacity"].default
            * prices.LUSTRE_PER_GB_MONTH[fields["lustreDeploymentType"].default][None].dollars
            / MONTH
        )
    assert costs.config_storage_hourly(mode, defaults) == pytest.approx(expected)


def test_a_persistent_file_system_is_priced_at_its_throughput() -> None:
    persistent = config(
        "TaskExport",
        lustreDeploymentType="PERSISTENT_2",
        lustreStorageCapacity=4800,
        lustrePerUnitStorageThroughput=1000,
    )
    assert costs.config_storage_hourly("TaskExport", persistent) == pytest.approx(
        4800 * prices.LUSTRE_PERSISTENT_2[1000].dollars / MONTH
    )
    with pytest.raises(ValueError, match="not a configuration of mode OnlyEBS"):
        costs.config_storage_hourly("OnlyEBS", persistent)


# --------------------------------------------------------------------------- the idle stack


@pytest.mark.parametrize("own_vpc", [True, False], ids=["creates-vpc", "existing-vpc"])
def test_the_idle_lines_are_what_template_yaml_deploys(
    translated: dict[str, Any], own_vpc: bool
) -> None:
    rendered = cfn.render(translated, {} if own_vpc else OWN_VPC)
    lines = {line.resource_type: line for line in costs.idle_stack_hourly(creates_vpc=own_vpc)}

    for resource in costs.IDLE_RESOURCES:
        deployed = len(cfn.resources_of_type(rendered, resource.resource_type))
        counted = lines[resource.resource_type].quantity if resource.resource_type in lines else 0
        assert counted == deployed, resource.resource_type
    if not own_vpc:
        assert "AWS::EC2::NatGateway" not in lines and "AWS::EC2::EIP" not in lines


def test_the_idle_stack_costs_the_sum_of_its_lines() -> None:
    expected = sum(r.price.hourly(r.count) for r in costs.IDLE_RESOURCES)
    lines = costs.idle_stack_hourly(creates_vpc=True)
    assert sum(line.hourly for line in lines) == pytest.approx(expected)
    without_nat = sum(line.hourly for line in costs.idle_stack_hourly(creates_vpc=False))
    assert expected - without_nat == pytest.approx(
        prices.NAT_GATEWAY.hourly() + prices.PUBLIC_IPV4.hourly()
    )


def test_the_stack_defaults_assumed_without_a_stack_are_the_template_s() -> None:
    parameters = cfn.load_sam_template()["Parameters"]
    assert parameters["MaxvCpus"]["Default"] == costs.DEFAULT_MAX_VCPUS
    assert parameters["InstanceTypes"]["Default"] == ",".join(costs.DEFAULT_INSTANCE_TYPES)
    assert parameters["VpcId"]["Default"] == ""  # the default stack creates its VPC


# --------------------------------------------------------------------------- compute


def test_the_default_job_gets_the_instance_the_bench_assumes() -> None:
    fields = CommonConfig.model_fields
    chosen = costs.choose_instance_type(
        fields["jobDefinitionVcpus"].default, fields["jobDefinitionMemory"].default
    )
    assert chosen.name == prices.INSTANCE_TYPE


def test_the_cheapest_type_that_holds_the_job_is_chosen_among_the_stack_s_types() -> None:
    # 4 vCPUs and 60 GiB: an r6i.2xlarge (8 vCPUs, 64 GiB) is cheaper than any c6i that holds it.
    memory_heavy = costs.choose_instance_type(4, 60 * 1024)
    assert memory_heavy.name == "r6i.2xlarge"
    assert costs.choose_instance_type(4, 60 * 1024, ["c6i"]).name == "c6i.8xlarge"
    # A job needs its memory less what Batch's AMI keeps: 8 GiB exactly does not fit 8 GiB.
    assert costs.choose_instance_type(2, 8 * 1024 - AGENT_RESERVED_MIB, ["m6i"]).name == "m6i.large"
    assert costs.choose_instance_type(2, 8 * 1024, ["m6i"]).name == "m6i.xlarge"
    with pytest.raises(prices.Unpriced, match="default_arm64: families the table does not price"):
        costs.choose_instance_type(2, 1024, ["default_arm64"])


def test_an_array_runs_as_many_children_at_once_as_max_vcpus_allows() -> None:
    array = config("TaskExport", arraySize=100, jobDefinitionVcpus=4, jobDefinitionMemory=7000)
    small = prices.INSTANCE_TYPES["c6i.xlarge"]  # holds one child
    big = prices.INSTANCE_TYPES["c6i.16xlarge"]  # 64 vCPUs: 16 children of 4 vCPUs

    assert costs.jobs_at_once(array, max_vcpus=256) == 64
    assert costs.instances_for(array, small, max_vcpus=256) == 64
    assert costs.instances_for(array, big, max_vcpus=256) == 4
    assert costs.instances_for(array, big, max_vcpus=40) == 1  # 10 children fit on one
    assert costs.instances_for(array, None, max_vcpus=256) == 64  # unknown size: one each
    assert costs.instances_for(config("OnlyEBS"), prices.INSTANCE_TYPES["c6i.8xlarge"], 256) == 1
    with pytest.raises(ValueError, match=r"c6i.large \(2 vCPUs, 4096 MiB\) cannot hold"):
        costs.instances_for(config("OnlyEBS"), prices.INSTANCE_TYPES["c6i.large"], 256)


def test_a_run_s_estimate_adds_storage_and_compute_for_the_job_s_hours() -> None:
    run = config("TaskExport", lustreStorageCapacity=4800, arraySize=3)
    estimate = costs.estimate("TaskExport", run, hours=2.5, creates_vpc=False)

    storage = 4800 * prices.LUSTRE_SCRATCH_2.dollars / MONTH
    kind = prices.INSTANCE_TYPES[prices.INSTANCE_TYPE]
    assert estimate.storage_hourly == pytest.approx(storage)
    assert (estimate.instance_type, estimate.instances) == (kind.name, 3)
    assert estimate.compute_hourly == pytest.approx(3 * kind.spot)
    assert estimate.per_run == pytest.approx(2.5 * (storage + 3 * kind.spot))
    assert estimate.idle_monthly == pytest.approx(estimate.idle_hourly * MONTH)
    assert prices.VPC_PRICING not in estimate.sources  # no NAT gateway without its VPC
    assert prices.FSX_LUSTRE_PRICING in estimate.sources

    on_demand = costs.estimate("TaskExport", run, hours=1, on_demand=True)
    assert on_demand.instance_hourly == kind.on_demand
    given = costs.estimate("TaskExport", run, hours=1, spot_price=0.25, spot_basis="given")
    assert (given.instance_hourly, given.instance_basis) == (0.25, "given")
    with pytest.raises(ValueError, match="hours = 0"):
        costs.estimate("TaskExport", run, hours=0)


def test_a_price_change_changes_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    run, table = config("OnlyEBS"), prices.INSTANCE_TYPES
    before = costs.estimate("OnlyEBS", run, hours=1)
    kind = table[before.instance_type]
    # Only its type dearer: the next cheapest that holds the job is chosen instead.
    dearer = {**table, kind.name: replace(kind, on_demand=kind.on_demand * 2)}
    monkeypatch.setattr(prices, "INSTANCE_TYPES", dearer)
    after = costs.estimate("OnlyEBS", run, hours=1)
    assert after.instance_type != kind.name
    assert after.instance_hourly == dearer[after.instance_type].spot
    assert kind.spot < after.instance_hourly < 2 * kind.spot
    # Every type dearer: the same type, at twice the price.
    doubled = {name: replace(t, on_demand=t.on_demand * 2) for name, t in table.items()}
    monkeypatch.setattr(prices, "INSTANCE_TYPES", doubled)
    twice = costs.estimate("OnlyEBS", run, hours=1)
    assert twice.instance_type == kind.name
    assert twice.compute_hourly == pytest.approx(2 * before.compute_hourly, abs=1e-4)


def test_an_unknown_instance_type_with_a_given_price_is_one_job_per_instance() -> None:
    array = config("AutoExport", arraySize=5)
    estimate = costs.estimate("AutoExport", array, 1, instance_type="hpc7a.96xlarge", spot_price=2)
    assert (estimate.instances, estimate.compute_hourly) == (5, 10)
    assert any("hpc7a.96xlarge's size" in item for item in estimate.left_out)
    with pytest.raises(prices.Unpriced, match=r"hpc7a\.96xlarge"):
        costs.estimate("AutoExport", array, 1, instance_type="hpc7a.96xlarge")


# --------------------------------------------------------------------------- Spot price history


def test_the_latest_spot_price_is_each_zone_s_last_and_the_lowest_of_the_zones() -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    request = {
        "InstanceTypes": ["c6i.8xlarge"],
        "ProductDescriptions": ["Linux/UNIX"],
        "StartTime": now,
    }

    def entry(zone: str, price: str, hours_ago: float) -> dict[str, Any]:
        return {
            "AvailabilityZone": zone,
            "InstanceType": "c6i.8xlarge",
            "ProductDescription": "Linux/UNIX",
            "SpotPrice": price,
            "Timestamp": now - timedelta(hours=hours_ago),
        }

    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_spot_price_history",
            {
                "SpotPriceHistory": [
                    entry("us-east-1a", "0.30", 5),
                    entry("us-east-1a", "0.50", 1),
                ],
                "NextToken": "page-2",
            },
            request,
        )
        stub.add_response(
            "describe_spot_price_history",
            {"SpotPriceHistory": [entry("us-east-1b", "0.40", 2)]},
            {**request, "NextToken": "page-2"},
        )
        quote = costs.latest_spot_price(ec2, "c6i.8xlarge", now)
        stub.add_response("describe_spot_price_history", {"SpotPriceHistory": []}, request)
        nothing = costs.latest_spot_price(ec2, "c6i.8xlarge", now)

    assert quote is not None
    assert (quote.dollars, quote.availability_zone) == (0.40, "us-east-1b")
    assert nothing is None
    assert math.isclose(quote.timestamp.timestamp(), (now - timedelta(hours=2)).timestamp())
