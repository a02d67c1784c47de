"""Starting the release workflow for runs that could not start it themselves.

A run's Catch starts its release (statemachine/*: StartRelease). Two events start it for the
others, through the StartRelease function:

- "Step Functions Execution Status Change" (EventBridge, statuses ABORTED, TIMED_OUT, FAILED)
  of the run state machine: an aborted or timed-out execution cannot run its Catch, and one
  that failed may have failed without it (25,000 history events).
- A schedule (``SweepSchedule``, daily by default): the sweep finds the stack's tagged
  resources (Resource Groups Tagging API, GetResources on ``batch-scratch:stack-name``) that
  carry no ``retained-reason`` and whose execution no longer runs, and releases their runs.

The release execution is named after the run id. Step Functions refuses a second execution of
a Standard state machine under a name used in the last 90 days (``ExecutionAlreadyExists``,
API Reference, StartExecution ``name``), so a second start is a no-op. The sweep re-releases a
run whose release has closed under ``<run id[:64]>-<yyyymmddHHMM>``.
"""

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from batchscratch import clock
from batchscratch.aws import client
from batchscratch.config import CONFIG_MODELS, input_keys_from_environment, load_config
from batchscratch.errors import InvalidConfiguration, MissingSetting
from batchscratch.modes import LOAD_CONFIG
from batchscratch.outputs import LoadedConfig, StartedRelease
from batchscratch.run import TAG_EXECUTION, TAG_RETAINED, TAG_STACK, Run
from batchscratch.run import execution_arn as execution_arn_of

logger = Logger(child=True)

STATUS_CHANGE = "Step Functions Execution Status Change"
SCHEDULED = "Scheduled Event"

RELEASED_STATUSES = ("ABORTED", "TIMED_OUT", "FAILED")
"""Execution statuses whose runs the status-change rule releases."""

BILLED_RESOURCE_TYPES = (
    "volume/",
    "file-system/",
    "compute-environment/",
    "job-queue/",
    "launch-template/",
)
"""ARN resource types of a run that the sweep releases (what bills or blocks). The run's
snapshots carry ``retained-reason`` by design; deregistered job definitions, data repository
tasks and associations stay tagged after their run but bill nothing, so they start no
release."""

_HISTORY_PAGES = 3
"""LoadConfig exits within the first events of an execution; read at most this many pages."""


class ExecutionStatusChange(BaseModel):
    """The ``detail`` of a "Step Functions Execution Status Change" event (Step Functions
    Developer Guide, "Automating Step Functions event delivery with EventBridge"); unknown
    keys are ignored.

    ``startDate``: milliseconds since the epoch; ``input``: the execution input as JSON text,
    or None when it is not included; ``error`` and ``cause``: the execution's, if any.
    """

    executionArn: str
    name: str
    status: str
    startDate: int | None = None
    input: str | None = None
    error: str | None = None
    cause: str | None = None


class ReleaseTrigger(BaseModel):
    """StartRelease's event: an EventBridge event, a status change or a scheduled event."""

    model_config = ConfigDict(populate_by_name=True)

    detail_type: str = Field(alias="detail-type")
    detail: dict[str, Any] = Field(default_factory=dict)


def _pascal(status: str) -> str:
    return "".join(word.capitalize() for word in status.split("_"))


def error_of(detail: ExecutionStatusChange) -> dict[str, str]:
    """Return the release's ``error``: the execution's own error, or ``Execution<Status>``
    (``ExecutionAborted``, ``ExecutionTimedOut``, ``ExecutionFailed``)."""
    return {
        "Error": detail.error or f"Execution{_pascal(detail.status)}",
        "Cause": detail.cause or f"execution {detail.executionArn} ended {detail.status}",
    }


def loaded_config_of(execution_arn: str) -> LoadedConfig | None:
    """Return the run and configuration LoadConfig returned, from the execution's history
    (GetExecutionHistory ``stateExitedEventDetails`` of LoadConfig, whose output is the whole
    state), or None when LoadConfig never succeeded or its output does not validate."""
    pages = (
        client("stepfunctions")
        .get_paginator("get_execution_history")
        .paginate(executionArn=execution_arn, includeExecutionData=True)
    )
    for number, page in enumerate(pages):
        for event in page["events"]:
            exited = event.get("stateExitedEventDetails", {})
            if exited.get("name") == LOAD_CONFIG.name and "output" in exited:
                try:
                    return LoadedConfig.model_validate_json(exited["output"])
                except ValidationError:
                    return None
        if number + 1 >= _HISTORY_PAGES:
            break
    return None


def config_of(mode: str, secret_id: str, execution_input: str | None) -> dict[str, Any]:
    """Return the secret overlaid with the execution input, or the mode's defaults when that
    no longer validates. The defaults keep data (``onFailure`` snapshot / export).

    The input may set only the keys the stack allows (``EXECUTION_INPUT_KEYS``), as at
    LoadConfig: a key LoadConfig would have refused (an ``onFailure: delete`` where the stack
    does not let callers choose it) must not decide the release either; when the setting is
    missing the defaults apply."""
    try:
        overlay = json.loads(execution_input or "{}")
        return load_config(mode, secret_id, overlay, input_keys_from_environment()).model_dump()
    except (InvalidConfiguration, MissingSetting, json.JSONDecodeError):
        # Unvalidated on purpose: only the defaults (policy, timings) are read from it.
        default = CONFIG_MODELS[mode].model_construct(jobDefinitionContainerImage="unknown")
        return default.model_dump()


def release_input(
    detail: ExecutionStatusChange, mode: str, stack_name: str, secret_id: str
) -> dict[str, Any]:
    """Return the release's input ``{run, config, error}`` for the ended execution.

    The run and configuration are LoadConfig's (``loaded_config_of``); else the run is built
    from the event and the configuration is the secret with the execution input
    (``config_of``).
    """
    loaded = loaded_config_of(detail.executionArn)
    if loaded is None:
        started = datetime.fromtimestamp(int(detail.startDate or 0) / 1000, UTC)
        run = Run(
            executionArn=detail.executionArn,
            runId=detail.name,
            mode=mode,
            stackName=stack_name,
            startedAt=started.isoformat(timespec="seconds"),
        )
        loaded = LoadedConfig(run=run, config=config_of(mode, secret_id, detail.input))
    return {"run": loaded.run.model_dump(), "config": loaded.config, "error": error_of(detail)}


def _start(machine_arn: str, name: str, body: dict[str, Any]) -> bool:
    """Start the release ``name``; return False when one of that name exists already."""
    try:
        client("stepfunctions").start_execution(
            stateMachineArn=machine_arn, name=name, input=json.dumps(body)
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
            return False
        raise
    return True


def start_for_status_change(
    detail: ExecutionStatusChange,
    mode: str,
    stack_name: str,
    secret_id: str,
    machine_arn: str,
) -> StartedRelease:
    """Start the release of the run whose execution ended as ``detail`` says.

    Args:
        detail: the status change (ABORTED, TIMED_OUT or FAILED).
        mode, stack_name: the deployment's (``MODE``, ``STACK_NAME``).
        secret_id: the configuration secret (``CONFIG_SECRET_ID``).
        machine_arn: the release state machine (``RELEASE_STATE_MACHINE_ARN``).

    Returns:
        ``StartedRelease``: the release started, or why none was (another status, or a
        release of that name exists: the run's Catch started it).

    Raises:
        botocore.exceptions.ClientError: Step Functions refused (Lambda's asynchronous
            invocation retries).
    """
    if detail.status not in RELEASED_STATUSES:
        return StartedRelease(started=[], skipped={detail.name: f"status {detail.status}"})
    body = release_input(detail, mode, stack_name, secret_id)
    if _start(machine_arn, detail.name, body):
        return StartedRelease(started=[detail.name], skipped={})
    return StartedRelease(started=[], skipped={detail.name: "its release exists already"})


def leftovers(stack_name: str) -> dict[str, str]:
    """Return ``{execution ARN: run id}`` of the stack's runs that left billed resources
    (``BILLED_RESOURCE_TYPES``) without ``retained-reason`` (GetResources, paginated).

    The execution ARN is the resource's ``batch-scratch:execution-arn`` tag.
    """
    pages = (
        client("resourcegroupstaggingapi")
        .get_paginator("get_resources")
        .paginate(TagFilters=[{"Key": TAG_STACK, "Values": [stack_name]}])
    )
    found: dict[str, str] = {}
    for page in pages:
        for mapping in page["ResourceTagMappingList"]:
            tags = {tag["Key"]: tag["Value"] for tag in mapping.get("Tags", [])}
            resource = mapping["ResourceARN"].split(":", 5)[-1]
            if TAG_RETAINED in tags or TAG_EXECUTION not in tags:
                continue
            if resource.startswith(BILLED_RESOURCE_TYPES):
                found[tags[TAG_EXECUTION]] = mapping["ResourceARN"]
    return found


def sweep(mode: str, stack_name: str, secret_id: str, machine_arn: str) -> StartedRelease:
    """Release every run of the stack that left resources and whose execution has ended.

    A run whose release of its own name runs is left to it; one whose release has closed
    (it found nothing then, or the tags were eventually consistent) gets a new release named
    ``<run id[:64]>-<yyyymmddHHMM>`` (80 characters at most, as Step Functions requires).

    Returns:
        ``StartedRelease``: the releases started, and the runs left alone with why.

    Raises:
        botocore.exceptions.ClientError: the Tagging API or Step Functions refused.
    """
    sfn = client("stepfunctions")
    started: list[str] = []
    skipped: dict[str, str] = {}
    for execution_arn, resource in sorted(leftovers(stack_name).items()):
        try:
            execution = sfn.describe_execution(executionArn=execution_arn)
        except ClientError as error:
            # ExecutionDoesNotExist (its history expired after 90 days), InvalidArn.
            skipped[execution_arn] = f"{resource}: {error.response['Error']['Code']}"
            continue
        if execution["status"] == "RUNNING":
            skipped[execution["name"]] = "its execution is running"
            continue
        detail = ExecutionStatusChange(
            executionArn=execution_arn,
            name=execution["name"],
            status=execution["status"],
            startDate=int(execution["startDate"].timestamp() * 1000),
            input=execution.get("input"),
            error=execution.get("error"),
            cause=f"released by the sweep: {resource} was left without {TAG_RETAINED}",
        )
        body = release_input(detail, mode, stack_name, secret_id)
        name = detail.name
        if not _start(machine_arn, name, body):
            release = sfn.describe_execution(executionArn=execution_arn_of(machine_arn, name))
            if release["status"] == "RUNNING":
                skipped[name] = "its release is running"
                continue
            name = f"{detail.name[:64]}-{clock.now():%Y%m%d%H%M}"
            if not _start(machine_arn, name, body):
                skipped[detail.name] = f"release {name} exists already"
                continue
        started.append(name)
    logger.info("Sweep done", extra={"started": started, "skipped": skipped})
    return StartedRelease(started=started, skipped=skipped)
