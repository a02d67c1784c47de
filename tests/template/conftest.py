"""Fixtures for the template tests: the SAM template, its offline translation, renderings."""

from collections.abc import Callable
from typing import Any

import pytest

from tests.template import cfn

DEPLOYABLE_MODES = ("TaskExport", "AutoExport", "OnlyEBS")
"""Every value of the Mode parameter: each one deploys."""
LUSTRE_MODES = ("TaskExport", "AutoExport")


@pytest.fixture(scope="session")
def sam_template() -> dict[str, Any]:
    """template.yaml as written (SAM resources, short-form intrinsics expanded)."""
    return cfn.load_sam_template()


@pytest.fixture(scope="session")
def translated(sam_template: dict[str, Any]) -> dict[str, Any]:
    """template.yaml translated to plain CloudFormation by samtranslator, offline."""
    return cfn.translate(sam_template)


@pytest.fixture(scope="session")
def render(translated: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    """``render(**parameters)``: the translated template as deployed with those values."""
    cache: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}

    def _render(**overrides: str) -> dict[str, Any]:
        key = tuple(sorted(overrides.items()))
        if key not in cache:
            cache[key] = cfn.render(translated, overrides)
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def only_ebs(render: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """The OnlyEBS deployment with every other parameter at its default."""
    return render(Mode="OnlyEBS")


@pytest.fixture(scope="session")
def task_export(render: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """The TaskExport deployment with every other parameter at its default."""
    return render(Mode="TaskExport")


@pytest.fixture(scope="session")
def auto_export(render: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """The AutoExport deployment with every other parameter at its default."""
    return render(Mode="AutoExport")


@pytest.fixture(scope="session", params=LUSTRE_MODES)
def lustre(request: pytest.FixtureRequest, render: Callable[..., dict[str, Any]]) -> Any:
    """Each Lustre mode's rendering in turn (TaskExport, AutoExport)."""
    return render(Mode=request.param)


@pytest.fixture(scope="session", params=DEPLOYABLE_MODES)
def deployment(request: pytest.FixtureRequest, render: Callable[..., dict[str, Any]]) -> Any:
    """Each deployable mode's rendering in turn (``deployment["Parameters"]["Mode"]``)."""
    return render(Mode=request.param)
