"""Every workaround for moto's gaps, one function each (moto is pinned at exactly 5.2.5).

Each ``patch_*`` function replaces one or a few moto internals for the duration of a
``Patcher`` and says in its docstring which gap it covers. ``TARGETS`` lists every internal
a patch relies on, with the signature the patch was written against;
``tests/e2e/test_localaws_canary.py`` compares them with the installed moto, so an upgrade
that changes one fails loudly instead of silently breaking the rehearsal.

The patches read the scripted behaviour from the active ``Simulation`` (``activate``); with
no simulation active they behave as moto does.

Gap 6 (FSx for Lustre: lifecycle, data repository associations and tasks) is large enough
for a module of its own, ``tools.localaws.fsx``, built the same way: its own ``TARGETS``
(checked by the same canary test) and an ``install(patcher)`` that ``LocalAws`` calls on the
``Patcher`` that ``activate`` yields. So is CloudWatch's part of AutoExport (the queue metric
FSx publishes, and ``StartTime`` rounded as CloudWatch rounds it): ``tools.localaws.cloudwatch``.
"""

from __future__ import annotations

import importlib
import json
import threading
import time as _time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast

import botocore.endpoint
import botocore.session
from botocore import xform_name
from moto.awslambda.utils import get_backend as get_lambda_backend
from moto.ec2.exceptions import InvalidVolumeAttachmentError
from moto.events.utils import EventTemplateParser
from moto.iam.exceptions import NotFoundException
from moto.secretsmanager.models import secretsmanager_backends
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.responses import get_backend as get_sfn_backend
from moto.stepfunctions.utils import cfn_to_api_tags

from tools.localaws import invoke
from tools.localaws.hooks import service_key, throttle_response
from tools.localaws.simulation import (
    TAG_EXECUTION,
    JobOutcome,
    JobRecord,
    Simulation,
    retry_action,
)

MOTO_VERSION = "5.2.5"


class _Active:
    """The simulation the patches currently play (``None``: behave as moto does)."""

    sim: Simulation | None = None


def active_simulation() -> Simulation | None:
    """The simulation the patches currently play (``None``: behave as moto does)."""
    return _Active.sim


@dataclass(frozen=True)
class Target:
    """A moto internal a patch replaces or relies on, and the signature it expects.

    ``path`` is ``module:Qualified.name``; ``signature`` is ``str(inspect.signature(...))``
    of a callable (for a property: of its getter), or ``None`` for a plain attribute.
    """

    path: str
    signature: str | None
    gap: str

    def resolve(self) -> Any:
        """Return the attribute as stored (a class's own ``property`` or ``classmethod``
        object, not what attribute access would make of it)."""
        owner, name = self.owner()
        if isinstance(owner, type):
            for klass in owner.__mro__:
                if name in klass.__dict__:
                    return klass.__dict__[name]
        return getattr(owner, name)

    def owner(self) -> tuple[Any, str]:
        """Return the object holding the attribute, and the attribute's name."""
        module_name, _, qualname = self.path.partition(":")
        owner: Any = importlib.import_module(module_name)
        *parents, name = qualname.split(".")
        for part in parents:
            owner = getattr(owner, part)
        return owner, name


_SFN = "moto.stepfunctions.parser.asl.component"
_TASK = f"{_SFN}.state.exec.state_task.service"

TARGETS: dict[str, Target] = {
    "lambda_invoke": Target(
        "moto.awslambda.models:LambdaFunction._invoke_lambda",
        "(self, event: 'str | None' = None) -> 'tuple[str, bool, str]'",
        "3: Lambda invocation runs Docker",
    ),
    "lambda_save_logs": Target(
        "moto.awslambda.models:LambdaFunction.save_logs",
        "(self, output: 'str') -> 'None'",
        "3: Lambda invocation runs Docker",
    ),
    "cfn_model_map": Target(
        "moto.cloudformation.parsing:get_model_map",
        "() -> dict[str, type[moto.core.common_models.CloudFormationModel]]",
        "1: CloudFormation skips AWS::SecretsManager::Secret",
    ),
    "cfn_name_type_map": Target(
        "moto.cloudformation.parsing:get_name_type_map",
        "() -> dict[str, str]",
        "1: CloudFormation skips AWS::SecretsManager::Secret",
    ),
    "secretsmanager_create_secret": Target(
        "moto.secretsmanager.models:SecretsManagerBackend.create_secret",
        "(self, name: 'str', secret_string: 'str | None', secret_binary: 'str | None', "
        "description: 'str | None', tags: 'list[dict[str, str]] | None', kms_key_id: 'str | "
        "None', client_request_token: 'str | None', replica_regions: 'list[dict[str, str]]', "
        "force_overwrite: 'bool') -> 'str'",
        "1: CloudFormation skips AWS::SecretsManager::Secret",
    ),
    "sfn_cfn_create": Target(
        "moto.stepfunctions.models:StateMachine.create_from_cloudformation_json",
        "(cls, resource_name: 'str', cloudformation_json: 'Any', account_id: 'str', "
        "region_name: 'str', **kwargs: 'Any') -> 'StateMachine'",
        "2: CloudFormation state machine not startable, DefinitionSubstitutions ignored",
    ),
    "sfn_get_backend": Target(
        "moto.stepfunctions.responses:get_backend",
        "(account: str, region: str) -> moto.stepfunctions.models.StepFunctionBackend",
        "2: CloudFormation state machine not startable, DefinitionSubstitutions ignored",
    ),
    "sfn_parser_create": Target(
        "moto.stepfunctions.parser.models:StepFunctionsParserBackend.create_state_machine",
        "(self, name: str, definition: str, roleArn: str, tags: list[dict[str, str]] | None ="
        " None, publish: bool | None = None, loggingConfiguration: "
        "moto.stepfunctions.parser.api.LoggingConfiguration | None = None, "
        "tracingConfiguration: moto.stepfunctions.parser.api.TracingConfiguration | None = "
        "None, encryptionConfiguration: moto.stepfunctions.parser.api.EncryptionConfiguration"
        " | None = None, version_description: str | None = None, sm_type: str | None = None) "
        "-> moto.stepfunctions.models.StateMachine",
        "2: CloudFormation state machine not startable, DefinitionSubstitutions ignored",
    ),
    "batch_normalise_parameters": Target(
        f"{_TASK}.state_task_service:StateTaskService._normalise_parameters",
        "(self, parameters: 'dict', boto_service_name: 'str | None' = None, "
        "service_action_name: 'str | None' = None) -> 'None'",
        "4: batch:submitJob.sync hands PascalCase parameters to boto3",
    ),
    "batch_normalise_response": Target(
        f"{_TASK}.state_task_service:StateTaskService._normalise_response",
        "(self, response: 'Any', boto_service_name: 'str | None' = None, service_action_name:"
        " 'str | None' = None) -> 'None'",
        "4: batch:submitJob.sync hands PascalCase parameters to boto3",
    ),
    "batch_to_boto_request": Target(
        f"{_TASK}.state_task_service:StateTaskService._to_boto_request",
        "(self, parameters: 'dict', structure_shape: 'StructureShape') -> 'None'",
        "4: batch:submitJob.sync hands PascalCase parameters to boto3",
    ),
    "batch_from_boto_response": Target(
        f"{_TASK}.state_task_service:StateTaskService._from_boto_response",
        "(self, response: 'Any', structure_shape: 'StructureShape') -> 'None'",
        "4: batch:submitJob.sync hands PascalCase parameters to boto3",
    ),
    "batch_service_class": Target(
        f"{_TASK}.state_task_service_batch:StateTaskServiceBatch",
        None,
        "4: batch:submitJob.sync hands PascalCase parameters to boto3",
    ),
    "batch_mark_finished": Target(
        "moto.batch_simple.models:BatchSimpleBackend._mark_job_as_finished",
        "(self, include_start_attempt: bool, job: moto.batch.models.Job) -> None",
        "5: simulated Batch ignores retryStrategy and has no scripted attempts",
    ),
    "batch_create_compute_environment": Target(
        "moto.batch.models:BatchBackend.create_compute_environment",
        "(self, compute_environment_name: str, _type: str, state: str, compute_resources: "
        "dict[str, typing.Any], service_role: str, tags: dict[str, str] | None = None) -> "
        "moto.batch.models.ComputeEnvironment",
        "8: Batch requires serviceRole (AWS uses its service-linked role)",
    ),
    "iam_create_role": Target(
        "moto.iam.models:IAMBackend.create_role",
        "(self, role_name: 'str', assume_role_policy_document: 'str', path: 'str', "
        "permissions_boundary: 'str | None', description: 'str', tags: 'list[dict[str, str]]', "
        "max_session_duration: 'str | None', linked_service: 'str | None' = None) -> 'Role'",
        "8: Batch requires serviceRole (AWS uses its service-linked role)",
    ),
    "iam_get_role": Target(
        "moto.iam.models:IAMBackend.get_role",
        "(self, role_name: 'str') -> 'Role'",
        "8: Batch requires serviceRole (AWS uses its service-linked role)",
    ),
    "batch_job_start_attempt": Target(
        "moto.batch.models:Job._start_attempt",
        "(self) -> None",
        "5: simulated Batch ignores retryStrategy and has no scripted attempts",
    ),
    "batch_job_mark_stopped": Target(
        "moto.batch.models:Job._mark_stopped",
        "(self, success: bool = True) -> None",
        "5: simulated Batch ignores retryStrategy and has no scripted attempts",
    ),
    "batch_list_tags": Target(
        "moto.batch.models:BatchBackend.list_tags_for_resource",
        "(self, resource_arn: str) -> dict[str, str]",
        "5: simulated Batch ignores retryStrategy and has no scripted attempts",
    ),
    "volume_status": Target(
        "moto.ec2.models.elastic_block_store:Volume.status",
        "(self) -> str",
        "7: a new EBS volume is available at once",
    ),
    "volume_create": Target(
        "moto.ec2.models.elastic_block_store:EBSBackend.create_volume",
        "(self, size: int, zone_name: str, snapshot_id: str | None = None, encrypted: bool = "
        "False, kms_key_id: str | None = None, volume_type: str | None = None, iops: int | "
        "None = None, throughput: int | None = None, multi_attach_enabled: bool | None = "
        "None) -> moto.ec2.models.elastic_block_store.Volume",
        "7: a new EBS volume is available at once",
    ),
    "volume_describe": Target(
        "moto.ec2.models.elastic_block_store:EBSBackend.describe_volumes",
        "(self, volume_ids: list[str] | None = None, filters: Any = None) -> "
        "list[moto.ec2.models.elastic_block_store.Volume]",
        "7: a new EBS volume is available at once",
    ),
    "volume_detach": Target(
        "moto.ec2.models.elastic_block_store:EBSBackend.detach_volume",
        "(self, volume_id: str, instance_id: str, device_path: str) -> "
        "moto.ec2.models.elastic_block_store.VolumeAttachment",
        "7: detach_volume without InstanceId raises TypeError",
    ),
    "fail_error_name": Target(
        f"{_SFN}.state.fail.state_fail:CustomErrorName",
        None,
        "Fail state refuses an ErrorPath that resolves to a States.* name",
    ),
    "wait_interval": Target(
        f"{_SFN}.state.wait.wait_function.wait_function:WaitFunction._wait_interval",
        "(self, env: moto.stepfunctions.parser.asl.eval.environment.Environment, "
        "wait_seconds: int) -> None",
        "fast clock: Wait states really wait",
    ),
    "retrier_time": Target(
        f"{_SFN}.common.retry.retrier_decl:time",
        None,
        "fast clock: Retry IntervalSeconds really sleeps",
    ),
    "sync_poll_time": Target(
        f"{_TASK}.state_task_service_callback:time",
        None,
        "fast clock: .sync integrations poll every 0.5 s",
    ),
    "layer_datetime": Target(
        "batchscratch.run:datetime",
        None,
        "fast clock: the layer measures pending time with datetime.now",
    ),
    "layer_metrics_datetime": Target(
        "batchscratch.metrics:datetime",
        None,
        "fast clock: the drain check reads the time with datetime.now",
    ),
    "layer_reap_sleep": Target(
        "batchscratch.reap:sleep",
        None,
        "fast clock: the reaper pauses between passes",
    ),
    "execution_stop": Target(
        "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker.stop",
        "(self, stop_date: datetime.datetime, error: str | None, cause: str | None)",
        "StopExecution right after StartExecution raises AttributeError",
    ),
    "state_input": Target(
        f"{_SFN}.state.state:CommonStateField._eval_state_input",
        "(self, env: 'Environment') -> 'None'",
        "rehearsal: act the moment a state is entered (abortAfter)",
    ),
    "state_worker_thread": Target(
        f"{_SFN}.state.exec.execute_state:Thread",
        None,
        "rehearsal: a state's work runs in a thread of its own (which execution it serves)",
    ),
    "events_send_to_targets": Target(
        "moto.events.models:Rule.send_to_targets",
        "(self, original_event: 'EventMessageType', transform_input: 'bool' = True) -> 'None'",
        "EventBridge rules do not invoke Lambda targets",
    ),
    "events_template_parser": Target(
        "moto.events.utils:EventTemplateParser.parse",
        "(input_template: str, input_paths_map: dict[str, typing.Any], event: "
        "moto.events.utils.EventMessageType) -> dict[str, typing.Any]",
        "EventBridge rules do not invoke Lambda targets",
    ),
    "lambda_get_backend": Target(
        "moto.awslambda.utils:get_backend",
        "(account_id: str, region: str) -> 'LambdaBackend'",
        "EventBridge rules do not invoke Lambda targets",
    ),
    "lambda_backend_invoke": Target(
        "moto.awslambda.models:LambdaBackend.invoke",
        "(self, function_name: 'str', qualifier: 'str | None', body: 'Any', headers: 'Any', "
        "response_headers: 'Any') -> 'str | bytes | None'",
        "EventBridge rules do not invoke Lambda targets",
    ),
    "stubber_call": Target(
        "moto.core.botocore_stubber:BotocoreStubber.__call__",
        "(self, event_name: str, request: botocore.awsrequest.AWSPreparedRequest, **kwargs: Any) "
        "-> botocore.awsrequest.AWSResponse | None",
        "rehearsal: throttle a scenario's first calls before moto handles them",
    ),
    "event_pattern_matches": Target(
        "moto.events.models:EventPattern.matches_event",
        "(self, event: 'EventMessageType') -> 'bool'",
        "EventBridge rules do not invoke Lambda targets",
    ),
}


class Patcher:
    """Install patches for the duration of a ``with`` block, then restore every original."""

    def __init__(self) -> None:
        self._stack = ExitStack()

    def replace(self, target: str, build: Callable[[Any], Any]) -> None:
        """Replace the ``TARGETS[target]`` attribute with ``build(original)``."""
        owner, name = TARGETS[target].owner()
        self.set(owner, name, build(TARGETS[target].resolve()))

    def set(self, owner: Any, name: str, value: Any) -> None:
        """Set ``owner.name`` to ``value`` until exit (a class keeps what it inherits)."""
        own = name in vars(owner) if isinstance(owner, type) else True
        previous = (
            vars(owner)[name] if isinstance(owner, type) and own else getattr(owner, name, None)
        )
        setattr(owner, name, value)

        def restore() -> None:
            if own:
                setattr(owner, name, previous)
            else:
                delattr(owner, name)

        self._stack.callback(restore)

    def __enter__(self) -> Patcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


# --------------------------------------------------------------------------- gap 3: Lambda


def patch_lambda_invoke(patcher: Patcher) -> None:
    """Gap 3: moto runs a Lambda function in Docker; run the repository's handler in-process.

    ``LambdaFunction._invoke_lambda(self, event)`` returns ``(payload, errored, logs)``; an
    errored payload carries ``errorType``, which Step Functions' Catch and Retry match. The
    handler's output is saved to the function's log group, as Lambda does.
    """

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        sim = _Active.sim
        if sim is None:
            return '{"errorType": "Runtime.Unavailable", "errorMessage": "no rehearsal"}', True, ""
        payload, errored, logs = invoke.run_handler(
            sim,
            function_name=self.function_name,
            function_arn=self.function_arn,
            region=self.region,
            environment=dict(self.environment_vars or {}),
            memory_size=int(self.memory_size or 128),
            timeout=int(self.timeout or 3),
            event=event,
        )
        self.logs_backend.ensure_log_group(self.logs_group_name)
        self.save_logs(logs or "(no output)")
        return payload, errored, logs

    patcher.replace("lambda_invoke", lambda original: _invoke_lambda)


# --------------------------------------------------------------------------- gap 1: secret


class _CfnSecret:
    """``AWS::SecretsManager::Secret`` for moto's CloudFormation (``Ref`` gives the ARN)."""

    def __init__(self, arn: str, name: str) -> None:
        self.arn = arn
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    def is_created(self) -> bool:
        return True

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in {"Id", "Arn"}

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> _CfnSecret:
        properties = cloudformation_json.get("Properties", {})
        secret_string = properties.get("SecretString")
        if secret_string is None and "GenerateSecretString" in properties:
            secret_string = "{}"
        if isinstance(secret_string, (dict, list)):
            secret_string = json.dumps(secret_string)
        backend = secretsmanager_backends[account_id][region_name]
        short = backend.create_secret(
            name=resource_name,
            secret_string=secret_string,
            secret_binary=None,
            description=properties.get("Description"),
            tags=properties.get("Tags") or [],
            kms_key_id=properties.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(json.loads(short)["ARN"], resource_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        backend = secretsmanager_backends[account_id][region_name]
        backend.delete_secret(resource_name, None, True)

    def delete(self, account_id: str, region_name: str) -> None:
        self.delete_from_cloudformation_json(self.arn, {}, account_id, region_name)


def patch_cfn_secret(patcher: Patcher) -> None:
    """Gap 1: moto's CloudFormation skips ``AWS::SecretsManager::Secret`` (``Ref`` is None).

    Registers a resource model that creates the secret from its ``SecretString`` (after
    CloudFormation resolved ``Fn::Sub`` and friends), so ``Ref ConfigSecret`` resolves to
    the secret's ARN everywhere: the functions' ``CONFIG_SECRET_ID``, policies, outputs.
    """

    def model_map(original: Any) -> Callable[[], dict[str, Any]]:
        return lambda: {**original(), _CfnSecret.cloudformation_type(): _CfnSecret}

    def name_type_map(original: Any) -> Callable[[], dict[str, str]]:
        return lambda: {**original(), _CfnSecret.cloudformation_type(): "Name"}

    patcher.replace("cfn_model_map", model_map)
    patcher.replace("cfn_name_type_map", name_type_map)


# --------------------------------------------------------------------------- gap 2: SFN


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

    patcher.replace("sfn_cfn_create", lambda original: classmethod(create))


# --------------------------------------------------------------------------- gap 4: .sync


@cache
def _operation_model(service: str, action_snake: str) -> Any:
    model = botocore.session.get_session().get_service_model(service)
    for name in model.operation_names:
        if xform_name(name) == action_snake:
            return model.operation_model(name)
    raise KeyError(f"{service} has no operation {action_snake}")


def patch_batch_sync_parameters(patcher: Patcher) -> None:
    """Gap 4: ``batch:submitJob.sync`` fails with States.Runtime (cause ``'JobName'``).

    The interpreter hands the state's PascalCase ``Parameters`` to boto3 unconverted and
    leaves Batch's camelCase responses as they are. The Batch service task now converts
    both through the botocore service model, as Step Functions does: requests to boto3's
    member names, ``SubmitJob`` and ``DescribeJobs`` results to PascalCase (``JobId``,
    ``Status``, ``Attempts`` ...), the shape the ASL's ``ResultSelector`` reads.
    """
    batch_class = TARGETS["batch_service_class"].resolve()

    def normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        operation = _operation_model(
            self._get_boto_service_name(boto_service_name),
            self._get_boto_service_action(service_action_name),
        )
        self._to_boto_request(parameters, operation.input_shape)

    def normalise_response(
        self: Any,
        response: Any,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        operation = _operation_model(
            self._get_boto_service_name(boto_service_name),
            self._get_boto_service_action(service_action_name),
        )
        self._from_boto_response(response, operation.output_shape)

    patcher.set(batch_class, "_normalise_parameters", normalise_parameters)
    patcher.set(batch_class, "_normalise_response", normalise_response)


# --------------------------------------------------------------------------- gap 5: Batch


def _epoch_ms(offset_seconds: float = 0.0) -> int:
    return int((_time.time() + offset_seconds) * 1000)


def patch_batch_attempts(patcher: Patcher) -> None:
    """Gap 5: simulated Batch (``use_docker: False``) marks every job SUCCEEDED at once and
    ignores the job definition's ``retryStrategy``.

    Plays the scenario's ``aws.job.attempts`` instead: each attempt gets its status reason,
    container reason and exit code; a failed attempt whose outcome matches a RETRY rule of
    ``evaluateOnExit`` (or no rule) starts the next attempt while ``attempts`` remain; an
    EXIT match or the last allowed attempt ends the job FAILED. Attempts beyond the script
    succeed. ``describe_jobs`` shows every attempt with its ``statusReason``.
    """

    def build(original: Any) -> Callable[..., None]:
        def mark_job_as_finished(self: Any, include_start_attempt: bool, job: Any) -> None:
            sim = _Active.sim
            if sim is None or not include_start_attempt:
                original(self, include_start_attempt, job)
                return
            self.backend._jobs[job.job_id] = job
            job.log_stream_name = job._stream_name
            strategy = job.job_definition.retry_strategy or {}
            allowed = max(1, int(strategy.get("attempts") or 1))
            rules = list(strategy.get("evaluateOnExit") or [])
            record = JobRecord(job.job_id, sim.execution_of_tag(_execution_of_job(self, job)))
            outcome = JobOutcome()
            for number in range(allowed):
                outcome = (
                    sim.job_attempts[number] if number < len(sim.job_attempts) else JobOutcome()
                )
                job.job_started_at = datetime.now()
                job._start_attempt()
                attempt = job.latest_attempt
                attempt["startedAt"] = _epoch_ms(sim.clock.offset)
                attempt["stoppedAt"] = _epoch_ms(sim.clock.offset)
                attempt["statusReason"] = outcome.status_reason or (
                    "Essential container in task exited" if outcome.succeeded else "Task failed"
                )
                container = attempt.setdefault("container", {})
                container["exitCode"] = (
                    outcome.exit_code
                    if outcome.exit_code is not None
                    else 0
                    if outcome.succeeded
                    else 1
                )
                if outcome.reason:
                    container["reason"] = outcome.reason
                record.attempts.append(outcome)
                if outcome.succeeded or retry_action(rules, outcome) != "RETRY":
                    break
            job.job_stopped_reason = outcome.status_reason
            job.exit_code = (
                outcome.exit_code
                if outcome.exit_code is not None
                else 0
                if outcome.succeeded
                else 1
            )
            stopped_at = job.latest_attempt["stoppedAt"]
            record.ended_at = sim.clock.now()
            job._mark_stopped(success=outcome.succeeded)
            job.latest_attempt["stoppedAt"] = stopped_at
            record.status = "SUCCEEDED" if outcome.succeeded else "FAILED"
            sim.jobs[job.job_id] = record

        return mark_job_as_finished

    patcher.replace("batch_mark_finished", build)


def _execution_of_job(backend: Any, job: Any) -> str | None:
    for arn in (job.arn, job.job_queue.arn, job.job_definition.arn):
        tags = backend.list_tags_for_resource(arn) or {}
        if TAG_EXECUTION in tags:
            return str(tags[TAG_EXECUTION])
    return None


BATCH_SERVICE_LINKED_ROLE = "AWSServiceRoleForBatch"


def patch_batch_service_role(patcher: Patcher) -> None:
    """Gap 8 (part): moto refuses CreateComputeEnvironment without ``serviceRole``.

    AWS Batch then uses its service-linked role ``AWSServiceRoleForBatch`` (creating it on
    first use); so does the patched call, creating the role in the emulated IAM if needed.
    """

    def build(original: Any) -> Callable[..., Any]:
        def create_compute_environment(
            self: Any,
            compute_environment_name: str,
            _type: str,
            state: str,
            compute_resources: dict[str, Any],
            service_role: str,
            tags: dict[str, str] | None = None,
        ) -> Any:
            if not service_role:
                try:
                    role = self.iam_backend.get_role(BATCH_SERVICE_LINKED_ROLE)
                except NotFoundException:
                    role = self.iam_backend.create_role(
                        BATCH_SERVICE_LINKED_ROLE,
                        json.dumps(
                            {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Principal": {"Service": "batch.amazonaws.com"},
                                        "Action": "sts:AssumeRole",
                                    }
                                ],
                            }
                        ),
                        "/aws-service-role/batch.amazonaws.com/",
                        None,
                        "Service-linked role for AWS Batch",
                        [],
                        "3600",
                        "batch.amazonaws.com",
                    )
                service_role = role.arn
            return original(
                self,
                compute_environment_name,
                _type,
                state,
                compute_resources,
                service_role,
                tags,
            )

        return create_compute_environment

    patcher.replace("batch_create_compute_environment", build)


# --------------------------------------------------------------------------- gap 7: EBS


@dataclass
class _VolumeScript:
    ready_after_polls: int
    create_fails: bool
    describes: int = 0

    def state(self) -> str:
        if self.describes <= self.ready_after_polls:
            return "creating"
        return "error" if self.create_fails else "available"


def patch_volume_lifecycle(patcher: Patcher) -> None:
    """Gap 7 (part): a new EBS volume is ``available`` at once and never fails.

    A volume created while a simulation is active reports ``creating`` (also in the
    CreateVolume response) for its first ``readyAfterPolls`` DescribeVolumes calls, then
    ``available`` -- or ``error`` when the scenario says ``createFails``.
    """

    def status(volume: Any) -> str:
        if volume.attachment:
            return "in-use"
        script = getattr(volume, "_localaws_script", None)
        return script.state() if script else "available"

    def build_create(original: Any) -> Callable[..., Any]:
        def create_volume(self: Any, *args: Any, **kwargs: Any) -> Any:
            volume = original(self, *args, **kwargs)
            sim = _Active.sim
            if sim is not None:
                volume._localaws_script = _VolumeScript(sim.ready_after_polls, sim.create_fails)
            return volume

        return create_volume

    def build_describe(original: Any) -> Callable[..., Any]:
        def describe_volumes(self: Any, volume_ids: Any = None, filters: Any = None) -> Any:
            matches = original(self, volume_ids, filters)
            sim = _Active.sim
            if sim is not None and sim.enabled:
                for volume in matches:
                    script = getattr(volume, "_localaws_script", None)
                    if script is not None:
                        script.describes += 1
            return matches

        return describe_volumes

    patcher.replace("volume_status", lambda original: property(status))
    patcher.replace("volume_create", build_create)
    patcher.replace("volume_describe", build_describe)


def patch_detach_volume(patcher: Patcher) -> None:
    """Gap 7 (part): ``DetachVolume`` without ``InstanceId`` raises TypeError in moto.

    EC2 accepts a detach by volume id alone; the instance is the volume's attachment.
    """

    def build(original: Any) -> Callable[..., Any]:
        def detach_volume(self: Any, volume_id: str, instance_id: str, device_path: str) -> Any:
            if not instance_id:
                volume = self.get_volume(volume_id)
                if volume.attachment is None:
                    raise InvalidVolumeAttachmentError(volume_id, "any instance")
                instance_id = volume.attachment.instance.id
            return original(self, volume_id, instance_id, device_path)

        return detach_volume

    patcher.replace("volume_detach", build)


# --------------------------------------------------------------------------- Fail state


def patch_fail_state_error_names(patcher: Patcher) -> None:
    """A Fail state whose ``ErrorPath`` resolves to a ``States.*`` name (re-raising what a
    Catch recorded, e.g. ``States.TaskFailed``) ends in ``States.Runtime`` in moto: the
    interpreter checks the rule for custom error names. Step Functions reports the name.

    The Fail state now builds its error name without that check.
    """

    class FailStateErrorName(ErrorName):
        """The error name a Fail state reports, whatever its prefix."""

    patcher.replace("fail_error_name", lambda original: FailStateErrorName)


# --------------------------------------------------------------------------- fast clock


class _ClockTime:
    """Stands in for the ``time`` module where moto or botocore sleep: sleeping advances the
    simulation's virtual clock and yields the thread for a moment instead of blocking."""

    def __init__(self, clock: Any, real_pause: float) -> None:
        self._clock = clock
        self._real_pause = real_pause

    def sleep(self, seconds: float) -> None:
        self._clock.sleep(seconds)
        _time.sleep(self._real_pause)

    def __getattr__(self, name: str) -> Any:
        return getattr(_time, name)


def patch_fast_clock(patcher: Patcher, sim: Simulation) -> None:
    """Fast clock: Wait states, Retry ``IntervalSeconds``, the ``.sync`` 0.5 s poll and
    botocore's retry back-off sleep for real in moto; a rehearsal should take seconds.

    Every one of them advances the simulation's virtual clock instead (``VirtualClock``).
    """

    def build_wait(original: Any) -> Callable[..., None]:
        def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
            sim.clock.sleep(wait_seconds)
            env.program_state_event.wait(0.001)

        return wait_interval

    patcher.replace("wait_interval", build_wait)
    patcher.replace("retrier_time", lambda original: _ClockTime(sim.clock, 0.001))
    patcher.replace("sync_poll_time", lambda original: _ClockTime(sim.clock, 0.005))
    patcher.set(botocore.endpoint, "time", _ClockTime(sim.clock, 0.0))


def patch_layer_clock(patcher: Patcher, sim: Simulation) -> None:
    """Fast clock, the layer's side: ``batchscratch.run`` and ``batchscratch.metrics`` (the
    drain check's "now") read the time through a ``datetime`` that adds the skipped
    seconds, and the reaper's pause between passes
    (``batchscratch.reap.sleep``) is a virtual sleep. A handler that measures how long
    something has been pending then sees the time a real run would have taken, and its
    timeout errors fire as they would. Installed once the layer is importable (deploy).
    """

    class VirtualDatetime(datetime):
        """``datetime`` whose ``now()`` runs on the simulation's virtual clock."""

        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return datetime.now(tz) + timedelta(seconds=sim.clock.offset)

    patcher.replace("layer_datetime", lambda original: VirtualDatetime)
    patcher.replace("layer_metrics_datetime", lambda original: VirtualDatetime)
    patcher.replace("layer_reap_sleep", lambda original: _ClockTime(sim.clock, 0.001).sleep)


# --------------------------------------------------------------------------- StopExecution


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

    patcher.replace("execution_stop", build)


# --------------------------------------------------------------------------- state entered


def patch_state_entered(patcher: Patcher) -> None:
    """Rehearsal hook: tell the simulation the moment an execution enters a state.

    Runs in the execution's own thread right after its StateEntered event, so a listener
    (``abortAfter``) can stop the execution before the state does any work, and the
    simulation knows which execution that thread's calls are made for (its refusals).
    """

    def build(original: Any) -> Callable[..., None]:
        def eval_state_input(self: Any, env: Any) -> None:
            original(self, env)
            sim = _Active.sim
            if sim is None:
                return
            execution = env.states.context_object.context_object_data["Execution"]["Id"]
            sim.enter_execution(execution)
            if sim.state_listeners:
                sim.state_entered(execution, self.name)

        return eval_state_input

    patcher.replace("state_input", build)


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

    patcher.replace("state_worker_thread", lambda original: StateWorkerThread)


# --------------------------------------------------------------------------- throttling


def patch_throttling(patcher: Patcher) -> None:
    """Rehearsal hook: the first N calls of a scenario's ``"service:Operation"`` get the
    service's throttling error (``hooks.throttle_response``) instead of reaching moto.

    Lives at moto's request entry point (every botocore client in the process passes
    there), so the SDK's retries, the handlers and the state machine's ``Retry`` all see
    the throttling as they would in AWS, and a throttled call changes nothing.
    """

    def build(original: Any) -> Callable[..., Any]:
        def call(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            sim = _Active.sim
            if self.enabled and sim is not None and sim.throttle:
                _, service_id, operation = [*event_name.split("."), "", ""][:3]
                service = service_key(service_id)
                if sim.take_throttle(f"{service}:{operation}"):
                    return throttle_response(service, request)
            return original(self, event_name, request, **kwargs)

        return call

    patcher.replace("stubber_call", build)


# --------------------------------------------------------------------------- EventBridge


@dataclass
class Delivery:
    """One EventBridge delivery of an event to a Lambda target."""

    rule: str
    function: str
    event: str
    """The payload sent."""
    attempts: int
    errored: bool
    result: str
    """What the last attempt returned."""


MAX_ASYNC_ATTEMPTS = 3
"""Lambda's asynchronous invocation: the first attempt and two retries (the default)."""


def patch_eventbridge_lambda_targets(patcher: Patcher) -> None:
    """EventBridge rules in moto deliver to SQS, logs and buses, never to a Lambda function.

    A matching ENABLED rule now invokes its Lambda targets the way EventBridge does:
    asynchronously (an errored invocation is retried up to twice), with the event (or the
    target's ``Input``, ``InputPath`` or ``InputTransformer`` result) as payload, ``time``
    in ISO 8601. Each delivery is recorded in the simulation.
    """

    def build(original: Any) -> Callable[..., None]:
        def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
            targets = self.targets
            self.targets = [t for t in targets if ":lambda:" not in t["Arn"]]
            try:
                original(self, original_event, transform_input)  # the targets moto supports
            finally:
                self.targets = targets
            sim = _Active.sim
            if sim is None or getattr(self, "state", "ENABLED") != "ENABLED":
                return
            if not self.event_pattern.matches_event(original_event):
                return
            event = dict(original_event)
            event.pop("ingestion-time", None)
            if isinstance(event.get("time"), (int, float)):
                event["time"] = datetime.fromtimestamp(event["time"], tz=UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                )
            for target in self.targets:
                arn = target["Arn"]
                if ":lambda:" not in arn:
                    continue
                if "Input" in target:
                    payload = target["Input"]
                elif "InputTransformer" in target:
                    transformer = target["InputTransformer"]
                    payload = json.dumps(
                        EventTemplateParser.parse(
                            input_template=transformer.get("InputTemplate"),
                            input_paths_map=transformer.get("InputPathsMap", {}),
                            event=cast(Any, event),
                        )
                    )
                else:
                    payload = json.dumps(event)
                backend = get_lambda_backend(self.account_id, self.region_name)
                attempts, errored, result = 0, True, ""
                while errored and attempts < MAX_ASYNC_ATTEMPTS:
                    attempts += 1
                    headers: dict[str, str] = {}
                    answer = backend.invoke(arn, None, payload, {}, headers)
                    result = answer.decode() if isinstance(answer, bytes) else str(answer)
                    errored = "x-amz-function-error" in headers
                sim.deliveries.append(Delivery(self.name, arn, payload, attempts, errored, result))

        return send_to_targets

    patcher.replace("events_send_to_targets", build)


# --------------------------------------------------------------------------- activation


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install every patch on ``patcher`` for ``sim``."""
    patch_lambda_invoke(patcher)
    patch_cfn_secret(patcher)
    patch_cfn_state_machine(patcher)
    patch_batch_sync_parameters(patcher)
    patch_batch_attempts(patcher)
    patch_batch_service_role(patcher)
    patch_volume_lifecycle(patcher)
    patch_detach_volume(patcher)
    patch_fail_state_error_names(patcher)
    patch_fast_clock(patcher, sim)
    patch_state_entered(patcher)
    patch_state_threads(patcher, sim)
    patch_stop_before_start(patcher)
    patch_throttling(patcher)
    patch_eventbridge_lambda_targets(patcher)


_ACTIVATION_LOCK = threading.Lock()


@contextmanager
def activate(sim: Simulation) -> Iterator[Patcher]:
    """Install every patch and make ``sim`` the simulation they play, for one block.

    Yields the ``Patcher``, for patches that can only be installed later
    (``patch_layer_clock``); it restores them with the rest.
    """
    if not _ACTIVATION_LOCK.acquire(blocking=False):
        raise RuntimeError("another rehearsal is already running in this process")
    try:
        with Patcher() as patcher:
            install(patcher, sim)
            _Active.sim = sim
            try:
                yield patcher
            finally:
                _Active.sim = None
    finally:
        _ACTIVATION_LOCK.release()
