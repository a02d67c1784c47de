"""ReleaseFileSystem / ApplyFailurePolicy: apply the end-of-run policy to the file system.

Without ``error`` in the state (success, export verified): delete, or retain when
``deleteLustre`` is false. With ``error``: the ``onFailure`` policy (export then delete,
retain, delete; ``delete`` exports first once the job SUCCEEDED). Polled until ``done``.
Returns ``$.release`` (``ReleaseStatus``). Raises ``CleanupTimeout``.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.fsx import FILE_SYSTEM
from batchscratch.handler import step_handler
from batchscratch.outputs import ReleaseStatus
from batchscratch.state import RunState


@step_handler(log_message="File system release step")
def lambda_handler(state: RunState, context: LambdaContext) -> ReleaseStatus:
    return FILE_SYSTEM.release(
        state.run,
        state.lustre_config(),
        state.error_name,
        state.previous(ReleaseStatus),
        job_succeeded=state.job_succeeded,
    )
