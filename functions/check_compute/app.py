"""CheckCompute: is the run's compute environment VALID and its job queue ENABLED?

Creates the job queue once the compute environment is VALID. Event: the state (``run``,
``config``, earlier ``computeStatus``). Returns ``$.computeStatus`` (``ComputeStatus``).
Raises ``ComputeFailed`` or ``ComputeTimeout``.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.compute import check_compute
from batchscratch.handler import step_handler
from batchscratch.outputs import ComputeStatus
from batchscratch.state import RunState


@step_handler(log_message="Compute checked")
def lambda_handler(state: RunState, context: LambdaContext) -> ComputeStatus:
    return check_compute(state.run, state.run_config(), state.previous(ComputeStatus))
