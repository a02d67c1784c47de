"""CreateVolume: the run's encrypted gp3 volume in the first private subnet's zone.

Event: the state (``run``, ``config``). Returns ``$.volume`` (``VolumeRef``).
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.ebs import VOLUME
from batchscratch.environment import setting_list
from batchscratch.handler import step_handler
from batchscratch.outputs import VolumeRef
from batchscratch.state import RunState


@step_handler(log_message="Volume created")
def lambda_handler(state: RunState, context: LambdaContext) -> VolumeRef:
    return VOLUME.create(state, setting_list("PRIVATE_SUBNET_IDS"), security_group_id="")
