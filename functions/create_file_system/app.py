"""CreateFileSystem: the run's FSx for Lustre file system in the first private subnet.

Capacity, deployment type and version are validated by LoadConfig before this runs. Event:
the state (``run``, ``config``). Returns ``$.fileSystem`` (``FileSystemRef``).
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.environment import setting, setting_list
from batchscratch.fsx import FILE_SYSTEM
from batchscratch.handler import step_handler
from batchscratch.outputs import FileSystemRef
from batchscratch.state import RunState


@step_handler(log_message="File system created")
def lambda_handler(state: RunState, context: LambdaContext) -> FileSystemRef:
    return FILE_SYSTEM.create(
        state, setting_list("PRIVATE_SUBNET_IDS"), setting("BATCH_SECURITY_GROUP_ID")
    )
