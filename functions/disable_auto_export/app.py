"""DisableAutoExport: turn auto-export off on the association before the final export.

FSx runs a data repository task only once auto-export is off. Event: the state
(``fileSystem``, earlier ``autoExport``). Returns ``$.autoExport``:
``{"done", "associationId", "lifecycle", "waitingSince"}``. Raises ``ExportTimeout`` (the file
system is kept) after ``exportTimeoutSeconds``.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.aws import transient_errors_retried
from batchscratch.fsx import disable_auto_export
from batchscratch.state import RunState

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="run.runId")
@tracer.capture_lambda_handler
@transient_errors_retried
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse(event=event, model=RunState)
    status = disable_auto_export(
        state.require_file_system().fileSystemId,
        state.lustre_config().exportTimeoutSeconds,
        state.previous("autoExport"),
    )
    logger.info("Auto-export disable step", extra=status)
    return status
