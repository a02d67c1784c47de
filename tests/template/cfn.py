"""Offline reading of template.yaml for the template tests, through tools.cfn.

``translate()`` turns the SAM template into plain CloudFormation (no AWS account: local paths
become ``s3://`` placeholders and the ASL file is inlined, as the local rehearsal does).
``render()`` then applies one set of parameter values the way CloudFormation would
(``tools.cfn.Evaluator.deployment``): it evaluates Conditions, drops resources and outputs
whose condition is false, resolves ``Fn::If``, ``AWS::NoValue`` and ``Fn::FindInMap``, and
leaves every other intrinsic (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``) in place for the tests to
read. ``rule_failures()`` evaluates the template's ``Rules`` for a set of parameter values.
The rest reads rendered templates.
"""

import json
import os
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools import cfn

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
SAMCONFIG = REPO / "samconfig.toml"

PSEUDO_PARAMETERS = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::StackName": "batch-scratch-test",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/batch-scratch-test/1",
    "AWS::NotificationARNs": "",
    "AWS::NoValue": "",
}


def load_sam_template() -> dict[str, Any]:
    """Return template.yaml as a dict (short-form intrinsics become their long form)."""
    return cfn.load(TEMPLATE)


def translate(sam_template: dict[str, Any]) -> dict[str, Any]:
    """Translate the SAM template to CloudFormation offline (``tools.cfn.translate_local``).

    ``CodeUri`` / ``ContentUri`` become ``s3://`` placeholders named after the local folder,
    and each state machine's ``DefinitionUri`` file is inlined as ``Definition`` (so a
    missing or malformed ASL file fails here).
    """
    os.environ.setdefault("AWS_DEFAULT_REGION", PSEUDO_PARAMETERS["AWS::Region"])
    return cfn.translate_local(sam_template, REPO)


def parse_overrides(text: str) -> dict[str, str]:
    """Parse a samconfig ``parameter_overrides`` string (``"Key=Value Key2=Value2"``)."""
    pairs = (item.split("=", 1) for item in shlex.split(text))
    return {key: value for key, value in pairs}


def rule_failures(template: dict[str, Any], overrides: dict[str, str]) -> list[str]:
    """Return the AssertDescription of every Rules assertion that refuses these values."""
    evaluator = cfn.Evaluator.deploying(template, overrides, pseudo=PSEUDO_PARAMETERS)
    return [failure.description or failure.rule for failure in evaluator.rule_failures()]


def render(translated: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """Return the translated template as deployed with ``overrides`` (parameter values).

    The result has ``Resources`` and ``Outputs`` (only those whose condition holds, with
    ``Fn::If``, ``AWS::NoValue`` and ``Fn::FindInMap`` resolved), ``Parameters`` (the
    values) and ``Conditions`` (each one's truth value).
    """
    evaluator = cfn.Evaluator.deploying(translated, overrides, pseudo=PSEUDO_PARAMETERS)
    return evaluator.deployment()


# --- reading rendered templates ----------------------------------------------------------


def resources_of_type(rendered: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Return ``{logical id: resource}`` of every rendered resource of type ``kind``."""
    return {name: body for name, body in rendered["Resources"].items() if body["Type"] == kind}


def as_list(value: Any) -> list[Any]:
    """Return ``value`` as a list (IAM ``Action`` / ``Resource`` may be one item or a list)."""
    return value if isinstance(value, list) else [value]


def references(node: Any) -> Iterator[str]:
    """Yield every logical id or parameter name that ``node`` refers to (Ref, GetAtt, Sub)."""
    if isinstance(node, list):
        for item in node:
            yield from references(item)
    elif isinstance(node, dict):
        for function, args in node.items():
            if function == "Ref":
                yield args
            elif function == "Fn::GetAtt":
                yield args[0] if isinstance(args, list) else args.split(".")[0]
            elif function == "Fn::Sub":
                text, variables = (args, {}) if isinstance(args, str) else args
                for name in cfn.sub_variables(text):
                    if name not in variables:
                        yield name.split(".")[0]
                yield from references(variables)
            else:
                yield from references(args)


def policy_statements(rendered: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(owner, statement)`` for every identity-policy statement in the template.

    Owners: ``Role/<id>`` (inline policies), ``ManagedPolicy/<id>``, ``Policy/<id>``.
    """
    for name, body in rendered["Resources"].items():
        properties = body.get("Properties", {})
        documents = []
        if body["Type"] == "AWS::IAM::Role":
            documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
            owner = f"Role/{name}"
        elif body["Type"] == "AWS::IAM::ManagedPolicy":
            documents = [properties["PolicyDocument"]]
            owner = f"ManagedPolicy/{name}"
        elif body["Type"] == "AWS::IAM::Policy":
            documents = [properties["PolicyDocument"]]
            owner = f"Policy/{name}"
        for document in documents:
            for statement in as_list(document["Statement"]):
                yield owner, statement


def role_statements(rendered: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Return every statement that applies to ``role``: inline, managed (this template's) and
    ``AWS::IAM::Policy`` resources attached to it."""
    resources = rendered["Resources"]
    properties = resources[role]["Properties"]
    statements = [
        statement
        for policy in properties.get("Policies", [])
        for statement in as_list(policy["PolicyDocument"]["Statement"])
    ]
    for arn in properties.get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and "Ref" in arn:
            document = resources[arn["Ref"]]["Properties"]["PolicyDocument"]
            statements.extend(as_list(document["Statement"]))
    for body in resources.values():
        if body["Type"] == "AWS::IAM::Policy" and {"Ref": role} in body["Properties"]["Roles"]:
            statements.extend(as_list(body["Properties"]["PolicyDocument"]["Statement"]))
    return statements


def allows(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    """Return the Allow statements among ``statements`` that name ``action`` exactly."""
    return [
        statement
        for statement in statements
        if statement["Effect"] == "Allow" and action in as_list(statement["Action"])
    ]


def resource_text(resource: Any) -> str:
    """Return an IAM Resource as text: a Sub's template string, ``<Ref X>`` for a reference."""
    if isinstance(resource, str):
        return resource
    ((function, args),) = resource.items()
    if function == "Fn::Sub":
        return args if isinstance(args, str) else args[0]
    if function == "Fn::GetAtt":
        target = args if isinstance(args, str) else ".".join(args)
        return f"<GetAtt {target}>"
    if function == "Ref":
        return f"<Ref {args}>"
    return json.dumps(resource, sort_keys=True)
