"""ReleaseFileSystem / ApplyFailurePolicy: apply the end-of-run policy to the file system.

Without ``error`` in the state (success, export verified): delete, or retain when
``deleteLustre`` is false. With ``error``: the ``onFailure`` policy (export then delete,
retain, delete). Polled until ``done``. Returns ``$.release``:
``{"done", "policy", "retained", "deleted", "waitingSince"}``. Raises ``CleanupTimeout``.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.aws import transient_errors_retried
from batchscratch.fsx import release_file_systems
from batchscratch.state import RunState

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="run.runId")
@tracer.capture_lambda_handler
@transient_errors_retried
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse(event=event, model=RunState)
    job = state.previous("job") or {}
    status = release_file_systems(
        state.run,
        state.lustre_config(),
        state.error.Error if state.error else None,
        state.previous("release"),
        job_succeeded=job.get("status") == "SUCCEEDED",
    )
    logger.info("File system release step", extra=status)
    return status
