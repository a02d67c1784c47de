"""CheckVolume: is the run's volume available yet?

Event: the state (``volume``, earlier ``volumeStatus``). Returns ``$.volumeStatus``
(``VolumeStatus``). Raises ``StorageFailed`` or ``StorageTimeout``.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.ebs import check_volume
from batchscratch.handler import step_handler
from batchscratch.outputs import VolumeStatus
from batchscratch.state import RunState


@step_handler(log_message="Volume checked")
def lambda_handler(state: RunState, context: LambdaContext) -> VolumeStatus:
    volume_id = state.require_volume().volumeId
    return check_volume(volume_id, state.ebs_config(), state.previous(VolumeStatus))
