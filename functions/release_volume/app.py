"""ReleaseVolume / ApplyFailurePolicy: apply the end-of-run policy to the run's volume.

Without ``error`` in the state (success): delete, or retain when ``deleteEbs`` is false.
With ``error`` (the failure path): the ``onFailure`` policy (snapshot, retain, delete).
Polled until ``done``. Returns ``$.release`` (``ReleaseStatus``).
Raises ``SnapshotFailed`` (volume kept) or ``CleanupTimeout``.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.ebs import VOLUME
from batchscratch.handler import step_handler
from batchscratch.modes import EBS_VOLUME
from batchscratch.outputs import ReleaseStatus
from batchscratch.polling import watch
from batchscratch.state import RunState


@step_handler(log_message="Volume release step")
def lambda_handler(state: RunState, context: LambdaContext) -> ReleaseStatus:
    config = state.ebs_config()
    return watch(
        lambda previous: VOLUME.release(state.run, config, state.error_name, previous),
        state.previous(ReleaseStatus),
        done=lambda status: status.done,
        interval_seconds=EBS_VOLUME.release.interval_of(state.config),
    )
