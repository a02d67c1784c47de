"""The one handler shape (batchscratch.handler.step_handler): what every handler logs, returns
and raises, whichever step it is."""

import io
import json
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from batchscratch import handler as shape
from batchscratch.errors import AwsTransientError, StorageTimeout
from batchscratch.outputs import LoadedConfig, VolumeStatus
from batchscratch.state import ExecutionStart, RunState
from tests.conftest import load_event

STATUS = VolumeStatus(ready=False, state="creating", waitingSince="2026-11-29T15:00:06+00:00")


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """The JSON log lines the handlers' logger writes, at level INFO."""
    stream = io.StringIO()
    level = shape.logger.log_level
    previous = shape.logger.registered_handler.setStream(stream)
    shape.logger.setLevel("INFO")
    yield stream
    shape.logger.setLevel(level)
    shape.logger.registered_handler.setStream(previous)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@shape.step_handler(log_message="Volume checked")
def check(state: RunState, context) -> VolumeStatus:
    return STATUS


def failing_with(error: Exception, **options):
    @shape.step_handler(log_message="never logged", **options)
    def lambda_handler(state: RunState, context) -> VolumeStatus:
        raise error

    return lambda_handler


def throttled() -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "DescribeVolumes",
    )


def test_the_output_is_returned_as_a_plain_dict_and_logged_with_the_run_id(logs, lambda_context):
    result = check(load_event("check_volume"), lambda_context)

    assert result == STATUS.model_dump()
    [line] = lines(logs)
    assert line["message"] == "Volume checked"
    assert line["level"] == "INFO"
    assert line["location"].startswith("lambda_handler:")
    assert line["correlation_id"] == "run-0001"
    assert line["function_request_id"] == lambda_context.aws_request_id
    assert {key: line[key] for key in result} == result


def test_load_config_logs_the_configuration_under_the_execution_name(logs, lambda_context):
    state = load_event("create_volume")
    loaded = LoadedConfig(run=state["run"], config=state["config"])

    @shape.step_handler(log_message="Run configuration loaded", correlation_id_path="executionName")
    def load(start: ExecutionStart, context) -> LoadedConfig:
        return loaded

    result = load(load_event("load_config"), lambda_context)

    assert result == loaded.model_dump()
    [line] = lines(logs)
    assert line["correlation_id"] == "run-0001"
    assert line["config"] == loaded.config
    assert "run" not in line


def test_named_errors_keep_their_name(lambda_context):
    with pytest.raises(StorageTimeout, match="limit"):
        failing_with(StorageTimeout("limit 1800 s"))(load_event("check_volume"), lambda_context)


def test_transient_aws_errors_become_aws_transient_error(lambda_context):
    with pytest.raises(AwsTransientError, match="ClientError"):
        failing_with(throttled())(load_event("check_volume"), lambda_context)


def test_a_handler_that_asks_keeps_aws_errors_as_they_are(lambda_context):
    handler = failing_with(throttled(), retry_transient=False)

    with pytest.raises(ClientError):
        handler(load_event("check_volume"), lambda_context)


def test_an_event_that_is_not_the_state_is_refused_before_the_handler_runs(lambda_context):
    with pytest.raises(ValidationError):
        check({"run": {}}, lambda_context)


def test_a_handler_must_return_its_declared_model(lambda_context):
    @shape.step_handler(log_message="x")
    def wrong(state: RunState, context) -> VolumeStatus:
        return {"ready": True}

    with pytest.raises(TypeError, match="returned dict, not its declared VolumeStatus"):
        wrong(load_event("check_volume"), lambda_context)


def test_a_handler_must_declare_its_models(lambda_context):
    @shape.step_handler(log_message="x")
    def untyped(state, context):
        return STATUS

    with pytest.raises(TypeError, match="annotate its event with a pydantic model"):
        untyped(load_event("check_volume"), lambda_context)
