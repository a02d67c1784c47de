"""DisableAutoExport: turn auto-export off on the association before the final export.

FSx runs a data repository task only once auto-export is off. Event: the state
(``fileSystem``, earlier ``autoExport``). Returns ``$.autoExport`` (``AutoExportStatus``).
Raises ``ExportTimeout`` (the file system is kept) after ``exportTimeoutSeconds``.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.fsx import disable_auto_export
from batchscratch.handler import step_handler
from batchscratch.modes import TURN_OFF_AUTO_EXPORT
from batchscratch.outputs import AutoExportStatus
from batchscratch.polling import watch
from batchscratch.state import RunState


@step_handler(log_message="Auto-export disable step")
def lambda_handler(state: RunState, context: LambdaContext) -> AutoExportStatus:
    file_system_id = state.require_file_system().fileSystemId
    limit = state.lustre_config().exportTimeoutSeconds
    return watch(
        lambda previous: disable_auto_export(file_system_id, limit, previous),
        state.previous(AutoExportStatus),
        done=lambda status: status.done,
        interval_seconds=TURN_OFF_AUTO_EXPORT.interval_of(state.config),
    )
