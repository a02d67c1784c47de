"""CheckDrain: has auto-export drained since the job ended (AgeOfOldestQueuedMessage)?

Event: the state (``fileSystem``, ``config``, earlier ``drain``). Returns ``$.drain``
(``DrainStatus``). Never raises on a slow or missing metric: past ``drainTimeoutSeconds`` it
reports ``timedOut`` and the state machine verifies with an export task instead.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.handler import step_handler
from batchscratch.metrics import check_drain
from batchscratch.outputs import DrainStatus
from batchscratch.state import RunState


@step_handler(log_message="Auto-export drain checked")
def lambda_handler(state: RunState, context: LambdaContext) -> DrainStatus:
    config = state.auto_export_config()
    file_system_id = state.require_file_system().fileSystemId
    return check_drain(file_system_id, config, state.previous(DrainStatus))
