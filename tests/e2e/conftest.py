"""Fixtures for the rehearsal tests: each shipped scenario is rehearsed once per session."""

import functools
from collections.abc import Callable
from pathlib import Path

import pytest

from tools.rehearse import Summary, run_scenario

REPO = Path(__file__).resolve().parents[2]
SHIPPED = {
    f"{path.parent.name}/{path.stem}": path
    for path in sorted((REPO / "scenarios").glob("*/*.yaml"))
}
"""Shipped scenarios by "<mode directory>/<file stem>", e.g. "only_ebs/default"."""


@pytest.fixture(scope="session")
def rehearsed() -> Callable[[str], list[Summary]]:
    """Return the summaries of a shipped scenario ("only_ebs/default"), rehearsing it on
    first use."""

    @functools.cache
    def rehearse(key: str) -> list[Summary]:
        return run_scenario(SHIPPED[key])

    return rehearse
