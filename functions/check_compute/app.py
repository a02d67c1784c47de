"""CheckCompute: is the run's compute environment VALID and its job queue ENABLED?

Creates the job queue once the compute environment is VALID. Event: the state (``run``,
``config``, earlier ``computeStatus``). Returns ``$.computeStatus``:
``{"ready", "jobQueueArn", "waitingSince"}``. Raises ``ComputeFailed`` or ``ComputeTimeout``.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.aws import transient_errors_retried
from batchscratch.compute import check_compute
from batchscratch.state import RunState

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="run.runId")
@tracer.capture_lambda_handler
@transient_errors_retried
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse(event=event, model=RunState)
    status = check_compute(
        state.run, state.run_config().computeTimeoutSeconds, state.previous("computeStatus")
    )
    logger.info("Compute checked", extra=status)
    return status
