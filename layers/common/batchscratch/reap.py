"""The reaper: release what an execution left behind when it could not run its own Catch.

An execution that is aborted or times out never reaches its failure path; one that failed
may have failed inside it. The EventBridge rule on "Step Functions Execution Status Change"
(ABORTED, TIMED_OUT, FAILED) invokes the reaper, which applies the same steps as the failure
path to every resource tagged with the execution's ARN. Idempotent: after a clean failure it
finds nothing to do.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from batchscratch import clock
from batchscratch.compute import cleanup_compute
from batchscratch.config import (
    CONFIG_MODELS,
    CommonConfig,
    load_config,
)
from batchscratch.errors import InvalidConfiguration, ReapIncomplete
from batchscratch.modes import MODES
from batchscratch.outputs import CleanupStatus, ReapResult, ReleaseStatus
from batchscratch.run import Run

logger = Logger(child=True)


class ExecutionStatusChange(BaseModel):
    """The ``detail`` of a "Step Functions Execution Status Change" event (Step Functions
    User Guide, "EventBridge events"): the fields the reaper reads; the others are ignored.

    ``startDate``: milliseconds since the epoch; ``input``: the execution input as JSON text,
    or None when it is not included.
    """

    executionArn: str
    name: str
    status: str
    startDate: int | None = None
    input: str | None = None


class ExecutionEnded(BaseModel):
    """The EventBridge event the reaper receives (its envelope's other keys are ignored)."""

    detail: ExecutionStatusChange


def run_of(detail: ExecutionStatusChange, mode: str, stack_name: str) -> Run:
    """Return the run of an ended execution (its ARN, name and start time)."""
    started = datetime.fromtimestamp(int(detail.startDate or 0) / 1000, UTC)
    return Run(
        executionArn=detail.executionArn,
        runId=detail.name,
        mode=mode,
        stackName=stack_name,
        startedAt=started.isoformat(timespec="seconds"),
    )


def config_of(mode: str, secret_id: str, detail: ExecutionStatusChange) -> CommonConfig:
    """Return the run's configuration, or the mode's defaults when it no longer validates.

    The defaults keep data (``onFailure`` snapshot / export), so an unreadable configuration
    never makes the reaper delete more than the run would have.
    """
    try:
        overlay = json.loads(detail.input or "{}")
        return load_config(mode, secret_id, overlay)
    except (InvalidConfiguration, json.JSONDecodeError):
        # Unvalidated on purpose: only the defaults (policy, timings) are read from it.
        return CONFIG_MODELS[mode].model_construct(jobDefinitionContainerImage="unknown")


def reap_execution(
    detail: ExecutionStatusChange,
    mode: str,
    stack_name: str,
    secret_id: str,
    seconds_left: Callable[[], float],
) -> ReapResult:
    """Release what the ended execution ``detail`` left behind (``reap`` of its run).

    Args:
        detail: the status change (ABORTED, TIMED_OUT or FAILED).
        mode: the deployed mode; stack_name: the stack's name (the run's tags).
        secret_id: the mode's configuration secret (``config_of``).
        seconds_left: returns how many seconds this invocation may still use.

    Raises:
        ReapIncomplete, SnapshotFailed: as ``reap``.
    """
    run = run_of(detail, mode, stack_name)
    return reap(run, config_of(mode, secret_id, detail), detail.status, seconds_left)


def _shown(result: BaseModel | None) -> dict[str, Any]:
    return result.model_dump() if result is not None else {"done": False}


def reap(
    run: Run, config: CommonConfig, status: str, seconds_left: Callable[[], float]
) -> ReapResult:
    """Clean up the run's compute, then apply ``onFailure`` to its storage.

    Args:
        run: the ended execution's run.
        config: its configuration (policy, poll interval in seconds).
        status: the execution status (ABORTED, TIMED_OUT, FAILED), recorded in the reason.
        seconds_left: returns how many seconds this invocation may still use.

    Returns:
        The execution, its status, and the last cleanup and release results.

    AWS errors (throttling, transient faults) end a pass, not the invocation: it tries again
    every poll interval until its time runs out.

    Raises:
        ReapIncomplete: time ran out first; Lambda's asynchronous retry runs the reaper again.
        SnapshotFailed: the volume's snapshot failed; the volume is kept and tagged.
    """
    kind = MODES[run.mode].storage.implementation
    release = partial(kind.release, run, config, f"execution {status}", None)
    interval = max(config.waitForComputeSeconds, 1)
    compute: CleanupStatus | None = None
    storage: ReleaseStatus | None = None
    last_error = "none"
    while True:
        try:
            if compute is None or not compute.done:
                compute = cleanup_compute(run, config, None)
            if compute.done:
                storage = release()
        except (ClientError, BotoCoreError) as error:
            # Throttling or a transient fault ends this pass, not the attempt: a reaper
            # that gives up early leaves billable resources behind.
            last_error = f"{type(error).__name__}: {error}"
            logger.warning("Reaper pass failed; trying again", extra={"error": last_error})
        if compute is not None and compute.done and storage is not None and storage.done:
            return ReapResult(
                executionArn=run.executionArn, status=status, compute=compute, storage=storage
            )
        if seconds_left() < interval + 60:
            raise ReapIncomplete(
                f"Run {run.runId} not fully released yet: compute {_shown(compute)}, "
                f"storage {_shown(storage)}, last AWS error: {last_error}"
            )
        clock.sleep(interval)
