"""Fixtures for the rehearsal tests: each shipped scenario is rehearsed once per session."""

import functools
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tools.localaws import FunctionCode, LocalAws
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


PROBE_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}],
}


def deploy_probe(aws: LocalAws, folder: Path, source: str, timeout: int) -> tuple[str, str]:
    """Create the Lambda function ``probe`` (Python 3.13, ``timeout`` seconds) whose handler
    is ``source``, written to ``folder/app.py`` and run from there by the rehearsal.

    Returns ``(function ARN, role ARN)``.
    """
    (folder / "app.py").write_text(source)
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", source)
    role = aws.client("iam").create_role(
        RoleName="probe", AssumeRolePolicyDocument=json.dumps(PROBE_ROLE_POLICY)
    )["Role"]["Arn"]
    arn = aws.client("lambda").create_function(
        FunctionName="probe",
        Runtime="python3.13",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": code.getvalue()},
        Timeout=timeout,
    )["FunctionArn"]
    aws.sim.functions["probe"] = FunctionCode("ProbeFunction", folder / "app.py")
    return str(arn), str(role)


def assert_released(summary: Summary) -> None:
    """The run took its failure path (the release workflow, started from its Catch), and
    the release finished without giving up (nothing to report)."""
    assert summary.states[-2:] == ["StartRelease", "FailRun"], summary.states
    assert summary.release == "SUCCEEDED"
    assert summary.releaseStates[0] == "ReleaseRun"
    assert "RetainRun" not in summary.releaseStates
    assert summary.notifications == 0
