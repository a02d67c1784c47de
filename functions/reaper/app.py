"""Reaper: invoked by EventBridge when an execution ends ABORTED, TIMED_OUT or FAILED.

Event: EventBridge "Step Functions Execution Status Change". Finds every resource tagged
with the execution's ARN, cleans up compute and applies ``onFailure`` to the storage.
Raises ``ReapIncomplete`` when it runs out of time (Lambda's asynchronous retry resumes).
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.environment import setting
from batchscratch.reap import config_of, reap, run_of

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="detail.name")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail = event["detail"]
    mode = setting("MODE")
    run = run_of(detail, mode, setting("STACK_NAME"))
    config = config_of(mode, setting("CONFIG_SECRET_ID"), detail)
    result = reap(
        run, config, detail["status"], lambda: context.get_remaining_time_in_millis() / 1000
    )
    logger.info("Run reaped", extra=result)
    return result
