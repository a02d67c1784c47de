"""Lambda in the local AWS (``tools.localaws.invoke``): each function has its own execution
environment, as in Lambda. The tests deploy the project's OnlyEBS stack and invoke its real
functions.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tools.localaws import LocalAws, Simulation
from tools.localaws.behaviour import Aws
from tools.localaws.invoke import containers

REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- isolation


def _load_config_event(execution: str) -> dict[str, Any]:
    event = json.loads((REPO / "events" / "load_config.json").read_text())
    return {**event, "executionArn": execution}


def _reaper_event() -> dict[str, Any]:
    return dict(json.loads((REPO / "events" / "reaper.json").read_text()))


@pytest.fixture
def only_ebs() -> Iterator[tuple[LocalAws, dict[str, str]]]:
    """The OnlyEBS stack deployed in a fresh local AWS (each function still cold), and
    function logical id -> deployed name."""
    with LocalAws(REPO, Simulation()) as aws:
        stack = aws.deploy("OnlyEBS")
        names = {code.logical_id: name for name, code in stack.functions.items()}
        yield aws, names


def _invoke(aws: LocalAws, name: str, event: dict[str, Any]) -> tuple[bool, Any]:
    answer = aws.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event))
    return "FunctionError" in answer, json.loads(answer["Payload"].read())


def _throttle_secret_reads(aws: LocalAws, function: str) -> None:
    """From now on every GetSecretValue call ``function`` makes is throttled."""
    aws.sim.behaviour = Aws.model_validate(
        {"throttle": {"secretsmanager:GetSecretValue": {"function": function, "count": 100}}}
    )


def test_a_function_never_reads_another_functions_cached_secret(
    only_ebs: tuple[LocalAws, dict[str, str]],
) -> None:
    aws, names = only_ebs
    execution = _reaper_event()["detail"]["executionArn"]
    errored, answer = _invoke(aws, names["LoadConfigFunction"], _load_config_event(execution))
    assert not errored, answer
    _throttle_secret_reads(aws, "ReaperFunction")
    errored, answer = _invoke(aws, names["ReaperFunction"], _reaper_event())
    assert errored
    assert answer["errorType"] == "GetParameterError"  # Powertools wraps the ClientError
    assert "ThrottlingException" in answer["errorMessage"]
    assert "GetSecretValue" in answer["errorMessage"]
    # LoadConfig's environment still holds the secret it read: no call to throttle.
    _throttle_secret_reads(aws, "LoadConfigFunction")
    errored, answer = _invoke(aws, names["LoadConfigFunction"], _load_config_event(execution))
    assert not errored, answer


def test_each_function_keeps_its_own_clients_from_one_invocation_to_the_next(
    only_ebs: tuple[LocalAws, dict[str, str]],
) -> None:
    aws, names = only_ebs
    execution = _reaper_event()["detail"]["executionArn"]
    from batchscratch import aws as layer_aws  # noqa: PLC0415 - importable once deployed

    outside = dict(layer_aws.CLIENTS)
    reaper = containers(aws.sim)
    _invoke(aws, names["ReaperFunction"], _reaper_event())
    first = dict(reaper["ReaperFunction"].state["batchscratch.aws:CLIENTS"])
    _invoke(aws, names["LoadConfigFunction"], _load_config_event(execution))
    _invoke(aws, names["ReaperFunction"], _reaper_event())
    again = reaper["ReaperFunction"].state["batchscratch.aws:CLIENTS"]
    assert first, "the reaper made no layer client"
    assert all(again[service] is client for service, client in first.items())
    others = [
        client
        for logical_id, container in reaper.items()
        if logical_id != "ReaperFunction"
        for client in container.state.get("batchscratch.aws:CLIENTS", {}).values()
    ]
    assert not any(client is mine for client in others for mine in first.values())
    assert outside == layer_aws.CLIENTS
