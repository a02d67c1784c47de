"""CheckFileSystem: is the file system AVAILABLE and its data repository association too?

Creates the association (``/scratch`` ↔ ``dataRepositoryPath``, auto-import; auto-export too
in AutoExport mode) once the file system is AVAILABLE. Event: the state (``fileSystem``,
earlier ``fileSystemStatus``). Returns ``$.fileSystemStatus`` (``FileSystemStatus``). Raises
``StorageFailed`` or ``StorageTimeout``.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.fsx import check_file_system
from batchscratch.handler import step_handler
from batchscratch.modes import MODES
from batchscratch.outputs import FileSystemStatus
from batchscratch.state import RunState


@step_handler(log_message="File system checked")
def lambda_handler(state: RunState, context: LambdaContext) -> FileSystemStatus:
    return check_file_system(
        state.run,
        state.lustre_config(),
        state.require_file_system().fileSystemId,
        state.previous(FileSystemStatus),
        auto_export=MODES[state.run.mode].exports_automatically,
    )
