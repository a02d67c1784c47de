"""The local server (``python -m tools.rehearse --serve``): what a client started there is
rehearsed as a rehearsal would rehearse it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import Server


def test_an_execution_started_over_http_plays_the_scenario(
    local_server: Callable[[str | Path], Server],
) -> None:
    server = local_server("scenarios/task_export/spot-reclaim.yaml")
    sfn = server.client("stepfunctions")
    sfn.start_execution(stateMachineArn=server.outputs["StateMachineArn"], name="over-http")

    summary = server.summary("over-http")

    # The scenario's Spot reclaim was played: Batch retried, the run succeeded, nothing left.
    assert summary["status"] == "SUCCEEDED"
    assert summary["jobAttempts"] == 2
    assert summary["leaked"] == [] and summary["retained"] == []
    assert summary["expectationsMet"] is True


def test_a_failed_run_is_summarized_after_its_release(
    local_server: Callable[[str | Path], Server],
) -> None:
    server = local_server("scenarios/task_export/export-failed-files.yaml")
    sfn = server.client("stepfunctions")
    sfn.start_execution(stateMachineArn=server.outputs["StateMachineArn"], name="kept")

    summary = server.summary("kept")

    assert summary["status"] == "FAILED" and summary["error"] == "ExportFailed"
    assert summary["release"] == "SUCCEEDED"
    kinds = sorted(entry.rsplit(":", 1)[0] for entry in summary["retained"])
    assert kinds == ["fsx:data-repository-association", "fsx:file-system"]


def test_the_stack_lists_its_list_parameters_as_cloudformation_does(
    local_server: Callable[[str | Path], Server],
) -> None:
    server = local_server("scenarios/only_ebs/default.yaml")
    cloudformation = server.client("cloudformation")
    stack = cloudformation.describe_stacks(StackName=server.stack)["Stacks"][0]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    # CommaDelimitedList values are the text given ("a,b"), not a list's repr.
    keys = parameters["ExecutionInputKeys"].split(",")
    assert "ebsSizeGb" in keys and not any("[" in key or "'" in key for key in keys)
    assert json.loads(json.dumps(server.outputs))["StorageMode"] == "OnlyEBS"
