"""CheckExport: has the run's export task (by its own id) succeeded with 0 failed files?

Event: the state (``fileSystem``, ``export``, earlier ``exportStatus``). Returns
``$.exportStatus`` (``ExportStatus``). Raises ``ExportFailed`` (FAILED, CANCELED or failed
files) or ``ExportTimeout``; either way the file system is tagged and kept.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.fsx import check_export
from batchscratch.handler import step_handler
from batchscratch.modes import CHECK_EXPORT
from batchscratch.outputs import ExportStatus
from batchscratch.polling import watch
from batchscratch.state import RunState


@step_handler(log_message="Export checked")
def lambda_handler(state: RunState, context: LambdaContext) -> ExportStatus:
    export = state.require_export()
    file_system_id = state.require_file_system().fileSystemId
    config = state.lustre_config()
    return watch(
        lambda previous: check_export(file_system_id, export, config, previous),
        state.previous(ExportStatus),
        done=lambda status: status.done,
        interval_seconds=CHECK_EXPORT.interval_of(state.config),
    )
