"""CheckDrain: has auto-export drained since the job ended (AgeOfOldestQueuedMessage)?

Event: the state (``fileSystem``, ``config``, earlier ``drain``). Returns ``$.drain``:
``{"drained", "timedOut", "considered", "reason", "jobEndedAt", "waitingSince"}``. Never
raises on a slow or missing metric: past ``drainTimeoutSeconds`` it reports ``timedOut``
and the state machine verifies with an export task instead.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.aws import transient_errors_retried
from batchscratch.config import AutoExportConfig
from batchscratch.metrics import check_drain
from batchscratch.state import RunState

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="run.runId")
@tracer.capture_lambda_handler
@transient_errors_retried
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse(event=event, model=RunState)
    config = AutoExportConfig.model_validate(state.config)
    drain = check_drain(state.require_file_system().fileSystemId, config, state.previous("drain"))
    logger.info("Auto-export drain checked", extra=drain)
    return drain
