"""The spine every state machine shares, and the states it is made of, each written once.

A run loads its configuration, creates its storage, prepares its own compute while the
storage is being created (the launch template needs only what the create call returned),
watches the storage and then the compute until both are ready, and runs the job. After the
job two branches run side by side (``AfterJob``): the compute's cleanup, and the mode's
post-job stages followed by the storage's release; the run ends with a summary. Every state
after LoadConfig catches into the failure path: start the run's release (the release
workflow, tools/asl/release.py), and fail with the original error.

``definition(mode, slots)`` lays that out for one mode; what differs between modes comes in
through ``slots`` (tools/asl/slots.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from batchscratch.errors import AwsTransientError
from batchscratch.modes import (
    CHECK_COMPUTE,
    CHECK_JOB_START,
    CLEAN_UP_COMPUTE,
    FIND_RUN_JOB,
    LOAD_CONFIG,
    PREPARE_COMPUTE,
    Mode,
)
from tools.asl.outputs import output_of

if TYPE_CHECKING:
    from tools.asl.slots import Slots

State = dict[str, Any]
States = dict[str, State]

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SUBMIT_JOB_SYNC = "arn:aws:states:::batch:submitJob.sync"

START_EXECUTION = "arn:aws:states:::states:startExecution"
"""Step Functions' own integration, request-response: start the execution and go on."""

FAILURE_PATH = "StartRelease"
"""The failure path's first state: every state after LoadConfig catches into it."""

STANDARD_RETRY: tuple[State, ...] = (
    {
        "ErrorEquals": [
            "Lambda.ClientExecutionTimeoutException",
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
        ],
        "IntervalSeconds": 2,
        "MaxAttempts": 6,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 60,
        "JitterStrategy": "FULL",
    },
    {
        "ErrorEquals": ["Sandbox.Timedout", "Lambda.Unknown"],
        "IntervalSeconds": 10,
        "MaxAttempts": 2,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 60,
        "JitterStrategy": "FULL",
    },
    {
        "ErrorEquals": [AwsTransientError.__name__],
        "IntervalSeconds": 10,
        "MaxAttempts": 8,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 300,
        "JitterStrategy": "FULL",
    },
)
"""Every Lambda task's Retry, first match wins (Step Functions Developer Guide, "Handle
transient Lambda service exceptions"):

1. Lambda's own transient service errors, which Step Functions reports as ``Lambda.<name>``:
   ``ClientExecutionTimeoutException``, ``ServiceException``, ``AWSLambdaException``,
   ``SdkClientException`` (the guide's recommended Retry), and ``TooManyRequestsException``
   (Lambda's concurrency limit).
2. An invocation that ended without an answer from the handler: ``Sandbox.Timedout`` (the
   function ran past its ``Timeout``) and ``Lambda.Unknown`` (the guide: unhandled errors
   such as out-of-memory and function timeouts; older runtimes report timeouts so). Twice
   only, with a pause: each try can cost the function's whole ``Timeout``, and an
   invocation that times out or runs out of memory on every try then reaches the Catch.
3. AWS throttling and server errors that outlived the SDK's retries (``AwsTransientError``).

Retrying is safe because every Lambda step is idempotent: invoked again with the same state,
after an attempt that did all, part or none of its work, it converges on the same resources
and the same answer. The creates name their resource or carry a token derived from the
execution: CreateFileSystem, CreateDataRepositoryAssociation and StartExport
(CreateDataRepositoryTask) send ``ClientRequestToken``, CreateVolume and the launch
template ``ClientToken`` (FSx and EC2 API Reference: the same token returns the same
resource); PrepareCompute and CheckCompute look up the run's compute environment, job
definition and job queue by their per-run names before creating one. The check steps only
read (their limits count from ``waitingSince`` in the state, which a retry carries
unchanged); DisableAutoExport updates the association only while it still exports; the
cleanup and release steps list the run's resources afresh on every call and act only on what
is still there, so what an earlier try deleted counts as done. Three creates rely on a read
that EC2 and Batch make eventually consistent: a retry within that window could add a second
snapshot to the release (CreateSnapshot, found again by its tags; the release keeps both) or
a second job definition revision (found by name; the cleanup deregisters every revision), or
be refused CreateComputeEnvironment for a name that exists (the run then fails into its
cleanup); none loses data or leaves a resource untagged. A step added to a state machine
must be idempotent in the same way before it uses this Retry."""


def catch(target: str, result_path: str) -> list[State]:
    """A Catch of every error into ``target``, the error recorded at ``result_path``."""
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": result_path, "Next": target}]


def lambda_task(
    step: str,
    next_state: str,
    *,
    payload: Any = None,
    catches: tuple[str, str] | None = (FAILURE_PATH, "$.error"),
) -> State:
    """The standard Lambda task: invoke the step's function with the state (or ``payload``),
    keep the fields of its output at its result path, retry transient errors, and catch the
    rest into ``catches`` (target state, error's result path). ``catches`` None: no Catch,
    for a task inside a Parallel branch, whose errors fail the Parallel (its Catch decides:
    a branch's Catch may only name states of that branch)."""
    output = output_of(step)
    parameters: State = {"FunctionName": f"${{{step}FunctionArn}}"}
    if payload is None:
        parameters["Payload.$"] = "$"
    else:
        parameters["Payload"] = payload
    task: State = {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": parameters,
        "ResultSelector": {f"{field}.$": f"$.Payload.{field}" for field in output.fields},
        "ResultPath": output.path,
        "Retry": [dict(rule) for rule in STANDARD_RETRY],
    }
    if catches is not None:
        task["Catch"] = catch(*catches)
    task["Next"] = next_state
    return task


def choice(rules: Iterable[tuple[str, str]], default: str) -> State:
    """A Choice: the first ``(variable, next state)`` whose boolean variable is true, else
    ``default``."""
    return {
        "Type": "Choice",
        "Choices": [
            {"Variable": variable, "BooleanEquals": True, "Next": target}
            for variable, target in rules
        ],
        "Default": default,
    }


def poll(
    step: str,
    *,
    until: Mapping[str, str],
    choice_name: str,
    wait_name: str,
    task_name: str | None = None,
    catches: tuple[str, str] | None = (FAILURE_PATH, "$.error"),
) -> States:
    """The poll loop of a watching step (``batchscratch.polling.watch``): the step's task,
    which looks until done or for up to ``WATCH_SECONDS`` within its invocation; a Choice on
    its boolean output fields; and a Wait of the pause the step chose (its
    ``waitSeconds``) back to the task.

    ``until`` maps an output field (e.g. ``ready``) to the state that follows once it is true;
    the first true one wins. The task is named ``task_name`` (default: the step's name). The
    check handler raises a named error once its time limit has passed, so the loop ends.
    """
    task = task_name or step
    path = output_of(step).path
    rules = [(f"{path}.{field}", target) for field, target in until.items()]
    return {
        task: lambda_task(step, choice_name, catches=catches),
        choice_name: choice(rules, wait_name),
        wait_name: {"Type": "Wait", "SecondsPath": f"{path}.waitSeconds", "Next": task},
    }


def load_config(next_state: str) -> States:
    """LoadConfig (the execution's context as its payload) and the Fail it catches into:
    nothing billable exists yet, so a refused configuration just ends the run."""
    task = lambda_task(
        LOAD_CONFIG.name,
        next_state,
        payload={
            "input.$": "$",
            "executionArn.$": "$$.Execution.Id",
            "executionName.$": "$$.Execution.Name",
            "startTime.$": "$$.Execution.StartTime",
        },
        catches=("RejectConfiguration", "$"),
    )
    return {
        LOAD_CONFIG.name: task,
        "RejectConfiguration": {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"},
    }


RUN_JOB = "RunJobWithDeadline"
"""The Parallel state that runs the job beside its watchdog."""

BATCH_TRANSIENT_ERRORS = (
    "Batch.TooManyRequestsException",
    "Batch.ServerException",
    "Batch.AWSBatchException",
)
"""What Step Functions reports when a ``batch:submitJob.sync`` call to Batch is throttled or
fails on Batch's side: ``<service>.<exception name>`` (Step Functions Developer Guide,
"Handling errors in Step Functions workflows", errors of service integrations). Batch's
throttling answer is ``TooManyRequestsException`` (HTTP 429) and its server fault
``ServerException`` (botocore's ``batch`` model); moto's interpreter names them
``Batch.TooManyRequestsException`` and ``Batch.ServerException``. Step Functions names an
exception its SDK does not model after the SDK's base class, as ``Lambda.AWSLambdaException``
shows for Lambda: ``Batch.AWSBatchException`` for a throttled Batch call is that reading, not
a documented name, so it is caught too. Caught into FindRunJob: resubmitting is safe only
after looking for the job in the run's own queue, which FindRunJob does first."""


def run_job(next_state: str, *, array_jobs: bool) -> States:
    """RunJobWithDeadline: a Parallel state whose first branch runs the job (RunJob, and
    where the storage can be shared RunArrayJob behind IsArrayJob) and whose second is the
    watchdog (CheckJobStart, then WaitForJobStart of the wait it chose, until the job has
    started or ended); then
    FindRunJob's loop for a transient Batch error.

    The Parallel's output is the job branch's (``$.job`` as before). A FAILED job (any error
    of the job task but a transient Batch error) is caught inside its branch (``$.error``),
    so that the Parallel fails only with the watchdog's ``JobStartTimeout`` (whichever branch
    ends first) or a transient Batch error (re-raised by RaiseBatchError for the Parallel's
    Catch into FindRunJob); IsJobFailed then sends a failed job to the failure path with its
    own error, ``States.Timeout`` included (the run's time is up: the job task's
    ``TimeoutSecondsPath`` is the run's time left, ``$.computeStatus``).
    """
    parameters = {
        "JobName.$": "$.compute.jobName",
        "JobQueue.$": "$.computeStatus.jobQueueArn",
        "JobDefinition.$": "$.compute.jobDefinitionArn",
    }

    def submit(extra: State) -> State:
        return {
            "Type": "Task",
            "Resource": SUBMIT_JOB_SYNC,
            "Parameters": {**parameters, **extra},
            "TimeoutSecondsPath": "$.computeStatus.jobTimeoutSeconds",
            "ResultSelector": {
                "jobId.$": "$.JobId",
                "status.$": "$.Status",
                "attempts.$": "States.ArrayLength($.Attempts)",
            },
            "ResultPath": "$.job",
            "Catch": [
                {
                    "ErrorEquals": list(BATCH_TRANSIENT_ERRORS),
                    "ResultPath": "$.runJobError",
                    "Next": "RaiseBatchError",
                },
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "JobEnded"},
            ],
            "End": True,
        }

    job_states: States = {"RunJob": submit({})}
    if array_jobs:
        job_states = {
            "IsArrayJob": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": "$.config.arraySize",
                        "NumericGreaterThan": 1,
                        "Next": "RunArrayJob",
                    }
                ],
                "Default": "RunJob",
            },
            "RunJob": submit({}),
            "RunArrayJob": submit({"ArrayProperties": {"Size.$": "$.config.arraySize"}}),
        }
    job_states["RaiseBatchError"] = {
        "Type": "Fail",
        "ErrorPath": "$.runJobError.Error",
        "CausePath": "$.runJobError.Cause",
    }
    job_states["JobEnded"] = {"Type": "Pass", "End": True}
    # The watchdog looks at once, then after the wait CheckJobStart chooses: the poll interval,
    # but never past the start deadline, so a long interval cannot stretch the deadline.
    watchdog_result = output_of(CHECK_JOB_START.name).path
    watchdog: States = {
        CHECK_JOB_START.name: lambda_task(CHECK_JOB_START.name, "IsJobStarted", catches=None),
        "IsJobStarted": choice([(f"{watchdog_result}.done", "JobStartWatched")], "WaitForJobStart"),
        "WaitForJobStart": {
            "Type": "Wait",
            "SecondsPath": f"{watchdog_result}.waitSeconds",
            "Next": CHECK_JOB_START.name,
        },
        "JobStartWatched": {"Type": "Succeed"},
    }
    return {
        RUN_JOB: {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": next(iter(job_states)), "States": job_states},
                {"StartAt": CHECK_JOB_START.name, "States": watchdog},
            ],
            "OutputPath": "$[0]",
            "Catch": [
                {
                    "ErrorEquals": list(BATCH_TRANSIENT_ERRORS),
                    "ResultPath": "$.runJobError",
                    "Next": FIND_RUN_JOB.name,
                },
                *catch(FAILURE_PATH, "$.error"),
            ],
            "Next": "IsJobFailed",
        },
        "IsJobFailed": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.error", "IsPresent": True, "Next": FAILURE_PATH}],
            "Default": next_state,
        },
        FIND_RUN_JOB.name: lambda_task(FIND_RUN_JOB.name, "IsRunJobFound"),
        "IsRunJobFound": choice(
            [("$.runJob.ended", "KeepRunJob"), ("$.runJob.found", "WaitForRunJob")],
            "WaitBeforeResubmit",
        ),
        "WaitForRunJob": {
            "Type": "Wait",
            "SecondsPath": "$.runJob.waitSeconds",
            "Next": FIND_RUN_JOB.name,
        },
        "WaitBeforeResubmit": {
            "Type": "Wait",
            "SecondsPath": "$.runJob.waitSeconds",
            "Next": RUN_JOB,
        },
        "KeepRunJob": {
            "Type": "Pass",
            "Parameters": {
                "jobId.$": "$.runJob.jobId",
                "status.$": "$.runJob.status",
                "attempts.$": "$.runJob.attempts",
            },
            "ResultPath": "$.job",
            "Next": next_state,
        },
    }


def summarize(mode: Mode, slots: Slots) -> State:
    """The Pass state that ends a run: ids, the job's outcome, the release and timings."""
    storage = output_of(mode.storage.create.name).path
    parameters = {
        "runId.$": "$.run.runId",
        "executionArn.$": "$.run.executionArn",
        "mode.$": "$.run.mode",
        **{f"{field}.$": f"{storage}.{field}" for field in slots.storage.summary},
        "jobId.$": "$.job.jobId",
        "jobStatus.$": "$.job.status",
        "jobAttempts.$": "$.job.attempts",
        **{f"{key}.$": output_of(step).path for key, step in slots.mode.summary.items()},
        "storage.$": output_of(mode.storage.release.name).path,
        "startedAt.$": "$.run.startedAt",
        "finishedAt.$": "$$.State.EnteredTime",
    }
    return {"Type": "Pass", "Parameters": parameters, "End": True}


START_RELEASE_RETRY: tuple[State, ...] = (
    {
        "ErrorEquals": [
            "StepFunctions.ExecutionLimitExceeded",
            "StepFunctions.ThrottlingException",
        ],
        "IntervalSeconds": 10,
        "MaxAttempts": 8,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 300,
        "JitterStrategy": "FULL",
    },
)
"""StartRelease's Retry: too many running executions, or throttling (Step Functions API
Reference, StartExecution errors; an integration's errors are named ``StepFunctions.<code>``)."""


def failure_path(mode: Mode, slots: Slots) -> States:
    """Start the run's release (the release workflow, named after the run id), then fail
    with the original error.

    The release does what the failure path did (clean up the compute, apply ``onFailure``),
    in its own execution, so neither a time budget nor this execution's end can cut it short.
    ``ExecutionAlreadyExists`` (a release of this run exists) counts as started; any other
    error is recorded beside ``$.error`` (``releaseError``) and the run still fails with its
    own error: the EventBridge rule on the execution's FAILED status starts the release then.
    """
    del mode, slots  # the same in every mode
    return {
        FAILURE_PATH: {
            "Type": "Task",
            "Resource": START_EXECUTION,
            "Parameters": {
                "StateMachineArn": "${ReleaseStateMachineArn}",
                "Name.$": "$.run.runId",
                "Input": {
                    "run.$": "$.run",
                    "config.$": "$.config",
                    "error.$": "$.error",
                    "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
                },
            },
            "ResultSelector": {"executionArn.$": "$.ExecutionArn"},
            "ResultPath": "$.releaseExecution",
            "Retry": [dict(rule) for rule in START_RELEASE_RETRY],
            "Catch": [
                {
                    "ErrorEquals": ["StepFunctions.ExecutionAlreadyExists"],
                    "ResultPath": None,
                    "Next": "FailRun",
                },
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.releaseError", "Next": "FailRun"},
            ],
            "Next": "FailRun",
        },
        "FailRun": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
    }


SPINE_COMMENTS = {
    LOAD_CONFIG.name: "Secret overlaid with the execution input, validated; nothing billable "
    "exists yet.",
    "AfterJob": "Compute cleanup beside the storage's stages and release: the compute is "
    "deleted at the job's end, and the export, drain and release do not wait for it.",
    RUN_JOB: "The job beside its watchdog: a job not started within jobStartTimeoutSeconds is "
    "terminated (JobStartTimeout). A throttled SubmitJob or poll goes to FindRunJob.",
    "RunJob": "No Retry here: resubmitting could run two jobs on one volume. Batch retries Spot "
    "reclaims (retryStrategy); the job gets the run's time left (RunTimeoutSeconds).",
    "JobEnded": "A failed job ends its branch with $.error (IsJobFailed takes it to the failure "
    "path), so the watchdog's verdict on a job it terminated always wins.",
    "CheckJobStart": "Terminates the job once it has not started within jobStartTimeoutSeconds "
    "of its submission, naming Batch's status reason.",
    FIND_RUN_JOB.name: "The run's queue is its own: follow the job it holds, or resubmit (at "
    "most 5 times) only when it holds none. A run never has two jobs.",
    FAILURE_PATH: "Failure path: every state after LoadConfig lands here with $.error. The "
    "release workflow (named after the run id) cleans up and applies onFailure; the original "
    "error ends the run.",
}


AFTER_JOB = "AfterJob"
"""The Parallel state after the job: the compute's cleanup beside the storage's stages."""


def after_job(mode: Mode, slots: Slots, next_state: str) -> States:
    """AfterJob: a Parallel state whose first branch cleans up the compute (CleanUpCompute's
    watch loop) and whose second runs the mode's post-job stages and then the storage's
    release (its watch loop), so that neither the export, the drain nor the release waits for
    the compute to be gone, and the compute is deleted as soon as the job has ended.

    The branches' states have no Catch (a branch's Catch may only name states of its branch):
    an error in either fails the Parallel, whose Catch takes it to the failure path with the
    branch's error and cause, and Step Functions stops the other branch. The Parallel's output
    is the storage branch's (``$[1]``: the state with the stages' and the release's results).
    """
    release = mode.storage.release
    storage = slots.storage
    entries = [stage.entry for stage in slots.stages] + [release.name]
    compute_branch: States = {
        **poll(
            CLEAN_UP_COMPUTE.name,
            until={"done": "ComputeReleased"},
            choice_name="IsComputeCleanedUp",
            wait_name="WaitForComputeCleanup",
            catches=None,
        ),
        "ComputeReleased": {"Type": "Succeed"},
    }
    fragments = [
        stage.build(following, release.name)
        for stage, following in zip(slots.stages, entries[1:], strict=True)
    ]
    fragments.append(
        {
            **poll(
                release.name,
                until={"done": "StorageReleased"},
                choice_name=f"Is{storage.noun}Released",
                wait_name=f"WaitFor{storage.noun}Release",
                catches=None,
            ),
            "StorageReleased": {"Type": "Succeed"},
        }
    )
    storage_branch = _merged(mode, fragments)
    return {
        AFTER_JOB: {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": CLEAN_UP_COMPUTE.name, "States": compute_branch},
                {"StartAt": entries[0], "States": storage_branch},
            ],
            "OutputPath": "$[1]",
            "Catch": catch(FAILURE_PATH, "$.error"),
            "Next": next_state,
        }
    }


def definition(mode: Mode, slots: Slots) -> dict[str, Any]:
    """The state machine of ``mode``: the spine, with the mode's ``slots`` filled in."""
    storage = slots.storage
    create, check = mode.storage.create, mode.storage.check

    fragments = [
        load_config(create.name),
        {create.name: lambda_task(create.name, PREPARE_COMPUTE.name)},
        {PREPARE_COMPUTE.name: lambda_task(PREPARE_COMPUTE.name, check.name)},
        poll(
            check.name,
            until={"ready": CHECK_COMPUTE.name},
            choice_name=f"Is{storage.noun}Ready",
            wait_name=f"WaitFor{storage.noun}",
        ),
        poll(
            CHECK_COMPUTE.name,
            until={"ready": RUN_JOB},
            choice_name="IsComputeReady",
            wait_name="WaitForCompute",
        ),
        run_job(AFTER_JOB, array_jobs=storage.array_jobs),
        after_job(mode, slots, "Summarize"),
        {"Summarize": summarize(mode, slots)},
        failure_path(mode, slots),
    ]
    states = _merged(mode, fragments)

    comments = {**SPINE_COMMENTS, **storage.comments}
    for stage in slots.stages:
        comments |= stage.comments
    comments |= slots.mode.comments
    unknown = sorted(set(comments) - {name for name, _ in all_states(states)})
    if unknown:
        raise ValueError(f"{mode.name}: comments for states it does not have: {unknown}")
    names = [name for name, _ in all_states(states)]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        # State names are unique across a state machine, Parallel branches included (Amazon
        # States Language, "States").
        raise ValueError(f"{mode.name}: states defined twice: {twice}")
    states = _commented(states, comments)
    _check_intervals(mode)
    return {"Comment": slots.mode.comment, "StartAt": LOAD_CONFIG.name, "States": states}


def _merged(mode: Mode, fragments: Iterable[States]) -> States:
    """The fragments' states in one mapping; a name defined twice is refused."""
    states: States = {}
    for fragment in fragments:
        twice = sorted(set(fragment) & set(states))
        if twice:
            raise ValueError(f"{mode.name}: states defined twice: {twice}")
        states |= fragment
    return states


def all_states(states: States) -> list[tuple[str, State]]:
    """Every ``(name, state)`` of ``states``, those of Parallel branches included."""
    found: list[tuple[str, State]] = []
    for name, state in states.items():
        found.append((name, state))
        for branch in state.get("Branches", []):
            found.extend(all_states(branch["States"]))
    return found


def _commented(states: States, comments: Mapping[str, str]) -> States:
    """``states`` with each named state's comment first, in branches too."""
    result: States = {}
    for name, original in states.items():
        state = original
        if "Branches" in original:
            state = {
                **original,
                "Branches": [
                    {**branch, "States": _commented(branch["States"], comments)}
                    for branch in original["Branches"]
                ],
            }
        result[name] = {"Comment": comments[name], **state} if name in comments else state
    return result


def _check_intervals(mode: Mode) -> None:
    """Refuse a watching step whose interval is not a key of the mode's configuration."""
    fields = mode.config_model.model_fields
    for step in mode.steps:
        if step.interval is not None and step.interval not in fields:
            raise ValueError(
                f"{mode.name}: {step.name} watches with {step.interval}, not a key of the "
                "configuration"
            )
