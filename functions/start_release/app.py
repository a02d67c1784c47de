"""StartRelease: start the release workflow for runs that could not start it themselves.

Events (EventBridge): "Step Functions Execution Status Change" of the run state machine
(ABORTED, TIMED_OUT, FAILED): start the release named after the run id (a no-op when the
run's Catch started it). "Scheduled Event" (``SweepSchedule``): the sweep. Returns
``StartedRelease``. AWS errors keep their names (Lambda's asynchronous invocation retries).
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.environment import setting
from batchscratch.handler import step_handler
from batchscratch.outputs import StartedRelease
from batchscratch.release_start import (
    SCHEDULED,
    STATUS_CHANGE,
    ExecutionStatusChange,
    ReleaseTrigger,
    start_for_status_change,
    sweep,
)


@step_handler(
    log_message="Releases started", correlation_id_path="detail.name", retry_transient=False
)
def lambda_handler(event: ReleaseTrigger, context: LambdaContext) -> StartedRelease:
    mode, stack, secret = setting("MODE"), setting("STACK_NAME"), setting("CONFIG_SECRET_ID")
    machine = setting("RELEASE_STATE_MACHINE_ARN")
    if event.detail_type == STATUS_CHANGE:
        detail = ExecutionStatusChange.model_validate(event.detail)
        return start_for_status_change(detail, mode, stack, secret, machine)
    if event.detail_type != SCHEDULED:
        raise ValueError(f"StartRelease takes {STATUS_CHANGE!r} or {SCHEDULED!r} events")
    return sweep(mode, stack, secret, machine)
