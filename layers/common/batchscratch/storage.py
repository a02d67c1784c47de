"""What the run's two kinds of storage share: where they are placed, and their tags.

The EBS volume and the Lustre file system are both placed in the Availability Zone of the
first private subnet, and the compute environment may use only the private subnets in that
zone (EC2 API Reference, DescribeSubnets: each subnet's ``AvailabilityZone``). Both are
marked ``retained-reason`` when they are kept on purpose, with a value every tagged service
accepts (``batchscratch.tagging.text_tag_value``): EC2 through CreateTags, FSx through
TagResource.
"""

from dataclasses import dataclass
from typing import Any

from batchscratch.aws import client
from batchscratch.run import TAG_RETAINED
from batchscratch.tagging import text_tag_value


@dataclass(frozen=True)
class Placement:
    """Where the run's storage goes: ``zone`` (e.g. ``us-east-1a``) and ``subnet_ids``, the
    given private subnets in that zone, in their given order."""

    zone: str
    subnet_ids: list[str]


def placement(subnet_ids: list[str]) -> Placement:
    """Return the zone of ``subnet_ids[0]`` and the subnets of ``subnet_ids`` in it.

    Args:
        subnet_ids: the stack's private subnets (``PRIVATE_SUBNET_IDS``); the first one picks
            the zone.

    Raises:
        botocore.exceptions.ClientError: EC2 refused DescribeSubnets (e.g. a subnet that does
            not exist).
    """
    subnets = client("ec2").describe_subnets(SubnetIds=subnet_ids)["Subnets"]
    zone_of = {subnet["SubnetId"]: subnet["AvailabilityZone"] for subnet in subnets}
    zone = zone_of[subnet_ids[0]]
    return Placement(zone, [subnet for subnet in subnet_ids if zone_of.get(subnet) == zone])


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    """Return a described resource's ``Tags`` (``[{"Key", "Value"}, ...]``, the EC2 and FSx
    shape) as ``{key: value}``; ``{}`` when it has none."""
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}


def retained_tag(reason: str) -> dict[str, str]:
    """Return the ``retained-reason`` tag for ``reason`` (any text, made a valid tag value)."""
    return {"Key": TAG_RETAINED, "Value": text_tag_value(reason)}


def mark_ec2_retained(resource_id: str, reason: str) -> None:
    """Tag an EC2 resource (a volume, ``vol-…``) ``retained-reason`` (EC2 CreateTags)."""
    client("ec2").create_tags(Resources=[resource_id], Tags=[retained_tag(reason)])


def mark_fsx_retained(resource_arn: str, reason: str) -> None:
    """Tag an FSx resource (a file system, by its ``ResourceARN``) ``retained-reason``
    (FSx TagResource)."""
    client("fsx").tag_resource(ResourceARN=resource_arn, Tags=[retained_tag(reason)])
