"""StartExport: an EXPORT_TO_REPOSITORY data repository task of the run's file system.

Event: the state (``run``, ``fileSystem``). Returns ``$.export``:
``{"taskId", "reportPath", "createdAt"}``.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.aws import transient_errors_retried
from batchscratch.fsx import start_export
from batchscratch.state import RunState

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="run.runId")
@tracer.capture_lambda_handler
@transient_errors_retried
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse(event=event, model=RunState)
    export = start_export(state.run, state.require_file_system().fileSystemId)
    logger.info("Export started", extra=export)
    return export
