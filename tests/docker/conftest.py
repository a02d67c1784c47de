"""Fixtures for the sample job scripts in docker/."""

from pathlib import Path

import pytest

from tests.docker.stand_ins import FakeTools, install


@pytest.fixture
def fake_tools(tmp_path: Path) -> FakeTools:
    """Stand-in ``aws`` and ``docker`` commands first on PATH, in a temporary directory."""
    return install(tmp_path / "fake")
