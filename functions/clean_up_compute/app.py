"""CleanUpCompute: one step towards deleting the run's compute; polled until ``done``.

Event: the state (``run``, ``config``, earlier ``cleanup``). Returns ``$.cleanup``:
``{"done", "remaining", "waitingSince"}``. Raises ``CleanupTimeout``.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.aws import transient_errors_retried
from batchscratch.compute import cleanup_compute
from batchscratch.state import RunState

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="run.runId")
@tracer.capture_lambda_handler
@transient_errors_retried
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse(event=event, model=RunState)
    status = cleanup_compute(
        state.run, state.run_config().cleanupTimeoutSeconds, state.previous("cleanup")
    )
    logger.info("Compute cleanup step", extra=status)
    return status
