"""Each step's output contract exists once: its model in batchscratch.outputs.

The handler declares the model it returns, the builder's ResultSelector keeps the model's
fields, RunState reads earlier results with the same models, and what each handler actually
returns for its sample event (events/) validates against its declared model.
"""

import importlib
import json
import typing
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from batchscratch import aws as layer_aws
from batchscratch.handler import declared_models
from batchscratch.modes import MODES, RELEASE_STEPS
from batchscratch.outputs import StartedRelease, StepOutput
from batchscratch.release_start import ReleaseTrigger
from batchscratch.state import ExecutionStart, ReleaseState, RunState
from tests.conftest import REPO, load_event
from tests.unit.test_config import SECRET
from tests.unit.test_file_system import association, file_system, task
from tests.unit.test_job import job_summary, running_job
from tools.asl.outputs import STEP_OUTPUTS, output_of

FOLDERS = sorted(path.parent.name for path in (REPO / "functions").glob("*/app.py"))
STEP_OF_FOLDER = {
    step.folder: step.name
    for step in (*(step for mode in MODES.values() for step in mode.steps), *RELEASE_STEPS)
}
NOT_A_STEP = {"start_release": (ReleaseTrigger, StartedRelease)}
"""Handlers no state machine invokes, with their event and output models."""


def handler_of(folder: str) -> Callable[..., dict[str, Any]]:
    handler: Callable[..., dict[str, Any]] = importlib.import_module(
        f"functions.{folder}.app"
    ).lambda_handler
    return handler


def declared(folder: str) -> tuple[type, type[StepOutput]]:
    return declared_models(handler_of(folder).__wrapped__)


def test_every_handler_is_a_step_or_named_here():
    assert set(FOLDERS) == set(STEP_OF_FOLDER) | set(NOT_A_STEP)


@pytest.mark.parametrize("folder", FOLDERS)
def test_each_handler_declares_the_models_the_state_machines_use(folder):
    event, output = declared(folder)

    if folder in NOT_A_STEP:
        assert (event, output) == NOT_A_STEP[folder]
        return
    step = STEP_OF_FOLDER[folder]
    assert output is STEP_OUTPUTS[step]
    expected = {
        "LoadConfig": ExecutionStart,
        **dict.fromkeys(("ReleaseRun", "RetainRun"), ReleaseState),
    }
    assert event is expected.get(step, RunState)
    assert output_of(step).fields == tuple(output.model_fields)
    assert output_of(step).path == output.result_path()


def test_the_state_reads_earlier_results_with_their_steps_own_models():
    for name, field in RunState.model_fields.items():
        models = [arg for arg in typing.get_args(field.annotation) if isinstance(arg, type)]
        for model in models:
            if issubclass(model, StepOutput):
                assert name == model.state_key, f"RunState.{name} holds {model.__name__}"


# What each handler returns for its sample event, with the AWS answers it needs: moto, or
# Stubber where moto lacks the API (FSx associations and tasks).


def secret(monkeypatch):
    arn = boto3.client("secretsmanager").create_secret(
        Name="BatchJobWithOnlyEbs-outputs", SecretString=json.dumps(SECRET)
    )["ARN"]
    monkeypatch.setenv("CONFIG_SECRET_ID", arn)


def with_volume(context, name):
    state = load_event(name)
    return state | {"volume": handler_of("create_volume")(load_event("create_volume"), context)}


def with_compute(context):
    state = with_volume(context, "check_compute")
    return state | {"compute": handler_of("prepare_compute")(state, context)}


def fsx_answers(stub, name):
    """Queue the FSx answers the handler ``name`` needs for a plain success."""
    answers = {
        "create_file_system": [("create_file_system", {"FileSystem": file_system("CREATING")})],
        "check_file_system": [
            ("describe_file_systems", {"FileSystems": [file_system("AVAILABLE")]}),
            ("describe_data_repository_associations", {"Associations": [association("AVAILABLE")]}),
        ],
        "start_export": [
            ("describe_data_repository_associations", {"Associations": [association("AVAILABLE")]}),
            ("create_data_repository_task", {"DataRepositoryTask": task("PENDING")}),
        ],
        "check_export": [
            ("describe_data_repository_tasks", {"DataRepositoryTasks": [task("SUCCEEDED")]})
        ],
        "disable_auto_export": [
            ("describe_data_repository_associations", {"Associations": [association("AVAILABLE")]})
        ],
        "release_file_system": [("describe_file_systems", {"FileSystems": []})],
    }
    for method, answer in answers[name]:
        stub.add_response(method, answer)


def start_release(monkeypatch, context):
    """StartRelease for its sample event, the aborted run's history read through Stubber."""
    machine = boto3.client("stepfunctions").create_state_machine(
        name="BatchScratchRelease-test",
        definition=json.dumps({"StartAt": "End", "States": {"End": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/release",
    )["stateMachineArn"]
    monkeypatch.setenv("RELEASE_STATE_MACHINE_ARN", machine)
    sfn = layer_aws.client("stepfunctions")
    with Stubber(sfn) as stub:
        stub.add_response("get_execution_history", {"events": []})
        stub.add_response(
            "start_execution", {"executionArn": f"{machine}:run-0001", "startDate": 0}
        )
        return handler_of("start_release")(load_event("start_release"), context)


def call(folder, monkeypatch, context):
    """Return what ``folder``'s handler returns for its sample event."""
    if folder in ("load_config", "start_release"):
        secret(monkeypatch)
    if folder == "start_release":
        return start_release(monkeypatch, context)
    if folder == "retain_run":
        topic = boto3.client("sns").create_topic(Name="release")["TopicArn"]
        monkeypatch.setenv("TOPIC_ARN", topic)
    if folder == "check_volume":
        return handler_of(folder)(with_volume(context, "check_volume"), context)
    if folder == "prepare_compute":
        return handler_of(folder)(with_volume(context, "prepare_compute"), context)
    if folder == "check_compute":
        return handler_of(folder)(with_compute(context), context)
    event = load_event(folder)
    if folder in ("check_job_start", "find_run_job"):
        with Stubber(layer_aws.client("batch")) as stub:
            job = running_job(event)
            stub.add_response("list_jobs", {"jobSummaryList": [job_summary(job)]})
            stub.add_response("describe_jobs", {"jobs": [job]})
            result = handler_of(folder)(event, context)
            stub.assert_no_pending_responses()
        return result
    if folder.endswith(("file_system", "export")):
        with Stubber(layer_aws.client("fsx")) as stub:
            fsx_answers(stub, folder)
            result = handler_of(folder)(event, context)
            stub.assert_no_pending_responses()
        return result
    return handler_of(folder)(event, context)


@pytest.mark.parametrize("folder", FOLDERS)
def test_what_each_handler_returns_validates_against_its_declared_model(
    folder, network, monkeypatch, lambda_context
):
    _, model = declared(folder)

    result = call(folder, monkeypatch, lambda_context)

    assert type(result) is dict
    assert list(result) == list(model.model_fields)
    assert model.model_validate(result).model_dump() == result
    assert json.loads(json.dumps(result)) == result
