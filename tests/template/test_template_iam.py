"""IAM: least privilege, scoped to this stack's tagged resources wherever AWS allows it."""

import re
from collections.abc import Callable
from typing import Any

import pytest

from batchscratch.run import TAG_STACK
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
SCOPING_CONDITIONS = {
    f"aws:ResourceTag/{TAG_STACK}": STACK,
    f"aws:RequestTag/{TAG_STACK}": STACK,
    "ec2:InstanceProfile": INSTANCE_PROFILE,
    "ec2:CreateAction": None,  # tagging only as part of a create call that is itself scoped
    "iam:AWSServiceName": None,
}
_LOG_DELIVERY = (
    "CloudWatch Logs vended log delivery (state machine logging) supports only Resource '*' "
    "(Step Functions Developer Guide, 'IAM policies for logging to CloudWatch Logs')"
)
EXCEPTIONS = {
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
    "service-role/AmazonEC2ContainerServiceforEC2Role",
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
            assert list(condition) == ["StringEquals"], (action, condition)
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


def test_batch_instances_attach_only_run_volumes_and_stop_only_themselves(
    only_ebs: dict[str, Any],
) -> None:
    role = only_ebs["Resources"]["BatchInstanceRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"
    }
    assert role["ManagedPolicyArns"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
            "AmazonEC2ContainerServiceforEC2Role"
        }
    ]
    statements = role_statements(only_ebs, "BatchInstanceRole")
    for action in ("ec2:DescribeVolumes", "ec2:DescribeInstances"):
        assert allows(statements, action)
    attach = {
        resource_text(statement["Resource"]).rsplit(":", 1)[1]: statement["Condition"]
        for statement in allows(statements, "ec2:AttachVolume")
    }
    assert attach == {
        "volume/*": {"StringEquals": {f"aws:ResourceTag/{TAG_STACK}": STACK}},
        "instance/*": {"StringEquals": {"ec2:InstanceProfile": INSTANCE_PROFILE}},
    }
    (terminate,) = allows(statements, "ec2:TerminateInstances")
    assert terminate["Condition"] == {"StringEquals": {"ec2:InstanceProfile": INSTANCE_PROFILE}}


def test_lustre_instances_need_nothing_but_to_stop_themselves(lustre: dict[str, Any]) -> None:
    """Mounting Lustre needs no IAM permission: the client talks to the file servers over the
    network, which the security group admits. An instance that cannot mount leaves."""
    role = lustre["Resources"]["BatchInstanceRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
            "AmazonEC2ContainerServiceforEC2Role"
        }
    ]
    (terminate,) = role_statements(lustre, "BatchInstanceRole")
    assert as_list(terminate["Action"]) == ["ec2:TerminateInstances"]
    assert terminate["Condition"] == {"StringEquals": {"ec2:InstanceProfile": INSTANCE_PROFILE}}


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
