"""ReleaseVolume / ApplyFailurePolicy: apply the end-of-run policy to the run's volume.

Without ``error`` in the state (success): delete, or retain when ``deleteEbs`` is false.
With ``error`` (the failure path): the ``onFailure`` policy (snapshot, retain, delete).
Polled until ``done``. Returns ``$.release`` (``ReleaseStatus``).
Raises ``SnapshotFailed`` (volume kept) or ``CleanupTimeout``.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.ebs import VOLUME
from batchscratch.handler import step_handler
from batchscratch.outputs import ReleaseStatus
from batchscratch.state import RunState


@step_handler(log_message="Volume release step")
def lambda_handler(state: RunState, context: LambdaContext) -> ReleaseStatus:
    return VOLUME.release(
        state.run, state.ebs_config(), state.error_name, state.previous(ReleaseStatus)
    )
