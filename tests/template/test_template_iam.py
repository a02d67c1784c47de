"""IAM: least privilege, scoped to this stack's tagged resources wherever AWS allows it."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import batchscratch
from batchscratch.fsx import TAG_PURPOSE
from batchscratch.run import (
    TAG_EXECUTION,
    TAG_MODE,
    TAG_REPORTED,
    TAG_RETAINED,
    TAG_RUN_ID,
    TAG_STACK,
    resource_name_prefix,
)
from tests.template.cfn import (
    allows,
    as_list,
    policy_statements,
    resource_text,
    role_statements,
)

MUTATING = re.compile(
    r"^[a-z0-9-]+:(Create|Delete|Update|Detach|Attach|Terminate|Deregister|Register|Put|Tag"
    r"|Untag|Submit|Modify|Run|Start|Stop|Pass)"
)
STACK = {"Ref": "AWS::StackName"}
INSTANCE_PROFILE = {"Fn::GetAtt": ["BatchInstanceProfile", "Arn"]}
SELF = {
    "Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/"
    "${!ec2:InstanceID}"
}
"""The instance a request names is the instance that made it: ``ec2:SourceInstanceARN`` (the
caller's instance) equals the ARN built from ``ec2:InstanceID`` (the target's id)."""
SCOPING_CONDITIONS = {
    f"aws:ResourceTag/{TAG_STACK}": STACK,
    f"aws:RequestTag/{TAG_STACK}": STACK,
    "ec2:InstanceProfile": INSTANCE_PROFILE,
    "ec2:SourceInstanceARN": SELF,
    "ec2:CreateAction": None,  # tagging only as part of a create call that is itself scoped
    "iam:AWSServiceName": None,
}
_LOG_DELIVERY = (
    "CloudWatch Logs vended log delivery (state machine logging) supports only Resource '*' "
    "(Step Functions Developer Guide, 'IAM policies for logging to CloudWatch Logs')"
)
_ECS_AGENT = (
    "The ECS agent on a Batch instance registers with, and reports to, the ECS cluster AWS Batch "
    "creates for the compute environment; this stack does not choose its name, and AWS "
    "documents no tag on it. Limited to clusters and container instances of this account and "
    "Region (ECS Developer Guide, 'AWS managed policies for Amazon ECS')."
)
EXCEPTIONS = {
    "ecs:RegisterContainerInstance": _ECS_AGENT,
    "ecs:DeregisterContainerInstance": _ECS_AGENT,
    "ecs:SubmitTaskStateChange": _ECS_AGENT,
    "ecs:SubmitContainerStateChange": _ECS_AGENT,
    "ecs:SubmitAttachmentStateChanges": _ECS_AGENT,
    "ecs:StartTelemetrySession": _ECS_AGENT,
    "ecs:UpdateContainerInstancesState": _ECS_AGENT,
    "batch:TerminateJob": (
        "A Batch job carries only the tags given when it is submitted, and the workflow gives "
        "none; callers terminate jobs of the run's own tag-scoped queue only. Resource is "
        "limited to jobs in this account and Region."
    ),
    "batch:SubmitJob": (
        "The job-definition and job resources of SubmitJob are not tag-scoped: the job does not "
        "exist yet, and a job definition's tags are only evaluated when a revision is given. "
        "The job queue, which decides where work runs, is tag-scoped in its own statement."
    ),
    "logs:CreateLogDelivery": _LOG_DELIVERY,
    "logs:UpdateLogDelivery": _LOG_DELIVERY,
    "logs:DeleteLogDelivery": _LOG_DELIVERY,
    "logs:PutResourcePolicy": _LOG_DELIVERY,
}
AWS_MANAGED_POLICIES = {
    "service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess",
}
FUNCTION_CALLS = {
    "LoadConfigFunction": {
        "secretsmanager:GetSecretValue",
        "ec2:DescribeInstanceTypes",
        "s3:ListBucket",
    },
    "CreateVolumeFunction": {"ec2:DescribeSubnets", "ec2:CreateVolume", "ec2:CreateTags"},
    "CheckVolumeFunction": {"ec2:DescribeVolumes"},
    "PrepareComputeFunction": {
        "ec2:DescribeSubnets",
        "ec2:CreateLaunchTemplate",
        "ec2:CreateTags",
        "ec2:DescribeLaunchTemplates",
        "batch:CreateComputeEnvironment",
        "batch:RegisterJobDefinition",
        "batch:DescribeComputeEnvironments",
        "batch:DescribeJobDefinitions",
        "batch:TagResource",
        "iam:PassRole",
        "iam:CreateServiceLinkedRole",
    },
    "CheckComputeFunction": {
        "batch:DescribeComputeEnvironments",
        "batch:DescribeJobQueues",
        "batch:CreateJobQueue",
        "batch:TagResource",
    },
    "CleanUpComputeFunction": {
        "batch:DescribeJobQueues",
        "batch:UpdateJobQueue",
        "batch:DeleteJobQueue",
        "batch:DescribeComputeEnvironments",
        "batch:UpdateComputeEnvironment",
        "batch:DeleteComputeEnvironment",
        "batch:DescribeJobDefinitions",
        "batch:DeregisterJobDefinition",
        "batch:ListJobs",
        "batch:TerminateJob",
        "ec2:DescribeLaunchTemplates",
        "ec2:DeleteLaunchTemplate",
    },
    "ReleaseVolumeFunction": {
        "ec2:DescribeVolumes",
        "ec2:DescribeSnapshots",
        "ec2:DetachVolume",
        "ec2:DeleteVolume",
        "ec2:CreateSnapshot",
        "ec2:CreateTags",
    },
}
LUSTRE_FUNCTION_CALLS = {
    "CreateFileSystemFunction": {
        "ec2:DescribeSubnets",
        "fsx:CreateFileSystem",
        "fsx:TagResource",
        "iam:CreateServiceLinkedRole",
    },
    "CheckFileSystemFunction": {
        "fsx:DescribeFileSystems",
        "fsx:DescribeDataRepositoryAssociations",
        "fsx:CreateDataRepositoryAssociation",
        "fsx:TagResource",
        "iam:CreateServiceLinkedRole",
        "iam:AttachRolePolicy",
        "iam:PutRolePolicy",
        "s3:Get*",
        "s3:List*",
        "s3:PutObject",
    },
    "StartExportFunction": {
        "fsx:DescribeDataRepositoryAssociations",
        "fsx:CreateDataRepositoryTask",
        "fsx:TagResource",
    },
    "CheckExportFunction": {
        "fsx:DescribeDataRepositoryTasks",
        "fsx:DescribeFileSystems",
        "fsx:TagResource",
    },
    "ReleaseFileSystemFunction": {
        "fsx:DescribeFileSystems",
        "fsx:DescribeDataRepositoryAssociations",
        "fsx:DescribeDataRepositoryTasks",
        "fsx:CreateDataRepositoryTask",
        "fsx:DeleteFileSystem",
        "fsx:TagResource",
        # The failure path's export turns auto-export off first (AutoExport).
        "fsx:UpdateDataRepositoryAssociation",
    },
}
AUTO_EXPORT_FUNCTION_CALLS = {
    "CheckDrainFunction": {"cloudwatch:GetMetricData", "batch:DescribeJobs"},
    "DisableAutoExportFunction": {
        "fsx:DescribeDataRepositoryAssociations",
        "fsx:UpdateDataRepositoryAssociation",
    },
}
SHARED_FUNCTIONS = (
    "LoadConfigFunction",
    "PrepareComputeFunction",
    "CheckComputeFunction",
    "CleanUpComputeFunction",
)
RELEASE_CALLS = {
    # Its first pass reads the job's outcome from the run's queue (ListJobs, and
    # DescribeJobDefinitions when the queue is gone); then the cleanup and the storage.
    "ReleaseRunFunction": set(FUNCTION_CALLS["CleanUpComputeFunction"]),
    "RetainRunFunction": {
        "batch:DescribeJobQueues",
        "batch:DescribeComputeEnvironments",
        "batch:TagResource",
        "ec2:DescribeLaunchTemplates",
        "ec2:CreateTags",
        "sns:Publish",
        "kms:GenerateDataKey",
        "kms:Decrypt",
    },
    "StartReleaseFunction": {
        "secretsmanager:GetSecretValue",
        "states:StartExecution",
        "states:DescribeExecution",
        "states:GetExecutionHistory",
        "tag:GetResources",
    },
}
EBS_RELEASE_CALLS = {
    "ReleaseRunFunction": FUNCTION_CALLS["ReleaseVolumeFunction"],
    "RetainRunFunction": {"ec2:DescribeVolumes", "ec2:CreateTags"},
}
LUSTRE_RELEASE_CALLS = {
    "ReleaseRunFunction": LUSTRE_FUNCTION_CALLS["ReleaseFileSystemFunction"],
    "RetainRunFunction": {"fsx:DescribeFileSystems", "fsx:TagResource"},
}


def _release(storage_calls: dict[str, set[str]]) -> dict[str, set[str]]:
    return {name: calls | storage_calls.get(name, set()) for name, calls in RELEASE_CALLS.items()}


MODE_FUNCTION_CALLS: dict[str, dict[str, set[str]]] = {
    "OnlyEBS": {**FUNCTION_CALLS, **_release(EBS_RELEASE_CALLS)},
    "TaskExport": {
        **{name: FUNCTION_CALLS[name] for name in SHARED_FUNCTIONS},
        **LUSTRE_FUNCTION_CALLS,
        **_release(LUSTRE_RELEASE_CALLS),
    },
    "AutoExport": {
        **{name: FUNCTION_CALLS[name] for name in SHARED_FUNCTIONS},
        **LUSTRE_FUNCTION_CALLS,
        **AUTO_EXPORT_FUNCTION_CALLS,
        **_release(LUSTRE_RELEASE_CALLS),
    },
}
FSX_ARN = "arn:${AWS::Partition}:fsx:${AWS::Region}:${AWS::AccountId}:"
SERVICE_LINKED_ROLES = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/"
_PSEUDO = re.compile(r"\$\{AWS::(Partition|Region|AccountId|URLSuffix)\}")
_TYPE_WIDE = re.compile(r"arn:[^:]+:[^:]+:[^:]*:[^:]*:[^/:]+[/:]\*")


def _is_wildcard(resource: Any) -> bool:
    """True for "*" and for every resource of a type ("arn:…:volume/*"); False when the
    resource names something of this stack (a reference, the stack name, a bucket)."""
    text = resource_text(resource)
    if text == "*":
        return True
    text = _PSEUDO.sub("x", text)
    if "${" in text or text.startswith("<"):
        return False
    return _TYPE_WIDE.fullmatch(text) is not None


def _scoping_keys(statement: dict[str, Any]) -> set[str]:
    return {
        key
        for operator in statement.get("Condition", {}).values()
        for key in operator
        if key in SCOPING_CONDITIONS
    }


def _allow_statements(rendered: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(owner, s) for owner, s in policy_statements(rendered) if s["Effect"] == "Allow"]


def test_no_statement_allows_every_action(deployment: dict[str, Any]) -> None:
    for owner, statement in _allow_statements(deployment):
        assert "NotAction" not in statement, owner
        assert "NotResource" not in statement, owner
        for action in as_list(statement["Action"]):
            assert action != "*", owner
            assert not action.endswith(":*"), (owner, action)


def test_mutating_actions_are_scoped_to_this_stack(deployment: dict[str, Any]) -> None:
    unscoped = set()
    for owner, statement in _allow_statements(deployment):
        resources = as_list(statement["Resource"])
        if _scoping_keys(statement) or not any(_is_wildcard(r) for r in resources):
            continue
        for action in as_list(statement["Action"]):
            if MUTATING.match(action) and action not in EXCEPTIONS:
                unscoped.add((owner, statement.get("Sid", ""), action))
    assert unscoped == set()


def test_every_exception_is_still_needed(deployment: dict[str, Any]) -> None:
    used = {
        action
        for _, statement in _allow_statements(deployment)
        if not _scoping_keys(statement)
        and any(_is_wildcard(r) for r in as_list(statement["Resource"]))
        for action in as_list(statement["Action"])
        if action in EXCEPTIONS
    }
    assert used == set(EXCEPTIONS)


def test_scoping_conditions_name_this_stack(deployment: dict[str, Any]) -> None:
    for owner, statement in _allow_statements(deployment):
        for operator, pairs in statement.get("Condition", {}).items():
            for key, value in pairs.items():
                if (operator, key) == ("Null", f"aws:ResourceTag/{TAG_RETAINED}"):
                    # "not kept by a release": the only other tag a condition reads.
                    assert value == "true", (owner, key, value)
                    continue
                if key == "ec2:SourceInstanceARN":
                    assert operator == "ArnEquals", (owner, key)
                if key.startswith(("aws:ResourceTag/", "aws:RequestTag/")):
                    assert operator == "StringEquals", (owner, key)
                    assert key.split("/", 1)[1] == TAG_STACK, (owner, key)
                expected = SCOPING_CONDITIONS.get(key)
                if expected is not None:
                    assert value == expected, (owner, key, value)


def test_only_known_aws_managed_policies(deployment: dict[str, Any]) -> None:
    for name, body in deployment["Resources"].items():
        if body["Type"] != "AWS::IAM::Role":
            continue
        for arn in body["Properties"].get("ManagedPolicyArns", []):
            if isinstance(arn, dict) and "Ref" in arn:
                assert deployment["Resources"][arn["Ref"]]["Type"] == "AWS::IAM::ManagedPolicy"
                continue
            text = resource_text(arn)
            assert ":iam::aws:policy/" in text, (name, text)
            assert text.split(":iam::aws:policy/", 1)[1] in AWS_MANAGED_POLICIES, (name, text)


@pytest.mark.parametrize(
    ("mode", "function"),
    sorted((mode, name) for mode, calls in MODE_FUNCTION_CALLS.items() for name in calls),
)
def test_each_function_may_make_its_calls(
    render: Callable[..., dict[str, Any]], mode: str, function: str
) -> None:
    rendered = render(Mode=mode)
    role = rendered["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = role_statements(rendered, role)
    calls = MODE_FUNCTION_CALLS[mode][function]
    missing = {action for action in calls if not allows(statements, action)}
    assert missing == set()


def _fsx_grants(rendered: dict[str, Any]) -> set[tuple[str, str, str]]:
    """``(action, resource type, tag condition)`` of every statement allowing an FSx write."""
    grants = set()
    for _, statement in _allow_statements(rendered):
        condition = statement.get("Condition", {})
        for action in as_list(statement["Action"]):
            if not action.startswith("fsx:") or action.startswith("fsx:Describe"):
                continue
            # aws:TagKeys limits what a tagging statement may set (test_no_tag_forgery).
            assert set(condition) <= {"StringEquals", "ForAllValues:StringEquals"}, condition
            ((key, value),) = condition["StringEquals"].items()
            assert value == STACK, (action, key, value)
            for resource in as_list(statement["Resource"]):
                text = resource_text(resource)
                assert text.startswith(FSX_ARN), (action, text)
                grants.add((action, text.removeprefix(FSX_ARN), key.split("/")[0]))
    return grants


def test_fsx_writes_reach_only_this_stack_s_runs(lustre: dict[str, Any]) -> None:
    # What a call creates carries the stack tag in its request (aws:RequestTag); what it
    # changes or deletes already carries it (aws:ResourceTag). Both Lustre modes alike.
    assert _fsx_grants(lustre) == {
        ("fsx:CreateFileSystem", "file-system/*", "aws:RequestTag"),
        ("fsx:TagResource", "file-system/*", "aws:RequestTag"),
        ("fsx:CreateDataRepositoryAssociation", "association/*", "aws:RequestTag"),
        ("fsx:TagResource", "association/*", "aws:RequestTag"),
        ("fsx:CreateDataRepositoryTask", "task/*", "aws:RequestTag"),
        ("fsx:TagResource", "task/*", "aws:RequestTag"),
        ("fsx:CreateDataRepositoryAssociation", "file-system/*", "aws:ResourceTag"),
        ("fsx:CreateDataRepositoryTask", "file-system/*", "aws:ResourceTag"),
        ("fsx:TagResource", "file-system/*", "aws:ResourceTag"),
        ("fsx:DeleteFileSystem", "file-system/*", "aws:ResourceTag"),
        ("fsx:UpdateDataRepositoryAssociation", "association/*", "aws:ResourceTag"),
    }


# --- no tag forgery ----------------------------------------------------------------------

TAGGING_ACTIONS = {"ec2:CreateTags", "fsx:TagResource", "batch:TagResource", "ecs:TagResource"}
RUN_TAG_KEYS = {TAG_STACK, TAG_EXECUTION, TAG_RUN_ID, TAG_MODE}
"""The keys of ``Run.tags()``, which every create call gives the resource it creates."""
MARK_TAG_KEYS = {TAG_RETAINED, TAG_REPORTED}
"""The only tags set on resources that already exist: what a release keeps, and its report."""
FSX_CREATE_TAG_KEYS = {
    "file-system/*": RUN_TAG_KEYS | {"Name"},
    "association/*": RUN_TAG_KEYS,
    "task/*": RUN_TAG_KEYS | {TAG_PURPOSE},
}
"""What each FSx create call tags (``fsx.create_file_system``, ``check_file_system``,
``start_export``)."""
FSX_CREATE_ACTIONS = {
    "file-system/*": "fsx:CreateFileSystem",
    "association/*": "fsx:CreateDataRepositoryAssociation",
    "task/*": "fsx:CreateDataRepositoryTask",
}
BATCH_ARN = "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:"
BATCH_RUN_NAMES = resource_name_prefix("STACK").replace("STACK", "${AWS::StackName}") + "*"
"""The names of a stack's per-run Batch resources, as an IAM resource pattern: the template's
side of ``batchscratch.run.resource_name_prefix``."""


def _tag_keys(statement: dict[str, Any]) -> set[str] | None:
    """The keys a statement lets a request set (ForAllValues:StringEquals aws:TagKeys)."""
    allowed = statement.get("Condition", {}).get("ForAllValues:StringEquals", {})
    return set(as_list(allowed["aws:TagKeys"])) if "aws:TagKeys" in allowed else None


def _tagging_kind(statement: dict[str, Any], role: list[dict[str, Any]]) -> str:
    """Classify a statement that allows a tagging action; raise AssertionError when it would
    let a caller tag an existing resource with the stack's or a run's tags.

    ``role`` is every statement of the same principal (an FSx tag-on-create must sit beside
    the create call it serves).
    """
    (action,) = as_list(statement["Action"])  # tagging never shares a statement
    condition = statement.get("Condition", {})
    equals = condition.get("StringEquals", {})
    keys = _tag_keys(statement)
    resources = [resource_text(r) for r in as_list(statement["Resource"])]
    if equals.get(f"aws:ResourceTag/{TAG_STACK}") == STACK:
        # An existing resource of this stack, marked: never the stack or run tags.
        assert keys is not None and keys <= MARK_TAG_KEYS, (action, keys)
        if action == "batch:TagResource":
            assert all(r.startswith(BATCH_ARN) and r.endswith(BATCH_RUN_NAMES) for r in resources)
        return "mark existing"
    if action == "ec2:CreateTags":
        assert "ec2:CreateAction" in equals, statement  # EC2 tags on create only
        return "ec2 on create"
    if action == "ecs:TagResource":
        assert "ecs:CreateAction" in equals, statement
        return "ecs on create"
    assert equals.get(f"aws:RequestTag/{TAG_STACK}") == STACK, statement
    if action == "batch:TagResource":
        # Batch has no create-action key: the run names of this stack, the run's keys only.
        assert resources and all(
            r.startswith(BATCH_ARN) and r.endswith(BATCH_RUN_NAMES) for r in resources
        ), resources
        assert keys is not None and keys <= RUN_TAG_KEYS, keys
        return "batch on create, by name"
    assert action == "fsx:TagResource", action
    # FSx has neither a create-action key nor a name to match (docs/architecture.md): the
    # statement serves a create call of the same principal and sets only that call's keys.
    for resource in resources:
        kind = resource.removeprefix(FSX_ARN)
        assert keys is not None and keys <= FSX_CREATE_TAG_KEYS[kind], (kind, keys)
        assert allows(role, FSX_CREATE_ACTIONS[kind]), (kind, "without its create call")
    return "fsx on create"


def _principals(rendered: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every statement that applies to each role of the template."""
    return {
        name: role_statements(rendered, name)
        for name, body in rendered["Resources"].items()
        if body["Type"] == "AWS::IAM::Role"
    }


def test_no_tag_forgery(deployment: dict[str, Any]) -> None:
    """Tags are set on resources being created (EC2: ec2:CreateAction; Batch: this stack's
    run names; FSx: beside the create call), and on existing resources of this stack only as
    retained-reason / reported-message, so no statement can give a foreign resource the stack
    tag that the delete statements trust."""
    kinds = set()
    for statements in _principals(deployment).values():
        for statement in statements:
            if statement["Effect"] == "Allow" and TAGGING_ACTIONS & set(
                as_list(statement["Action"])
            ):
                kinds.add(_tagging_kind(statement, statements))
    expected = {"mark existing", "ec2 on create", "batch on create, by name"}
    if deployment["Parameters"]["Mode"] != "OnlyEBS":
        expected.add("fsx on create")
    assert kinds == expected


@pytest.mark.parametrize(
    "forgery",
    [
        pytest.param(
            {
                "Effect": "Allow",
                "Action": "fsx:TagResource",
                "Resource": {"Fn::Sub": f"{FSX_ARN}file-system/*"},
                "Condition": {"StringEquals": {f"aws:RequestTag/{TAG_STACK}": STACK}},
            },
            id="fsx-request-tag-only",
        ),
        pytest.param(
            {
                "Effect": "Allow",
                "Action": "batch:TagResource",
                "Resource": {"Fn::Sub": f"{BATCH_ARN}compute-environment/*"},
                "Condition": {
                    "StringEquals": {f"aws:RequestTag/{TAG_STACK}": STACK},
                    "ForAllValues:StringEquals": {"aws:TagKeys": sorted(RUN_TAG_KEYS)},
                },
            },
            id="batch-any-name",
        ),
        pytest.param(
            {
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ec2:*:*:volume/*"},
                "Condition": {"StringEquals": {f"aws:ResourceTag/{TAG_STACK}": STACK}},
            },
            id="ec2-existing-any-key",
        ),
        pytest.param(
            {
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ec2:*:*:volume/*"},
                "Condition": {"StringEquals": {f"aws:RequestTag/{TAG_STACK}": STACK}},
            },
            id="ec2-request-tag-without-create-action",
        ),
    ],
)
def test_the_forgery_check_refuses_tagging_existing_resources(forgery: dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        _tagging_kind(forgery, [forgery])


def test_tag_keys_in_the_template_are_the_layer_s(deployment: dict[str, Any]) -> None:
    """The template spells the tag keys out; they must be those batchscratch writes."""
    written = {
        key for _, statement in _allow_statements(deployment) for key in _tag_keys(statement) or ()
    }
    assert written
    assert written <= RUN_TAG_KEYS | MARK_TAG_KEYS | {"Name", TAG_PURPOSE}


def test_batch_writes_reach_only_this_stack_s_run_names(deployment: dict[str, Any]) -> None:
    """Every Batch statement on compute environments, queues and job definitions that may
    change something names them by this stack's run-name prefix."""
    for _, statement in _allow_statements(deployment):
        actions = [a for a in as_list(statement["Action"]) if a.startswith("batch:")]
        if not any(MUTATING.match(a) for a in actions):
            continue
        for resource in as_list(statement["Resource"]):
            text = resource_text(resource)
            kind = text.removeprefix(BATCH_ARN).split("/")[0]
            # SubmitJob and RegisterJobDefinition name a job definition that is not the
            # run's own yet (a revision to come); their statements are scoped otherwise.
            by_name = {"compute-environment", "job-queue"}
            if not {"batch:SubmitJob", "batch:RegisterJobDefinition"} & set(actions):
                by_name.add("job-definition")
            if kind in by_name:
                assert text.endswith(BATCH_RUN_NAMES), (actions, text)


def test_only_ebs_allows_no_fsx_action_and_no_metric_read(only_ebs: dict[str, Any]) -> None:
    actions = {
        action
        for _, statement in policy_statements(only_ebs)
        for action in as_list(statement["Action"])
    }
    assert actions
    assert {action for action in actions if action.startswith("fsx:")} == set()
    assert {action for action in actions if action.startswith("cloudwatch:")} == set()


def test_only_the_drain_check_reads_metrics(deployment: dict[str, Any]) -> None:
    """cloudwatch:GetMetricData cannot be limited to one metric (Resource "*"), so exactly one
    role has it: the drain check's, in AutoExport only; and that role has nothing else but
    batch:DescribeJobs (read-only: when the run's job ended)."""
    readers = {
        owner
        for owner, statement in _allow_statements(deployment)
        for action in as_list(statement["Action"])
        if action.startswith("cloudwatch:")
    }
    if deployment["Parameters"]["Mode"] != "AutoExport":
        assert readers == set()
        return
    role = deployment["Resources"]["CheckDrainFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    assert readers == {f"Role/{role}"}
    statements = role_statements(deployment, role)
    assert [as_list(statement["Action"]) for statement in statements] == [
        ["cloudwatch:GetMetricData"],
        ["batch:DescribeJobs"],
    ]
    assert all(statement["Resource"] == "*" for statement in statements)
    assert all("Condition" not in statement for statement in statements)


def test_service_linked_roles_are_only_fsx_and_batch_ones(deployment: dict[str, Any]) -> None:
    """iam:* beyond PassRole touches only the service-linked roles AWS documents as needed."""
    expected = {
        ("iam:CreateServiceLinkedRole", "batch.amazonaws.com"),
    }
    if deployment["Parameters"]["Mode"] != "OnlyEBS":
        expected |= {
            ("iam:CreateServiceLinkedRole", "fsx.amazonaws.com"),
            ("iam:CreateServiceLinkedRole", "s3.data-source.lustre.fsx.amazonaws.com"),
            ("iam:AttachRolePolicy", "s3.data-source.lustre.fsx.amazonaws.com"),
            ("iam:PutRolePolicy", "s3.data-source.lustre.fsx.amazonaws.com"),
        }
    found = set()
    for _, statement in _allow_statements(deployment):
        for action in as_list(statement["Action"]):
            if not action.startswith("iam:") or action == "iam:PassRole":
                continue
            for resource in as_list(statement["Resource"]):
                text = resource_text(resource)
                assert text.startswith(SERVICE_LINKED_ROLES) and text.endswith("/*"), text
                service = text.removeprefix(SERVICE_LINKED_ROLES).removesuffix("/*")
                found.add((action, service))
                if action == "iam:CreateServiceLinkedRole":
                    assert statement["Condition"] == {
                        "StringEquals": {"iam:AWSServiceName": service}
                    }
    assert found == expected


def test_lustre_steps_reach_only_the_data_bucket(lustre: dict[str, Any]) -> None:
    for _, statement in _allow_statements(lustre):
        for action in as_list(statement["Action"]):
            if action.startswith("s3:"):
                for resource in as_list(statement["Resource"]):
                    assert "DataBucket" in resource_text(resource), (action, resource)


def test_fsx_reads_network_settings_only_through_fsx(lustre: dict[str, Any]) -> None:
    role = lustre["Resources"]["CreateFileSystemFunction"]["Properties"]["Role"]
    statements = role_statements(lustre, role["Fn::GetAtt"][0])
    (through_fsx,) = allows(statements, "ec2:DescribeSecurityGroups")
    assert through_fsx["Condition"] == {
        "ForAnyValue:StringEquals": {"aws:CalledVia": "fsx.amazonaws.com"}
    }
    for action in as_list(through_fsx["Action"]):
        assert action.startswith(("ec2:Describe", "ec2:Get")), action


def test_roles_are_passed_only_to_batch_resources(deployment: dict[str, Any]) -> None:
    passed = {
        resource_text(resource)
        for _, statement in _allow_statements(deployment)
        if "iam:PassRole" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }
    assert passed == {"<GetAtt BatchInstanceRole.Arn>", "<GetAtt JobRole.Arn>"}


SCRIPTS = Path(batchscratch.__file__).parent / "scripts"
_AWS_CALL = re.compile(r"\baws (ec2|ecs|ecr|logs|s3|fsx) ([a-z0-9-]+)")
SELF_ONLY = {
    "StringEquals": {"ec2:InstanceProfile": INSTANCE_PROFILE},
    "ArnEquals": {"ec2:SourceInstanceARN": SELF},
}


def _script_calls(*names: str) -> set[str]:
    """The IAM actions of the AWS CLI calls in the boot scripts (``aws ec2 attach-volume``
    is ``ec2:AttachVolume``)."""
    calls = set()
    for name in names:
        for service, command in _AWS_CALL.findall((SCRIPTS / name).read_text()):
            calls.add(f"{service}:{''.join(part.title() for part in command.split('-'))}")
    return calls


def test_the_boot_may_make_its_calls(deployment: dict[str, Any]) -> None:
    """Every AWS CLI call of the instance's boot scripts is allowed to the instance role."""
    scripts = ["common.sh", "spot_watcher.sh"]
    scripts.append(
        "mount_ebs_volume.sh" if deployment["Conditions"]["IsEbs"] else "mount_lustre.sh"
    )
    calls = _script_calls(*scripts)
    assert "ec2:TerminateInstances" in calls
    statements = role_statements(deployment, "BatchInstanceRole")
    assert {call for call in calls if not allows(statements, call)} == set()


def test_batch_instances_attach_only_unkept_stack_volumes_to_themselves(
    only_ebs: dict[str, Any],
) -> None:
    statements = role_statements(only_ebs, "BatchInstanceRole")
    assert _script_calls("mount_ebs_volume.sh") == {
        "ec2:DescribeVolumes",
        "ec2:DescribeInstances",
        "ec2:AttachVolume",
    }
    attach = {
        resource_text(statement["Resource"]).rsplit(":", 1)[1]: statement["Condition"]
        for statement in allows(statements, "ec2:AttachVolume")
    }
    assert attach == {
        "volume/*": {
            "StringEquals": {f"aws:ResourceTag/{TAG_STACK}": STACK},
            "Null": {f"aws:ResourceTag/{TAG_RETAINED}": "true"},
        },
        "instance/*": SELF_ONLY,
    }


def test_batch_instances_terminate_only_themselves(deployment: dict[str, Any]) -> None:
    statements = role_statements(deployment, "BatchInstanceRole")
    (terminate,) = allows(statements, "ec2:TerminateInstances")
    assert as_list(terminate["Action"]) == ["ec2:TerminateInstances"]
    assert resource_text(terminate["Resource"]).endswith(":instance/*")
    assert terminate["Condition"] == SELF_ONLY


def test_the_instance_role_holds_the_ecs_agent_s_needs_not_the_managed_policy(
    deployment: dict[str, Any],
) -> None:
    """A job reaches the instance role (host networking), so the role has no AWS managed
    policy and, beyond the boot's calls, only what the ECS agent and Docker use: the
    permissions of AmazonEC2ContainerServiceforEC2Role (ECS Developer Guide, "AWS managed
    policies for Amazon ECS") less ecs:CreateCluster, ec2:DescribeTags and ecs:TagResource,
    each on the narrowest resource its API supports."""
    role = deployment["Resources"]["BatchInstanceRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"
    }
    assert "ManagedPolicyArns" not in role
    (agent,) = role["Policies"]
    granted = {
        action: resource_text(statement["Resource"])
        for statement in agent["PolicyDocument"]["Statement"]
        for action in as_list(statement["Action"])
    }
    ecs = "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:"
    assert granted == {
        "ecs:RegisterContainerInstance": f"{ecs}cluster/*",
        "ecs:DeregisterContainerInstance": f"{ecs}cluster/*",
        "ecs:SubmitTaskStateChange": f"{ecs}cluster/*",
        "ecs:SubmitContainerStateChange": f"{ecs}cluster/*",
        "ecs:SubmitAttachmentStateChanges": f"{ecs}cluster/*",
        "ecs:Poll": f"{ecs}container-instance/*",
        "ecs:StartTelemetrySession": f"{ecs}container-instance/*",
        "ecs:UpdateContainerInstancesState": f"{ecs}container-instance/*",
        "ecs:DiscoverPollEndpoint": "*",
        "ecr:GetAuthorizationToken": "*",
        "ecr:BatchCheckLayerAvailability": "<GetAtt EcrRepository.Arn>",
        "ecr:GetDownloadUrlForLayer": "<GetAtt EcrRepository.Arn>",
        "ecr:BatchGetImage": "<GetAtt EcrRepository.Arn>",
    }
    assert all("Condition" not in statement for statement in agent["PolicyDocument"]["Statement"])


def test_lustre_instances_need_nothing_but_the_agent_and_to_stop_themselves(
    lustre: dict[str, Any],
) -> None:
    """Mounting Lustre needs no IAM permission: the client talks to the file servers over the
    network, which the security group admits. An instance that cannot mount leaves."""
    role = lustre["Resources"]["BatchInstanceRole"]["Properties"]
    agent = {
        action
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        for action in as_list(statement["Action"])
    }
    others = {
        action
        for statement in role_statements(lustre, "BatchInstanceRole")
        for action in as_list(statement["Action"])
    } - agent
    # Other policies of the role (the job log group's, a KMS key's) hold no EC2 action.
    assert {action for action in others if action.startswith("ec2:")} == {"ec2:TerminateInstances"}


def _job_log_statements(rendered: dict[str, Any]) -> list[dict[str, Any]]:
    policy = rendered["Resources"]["BatchInstanceJobLogsPolicy"]["Properties"]
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def test_instances_write_job_logs_only_into_the_stack_s_job_log_group(
    deployment: dict[str, Any],
) -> None:
    """The ECS agent runs a job's awslogs driver with the instance role (Batch User Guide,
    "Use the awslogs log driver"): the role may create streams and put events in the stack's
    job log group, and in no other group."""
    policy = deployment["Resources"]["BatchInstanceJobLogsPolicy"]["Properties"]
    assert policy["Roles"] == [{"Ref": "BatchInstanceRole"}]
    assert _job_log_statements(deployment) == [
        {
            "Sid": "WriteJobLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {"Fn::GetAtt": ["JobLogGroup", "Arn"]},
        }
    ]
    others = [
        action
        for statement in role_statements(deployment, "BatchInstanceRole")
        if statement not in _job_log_statements(deployment)
        for action in as_list(statement["Action"])
        if action.startswith("logs:")
    ]
    assert others == []


def test_jobs_reach_only_the_data_bucket(deployment: dict[str, Any]) -> None:
    role = deployment["Resources"]["JobRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ecs-tasks.amazonaws.com"
    }
    assert "ManagedPolicyArns" not in role
    for statement in role_statements(deployment, "JobRole"):
        for action in as_list(statement["Action"]):
            assert action.startswith("s3:"), action
        for resource in as_list(statement["Resource"]):
            assert "DataBucket" in resource_text(resource), resource


def test_only_ebs_jobs_write_only_under_runs(only_ebs: dict[str, Any]) -> None:
    statements = role_statements(only_ebs, "JobRole")
    for action in ("s3:ListBucket", "s3:GetObject", "s3:PutObject"):
        assert allows(statements, action), action
    # Nothing a job does removes data: an overwrite keeps the earlier version (versioning).
    for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObjectVersion"):
        assert not allows(statements, action), action
    for statement in statements:
        for resource in as_list(statement["Resource"]):
            text = resource_text(resource)
            # Objects only under runs/ (the runs' own prefixes), listing only that prefix.
            if text.endswith("*"):
                assert text.endswith("/runs/*"), resource
            else:
                assert statement["Condition"] == {"StringLike": {"s3:prefix": "runs/*"}}


def test_lustre_jobs_have_no_s3_permission(lustre: dict[str, Any]) -> None:
    # Their files reach S3 through the file system's association, which FSx serves itself.
    assert role_statements(lustre, "JobRole") == []
