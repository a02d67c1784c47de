"""StartRelease: runs that ended without their Catch, and runs that left resources behind,
get their release, named after the run id, once.

Step Functions is answered through Stubber (moto's executions have no real history) and the
Resource Groups Tagging API likewise; the secret is moto's.
"""

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from batchscratch import aws as layer_aws
from batchscratch import clock
from batchscratch.config import default_input_keys
from batchscratch.run import TAG_EXECUTION, TAG_RETAINED, TAG_STACK
from functions.start_release import app as start_release
from tests.conftest import load_event
from tests.unit.test_config import SECRET

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:BatchScratchRelease-1c2fa620"
RELEASES = MACHINE.replace(":stateMachine:", ":execution:")
STACK = "batch-scratch-onlyebs"


@pytest.fixture
def settings(aws, monkeypatch):
    arn = boto3.client("secretsmanager").create_secret(
        Name="BatchJobWithOnlyEbs-start-release", SecretString=json.dumps(SECRET)
    )["ARN"]
    for name, value in {
        "CONFIG_SECRET_ID": arn,
        "RELEASE_STATE_MACHINE_ARN": MACHINE,
        "MODE": "OnlyEBS",
        "STACK_NAME": STACK,
        "EXECUTION_INPUT_KEYS": ",".join(default_input_keys()),
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def sfn(settings):
    with Stubber(layer_aws.client("stepfunctions")) as stub:
        yield stub
        stub.assert_no_pending_responses()


def loaded_history(state: dict[str, Any]) -> dict[str, Any]:
    """An execution history whose LoadConfig returned ``state``."""
    when = datetime(2026, 11, 29, 15, tzinfo=UTC)
    return {
        "events": [
            {"timestamp": when, "type": "ExecutionStarted", "id": 1},
            {
                "timestamp": when,
                "type": "TaskStateExited",
                "id": 7,
                "stateExitedEventDetails": {"name": "LoadConfig", "output": json.dumps(state)},
            },
        ]
    }


def started_with(stub, name: str) -> dict[str, Any]:
    """Expect one StartExecution of the release ``name``; return (once called) its input."""
    seen: dict[str, Any] = {}

    def record(params: dict[str, Any], **_: Any) -> None:
        if params.get("name") == name:
            seen.update(json.loads(params["input"]))

    layer_aws.client("stepfunctions").meta.events.register(
        "before-parameter-build.sfn.StartExecution", record
    )
    stub.add_response(
        "start_execution",
        {"executionArn": f"{RELEASES}:{name}", "startDate": datetime.now(UTC)},
        {"stateMachineArn": MACHINE, "name": name, "input": ANY},
    )
    return seen


def already_exists(stub, name: str | None = None) -> None:
    expected = {"stateMachineArn": MACHINE, "name": name or ANY, "input": ANY}
    stub.add_client_error(
        "start_execution",
        "ExecutionAlreadyExists",
        "Execution already exists",
        400,
        expected_params=expected,
    )


def test_an_aborted_run_is_released_with_the_configuration_load_config_returned(
    sfn, lambda_context
):
    event = load_event("start_release")
    state = load_event("release_run")
    state["config"]["onFailure"] = "retain"  # the run's own input said so
    sfn.add_response(
        "get_execution_history",
        loaded_history({"run": state["run"], "config": state["config"]}),
        {"executionArn": event["detail"]["executionArn"], "includeExecutionData": True},
    )
    body = started_with(sfn, "run-0001")

    result = start_release.lambda_handler(event, lambda_context)

    assert result == {"started": ["run-0001"], "skipped": {}}
    assert body["run"] == state["run"]
    assert body["config"]["onFailure"] == "retain"
    assert body["error"]["Error"] == "ExecutionAborted"


def test_without_load_config_the_secret_and_the_input_are_used(sfn, lambda_context):
    event = load_event("start_release")
    event["detail"]["input"] = json.dumps({"onFailure": "delete"})
    sfn.add_response("get_execution_history", {"events": []})
    body = started_with(sfn, "run-0001")

    start_release.lambda_handler(event, lambda_context)

    assert body["config"]["onFailure"] == "delete"
    assert body["run"]["runId"] == "run-0001"
    assert body["run"]["startedAt"] == "2026-11-29T15:00:00+00:00"


def test_without_load_config_an_input_key_the_stack_does_not_allow_is_not_applied(
    sfn, lambda_context, monkeypatch
):
    # LoadConfig would have refused it; the release must not follow it either.
    monkeypatch.setenv("EXECUTION_INPUT_KEYS", "ebsSizeGb")
    event = load_event("start_release")
    event["detail"]["input"] = json.dumps({"onFailure": "delete"})
    sfn.add_response("get_execution_history", {"events": []})
    body = started_with(sfn, "run-0001")

    start_release.lambda_handler(event, lambda_context)

    assert body["config"]["onFailure"] == "snapshot"


def test_input_that_no_longer_validates_falls_back_to_the_data_keeping_defaults(
    sfn, lambda_context
):
    event = load_event("start_release")
    event["detail"]["input"] = json.dumps({"ebsSizeGb": -5, "onFailure": "delete"})
    sfn.add_response("get_execution_history", {"events": []})
    body = started_with(sfn, "run-0001")

    start_release.lambda_handler(event, lambda_context)

    assert body["config"]["onFailure"] == "snapshot"


def test_a_failed_execution_is_released_under_its_own_error(sfn, lambda_context):
    event = load_event("start_release")
    event["detail"] |= {"status": "FAILED", "error": "States.Runtime", "cause": "history full"}
    sfn.add_response("get_execution_history", {"events": []})
    body = started_with(sfn, "run-0001")

    start_release.lambda_handler(event, lambda_context)

    assert body["error"] == {"Error": "States.Runtime", "Cause": "history full"}


def test_a_release_the_run_s_catch_started_makes_the_second_start_a_no_op(sfn, lambda_context):
    event = load_event("start_release")
    event["detail"]["status"] = "FAILED"
    sfn.add_response("get_execution_history", {"events": []})
    already_exists(sfn, "run-0001")

    result = start_release.lambda_handler(event, lambda_context)

    assert result == {"started": [], "skipped": {"run-0001": "its release exists already"}}


# The sweep.

RUN = "arn:aws:states:us-east-1:123456789012:execution:BatchJobWithOnlyEBSStateMachine-x:run-0001"


def tagged(arn: str, execution: str = RUN, **extra: str) -> dict[str, Any]:
    tags = {TAG_STACK: STACK, TAG_EXECUTION: execution, **extra}
    return {"ResourceARN": arn, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


@pytest.fixture
def tagging(settings):
    with Stubber(layer_aws.client("resourcegroupstaggingapi")) as stub:
        yield stub
        stub.assert_no_pending_responses()


def leftovers(stub, *mappings: dict[str, Any]) -> None:
    stub.add_response(
        "get_resources",
        {"ResourceTagMappingList": list(mappings)},
        {"TagFilters": [{"Key": TAG_STACK, "Values": [STACK]}]},
    )


def execution(stub, arn: str, status: str) -> None:
    stub.add_response(
        "describe_execution",
        {
            "executionArn": arn,
            "stateMachineArn": arn.rsplit(":", 1)[0],
            "name": arn.rsplit(":", 1)[1],
            "status": status,
            "startDate": datetime(2026, 11, 29, 15, tzinfo=UTC),
            "input": "{}",
        },
        {"executionArn": arn},
    )


VOLUME = "arn:aws:ec2:us-east-1:123456789012:volume/vol-0123456789abcdef0"


def test_the_sweep_releases_a_run_whose_execution_ended(tagging, sfn, lambda_context):
    leftovers(tagging, tagged(VOLUME))
    execution(sfn, RUN, "ABORTED")
    sfn.add_response("get_execution_history", {"events": []})
    body = started_with(sfn, "run-0001")

    result = start_release.lambda_handler(load_event("start_release_sweep"), lambda_context)

    assert result["started"] == ["run-0001"]
    assert body["error"]["Error"] == "ExecutionAborted"
    assert VOLUME in body["error"]["Cause"]


def test_the_sweep_leaves_running_runs_and_what_is_kept_on_purpose(tagging, sfn, lambda_context):
    other = RUN.replace("run-0001", "run-0002")
    leftovers(
        tagging,
        tagged(VOLUME),
        tagged(VOLUME.replace("0123", "4567"), other, **{TAG_RETAINED: "deleteEbs is false"}),
        # A deregistered job definition stays tagged but bills nothing.
        tagged("arn:aws:batch:us-east-1:123456789012:job-definition/jd:1", other),
    )
    execution(sfn, RUN, "RUNNING")

    result = start_release.lambda_handler(load_event("start_release_sweep"), lambda_context)

    assert result == {"started": [], "skipped": {"run-0001": "its execution is running"}}


def test_a_closed_release_gives_way_to_a_dated_one(tagging, sfn, lambda_context, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 1, 3, 4, tzinfo=UTC))
    leftovers(tagging, tagged(VOLUME))
    execution(sfn, RUN, "FAILED")
    sfn.add_response("get_execution_history", {"events": []})
    already_exists(sfn, "run-0001")
    execution(sfn, f"{RELEASES}:run-0001", "SUCCEEDED")
    body = started_with(sfn, "run-0001-202612010304")

    result = start_release.lambda_handler(load_event("start_release_sweep"), lambda_context)

    assert result["started"] == ["run-0001-202612010304"]
    assert body["error"]["Error"] == "ExecutionFailed"


def test_a_running_release_is_left_to_finish(tagging, sfn, lambda_context):
    leftovers(tagging, tagged(VOLUME))
    execution(sfn, RUN, "TIMED_OUT")
    sfn.add_response("get_execution_history", {"events": []})
    already_exists(sfn, "run-0001")
    execution(sfn, f"{RELEASES}:run-0001", "RUNNING")

    result = start_release.lambda_handler(load_event("start_release_sweep"), lambda_context)

    assert result == {"started": [], "skipped": {"run-0001": "its release is running"}}


def test_an_event_of_another_kind_is_refused(settings, lambda_context):
    with pytest.raises(ValueError, match="Scheduled Event"):
        start_release.lambda_handler(
            {"detail-type": "Object Created", "detail": {}}, lambda_context
        )
