"""``python -m tools.rehearse FILE``: trace, one JSON summary line last, exit status."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def rehearse(*files: Path) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([str(REPO / "layers" / "common"), str(REPO)])
    return subprocess.run(
        [sys.executable, "-m", "tools.rehearse", *map(str, files)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(("status", "code"), [("SUCCEEDED", 0), ("FAILED", 1)])
def test_exit_status_says_whether_expectations_were_met(
    tmp_path: Path, status: str, code: int
) -> None:
    scenario = tmp_path / "check.yaml"
    scenario.write_text(f"mode: OnlyEBS\nexpect:\n  status: {status}\n  leaked: []\n")
    result = rehearse(scenario)
    assert result.returncode == code, result.stderr
    lines = result.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["scenario"] == "check"
    assert summary["status"] == "SUCCEEDED"
    assert summary["expectationsMet"] is (code == 0)
    assert "LoadConfig" in result.stdout.split(lines[-1])[0]
    assert result.stderr == ""


def test_invalid_scenario_file_is_refused_naming_the_key(tmp_path: Path) -> None:
    scenario = tmp_path / "typo.yaml"
    scenario.write_text("mode: OnlyEBS\naws:\n  abortAftr: RunJob\n")
    result = rehearse(scenario)
    assert result.returncode == 2
    assert "aws.abortAftr: unknown key" in result.stderr
    assert result.stdout == ""
