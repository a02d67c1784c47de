"""The Makefile reads the mode registry and runs the drift check (``make -n``: nothing runs)."""

import os
import shutil
import subprocess

import pytest

from batchscratch.modes import MODES
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(
    shutil.which("make") is None or not (REPO / ".venv" / "bin" / "python").exists(),
    reason="needs make and the project's .venv (make setup)",
)


def make_commands(*targets: str) -> list[str]:
    """The commands ``make -n`` prints for ``targets``, with this checkout's layer on the path."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", *targets],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": f"{REPO / 'layers/common'}:{REPO}"},
    )
    return result.stdout.splitlines()


def test_make_rehearse_runs_every_scenario_of_every_mode() -> None:
    (command,) = [line for line in make_commands("rehearse") if "-m tools.rehearse" in line]
    expected = sorted(
        path.relative_to(REPO).as_posix()
        for mode in MODES.values()
        for path in (REPO / mode.scenarios).glob("*.yaml")
    )
    assert command.split("-m tools.rehearse ", 1)[1].split() == expected


def test_make_lint_checks_that_the_state_machines_are_the_builder_s() -> None:
    assert any(line.endswith("-m tools.asl --check") for line in make_commands("lint"))


def test_make_diagrams_draws_with_tools_diagrams_after_looking_for_graphviz() -> None:
    commands = make_commands("diagrams")
    (check,) = [line for line in commands if "command -v dot" in line]
    assert "apt-get install graphviz" in check
    assert "brew install graphviz" in check
    assert commands[-1].endswith("-m tools.diagrams")


def test_make_lint_checks_that_the_generated_tables_are_current() -> None:
    assert any(line.endswith("-m tools.docs_tables --check") for line in make_commands("lint"))


def test_make_docs_fills_the_generated_tables() -> None:
    assert any(line.endswith("-m tools.docs_tables") for line in make_commands("docs"))


def test_make_lint_checks_that_the_pictures_are_current() -> None:
    assert any(line.endswith("-m tools.diagrams --check") for line in make_commands("lint"))
