"""The API calls CloudFormation makes with the template's properties, for the constraint check.

CloudFormation creates every resource of the template through the service's API, so each
property the template sets ends up as a member of an API request, with that member's
constraints. ``ROWS`` maps each such property to its request member (one row per property,
citing the API); ``requests()`` builds, from one rendered resource, the requests that carry
them, with every ``Ref`` / ``Fn::Sub`` resolved for a stack with the longest name
CloudFormation accepts. ``tools.localaws.constraints.check`` then says what AWS refuses.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.template import cfn
from tools.cfn import Evaluator, Unresolved
from tools.localaws.constraints import DOCUMENTED, service_model

_STACK_RULE = next(
    r
    for r in DOCUMENTED
    if (r.service, r.shape, r.member) == ("cloudformation", "CreateStackInput", "StackName")
)
STACK_NAME_LENGTH = _STACK_RULE.max_length or 0
STACK_NAME = ("batch-scratch-" + "x" * STACK_NAME_LENGTH)[:STACK_NAME_LENGTH]
"""The longest stack name CloudFormation accepts ("can't be longer than 128 characters",
botocore cloudformation CreateStackInput.StackName): every name the template builds from it
is at its longest."""

PSEUDO_PARAMETERS = {
    **cfn.PSEUDO_PARAMETERS,
    "AWS::StackName": STACK_NAME,
    # A stack id as CloudFormation makes it: arn:...:stack/<name>/<UUID>.
    "AWS::StackId": (
        "arn:aws:cloudformation:us-east-1:123456789012:stack/"
        f"{STACK_NAME}/1c2fa620-982a-11e3-aff7-50e2416294e0"
    ),
}
RANDOM = "A1B2C3D4E5F6"
"""The random part of a name CloudFormation generates (CloudFormation User Guide, "Name
type": the stack name, the logical ID and a random string, e.g.
stack123123123123-s3bucket-abcdefghijk1)."""


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Row:
    """A template property and the API request member CloudFormation sends it as.

    ``prop`` and ``member`` are paths; ``[]`` steps into each item of a list. The member path
    may step into more lists than the property (one security group rule is one
    ``IpPermission`` with one range): those take the value as their only item. ``when``: the
    row applies to a list item (or resource) that has this property (the rule's source).
    ``Tags`` (CloudFormation's ``[{Key, Value}]``) becomes the API's own tag shape.
    """

    resource_type: str
    prop: str
    service: str
    operation: str
    member: str
    when: str | None = None

    @property
    def api(self) -> str:
        """The API the row cites: "<service id> <operation>" (its API Reference page)."""
        return f"{service_model(self.service).service_id} {self.operation}"


_INGRESS_SOURCES = {
    "CidrIp": "IpRanges",
    "CidrIpv6": "Ipv6Ranges",
    "SourceSecurityGroupId": "UserIdGroupPairs",
    "SourceSecurityGroupName": "UserIdGroupPairs",
    "SourcePrefixListId": "PrefixListIds",
}
_EGRESS_DESTINATIONS = {
    "CidrIp": "IpRanges",
    "CidrIpv6": "Ipv6Ranges",
    "DestinationSecurityGroupId": "UserIdGroupPairs",
    "DestinationPrefixListId": "PrefixListIds",
}
_RULES = (
    ("SecurityGroupIngress[].", "ec2:AuthorizeSecurityGroupIngress", _INGRESS_SOURCES),
    ("SecurityGroupEgress[].", "ec2:AuthorizeSecurityGroupEgress", _EGRESS_DESTINATIONS),
)
"""A security group rule's Description is the Description of its range, group pair or
prefix list in the IpPermission (EC2 API Reference: IpPermission)."""

_EC2_TAGS = (("Tags", "ec2:CreateTags", "Tags"),)

TABLE: dict[str, tuple[tuple[str, ...], ...]] = {
    # resource type: (property, "service:Operation" of the API Reference, member[, when])
    "AWS::EC2::SecurityGroup": (
        ("GroupDescription", "ec2:CreateSecurityGroup", "Description"),
        ("GroupName", "ec2:CreateSecurityGroup", "GroupName"),
        *(
            (f"{rules}Description", call, f"IpPermissions[].{ranges}[].Description", source)
            for rules, call, sources in _RULES
            for source, ranges in sources.items()
        ),
        *_EC2_TAGS,
    ),
    "AWS::EC2::SecurityGroupIngress": tuple(
        (
            "Description",
            "ec2:AuthorizeSecurityGroupIngress",
            f"IpPermissions[].{ranges}[].Description",
            source,
        )
        for source, ranges in _INGRESS_SOURCES.items()
    ),
    "AWS::EC2::SecurityGroupEgress": tuple(
        (
            "Description",
            "ec2:AuthorizeSecurityGroupEgress",
            f"IpPermissions[].{ranges}[].Description",
            source,
        )
        for source, ranges in _EGRESS_DESTINATIONS.items()
    ),
    "AWS::EC2::VPC": _EC2_TAGS,
    "AWS::EC2::InternetGateway": _EC2_TAGS,
    "AWS::EC2::Subnet": _EC2_TAGS,
    "AWS::EC2::RouteTable": _EC2_TAGS,
    "AWS::EC2::EIP": _EC2_TAGS,
    "AWS::EC2::NatGateway": _EC2_TAGS,
    "AWS::EC2::VPCEndpoint": (
        ("ServiceName", "ec2:CreateVpcEndpoint", "ServiceName"),
        *_EC2_TAGS,
    ),
    "AWS::IAM::Role": (
        ("RoleName", "iam:CreateRole", "RoleName"),
        ("Description", "iam:CreateRole", "Description"),
        ("Path", "iam:CreateRole", "Path"),
        ("Tags", "iam:CreateRole", "Tags"),
        ("Policies[].PolicyName", "iam:PutRolePolicy", "PolicyName"),
    ),
    "AWS::IAM::Policy": (("PolicyName", "iam:PutRolePolicy", "PolicyName"),),
    "AWS::IAM::ManagedPolicy": (
        ("ManagedPolicyName", "iam:CreatePolicy", "PolicyName"),
        ("Description", "iam:CreatePolicy", "Description"),
        ("Path", "iam:CreatePolicy", "Path"),
    ),
    "AWS::IAM::InstanceProfile": (
        ("InstanceProfileName", "iam:CreateInstanceProfile", "InstanceProfileName"),
        ("Path", "iam:CreateInstanceProfile", "Path"),
    ),
    "AWS::Lambda::Function": (
        ("FunctionName", "lambda:CreateFunction", "FunctionName"),
        ("Description", "lambda:CreateFunction", "Description"),
        ("Handler", "lambda:CreateFunction", "Handler"),
        ("Runtime", "lambda:CreateFunction", "Runtime"),
        ("MemorySize", "lambda:CreateFunction", "MemorySize"),
        ("Timeout", "lambda:CreateFunction", "Timeout"),
        ("Architectures", "lambda:CreateFunction", "Architectures"),
        ("Environment.Variables", "lambda:CreateFunction", "Environment.Variables"),
        ("TracingConfig.Mode", "lambda:CreateFunction", "TracingConfig.Mode"),
        ("Tags", "lambda:CreateFunction", "Tags"),
    ),
    "AWS::Lambda::LayerVersion": (
        ("LayerName", "lambda:PublishLayerVersion", "LayerName"),
        ("Description", "lambda:PublishLayerVersion", "Description"),
        ("CompatibleRuntimes", "lambda:PublishLayerVersion", "CompatibleRuntimes"),
        ("CompatibleArchitectures", "lambda:PublishLayerVersion", "CompatibleArchitectures"),
    ),
    "AWS::Lambda::Permission": (
        ("FunctionName", "lambda:AddPermission", "FunctionName"),
        ("Action", "lambda:AddPermission", "Action"),
        ("Principal", "lambda:AddPermission", "Principal"),
    ),
    "AWS::Lambda::EventInvokeConfig": tuple(
        (prop, "lambda:PutFunctionEventInvokeConfig", prop)
        for prop in (
            "FunctionName",
            "Qualifier",
            "MaximumRetryAttempts",
            "MaximumEventAgeInSeconds",
        )
    ),
    "AWS::Logs::LogGroup": (
        ("LogGroupName", "logs:CreateLogGroup", "logGroupName"),
        ("RetentionInDays", "logs:PutRetentionPolicy", "retentionInDays"),
        ("Tags", "logs:CreateLogGroup", "tags"),
    ),
    "AWS::StepFunctions::StateMachine": (
        ("StateMachineName", "stepfunctions:CreateStateMachine", "name"),
        ("StateMachineType", "stepfunctions:CreateStateMachine", "type"),
        ("DefinitionString", "stepfunctions:CreateStateMachine", "definition"),
        (
            "LoggingConfiguration.Level",
            "stepfunctions:CreateStateMachine",
            "loggingConfiguration.level",
        ),
        ("Tags", "stepfunctions:CreateStateMachine", "tags"),
    ),
    "AWS::SecretsManager::Secret": (
        ("Name", "secretsmanager:CreateSecret", "Name"),
        ("Description", "secretsmanager:CreateSecret", "Description"),
        ("SecretString", "secretsmanager:CreateSecret", "SecretString"),
        ("Tags", "secretsmanager:CreateSecret", "Tags"),
    ),
    "AWS::ECR::Repository": (
        ("RepositoryName", "ecr:CreateRepository", "repositoryName"),
        ("ImageTagMutability", "ecr:CreateRepository", "imageTagMutability"),
        (
            "EncryptionConfiguration.EncryptionType",
            "ecr:CreateRepository",
            "encryptionConfiguration.encryptionType",
        ),
        ("LifecyclePolicy.LifecyclePolicyText", "ecr:PutLifecyclePolicy", "lifecyclePolicyText"),
        ("Tags", "ecr:CreateRepository", "tags"),
    ),
    "AWS::Events::Rule": (
        ("Name", "events:PutRule", "Name"),
        ("Description", "events:PutRule", "Description"),
        ("State", "events:PutRule", "State"),
        ("Targets[].Id", "events:PutTargets", "Targets[].Id"),
        (
            "Targets[].RetryPolicy.MaximumRetryAttempts",
            "events:PutTargets",
            "Targets[].RetryPolicy.MaximumRetryAttempts",
        ),
        (
            "Targets[].RetryPolicy.MaximumEventAgeInSeconds",
            "events:PutTargets",
            "Targets[].RetryPolicy.MaximumEventAgeInSeconds",
        ),
    ),
    "AWS::S3::Bucket": (("BucketName", "s3:CreateBucket", "Bucket"),),
    "AWS::CloudWatch::Alarm": (
        ("AlarmDescription", "cloudwatch:PutMetricAlarm", "AlarmDescription"),
        ("MetricName", "cloudwatch:PutMetricAlarm", "MetricName"),
    ),
    # DisplayName is one of the topic's attributes (SNS API Reference, SetTopicAttributes).
    "AWS::SNS::Topic": (("DisplayName", "sns:SetTopicAttributes", "AttributeValue"),),
    "AWS::KMS::Key": (("Description", "kms:CreateKey", "Description"),),
}
"""Every template property that becomes a member of an API request CloudFormation sends,
by resource type: the property, the API operation (its API Reference page documents the
member) and the member; for a security group rule, also the property that says which of
the IpPermission's lists holds it."""


def _row(kind: str, prop: str, call: str, member: str, when: str | None = None) -> Row:
    service, operation = call.split(":")
    return Row(kind, prop, service, operation, member, when)


ROWS: tuple[Row, ...] = tuple(_row(kind, *row) for kind, rows in TABLE.items() for row in rows)


# --------------------------------------------------------------------------- resolution


_NAME_LIMITS = {
    "AWS::Lambda::Function": ("FunctionName", 64, False),
    "AWS::IAM::Role": ("RoleName", 64, False),
    "AWS::S3::Bucket": ("BucketName", 63, True),
}
"""Resources whose ``Ref`` is a name CloudFormation generates when the template gives none:
(the name property, the longest name the service allows, lowercase)."""
_NAMED = {"AWS::ECR::Repository": "RepositoryName", "AWS::Logs::LogGroup": "LogGroupName"}
"""Resources whose ``Ref`` is the name the template gives them."""


def generated_name(logical_id: str, limit: int, lowercase: bool = False) -> str:
    """The name CloudFormation gives ``logical_id`` (stack name, logical id, random string),
    at the longest the service allows."""
    head = f"{STACK_NAME}-{logical_id}"[: limit - len(RANDOM) - 1]
    name = f"{head}-{RANDOM}"
    return name.lower() if lowercase else name


def resource_name(logical_id: str, resource: dict[str, Any]) -> Any:
    """What ``Ref`` to a resource gives in this stack: its name where it is one (given, or
    generated at the longest), else a value only CloudFormation knows."""
    kind = resource["Type"]
    properties = resource.get("Properties", {})
    if kind in _NAME_LIMITS:
        prop, limit, lowercase = _NAME_LIMITS[kind]
        return (
            properties[prop] if prop in properties else generated_name(logical_id, limit, lowercase)
        )
    if kind in _NAMED and _NAMED[kind] in properties:
        return properties[_NAMED[kind]]
    return Unresolved(f"Ref {logical_id} ({kind})")


class Resolver(Evaluator):
    """Resolves the intrinsics ``cfn.render`` leaves (``Ref``, ``Fn::Sub``, ``Fn::Join``,
    ``Fn::Split``, ``Fn::Select``) in one rendered template, for the stack ``STACK_NAME``
    (``tools.cfn.Evaluator.value``)."""

    def __init__(self, rendered: dict[str, Any]) -> None:
        super().__init__(
            rendered,
            rendered["Parameters"],
            pseudo=PSEUDO_PARAMETERS,
            resource_ref=resource_name,
        )


# --------------------------------------------------------------------------- requests


@dataclass
class Request:
    """One API request CloudFormation makes with one property of a resource."""

    logical_id: str
    row: Row
    prop: str
    """The property's concrete path (``SecurityGroupIngress[0].Description``)."""
    value: Any
    params: dict[str, Any]


def _items(node: Any, path: list[str], where: str) -> Iterator[tuple[str, list[int], Any, Any]]:
    """Yield (concrete path, list indices, value, the dict holding it) along ``path``."""
    if not path:
        return
    head, rest = path[0], path[1:]
    many = head.endswith("[]")
    key = head.removesuffix("[]")
    if not isinstance(node, dict) or key not in node:
        return
    found = node[key]
    if many:
        for index, item in enumerate(found if isinstance(found, list) else []):
            here = f"{where}{key}[{index}]"
            if rest:
                for concrete, indices, value, holder in _items(item, rest, here + "."):
                    yield concrete, [index, *indices], value, holder
            else:
                yield here, [index], item, node
    elif rest:
        yield from _items(found, rest, f"{where}{key}.")
    else:
        yield f"{where}{key}", [], found, node


def _place(member: str, indices: list[int], value: Any) -> dict[str, Any]:
    """Build the request that holds ``value`` at ``member`` (``[]``: one list per step; the
    property's indices first, then single items)."""
    steps = member.split(".")
    queue = list(indices)
    root: dict[str, Any] = {}
    node: Any = root
    for position, step in enumerate(steps):
        last = position == len(steps) - 1
        key = step.removesuffix("[]")
        if step.endswith("[]"):
            index = queue.pop(0) if queue else 0
            items: list[Any] = [{} for _ in range(index)]
            node[key] = items
            if last:
                items.append(value)
            else:
                items.append({})
                node = items[-1]
        elif last:
            node[key] = value
        else:
            node[key] = {}
            node = node[key]
    return root


def _target_shape(row: Row) -> Any:
    shape: Any = service_model(row.service).operation_model(row.operation).input_shape
    for step in row.member.split("."):
        shape = shape.members[step.removesuffix("[]")]
        if step.endswith("[]"):
            shape = shape.member
    return shape


def api_tags(row: Row, tags: Any) -> Any:
    """CloudFormation's ``[{Key, Value}]`` as the API's tag shape (a map, or a list of
    structures whose members are the key and the value)."""
    if not isinstance(tags, list):
        return tags
    shape = _target_shape(row)
    if shape.type_name == "map":
        return {tag["Key"]: tag.get("Value", "") for tag in tags}
    members = {name.lower(): name for name in shape.member.members}
    return [{members["key"]: tag["Key"], members["value"]: tag.get("Value", "")} for tag in tags]


def requests(logical_id: str, resource: dict[str, Any], resolver: Resolver) -> Iterator[Request]:
    """Every request CloudFormation makes with a property of this resource that ``ROWS`` maps."""
    properties = resource.get("Properties", {})
    for row in ROWS:
        if row.resource_type != resource["Type"]:
            continue
        for concrete, indices, raw, holder in _items(properties, row.prop.split("."), ""):
            if row.when is not None and row.when not in holder:
                continue
            value = resolver.value(raw)
            if row.prop.split(".")[-1] == "Tags":
                value = api_tags(row, value)
            yield Request(logical_id, row, concrete, value, _place(row.member, indices, value))


def unresolved(value: Any, path: str = "") -> Iterator[tuple[str, Unresolved]]:
    """Every value in ``value`` only CloudFormation knows, with where it is."""
    if isinstance(value, Unresolved):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from unresolved(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unresolved(item, f"{path}[{index}]")
