"""CleanUpCompute: one step towards deleting the run's compute; polled until ``done``.

Event: the state (``run``, ``config``, earlier ``cleanup``). Returns ``$.cleanup``
(``CleanupStatus``). Raises ``CleanupTimeout``.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.compute import cleanup_compute
from batchscratch.handler import step_handler
from batchscratch.outputs import CleanupStatus
from batchscratch.state import RunState


@step_handler(log_message="Compute cleanup step")
def lambda_handler(state: RunState, context: LambdaContext) -> CleanupStatus:
    return cleanup_compute(state.run, state.run_config(), state.previous(CleanupStatus))
