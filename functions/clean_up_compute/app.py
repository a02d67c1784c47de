"""CleanUpCompute: one step towards deleting the run's compute; polled until ``done``.

Event: the state (``run``, ``config``, earlier ``cleanup``). Returns ``$.cleanup``
(``CleanupStatus``). Raises ``CleanupTimeout``.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.compute import cleanup_compute
from batchscratch.handler import step_handler
from batchscratch.modes import CLEAN_UP_COMPUTE
from batchscratch.outputs import CleanupStatus
from batchscratch.polling import watch
from batchscratch.state import RunState


@step_handler(log_message="Compute cleanup step")
def lambda_handler(state: RunState, context: LambdaContext) -> CleanupStatus:
    config = state.run_config()
    return watch(
        lambda previous: cleanup_compute(state.run, config, previous),
        state.previous(CleanupStatus),
        done=lambda status: status.done,
        interval_seconds=CLEAN_UP_COMPUTE.interval_of(state.config),
    )
