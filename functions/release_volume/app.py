"""ReleaseVolume / ApplyFailurePolicy: apply the end-of-run policy to the run's volume.

Without ``error`` in the state (success): delete, or retain when ``deleteEbs`` is false.
With ``error`` (the failure path): the ``onFailure`` policy (snapshot, retain, delete).
Polled until ``done``. Returns ``$.release``:
``{"done", "policy", "retained", "deleted", "waitingSince"}``.
Raises ``SnapshotFailed`` (volume kept) or ``CleanupTimeout``.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.aws import transient_errors_retried
from batchscratch.ebs import release_volumes
from batchscratch.state import RunState

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="run.runId")
@tracer.capture_lambda_handler
@transient_errors_retried
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse(event=event, model=RunState)
    error_name = state.error.Error if state.error else None
    status = release_volumes(state.run, state.ebs_config(), error_name, state.previous("release"))
    logger.info("Volume release step", extra=status)
    return status
