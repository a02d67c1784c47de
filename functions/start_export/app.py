"""StartExport: an EXPORT_TO_REPOSITORY data repository task of the run's file system.

Event: the state (``run``, ``fileSystem``). Returns ``$.export`` (``ExportRef``).
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.fsx import start_export
from batchscratch.handler import step_handler
from batchscratch.outputs import ExportRef
from batchscratch.state import RunState


@step_handler(log_message="Export started")
def lambda_handler(state: RunState, context: LambdaContext) -> ExportRef:
    return start_export(state.run, state.require_file_system().fileSystemId)
