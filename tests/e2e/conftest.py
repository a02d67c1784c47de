"""Fixtures for the rehearsal tests: each shipped scenario is rehearsed once per session."""

import functools
from collections.abc import Callable
from pathlib import Path

import pytest

from tools.rehearse import Summary, run_scenario

REPO = Path(__file__).resolve().parents[2]
SHIPPED = {path.stem: path for path in sorted((REPO / "scenarios").glob("*/*.yaml"))}


@pytest.fixture(scope="session")
def rehearsed() -> Callable[[str], list[Summary]]:
    """Return the summaries of a shipped scenario (by file stem), rehearsing it on first use."""

    @functools.cache
    def rehearse(stem: str) -> list[Summary]:
        return run_scenario(SHIPPED[stem])

    return rehearse
