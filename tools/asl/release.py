"""The release workflow's state machine: ``statemachine/release.asl.json`` (one per stack).

Its input is ``{run, config, error}`` (the run's Catch, or the StartRelease function). It
runs ReleaseRun (one pass: the job's outcome, the compute cleanup, the storage policy), then
a Choice on ``$.release.done``, and a Wait of ``$.release.waitSeconds`` back to ReleaseRun.
ReleaseRun raises CleanupTimeout once ``cleanupTimeoutSeconds`` have passed; its Catch goes to
RetainRun, which tags what is left ``retained-reason`` and reports it to the SNS topic, and
the execution fails ``ReleaseIncomplete`` with RetainRun's cause (the original error, what is
kept, where the results are). The loop holds no Lambda time budget: each pass is one short
invocation.
"""

from typing import Any

from batchscratch.errors import ReleaseIncomplete
from batchscratch.modes import RELEASE_RUN, RETAIN_RUN
from tools.asl.outputs import output_of
from tools.asl.spine import State, States, lambda_task

FILE = "release.asl.json"
"""The release state machine's file in ``statemachine/`` (template.yaml's DefinitionUri)."""

FAILED = ReleaseIncomplete.__name__

RELEASE_TIMEOUT_RETRY: State = {
    "ErrorEquals": ["Sandbox.Timedout", "Lambda.Unknown"],
    "IntervalSeconds": 60,
    "MaxAttempts": 12,
    "BackoffRate": 2.0,
    "MaxDelaySeconds": 900,
    "JitterStrategy": "FULL",
}
"""ReleaseRun's Retry of an invocation that ended without an answer: a release must not give
up on a run after a few minutes of Lambda timeouts (the run's steps retry them twice,
``STANDARD_RETRY``), so a pass that timed out is tried again for about 2.5 hours (60 s
doubling, at most 900 s, 12 times) before RetainRun tags and reports what is left. Each pass
is idempotent."""

COMMENTS = {
    RELEASE_RUN.name: "One pass: the job's outcome from the run's own queue (first pass, before "
    "the cleanup deletes it), the compute cleanup, then onFailure on the storage: exported "
    "before any deletion when the job succeeded or its outcome is unknown. AWS errors end a "
    "pass, not the release.",
    RETAIN_RUN.name: "cleanupTimeoutSeconds passed, or a step failed for good: tag what is left "
    "retained-reason and publish one message to the stack's SNS topic.",
}


def _with_release_retry(task: State) -> State:
    """``task`` with the standard rule for Lambda timeouts replaced by
    ``RELEASE_TIMEOUT_RETRY``."""
    rules = [
        RELEASE_TIMEOUT_RETRY
        if rule["ErrorEquals"] == RELEASE_TIMEOUT_RETRY["ErrorEquals"]
        else rule
        for rule in task["Retry"]
    ]
    if RELEASE_TIMEOUT_RETRY not in rules:
        raise ValueError("STANDARD_RETRY has no rule for Lambda timeouts to replace")
    return {**task, "Retry": rules}


def definition() -> dict[str, Any]:
    """The release state machine (SAM placeholders ``${ReleaseRunFunctionArn}`` and
    ``${RetainRunFunctionArn}`` left in)."""
    release = output_of(RELEASE_RUN.name).path
    retained = output_of(RETAIN_RUN.name).path
    states: States = {
        RELEASE_RUN.name: _with_release_retry(
            lambda_task(
                RELEASE_RUN.name, "IsRunReleased", catches=(RETAIN_RUN.name, "$.releaseError")
            )
        ),
        "IsRunReleased": {
            "Type": "Choice",
            "Choices": [
                {"Variable": f"{release}.done", "BooleanEquals": True, "Next": "RunReleased"}
            ],
            "Default": "WaitForRelease",
        },
        "WaitForRelease": {
            "Type": "Wait",
            "SecondsPath": f"{release}.waitSeconds",
            "Next": RELEASE_RUN.name,
        },
        "RunReleased": {"Type": "Succeed"},
        RETAIN_RUN.name: lambda_task(
            RETAIN_RUN.name, "FailRelease", catches=("FailReleaseUnreported", "$.retainError")
        ),
        "FailRelease": {"Type": "Fail", "Error": FAILED, "CausePath": f"{retained}.cause"},
        "FailReleaseUnreported": {
            "Type": "Fail",
            "Error": FAILED,
            "CausePath": "$.retainError.Cause",
        },
    }
    states = {
        name: {"Comment": COMMENTS[name], **state} if name in COMMENTS else state
        for name, state in states.items()
    }
    return {
        "Comment": "Release one run (one state machine per stack, one execution per run, named "
        "after the run id): clean up its compute, apply onFailure to its storage, and report "
        "what it gives up on after cleanupTimeoutSeconds.",
        "StartAt": RELEASE_RUN.name,
        "States": states,
    }
