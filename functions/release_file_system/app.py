"""ReleaseFileSystem / ApplyFailurePolicy: apply the end-of-run policy to the file system.

Without ``error`` in the state (success, export verified): delete, or retain when
``deleteLustre`` is false. With ``error``: the ``onFailure`` policy (export then delete,
retain, delete; ``delete`` exports first once the job SUCCEEDED). Polled until ``done``.
Returns ``$.release`` (``ReleaseStatus``). Raises ``CleanupTimeout``.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.fsx import FILE_SYSTEM
from batchscratch.handler import step_handler
from batchscratch.modes import LUSTRE_FILE_SYSTEM
from batchscratch.outputs import ReleaseStatus
from batchscratch.polling import watch
from batchscratch.state import RunState


@step_handler(log_message="File system release step")
def lambda_handler(state: RunState, context: LambdaContext) -> ReleaseStatus:
    config = state.lustre_config()
    return watch(
        lambda previous: FILE_SYSTEM.release(
            state.run,
            config,
            state.error_name,
            previous,
            job_succeeded=state.job_succeeded,
            job_confirmed=state.job_succeeded,
        ),
        state.previous(ReleaseStatus),
        done=lambda status: status.done,
        interval_seconds=LUSTRE_FILE_SYSTEM.release.interval_of(state.config),
    )
