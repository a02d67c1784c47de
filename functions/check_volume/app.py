"""CheckVolume: is the run's volume available yet?

Event: the state (``volume``, earlier ``volumeStatus``). Returns ``$.volumeStatus``
(``VolumeStatus``). Raises ``StorageFailed`` or ``StorageTimeout``.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.ebs import VOLUME
from batchscratch.handler import step_handler
from batchscratch.modes import EBS_VOLUME, MODES
from batchscratch.outputs import VolumeStatus
from batchscratch.polling import watch
from batchscratch.state import RunState


@step_handler(log_message="Volume checked")
def lambda_handler(state: RunState, context: LambdaContext) -> VolumeStatus:
    mode = MODES[state.run.mode]
    return watch(
        lambda previous: VOLUME.check(state, mode, previous),
        state.previous(VolumeStatus),
        done=lambda status: status.ready,
        interval_seconds=EBS_VOLUME.check.interval_of(state.config),
    )
