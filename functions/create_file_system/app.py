"""CreateFileSystem: the run's FSx for Lustre file system in the first private subnet.

Capacity, deployment type and version are validated by LoadConfig before this runs. Event:
the state (``run``, ``config``). Returns ``$.fileSystem``:
``{"fileSystemId", "availabilityZone", "subnetIds", "createdAt"}``.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.aws import transient_errors_retried
from batchscratch.environment import setting, setting_list
from batchscratch.fsx import create_file_system
from batchscratch.state import RunState

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="run.runId")
@tracer.capture_lambda_handler
@transient_errors_retried
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse(event=event, model=RunState)
    file_system = create_file_system(
        state.run,
        state.lustre_config(),
        setting_list("PRIVATE_SUBNET_IDS"),
        setting("BATCH_SECURITY_GROUP_ID"),
    )
    logger.info("File system created", extra=file_system)
    return file_system
