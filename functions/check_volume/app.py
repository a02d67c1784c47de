"""CheckVolume: is the run's volume available yet?

Event: the state (``volume``, earlier ``volumeStatus``). Returns ``$.volumeStatus``:
``{"ready", "state", "waitingSince"}``. Raises ``StorageFailed`` or ``StorageTimeout``.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.aws import transient_errors_retried
from batchscratch.ebs import check_volume
from batchscratch.state import RunState

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="run.runId")
@tracer.capture_lambda_handler
@transient_errors_retried
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse(event=event, model=RunState)
    status = check_volume(
        state.require_volume().volumeId,
        state.ebs_config().storageTimeoutSeconds,
        state.previous("volumeStatus"),
    )
    logger.info("Volume checked", extra=status)
    return status
