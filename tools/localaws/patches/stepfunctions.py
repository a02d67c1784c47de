"""Step Functions: state machines that CloudFormation creates (gap 2), ``batch:submitJob.sync``
(gap 4), Fail states that re-raise a ``States.*`` error, StopExecution right after
StartExecution, and the rehearsal's hooks in the interpreter (a state entered, the thread
a state's work runs in)."""

from __future__ import annotations

import json
import threading
import time as _time
from collections.abc import Callable
from functools import cache
from typing import Any

import botocore.session
from botocore import xform_name
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.responses import get_backend as get_sfn_backend
from moto.stepfunctions.utils import cfn_to_api_tags

from tools.localaws.patches.core import Patcher, Target, active_simulation
from tools.localaws.simulation import Simulation

_SFN = "moto.stepfunctions.parser.asl.component"
_TASK = f"{_SFN}.state.exec.state_task.service"

# --------------------------------------------------------------------------- gap 2

_GAP_2 = "2: CloudFormation state machine not startable, DefinitionSubstitutions ignored"

CFN_CREATE = Target(
    "sfn_cfn_create",
    "moto.stepfunctions.models:StateMachine.create_from_cloudformation_json",
    "(cls, resource_name: 'str', cloudformation_json: 'Any', account_id: 'str', "
    "region_name: 'str', **kwargs: 'Any') -> 'StateMachine'",
    _GAP_2,
)
GET_BACKEND = Target(
    "sfn_get_backend",
    "moto.stepfunctions.responses:get_backend",
    "(account: str, region: str) -> moto.stepfunctions.models.StepFunctionBackend",
    _GAP_2,
    replaced=False,
)
PARSER_CREATE = Target(
    "sfn_parser_create",
    "moto.stepfunctions.parser.models:StepFunctionsParserBackend.create_state_machine",
    "(self, name: str, definition: str, roleArn: str, tags: list[dict[str, str]] | None ="
    " None, publish: bool | None = None, loggingConfiguration: "
    "moto.stepfunctions.parser.api.LoggingConfiguration | None = None, "
    "tracingConfiguration: moto.stepfunctions.parser.api.TracingConfiguration | None = "
    "None, encryptionConfiguration: moto.stepfunctions.parser.api.EncryptionConfiguration"
    " | None = None, version_description: str | None = None, sm_type: str | None = None) "
    "-> moto.stepfunctions.models.StateMachine",
    _GAP_2,
    replaced=False,
)


def apply_definition_substitutions(definition: str, substitutions: dict[str, Any]) -> str:
    """Replace each ``${Key}`` of ``substitutions`` in ``definition``, as CloudFormation does."""
    for key, value in (substitutions or {}).items():
        text = json.dumps(value) if isinstance(value, bool) else str(value)
        definition = definition.replace("${" + key + "}", text)
    return definition


def patch_cfn_state_machine(patcher: Patcher) -> None:
    """Gap 2: a CloudFormation state machine lands in a backend the interpreter cannot start,
    and its ``DefinitionSubstitutions`` are not applied.

    Creates it through the backend the Step Functions API uses (the interpreter's, when
    ``execute_state_machine`` is on), with the substitutions applied to the definition.
    """

    def create(
        cls: type[Any],
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        definition = properties.get("DefinitionString")
        if definition is None:
            definition = json.dumps(properties.get("Definition", {}))
        definition = apply_definition_substitutions(
            definition, properties.get("DefinitionSubstitutions") or {}
        )
        backend = get_sfn_backend(account_id, region_name)
        return backend.create_state_machine(
            properties.get("StateMachineName", resource_name),
            definition,
            properties.get("RoleArn", ""),
            tags=cfn_to_api_tags(properties.get("Tags", [])),
            sm_type=properties.get("StateMachineType"),
        )

    patcher.replace(CFN_CREATE, lambda original: classmethod(create))


# --------------------------------------------------------------------------- gap 4

_GAP_4 = "4: batch:submitJob.sync hands PascalCase parameters to boto3"

BATCH_SERVICE_CLASS = Target(
    "batch_service_class",
    f"{_TASK}.state_task_service_batch:StateTaskServiceBatch",
    None,
    _GAP_4,
    replaced=False,
)
NORMALISE_PARAMETERS = Target(
    "batch_normalise_parameters",
    f"{_TASK}.state_task_service_batch:StateTaskServiceBatch._normalise_parameters",
    "(self, parameters: 'dict', boto_service_name: 'str | None' = None, "
    "service_action_name: 'str | None' = None) -> 'None'",
    f"{_GAP_4} (replaced on the Batch task; inherited from StateTaskService)",
)
NORMALISE_RESPONSE = Target(
    "batch_normalise_response",
    f"{_TASK}.state_task_service_batch:StateTaskServiceBatch._normalise_response",
    "(self, response: 'Any', boto_service_name: 'str | None' = None, service_action_name:"
    " 'str | None' = None) -> 'None'",
    f"{_GAP_4} (replaced on the Batch task; inherited from StateTaskService)",
)
TO_BOTO_REQUEST = Target(
    "batch_to_boto_request",
    f"{_TASK}.state_task_service:StateTaskService._to_boto_request",
    "(self, parameters: 'dict', structure_shape: 'StructureShape') -> 'None'",
    _GAP_4,
    replaced=False,
)
FROM_BOTO_RESPONSE = Target(
    "batch_from_boto_response",
    f"{_TASK}.state_task_service:StateTaskService._from_boto_response",
    "(self, response: 'Any', structure_shape: 'StructureShape') -> 'None'",
    _GAP_4,
    replaced=False,
)


@cache
def _operation_model(service: str, action_snake: str) -> Any:
    model = botocore.session.get_session().get_service_model(service)
    for name in model.operation_names:
        if xform_name(name) == action_snake:
            return model.operation_model(name)
    raise KeyError(f"{service} has no operation {action_snake}")


def _operation(task: Any, boto_service_name: str | None, service_action_name: str | None) -> Any:
    """The botocore model of the operation a service task calls."""
    return _operation_model(
        task._get_boto_service_name(boto_service_name),
        task._get_boto_service_action(service_action_name),
    )


def patch_batch_sync_parameters(patcher: Patcher) -> None:
    """Gap 4: ``batch:submitJob.sync`` fails with States.Runtime (cause ``'JobName'``).

    The interpreter hands the state's PascalCase ``Parameters`` to boto3 unconverted and
    leaves Batch's camelCase responses as they are. The Batch service task now converts
    both through the botocore service model, as Step Functions does: requests to boto3's
    member names, ``SubmitJob`` and ``DescribeJobs`` results to PascalCase (``JobId``,
    ``Status``, ``Attempts`` ...), the shape the ASL's ``ResultSelector`` reads.
    """

    def normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        operation = _operation(self, boto_service_name, service_action_name)
        self._to_boto_request(parameters, operation.input_shape)

    def normalise_response(
        self: Any,
        response: Any,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        operation = _operation(self, boto_service_name, service_action_name)
        self._from_boto_response(response, operation.output_shape)

    patcher.replace(NORMALISE_PARAMETERS, lambda original: normalise_parameters)
    patcher.replace(NORMALISE_RESPONSE, lambda original: normalise_response)


# --------------------------------------------------------------------------- Fail state

FAIL_ERROR_NAME = Target(
    "fail_error_name",
    f"{_SFN}.state.fail.state_fail:CustomErrorName",
    None,
    "Fail state refuses an ErrorPath that resolves to a States.* name",
)


def patch_fail_state_error_names(patcher: Patcher) -> None:
    """A Fail state whose ``ErrorPath`` resolves to a ``States.*`` name (re-raising what a
    Catch recorded, e.g. ``States.TaskFailed``) ends in ``States.Runtime`` in moto: the
    interpreter checks the rule for custom error names. Step Functions reports the name.

    The Fail state now builds its error name without that check.
    """

    class FailStateErrorName(ErrorName):
        """The error name a Fail state reports, whatever its prefix."""

    patcher.replace(FAIL_ERROR_NAME, lambda original: FailStateErrorName)


# --------------------------------------------------------------------------- StopExecution

EXECUTION_STOP = Target(
    "execution_stop",
    "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker.stop",
    "(self, stop_date: datetime.datetime, error: str | None, cause: str | None)",
    "StopExecution right after StartExecution raises AttributeError",
)
STOP_WAIT_SECONDS = 5.0


def patch_stop_before_start(patcher: Patcher) -> None:
    """StopExecution of an execution whose worker thread has not built its environment yet
    (right after StartExecution) raises AttributeError in moto; Step Functions stops it.

    The stop now waits (a few seconds at most) for the worker to be ready.
    """

    def build(original: Any) -> Callable[..., None]:
        def stop(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
            deadline = _time.monotonic() + STOP_WAIT_SECONDS
            while getattr(self, "env", None) is None and _time.monotonic() < deadline:
                _time.sleep(0.001)
            original(self, stop_date, error, cause)

        return stop

    patcher.replace(EXECUTION_STOP, build)


# --------------------------------------------------------------------------- state entered

STATE_INPUT = Target(
    "state_input",
    f"{_SFN}.state.state:CommonStateField._eval_state_input",
    "(self, env: 'Environment') -> 'None'",
    "rehearsal: act the moment a state is entered (abortAfter)",
)


def patch_state_entered(patcher: Patcher) -> None:
    """Rehearsal hook: tell the simulation the moment an execution enters a state.

    Runs in the execution's own thread right after its StateEntered event, so a listener
    (``abortAfter``) can stop the execution before the state does any work, and the
    simulation knows which execution that thread's calls are made for (its refusals).
    """

    def build(original: Any) -> Callable[..., None]:
        def eval_state_input(self: Any, env: Any) -> None:
            original(self, env)
            sim = active_simulation()
            if sim is None:
                return
            execution = env.states.context_object.context_object_data["Execution"]["Id"]
            sim.enter_execution(execution)
            if sim.state_listeners:
                sim.state_entered(execution, self.name)

        return eval_state_input

    patcher.replace(STATE_INPUT, build)


STATE_WORKER_THREAD = Target(
    "state_worker_thread",
    f"{_SFN}.state.exec.execute_state:Thread",
    None,
    "rehearsal: a state's work runs in a thread of its own (which execution it serves)",
)


def patch_state_threads(patcher: Patcher, sim: Simulation) -> None:
    """Rehearsal hook: a Task state's work (its service integration, e.g. ``SubmitJob`` of
    ``batch:submitJob.sync``) runs in a thread the state starts; that thread now works for
    the execution its parent works for, so what the work's calls meet (a refusal) is
    recorded for that execution.
    """

    class StateWorkerThread(threading.Thread):
        """A state's worker thread, serving the execution of the thread that starts it."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.execution_arn = sim.execution_at_work()

        def run(self) -> None:
            if self.execution_arn is not None:
                sim.enter_execution(self.execution_arn)
            super().run()

    patcher.replace(STATE_WORKER_THREAD, lambda original: StateWorkerThread)


# --------------------------------------------------------------------------- .sync job, stopped

_SYNC_STOP = "StopExecution leaves the Batch job a batch:submitJob.sync task waits for running"

SYNC_JOB_WAIT = Target(
    "batch_sync_job_wait",
    f"{_TASK}.state_task_service_batch:StateTaskServiceBatch._eval_integration_pattern",
    "(self, env: moto.stepfunctions.parser.asl.eval.environment.Environment, "
    "resource_runtime_part: moto.stepfunctions.parser.asl.component.state.exec.state_task."
    "service.resource.ResourceRuntimePart, normalised_parameters: dict, state_credentials: "
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials."
    "StateCredentials) -> None",
    f"{_SYNC_STOP} (replaced on the Batch task; inherited from StateTaskServiceCallback)",
)
EXECUTION_STOPPED = Target(
    "execution_stopped",
    "moto.stepfunctions.parser.backend.execution:Execution.stop",
    "(self, stop_date: 'datetime.datetime', error: 'str | None', cause: 'str | None')",
    _SYNC_STOP,
)
BATCH_TASK_CLIENT = Target(
    "batch_task_client",
    "moto.stepfunctions.parser.asl.utils.boto_client:boto_client_for",
    "(region: str, service: str, state_credentials: Any = None) -> botocore.client.BaseClient",
    f"{_SYNC_STOP} (the client the Batch task calls Batch with)",
    replaced=False,
)

SYNC_JOB_ABORTED = (
    "The Task state in AWS Step Functions execution [{execution}] which was managing this "
    "resource was aborted"
)
"""TerminateJob's ``reason`` when Step Functions stops the job of a stopped execution (the
``statusReason`` such jobs report)."""


def patch_sync_job_stop(patcher: Patcher) -> None:
    """When an execution is stopped (StopExecution) while a ``batch:submitJob.sync`` task
    waits for its job, moto's interpreter stops polling and leaves the job running.

    Step Functions terminates it: the ``.sync`` integration's IAM policy grants
    ``batch:TerminateJob`` for this (Step Functions Developer Guide, "IAM policies for AWS
    Batch", Run a Job (.sync)), and such a job ends ``FAILED`` with ``SYNC_JOB_ABORTED``. The
    stop now calls TerminateJob for every job the execution's ``.sync`` tasks wait for, with
    the task's own Batch client (best effort: an error answer is ignored).
    """
    # Imported here: this section stands apart from the module's other patches.
    from botocore.exceptions import ClientError  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        resource,
    )
    from moto.stepfunctions.parser.asl.utils import boto_client  # noqa: PLC0415

    waiting: dict[str, dict[str, tuple[str, Any]]] = {}
    """Execution ARN -> id of a job a .sync task of it waits for -> (region, credentials)."""
    lock = threading.Lock()

    def build_wait(original: Any) -> Callable[..., None]:
        def eval_integration_pattern(
            self: Any,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: dict[str, Any],
            state_credentials: Any,
        ) -> None:
            submitted = env.stack[-1] if env.stack else None
            job_id = submitted.get("JobId") if isinstance(submitted, dict) else None
            if job_id is None or self.resource.condition != resource.ResourceCondition.Sync:
                original(self, env, resource_runtime_part, normalised_parameters, state_credentials)
                return
            execution = env.states.context_object.context_object_data["Execution"]["Id"]
            with lock:
                jobs = waiting.setdefault(execution, {})
                jobs[job_id] = (resource_runtime_part.region, state_credentials)
            try:
                original(self, env, resource_runtime_part, normalised_parameters, state_credentials)
            finally:
                with lock:
                    waiting.get(execution, {}).pop(job_id, None)

        return eval_integration_pattern

    def build_stop(original: Any) -> Callable[..., None]:
        def stop(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
            original(self, stop_date, error, cause)
            with lock:
                jobs = waiting.pop(self.exec_arn, {})
            reason = SYNC_JOB_ABORTED.format(execution=self.exec_arn)
            for job_id, (region, credentials) in jobs.items():
                batch: Any = boto_client.boto_client_for(
                    region=region, service="batch", state_credentials=credentials
                )
                try:
                    batch.terminate_job(jobId=job_id, reason=reason)
                except ClientError:
                    continue

        return stop

    patcher.replace(SYNC_JOB_WAIT, build_wait)
    patcher.replace(EXECUTION_STOPPED, build_stop)


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher`` for ``sim``."""
    patch_cfn_state_machine(patcher)
    patch_batch_sync_parameters(patcher)
    patch_fail_state_error_names(patcher)
    patch_state_entered(patcher)
    patch_state_threads(patcher, sim)
    patch_stop_before_start(patcher)
    patch_sync_job_stop(patcher)
