"""CreateVolume: the run's encrypted gp3 volume in the first private subnet's zone.

Event: the state (``run``, ``config``). Returns ``$.volume`` (``VolumeRef``).
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.ebs import create_volume
from batchscratch.environment import setting_list
from batchscratch.handler import step_handler
from batchscratch.outputs import VolumeRef
from batchscratch.state import RunState


@step_handler(log_message="Volume created")
def lambda_handler(state: RunState, context: LambdaContext) -> VolumeRef:
    return create_volume(state.run, state.ebs_config(), setting_list("PRIVATE_SUBNET_IDS"))
