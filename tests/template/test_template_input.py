"""The input surface in the template: which keys an execution input may set, and which images
a job definition may name, in LoadConfig's settings and in IAM alike."""

import re
from collections.abc import Callable
from typing import Any

import pytest

from batchscratch.config import (
    INPUT_KEYS_PARAMETER,
    INPUT_KEYS_VARIABLE,
    configuration_keys,
    default_input_keys,
)
from batchscratch.images import (
    ALLOWED_IMAGE_ENTRY,
    IMAGES_PARAMETER,
    IMAGES_VARIABLE,
    image_allowed,
)
from tests.template.cfn import (
    PSEUDO_PARAMETERS,
    allows,
    policy_statements,
    role_statements,
    rule_failures,
)
from tools import cfn

DIGEST = "sha256:" + "0" * 64
ENTRIES = "public.ecr.aws/my-alias/tools,ghcr.io/my-org/*"


def _evaluator(translated: dict[str, Any], **overrides: str) -> cfn.Evaluator:
    """The template deployed with ``overrides``; ``Ref`` to the ECR repository gives its
    ``RepositoryName`` as CloudFormation would, to another resource ``<LogicalId>``."""

    def resource_ref(name: str, resource: dict[str, Any]) -> Any:
        if resource["Type"] == "AWS::ECR::Repository":
            return resource["Properties"]["RepositoryName"]
        return f"<{name}>"

    return cfn.Evaluator.deploying(
        translated, overrides, pseudo=PSEUDO_PARAMETERS, resource_ref=resource_ref
    )


def _register_statements(rendered: dict[str, Any]) -> list[dict[str, Any]]:
    return allows(
        role_statements(rendered, "PrepareComputeFunctionRole"), "batch:RegisterJobDefinition"
    )


def _string_like(pattern: str, value: str) -> bool:
    """IAM's StringLike: ``*`` any characters, ``?`` one, case-sensitive, the whole value."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch("".join(parts), value, re.DOTALL) is not None


def test_the_input_keys_default_is_the_models(sam_template: dict[str, Any]) -> None:
    parameter = sam_template["Parameters"][INPUT_KEYS_PARAMETER]

    assert parameter["Type"] == "CommaDelimitedList"
    assert parameter["Default"].split(",") == list(default_input_keys())


def test_the_allowed_images_pattern_is_the_layer_s(sam_template: dict[str, Any]) -> None:
    parameter = sam_template["Parameters"][IMAGES_PARAMETER]

    assert parameter["Type"] == "CommaDelimitedList"
    assert parameter["Default"] == ""
    assert parameter["AllowedPattern"] == f"^$|^{ALLOWED_IMAGE_ENTRY.pattern}$"


@pytest.mark.parametrize("mode", ["TaskExport", "AutoExport", "OnlyEBS"])
def test_load_config_gets_the_keys_and_the_repositories(
    translated: dict[str, Any], render: Callable[..., dict[str, Any]], mode: str
) -> None:
    evaluator = _evaluator(translated, Mode=mode, AllowedImagePrefixes=ENTRIES)
    rendered = render(Mode=mode, AllowedImagePrefixes=ENTRIES)
    function = rendered["Resources"]["LoadConfigFunction"]["Properties"]
    variables = evaluator.value(function["Environment"]["Variables"])
    secret = evaluator.value(rendered["Resources"]["ConfigSecret"]["Properties"]["SecretString"])
    image = re.search(r'"jobDefinitionContainerImage": "([^"]+)"', secret)
    assert image is not None

    assert variables[INPUT_KEYS_VARIABLE] == ",".join(default_input_keys())
    entries = variables[IMAGES_VARIABLE].split(",")
    assert entries[1:] == ENTRIES.split(",")
    # The stack's own repository comes first, and the secret's default image is in it.
    assert image_allowed(image[1], entries[:1])
    release = rendered["Resources"]["StartReleaseFunction"]["Properties"]
    assert (
        evaluator.value(release["Environment"]["Variables"])[INPUT_KEYS_VARIABLE]
        == (variables[INPUT_KEYS_VARIABLE])
    )


def test_only_prepare_compute_registers_job_definitions(deployment: dict[str, Any]) -> None:
    owners = {
        owner
        for owner, statement in policy_statements(deployment)
        if allows([statement], "batch:RegisterJobDefinition")
    }

    assert owners == {"Role/PrepareComputeFunctionRole"}


@pytest.mark.parametrize("prefixes", ["", ENTRIES])
def test_iam_allows_exactly_the_images_load_config_allows(
    translated: dict[str, Any], render: Callable[..., dict[str, Any]], prefixes: str
) -> None:
    evaluator = _evaluator(translated, Mode="OnlyEBS", AllowedImagePrefixes=prefixes)
    rendered = render(Mode="OnlyEBS", AllowedImagePrefixes=prefixes)
    [statement] = _register_statements(rendered)
    patterns = evaluator.value(statement["Condition"]["StringLike"]["batch:Image"])
    variables = rendered["Resources"]["LoadConfigFunction"]["Properties"]["Environment"]
    entries = evaluator.value(variables["Variables"][IMAGES_VARIABLE]).strip(",").split(",")
    own = entries[0]
    images = [
        own,
        f"{own}:latest",
        f"{own}@{DIGEST}",
        f"{own}:v1@{DIGEST}",
        f"{own}-evil:latest",
        f"{own}/other:latest",
        "batch-job-with-ebs:latest",
        "docker.io/library/ubuntu:22.04",
        "public.ecr.aws/my-alias/tools:1",
        "public.ecr.aws/my-alias/tools@" + DIGEST,
        "public.ecr.aws/my-alias/tools-evil:1",
        "public.ecr.aws/my-alias/tools/x:1",
        "ghcr.io/my-org/solver:2",
        "ghcr.io/my-org/a/b@" + DIGEST,
        "ghcr.io/my-org-evil/solver:2",
        "ghcr.io/my-org:2",
    ]

    verdicts = {
        image: (any(_string_like(p, image) for p in patterns), image_allowed(image, entries))
        for image in images
    }

    disagree = {image: verdict for image, verdict in verdicts.items() if len(set(verdict)) > 1}
    assert disagree == {}, "(IAM, LoadConfig)"
    assert verdicts[f"{own}:latest"] == (True, True)
    assert verdicts["ghcr.io/my-org/solver:2"] == ((True, True) if prefixes else (False, False))


def test_job_definitions_may_not_be_privileged(deployment: dict[str, Any]) -> None:
    [statement] = _register_statements(deployment)

    assert statement["Condition"]["Bool"] == {"batch:Privileged": "false"}


def test_the_input_keys_rule_lists_every_configuration_key(sam_template: dict[str, Any]) -> None:
    (assertion,) = sam_template["Rules"]["ExecutionInputKeysAreConfigurationKeys"]["Assertions"]
    listed, allowed = assertion["Assert"]["Fn::EachMemberIn"]
    assert listed == {"Ref": INPUT_KEYS_PARAMETER}
    assert allowed == ["*", "", *configuration_keys()]


@pytest.mark.parametrize(
    ("value", "refused"),
    [("ebsSizeGb,jobCommand", False), ("*", False), ("", False), ("ebsSizeGB,jobCommand", True)],
)
def test_a_misspelt_input_key_is_refused_at_deploy(
    sam_template: dict[str, Any], value: str, refused: bool
) -> None:
    failures = rule_failures(sam_template, {INPUT_KEYS_PARAMETER: value})
    assert bool(failures) is refused, failures
