"""Reaper: invoked by EventBridge when an execution ends ABORTED, TIMED_OUT or FAILED.

Event: EventBridge "Step Functions Execution Status Change". Finds every resource tagged
with the execution's ARN, cleans up compute and applies ``onFailure`` to the storage.
Returns ``ReapResult``. Raises ``ReapIncomplete`` when it runs out of time (Lambda's
asynchronous retry resumes); AWS errors keep their own names (no state machine retries it).
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.environment import setting
from batchscratch.handler import step_handler
from batchscratch.outputs import ReapResult
from batchscratch.reap import ExecutionEnded, reap_execution


@step_handler(log_message="Run reaped", correlation_id_path="detail.name", retry_transient=False)
def lambda_handler(event: ExecutionEnded, context: LambdaContext) -> ReapResult:
    return reap_execution(
        event.detail,
        setting("MODE"),
        setting("STACK_NAME"),
        setting("CONFIG_SECRET_ID"),
        lambda: context.get_remaining_time_in_millis() / 1000,
    )
