"""CheckExport: has the run's export task (by its own id) succeeded with 0 failed files?

Event: the state (``fileSystem``, ``export``, earlier ``exportStatus``). Returns
``$.exportStatus``. Raises ``ExportFailed`` (FAILED, CANCELED or failed files) or
``ExportTimeout``; either way the file system is tagged and kept.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.aws import transient_errors_retried
from batchscratch.fsx import check_export
from batchscratch.state import RunState

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="run.runId")
@tracer.capture_lambda_handler
@transient_errors_retried
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse(event=event, model=RunState)
    export = state.require_export()
    status = check_export(
        state.require_file_system().fileSystemId,
        export.taskId,
        export.reportPath,
        state.lustre_config().exportTimeoutSeconds,
        state.previous("exportStatus"),
    )
    logger.info("Export checked", extra=status)
    return status
