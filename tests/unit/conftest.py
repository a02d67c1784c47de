"""Unit-test fixtures: a small network and IAM setup in moto, wired as template.yaml wires it,
and a fake layer clock."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from batchscratch import clock
from batchscratch.config import default_input_keys
from batchscratch.run import Run
from tests.conftest import load_event
from tools.localaws import constraints


@pytest.fixture
def aws(aws: None) -> Iterator[None]:
    """moto, refusing what AWS refuses (tools.localaws.constraints), as the rehearsal does."""
    with constraints.installed():
        yield


@dataclass(frozen=True)
class Network:
    """Two private subnets in one zone, one in another, and the Batch security group."""

    subnet_ids: list[str]
    zone: str
    security_group_id: str


@pytest.fixture
def network(aws: None, monkeypatch: pytest.MonkeyPatch) -> Network:
    """Create the network, roles and settings PrepareCompute needs; set its environment."""
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for cidr, zone in (
            ("10.0.1.0/24", "us-east-1a"),
            ("10.0.2.0/24", "us-east-1b"),
            ("10.0.3.0/24", "us-east-1a"),
        )
    ]
    group = ec2.create_security_group(GroupName="batch", Description="batch", VpcId=vpc)
    iam = boto3.client("iam")
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'  # noqa: E501
    role = iam.create_role(RoleName="instance", AssumeRolePolicyDocument=trust)["Role"]
    batch_trust = trust.replace("ec2.amazonaws.com", "batch.amazonaws.com")
    service_role = iam.create_role(RoleName="batch", AssumeRolePolicyDocument=batch_trust)["Role"]
    profile = iam.create_instance_profile(InstanceProfileName="instance")["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName="instance", RoleName="instance")
    settings = {
        "PRIVATE_SUBNET_IDS": ",".join(subnets),
        "BATCH_SECURITY_GROUP_ID": group["GroupId"],
        "INSTANCE_PROFILE_ARN": profile["Arn"],
        "JOB_ROLE_ARN": role["Arn"],
        "DATA_BUCKET_NAME": "batch-scratch-data",
        "JOB_LOG_GROUP_NAME": "/aws/batch/batch-scratch-onlyebs/jobs",
        "BATCH_SERVICE_ROLE_ARN": service_role["Arn"],
        "COMPUTE_ENVIRONMENT_TYPE": "SPOT",
        "ALLOCATION_STRATEGY": "SPOT_PRICE_CAPACITY_OPTIMIZED",
        "INSTANCE_TYPES": "optimal",
        "MIN_VCPUS": "0",
        "MAX_VCPUS": "256",
        "DESIRED_VCPUS": "0",
        "MODE": "OnlyEBS",
        "STACK_NAME": "batch-scratch-onlyebs",
        "EXECUTION_INPUT_KEYS": ",".join(default_input_keys()),
        "ALLOWED_IMAGES": "123456789012.dkr.ecr.us-east-1.amazonaws.com/batch-job-with-ebs",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return Network(subnet_ids=subnets, zone="us-east-1a", security_group_id=group["GroupId"])


@pytest.fixture
def state() -> dict[str, Any]:
    """The state CreateVolume receives (events/create_volume.json)."""
    return load_event("create_volume")


@pytest.fixture
def run(state: dict[str, Any]) -> Run:
    """The run of the sample events."""
    return Run.model_validate(state["run"])


@dataclass
class FakeClock:
    """The layer's clock (``batchscratch.clock``) stopped at ``at``: ``sleep`` moves it on at
    once and records the pause (seconds)."""

    at: datetime
    pauses: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        """Return the clock's time (aware, UTC)."""
        return self.at

    def sleep(self, seconds: float) -> None:
        """Record the pause and move the clock on by it."""
        self.pauses.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds`` without a pause."""
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Replace ``batchscratch.clock.now`` and ``sleep`` with a fake clock, stopped at the
    current minute's start plus 20 s (moto keeps metric timestamps as given, so near now)."""
    start = datetime.now(UTC).replace(second=20, microsecond=0)
    fake = FakeClock(start)
    monkeypatch.setattr(clock, "now", fake.now)
    monkeypatch.setattr(clock, "sleep", fake.sleep)
    return fake
