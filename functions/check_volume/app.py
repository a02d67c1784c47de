"""CheckVolume: is the run's volume available yet?

Event: the state (``volume``, earlier ``volumeStatus``). Returns ``$.volumeStatus``
(``VolumeStatus``). Raises ``StorageFailed`` or ``StorageTimeout``.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.ebs import VOLUME
from batchscratch.handler import step_handler
from batchscratch.modes import MODES
from batchscratch.outputs import VolumeStatus
from batchscratch.state import RunState


@step_handler(log_message="Volume checked")
def lambda_handler(state: RunState, context: LambdaContext) -> VolumeStatus:
    return VOLUME.check(state, MODES[state.run.mode])
