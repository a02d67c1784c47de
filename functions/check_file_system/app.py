"""CheckFileSystem: is the file system AVAILABLE and its data repository association too?

Creates the association (``/scratch`` ↔ ``dataRepositoryPath``, auto-import; auto-export too
in AutoExport mode) once the file system is AVAILABLE. Event: the state (``fileSystem``,
earlier ``fileSystemStatus``). Returns ``$.fileSystemStatus``. Raises ``StorageFailed`` or
``StorageTimeout``.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.aws import transient_errors_retried
from batchscratch.fsx import check_file_system
from batchscratch.state import RunState

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="run.runId")
@tracer.capture_lambda_handler
@transient_errors_retried
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse(event=event, model=RunState)
    config = state.lustre_config()
    status = check_file_system(
        state.run,
        config,
        state.require_file_system().fileSystemId,
        config.storageTimeoutSeconds,
        state.previous("fileSystemStatus"),
        auto_export=state.run.mode == "AutoExport",
    )
    logger.info("File system checked", extra=status)
    return status
