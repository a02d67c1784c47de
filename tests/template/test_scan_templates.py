"""What `make lint-scan` hands checkov: one rendered template per mode, with the skips."""

import re
from typing import Any

import pytest

from batchscratch.modes import MODES
from tests.template.cfn import resources_of_type
from tools.scan import rendered_template

CHECK_ID = re.compile(r"^CKV2?_(AWS|DOCKER)_\d+$")


@pytest.fixture(scope="module", params=sorted(MODES))
def scanned(request: pytest.FixtureRequest, translated: dict[str, Any]) -> Any:
    return request.param, rendered_template(translated, request.param)


def test_each_mode_is_scanned_as_it_deploys(
    scanned: tuple[str, dict[str, Any]], render: Any
) -> None:
    mode, template = scanned
    assert template["Parameters"]["Mode"]["Default"] == mode
    assert set(template["Resources"]) == set(render(Mode=mode)["Resources"])
    assert all("Condition" not in body for body in template["Resources"].values())
    assert "Conditions" not in template


def test_function_skips_survive_the_sam_translation(
    sam_template: dict[str, Any], scanned: tuple[str, dict[str, Any]]
) -> None:
    """samtranslator copies a function's Metadata to its AWS::Lambda::Function, where checkov
    reads the skips; if it stopped, checkov would fail on every function."""
    _, template = scanned
    functions = resources_of_type(template, "AWS::Lambda::Function")
    assert functions
    for name, body in functions.items():
        assert body["Metadata"] == sam_template["Resources"][name]["Metadata"], name


def _skips(sam_template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, skip)
        for name, body in sam_template["Resources"].items()
        for skip in body.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]


def test_every_skip_names_a_check_and_says_why(sam_template: dict[str, Any]) -> None:
    skips = _skips(sam_template)
    assert skips
    for name, skip in skips:
        assert set(skip) == {"id", "comment"}, name
        assert CHECK_ID.match(skip["id"]), (name, skip["id"])
        assert len(skip["comment"].split()) >= 8, (name, skip["id"], skip["comment"])


def test_a_check_is_skipped_once_per_resource(sam_template: dict[str, Any]) -> None:
    seen = [(name, skip["id"]) for name, skip in _skips(sam_template)]
    assert len(seen) == len(set(seen))
