"""Step Functions: state machines that CloudFormation creates (gap 2), with the scenario's
``aws.stepFunctions`` timeouts, ``batch:submitJob.sync`` (gap 4) and
``states:startExecution``, Fail states that re-raise a
``States.*`` error, StopExecution right after StartExecution, the rehearsal's hooks in the
interpreter (a state entered, the thread a state's work runs in), and time limits and dates
on the virtual clock (a state's and an execution's ``TimeoutSeconds``, history timestamps,
``startDate``/``stopDate``)."""

from __future__ import annotations

import copy
import datetime
import json
import threading
import time as _time
import weakref
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import botocore.session
from botocore import xform_name
from moto.stepfunctions.parser.api import (
    ExecutionStatus,
    ExecutionTimedOutEventDetails,
    HistoryEventType,
    StateMachineType,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.responses import get_backend as get_sfn_backend
from moto.stepfunctions.utils import cfn_to_api_tags

from batchscratch.modes import MODES
from tools.localaws.behaviour import StepFunctions
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


def _states_of(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state of a definition, nested ones (Parallel branches, Map processors) included."""
    for name, state in (definition.get("States") or {}).items():
        yield name, state
        for branch in state.get("Branches") or []:
            yield from _states_of(branch)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from _states_of(state[key])


def apply_timeouts(definition: str, settings: StepFunctions) -> str:
    """Give ``definition`` the ``TimeoutSeconds`` a scenario scripts (``aws.stepFunctions``):
    the state machine's (``timeoutSeconds``) and named Task states' (``stateTimeouts``), as if
    the state machine had been written with them. Returns the definition unchanged when the
    scenario sets none.

    Raises:
        ValueError: a named state is not a Task state of the definition, or its
            ``HeartbeatSeconds`` is not smaller than the timeout (Step Functions refuses
            such a definition: Amazon States Language, Task state).
    """
    if settings.timeoutSeconds is None and not settings.stateTimeouts:
        return definition
    document = json.loads(definition)
    if settings.timeoutSeconds is not None:
        document["TimeoutSeconds"] = settings.timeoutSeconds
    states = dict(_states_of(document))
    for name, seconds in settings.stateTimeouts.items():
        state = states.get(name)
        if state is None or state.get("Type") != "Task":
            raise ValueError(f"stateTimeouts.{name}: not a Task state of the state machine")
        heartbeat = state.get("HeartbeatSeconds")
        if isinstance(heartbeat, int) and heartbeat >= seconds:
            raise ValueError(
                f"stateTimeouts.{name}: {seconds} s is not more than the state's "
                f"HeartbeatSeconds ({heartbeat} s)"
            )
        state.pop("TimeoutSecondsPath", None)
        state["TimeoutSeconds"] = seconds
    return json.dumps(document)


def is_run_state_machine(name: str) -> bool:
    """True for a mode's run state machine (its name starts with the mode's prefix,
    ``batchscratch.modes``): a scenario's ``aws.stepFunctions`` timeouts are about the run, not
    about the stack's other state machines (the release workflow)."""
    return any(name.startswith(mode.state_machine_prefix) for mode in MODES.values())


def patch_cfn_state_machine(patcher: Patcher) -> None:
    """Gap 2: a CloudFormation state machine lands in a backend the interpreter cannot start,
    and its ``DefinitionSubstitutions`` are not applied.

    Creates it through the backend the Step Functions API uses (the interpreter's, when
    ``execute_state_machine`` is on), with the substitutions applied to the definition, and
    the rehearsal's ``aws.stepFunctions`` timeouts (``apply_timeouts``).
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
        sim = active_simulation()
        name = properties.get("StateMachineName", resource_name)
        if sim is not None and is_run_state_machine(name):
            definition = apply_timeouts(definition, sim.behaviour.stepFunctions)
        backend = get_sfn_backend(account_id, region_name)
        return backend.create_state_machine(
            name,
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


def _request_to_boto(
    self: Any,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    """A service task's PascalCase ``Parameters`` as boto3's member names, through the
    botocore model of the operation it calls (gap 4 and the ``states:startExecution`` gap)."""
    operation = _operation(self, boto_service_name, service_action_name)
    self._to_boto_request(parameters, operation.input_shape)


def _response_to_pascal_case(
    self: Any,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    """A service task's answer in Step Functions' PascalCase, through the botocore model of
    the operation it called (gap 4 and the ``states:startExecution`` gap)."""
    operation = _operation(self, boto_service_name, service_action_name)
    self._from_boto_response(response, operation.output_shape)


def patch_batch_sync_parameters(patcher: Patcher) -> None:
    """Gap 4: ``batch:submitJob.sync`` fails with States.Runtime (cause ``'JobName'``).

    The interpreter hands the state's PascalCase ``Parameters`` to boto3 unconverted and
    leaves Batch's camelCase responses as they are. The Batch service task now converts
    both through the botocore service model, as Step Functions does: requests to boto3's
    member names, ``SubmitJob`` and ``DescribeJobs`` results to PascalCase (``JobId``,
    ``Status``, ``Attempts`` ...), the shape the ASL's ``ResultSelector`` reads.
    """

    patcher.replace(NORMALISE_PARAMETERS, lambda original: _request_to_boto)
    patcher.replace(NORMALISE_RESPONSE, lambda original: _response_to_pascal_case)


# --------------------------------------------------------------------------- states:startExecution

_START_EXECUTION_GAP = "states:startExecution hands PascalCase parameters to boto3"

SFN_SERVICE_CLASS = Target(
    "sfn_service_class",
    f"{_TASK}.state_task_service_sfn:StateTaskServiceSfn",
    None,
    _START_EXECUTION_GAP,
    replaced=False,
)
SFN_NORMALISE_PARAMETERS = Target(
    "sfn_task_normalise_parameters",
    f"{_TASK}.state_task_service_sfn:StateTaskServiceSfn._normalise_parameters",
    "(self, parameters: dict, boto_service_name: str | None = None, "
    "service_action_name: str | None = None) -> None",
    f"{_START_EXECUTION_GAP} (its own: turns Input into JSON text, then nothing)",
)
SFN_NORMALISE_RESPONSE = Target(
    "sfn_task_normalise_response",
    f"{_TASK}.state_task_service_sfn:StateTaskServiceSfn._normalise_response",
    "(self, response: 'Any', boto_service_name: 'str | None' = None, service_action_name:"
    " 'str | None' = None) -> 'None'",
    f"{_START_EXECUTION_GAP} (replaced on the Step Functions task; inherited from "
    "StateTaskService)",
)


def patch_start_execution_parameters(patcher: Patcher) -> None:
    """The run's failure path (``StartRelease``, ``arn:aws:states:::states:startExecution``)
    fails with States.Runtime (cause ``'Input'``): as for Batch (gap 4), the interpreter
    hands the state's PascalCase ``Parameters`` (``StateMachineArn``, ``Name``, ``Input``)
    to boto3 unconverted, and leaves the camelCase answer (``executionArn``) as it is, while
    Step Functions answers ``ExecutionArn`` and ``StartDate`` (Step Functions Developer
    Guide, "Start a new AWS Step Functions state machine from a running execution").

    The Step Functions task now keeps moto's own step (``Input`` as JSON text), then converts
    the request to boto3's member names and the answer to PascalCase through the botocore
    service model, as the Batch task does.
    """

    def build_parameters(original: Any) -> Callable[..., None]:
        def normalise_parameters(
            self: Any,
            parameters: dict[str, Any],
            boto_service_name: str | None = None,
            service_action_name: str | None = None,
        ) -> None:
            original(self, parameters, boto_service_name, service_action_name)
            _request_to_boto(self, parameters, boto_service_name, service_action_name)

        return normalise_parameters

    patcher.replace(SFN_NORMALISE_PARAMETERS, build_parameters)
    patcher.replace(SFN_NORMALISE_RESPONSE, lambda original: _response_to_pascal_case)


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


# --------------------------------------------------------------------------- Parallel branches

BRANCH_ROUTINE = Target(
    "parallel_branch_routine",
    f"{_SFN}.state.exec.state_parallel.branch_worker:BranchWorker._thread_routine",
    "(self) -> None",
    "fast clock: a .sync poll skips on to its job's next change, past a Parallel's other "
    "branches; a branch that starts after StopExecution raises RuntimeError and its Parallel "
    "waits for ever",
)

BRANCHES_EVAL = Target(
    "parallel_branches_eval",
    f"{_SFN}.state.exec.state_parallel.branches_decl:BranchesDecl._eval_body",
    "(self, env: moto.stepfunctions.parser.asl.eval.environment.Environment) -> None",
    "fast clock: every branch of a Parallel counts as running before the first one starts, so "
    "a .sync poll in the first branch never takes itself for the only one",
)


def patch_parallel_branches(patcher: Patcher, sim: Simulation) -> None:
    """Fast clock: the ``.sync`` poll skips on to its job's next change (``patches.clock``),
    however long that is; beside another branch of a Parallel state (the job's watchdog) that
    would skip past everything the other branch does meanwhile (the job's start deadline).

    Each branch now counts as running for its execution from the moment its Parallel starts
    its branches (all of them at once, before the first thread runs: a branch that started
    first would otherwise see itself alone for a moment) until its thread ends
    (``Simulation.branch_running``), so the poll steps its own interval while another branch
    runs beside it (``Simulation.beside_other_branches``).

    Also: a branch whose thread starts after the execution was stopped (StopExecution while
    another branch enters its first state) raises RuntimeError in moto before it reports its
    end, so the Parallel waits for ever and the execution never ends. Step Functions stops
    every branch of a stopped execution; the branch now reports that it ended, stopped.
    """

    def build(original: Any) -> Callable[[Any], None]:
        def thread_routine(self: Any) -> None:
            context = self.env.states.context_object.context_object_data
            execution = str(context["Execution"]["Id"])
            try:
                original(self)
            except RuntimeError:
                if self.env.is_running():
                    raise
                self._branch_worker_comm.on_terminated(env=self.env)
            finally:
                sim.branch_running(execution, -1)

        return thread_routine

    def build_eval(original: Any) -> Callable[[Any, Any], None]:
        def eval_body(self: Any, env: Any) -> None:
            context = env.states.context_object.context_object_data
            sim.branch_running(str(context["Execution"]["Id"]), len(self.programs))
            original(self, env)

        return eval_body

    patcher.replace(BRANCH_ROUTINE, build)
    patcher.replace(BRANCHES_EVAL, build_eval)


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


# --------------------------------------------------------------------------- virtual clock

_VIRTUAL_CLOCK = "fast clock: Step Functions times executions, states and events in real time"

MAX_STANDARD_SECONDS = 365 * 86400
"""The longest a Standard execution runs: one year (Step Functions Developer Guide, "Step
Functions service quotas": maximum execution time, Standard workflows)."""
MAX_EXPRESS_SECONDS = 5 * 60
"""The longest an Express execution runs: five minutes (same page, Express workflows)."""
RECHECK_SECONDS = 0.05
"""Real seconds between two looks at the virtual clock of a thread waiting for a deadline
(the deadline's alarm wakes it at once when a sleep or advance crosses it)."""

PROGRAM_EVAL = Target(
    "sfn_program_eval",
    f"{_SFN}.program.program:Program.eval",
    "(self, env: moto.stepfunctions.parser.asl.eval.environment.Environment) -> None",
    f"{_VIRTUAL_CLOCK}: the execution's TimeoutSeconds (worker_thread.join)",
)
EVAL_COMPONENT_EVAL = Target(
    "sfn_eval_component_eval",
    f"{_SFN}.eval_component:EvalComponent.eval",
    "(self, env: moto.stepfunctions.parser.asl.eval.environment.Environment) -> None",
    f"{_VIRTUAL_CLOCK}: the execution's TimeoutSeconds (worker_thread.join)",
    replaced=False,
)
EVALUATE_WITH_TIMEOUT = Target(
    "sfn_evaluate_with_timeout",
    f"{_SFN}.state.exec.execute_state:ExecutionState._evaluate_with_timeout",
    "(self, env: moto.stepfunctions.parser.asl.eval.environment.Environment) -> None",
    f"{_VIRTUAL_CLOCK}: a state's TimeoutSeconds (terminated_event.wait)",
)
EVAL_TIMEOUT_ERROR = Target(
    "sfn_eval_timeout_error",
    f"{_SFN}.common.timeouts.timeout:EvalTimeoutError",
    None,
    f"{_VIRTUAL_CLOCK}: a state's TimeoutSeconds (the error that becomes States.Timeout)",
    replaced=False,
)
ADD_EVENT = Target(
    "sfn_add_event",
    "moto.stepfunctions.parser.asl.eval.event.event_manager:EventManager.add_event",
    "(self, context: 'EventHistoryContext', event_type: 'HistoryEventType', event_details: "
    "'EventDetails | None' = None, timestamp: 'Timestamp' = None, update_source_event_id: "
    "'bool' = True) -> 'int'",
    f"{_VIRTUAL_CLOCK}: history event timestamps",
)
START_DATE_DATETIME = Target(
    "sfn_start_date_datetime",
    "moto.stepfunctions.parser.models:datetime",
    None,
    f"{_VIRTUAL_CLOCK}: an execution's startDate (StartExecution)",
)
REFLECT_STATUS = Target(
    "sfn_reflect_status",
    "moto.stepfunctions.parser.backend.execution:"
    "BaseExecutionWorkerCommunication._reflect_execution_status",
    "(self)",
    f"{_VIRTUAL_CLOCK}: an execution's stopDate and final status",
)
DESCRIBE_EXECUTION = Target(
    "sfn_describe_execution",
    "moto.stepfunctions.responses:StepFunctionResponse.describe_execution",
    "(self) -> moto.core.responses.ActionResult",
    f"{_VIRTUAL_CLOCK}: DescribeExecution of a TIMED_OUT execution has no stopDate",
)

_TIMED_OUT: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
"""Environments of executions the rehearsal timed out -> their deadline (epoch seconds)."""
_CLOSED: weakref.WeakSet[Any] = weakref.WeakSet()
"""Event histories that have ended (ExecutionTimedOut): later events are not recorded."""
_ABANDONED: weakref.WeakSet[Any] = weakref.WeakSet()
"""Event contexts of states' work that timed out: what it does later is not recorded."""


def _virtual_datetime(sim: Simulation) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(sim.clock.now(), datetime.UTC)


def _started(env: Any, sim: Simulation) -> float:
    """When the execution of ``env`` started (its ``startDate``), in epoch seconds."""
    started = env.states.context_object.context_object_data["Execution"].get("StartTime")
    if isinstance(started, datetime.datetime):
        return started.timestamp()
    if isinstance(started, str):
        return datetime.datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp()
    return sim.clock.now()


class VirtualEvent:
    """A ``threading.Event`` whose ``wait(timeout)`` counts ``timeout`` in virtual seconds.

    The deadline is an alarm of the simulation's clock (so a poll that sleeps until the next
    change, ``VirtualClock.sleep_until_change``, jumps to it), unless it lies beyond what
    any execution may last: moto's default for a state without ``TimeoutSeconds`` (99999999
    seconds) never fires before the execution's own limit.
    """

    def __init__(self, sim: Simulation) -> None:
        self._clock = sim.clock
        self._cond = threading.Condition()
        self._flag = False
        self._expired = False
        self._deadline: float | None = None

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        with self._cond:
            self._flag = True
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._flag = False

    def arm(self, timeout: float, on_expiry: Callable[[], None] | None = None) -> None:
        """Start counting ``timeout`` virtual seconds from now: call it before the work
        starts, so that work which moves the clock on at once still meets the deadline.

        The deadline's alarm runs in the thread that moves the clock past it, which may be
        the very work being waited for (a Lambda handler that waits): set after the alarm is
        late, even if the waiting thread only wakes up after both. ``on_expiry`` runs in
        that thread, at the deadline, when it passes unset.
        """
        self._deadline = self._clock.now() + timeout

        def expire() -> None:
            with self._cond:
                self._expired = not self._flag
                if self._expired and on_expiry is not None:
                    on_expiry()
                self._cond.notify_all()

        if timeout < MAX_STANDARD_SECONDS:
            self._clock.schedule(self._deadline, expire)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until ``set``, or until the deadline ``arm`` set (else ``timeout`` virtual
        seconds from now) has passed; return whether it was set in time."""
        if timeout is None and self._deadline is None:
            with self._cond:
                while not self._flag:
                    self._cond.wait(RECHECK_SECONDS)
                return True
        if self._deadline is None:
            self.arm(float(timeout or 0))
        deadline = self._deadline
        assert deadline is not None
        with self._cond:
            while not self._flag and not self._expired and self._clock.now() < deadline:
                self._cond.wait(RECHECK_SECONDS)
            return self._flag and not self._expired


class _VirtualDatetimeModule:
    """Stands in for the ``datetime`` module where moto dates an execution's start: its
    ``datetime.now`` reads the virtual clock; everything else is the real module's."""

    def __init__(self, sim: Simulation) -> None:
        class VirtualDatetime(datetime.datetime):
            @classmethod
            def now(cls, tz: datetime.tzinfo | None = None) -> datetime.datetime:  # type: ignore[override]
                return datetime.datetime.fromtimestamp(sim.clock.now(), tz)

        self.datetime = VirtualDatetime

    def __getattr__(self, name: str) -> Any:
        return getattr(datetime, name)


class _ExecutionDeadline:
    """An execution's limit: at ``deadline`` (epoch seconds) a still running execution ends
    ``TIMED_OUT`` with its ``ExecutionTimedOut`` event, as Step Functions ends it."""

    def __init__(self, env: Any, deadline: float) -> None:
        self.env = env
        self.deadline = deadline
        self.fired = False
        self.wake = threading.Event()
        self._lock = threading.Lock()

    def fire(self) -> None:
        """Time the execution out now (run by the thread whose sleep or advance reaches the
        deadline, so the event is dated at the deadline)."""
        with self._lock:
            if self.fired or not self.env.is_running():
                self.wake.set()
                return
            self.fired = True
            _TIMED_OUT[self.env] = self.deadline
            self.env.set_timed_out()
            self.env.event_manager.add_event(
                context=self.env.event_history_context,
                event_type=HistoryEventType.ExecutionTimedOut,
                # moto's EventDetails is a total TypedDict; moto too sets just this one key.
                event_details=EventDetails(  # type: ignore[typeddict-item]
                    executionTimedOutEventDetails=ExecutionTimedOutEventDetails()
                ),
            )
            _CLOSED.add(self.env.event_manager)
        self.wake.set()


def patch_virtual_timeouts(patcher: Patcher, sim: Simulation) -> None:
    """Step Functions' time limits run in real time in moto: a state's ``TimeoutSeconds``
    (``terminated_event.wait``) and the state machine's (``worker_thread.join``), and an
    execution without one runs for ever; its history events, ``startDate`` and ``stopDate``
    are real dates.

    Now they all run on the simulation's virtual clock:

    - a state whose work outlasts its ``TimeoutSeconds`` of virtual time fails with
      ``States.Timeout`` (``TaskTimedOut`` event), which its ``Retry`` and ``Catch`` see, as
      in Step Functions; the work itself is abandoned, not stopped (moto's behaviour: a
      Lambda invocation in progress still runs to its end), and what it does after the
      deadline is not in the history;
    - an execution still running at its ``TimeoutSeconds``, or else at the longest a
      Standard execution may last (one year; an Express one: five minutes), ends
      ``TIMED_OUT``: its history ends with ``ExecutionTimedOut`` dated at the deadline
      (nothing the abandoned work does later is recorded), ``DescribeExecution`` reports
      ``TIMED_OUT`` with the deadline as ``stopDate`` (moto leaves a timed-out
      execution's ``stopDate`` out);
    - both deadlines are alarms of the virtual clock, so a poll that sleeps until the next
      change jumps to them;
    - history event timestamps, ``startDate`` and ``stopDate`` are virtual: ``stopDate -
      startDate`` is the execution's simulated duration.
    """

    def build_eval(original: Any) -> Callable[..., None]:
        def program_eval(self: Any, env: Any) -> None:
            if active_simulation() is not sim or env.is_frame():
                original(self, env)
                return
            if self.timeout_seconds is not None:
                limit = float(self.timeout_seconds.timeout_seconds)
            elif env.execution_type == StateMachineType.EXPRESS:
                limit = float(MAX_EXPRESS_SECONDS)
            else:
                limit = float(MAX_STANDARD_SECONDS)
            deadline = _ExecutionDeadline(env, _started(env, sim) + limit)
            sim.clock.schedule(deadline.deadline, deadline.fire)
            env.next_state_name = self.start_at.start_at_name

            def work() -> None:
                try:
                    EvalComponent.eval(self, env)
                finally:
                    deadline.wake.set()

            worker = threading.Thread(target=work, daemon=True)
            worker.start()
            while not deadline.wake.wait(RECHECK_SECONDS):
                if sim.clock.now() >= deadline.deadline:
                    deadline.fire()

        return program_eval

    def build_evaluate_with_timeout(original: Any) -> Callable[..., None]:
        # moto's ExecutionState._evaluate_with_timeout, waiting on the virtual clock, and
        # reporting the timeout before the work's outcome: virtual work that ends (or fails)
        # past the deadline may well have ended by the time the waiting thread looks.
        def evaluate_with_timeout(self: Any, env: Any) -> None:
            if active_simulation() is not sim:
                original(self, env)
                return
            self.timeout.eval(env=env)
            timeout_seconds = env.stack.pop()
            frame = env.open_frame()
            frame.states.reset(input_value=env.states.get_input())
            frame.stack = copy.deepcopy(env.stack)
            outputs: list[Any] = []
            failures: list[Exception] = []
            terminated = VirtualEvent(sim)

            def exec_and_notify() -> None:
                try:
                    self._eval_execution(frame)
                    outputs.extend(frame.stack)
                except Exception as error:  # the state's Retry and Catch get it
                    failures.append(error)
                terminated.set()

            # The module's Thread: the rehearsal's StateWorkerThread (patch_state_threads).
            worker = vars(execute_state)["Thread"](target=exec_and_notify, daemon=True)
            abandoned = frame.event_history_context
            terminated.arm(timeout_seconds, on_expiry=lambda: _ABANDONED.add(abandoned))
            worker.start()
            finished_on_time = terminated.wait()
            frame.set_ended()
            env.close_frame(frame)
            if not finished_on_time:
                raise EvalTimeoutError()
            if failures:
                raise failures[-1]
            output = outputs.pop()
            env.stack.append(output)
            if not self._is_language_query_jsonpath():
                env.states.set_result(output)
            if self.assign_decl:
                self.assign_decl.eval(env=env)
            if self.result_selector:
                self.result_selector.eval(env=env)
            if self.result_path:
                self.result_path.eval(env)
            else:
                env.states.reset(input_value=env.stack.pop())

        return evaluate_with_timeout

    def build_add_event(original: Any) -> Callable[..., int]:
        def add_event(
            self: Any,
            context: Any,
            event_type: Any,
            event_details: Any = None,
            timestamp: Any = None,
            update_source_event_id: bool = True,
        ) -> int:
            if self in _CLOSED or context in _ABANDONED:
                return int(context.last_published_event_id)
            if timestamp is None and active_simulation() is sim:
                timestamp = _virtual_datetime(sim)
            return int(
                original(
                    self, context, event_type, event_details, timestamp, update_source_event_id
                )
            )

        return add_event

    def build_reflect(original: Any) -> Callable[[Any], None]:
        def reflect_execution_status(self: Any) -> None:
            original(self)
            if active_simulation() is not sim:
                return
            execution = self.execution
            deadline = _TIMED_OUT.get(execution.exec_worker.env)
            if deadline is None:
                execution.stop_date = _virtual_datetime(sim)
                return
            # The abandoned work may have failed the program after the deadline.
            execution.exec_status = ExecutionStatus.TIMED_OUT
            execution.error = execution.cause = None
            execution.stop_date = datetime.datetime.fromtimestamp(deadline, datetime.UTC)

        return reflect_execution_status

    def build_describe(original: Any) -> Callable[[Any], Any]:
        def describe_execution(self: Any) -> Any:
            answer = original(self)
            described = answer.result
            if described.get("status") == ExecutionStatus.TIMED_OUT and (
                "stopDate" not in described
            ):
                execution = self.stepfunction_backend.describe_execution(described["executionArn"])
                described["stopDate"] = execution.stop_date
            return answer

        return describe_execution

    patcher.replace(PROGRAM_EVAL, build_eval)
    patcher.replace(DESCRIBE_EXECUTION, build_describe)
    patcher.replace(EVALUATE_WITH_TIMEOUT, build_evaluate_with_timeout)
    patcher.replace(ADD_EVENT, build_add_event)
    patcher.replace(START_DATE_DATETIME, lambda original: _VirtualDatetimeModule(sim))
    patcher.replace(REFLECT_STATUS, build_reflect)


# --------------------------------------------------------------------------- integration clients

_CLIENTS_GAP = "speed: every lambda:invoke and .sync poll creates a boto3 client"

LAMBDA_INTEGRATION_CLIENT = Target(
    "sfn_lambda_integration_client",
    f"{_SFN}.state.exec.state_task.lambda_eval_utils:boto_client_for",
    "(region: str, service: str, state_credentials: Any = None) -> botocore.client.BaseClient",
    _CLIENTS_GAP,
)
BATCH_INTEGRATION_CLIENT = Target(
    "sfn_batch_integration_client",
    f"{_TASK}.state_task_service_batch:boto_client_for",
    "(region: str, service: str, state_credentials: Any = None) -> botocore.client.BaseClient",
    _CLIENTS_GAP,
)


def patch_integration_clients(patcher: Patcher) -> None:
    """moto's interpreter creates a new boto3 client for every ``lambda:invoke`` task and
    every ``.sync`` Batch call (tens of milliseconds each, most of a short state's cost).

    The ``lambda:invoke`` and Batch integrations now reuse one client per region and
    service for the rehearsal (botocore clients are thread-safe; moto ignores the state's
    credentials).
    """

    def build(original: Any) -> Callable[..., Any]:
        clients: dict[tuple[str, str], Any] = {}
        lock = threading.Lock()

        def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
            with lock:
                key = (region, service)
                if key not in clients:
                    clients[key] = original(region, service, state_credentials)
                return clients[key]

        return boto_client_for

    patcher.replace(LAMBDA_INTEGRATION_CLIENT, build)
    patcher.replace(BATCH_INTEGRATION_CLIENT, build)


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher`` for ``sim``."""
    patch_cfn_state_machine(patcher)
    patch_batch_sync_parameters(patcher)
    patch_start_execution_parameters(patcher)
    patch_fail_state_error_names(patcher)
    patch_state_entered(patcher)
    patch_state_threads(patcher, sim)
    patch_parallel_branches(patcher, sim)
    patch_stop_before_start(patcher)
    patch_asl_parse_cache(patcher)
    patch_sync_job_stop(patcher)
    patch_virtual_timeouts(patcher, sim)
    patch_integration_clients(patcher)


# --------------------------------------------------------------------------- ASL parsing

ASL_PARSE = Target(
    "asl_parse",
    "moto.stepfunctions.parser.asl.parse.asl_parser:AmazonStateLanguageParser.parse",
    "(definition: str) -> tuple[moto.stepfunctions.parser.asl.component.eval_component."
    "EvalComponent, antlr4.ParserRuleContext.ParserRuleContext]",
    "speed: every CreateStateMachine and StartExecution parses the definition with ANTLR",
)
PREPROCESSOR = Target(
    "asl_preprocessor",
    "moto.stepfunctions.parser.asl.parse.preprocessor:Preprocessor",
    None,
    "speed: the parse tree cached, the evaluation components built afresh",
    replaced=False,
)


_ASL_TREES: dict[str, Any] = {}
"""Parse trees by definition text, for the whole process (a tree is never changed)."""
_ASL_TREES_LOCK = threading.Lock()


def patch_asl_parse_cache(patcher: Patcher) -> None:
    """moto parses a definition with its ANTLR grammar (pure Python) when the state machine
    is created, when it is analysed and at every StartExecution: a quarter of a short
    rehearsal. The parse tree of a definition that parsed without error is now kept (it is
    not changed after parsing), and the evaluation components are built from it afresh for
    each call, as before, so no two executions share them. A definition with a syntax error
    is parsed, and refused, every time.
    """
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor  # noqa: PLC0415

    trees, lock = _ASL_TREES, _ASL_TREES_LOCK

    def build(original: Any) -> Any:
        def parse(definition: str) -> tuple[Any, Any]:
            with lock:
                tree = trees.get(definition)
            if tree is None:
                program, tree = original.__func__(definition)
                with lock:
                    trees[definition] = tree
                return program, tree
            return Preprocessor().visit(tree), tree

        return staticmethod(parse)

    patcher.replace(ASL_PARSE, build)
