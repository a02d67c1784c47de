"""The local AWS refuses what AWS refuses (tools.localaws.constraints): every request is checked
against its service model's constraints and the ones AWS documents in prose, and a violation
is answered with the service's own error, so a handler meets the ClientError it would meet in
AWS and the rehearsal records the refusal."""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest
from botocore.exceptions import ClientError
from botocore.model import DenormalizedStructureBuilder, ServiceModel
from botocore.parsers import create_parser

from tools.localaws import LocalAws, Refusal, Simulation
from tools.localaws.constraints import (
    DOCUMENTED,
    PATTERN_TRANSLATIONS,
    DocumentedRule,
    PatternError,
    answer,
    check,
    check_shape,
    compile_pattern,
    documentation_text,
    model_patterns,
    service_model,
)
from tools.localaws.hooks import error_response, throttle_response
from tools.rehearse import _report_refusals

REPO = Path(__file__).resolve().parents[2]

SERVICES = (
    "batch",
    "cloudformation",
    "cloudwatch",
    "ec2",
    "ecr",
    "events",
    "fsx",
    "iam",
    "lambda",
    "logs",
    "resourcegroupstaggingapi",
    "s3",
    "secretsmanager",
    "stepfunctions",
    "sts",
)
"""Every service the project calls: the handlers, the rehearsal and its deploy (S3,
CloudFormation, EventBridge), the Step Functions interpreter's integrations (Batch, Lambda),
and the services of the template's resources that tests/template checks (IAM, Logs, ECR)."""

RUN_ARN = "arn:aws:states:us-east-1:123456789012:execution:machine:constraints"
FILE_SYSTEM_ARN = "arn:aws:fsx:us-east-1:123456789012:file-system/fs-0123456789abcdef0"


# --------------------------------------------------------------------------- patterns


@pytest.mark.parametrize("service", SERVICES)
def test_every_pattern_of_the_services_called_compiles(service: str) -> None:
    failures = []
    for pattern, shapes in model_patterns(service).items():
        try:
            compile_pattern(pattern)
        except PatternError as error:
            failures.append(f"{service} {', '.join(shapes)}: {error}")
    assert not failures, "\n".join(failures)


def test_every_pattern_translation_is_still_needed() -> None:
    patterns = {p for service in SERVICES for p in model_patterns(service)}
    stale = [pattern for pattern in PATTERN_TRANSLATIONS if pattern not in patterns]
    assert not stale, f"no model has these patterns any more: {stale}"


def test_an_uncompilable_pattern_is_reported_not_skipped() -> None:
    with pytest.raises(PatternError, match="PATTERN_TRANSLATIONS"):
        compile_pattern("(?<unclosed")
    shape = DenormalizedStructureBuilder().with_members(
        {"Name": {"type": "string", "pattern": "[a-z"}}
    )
    with pytest.raises(PatternError, match=r"\[a-z"):
        check_shape(shape.build_model(), {"Name": "x"})


def test_a_pattern_must_match_the_whole_value() -> None:
    # DynamoDB refuses '"smart-dcb-messages"' against this pattern (aws/aws-cli#790).
    assert compile_pattern("[a-zA-Z0-9_.-]+").fullmatch('"smart-dcb-messages"') is None
    assert compile_pattern("[a-zA-Z0-9_.-]+").fullmatch("smart-dcb-messages") is not None


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        (r"\w+", "abc_9", True),
        (r"\w+", "é", False),  # Java's \w is ASCII
        (r"\d+", "٣", False),  # so is \d (an Arabic-Indic digit)
        (r"\s", "\u2003", False),  # and \s (an em space)
        (r"[\w+=,.@-]+", "role-name@x", True),  # shorthands inside classes
        (r"[\w+=,.@-]+", "role name", False),
        (r"[^\s]+", "a\u2003b", True),
        (r"\S+", "a b", False),
        (r"\p{L}+", "Zürich", True),  # \p{..} stays Unicode
        (r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$", "a(b", False),
        (r".+", "a\rb", False),  # Java's . stops at \r too
        (r"[.]+", "...", True),  # a dot in a class is a dot
        (r"^(?i)(true|false)$", "TRUE", True),
    ],
)
def test_java_patterns_keep_their_java_meaning(pattern: str, value: str, matches: bool) -> None:
    assert (compile_pattern(pattern).fullmatch(value) is not None) is matches


# --------------------------------------------------------------------------- documented


def _rule_id(rule: DocumentedRule) -> str:
    return f"{rule.service}:{rule.shape}" + (f".{rule.member}" if rule.member else "")


@pytest.mark.parametrize("rule", [r for r in DOCUMENTED if r.url is None], ids=_rule_id)
def test_documented_rule_still_quotes_the_botocore_documentation(rule: DocumentedRule) -> None:
    text = documentation_text(rule.service, *rule.source)
    for quote in rule.quotes:
        assert quote in text, f"{rule.service} {rule.source} no longer says {quote!r}: {text}"


@pytest.mark.parametrize("rule", [r for r in DOCUMENTED if r.url is not None], ids=_rule_id)
def test_documented_rule_from_a_user_guide_names_its_page(rule: DocumentedRule) -> None:
    assert rule.url is not None and rule.url.startswith("https://docs.aws.amazon.com/")
    assert rule.note, "say where AWS was seen refusing it, or that it is a suspicion"


@pytest.mark.parametrize("rule", DOCUMENTED, ids=_rule_id)
def test_documented_rule_is_not_a_model_trait_yet(rule: DocumentedRule) -> None:
    """When botocore's model gains the trait, the table entry repeats it: drop the entry."""
    shape = service_model(rule.service).shape_for(rule.shape)
    target = shape.members[rule.member] if rule.member else shape
    assert target.type_name == "string"
    if rule.pattern is not None:
        assert "pattern" not in target.metadata
    if rule.max_length is not None:
        assert "max" not in target.metadata


@pytest.mark.parametrize(
    ("service", "operation", "params", "path"),
    [
        (
            "ec2",
            "CreateSecurityGroup",
            {"GroupName": "g", "Description": "the run's group"},
            "Description",
        ),
        (
            "ec2",
            "AuthorizeSecurityGroupEgress",
            {"GroupId": "sg-1", "IpPermissions": [{"IpRanges": [{"Description": "it's"}]}]},
            "IpPermissions.1.IpRanges.1.Description",
        ),
        (
            "ec2",
            "CreateTags",
            {"Resources": ["vol-1"], "Tags": [{"Key": "k", "Value": "v" * 257}]},
            "Tags.1.Value",
        ),
        ("batch", "TagResource", {"resourceArn": "a", "tags": {"k": "run(1)!"}}, "tags.k"),
        (
            "batch",
            "SubmitJob",
            {"jobName": "-job", "jobQueue": "q", "jobDefinition": "d"},
            "jobName",
        ),
        ("stepfunctions", "StartExecution", {"stateMachineArn": "a", "name": "a b"}, "name"),
        ("secretsmanager", "CreateSecret", {"Name": "config secret"}, "name"),
        ("cloudformation", "CreateStack", {"StackName": "x" * 129}, "stackName"),
        ("cloudformation", "CreateStack", {"StackName": "1stack"}, "stackName"),
    ],
)
def test_documented_rules_are_checked(
    service: str, operation: str, params: dict[str, Any], path: str
) -> None:
    (violation,) = check(service, operation, params)
    assert violation.path == path


def test_documented_rules_accept_what_they_allow() -> None:
    assert check("cloudformation", "CreateStack", {"StackName": "b" + "-x" * 63 + "z"}) == []
    assert (
        check("batch", "TagResource", {"resourceArn": "a", "tags": {"k": "Zürich 1 @ 10:00"}}) == []
    )
    assert (
        check("stepfunctions", "StartExecution", {"stateMachineArn": "a", "name": "run-1_a.b"})
        == []
    )
    assert (
        check(
            "ec2",
            "AuthorizeSecurityGroupIngress",
            {"IpPermissions": [{"UserIdGroupPairs": [{"Description": "Lustre (LNet) & [988]"}]}]},
        )
        == []
    )


# --------------------------------------------------------------------------- the walk

_NESTED = {
    "Name": {"type": "string", "min": 1, "max": 5, "pattern": "[a-z]+"},
    "Kind": {"type": "string", "enum": ["SMALL", "LARGE"]},
    "Count": {"type": "integer", "min": 1, "max": 10},
    "Items": {
        "type": "list",
        "min": 1,
        "max": 2,
        "member": {
            "type": "structure",
            "members": {"Label": {"type": "string", "pattern": "[A-Z]+"}},
        },
    },
    "Labels": {
        "type": "map",
        "max": 2,
        "key": {"type": "string", "pattern": "[a-z]+"},
        "value": {"type": "string", "max": 3},
    },
}


def _nested() -> Any:
    return DenormalizedStructureBuilder().with_members(_NESTED).build_model()


def test_walker_accepts_a_valid_value() -> None:
    value = {
        "Name": "abc",
        "Kind": "LARGE",
        "Count": 10,
        "Items": [{"Label": "A"}, {"Label": "B"}],
        "Labels": {"a": "xyz"},
    }
    assert check_shape(_nested(), value) == []


def test_walker_reports_every_violation_with_its_path_and_rule() -> None:
    value = {
        "Name": "abcdef1",
        "Kind": "HUGE",
        "Count": 0,
        "Items": [{"Label": "A"}, {"Label": "b"}, {"Label": "C"}],
        "Labels": {"B": "wxyz"},
    }
    found = {(v.path, v.rule) for v in check_shape(_nested(), value)}
    assert found == {
        ("name", "Member must have length less than or equal to 5"),
        ("name", "Member must satisfy regular expression pattern: [a-z]+"),
        ("kind", "Member must satisfy enum value set: [SMALL, LARGE]"),
        ("count", "Member must have value greater than or equal to 1"),
        ("items", "Member must have length less than or equal to 2"),
        ("items.2.member.label", "Member must satisfy regular expression pattern: [A-Z]+"),
        (
            "labels",
            "Map keys must satisfy constraint: "
            "Member must satisfy regular expression pattern: [a-z]+",
        ),
        ("labels.B", "Member must have length less than or equal to 3"),
    }


def test_walker_names_ec2_members_as_ec2_does() -> None:
    (violation,) = check_shape(
        _nested(), {"Items": [{"Label": "A"}, {"Label": "b"}]}, service="ec2"
    )
    assert violation.path == "Items.2.Label"


def test_walker_leaves_wrong_types_to_botocore() -> None:
    # The Step Functions interpreter's clients skip botocore's type checks.
    assert check_shape(_nested(), {"Name": 5, "Count": "many", "Items": "x", "Labels": []}) == []


def test_walker_follows_recursive_shapes() -> None:
    model = ServiceModel(
        {
            "metadata": {"protocol": "json", "serviceId": "Tree", "apiVersion": "1"},
            "operations": {},
            "shapes": {
                "Node": {
                    "type": "structure",
                    "members": {"Name": {"shape": "Name"}, "Children": {"shape": "Nodes"}},
                },
                "Nodes": {"type": "list", "member": {"shape": "Node"}},
                "Name": {"type": "string", "max": 3},
            },
        }
    )
    tree = {"Name": "a", "Children": [{"Name": "b", "Children": [{"Name": "long"}]}]}
    (violation,) = check_shape(model.shape_for("Node"), tree)
    assert violation.path == "children.1.member.children.1.member.name"


def test_answer_reads_like_aws() -> None:
    violations = check(
        "fsx",
        "TagResource",
        {"ResourceARN": FILE_SYSTEM_ARN, "Tags": [{"Key": "k", "Value": "a(b"}]},
    )
    reply = answer("fsx", violations)
    assert (reply.code, reply.status) == ("BadRequest", 400)
    assert reply.message == (
        "1 validation error detected: Value 'a(b' at 'tags.1.member.value' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: "
        r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"
    )


# --------------------------------------------------------------------------- error responses


@pytest.mark.parametrize(
    "protocol", ["ec2", "query", "rest-xml", "json", "rest-json", "smithy-rpc-v2-cbor"]
)
def test_error_response_parses_as_the_services_own(protocol: str) -> None:
    response = error_response(protocol, "https://x", "SomeError", 400, "it's <bad> & wrong")
    parsed = create_parser(protocol).parse(
        {"headers": response.headers, "status_code": 400, "body": response.content}, None
    )
    assert parsed["Error"]["Code"] == "SomeError"
    assert parsed["Error"]["Message"] == "it's <bad> & wrong"


@pytest.mark.parametrize(
    ("service", "body", "headers", "code"),
    [
        ("ec2", b"Action=CreateVolume", {}, "RequestLimitExceeded"),
        ("fsx", b"{}", {"Content-Type": "application/x-amz-json-1.1"}, "ThrottlingException"),
        ("cloudwatch", b"\xa0", {"smithy-protocol": "rpc-v2-cbor"}, "ThrottlingException"),
    ],
)
def test_throttling_answers_through_the_same_builder(
    service: str, body: bytes, headers: dict[str, str], code: str
) -> None:
    request = AWSPreparedRequest("POST", "https://x", headers, body, None)
    response = throttle_response(service, request)
    protocol = {"ec2": "ec2", "fsx": "json", "cloudwatch": "smithy-rpc-v2-cbor"}[service]
    parsed = create_parser(protocol).parse(
        {
            "headers": response.headers,
            "status_code": response.status_code,
            "body": response.content,
        },
        None,
    )
    assert parsed["Error"]["Code"] == code


# --------------------------------------------------------------------------- through LocalAws


@dataclass
class Local:
    aws: LocalAws
    sim: Simulation
    subnet: str
    group: str

    def refused(self, operation: str) -> list[Refusal]:
        return [r for r in self.sim.refusals if r.operation == operation]


@pytest.fixture(scope="module")
def local_aws() -> Iterator[tuple[LocalAws, str, str]]:
    with LocalAws(REPO, Simulation()) as aws:
        ec2 = aws.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="batch", Description="x", VpcId=vpc)["GroupId"]
        yield aws, subnet, group


@pytest.fixture
def local(local_aws: tuple[LocalAws, str, str]) -> Local:
    aws, subnet, group = local_aws
    aws.sim.refusals.clear()
    return Local(aws, aws.sim, subnet, group)


def _file_system(local: Local, token: str, **overrides: Any) -> dict[str, Any]:
    return {
        "ClientRequestToken": token,
        "FileSystemType": "LUSTRE",
        "StorageCapacity": 1200,
        "StorageType": "SSD",
        "SubnetIds": [local.subnet],
        "SecurityGroupIds": [local.group],
        "FileSystemTypeVersion": "2.15",
        "LustreConfiguration": {"DeploymentType": "SCRATCH_2"},
        "Tags": [{"Key": "batch-scratch:execution-arn", "Value": RUN_ARN}],
        **overrides,
    }


def _file_systems(local: Local) -> int:
    return len(local.aws.client("fsx").describe_file_systems()["FileSystems"])


def test_fsx_refuses_a_tag_value_with_a_parenthesis(local: Local) -> None:
    fsx = local.aws.client("fsx")
    before = _file_systems(local)
    tags = [
        {"Key": "batch-scratch:execution-arn", "Value": RUN_ARN},
        {"Key": "batch-scratch:retained-reason", "Value": "export failed (2 files)"},
    ]
    with pytest.raises(ClientError) as raised:
        fsx.create_file_system(**_file_system(local, "paren", Tags=tags))
    error = raised.value.response
    assert error["Error"]["Code"] == "BadRequest"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    message = error["Error"]["Message"]
    assert "Value 'export failed (2 files)' at 'tags.2.member.value'" in message
    assert r"regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$" in message
    assert _file_systems(local) == before, "the refused request reached FSx"
    assert local.sim.refusals == [
        Refusal(RUN_ARN, "CreateFileSystem", "BadRequest", message, "FSx")
    ]


def test_fsx_accepts_a_valid_request_unchanged(local: Local) -> None:
    fsx = local.aws.client("fsx")
    tags = [
        {"Key": "batch-scratch:execution-arn", "Value": RUN_ARN},
        {"Key": "note", "Value": "Zürich run 1 @ 10:00 +x=y/z_-."},
    ]
    created = fsx.create_file_system(**_file_system(local, "valid", Tags=tags))["FileSystem"]
    assert created["Tags"] == tags
    assert created["StorageCapacity"] == 1200
    assert local.sim.refusals == []


def test_fsx_refuses_a_value_outside_an_enum(local: Local) -> None:
    with pytest.raises(ClientError) as raised:
        local.aws.client("fsx").create_file_system(
            **_file_system(local, "enum", StorageType="FAST")
        )
    error = raised.value.response["Error"]
    assert error["Code"] == "BadRequest"
    assert (
        "Value 'FAST' at 'storageType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [SSD, HDD" in error["Message"]
    )


def test_fsx_refuses_a_number_out_of_range_deep_in_the_request(local: Local) -> None:
    lustre = {"DeploymentType": "SCRATCH_2", "AutomaticBackupRetentionDays": 91}
    with pytest.raises(ClientError) as raised:
        local.aws.client("fsx").create_file_system(
            **_file_system(local, "range", LustreConfiguration=lustre)
        )
    assert raised.value.response["Error"]["Message"] == (
        "1 validation error detected: Value '91' at "
        "'lustreConfiguration.automaticBackupRetentionDays' failed to satisfy constraint: "
        "Member must have value less than or equal to 90"
    )


def test_ec2_refuses_an_apostrophe_in_a_rule_description(local: Local) -> None:
    ec2 = local.aws.client("ec2")
    rule = {
        "IpProtocol": "tcp",
        "FromPort": 988,
        "ToPort": 988,
        "UserIdGroupPairs": [
            {"GroupId": local.group, "Description": "Lustre between the run's instances"}
        ],
    }
    with pytest.raises(ClientError) as raised:
        ec2.authorize_security_group_ingress(GroupId=local.group, IpPermissions=[rule])
    error = raised.value.response
    assert error["Error"]["Code"] == "InvalidParameterValue"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (
        "Value 'Lustre between the run's instances' at "
        "'IpPermissions.1.UserIdGroupPairs.1.Description'" in error["Error"]["Message"]
    )
    (group,) = ec2.describe_security_groups(GroupIds=[local.group])["SecurityGroups"]
    assert group["IpPermissions"] == [], "the refused rule was added"
    (refusal,) = local.refused("AuthorizeSecurityGroupIngress")
    assert (refusal.service, refusal.code) == ("EC2", "InvalidParameterValue")


def test_batch_refuses_a_tag_value_outside_its_character_set(local: Local) -> None:
    batch = local.aws.client("batch")
    with pytest.raises(ClientError) as raised:
        batch.create_compute_environment(
            computeEnvironmentName="run-1", type="UNMANAGED", tags={"note": "run(1)!"}
        )
    error = raised.value.response
    assert error["Error"]["Code"] == "BadRequestException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Value 'run(1)!' at 'tags.note'" in error["Error"]["Message"]
    assert batch.describe_compute_environments()["computeEnvironments"] == []
    (refusal,) = local.refused("CreateComputeEnvironment")
    assert refusal.service == "Batch"


def test_batch_refuses_a_model_violation_with_client_exception(local: Local) -> None:
    with pytest.raises(ClientError) as raised:
        local.aws.client("batch").create_compute_environment(
            computeEnvironmentName="run 1", type="UNMANAGED"
        )
    assert raised.value.response["Error"]["Code"] == "ClientException"


def test_step_functions_refuses_names_longer_than_80_characters(local: Local) -> None:
    sfn = local.aws.client("stepfunctions")
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    role = "arn:aws:iam::123456789012:role/machine"
    with pytest.raises(ClientError) as raised:
        sfn.create_state_machine(name="m" * 81, definition=definition, roleArn=role)
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert (
        "at 'name' failed to satisfy constraint: Member must have length less than or equal to 80"
        in error["Message"]
    )
    assert sfn.list_state_machines()["stateMachines"] == []

    machine = sfn.create_state_machine(name="m" * 80, definition=definition, roleArn=role)
    arn = machine["stateMachineArn"]
    with pytest.raises(ClientError) as raised:
        sfn.start_execution(stateMachineArn=arn, name="e" * 81)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as raised:
        sfn.start_execution(stateMachineArn=arn, name="run 1")
    assert raised.value.response["Error"]["Code"] == "InvalidName"
    assert sfn.list_executions(stateMachineArn=arn)["executions"] == []
    assert [r.operation for r in local.sim.refusals] == [
        "CreateStateMachine",
        "StartExecution",
        "StartExecution",
    ]


def test_cloudwatch_answers_over_cbor(local: Local) -> None:
    query = {
        "Id": "Queue",
        "MetricStat": {
            "Metric": {"Namespace": "AWS/FSx", "MetricName": "AgeOfOldestQueuedMessage"},
            "Period": 60,
            "Stat": "Maximum",
        },
    }
    with pytest.raises(ClientError) as raised:
        local.aws.client("cloudwatch").get_metric_data(
            MetricDataQueries=[query], StartTime=time.time() - 600, EndTime=time.time()
        )
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert "Value 'Queue' at 'metricDataQueries.1.member.id'" in error["Message"]


def test_the_interpreters_own_calls_are_checked(local: Local) -> None:
    """``batch:submitJob.sync`` calls SubmitJob from the Step Functions interpreter: AWS refuses
    the job name, so the execution fails with Batch's error, and the refusal is recorded for
    that execution."""
    sfn = local.aws.client("stepfunctions")
    definition = {
        "StartAt": "RunJob",
        "States": {
            "RunJob": {
                "Type": "Task",
                "Resource": "arn:aws:states:::batch:submitJob.sync",
                "Parameters": {"JobName": "job (1)", "JobQueue": "queue", "JobDefinition": "def"},
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name="submit", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/m"
    )
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="one")
    arn = execution["executionArn"]
    deadline = time.monotonic() + 10
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    described = sfn.describe_execution(executionArn=arn)
    assert (described["status"], described["error"]) == ("FAILED", "Batch.ClientException")
    assert "Value 'job (1)' at 'jobName'" in described["cause"]
    (refusal,) = local.refused("SubmitJob")
    assert (refusal.execution_arn, refusal.service) == (arn, "Batch")


def test_the_trace_names_the_service_that_refused() -> None:
    sim = Simulation()
    sim.refusals.append(
        Refusal(
            RUN_ARN,
            "AuthorizeSecurityGroupIngress",
            "InvalidParameterValue",
            "1 validation error detected: Value 'it's'",
            "EC2",
        )
    )
    lines: list[str] = []
    _report_refusals(sim, RUN_ARN, lines.append)
    assert lines == [
        "  EC2 refused AuthorizeSecurityGroupIngress: InvalidParameterValue: "
        "1 validation error detected: Value 'it's'"
    ]
