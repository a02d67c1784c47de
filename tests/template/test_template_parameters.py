"""Parameters deploy as they are, and the Rules refuse what cannot work before anything exists."""

import re
from typing import Any

import pytest

from tests.template.cfn import references, rule_failures

MODES = {"TaskExport", "AutoExport", "OnlyEBS"}


def _satisfies(spec: dict[str, Any], value: str) -> list[str]:
    problems = []
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        problems.append(f"{value!r} not in AllowedValues")
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        problems.append(f"{value!r} does not match AllowedPattern")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        problems.append(f"{value!r} shorter than MinLength")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        problems.append(f"{value!r} longer than MaxLength")
    if spec["Type"] == "Number":
        number = float(value)
        if "MinValue" in spec and number < float(spec["MinValue"]):
            problems.append(f"{value} below MinValue")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            problems.append(f"{value} above MaxValue")
    return problems


def test_every_parameter_has_a_description_and_a_default_that_deploys(
    sam_template: dict[str, Any],
) -> None:
    problems = {}
    for name, spec in sam_template["Parameters"].items():
        found = []
        if not str(spec.get("Description", "")).strip():
            found.append("no Description")
        if "Default" not in spec:
            found.append("no Default")
        else:
            default = str(spec["Default"])
            values = default.split(",") if spec["Type"] == "CommaDelimitedList" else [default]
            for value in values:
                found.extend(_satisfies(spec, value))
        if found:
            problems[name] = found
    assert problems == {}


def test_parameters_with_a_fixed_set_of_values_list_them(sam_template: dict[str, Any]) -> None:
    parameters = sam_template["Parameters"]
    assert set(parameters["Mode"]["AllowedValues"]) == MODES
    assert parameters["Mode"]["Default"] == "TaskExport"
    assert set(parameters["ComputeEnvironmentType"]["AllowedValues"]) == {"SPOT", "EC2"}
    assert parameters["ComputeEnvironmentType"]["Default"] == "SPOT"
    assert set(parameters["AllocationStrategy"]["AllowedValues"]) == {
        "BEST_FIT",
        "BEST_FIT_PROGRESSIVE",
        "SPOT_CAPACITY_OPTIMIZED",
        "SPOT_PRICE_CAPACITY_OPTIMIZED",
    }
    assert parameters["AllocationStrategy"]["Default"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"


def test_compute_defaults(sam_template: dict[str, Any]) -> None:
    parameters = sam_template["Parameters"]
    defaults = {name: str(parameters[name]["Default"]) for name in parameters}
    assert defaults["InstanceTypes"] == "optimal"
    assert (defaults["MinvCpus"], defaults["MaxvCpus"], defaults["DesiredvCpus"]) == (
        "0",
        "256",
        "0",
    )
    # Empty: the repository takes the mode's standard name (test_template_workflow.py).
    assert defaults["EcrRepositoryName"] == ""


def test_the_defaults_pass_every_rule(sam_template: dict[str, Any]) -> None:
    assert rule_failures(sam_template, {}) == []


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_passes_every_rule(sam_template: dict[str, Any], mode: str) -> None:
    assert rule_failures(sam_template, {"Mode": mode}) == []


def test_no_rule_refuses_a_mode(sam_template: dict[str, Any]) -> None:
    # Every mode deploys: no rule looks at Mode at all.
    for name, rule in sam_template.get("Rules", {}).items():
        assert "Mode" not in set(references(rule)), name


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("", True),
        ("batch-job-with-ebs", True),
        ("team/batch-job_v2.1", True),
        ("Batch-Job", False),
        ("batch job", False),
        ("-batch", False),
    ],
)
def test_repository_names_follow_ecr_rules_or_stay_empty(
    sam_template: dict[str, Any], name: str, accepted: bool
) -> None:
    spec = sam_template["Parameters"]["EcrRepositoryName"]
    assert (_satisfies(spec, name) == []) is accepted


@pytest.mark.parametrize(
    ("overrides", "refused"),
    [
        ({"ComputeEnvironmentType": "EC2", "AllocationStrategy": "SPOT_CAPACITY_OPTIMIZED"}, True),
        (
            {
                "ComputeEnvironmentType": "EC2",
                "AllocationStrategy": "SPOT_PRICE_CAPACITY_OPTIMIZED",
            },
            True,
        ),
        ({"ComputeEnvironmentType": "EC2", "AllocationStrategy": "BEST_FIT_PROGRESSIVE"}, False),
        ({"ComputeEnvironmentType": "EC2", "AllocationStrategy": "BEST_FIT"}, False),
        ({"ComputeEnvironmentType": "SPOT", "AllocationStrategy": "BEST_FIT"}, True),
        ({"ComputeEnvironmentType": "SPOT", "AllocationStrategy": "BEST_FIT_PROGRESSIVE"}, False),
        (
            {"ComputeEnvironmentType": "SPOT", "AllocationStrategy": "SPOT_CAPACITY_OPTIMIZED"},
            False,
        ),
    ],
)
def test_allocation_strategy_must_fit_the_purchase_option(
    sam_template: dict[str, Any], overrides: dict[str, str], refused: bool
) -> None:
    failures = rule_failures(sam_template, overrides)
    assert bool(failures) is refused, failures
    if refused:
        assert overrides["AllocationStrategy"] in failures[0]


@pytest.mark.parametrize(
    ("overrides", "refused"),
    [
        ({"VpcId": "vpc-0123456789abcdef0"}, True),
        ({"PrivateSubnetIds": "subnet-0123456789abcdef0"}, True),
        (
            {
                "VpcId": "vpc-0123456789abcdef0",
                "PrivateSubnetIds": "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
            },
            False,
        ),
    ],
)
def test_an_existing_vpc_needs_its_private_subnets(
    sam_template: dict[str, Any], overrides: dict[str, str], refused: bool
) -> None:
    failures = rule_failures(sam_template, overrides)
    assert bool(failures) is refused, failures
