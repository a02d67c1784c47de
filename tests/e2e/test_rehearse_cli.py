"""``python -m tools.rehearse FILE``: trace, one JSON summary line last, exit status."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def rehearse(*arguments: Path | str) -> subprocess.CompletedProcess[str]:
    """``python -m tools.rehearse ARGUMENTS`` (options and files) from the repository root."""
    path = os.pathsep.join([str(REPO / "layers" / "common"), str(REPO)])
    return subprocess.run(
        [sys.executable, "-m", "tools.rehearse", *map(str, arguments)],
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
    summary = json.loads(lines[-2])
    assert summary["scenario"] == "check"
    assert summary["status"] == "SUCCEEDED"
    assert summary["expectationsMet"] is (code == 0)
    assert "LoadConfig" in result.stdout.split(lines[-2])[0]
    tally = json.loads(lines[-1])["tally"]
    assert tally == {
        "scenarios": 1,
        "executions": 1,
        "met": 1 if code == 0 else 0,
        "notMet": [] if code == 0 else ["check"],
    }
    assert result.stderr == ""


def test_quiet_prints_only_summaries_and_the_tally(tmp_path: Path) -> None:
    met, missed = tmp_path / "met.yaml", tmp_path / "missed.yaml"
    met.write_text("mode: OnlyEBS\nexpect:\n  status: SUCCEEDED\n")
    missed.write_text("mode: TaskExport\nexpect:\n  exportTasks: 1\n  jobStatus: FAILED\n")
    result = rehearse("--quiet", met, missed)
    assert result.returncode == 1, result.stderr
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [line.get("scenario") for line in lines[:-1]] == ["met", "missed"]
    assert lines[1]["failedExpectations"] == ['jobStatus: expected "FAILED", got "SUCCEEDED"']
    assert lines[-1]["tally"]["notMet"] == ["missed"]
    assert lines[-1]["tally"]["met"] == 1


def test_invalid_scenario_file_is_refused_naming_the_key(tmp_path: Path) -> None:
    scenario = tmp_path / "typo.yaml"
    scenario.write_text("mode: OnlyEBS\naws:\n  abortAftr: RunJob\n")
    result = rehearse(scenario)
    assert result.returncode == 2
    assert "aws.abortAftr: unknown key" in result.stderr
    assert result.stdout == ""


def rehearse_with(env: dict[str, str], *files: Path) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([str(REPO / "layers" / "common"), str(REPO)])
    return subprocess.run(
        [sys.executable, "-m", "tools.rehearse", *map(str, files)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": path, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("aws", "expected"),
    [
        (
            "abortAfter: RunJobb",
            ['aws.abortAfter = "RunJobb"', "OnlyEBS", "only_ebs.asl.json", "RunJob, "],
        ),
        ("abortAfter: WaitForDrain", ['aws.abortAfter = "WaitForDrain"', "CreateVolume"]),
        ("abortAfter: FailRun", ['aws.abortAfter = "FailRun"', "Fail state", "RunJob"]),
        ("abortAfter: RejectConfiguration", ['"RejectConfiguration"', "Fail state"]),
        (
            "throttle: {ec2:CreateVolumes: 1}",
            ["aws.throttle", "ec2:CreateVolumes", "no operation 'CreateVolumes'"],
        ),
        (
            "throttle: {ecc2:CreateVolume: 1}",
            ["aws.throttle", "ecc2:CreateVolume", "'ecc2' is not an AWS service"],
        ),
    ],
)
def test_unknown_abort_state_or_throttled_operation_is_refused(
    tmp_path: Path, aws: str, expected: list[str]
) -> None:
    scenario = tmp_path / "typo.yaml"
    scenario.write_text(f"mode: OnlyEBS\naws:\n  {aws}\n")
    result = rehearse(scenario)
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for text in expected:
        assert text in result.stderr


def test_known_throttle_keys_and_abort_states_are_accepted() -> None:
    from tools.scenario import check_states, parse  # noqa: PLC0415

    scenario = parse(
        {
            "mode": "AutoExport",
            "aws": {
                "abortAfter": "WaitForDrain",
                "throttle": {
                    "states:StartExecution": 1,
                    "fsx:DescribeFileSystems": 1,
                    "lambda:Invoke": 1,
                    "secretsmanager:GetSecretValue": 1,
                    "cloudwatch:GetMetricData": 1,
                },
            },
        }
    )
    check_states(scenario, REPO)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"REHEARSAL_TIMEOUT_SECONDS": "soon"}, "REHEARSAL_TIMEOUT_SECONDS = 'soon'"),
        ({"REHEARSAL_TIMEOUT_SECONDS": "0"}, "REHEARSAL_TIMEOUT_SECONDS = '0'"),
        ({"REHEARSAL_TIMEOUT_SECONDS": "-5"}, "REHEARSAL_TIMEOUT_SECONDS = '-5'"),
        ({"REHEARSAL_LOG_LEVEL": "LOUD"}, "REHEARSAL_LOG_LEVEL = 'LOUD'"),
    ],
)
def test_invalid_environment_is_refused_in_one_line(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    scenario = tmp_path / "check.yaml"
    scenario.write_text("mode: OnlyEBS\n")
    result = rehearse_with(env, scenario)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
