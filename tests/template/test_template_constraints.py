"""Every value the template sends to an AWS API is one that API accepts, in every mode and for
the longest stack name CloudFormation allows.

CloudFormation creates the template's resources through each service's API, which refuses
what breaks its model's constraints (a ``pattern``, a ``max`` length, an ``enum``) and the
ones AWS documents in prose (EC2's character set for security group rule descriptions). The
local rehearsal deploys through moto's CloudFormation, which calls no API, so its constraint
check (tools.localaws.constraints) never sees these values: this test puts every mapped
property (tests/template/api_calls.py) through the same check.
"""

from collections.abc import Callable
from typing import Any

import pytest

from tests.template.api_calls import (
    ROWS,
    STACK_NAME,
    STACK_NAME_LENGTH,
    Resolver,
    requests,
    unresolved,
)
from tests.template.conftest import DEPLOYABLE_MODES
from tools.localaws.constraints import check, service_model

UNRESOLVED_ALLOWED = {
    ("AWS::Lambda::Function", "Environment.Variables"): (
        "values that are ARNs and ids CloudFormation assigns (subnets, security group, roles, "
        "the secret's ARN); the names and the values the template writes are checked"
    ),
}
"""Properties that may hold values only CloudFormation knows: none is a string the template
builds, so leaving it unchecked hides nothing (the keys and the other values are checked)."""

_NAMED_PROPERTY = ("Name", "Description", "Tags")


def _rendered(render: Callable[..., dict[str, Any]], mode: str) -> dict[str, Any]:
    return render(Mode=mode)


@pytest.mark.parametrize("mode", DEPLOYABLE_MODES)
def test_every_value_sent_to_an_api_satisfies_its_constraints(
    render: Callable[..., dict[str, Any]], mode: str
) -> None:
    rendered = _rendered(render, mode)
    resolver = Resolver(rendered)
    failures = []
    for logical_id, resource in sorted(rendered["Resources"].items()):
        for request in requests(logical_id, resource, resolver):
            row = request.row
            for violation in check(row.service, row.operation, request.params):
                failures.append(
                    f"{logical_id} ({row.resource_type}) {request.prop} = {violation.value!r}: "
                    f"{row.api} {violation.path}: {violation.rule}"
                )
    assert not failures, (
        f"Mode {mode}, stack name of {len(STACK_NAME)} characters: AWS refuses\n  "
        + "\n  ".join(failures)
    )


def test_the_stack_name_is_the_longest_cloudformation_accepts() -> None:
    assert len(STACK_NAME) == STACK_NAME_LENGTH == 128
    assert check("cloudformation", "CreateStack", {"StackName": STACK_NAME}) == []
    assert check("cloudformation", "CreateStack", {"StackName": STACK_NAME + "x"}) != []


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.resource_type}.{r.prop}:{r.when or ''}")
def test_every_row_names_a_member_of_the_api(row: Any) -> None:
    shape = service_model(row.service).operation_model(row.operation).input_shape
    for step in row.member.split("."):
        name = step.removesuffix("[]")
        assert name in shape.members, f"{row.service} {row.operation} has no {row.member}"
        shape = shape.members[name]
        if step.endswith("[]"):
            assert shape.type_name == "list"
            shape = shape.member


@pytest.mark.parametrize("mode", DEPLOYABLE_MODES)
def test_every_name_description_and_tags_property_is_mapped(
    render: Callable[..., dict[str, Any]], mode: str
) -> None:
    mapped = {(row.resource_type, row.prop.split("[]")[0].split(".")[0]) for row in ROWS}
    missing = sorted(
        f"{logical_id} ({resource['Type']}) {prop}"
        for logical_id, resource in _rendered(render, mode)["Resources"].items()
        for prop in resource.get("Properties", {})
        if prop.endswith(_NAMED_PROPERTY) and (resource["Type"], prop) not in mapped
    )
    assert not missing, f"add a row to tests/template/api_calls.py ROWS for: {missing}"


@pytest.mark.parametrize("mode", DEPLOYABLE_MODES)
def test_only_values_cloudformation_assigns_are_left_unchecked(
    render: Callable[..., dict[str, Any]], mode: str
) -> None:
    rendered = _rendered(render, mode)
    resolver = Resolver(rendered)
    unexpected = sorted(
        f"{logical_id} ({resource['Type']}) {request.prop}.{where}: {value}"
        for logical_id, resource in rendered["Resources"].items()
        for request in requests(logical_id, resource, resolver)
        for where, value in unresolved(request.value)
        if (resource["Type"], request.row.prop) not in UNRESOLVED_ALLOWED
    )
    assert not unexpected, unexpected
