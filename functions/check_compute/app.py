"""CheckCompute: is the run's compute environment VALID and its job queue ENABLED?

Creates the job queue once the compute environment is VALID. Event: the state (``run``,
``config``, earlier ``computeStatus``). Returns ``$.computeStatus`` (``ComputeStatus``).
Raises ``ComputeFailed`` or ``ComputeTimeout``.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.compute import check_compute
from batchscratch.handler import step_handler
from batchscratch.modes import CHECK_COMPUTE
from batchscratch.outputs import ComputeStatus
from batchscratch.polling import watch
from batchscratch.state import RunState


@step_handler(log_message="Compute checked")
def lambda_handler(state: RunState, context: LambdaContext) -> ComputeStatus:
    config = state.run_config()
    return watch(
        lambda previous: check_compute(state.run, config, previous),
        state.previous(ComputeStatus),
        done=lambda status: status.ready,
        interval_seconds=CHECK_COMPUTE.interval_of(state.config),
    )
