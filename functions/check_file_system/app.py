"""CheckFileSystem: is the file system AVAILABLE and its data repository association too?

Creates the associations (``/scratch`` ↔ ``dataRepositoryPath``, auto-import; auto-export too
in AutoExport mode; ``/input`` ↔ ``inputDataRepositoryPath`` for import only, when set) once
the file system is AVAILABLE. Event: the state (``fileSystem``,
earlier ``fileSystemStatus``). Returns ``$.fileSystemStatus`` (``FileSystemStatus``). Raises
``StorageFailed`` or ``StorageTimeout``.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.fsx import FILE_SYSTEM
from batchscratch.handler import step_handler
from batchscratch.modes import LUSTRE_FILE_SYSTEM, MODES
from batchscratch.outputs import FileSystemStatus
from batchscratch.polling import watch
from batchscratch.state import RunState


@step_handler(log_message="File system checked")
def lambda_handler(state: RunState, context: LambdaContext) -> FileSystemStatus:
    mode = MODES[state.run.mode]
    return watch(
        lambda previous: FILE_SYSTEM.check(state, mode, previous),
        state.previous(FileSystemStatus),
        done=lambda status: status.ready,
        interval_seconds=LUSTRE_FILE_SYSTEM.check.interval_of(state.config),
    )
