"""LoadConfig: the mode's secret overlaid with the execution input, validated.

Event: ``{"input": <execution input>, "executionArn", "executionName", "startTime"}`` (the
state machine passes the context object's values). Returns ``{"run", "config"}``, which
becomes the whole state. Raises ``InvalidConfiguration`` before anything billable exists.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import BaseModel, parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.aws import transient_errors_retried
from batchscratch.config import load_config
from batchscratch.environment import setting
from batchscratch.run import Run

logger = Logger()
tracer = Tracer()


class LoadConfigEvent(BaseModel):
    input: Any = None
    executionArn: str
    executionName: str
    startTime: str


@logger.inject_lambda_context(correlation_id_path="executionName")
@tracer.capture_lambda_handler
@transient_errors_retried
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(event=event, model=LoadConfigEvent)
    run = Run(
        executionArn=request.executionArn,
        runId=request.executionName,
        mode=setting("MODE"),
        stackName=setting("STACK_NAME"),
        startedAt=request.startTime,
    )
    overlay = {} if request.input is None else request.input
    config = load_config(run.mode, setting("CONFIG_SECRET_ID"), overlay)
    logger.info("Run configuration loaded", extra={"config": config.model_dump()})
    return {"run": run.model_dump(), "config": config.model_dump()}
